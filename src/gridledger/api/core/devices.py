"""Meters: registration, status history and readings, from the registry's events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, String, cast, literal, null, select, union_all

from gridledger.api.core.common import (
    DEVICE_KINDS,
    DEVICE_STATUSES,
    ENERGY_SOURCES,
    REJECT_REASONS,
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

LAST_READINGS = 10


def _registered(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "device_id": str(as_int(row["device_id"])),
        "device": row["device"],
        "registered_owner": row["owner"],
        "grid_node_id": as_int(row["grid_node_id"]),
        "kind": enum_name(DEVICE_KINDS, int(row["kind"])),
        "source": enum_name(ENERGY_SOURCES, int(row["source"])),
        "rated_power_w": int(row["rated_power_w"]),
        "firmware_hash": row["firmware_hash"],
        "registered_at": row_meta(row),
    }


def _current(connection: Connection, registrations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Registered devices with their current owner and status (registration makes a device
    Active): two queries for the whole list, not two for each device."""
    device_ids = [as_int(r["device_id"]) for r in registrations]
    owner_changed, status_changed = (
        event_table("registry", "DeviceOwnerChanged"),
        event_table("registry", "DeviceStatusChanged"),
    )
    owner_changes = latest_rows(connection, owner_changed, owner_changed.c.device_id, device_ids)
    status_changes = latest_rows(connection, status_changed, status_changed.c.device_id, device_ids)
    out = []
    for registered, device_id in zip(registrations, device_ids, strict=True):
        owner_change, status_change = owner_changes.get(device_id), status_changes.get(device_id)
        out.append(
            {
                **_registered(registered),
                "owner": registered["owner"] if owner_change is None else owner_change["to"],
                "status": enum_name(
                    DEVICE_STATUSES, 1 if status_change is None else int(status_change["to"])
                ),
            }
        )
    return out


def list_devices(connection: Connection, page: PageRequest, owner: str | None = None) -> Page:
    table = event_table("registry", "DeviceRegistered")
    rows, cursor = keyset_page(connection, select(table), [table.c.device_id], page)
    items = _current(connection, [dict(r) for r in rows])
    if owner is not None:
        items = [d for d in items if d["owner"] == owner]
    return Page(items, cursor)


def owned_by(connection: Connection, owner: str) -> list[dict[str, Any]]:
    """The devices `owner` holds now: registered to it and not passed on, or passed to it."""
    table = event_table("registry", "DeviceRegistered")
    changed = event_table("registry", "DeviceOwnerChanged")
    candidates = {
        as_int(v)
        for v in connection.execute(select(table.c.device_id).where(table.c.owner == owner)).scalars()
    } | {
        as_int(v)
        for v in connection.execute(select(changed.c.device_id).where(changed.c.to == owner)).scalars()
    }
    registrations = [
        dict(r)
        for r in connection.execute(
            select(table).where(table.c.device_id.in_(sorted(candidates))).order_by(table.c.device_id)
        ).mappings()
    ]
    return [d for d in _current(connection, registrations) if d["owner"] == owner]


def _registration(connection: Connection, device_id: int) -> dict[str, Any]:
    table = event_table("registry", "DeviceRegistered")
    row = connection.execute(select(table).where(table.c.device_id == device_id)).mappings().first()
    if row is None:
        raise ApiError(404, "unknown-device", "Unknown device", f"no device {device_id} is registered")
    return dict(row)


# A device's history: each event with the two arguments it is told by, and how they read (the
# union carries both as text: numbers come back as their decimal digits).
_HISTORY: tuple[tuple[str, tuple[str, str], Callable[[str, str], dict[str, Any]]], ...] = (
    (
        "DeviceStatusChanged",
        ("from", "to"),
        lambda a, b: {"from": enum_name(DEVICE_STATUSES, int(a)), "to": enum_name(DEVICE_STATUSES, int(b))},
    ),
    (
        "DeviceQuarantined",
        ("sequence", "reason"),
        lambda a, b: {"sequence": int(a), "reason": enum_name(REJECT_REASONS, int(b))},
    ),
    ("DeviceOwnerChanged", ("from", "to"), lambda a, b: {"from": a, "to": b}),
    ("DeviceKeyRotated", ("old_key", "new_key"), lambda a, b: {"old_key": a, "new_key": b}),
    ("DeviceFirmwareUpdated", ("from_hash", "to_hash"), lambda a, b: {"from_hash": a, "to_hash": b}),
    ("DeviceRatedPowerChanged", ("from_w", "to_w"), lambda a, b: {"from_w": int(a), "to_w": int(b)}),
    (
        "QuarantineReset",
        ("import_wh", "export_wh"),
        lambda a, b: {"import_wh": int(a), "export_wh": int(b)},
    ),
)
_SHAPE_OF = {event: shape for event, _, shape in _HISTORY}
RECENT_HISTORY = 20


def _history_query(device_id: int) -> Any:
    """Every change of a device as one relation (event name and its two arguments as text)."""
    parts = []
    for event, (first, second), _ in _HISTORY:
        table = event_table("registry", event)
        parts.append(
            select(
                *meta_columns(table),
                literal(event).label("event"),
                cast(table.c[first], String).label("first"),
                cast(table.c[second], String).label("second"),
            ).where(table.c.device_id == device_id)
        )
    return select(union_all(*parts).subquery())


def _change(row: dict[str, Any]) -> dict[str, Any]:
    return {"event": row["event"], **row_meta(row), **_SHAPE_OF[row["event"]](row["first"], row["second"])}


def history(connection: Connection, device_id: int, page: PageRequest) -> Page:
    """A device's changes in chain order: status, quarantines, owner, key, firmware, rated power,
    quarantine resets; 404 for a device never registered."""
    _registration(connection, device_id)
    query = _history_query(device_id)
    columns = [query.selected_columns.block_number, query.selected_columns.log_index]
    rows, cursor = keyset_page(
        connection, query, columns, page, key_of=lambda r: (r["block_number"], r["log_index"])
    )
    return Page([_change(r) for r in rows], cursor)


def device(connection: Connection, device_id: int) -> dict[str, Any]:
    """One device: registration, current owner and status, its latest changes (all of them
    page by page at /history) and its latest readings."""
    registered = _registration(connection, device_id)
    changes = _history_query(device_id)
    recent_changes = connection.execute(
        changes.order_by(
            changes.selected_columns.block_number.desc(), changes.selected_columns.log_index.desc()
        ).limit(RECENT_HISTORY)
    ).mappings()
    latest = _readings_query(device_id, None)
    recent = connection.execute(
        latest.order_by(
            latest.selected_columns.block_number.desc(), latest.selected_columns.log_index.desc()
        ).limit(LAST_READINGS)
    ).mappings()
    return {
        **_current(connection, [registered])[0],
        "history": [_change(dict(r)) for r in reversed(list(recent_changes))],
        "last_readings": [_reading(dict(r)) for r in recent],
    }


def _readings_query(device_id: int, span: TimeRange | None) -> Any:
    """Accepted and rejected readings of a device as one relation, in chain order."""
    accepted = event_table("registry", "ReadingAccepted")
    rejected = event_table("registry", "ReadingRejected")
    parts = []
    for table, outcome in ((accepted, "accepted"), (rejected, "rejected")):
        is_accepted = outcome == "accepted"
        query = select(
            *meta_columns(table),
            table.c.sequence,
            literal(outcome).label("outcome"),
            (table.c.interval_start if is_accepted else null()).label("interval_start"),
            (table.c.import_wh if is_accepted else null()).label("import_wh"),
            (table.c.export_wh if is_accepted else null()).label("export_wh"),
            (table.c.minted_wh if is_accepted else null()).label("minted_wh"),
            (table.c.consumed_wh if is_accepted else null()).label("consumed_wh"),
            (table.c.flags if is_accepted else null()).label("flags"),
            (null() if is_accepted else table.c.reason).label("reason"),
        ).where(table.c.device_id == device_id)
        if span is not None:
            query = query.where(table.c.block_time >= span.start, table.c.block_time < span.end)
        parts.append(query)
    return select(union_all(*parts).subquery())


def _reading(row: dict[str, Any]) -> dict[str, Any]:
    def number(name: str) -> int | None:
        return None if row[name] is None else as_int(row[name])

    return {
        **row_meta(row),
        "sequence": as_int(row["sequence"]),
        "outcome": row["outcome"],
        "interval_start": number("interval_start"),
        "import_wh": number("import_wh"),
        "export_wh": number("export_wh"),
        "minted_wh": number("minted_wh"),
        "consumed_wh": number("consumed_wh"),
        "flags": number("flags"),
        "reason": None if row["reason"] is None else enum_name(REJECT_REASONS, int(row["reason"])),
    }


def readings(connection: Connection, device_id: int, span: TimeRange, page: PageRequest) -> Page:
    """A device's readings, accepted and rejected (with the reason), whose block time is in
    `span`; 404 for a device never registered."""
    _registration(connection, device_id)
    query = _readings_query(device_id, span)
    columns = [query.selected_columns.block_number, query.selected_columns.log_index]
    rows, cursor = keyset_page(
        connection, query, columns, page, key_of=lambda r: (r["block_number"], r["log_index"])
    )
    return Page([_reading(r) for r in rows], cursor)
