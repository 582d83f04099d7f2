"""Quality of service per zone and day (grid/quality.py): voltage bands counted in bus-minutes
from the power flows, interruptions as runs of intervals with customers cut off."""

from __future__ import annotations

import numpy as np
import pytest

from gridledger.grid.network import GridNetwork
from gridledger.grid.quality import QualityTally, ServiceQuality
from gridledger.grid.zones import grid_zones

GRID = "1-LV-rural1--0-sw"


@pytest.fixture(scope="module")
def network() -> GridNetwork:
    # The upstream grid at 1.06 pu: every bus of the feeders above +5 %, none above +10 %.
    return GridNetwork(GRID, upstream_vm_pu=1.06)


def test_voltage_outside_each_band_counts_fifteen_bus_minutes_an_interval(network: GridNetwork) -> None:
    zones = grid_zones(network)
    tally = QualityTally(zones, np.ones(network.bus_count, dtype=np.int64))
    flow = network.power_flow(np.full(network.bus_count, 0.001), np.zeros(network.bus_count))
    for _ in range(3):
        tally.add_interval(flow, ())
    by_zone = {r.zone_id: r.quality for r in tally.day(0)}
    for zone in zones:
        buses = sorted(zone.bus_positions)
        above_5 = int((np.abs(flow.vm_pu[buses] - 1) > 0.05).sum())
        above_10 = int((np.abs(flow.vm_pu[buses] - 1) > 0.10).sum())
        assert by_zone[zone.zone_id] == ServiceQuality(3 * 15 * above_5, 3 * 15 * above_10)
    assert sum(q.bus_minutes_outside_5_percent for q in by_zone.values()) > 0


def test_each_bus_outside_a_band_is_listed_with_the_minutes_it_adds_to_its_zone(
    network: GridNetwork,
) -> None:
    zones = grid_zones(network)
    tally = QualityTally(zones, np.ones(network.bus_count, dtype=np.int64))
    flow = network.power_flow(np.full(network.bus_count, 0.001), np.zeros(network.bus_count))
    feeder = next(z for z in zones if len(z.bus_positions) >= 2)
    cut_off = min(feeder.bus_positions)
    listed = tally.add_interval(flow, (cut_off,))
    outside_5 = {b for b in range(network.bus_count) if abs(flow.vm_pu[b] - 1) > 0.05}
    assert {b.bus_position for b in listed} == outside_5 | {cut_off}
    for bus in listed:
        assert bus.vm_pu == flow.vm_pu[bus.bus_position]
        assert bus.minutes_unsupplied == (15 if bus.bus_position == cut_off else 0)
        assert bus.zone_id == next(z.zone_id for z in zones if bus.bus_position in z.bus_positions)
    # The zones' day is the sum of what its buses add.
    for report in tally.day(0):
        own = [b for b in listed if b.zone_id == report.zone_id]
        assert report.quality.bus_minutes_outside_5_percent == sum(b.minutes_outside_5_percent for b in own)
        assert report.quality.bus_minutes_outside_10_percent == sum(b.minutes_outside_10_percent for b in own)


def test_each_run_of_cut_off_intervals_is_one_interruption(network: GridNetwork) -> None:
    zones = grid_zones(network)
    feeder = next(z for z in zones if len(z.bus_positions) >= 2)
    bus = min(feeder.bus_positions)
    customers = np.zeros(network.bus_count, dtype=np.int64)
    customers[bus] = 4
    tally = QualityTally(zones, customers)
    flow = network.power_flow(np.zeros(network.bus_count), np.zeros(network.bus_count))
    for cut_off in [(), (bus,), (bus,), (), (bus,)]:
        tally.add_interval(flow, cut_off)
    by_zone = {r.zone_id: r.quality for r in tally.day(86_400)}
    quality = by_zone[feeder.zone_id]
    assert (quality.interruptions, quality.interruption_minutes, quality.customer_minutes_interrupted) == (
        2,
        45,
        4 * 45,
    )
    assert all(q.interruptions == 0 for z, q in by_zone.items() if z != feeder.zone_id)
    # A new day starts from nothing.
    tally.reset()
    assert all(r.quality == ServiceQuality() for r in tally.day(2 * 86_400))


def test_a_bus_without_customers_cut_off_is_no_interruption(network: GridNetwork) -> None:
    zones = grid_zones(network)
    tally = QualityTally(zones, np.zeros(network.bus_count, dtype=np.int64))
    flow = network.power_flow(np.zeros(network.bus_count), np.zeros(network.bus_count))
    tally.add_interval(flow, frozenset(range(network.bus_count)))
    assert all(r.quality.interruptions == 0 for r in tally.day(0))
