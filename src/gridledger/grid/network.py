"""The network model: a SimBench grid in pandapower, AC power flow per interval, its limits and
its linear sensitivities for the market's clearing.

Injections are given per bus (net active power, positive into the grid, and reactive power),
so the engine does not care who sits behind a bus: each bus gets one load element carrying its
net injection, the original load and PV elements stay out of service. Limits: thermal loading
of every line and transformer at most 100 %, and voltage within ±10 % of nominal (EN 50160).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from gridledger.errors import GridModelError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

VOLTAGE_BAND_PU = 0.10  # EN 50160: ±10 % of nominal
MAX_LOADING_PERCENT = 100.0
# What an upstream grid may hold at the slack bus: within the band the feeders must keep.
UPSTREAM_VM_RANGE_PU = (1 - VOLTAGE_BAND_PU, 1 + VOLTAGE_BAND_PU)
# pandapower's recycling between power flows of one topology: only the buses' powers change.
_RECYCLE_BUS_POWERS = {"bus_pq": True, "trafo": False, "gen": False}
# Power mismatch at which a power flow has converged: a hundredth of pandapower's default. A
# recycled power flow starts next to its answer and stops as soon as it is within tolerance, so
# two nearby power flows no longer share their rounding as two from a flat start do; this keeps
# differences between them (what a watt more at one bus does) exact to well below a watt.
POWER_FLOW_TOLERANCE_MVA = 1e-10


@dataclass(frozen=True)
class Violations:
    """Elements outside their limits: overloaded lines and transformers, buses outside the band."""

    lines: frozenset[int]
    trafos: frozenset[int]
    buses: frozenset[int]

    @property
    def count(self) -> int:
        return len(self.lines) + len(self.trafos) + len(self.buses)

    def beyond(self, base: Violations) -> Violations:
        """The violations that `base` does not also have."""
        return Violations(self.lines - base.lines, self.trafos - base.trafos, self.buses - base.buses)


@dataclass(frozen=True)
class PowerFlow:
    """AC power flow results of one interval (elements in the order of the network's tables)."""

    line_loading_percent: FloatArray
    trafo_loading_percent: FloatArray
    vm_pu: FloatArray  # per bus position
    losses_mw: float
    # Flows at the from side of every line, then the high-voltage side of every transformer.
    branch_p_mw: FloatArray
    branch_q_mvar: FloatArray
    line_losses_mw: FloatArray
    trafo_losses_mw: FloatArray
    # dV/dP at this operating point, pu per MW injected, (buses, buses); zero rows/columns at the slack.
    dv_dp_pu_per_mw: FloatArray

    def violations(self) -> Violations:
        low, high = 1 - VOLTAGE_BAND_PU, 1 + VOLTAGE_BAND_PU
        return Violations(
            frozenset(np.flatnonzero(self.line_loading_percent > MAX_LOADING_PERCENT).tolist()),
            frozenset(np.flatnonzero(self.trafo_loading_percent > MAX_LOADING_PERCENT).tolist()),
            frozenset(np.flatnonzero((self.vm_pu < low) | (self.vm_pu > high)).tolist()),
        )

    @property
    def branch_loading_percent(self) -> FloatArray:
        """Loading of every line, then every transformer (NaN for one out of the power flow)."""
        return np.concatenate([self.line_loading_percent, self.trafo_loading_percent])

    @property
    def max_loading_percent(self) -> float:
        return float(np.nan_to_num(self.branch_loading_percent).max(initial=0))


def not_low_voltage(code: str) -> str | None:
    """Why SimBench grid `code` cannot be traded (None if it is a low-voltage grid). Only an LV
    grid's generators are all households' PV; a medium- or high-voltage grid (1-MV-rural--0-sw)
    adds wind, biomass and hydro plants and whole LV grids aggregated into one load, which the
    network model (loads as each bus's metered net import, every generator switched off) would
    silently ignore."""
    fields = code.split("-")
    level = fields[1] if len(fields) > 1 else "?"
    if level == "LV":
        return None
    return (
        f"SimBench grid {code!r} is not a low-voltage grid (level {level}): gridledger trades the PV "
        "of LV households and would ignore its wind, biomass and hydro plants and aggregated LV grids"
    )


class GridNetwork:
    """One SimBench grid: buses, branches, limits and power flow with given bus injections."""

    def __init__(self, code: str, upstream_vm_pu: float | None = None) -> None:
        """SimBench grid `code`; `upstream_vm_pu` sets the voltage the upstream grid holds at the
        slack bus (SimBench's own if None): a high one leaves the feeders less room to rise."""
        import pandapower as pp
        import simbench

        low, high = UPSTREAM_VM_RANGE_PU
        if upstream_vm_pu is not None and not (
            math.isfinite(upstream_vm_pu) and low <= upstream_vm_pu <= high
        ):
            raise GridModelError(
                f"the upstream voltage must be from {low} to {high} pu, got {upstream_vm_pu}"
            )
        try:
            net = simbench.get_simbench_net(code)
        except Exception as failed:  # simbench raises plain exceptions for unknown codes
            raise GridModelError(f"SimBench grid {code!r} could not be loaded: {failed}") from failed
        if upstream_vm_pu is not None:
            net.ext_grid["vm_pu"] = upstream_vm_pu
        self.code = code
        self._pp = pp
        net.load["in_service"] = False
        net.sgen["in_service"] = False
        if "storage" in net and len(net.storage):
            net.storage["in_service"] = False
        self.bus_ids: IntArray = net.bus.index.to_numpy(np.int64)
        self._position = {int(b): i for i, b in enumerate(self.bus_ids)}
        for bus in self.bus_ids:
            pp.create_load(net, int(bus), p_mw=0.0, q_mvar=0.0, name="gridledger injection")
        self._injection_rows = net.load.index[net.load["name"] == "gridledger injection"].to_numpy()
        self.net = net
        self.slack_buses = frozenset(int(b) for b in net.ext_grid["bus"])
        self.line_buses = net.line[["from_bus", "to_bus"]].to_numpy(np.int64)
        self.trafo_buses = net.trafo[["hv_bus", "lv_bus"]].to_numpy(np.int64)
        # The grid as SimBench ships it (some lines may be out of service, as open ring ends).
        self._lines_in_service = net.line["in_service"].to_numpy(bool, copy=True)
        self._trafos_in_service = net.trafo["in_service"].to_numpy(bool, copy=True)
        # (dθ/dP, dV/dP) of the last power flow, once asked for.
        self._sensitivities: tuple[FloatArray, FloatArray] | None = None

    def set_out_of_service(
        self, lines: frozenset[int] = frozenset(), trafos: frozenset[int] = frozenset()
    ) -> None:
        """Take these lines and transformers (table positions) out of service, and bring every
        other branch back to its state as shipped; the power flows and transfer factors from
        here on are the network's in this state."""
        line_state = self._lines_in_service.copy()
        line_state[list(lines)] = False
        trafo_state = self._trafos_in_service.copy()
        trafo_state[list(trafos)] = False
        net = self.net
        if np.array_equal(net.line["in_service"].to_numpy(bool), line_state) and np.array_equal(
            net.trafo["in_service"].to_numpy(bool), trafo_state
        ):
            return
        net.line["in_service"] = line_state
        net.trafo["in_service"] = trafo_state
        # The transfer factors and the power flow model were the old topology's.
        self.__dict__.pop("ptdf", None)
        self.net._ppc = None

    def unsupplied_bus_positions(self) -> frozenset[int]:
        """Bus positions the branches in service leave without a path to the upstream grid."""
        from pandapower.topology import unsupplied_buses

        return frozenset(self.position(int(b)) for b in unsupplied_buses(self.net))

    @property
    def bus_count(self) -> int:
        return int(self.bus_ids.shape[0])

    def position(self, bus: int) -> int:
        """Index of `bus` in per-bus arrays."""
        try:
            return self._position[bus]
        except KeyError as unknown:
            raise GridModelError(f"grid {self.code} has no bus {bus}") from unknown

    def power_flow(
        self, p_injection_mw: FloatArray, q_injection_mvar: FloatArray, flat_start: bool = False
    ) -> PowerFlow:
        """AC power flow with net injections per bus position (positive into the grid). It
        starts from the last power flow's answer unless `flat_start`: then its answer does not
        depend on what ran before, to the last bit."""
        if p_injection_mw.shape != (self.bus_count,) or q_injection_mvar.shape != (self.bus_count,):
            raise GridModelError(f"injections must have one value per bus ({self.bus_count})")
        if flat_start:
            self.net._ppc = None
        loads = self.net.load
        loads.loc[self._injection_rows, "p_mw"] = -p_injection_mw
        loads.loc[self._injection_rows, "q_mvar"] = -q_injection_mvar
        self._sensitivities = None
        recycled = self.net._ppc is not None
        try:
            self._run_power_flow()
        except GridModelError:
            # Never start from a failed power flow's voltages (Newton-Raphson may find the grid's
            # other, collapsed, solution from there); a recycled one that failed, once more from
            # a flat start.
            self.net._ppc = None
            if not recycled:
                raise
            try:
                self._run_power_flow()
            except GridModelError:
                self.net._ppc = None
                raise
        res = self.net
        # Copies: a PowerFlow must keep its values when the next power flow runs.
        return PowerFlow(
            res.res_line["loading_percent"].to_numpy(np.float64, copy=True),
            res.res_trafo["loading_percent"].to_numpy(np.float64, copy=True),
            res.res_bus["vm_pu"].to_numpy(np.float64, copy=True),
            # NaN for a branch out of service: it loses nothing.
            float(np.nansum(res.res_line["pl_mw"]) + np.nansum(res.res_trafo["pl_mw"])),
            np.concatenate([res.res_line["p_from_mw"].to_numpy(), res.res_trafo["p_hv_mw"].to_numpy()]),
            np.concatenate([res.res_line["q_from_mvar"].to_numpy(), res.res_trafo["q_hv_mvar"].to_numpy()]),
            res.res_line["pl_mw"].to_numpy(np.float64, copy=True),
            res.res_trafo["pl_mw"].to_numpy(np.float64, copy=True),
            self._voltage_sensitivity(),
        )

    def _run_power_flow(self) -> None:
        """pandapower's Newton-Raphson on the injections now in the load table. While the
        topology stays (set_out_of_service drops the stored model), it reuses the admittances
        and the last voltages and only updates the buses' powers: a quarter of a full run's
        time on the largest LV grid, where the clearing's AC rounds run several a clearing."""
        try:
            with warnings.catch_warnings():
                # pandapower suggests numba for speed; the results are the same without it.
                warnings.simplefilter("ignore")
                self._pp.runpp(
                    self.net,
                    numba=False,
                    calculate_voltage_angles=False,
                    recycle=_RECYCLE_BUS_POWERS,
                    tolerance_mva=POWER_FLOW_TOLERANCE_MVA,
                )
        except Exception as failed:  # pandapower's LoadflowNotConverged and friends
            raise GridModelError(f"power flow did not converge: {failed}") from failed
        # A recycled run reports non-convergence only here.
        if not self.net._ppc["success"]:
            raise GridModelError("power flow did not converge")

    def _injection_sensitivities(self) -> tuple[FloatArray, FloatArray]:
        """(dθ/dP, dV/dP) over the internal buses (rad and pu per MW injected at each internal
        bus) from the Jacobian of the last converged Newton-Raphson power flow; zero rows and
        columns at the slack. Once per power flow: both the voltage and the loading
        sensitivities need them."""
        if self._sensitivities is None:
            self._sensitivities = self._solve_sensitivities()
        return self._sensitivities

    def _solve_sensitivities(self) -> tuple[FloatArray, FloatArray]:
        from pandapower.pypower.dSbus_dV import dSbus_dV
        from scipy.sparse import bmat
        from scipy.sparse.linalg import splu

        internal: dict[str, Any] = self.net._ppc["internal"]
        buses = len(self.net._ppc["bus"])
        d_angle, d_magnitude = np.zeros((buses, buses)), np.zeros((buses, buses))
        if "pq" not in internal or len(internal["pq"]) + len(internal["pv"]) == 0:
            # Nothing but the slack in the power flow (every other bus cut off): no sensitivity.
            return d_angle, d_magnitude
        pvpq = np.concatenate([internal["pv"], internal["pq"]]).astype(np.int64)
        pq = np.asarray(internal["pq"], dtype=np.int64)
        # The power flow's Jacobian at its solution (pandapower keeps the one of its last
        # iteration, none at all when the recycled start had already converged).
        ds_dvm, ds_dva = dSbus_dV(internal["Ybus"].tocsr(), internal["V"])
        jacobian = bmat(
            [
                [ds_dva[pvpq][:, pvpq].real, ds_dvm[pvpq][:, pq].real],
                [ds_dva[pq][:, pvpq].imag, ds_dvm[pq][:, pq].imag],
            ],
            format="csc",
        )
        # Only the columns of active power are needed: J⁻¹ times them, from a sparse LU (a
        # radial grid's Jacobian is almost tree-shaped; the dense inverse took ten times longer).
        inverse = splu(jacobian).solve(np.eye(jacobian.shape[0], len(pvpq))) / float(internal["baseMVA"])
        # Rows: [angle of pvpq, magnitude of pq]; columns: P of pvpq; per unit of baseMVA.
        # Sized for every bus of the model: the ones out of the power flow (isolated by an open
        # switch or a branch out of service) come last and keep zero rows and columns.
        d_angle[np.ix_(pvpq, pvpq)] = inverse[: len(pvpq)]
        d_magnitude[np.ix_(pq, pvpq)] = inverse[len(pvpq) :]
        return d_angle, d_magnitude

    def _internal_of_bus(self) -> IntArray:
        """Each bus position's internal bus: buses joined by closed bus-bus switches share one."""
        internal_of_bus: IntArray = self.net._pd2ppc_lookups["bus"][self.bus_ids]
        return internal_of_bus

    def _voltage_sensitivity(self) -> FloatArray:
        """dV/dP between bus positions at the last power flow, pu per MW."""
        _, d_magnitude = self._injection_sensitivities()
        internal_of_bus = self._internal_of_bus()
        sensitivity: FloatArray = d_magnitude[np.ix_(internal_of_bus, internal_of_bus)]
        return sensitivity

    def loading_sensitivity(self) -> FloatArray:
        """How the loading of every line, then every transformer, moves per MW injected at each
        bus position (percent per MW), at the last power flow: the derivative of the larger of
        a branch's end currents, from the Jacobian (so losses and voltages are in it, unlike the
        DC transfer factors). A branch out of the power flow (out of service, or isolated)
        has none."""
        from pandapower.pypower.idx_brch import BR_STATUS, F_BUS, T_BUS

        internal: dict[str, Any] = self.net._ppc["internal"]
        ppc = self.net._ppc
        # The power flow keeps the branches in service between buses in it, in the model's order.
        ends = np.real(ppc["branch"][:, [F_BUS, T_BUS]]).astype(np.int64)
        kept = (np.real(ppc["branch"][:, BR_STATUS]) > 0) & np.all(ends < len(internal["bus"]), axis=1)
        if int(kept.sum()) != len(internal["branch"]):
            raise GridModelError(
                f"grid {self.code}: the power flow's branches are not the model's in service"
            )
        d_angle, d_magnitude = self._injection_sensitivities()
        in_flow = np.arange(len(internal["bus"]))
        d_angle, d_magnitude = d_angle[in_flow], d_magnitude[in_flow]
        voltage = np.asarray(internal["V"])
        # dV (complex) per MW at each bus: j·V·dθ + V/|V|·d|V|.
        d_voltage = (1j * voltage)[:, None] * d_angle + (voltage / np.abs(voltage))[:, None] * d_magnitude
        relative = []
        for admittance in (internal["Yf"], internal["Yt"]):
            current = admittance @ voltage
            d_current = admittance @ d_voltage
            magnitude = np.maximum(np.abs(current), 1e-12)
            relative.append((np.real(np.conj(current)[:, None] * d_current) / magnitude[:, None], magnitude))
        (from_rel, from_i), (to_rel, to_i) = relative
        per_unit_change = np.zeros((len(ppc["branch"]), d_angle.shape[1]))
        per_unit_change[kept] = np.where(
            (from_i >= to_i)[:, None], from_rel / from_i[:, None], to_rel / to_i[:, None]
        )
        lookups = self.net._pd2ppc_lookups["branch"]
        rows = np.concatenate([np.arange(*lookups["line"]), np.arange(*lookups["trafo"])])
        loading = np.concatenate(
            [
                self.net.res_line["loading_percent"].to_numpy(np.float64),
                self.net.res_trafo["loading_percent"].to_numpy(np.float64),
            ]
        )
        internal_of_bus = self._internal_of_bus()
        sensitivity: FloatArray = (
            np.nan_to_num(loading)[:, None] * per_unit_change[np.ix_(rows, internal_of_bus)]
        )
        return sensitivity

    def marginal_loss_factors(self, flow: PowerFlow) -> FloatArray:
        """MW of losses added per MW injected at each bus position (the slack taking it), at the
        operating point `flow`: a branch's load losses grow with the square of its apparent
        flow, so d(losses)/dP = sum over branches of 2 * load losses / S^2 * P * PTDF (a
        transformer's no-load losses do not move). Negative where an injection relieves the
        branches that feed it."""
        no_load_mw = self.net.trafo["pfe_kw"].to_numpy(np.float64) / 1000
        load_losses = np.nan_to_num(
            np.concatenate([flow.line_losses_mw, np.maximum(flow.trafo_losses_mw - no_load_mw, 0.0)])
        )
        p, q = np.nan_to_num(flow.branch_p_mw), np.nan_to_num(flow.branch_q_mvar)
        apparent_squared = p**2 + q**2
        per_flow = np.divide(
            2 * load_losses * p, apparent_squared, out=np.zeros_like(p), where=apparent_squared > 0
        )
        factors: FloatArray = per_flow @ self.ptdf
        return factors

    @cached_property
    def ptdf(self) -> FloatArray:
        """Active power flow on every line, then every transformer (from side), per MW injected at
        each bus position and taken at the slack: DC power transfer distribution factors."""
        from pandapower.pypower.idx_brch import F_BUS, T_BUS
        from pandapower.pypower.idx_bus import BUS_I, BUS_TYPE
        from pandapower.pypower.makePTDF import makePTDF

        if not hasattr(self.net, "_ppc") or self.net._ppc is None:
            self.power_flow(np.zeros(self.bus_count), np.zeros(self.bus_count))
        ppc = self.net._ppc
        lookups = self.net._pd2ppc_lookups
        # Isolated buses (behind open switches) have no DC path to the slack and make the
        # susceptance matrix singular: the factors are computed without them, zero for them.
        isolated_type = 4
        live = np.flatnonzero(ppc["bus"][:, BUS_TYPE] != isolated_type)
        renumber = np.full(len(ppc["bus"]), -1)
        renumber[live] = np.arange(len(live))
        branch = ppc["branch"].copy()
        ends = branch[:, [F_BUS, T_BUS]].real.astype(np.int64)
        kept = np.flatnonzero((renumber[ends[:, 0]] >= 0) & (renumber[ends[:, 1]] >= 0))
        branch = branch[kept]
        branch[:, F_BUS] = renumber[ends[kept, 0]]
        branch[:, T_BUS] = renumber[ends[kept, 1]]
        bus = ppc["bus"][live].copy()
        bus[:, BUS_I] = np.arange(len(live))
        slack = int(renumber[lookups["bus"][next(iter(self.slack_buses))]])
        reduced = np.asarray(makePTDF(ppc["baseMVA"], bus, branch, slack=slack))
        full = np.zeros((len(ppc["branch"]), len(ppc["bus"])))
        full[np.ix_(kept, live)] = reduced
        columns = lookups["bus"][self.bus_ids]
        line_start, line_end = lookups["branch"]["line"]
        trafo_start, trafo_end = lookups["branch"]["trafo"]
        rows = np.concatenate([np.arange(line_start, line_end), np.arange(trafo_start, trafo_end)])
        ptdf: FloatArray = full[np.ix_(rows, columns)]
        return ptdf

    @cached_property
    def branch_limit_mva(self) -> FloatArray:
        """Thermal limit of every line, then every transformer, in MVA at nominal voltage."""
        net = self.net
        line_kv = net.bus.loc[net.line["from_bus"], "vn_kv"].to_numpy(np.float64)
        lines = (
            np.sqrt(3) * line_kv * net.line["max_i_ka"].to_numpy(np.float64) * net.line["parallel"].to_numpy()
        )
        trafos = net.trafo["sn_mva"].to_numpy(np.float64) * net.trafo["parallel"].to_numpy()
        limits: FloatArray = np.concatenate([lines, trafos])
        return limits
