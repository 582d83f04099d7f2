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

Given the network and the interval's base case (`AcBaseCase`), step 1 is made AC-accurate
(`ac_export_limits_wh`). First the AC power flow of the whole offer: if it keeps every limit,
the offers are the caps. Otherwise: the base-case LP uses DC transfer factors and thermal limits at nominal
voltage, so it stops short of the limits the AC grid has (at export voltages are higher, so a
branch carries more power at its rated current, and flows carry losses). So the LP is solved
again around the AC power flow of its own answer, in the AC model's own terms: each branch's
loading (current against rated current, as pandapower reports it) with its derivative per MW
injected at each bus, and each bus's voltage with dV/dP, all from that power flow's Jacobian;
until the answer moves by at most a Wh per seller or MAX_ROUNDS pass. Every round's answer is
checked by an AC power flow and the most export any checked answer allowed is kept, so the caps
are AC-feasible whatever the rounds do (the base-case answer, checked first, is the fallback;
exporting nothing the last). A round that overshoots is still the next linearisation point, from
outside the feasible set, and the round after it may move only half as far (a trust region);
a round whose power flow does not converge is tried again from the same point with half the step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

from gridledger.errors import GridModelError, MarketError
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
        return cls(
            base.branch_p_mw,
            active_limit_mw(branch_limit_mva, base.branch_q_mvar, margin),
            ptdf,
            base.vm_pu,
            base.dv_dp_pu_per_mw,
            1 + VOLTAGE_BAND_PU - margin * VOLTAGE_BAND_PU,
        )

    def linear(self) -> LinearLimits:
        """These limits as bounds on linearised quantities: each branch's flow within ± its
        limit, each bus's voltage at most the band's top."""
        buses = len(self.vm_pu)
        return LinearLimits(
            np.concatenate([self.branch_p_mw, self.vm_pu]),
            np.concatenate([-self.branch_limit_mw, np.full(buses, -np.inf)]),
            np.concatenate([self.branch_limit_mw, np.full(buses, self.vm_max_pu)]),
            np.vstack([self.ptdf, self.dv_dp_pu_per_mw]),
        )


def active_limit_mw(branch_limit_mva: FloatArray, branch_q_mvar: FloatArray, margin: float) -> FloatArray:
    """The active power each branch may carry: its thermal limit less the margin, given the
    reactive power it carries. NaN for a branch out of the power flow (its reactive power is
    NaN): a limit that is not finite binds nothing (`limit_rows` leaves it out)."""
    apparent = branch_limit_mva * (1 - margin)
    active: FloatArray = np.sqrt(np.maximum(apparent**2 - branch_q_mvar**2, 0.0))
    return active


@dataclass(frozen=True)
class LinearLimits:
    """Limited quantities of one interval (branch flows or loadings, bus voltages), linearised at
    an operating point: each one's value there, its bounds (±inf where unbounded) and its change
    per MW injected at each bus position."""

    value: FloatArray  # (quantities,)
    lowest: FloatArray  # (quantities,)
    highest: FloatArray  # (quantities,)
    per_mw: FloatArray  # (quantities, buses)


def limit_rows(
    linear: LinearLimits, export_bus: Int64Array, at_wh: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The limits as rows over exports in Wh at bus positions `export_bus`: `rows @ exports <=
    budget`, linearised at the exports `at_wh`. A limit broken there gets a budget that still
    allows exporting nothing: exports may not make the operating point worse."""
    change_per_wh = linear.per_mw[:, export_bus] * MW_PER_WH_IN_INTERVAL
    # value(x) = value + C (x - at)
    at_value = linear.value - change_per_wh @ at_wh
    # A quantity with no value (a branch out of service, a bus cut off: NaN in the power flow)
    # limits nothing, and neither does an infinite bound.
    known = np.isfinite(linear.value)
    above, below = known & np.isfinite(linear.highest), known & np.isfinite(linear.lowest)
    rows = np.vstack([change_per_wh[above], -change_per_wh[below]])
    budget = np.maximum(
        np.concatenate([linear.highest[above] - at_value[above], at_value[below] - linear.lowest[below]]), 0.0
    )
    return rows, budget


def export_limits_wh(
    limits: NetworkLimits | LinearLimits,
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
    linear = limits.linear() if isinstance(limits, NetworkLimits) else limits
    at = np.zeros(count) if at_wh is None else at_wh.astype(np.float64)
    rows, budget = limit_rows(linear, seller_bus, at)
    lower = np.zeros(count) if step_wh is None else np.maximum(at - step_wh, 0.0)
    upper = offered_wh.astype(np.float64) if step_wh is None else np.minimum(at + step_wh, offered_wh)
    try:
        solved = linprog(
            c=-np.ones(count),
            A_ub=rows,
            b_ub=budget,
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
    rounds: int  # the LP round whose caps were kept (0: the offers whole, or the base-case LP's)


@dataclass(frozen=True)
class AcTargets:
    """What an AC answer must keep to: each branch's loading and each bus's voltage within the
    margin, or no worse than the base case where the base case is already beyond it."""

    loading_percent: FloatArray  # lines, then transformers
    vm_max_pu: FloatArray

    @classmethod
    def of(cls, base: PowerFlow, margin: float) -> AcTargets:
        vm_max = 1 + VOLTAGE_BAND_PU - margin * VOLTAGE_BAND_PU
        return cls(
            np.fmax(np.nan_to_num(base.branch_loading_percent), MAX_LOADING_PERCENT * (1 - margin))
            + LOADING_SLACK_PERCENT,
            np.fmax(np.nan_to_num(base.vm_pu), vm_max) + VOLTAGE_SLACK_PU,
        )

    def around(self, flow: PowerFlow, loading_per_mw: FloatArray) -> LinearLimits:
        """The limits linearised at `flow` in the AC model's own terms: each branch's loading
        (percent, with its derivative per MW injected from the Jacobian) and each bus's voltage
        (with dV/dP) at most its target, less the slack."""
        loading = np.nan_to_num(flow.branch_loading_percent)
        return LinearLimits(
            np.concatenate([loading, np.nan_to_num(flow.vm_pu, nan=1.0)]),
            np.full(len(loading) + len(self.vm_max_pu), -np.inf),
            np.concatenate([self.loading_percent - LOADING_SLACK_PERCENT, self.vm_max_pu - VOLTAGE_SLACK_PU]),
            np.vstack([loading_per_mw, flow.dv_dp_pu_per_mw]),
        )

    def kept_by(self, flow: PowerFlow) -> bool:
        return bool(
            np.all(np.nan_to_num(flow.branch_loading_percent) <= self.loading_percent)
            and np.all(np.nan_to_num(flow.vm_pu) <= self.vm_max_pu)
        )


# A limit this close to its target at the caps is one that holds them: the rounds stop within
# a Wh of the limits they meet, which moves a loading by far less.
BINDING_LOADING_PERCENT = 1.0
BINDING_VOLTAGE_PU = 0.001


@dataclass(frozen=True)
class AcBaseCase:
    """An interval's base case for AC-accurate caps: the network, its net injections per bus
    position with nothing exported, and their AC power flow."""

    network: GridNetwork
    p_base_mw: FloatArray
    q_mvar: FloatArray
    flow: PowerFlow

    @classmethod
    def solve(cls, network: GridNetwork, p_base_mw: FloatArray, q_mvar: FloatArray) -> AcBaseCase:
        """The base case with its power flow run (GridModelError if it does not converge), from a
        flat start: the clearing's power flows that follow each start from the one before, so
        from here the clearing is the same to the last bit whatever the network ran before, and
        anyone can rebuild it from the published base case."""
        return cls(network, p_base_mw, q_mvar, network.power_flow(p_base_mw, q_mvar, flat_start=True))

    def flow_with_exports(self, export_bus: Int64Array, exports_wh: npt.NDArray[Any]) -> PowerFlow | None:
        """The AC power flow with `exports_wh[i]` exported at bus position `export_bus[i]` on top of
        the base case; None where it does not converge (exports far beyond what the grid can
        carry). It starts from the network's last power flow."""
        per_bus = np.bincount(
            export_bus, weights=exports_wh.astype(np.float64), minlength=self.network.bus_count
        )
        try:
            return self.network.power_flow(self.p_base_mw + per_bus * MW_PER_WH_IN_INTERVAL, self.q_mvar)
        except GridModelError:
            return None


def binding_limits(
    case: AcBaseCase, flow: PowerFlow, margin: float = LIMIT_MARGIN
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which branches (lines, then transformers) and which buses hold the exports of `flow` (an
    answer of `ac_export_limits_wh` for base case `case`): those within BINDING_LOADING_PERCENT
    or BINDING_VOLTAGE_PU of their target at `flow`. Read from the power flow, not from an LP's
    duals: the limits the caps meet."""
    targets = AcTargets.of(case.flow, margin)
    branches = np.nan_to_num(flow.branch_loading_percent) >= targets.loading_percent - BINDING_LOADING_PERCENT
    buses = np.nan_to_num(flow.vm_pu) >= targets.vm_max_pu - BINDING_VOLTAGE_PU
    return branches, buses


def ac_export_limits_wh(
    case: AcBaseCase,
    seller_bus: Int64Array,
    offered_wh: Int64Array,
    margin: float = LIMIT_MARGIN,
    max_rounds: int = MAX_ROUNDS,
) -> AcEnvelope:
    """The most each seller (at bus position `seller_bus[i]`, offering `offered_wh[i]`) may export
    in the interval of base case `case` such that the AC power flow keeps every limit within
    `margin` (module docstring)."""
    network = case.network
    targets = AcTargets.of(case.flow, margin)

    def flow_at(exports_wh: Int64Array) -> PowerFlow | None:
        """None where the power flow does not converge, which no caps may be."""
        return case.flow_with_exports(seller_bus, exports_wh)

    def kept_by(flow: PowerFlow | None) -> TypeGuard[PowerFlow]:
        return flow is not None and targets.kept_by(flow)

    if len(offered_wh) == 0:
        return AcEnvelope(offered_wh.copy(), case.flow, 0)
    # Everything offered fits (an uncongested interval, or offers already within caps): no LP.
    whole = flow_at(offered_wh)
    if kept_by(whole):
        return AcEnvelope(offered_wh.copy(), whole, 0)
    best = AcEnvelope(np.zeros(len(offered_wh), dtype=np.int64), case.flow, 0)
    base_limits = NetworkLimits.around(case.flow, network.ptdf, network.branch_limit_mva, margin)
    at = export_limits_wh(base_limits, seller_bus, offered_wh)
    # The network's power flow state must be the linearisation point's: `whole` was the last run.
    flow = whole if whole is not None and np.array_equal(at, offered_wh) else flow_at(at)
    if flow is None:
        return best  # not even the base-case LP's caps converge: nothing is exported
    if kept_by(flow):
        best = AcEnvelope(at, flow, 0)
    step_wh = float(max(int(offered_wh.max(initial=0)), 1))
    for round_number in range(1, max_rounds + 1):
        # The network's power flow state is `flow`'s (the last one run): its Jacobian is at `at`.
        limits = targets.around(flow, network.loading_sensitivity())
        proposed = export_limits_wh(limits, seller_bus, offered_wh, at.astype(np.float64), step_wh)
        proposed_flow = flow_at(proposed)
        if proposed_flow is None:
            # Too far for the power flow: a shorter step from the same point, its state restored.
            step_wh = max(step_wh / 2, 1.0)
            flow = flow_at(at)
            if flow is None:
                break
            continue
        moved_wh = np.abs(proposed - at).max(initial=0)
        if kept_by(proposed_flow):
            if proposed.sum() > best.caps_wh.sum():
                best = AcEnvelope(proposed, proposed_flow, round_number)
        else:
            step_wh = max(step_wh / 2, 1.0)
        at, flow = proposed, proposed_flow
        if moved_wh <= 1:
            break
    return best


@dataclass(frozen=True)
class GridFeasibleClearing:
    """The uniform clearing with every ask capped at its seller's export limit in this interval:
    AC-accurate around base case `ac`, or from the base-case LP on `limits` alone. `bus_of_node`
    maps the orders' grid node ids to bus positions of the network."""

    bus_of_node: Mapping[int, int]
    limits: NetworkLimits | None = None
    ac: AcBaseCase | None = None
    pricing: Pricing = Pricing.UNIFORM
    # What `ac` was solved from, for the book to publish (ops/grid_model.py), so that anyone
    # holding the grid's data can rebuild the caps.
    base_case: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if (self.limits is None) == (self.ac is None):
            raise MarketError("a grid-feasible clearing needs either network limits or an AC base case")

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
        if self.ac is not None:
            caps = ac_export_limits_wh(self.ac, buses, asks.energy_wh).caps_wh
        else:
            assert self.limits is not None  # __post_init__
            caps = export_limits_wh(self.limits, buses, asks.energy_wh)
        return replace(asks, energy_wh=caps)
