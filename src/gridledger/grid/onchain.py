"""Registering the grid in GridManagement: zones (feeders, transformer areas) and nodes
(connection points), as the grid operator does before anyone trades at them."""

from __future__ import annotations

from enum import IntEnum

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain, System


class NodeType(IntEnum):
    """IGridManagement.NodeType."""

    PRODUCER = 0
    CONSUMER = 1
    PROSUMER = 2
    STORAGE = 3
    TRANSFORMER = 4


class ZoneState(IntEnum):
    """IGridManagement.ZoneState."""

    NORMAL = 0
    PEAK = 1
    EMERGENCY = 2


# A household's low-voltage service connection: 3 phases x 63 A x 230 V (the usual main fuse of
# a German house connection, DIN 18015-1). A connection for more (a farm, a large PV plant) is
# sized to what is connected there.
HOUSEHOLD_CONNECTION_W = 3 * 63 * 230


def connection_capacity_w(connected_rated_w: int) -> int:
    """The connection capacity (W) the grid operator records for a node whose devices are rated
    `connected_rated_w` together: a household connection, or larger if they need it."""
    return max(HOUSEHOLD_CONNECTION_W, connected_rated_w)


class GridRegistrar:
    """The grid operator's hand on GridManagement."""

    def __init__(self, chain: Chain, system: System, grid_operator: str) -> None:
        self._chain = chain
        self._grid = system.grid
        self._operator = grid_operator
        self._abi = load_artifact("GridManagement")

    def create_zone(self, zone_id: int, parent_zone_id: int, capacity_wh: int) -> None:
        self._chain.transact(
            self._operator, self._abi, self._grid, "createZone", zone_id, parent_zone_id, capacity_wh
        )

    def set_zone_capacity(self, zone_id: int, capacity_wh: int) -> None:
        """Change the energy per interval a zone carries."""
        self._chain.transact(self._operator, self._abi, self._grid, "setZoneCapacity", zone_id, capacity_wh)

    def register_node(self, account: str, node_type: NodeType, zone_id: int, meter_device_id: int = 0) -> int:
        """Register `account` as a node of `zone_id` linked to its meter; returns the node id."""
        self._chain.transact(self._operator, self._abi, self._grid, "registerNode", account, int(node_type))
        node_id = int(self._chain.call(self._abi, self._grid, "nodeIdOf", account)[0])
        self.assign_node(node_id, zone_id, meter_device_id)
        return node_id

    def set_connection_capacity(self, node_id: int, capacity_w: int) -> None:
        """Record the node's connection capacity, which bounds its meters' rated power."""
        self._chain.transact(
            self._operator, self._abi, self._grid, "setConnectionCapacity", node_id, capacity_w
        )

    def assign_node(self, node_id: int, zone_id: int, meter_device_id: int) -> None:
        """Put a node in a zone and link it to its smart meter (0: none yet)."""
        self._chain.transact(
            self._operator, self._abi, self._grid, "assignNode", node_id, zone_id, meter_device_id
        )
