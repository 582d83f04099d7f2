"""Zones of a grid as GridManagement knows them: the transformer area and its feeders.

Zone 1 is the transformer area: the transformers, their busbars and whatever lies upstream.
Every group of buses that hangs off a transformer's low-voltage busbar through one or more
lines is a feeder, zone 2 onwards (ordered by their first head line). A zone's capacity is the
energy its connection can carry in a 15-minute interval: the transformers' rating for zone 1,
the head lines' thermal limit for a feeder. Ratings limit current, so the power a connection
carries at its rating grows with voltage: the capacity is at the top of the voltage band, the
most any interval the grid keeps within its limits can move.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from gridledger.grid.network import VOLTAGE_BAND_PU, GridNetwork

TRANSFORMER_ZONE = 1
HOURS_PER_INTERVAL = 0.25


@dataclass(frozen=True)
class GridZone:
    zone_id: int
    parent_zone_id: int
    name: str
    capacity_wh: int
    bus_positions: frozenset[int]
    lines: frozenset[int]  # positions in the line table
    trafos: frozenset[int]


def grid_zones(network: GridNetwork) -> list[GridZone]:
    """The transformer area and its feeders, as zones with their buses, branches and capacities."""
    net = network.net
    busbars = {int(b) for b in net.trafo["lv_bus"]}
    graph = nx.Graph()
    graph.add_nodes_from(int(b) for b in network.bus_ids)
    line_of_edge: dict[frozenset[int], list[int]] = {}
    for position, (a, b) in enumerate(network.line_buses):
        if not bool(net.line["in_service"].iloc[position]):
            continue
        line_of_edge.setdefault(frozenset((int(a), int(b))), []).append(position)
        if int(a) not in busbars and int(b) not in busbars:
            graph.add_edge(int(a), int(b))
    head_lines = sorted(
        position
        for position, (a, b) in enumerate(network.line_buses)
        if (int(a) in busbars) != (int(b) in busbars) and bool(net.line["in_service"].iloc[position])
    )
    limits_mva = network.branch_limit_mva
    feeders: list[tuple[set[int], list[int]]] = []
    seen: set[int] = set()
    for head in head_lines:
        a, b = (int(x) for x in network.line_buses[head])
        start = b if a in busbars else a
        if start in seen:
            # A second head line into a feeder already found (a parallel cable): more capacity.
            next(heads for buses, heads in feeders if start in buses).append(head)
            continue
        component = set(nx.node_connected_component(graph, start))
        seen |= component
        feeders.append((component, [head]))

    in_feeders = set().union(*(buses for buses, _ in feeders)) if feeders else set()
    area_buses = {int(b) for b in network.bus_ids} - in_feeders
    trafo_mva = float(net.trafo["sn_mva"].sum())
    zones = [
        GridZone(
            TRANSFORMER_ZONE,
            0,
            "transformer area",
            _wh(trafo_mva),
            frozenset(network.position(b) for b in area_buses),
            frozenset(_lines_within(network, area_buses)),
            frozenset(range(len(net.trafo))),
        )
    ]
    for number, (buses, heads) in enumerate(feeders, start=1):
        capacity_mva = float(np.sum(limits_mva[heads]))
        zones.append(
            GridZone(
                TRANSFORMER_ZONE + number,
                TRANSFORMER_ZONE,
                f"feeder {number}",
                _wh(capacity_mva),
                frozenset(network.position(b) for b in buses),
                frozenset(_lines_within(network, buses) | set(heads)),
                frozenset(),
            )
        )
    return zones


def _lines_within(network: GridNetwork, buses: set[int]) -> set[int]:
    return {
        position for position, (a, b) in enumerate(network.line_buses) if int(a) in buses and int(b) in buses
    }


def _wh(mva: float) -> int:
    """Wh in an interval at rating `mva` (at nominal voltage), at the top of the voltage band."""
    return int(mva * (1 + VOLTAGE_BAND_PU) * 1e6 * HOURS_PER_INTERVAL)
