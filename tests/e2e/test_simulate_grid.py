"""A simulated day on the real grid: export envelopes, grid-feasible clearing, reservations,
zone states and metrics on-chain; and the emergency protocol end to end."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from gridledger.chain.abi import load_artifact
from gridledger.chain.embedded import EmbeddedChain
from gridledger.errors import SimulationError
from gridledger.grid.network import GridNetwork, PowerFlow
from gridledger.grid.onchain import ZoneState
from gridledger.sim.reconcile import reconcile
from gridledger.sim.run import Simulation, SimulationResult
from gridledger.sim.scenario import build_community, with_pv_scaled

GRID = "1-LV-rural1--0-sw"  # 13 households, 4 feeders; PV scaled by 5 congests it
GRID_ABI = load_artifact("GridManagement")


def _run(pv_scale: float) -> tuple[EmbeddedChain, Simulation, SimulationResult]:
    community = with_pv_scaled(build_community(GRID), pv_scale)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    simulation = Simulation(chain, community, network=GridNetwork(GRID))
    return chain, simulation, simulation.run()


@pytest.fixture(scope="module")
def congested() -> tuple[EmbeddedChain, Simulation, SimulationResult]:
    return _run(5.0)


def test_congested_day_reconciles_and_the_grid_stays_within_limits(congested: tuple) -> None:
    chain, _, result = congested
    assert reconcile(chain, result) == []
    assert len(result.grid) == result.community.intervals
    assert sum(g.violations for g in result.grid) == 0
    assert max(g.max_trafo_loading_percent for g in result.grid) <= 100
    assert sum(r.curtailed_wh for r in result.intervals) > 0
    assert sum(r.readings_rejected for r in result.intervals) == 0


def test_curtailed_pv_is_not_minted(congested: tuple) -> None:
    _, _, result = congested
    available = int(result.community.export_register_wh()[:, -1].sum())
    minted = sum(r.minted_wh for r in result.intervals)
    assert minted == available - sum(r.curtailed_wh for r in result.intervals)


def test_zone_metrics_and_states_are_on_chain(congested: tuple) -> None:
    chain, simulation, result = congested
    grid = result.system.grid
    transformer = chain.call(GRID_ABI, grid, "zoneMetrics", 1)[0]
    assert transformer[0] > 0  # energy transferred to the upstream grid through the transformer
    assert transformer[2] > 0  # losses reported
    peak_intervals = sum(1 for g in result.grid if g.zones_in_peak)
    assert peak_intervals > 0
    for zone_id, state in simulation.grid.states.items():
        assert ZoneState(chain.call(GRID_ABI, grid, "zoneOf", zone_id)[0][2]) == state


def test_a_zone_is_in_peak_after_its_limits_held_the_envelope_and_nothing_else_caps_exports(
    congested: tuple,
) -> None:
    """Peak follows the envelope LP's binding limits: a zone enters peak for the interval after
    one whose envelope curtailed at one of its limits, and leaves it after an interval that did
    not. No flat cap per transfer: the transformer is used up to its margin."""
    chain, _, result = congested
    records = result.grid
    for before, after in itertools.pairwise(records):
        if after.zones_in_peak:
            assert before.curtailed_wh > 0
        if before.curtailed_wh == 0:
            assert not after.zones_in_peak
    assert max(g.max_trafo_loading_percent for g in records) > 96  # the 3 % margin, not a flat cap
    assert chain.call(GRID_ABI, result.system.grid, "peakNodeCapWh")[0] == 2**64 - 1


def test_n_minus_1_envelopes_curtail_more_and_the_day_still_reconciles(congested: tuple) -> None:
    """The same congested day with N-1 secure envelopes: the transformer keeps headroom for a
    loaded feeder tripping, so more PV is curtailed, and everything still reconciles."""
    _, _, plain = congested
    community = with_pv_scaled(build_community(GRID), 5.0)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    secure = Simulation(chain, community, network=GridNetwork(GRID), n_minus_1=True).run()
    assert reconcile(chain, secure) == []
    assert sum(g.violations for g in secure.grid) == 0
    curtailed = [sum(r.curtailed_wh for r in run.intervals) for run in (plain, secure)]
    assert curtailed[1] > curtailed[0]
    assert max(g.max_trafo_loading_percent for g in secure.grid) < max(
        g.max_trafo_loading_percent for g in plain.grid
    )


def test_n_minus_1_needs_the_network_model() -> None:
    community = build_community(GRID)
    with pytest.raises(SimulationError, match="network model"):
        Simulation(EmbeddedChain(int(community.interval_starts[0])), community, n_minus_1=True)


def test_reservations_never_exceed_zone_capacity(congested: tuple) -> None:
    chain, simulation, result = congested
    for zone in simulation.grid.zones:
        for start in result.community.interval_starts:
            reserved = chain.call(GRID_ABI, result.system.grid, "reservedWh", zone.zone_id, int(start))[0]
            assert reserved <= zone.capacity_wh


@pytest.fixture(scope="module")
def shipped() -> tuple[EmbeddedChain, Simulation, SimulationResult]:
    return _run(1.0)


def test_grid_as_shipped_curtails_nothing(shipped: tuple) -> None:
    chain, _, result = shipped
    assert reconcile(chain, result) == []
    assert sum(r.curtailed_wh for r in result.intervals) == 0
    assert not any(g.zones_in_emergency or g.zones_in_peak for g in result.grid)


def test_emergency_halts_the_zone_and_the_multisig_ends_it(shipped: tuple) -> None:
    chain, simulation, result = shipped
    operation = simulation.grid
    feeder = operation.zones[1]
    participants = [i for i, z in enumerate(operation.zone_of) if z == feeder.zone_id]
    healthy = _flow_like(operation, overloaded_line=None)
    overloaded = _flow_like(operation, overloaded_line=min(feeder.lines))

    operation._update_states(overloaded)
    assert operation.states[feeder.zone_id] == ZoneState.EMERGENCY
    assert (
        ZoneState(chain.call(GRID_ABI, result.system.grid, "zoneOf", feeder.zone_id)[0][2])
        == ZoneState.EMERGENCY
    )
    assert all(operation.halted(i) for i in participants)
    surplus = np.full(len(operation.zone_of), 1_000, dtype=np.int64)
    operation.start_interval(0)
    assert operation.export_envelope(surplus)[participants].tolist() == [0] * len(participants)

    operation._update_states(healthy)
    assert operation.states[feeder.zone_id] == ZoneState.NORMAL
    assert (
        ZoneState(chain.call(GRID_ABI, result.system.grid, "zoneOf", feeder.zone_id)[0][2])
        == ZoneState.NORMAL
    )


def _flow_like(operation: object, overloaded_line: int | None) -> PowerFlow:
    network: GridNetwork = operation.network  # type: ignore[attr-defined]
    flow = network.power_flow(np.zeros(network.bus_count), np.zeros(network.bus_count))
    loading = flow.line_loading_percent.copy()
    if overloaded_line is not None:
        loading[overloaded_line] = 130.0
    return PowerFlow(
        loading,
        flow.trafo_loading_percent,
        flow.vm_pu,
        flow.losses_mw,
        flow.branch_p_mw,
        flow.branch_q_mvar,
        flow.line_losses_mw,
        flow.trafo_losses_mw,
        flow.dv_dp_pu_per_mw,
    )


def test_buyers_in_peak_zones_pay_the_peak_fee(congested: tuple) -> None:
    _, _, result = congested
    normal = result.tariffs.grid_fee_per_kwh
    rates = {
        round(units * 1000 / t.filled_wh)
        for t in result.trades
        if (units := result.buy_fee_units.get(t.order_hash)) is not None and t.filled_wh >= 1000
    }
    assert normal in rates
    assert max(rates) > normal  # the peak fee, charged on-chain and reconciled against the collector


def test_reconcile_finds_a_fee_the_chain_did_not_charge(congested: tuple) -> None:
    chain, _, result = congested
    some_buy = next(t.order_hash for t in result.trades if t.order_hash in result.buy_fee_units)
    tampered = dict(result.buy_fee_units)
    tampered[some_buy] += 1
    findings = reconcile(chain, dataclasses.replace(result, buy_fee_units=tampered))
    assert any("the collector got" in f for f in findings)


def test_nodes_link_to_their_meters(shipped: tuple) -> None:
    chain, simulation, result = shipped
    registry = load_artifact("SmartMeterRegistry")
    for participant, node in enumerate(simulation.grid.node_of):
        status = chain.call(GRID_ABI, result.system.grid, "getGridStatus", node)[0]
        device = chain.call(registry, result.system.registry, "getDevice", status[3])[0]
        assert device[1].lower() == result.traders[participant].lower()  # the meter's owner
        assert device[2] == node  # and the meter names the node back


def test_reserve_refused_by_the_zones_stops_the_settlement(shipped: tuple) -> None:
    from gridledger.errors import SimulationError
    from gridledger.market.orders import Side
    from gridledger.market.settlement import Settlement

    _, simulation, result = shipped
    operation = simulation.grid
    seller = next(i for i, z in enumerate(operation.zone_of) if z != 1)
    interval = int(result.community.interval_starts[-1]) + 86_400
    huge = 10**9

    def fill(trader: str, side: Side, node: int) -> tuple:
        return ((trader, int(side), 1, interval, huge, 82_000, node, interval, 0), b"", b"", huge, 0)

    settlement = Settlement(
        (1, interval, 0, 82_000, b"\0" * 32),
        [
            fill(result.traders[seller], Side.SELL, operation.node_of[seller]),
            fill(result.utility, Side.BUY, operation.transformer_node),
        ],
        None,  # type: ignore[arg-type]
    )
    with pytest.raises(SimulationError, match="zones refused"):
        operation.reserve(interval, settlement)
