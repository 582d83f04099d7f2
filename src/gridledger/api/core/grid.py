"""The grid's zones as GridManagement's events describe them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from gridledger.api.core.common import ZONE_STATES, enum_name, event_table, row_meta
from gridledger.indexer.schema import as_int


def _rows(connection: Connection, event: str) -> list[dict[str, Any]]:
    table = event_table("grid", event)
    return [
        dict(r)
        for r in connection.execute(
            select(table).order_by(table.c.block_number, table.c.log_index)
        ).mappings()
    ]


def zones(connection: Connection) -> list[dict[str, Any]]:
    """Every zone with its parent, current capacity and state, state history and reported losses
    (a zone starts Normal; ZoneCapacitySet replaces the capacity it was created with)."""
    out: dict[int, dict[str, Any]] = {}
    for row in _rows(connection, "ZoneCreated"):
        zone_id = int(row["zone_id"])
        out[zone_id] = {
            "zone_id": zone_id,
            "parent_zone_id": int(row["parent_zone_id"]),
            "capacity_wh": as_int(row["capacity_wh"]),
            "created_at": row_meta(row),
            "state": ZONE_STATES[0],
            "state_history": [],
            "capacity_history": [],
            "losses": [],
            "losses_wh_total": 0,
        }
    for row in _rows(connection, "ZoneCapacitySet"):
        zone = out.get(int(row["zone_id"]))
        if zone is not None:
            zone["capacity_wh"] = as_int(row["capacity_wh"])
            zone["capacity_history"].append({"capacity_wh": as_int(row["capacity_wh"]), **row_meta(row)})
    for row in _rows(connection, "ZoneStateChanged"):
        zone = out.get(int(row["zone_id"]))
        if zone is not None:
            zone["state"] = enum_name(ZONE_STATES, int(row["to"]))
            zone["state_history"].append(
                {
                    "from": enum_name(ZONE_STATES, int(row["from"])),
                    "to": enum_name(ZONE_STATES, int(row["to"])),
                    **row_meta(row),
                }
            )
    for row in _rows(connection, "LossesReported"):
        zone = out.get(int(row["zone_id"]))
        if zone is not None:
            zone["losses"].append(
                {
                    "interval_start": as_int(row["interval_start"]),
                    "losses_wh": as_int(row["losses_wh"]),
                    **row_meta(row),
                }
            )
            zone["losses_wh_total"] += as_int(row["losses_wh"])
    return [out[k] for k in sorted(out)]
