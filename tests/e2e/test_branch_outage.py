"""A line outage during a simulated day (grid/outages.py): the households it cuts off have no
power, the feeder it faults goes into emergency when it begins and does not trade, the other
feeders keep trading within the limits of the network as it now is, and the feeder returns
to normal and trades again once the line is back. The run still reconciles with the chain."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gridledger.chain.abi import load_artifact
from gridledger.chain.embedded import EmbeddedChain
from gridledger.grid.network import GridNetwork
from gridledger.grid.outages import BranchOutage
from gridledger.grid.zones import grid_zones
from gridledger.sim.reconcile import reconcile
from gridledger.sim.report_tables import report_tables
from gridledger.sim.run import Simulation, SimulationResult
from gridledger.sim.scenario import build_community, with_pv_scaled

GRID = "1-LV-rural1--0-sw"
OUTAGE = BranchOutage("line", 2, 44, 8)  # 11:00 to 13:00; line 2 feeds part of feeder 1 (zone 2)
FAULTED_ZONE = 2
DURING = range(OUTAGE.first_interval, OUTAGE.first_interval + OUTAGE.intervals)


@pytest.fixture(scope="module")
def run() -> tuple[EmbeddedChain, SimulationResult, GridNetwork]:
    community = with_pv_scaled(build_community(GRID), 3.0)
    network = GridNetwork(GRID)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    result = Simulation(chain, community, network=network, outages=[OUTAGE]).run()
    return chain, result, network


def _zone_of_trader(result: SimulationResult, network: GridNetwork) -> dict[str, int]:
    zone_of_bus = {b: z.zone_id for z in grid_zones(network) for b in z.bus_positions}
    return {
        trader.lower(): zone_of_bus[network.position(p.bus)]
        for trader, p in zip(result.traders, result.community.participants, strict=True)
    }


def test_the_faulted_feeder_halts_for_the_outage_and_only_it(
    run: tuple[EmbeddedChain, SimulationResult, GridNetwork],
) -> None:
    _, result, network = run
    by_interval = {r.interval_start: r for r in result.grid}
    starts = result.community.interval_starts
    for k in DURING:
        record = by_interval[int(starts[k])]
        assert record.zones_faulted == (FAULTED_ZONE,) and record.participants_unsupplied > 0
        assert FAULTED_ZONE in record.zones_in_emergency  # from the outage's first interval on
        assert record.violations == 0
    after = by_interval[int(starts[DURING.stop])]
    assert after.zones_faulted == () and FAULTED_ZONE not in after.zones_in_emergency
    assert all(not r.zones_in_emergency for k, r in enumerate(result.grid) if k not in DURING)

    zone_of = _zone_of_trader(result, network)
    during = {int(starts[k]) for k in DURING}
    traded_during = {zone_of.get(t.trader.lower()) for t in result.trades if t.interval_start in during}
    assert FAULTED_ZONE not in traded_during
    assert traded_during - {None, FAULTED_ZONE}, "the other feeders keep trading"
    later = {int(s) for s in starts[DURING.stop : DURING.stop + 8]}
    assert any(
        zone_of.get(t.trader.lower()) == FAULTED_ZONE for t in result.trades if t.interval_start in later
    )


def test_the_households_cut_off_neither_consume_nor_generate_and_the_run_reconciles(
    run: tuple[EmbeddedChain, SimulationResult, GridNetwork],
) -> None:
    chain, result, network = run
    network.set_out_of_service(frozenset({OUTAGE.position}))
    cut_off = network.unsupplied_bus_positions()
    network.set_out_of_service()
    unsupplied = [
        i for i, p in enumerate(result.community.participants) if network.position(p.bus) in cut_off
    ]
    assert unsupplied
    community = result.community
    assert not community.consumption_wh[np.ix_(unsupplied, list(DURING))].any()
    assert not community.pv_wh[np.ix_(unsupplied, list(DURING))].any()
    assert community.consumption_wh[unsupplied, DURING.stop].sum() > 0  # supplied again after
    assert reconcile(chain, result) == []


def test_the_day_s_quality_of_service_is_posted_on_chain_per_zone(
    run: tuple[EmbeddedChain, SimulationResult, GridNetwork],
) -> None:
    chain, result, network = run
    abi = load_artifact("GridManagement")
    posted = {}
    for log in chain.logs(result.system.grid, abi.event_topic("ServiceQualityReported")):
        decoded = abi.decode_event(log)
        assert decoded is not None
        posted[decoded[1]["zoneId"]] = decoded[1]
    day = int(result.community.interval_starts[0])
    assert set(posted) == {z.zone_id for z in grid_zones(network)}
    assert all(event["dayStart"] == day for event in posted.values())
    cut_off = result.grid[OUTAGE.first_interval].participants_unsupplied
    faulted = posted[FAULTED_ZONE]
    assert (faulted["interruptions"], faulted["interruptionMinutes"]) == (1, 15 * OUTAGE.intervals)
    assert faulted["customerMinutesInterrupted"] == cut_off * 15 * OUTAGE.intervals
    assert all(e["interruptions"] == 0 for z, e in posted.items() if z != FAULTED_ZONE)
    # The view keeps the same report, and the run's records are what was posted.
    stored = chain.call(abi, result.system.grid, "serviceQuality", FAULTED_ZONE, day)[0]
    assert tuple(stored) == next(
        r.quality.as_call_argument() for r in result.grid_quality if r.zone_id == FAULTED_ZONE
    )


def test_the_report_lists_each_bus_and_interval_the_zones_quality_adds_up(
    run: tuple[EmbeddedChain, SimulationResult, GridNetwork],
) -> None:
    """bus_quality: every bus the outage cut off, in every interval of the outage; and per zone
    the bus-minutes outside ±5 % and ±10 % are the day's report's."""
    _, result, network = run
    rows = report_tables(result).bus_quality
    assert rows is not None
    cut_off = rows[rows["minutes_unsupplied"] > 0]
    starts = result.community.interval_starts[
        OUTAGE.first_interval : OUTAGE.first_interval + OUTAGE.intervals
    ]
    assert sorted(set(cut_off["interval_start"])) == [int(s) for s in starts]
    assert set(cut_off["zone_id"]) == {FAULTED_ZONE}
    assert cut_off["vm_pu"].isna().all()  # no supply, no voltage
    assert set(rows["bus"]) <= {int(b) for b in network.bus_ids}
    for report in result.grid_quality:
        own = rows[rows["zone_id"] == report.zone_id]
        assert int(own["minutes_outside_5_percent"].sum()) == report.quality.bus_minutes_outside_5_percent
        assert int(own["minutes_outside_10_percent"].sum()) == report.quality.bus_minutes_outside_10_percent


def test_reconcile_finds_a_quality_report_the_chain_does_not_hold(
    run: tuple[EmbeddedChain, SimulationResult, GridNetwork],
) -> None:
    chain, result, _ = run
    first = result.grid_quality[0]
    changed = dataclasses.replace(
        first, quality=dataclasses.replace(first.quality, interruptions=first.quality.interruptions + 1)
    )
    tampered = dataclasses.replace(result, grid_quality=[changed, *result.grid_quality[1:]])
    findings = reconcile(chain, tampered)
    assert len(findings) == 1 and f"zone {first.zone_id}" in findings[0]
