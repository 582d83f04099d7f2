"""Grid-feasible clearing: the uniform double auction under the network's limits.

In the market's physical model (docs/grid.md) consumption is fixed and PV that is not sold is
curtailed, so trading changes the grid only through what sellers export. The clearing runs in
two steps:

1. An LP (HiGHS, through scipy) finds how much each seller may export in the interval: as much
   energy as possible such that, linearised around the interval's base case (no exports), no
   line or transformer exceeds its thermal limit (PTDFs) and no bus rises above the voltage band
   (dV/dP from the power flow's Jacobian). A limit the base case already breaks may not get worse.
2. The ordinary uniform clearing (`clear_uniform`) runs on the book with every ask capped at its
   seller's export limit, so prices, priorities and rounding stay those of the market.

In a radial grid, flows and voltage rise are monotone in each export, so any fills at or below
the caps are feasible too. The LP is written here because the clearing needs the network's
sensitivities; the solver is HiGHS.

Given the network and the interval's base injections (`AcBaseCase`), step 1 is made AC-accurate
(`ac_export_limits_wh`). The base-case LP uses DC transfer factors and thermal limits at nominal
voltage, so it stops short of the limits the AC grid has (at export voltages are higher, so a
branch carries more power at its rated current, and flows carry losses). So the LP is solved
again around the AC power flow of its own answer, in the AC model's own terms: each branch's
loading (current against rated current, as pandapower reports it) with its derivative per MW
injected at each bus, and each bus's voltage with dV/dP, all from that power flow's Jacobian;
until the answer moves by at most a Wh per seller or MAX_ROUNDS pass. Every round's answer is
checked by an AC power flow and the most export any checked answer allowed is kept, so the caps
are AC-feasible whatever the rounds do (the base-case answer, checked first, is the fallback;
exporting nothing the last). A round that overshoots is still the next linearisation point, from
outside the feasible set, and the round after it may move only half as far (a trust region).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

from gridledger.errors import MarketError
from gridledger.grid.network import MAX_LOADING_PERCENT, VOLTAGE_BAND_PU, GridNetwork, PowerFlow
from gridledger.market.clearing import BookSide, ClearingResult, clear_uniform
from gridledger.market.orders import Pricing

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]

# Wh delivered in a 15-minute interval, as average MW over it.
MW_PER_WH_IN_INTERVAL = 4e-6
# The same as average watts: a connection's measured load from its Wh in the interval.
WATTS_PER_WH_IN_INTERVAL = MW_PER_WH_IN_INTERVAL * 1e6
# Headroom for what the linear model leaves out (reactive power at lower voltage, losses).
LIMIT_MARGIN = 0.03


@dataclass(frozen=True)
class NetworkLimits:
    """The network of one interval, linearised around its base case."""

    branch_p_mw: FloatArray  # base flows, lines then transformers
    branch_limit_mw: FloatArray  # active power each branch may carry given its base reactive flow
    ptdf: FloatArray  # (branches, buses)
    vm_pu: FloatArray  # base voltages per bus
    dv_dp_pu_per_mw: FloatArray  # (buses, buses)
    vm_max_pu: float

    @classmethod
    def around(
        cls,
        base: PowerFlow,
        ptdf: FloatArray,
        branch_limit_mva: FloatArray,
        margin: float = LIMIT_MARGIN,
    ) -> NetworkLimits:
        """Linearised around the power flow `base`."""
        apparent = branch_limit_mva * (1 - margin)
        active = np.sqrt(np.maximum(apparent**2 - base.branch_q_mvar**2, 0.0))
        return cls(
            base.branch_p_mw,
            active,
            ptdf,
            base.vm_pu,
            base.dv_dp_pu_per_mw,
            1 + VOLTAGE_BAND_PU - margin * VOLTAGE_BAND_PU,
        )


def export_limits_wh(
    limits: NetworkLimits,
    seller_bus: Int64Array,
    offered_wh: Int64Array,
    at_wh: FloatArray | None = None,
    step_wh: float | None = None,
) -> Int64Array:
    """The most each seller (at bus position `seller_bus[i]`, offering `offered_wh[i]`) may export
    together in the interval without breaking a limit, in whole Wh.

    `limits` are linearised at the exports `at_wh` (default: none, the base case); `step_wh`
    bounds how far from them each export may move (a trust region for successive LPs)."""
    count = len(offered_wh)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    at = np.zeros(count) if at_wh is None else at_wh.astype(np.float64)
    flow_per_wh = limits.ptdf[:, seller_bus] * MW_PER_WH_IN_INTERVAL
    rise_per_wh = limits.dv_dp_pu_per_mw[:, seller_bus] * MW_PER_WH_IN_INTERVAL
    # Linearised at `at`: flow(x) = flow + F (x - at). A limit broken there gets a budget that
    # still allows exporting nothing: exports may not make the base case worse.
    up = np.maximum(limits.branch_limit_mw - limits.branch_p_mw + flow_per_wh @ at, 0.0)
    down = np.maximum(limits.branch_limit_mw + limits.branch_p_mw - flow_per_wh @ at, 0.0)
    rise = np.maximum(limits.vm_max_pu - limits.vm_pu + rise_per_wh @ at, 0.0)
    lower = np.zeros(count) if step_wh is None else np.maximum(at - step_wh, 0.0)
    upper = offered_wh.astype(np.float64) if step_wh is None else np.minimum(at + step_wh, offered_wh)
    try:
        solved = linprog(
            c=-np.ones(count),
            A_ub=np.vstack([flow_per_wh, -flow_per_wh, rise_per_wh]),
            b_ub=np.concatenate([up, down, rise]),
            bounds=np.column_stack([lower, np.maximum(upper, lower)]),
            method="highs",
        )
    except ValueError as invalid:  # scipy refuses non-finite sensitivities or limits
        raise MarketError(f"the export limits could not be computed: {invalid}") from invalid
    if solved.status == 2 and step_wh is not None:  # the trust region misses the feasible set
        return export_limits_wh(limits, seller_bus, offered_wh, at_wh)
    # Exporting nothing is always feasible (limits the base case breaks get a zero budget), so
    # only a solver failure ends here.
    if solved.status != 0:
        raise MarketError(f"the export limits could not be computed: {solved.message}")
    # Rounded down so that the whole-Wh fills stay within what the LP allowed.
    caps: Int64Array = np.minimum(np.floor(solved.x + 1e-6).astype(np.int64), offered_wh)
    return caps


MAX_ROUNDS = 8
# An AC answer within its margin up to these slacks counts as feasible (the LP's rounding to
# whole Wh and the power flow's own tolerance); far below the hard limits.
LOADING_SLACK_PERCENT = 0.02
VOLTAGE_SLACK_PU = 0.0001


@dataclass(frozen=True)
class AcEnvelope:
    """The sellers' export caps and the AC power flow at them."""

    caps_wh: Int64Array
    flow: PowerFlow
    rounds: int  # LP rounds after the base-case one


@dataclass(frozen=True)
class _Targets:
    """What an AC answer must keep to: each branch's loading and each bus's voltage within the
    margin, or no worse than the base case where the base case is already beyond it."""

    loading_percent: FloatArray  # lines, then transformers
    vm_max_pu: FloatArray

    @classmethod
    def of(cls, base: PowerFlow, margin: float) -> _Targets:
        loading = np.concatenate([base.line_loading_percent, base.trafo_loading_percent])
        vm_max = 1 + VOLTAGE_BAND_PU - margin * VOLTAGE_BAND_PU
        return cls(
            np.fmax(np.nan_to_num(loading), MAX_LOADING_PERCENT * (1 - margin)) + LOADING_SLACK_PERCENT,
            np.fmax(np.nan_to_num(base.vm_pu), vm_max) + VOLTAGE_SLACK_PU,
        )

    def around(self, flow: PowerFlow, loading_per_mw: FloatArray) -> NetworkLimits:
        """The limits linearised at `flow` in the AC model's own terms: each branch's loading
        (percent, with its derivative per MW injected from the Jacobian) against its target,
        and each bus's voltage (with dV/dP) against the band. NetworkLimits' flow fields carry
        loading in percent here, and its transfer factors percent per MW."""
        loading = np.nan_to_num(np.concatenate([flow.line_loading_percent, flow.trafo_loading_percent]))
        return NetworkLimits(
            branch_p_mw=loading,
            branch_limit_mw=self.loading_percent - LOADING_SLACK_PERCENT,
            ptdf=loading_per_mw,
            vm_pu=np.nan_to_num(flow.vm_pu, nan=1.0),
            dv_dp_pu_per_mw=flow.dv_dp_pu_per_mw,
            vm_max_pu=float(np.min(self.vm_max_pu)) - VOLTAGE_SLACK_PU,
        )

    def kept_by(self, flow: PowerFlow) -> bool:
        loading = np.nan_to_num(np.concatenate([flow.line_loading_percent, flow.trafo_loading_percent]))
        return bool(
            np.all(loading <= self.loading_percent) and np.all(np.nan_to_num(flow.vm_pu) <= self.vm_max_pu)
        )


def ac_export_limits_wh(
    network: GridNetwork,
    p_base_mw: FloatArray,
    q_mvar: FloatArray,
    seller_bus: Int64Array,
    offered_wh: Int64Array,
    margin: float = LIMIT_MARGIN,
    max_rounds: int = MAX_ROUNDS,
) -> AcEnvelope:
    """The most each seller (at bus position `seller_bus[i]`, offering `offered_wh[i]`) may export
    in the interval whose base case has net injections `p_base_mw`, `q_mvar` per bus position,
    such that the AC power flow keeps every limit within `margin` (module docstring)."""
    base = network.power_flow(p_base_mw, q_mvar)
    targets = _Targets.of(base, margin)
    ptdf, limit_mva = network.ptdf, network.branch_limit_mva

    def flow_at(exports_wh: Int64Array) -> PowerFlow:
        per_bus = np.bincount(seller_bus, weights=exports_wh.astype(np.float64), minlength=network.bus_count)
        return network.power_flow(p_base_mw + per_bus * MW_PER_WH_IN_INTERVAL, q_mvar)

    best = AcEnvelope(np.zeros(len(offered_wh), dtype=np.int64), base, 0)
    at = export_limits_wh(NetworkLimits.around(base, ptdf, limit_mva, margin), seller_bus, offered_wh)
    flow = flow_at(at)
    if targets.kept_by(flow):
        best = AcEnvelope(at, flow, 0)
        if np.array_equal(at, offered_wh):
            return best  # everything offered fits: no round can allow more
    step_wh = float(max(int(offered_wh.max(initial=0)), 1))
    for round_number in range(1, max_rounds + 1):
        # The network's power flow state is `flow`'s (the last one run): its Jacobian is at `at`.
        limits = targets.around(flow, network.loading_sensitivity())
        proposed = export_limits_wh(limits, seller_bus, offered_wh, at.astype(np.float64), step_wh)
        proposed_flow = flow_at(proposed)
        moved_wh = np.abs(proposed - at).max(initial=0)
        if targets.kept_by(proposed_flow):
            if proposed.sum() > best.caps_wh.sum():
                best = AcEnvelope(proposed, proposed_flow, round_number)
        else:
            step_wh = max(step_wh / 2, 1.0)
        at, flow = proposed, proposed_flow
        if moved_wh <= 1:
            break
    return best


@dataclass(frozen=True)
class AcBaseCase:
    """An interval's base case for AC-accurate caps: the network and its net injections per bus
    position with nothing exported."""

    network: GridNetwork
    p_base_mw: FloatArray
    q_mvar: FloatArray


@dataclass(frozen=True)
class GridFeasibleClearing:
    """The uniform clearing with every ask capped at its seller's export limit in this interval.
    `bus_of_node` maps the orders' grid node ids to bus positions of the network."""

    limits: NetworkLimits
    bus_of_node: Mapping[int, int]
    pricing: Pricing = Pricing.UNIFORM
    ac: AcBaseCase | None = None  # given: caps from successive LPs around AC power flows

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult:
        return clear_uniform(bids, self.capped(asks), self.pricing)

    def capped(self, asks: BookSide) -> BookSide:
        """The asks with their energy cut to what the network takes."""
        if len(asks) == 0:
            return asks
        if asks.grid_node_id is None:
            raise MarketError("grid-feasible clearing needs the asks' grid nodes")
        try:
            buses = np.array([self.bus_of_node[int(n)] for n in asks.grid_node_id], dtype=np.int64)
        except KeyError as unknown:
            raise MarketError(f"ask at grid node {unknown} which is not in the network") from unknown
        if self.ac is None:
            caps = export_limits_wh(self.limits, buses, asks.energy_wh)
        else:
            ac = self.ac
            caps = ac_export_limits_wh(ac.network, ac.p_base_mw, ac.q_mvar, buses, asks.energy_wh).caps_wh
        return replace(asks, energy_wh=caps)
