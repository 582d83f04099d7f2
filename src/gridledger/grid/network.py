"""The network model: a SimBench grid in pandapower, AC power flow per interval, its limits and
its linear sensitivities for the market's clearing.

Injections are given per bus (net active power, positive into the grid, and reactive power),
so the engine does not care who sits behind a bus: each bus gets one load element carrying its
net injection, the original load and PV elements stay out of service. Limits: thermal loading
of every line and transformer at most 100 %, and voltage within ±10 % of nominal (EN 50160).
"""

from __future__ import annotations

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
    def max_loading_percent(self) -> float:
        return float(max(self.line_loading_percent.max(initial=0), self.trafo_loading_percent.max(initial=0)))


class GridNetwork:
    """One SimBench grid: buses, branches, limits and power flow with given bus injections."""

    def __init__(self, code: str) -> None:
        import pandapower as pp
        import simbench

        try:
            net = simbench.get_simbench_net(code)
        except Exception as failed:  # simbench raises plain exceptions for unknown codes
            raise GridModelError(f"SimBench grid {code!r} could not be loaded: {failed}") from failed
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

    @property
    def bus_count(self) -> int:
        return int(self.bus_ids.shape[0])

    def position(self, bus: int) -> int:
        """Index of `bus` in per-bus arrays."""
        try:
            return self._position[bus]
        except KeyError as unknown:
            raise GridModelError(f"grid {self.code} has no bus {bus}") from unknown

    def power_flow(self, p_injection_mw: FloatArray, q_injection_mvar: FloatArray) -> PowerFlow:
        """AC power flow with net injections per bus position (positive into the grid)."""
        if p_injection_mw.shape != (self.bus_count,) or q_injection_mvar.shape != (self.bus_count,):
            raise GridModelError(f"injections must have one value per bus ({self.bus_count})")
        loads = self.net.load
        loads.loc[self._injection_rows, "p_mw"] = -p_injection_mw
        loads.loc[self._injection_rows, "q_mvar"] = -q_injection_mvar
        try:
            with warnings.catch_warnings():
                # pandapower suggests numba for speed; the results are the same without it.
                warnings.simplefilter("ignore")
                self._pp.runpp(self.net, numba=False, calculate_voltage_angles=False)
        except Exception as failed:  # pandapower's LoadflowNotConverged and friends
            raise GridModelError(f"power flow did not converge: {failed}") from failed
        res = self.net
        # Copies: a PowerFlow must keep its values when the next power flow runs.
        return PowerFlow(
            res.res_line["loading_percent"].to_numpy(np.float64, copy=True),
            res.res_trafo["loading_percent"].to_numpy(np.float64, copy=True),
            res.res_bus["vm_pu"].to_numpy(np.float64, copy=True),
            float(res.res_line["pl_mw"].sum() + res.res_trafo["pl_mw"].sum()),
            np.concatenate([res.res_line["p_from_mw"].to_numpy(), res.res_trafo["p_hv_mw"].to_numpy()]),
            np.concatenate([res.res_line["q_from_mvar"].to_numpy(), res.res_trafo["q_hv_mvar"].to_numpy()]),
            res.res_line["pl_mw"].to_numpy(np.float64, copy=True),
            res.res_trafo["pl_mw"].to_numpy(np.float64, copy=True),
            self._voltage_sensitivity(),
        )

    def _voltage_sensitivity(self) -> FloatArray:
        """dV/dP from the inverse Jacobian of the converged Newton-Raphson power flow."""
        internal: dict[str, Any] = self.net._ppc["internal"]
        jacobian = internal["J"].toarray()
        pvpq = np.concatenate([internal["pv"], internal["pq"]]).astype(np.int64)
        pq = np.asarray(internal["pq"], dtype=np.int64)
        inverse = np.linalg.inv(jacobian)
        # Rows: [angle of pvpq, magnitude of pq]; columns: [P of pvpq, Q of pq]; per unit of baseMVA.
        dv_dp_internal = inverse[len(pvpq) :, : len(pvpq)] / float(internal["baseMVA"])
        # Buses joined by closed bus-bus switches share one internal bus, and the internal model
        # may add buses of its own, so map from each bus position to its internal bus.
        internal_of_bus = self.net._pd2ppc_lookups["bus"][self.bus_ids]
        row_of = {int(b): i for i, b in enumerate(pq)}
        col_of = {int(b): i for i, b in enumerate(pvpq)}
        rows = np.array([row_of.get(int(b), -1) for b in internal_of_bus])
        cols = np.array([col_of.get(int(b), -1) for b in internal_of_bus])
        sensitivity = np.zeros((self.bus_count, self.bus_count))
        has_row, has_col = np.flatnonzero(rows >= 0), np.flatnonzero(cols >= 0)
        sensitivity[np.ix_(has_row, has_col)] = dv_dp_internal[np.ix_(rows[has_row], cols[has_col])]
        return sensitivity

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
