"""Branch outages: a line or transformer out of service for some intervals of a day, which
buses that leaves without supply, and which zones it touches.

An outage is written `line:N@K+D` or `trafo:N@K+D`: the line (transformer) at position N of the
grid's table is out of service from interval K (0-based) for D intervals. While it is out, the
buses it cut off from the upstream grid are unsupplied (pandapower's topology search, switches
respected): their households have no power, so they neither consume nor export. A zone holding
the branch or an unsupplied bus is faulted: the grid operator declares an emergency there when
the outage begins, the zone does not trade during it, and it returns to normal through the
governance multisig once the branch is back and the zone keeps its limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gridledger.errors import ScenarioError
from gridledger.grid.network import GridNetwork
from gridledger.grid.zones import GridZone

_OUTAGE = re.compile(r"(line|trafo):(\d+)@(\d+)\+(\d+)")


@dataclass(frozen=True)
class BranchOutage:
    """Branch `position` of table `kind` is out of service for intervals first..first+intervals-1."""

    kind: str
    position: int
    first_interval: int
    intervals: int

    @classmethod
    def parse(cls, text: str) -> BranchOutage:
        """`line:N@K+D` or `trafo:N@K+D`; ScenarioError for anything else."""
        matched = _OUTAGE.fullmatch(text.strip())
        if matched is None:
            raise ScenarioError(f"--branch-outage {text!r} is not line:N@K+D or trafo:N@K+D")
        kind, position, first, count = matched.groups()
        if int(count) < 1:
            raise ScenarioError(f"--branch-outage {text!r}: it must last at least one interval")
        return cls(kind, int(position), int(first), int(count))

    def covers(self, k: int) -> bool:
        return self.first_interval <= k < self.first_interval + self.intervals

    def __str__(self) -> str:
        return f"{self.kind}:{self.position}@{self.first_interval}+{self.intervals}"


def check_outages(outages: Sequence[BranchOutage], network: GridNetwork, intervals: int) -> None:
    """ScenarioError for an outage of a branch the grid does not have, or beyond the run."""
    sizes = {"line": len(network.net.line), "trafo": len(network.net.trafo)}
    for outage in outages:
        if outage.position >= sizes[outage.kind]:
            raise ScenarioError(
                f"--branch-outage {outage}: grid {network.code} has {sizes[outage.kind]} {outage.kind}s "
                f"(positions 0 to {sizes[outage.kind] - 1})"
            )
        if outage.first_interval >= intervals:
            raise ScenarioError(
                f"--branch-outage {outage}: the run has {intervals} intervals (0 to {intervals - 1})"
            )


@dataclass(frozen=True)
class OutageState:
    """The branches out of service in one interval, the buses left unsupplied and the zones
    faulted (holding an outaged branch or an unsupplied bus)."""

    lines: frozenset[int]
    trafos: frozenset[int]
    unsupplied_buses: frozenset[int]  # bus positions
    faulted_zones: frozenset[int]


NO_OUTAGE = OutageState(frozenset(), frozenset(), frozenset(), frozenset())


def outage_states(
    network: GridNetwork, zones: Sequence[GridZone], outages: Sequence[BranchOutage], intervals: int
) -> dict[int, OutageState]:
    """The outage state of every interval 0..intervals-1 that has one; `network` is left with
    every branch as shipped."""
    states: dict[int, OutageState] = {}
    of_active: dict[frozenset[BranchOutage], OutageState] = {}
    for k in range(intervals):
        active = frozenset(o for o in outages if o.covers(k))
        if active:
            if active not in of_active:
                of_active[active] = _state_of(network, zones, active)
            states[k] = of_active[active]
    network.set_out_of_service()
    return states


def _state_of(network: GridNetwork, zones: Iterable[GridZone], active: Iterable[BranchOutage]) -> OutageState:
    lines = frozenset(o.position for o in active if o.kind == "line")
    trafos = frozenset(o.position for o in active if o.kind == "trafo")
    network.set_out_of_service(lines, trafos)
    unsupplied = network.unsupplied_bus_positions()
    faulted = frozenset(
        zone.zone_id
        for zone in zones
        if zone.lines & lines or zone.trafos & trafos or zone.bus_positions & unsupplied
    )
    return OutageState(lines, trafos, unsupplied, faulted)
