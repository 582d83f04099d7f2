"""Does the market's clearing keep the grid within its limits? A study over days of profiles.

For each interval the community's orders follow the simulation's strategy (sim/strategy.py);
the interval is cleared twice, without and with the network's limits
(market/feasible.py), and AC power flow checks three states of the grid:

- the base case, no trades: PV covers its own household and exports nothing;
- the unconstrained clearing: sellers export what it sold;
- the grid-feasible clearing: sellers export what it sold, at most their export limits.

A violation (a line or transformer above 100 %, a bus outside ±10 %) counts as caused by
trades when the cleared state has it and the base case does not. Losses the trades cause
(cleared minus base) are allocated to the sellers in proportion to the energy they exported.
No chain is involved: this is the grid engine and the clearing alone.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gridledger.grid.acopf import acopf_exports_wh
from gridledger.grid.network import GridNetwork
from gridledger.market.clearing import BookSide, ClearingResult, clear_uniform
from gridledger.market.feasible import (
    MW_PER_WH_IN_INTERVAL,
    AcBaseCase,
    GridFeasibleClearing,
    NetworkLimits,
    ac_export_limits_wh,
    export_limits_wh,
)
from gridledger.sim.injections import InjectionModel
from gridledger.sim.scenario import Community
from gridledger.sim.strategy import Tariffs, bid_limits, own_use_split

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

UTILITY_NODE = 0  # the utility trades at the substation, upstream of every line


@dataclass(frozen=True)
class IntervalOutcome:
    interval_start: int
    base_violations: int
    unconstrained_new_violations: int
    feasible_new_violations: int
    unconstrained_volume_wh: int
    feasible_volume_wh: int
    curtailed_wh: int  # offered surplus the network could not take
    base_max_loading_percent: float
    unconstrained_max_loading_percent: float
    feasible_max_loading_percent: float
    unconstrained_max_vm_pu: float
    feasible_max_vm_pu: float
    trade_losses_wh: float  # losses of the feasible state minus those of the base case
    clearing_ms: float  # linearisation, export limits and clearing of the feasible case


@dataclass
class GridStudy:
    grid_code: str
    outcomes: list[IntervalOutcome] = field(default_factory=list)
    # Losses caused by trades, allocated to sellers (participant index -> Wh).
    seller_losses_wh: dict[int, float] = field(default_factory=dict)

    @property
    def violations_caused_by_trades(self) -> int:
        return sum(o.feasible_new_violations for o in self.outcomes)

    @property
    def unconstrained_violations(self) -> int:
        return sum(o.unconstrained_new_violations for o in self.outcomes)

    def constrained_clearing_ms(self, percentile: int) -> float:
        """That percentile (1..99, or 50: the median) of the clearing times of the intervals the
        network constrains (unconstrained clearing would break a limit there), where the AC
        rounds run; 0 if there are none."""
        times = [o.clearing_ms for o in self.outcomes if o.unconstrained_new_violations > 0]
        if len(times) < 2:
            return times[0] if times else 0.0
        return statistics.quantiles(times, n=100, method="inclusive")[percentile - 1]


def interval_book(
    community_exports: IntArray, community_imports: IntArray, tariffs: Tariffs, seed: int, k: int
) -> tuple[BookSide, BookSide, IntArray]:
    """Bids and asks of interval k as the strategy places them, with grid nodes (participant
    index + 1; the utility at node 0); returns the sellers' participant indices too."""
    surplus, uncovered = own_use_split(community_exports, community_imports)
    sellers = np.flatnonzero(surplus > 0)
    buyers = np.flatnonzero(uncovered > 0)
    limits = bid_limits(tariffs, seed, k, len(surplus))
    utility_wh = int(surplus.sum()) + 1
    bid_prices = np.append(limits[buyers], tariffs.feed_in_per_kwh)
    bid_energy = np.append(uncovered[buyers], utility_wh)
    bids = _side(bid_prices, bid_energy, np.append(buyers + 1, UTILITY_NODE), offset=len(sellers))
    asks = _side(
        np.full(len(sellers), tariffs.feed_in_per_kwh, dtype=np.int64),
        surplus[sellers],
        sellers + 1,
        offset=0,
    )
    return bids, asks, sellers


def _side(prices: IntArray, energy: IntArray, nodes: IntArray, offset: int) -> BookSide:
    count = len(prices)
    order = np.arange(offset, offset + count, dtype=np.int64)
    return BookSide(
        prices.astype(np.int64),
        energy.astype(np.int64),
        order,
        order.astype(np.uint64),
        nodes.astype(np.uint64),
    )


def study_grid(
    community: Community, network: GridNetwork, seed: int = 0, tariffs: Tariffs | None = None
) -> GridStudy:
    """Clear every interval of `community` with and without the network and power-flow all three states."""
    tariffs = tariffs or Tariffs()
    model = InjectionModel(community, network)
    bus_of_node = {i + 1: int(b) for i, b in enumerate(model.bus_position)}
    study = GridStudy(network.code)
    for k in range(community.intervals):
        bids, asks, sellers = interval_book(model.exports[:, k], model.imports[:, k], tariffs, seed, k)
        if len(asks) == 0:
            continue  # nothing to export: the cleared state is the base case
        p_base, q = model.base(k)
        case = AcBaseCase.solve(network, p_base, q)
        base = case.flow
        free = clear_uniform(bids, asks)
        free_flow = network.power_flow(
            model.with_exports(p_base, _exported(free, sellers, len(model.bus_position))), q
        )
        began = time.perf_counter()
        feasible = GridFeasibleClearing(bus_of_node, ac=case).clear(bids, asks)
        clearing_ms = (time.perf_counter() - began) * 1000
        exported = _exported(feasible, sellers, len(model.bus_position))
        feasible_flow = network.power_flow(model.with_exports(p_base, exported), q)
        trade_losses_wh = (feasible_flow.losses_mw - base.losses_mw) / MW_PER_WH_IN_INTERVAL
        if feasible.volume_wh > 0:
            for i in sellers:
                share = exported[i] / feasible.volume_wh
                study.seller_losses_wh[int(i)] = (
                    study.seller_losses_wh.get(int(i), 0.0) + share * trade_losses_wh
                )
        study.outcomes.append(
            IntervalOutcome(
                int(community.interval_starts[k]),
                base.violations().count,
                free_flow.violations().beyond(base.violations()).count,
                feasible_flow.violations().beyond(base.violations()).count,
                free.volume_wh,
                feasible.volume_wh,
                int(asks.energy_wh.sum()) - feasible.volume_wh,
                base.max_loading_percent,
                free_flow.max_loading_percent,
                feasible_flow.max_loading_percent,
                float(free_flow.vm_pu.max()),
                float(feasible_flow.vm_pu.max()),
                trade_losses_wh,
                clearing_ms,
            )
        )
    return study


@dataclass(frozen=True)
class AcopfComparison:
    """One interval's export caps against pandapower's AC OPF with the same margins: what each
    curtails of the sellers' surplus, and the AC power flow at the caps."""

    interval_start: int
    offered_wh: int
    curtailed_wh: int  # by the AC-accurate caps (the market's)
    base_lp_curtailed_wh: int  # by the base-case LP alone
    acopf_curtailed_wh: float
    max_loading_percent: float  # at the AC-accurate caps
    max_vm_pu: float  # at the AC-accurate caps
    new_violations: int  # at the AC-accurate caps, beyond the base case's
    rounds: int  # the LP round whose caps were kept (0: the offers whole, or the base-case LP's)

    @property
    def excess_wh(self) -> float:
        """How much more the caps curtail than the OPF (negative: less)."""
        return self.curtailed_wh - self.acopf_curtailed_wh


def compare_with_acopf(
    community: Community, network: GridNetwork, intervals: list[int]
) -> list[AcopfComparison]:
    """Every surplus offered in full at intervals `intervals` of `community`: the market's caps,
    the base-case LP's and the AC OPF's (grid/acopf.py), for the intervals with a surplus."""
    model = InjectionModel(community, network)
    comparisons = []
    for k in intervals:
        surplus, _ = own_use_split(model.exports[:, k], model.imports[:, k])
        sellers = np.flatnonzero(surplus > 0)
        if len(sellers) == 0:
            continue
        bus, offered = model.bus_position[sellers], surplus[sellers].astype(np.int64)
        p_base, q = model.base(k)
        case = AcBaseCase.solve(network, p_base, q)
        base = case.flow
        base_lp = export_limits_wh(
            NetworkLimits.around(base, network.ptdf, network.branch_limit_mva), bus, offered
        )
        ac = ac_export_limits_wh(case, bus, offered)
        opf = acopf_exports_wh(network, p_base, q, bus, offered)
        total = int(offered.sum())
        comparisons.append(
            AcopfComparison(
                int(community.interval_starts[k]),
                total,
                total - int(ac.caps_wh.sum()),
                total - int(base_lp.sum()),
                total - float(opf.sum()),
                ac.flow.max_loading_percent,
                float(np.nanmax(ac.flow.vm_pu)),
                ac.flow.violations().beyond(base.violations()).count,
                ac.rounds,
            )
        )
    return comparisons


def excess_curtailment_pct(comparisons: list[AcopfComparison], floor_share: float = 0.001) -> float:
    """How much more the market's caps curtail than the AC OPF, in percent of what the OPF
    curtails, over the intervals where the OPF curtails more than `floor_share` of the offer
    (below that, the OPF's curtailment is its interior-point tolerance, not the grid)."""
    congested = [c for c in comparisons if c.acopf_curtailed_wh > floor_share * c.offered_wh]
    reference = sum(c.acopf_curtailed_wh for c in congested)
    return 100 * sum(c.excess_wh for c in congested) / reference if reference > 0 else 0.0


def _exported(result: ClearingResult, sellers: IntArray, participants: int) -> FloatArray:
    exported = np.zeros(participants)
    exported[sellers] = result.ask_fill_wh
    return exported
