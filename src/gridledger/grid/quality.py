"""Quality of service per zone and UTC day, as GridManagement records it
(`reportServiceQuality`): voltage quality and supply interruptions.

- Voltage quality: each interval a bus's voltage (from the power flow of the interval's real
  state) is outside ±5 % or ±10 % of nominal counts 15 bus-minutes in that band, in the bus's
  zone. ±10 % is EN 50160's limit; ±5 % shows how close a feeder runs to it. A bus without
  supply has no voltage and counts as interrupted instead.
- Interruptions: an interval in which a zone has unsupplied connection points (a branch outage
  cut them off) is interrupted. Each run of interrupted intervals within the day is one
  interruption; its minutes count once per zone, and once per customer cut off
  (customer-minutes, the numerator of SAIDI).

Each interval also gives the buses that count, one by one (`BusIntervalQuality`): the
simulation's report lists them per bus and interval.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridledger.grid.network import PowerFlow
from gridledger.grid.zones import GridZone

INTERVAL_MINUTES = 15
QUALITY_BANDS_PU = (0.05, 0.10)


@dataclass(frozen=True)
class ServiceQuality:
    """One zone's quality of service over one day (GridManagement.ServiceQuality)."""

    bus_minutes_outside_5_percent: int = 0
    bus_minutes_outside_10_percent: int = 0
    interruptions: int = 0
    interruption_minutes: int = 0
    customer_minutes_interrupted: int = 0

    def as_call_argument(self) -> tuple[int, int, int, int, int]:
        """The struct as the contract's ABI takes it."""
        return (
            self.bus_minutes_outside_5_percent,
            self.bus_minutes_outside_10_percent,
            self.interruptions,
            self.interruption_minutes,
            self.customer_minutes_interrupted,
        )


@dataclass(frozen=True)
class BusIntervalQuality:
    """One bus in one interval outside ±5 % of nominal, or without supply: what it adds to its
    zone's day."""

    bus_position: int
    zone_id: int
    vm_pu: float  # NaN without supply
    minutes_outside_5_percent: int
    minutes_outside_10_percent: int
    minutes_unsupplied: int


# BusIntervalQuality rows of a run as one array (a year of a large grid is millions of them):
# the interval's start, the grid's bus id, then the record's fields without the bus position.
BUS_QUALITY_DTYPE = np.dtype(
    [
        ("interval_start", np.int64),
        ("bus", np.int64),
        ("zone_id", np.int64),
        ("vm_pu", np.float64),
        ("minutes_outside_5_percent", np.int16),
        ("minutes_outside_10_percent", np.int16),
        ("minutes_unsupplied", np.int16),
    ]
)


def bus_quality_rows(
    interval_start: int, bus_ids: npt.NDArray[np.int64], buses: Sequence[BusIntervalQuality]
) -> npt.NDArray[np.void]:
    """`buses` of one interval as BUS_QUALITY_DTYPE rows, each with its bus's id."""
    return np.array(
        [
            (
                interval_start,
                int(bus_ids[b.bus_position]),
                b.zone_id,
                b.vm_pu,
                b.minutes_outside_5_percent,
                b.minutes_outside_10_percent,
                b.minutes_unsupplied,
            )
            for b in buses
        ],
        dtype=BUS_QUALITY_DTYPE,
    )


@dataclass(frozen=True)
class ZoneDayQuality:
    zone_id: int
    day_start: int  # unix seconds of the UTC midnight
    quality: ServiceQuality


class QualityTally:
    """A day's service quality per zone, added interval by interval."""

    def __init__(self, zones: Sequence[GridZone], customers_per_bus: npt.NDArray[np.int64]) -> None:
        """`customers_per_bus[b]`: connection points at bus position b."""
        self._zones = tuple(zones)
        self._customers_per_bus = customers_per_bus
        self._counts: dict[int, list[int]] = {}
        self._interrupted_before: set[int] = set()
        self.reset()

    def reset(self) -> None:
        """Begin a new day."""
        self._counts = {zone.zone_id: [0, 0, 0, 0, 0] for zone in self._zones}
        self._interrupted_before = set()

    def add_interval(self, flow: PowerFlow, unsupplied_buses: Collection[int]) -> list[BusIntervalQuality]:
        """One interval: the power flow of its real state and the buses without supply; returns
        each bus of the zones outside ±5 % or without supply, as it counts."""
        deviation = np.abs(flow.vm_pu - 1.0)  # NaN where a bus has no supply: in no band
        outside = [deviation > band for band in QUALITY_BANDS_PU]
        interrupted_now: set[int] = set()
        buses_outside: list[BusIntervalQuality] = []
        for zone in self._zones:
            counts = self._counts[zone.zone_id]
            buses = sorted(zone.bus_positions)
            for position, beyond in enumerate(outside):
                counts[position] += int(beyond[buses].sum()) * INTERVAL_MINUTES
            buses_outside += [
                BusIntervalQuality(
                    bus,
                    zone.zone_id,
                    float(flow.vm_pu[bus]),
                    INTERVAL_MINUTES * int(outside[0][bus]),
                    INTERVAL_MINUTES * int(outside[1][bus]),
                    INTERVAL_MINUTES * int(bus in unsupplied_buses),
                )
                for bus in buses
                if outside[0][bus] or bus in unsupplied_buses
            ]
            cut_off = [b for b in buses if b in unsupplied_buses]
            customers = int(self._customers_per_bus[cut_off].sum()) if cut_off else 0
            if customers:
                interrupted_now.add(zone.zone_id)
                if zone.zone_id not in self._interrupted_before:
                    counts[2] += 1
                counts[3] += INTERVAL_MINUTES
                counts[4] += customers * INTERVAL_MINUTES
        self._interrupted_before = interrupted_now
        return buses_outside

    def day(self, day_start: int) -> list[ZoneDayQuality]:
        """Every zone's quality of service over the day so far."""
        return [
            ZoneDayQuality(zone.zone_id, day_start, ServiceQuality(*self._counts[zone.zone_id]))
            for zone in self._zones
        ]
