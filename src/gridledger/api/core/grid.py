"""The grid's zones as GridManagement's events describe them: each zone now, and its changes
and reported losses page by page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Connection, String, cast, func, literal, null, select, union_all

from gridledger.api.core.common import (
    ZONE_STATES,
    Page,
    PageRequest,
    TimeRange,
    enum_name,
    event_table,
    keyset_page,
    latest_rows,
    meta_columns,
    row_meta,
)
from gridledger.errors import ApiError
from gridledger.indexer.schema import as_int


def zones(connection: Connection, page: PageRequest) -> Page:
    """Zones by id, each with its parent, current capacity and state (a zone starts Normal;
    ZoneCapacitySet replaces the capacity it was created with) and its reported losses' total."""
    created = event_table("grid", "ZoneCreated")
    rows, cursor = keyset_page(connection, select(created), [created.c.zone_id], page)
    zone_ids = [int(r["zone_id"]) for r in rows]
    capacity_set = event_table("grid", "ZoneCapacitySet")
    state_changed = event_table("grid", "ZoneStateChanged")
    losses = event_table("grid", "LossesReported")
    capacities = latest_rows(connection, capacity_set, capacity_set.c.zone_id, zone_ids)
    states = latest_rows(connection, state_changed, state_changed.c.zone_id, zone_ids)
    reported = {
        int(zone_id): (int(count), as_int(total))
        for zone_id, count, total in connection.execute(
            select(losses.c.zone_id, func.count(), func.coalesce(func.sum(losses.c.losses_wh), 0))
            .where(losses.c.zone_id.in_(zone_ids))
            .group_by(losses.c.zone_id)
        ).all()
    }
    items = []
    for row in rows:
        zone_id = int(row["zone_id"])
        capacity, state = capacities.get(zone_id, row), states.get(zone_id)
        count, total = reported.get(zone_id, (0, 0))
        items.append(
            {
                "zone_id": zone_id,
                "parent_zone_id": int(row["parent_zone_id"]),
                "capacity_wh": as_int(capacity["capacity_wh"]),
                "state": ZONE_STATES[0] if state is None else enum_name(ZONE_STATES, int(state["to"])),
                "created_at": row_meta(row),
                "losses_reported": count,
                "losses_wh_total": total,
            }
        )
    return Page(items, cursor)


def _zone(connection: Connection, zone_id: int) -> None:
    """404 for a zone never created."""
    created = event_table("grid", "ZoneCreated")
    if connection.execute(select(created.c.zone_id).where(created.c.zone_id == zone_id)).first() is None:
        raise ApiError(404, "unknown-zone", "Unknown zone", f"no zone {zone_id} was created")


def zone_history(connection: Connection, zone_id: int, page: PageRequest) -> Page:
    """A zone's state and capacity changes in chain order; 404 for a zone never created."""
    _zone(connection, zone_id)
    states, capacities = event_table("grid", "ZoneStateChanged"), event_table("grid", "ZoneCapacitySet")

    def part(table: Any, change: str, first: Any, second: Any) -> Any:
        return select(
            *meta_columns(table),
            literal(change).label("change"),
            first.label("from_state"),
            second.label("to_state"),
            (null() if change == "state" else cast(table.c.capacity_wh, String)).label("capacity_wh"),
        ).where(table.c.zone_id == zone_id)

    query = select(
        union_all(
            part(states, "state", states.c["from"], states.c.to),
            part(capacities, "capacity", cast(null(), BigInteger), cast(null(), BigInteger)),
        ).subquery()
    )
    columns = [query.selected_columns.block_number, query.selected_columns.log_index]
    rows, cursor = keyset_page(
        connection, query, columns, page, key_of=lambda r: (r["block_number"], r["log_index"])
    )
    items = [
        {"change": "state", **row_meta(r), "from": enum_name(ZONE_STATES, int(r["from_state"])),
         "to": enum_name(ZONE_STATES, int(r["to_state"]))}
        if r["change"] == "state"
        else {"change": "capacity", **row_meta(r), "capacity_wh": int(r["capacity_wh"])}
        for r in rows
    ]  # fmt: skip
    return Page(items, cursor)


def zone_losses(connection: Connection, zone_id: int, span: TimeRange, page: PageRequest) -> Page:
    """The losses the grid operator reported for a zone, for intervals starting in `span`, by
    interval; 404 for a zone never created."""
    _zone(connection, zone_id)
    losses = event_table("grid", "LossesReported")
    query = select(losses).where(
        losses.c.zone_id == zone_id,
        losses.c.interval_start >= span.start,
        losses.c.interval_start < span.end,
    )
    rows, cursor = keyset_page(
        connection, query, [losses.c.interval_start, losses.c.block_number, losses.c.log_index], page
    )
    items = [
        {"interval_start": as_int(r["interval_start"]), "losses_wh": as_int(r["losses_wh"]), **row_meta(r)}
        for r in rows
    ]
    return Page(items, cursor)


QUALITY_FIELDS = (
    "bus_minutes_outside5_percent",
    "bus_minutes_outside10_percent",
    "interruptions",
    "interruption_minutes",
    "customer_minutes_interrupted",
)


def zone_quality(connection: Connection, zone_id: int, span: TimeRange, page: PageRequest) -> Page:
    """The quality of service the grid operator reported for a zone, for days starting in
    `span`, by day; a later report of a day corrects the earlier (both are listed, in chain
    order). 404 for a zone never created."""
    _zone(connection, zone_id)
    quality = event_table("grid", "ServiceQualityReported")
    query = select(quality).where(
        quality.c.zone_id == zone_id, quality.c.day_start >= span.start, quality.c.day_start < span.end
    )
    rows, cursor = keyset_page(
        connection, query, [quality.c.day_start, quality.c.block_number, quality.c.log_index], page
    )
    items = [
        {"day_start": as_int(r["day_start"]), **{f: as_int(r[f]) for f in QUALITY_FIELDS}, **row_meta(r)}
        for r in rows
    ]
    return Page(items, cursor)
