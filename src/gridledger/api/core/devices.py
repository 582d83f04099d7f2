"""Meters: registration, status history and readings, from the registry's events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, literal, null, select, union_all

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


def _latest(connection: Connection, contract_event: tuple[str, str], device_id: int) -> dict[str, Any] | None:
    table = event_table(*contract_event)
    row = (
        connection.execute(
            select(table)
            .where(table.c.device_id == device_id)
            .order_by(table.c.block_number.desc(), table.c.log_index.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def _current(connection: Connection, registered: dict[str, Any]) -> dict[str, Any]:
    """A registered device with its current owner and status (registration makes it Active)."""
    device_id = as_int(registered["device_id"])
    owner_change = _latest(connection, ("registry", "DeviceOwnerChanged"), device_id)
    status_change = _latest(connection, ("registry", "DeviceStatusChanged"), device_id)
    return {
        **_registered(registered),
        "owner": registered["owner"] if owner_change is None else owner_change["to"],
        "status": enum_name(DEVICE_STATUSES, 1 if status_change is None else int(status_change["to"])),
    }


def list_devices(connection: Connection, page: PageRequest, owner: str | None = None) -> Page:
    table = event_table("registry", "DeviceRegistered")
    rows, cursor = keyset_page(connection, select(table), [table.c.device_id], page)
    items = [_current(connection, r) for r in rows]
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
    out = []
    for device_id in sorted(candidates):
        row = connection.execute(select(table).where(table.c.device_id == device_id)).mappings().first()
        if row is not None:
            current = _current(connection, dict(row))
            if current["owner"] == owner:
                out.append(current)
    return out


def _registration(connection: Connection, device_id: int) -> dict[str, Any]:
    table = event_table("registry", "DeviceRegistered")
    row = connection.execute(select(table).where(table.c.device_id == device_id)).mappings().first()
    if row is None:
        raise ApiError(404, "unknown-device", "Unknown device", f"no device {device_id} is registered")
    return dict(row)


def device(connection: Connection, device_id: int) -> dict[str, Any]:
    """One device: registration, current owner and status, its history and latest readings."""
    registered = _registration(connection, device_id)
    history: list[dict[str, Any]] = []
    for event, shape in (
        (
            "DeviceStatusChanged",
            lambda r: {
                "from": enum_name(DEVICE_STATUSES, int(r["from"])),
                "to": enum_name(DEVICE_STATUSES, int(r["to"])),
            },
        ),
        (
            "DeviceQuarantined",
            lambda r: {
                "sequence": as_int(r["sequence"]),
                "reason": enum_name(REJECT_REASONS, int(r["reason"])),
            },
        ),
        ("DeviceOwnerChanged", lambda r: {"from": r["from"], "to": r["to"]}),
        ("DeviceKeyRotated", lambda r: {"old_key": r["old_key"], "new_key": r["new_key"]}),
        ("DeviceFirmwareUpdated", lambda r: {"from_hash": r["from_hash"], "to_hash": r["to_hash"]}),
        ("DeviceRatedPowerChanged", lambda r: {"from_w": as_int(r["from_w"]), "to_w": as_int(r["to_w"])}),
        (
            "QuarantineReset",
            lambda r: {"import_wh": as_int(r["import_wh"]), "export_wh": as_int(r["export_wh"])},
        ),
    ):
        table = event_table("registry", event)
        for row in connection.execute(select(table).where(table.c.device_id == device_id)).mappings():
            history.append({"event": event, **row_meta(dict(row)), **shape(row)})
    history.sort(key=lambda h: (h["block_number"], h["log_index"]))
    latest = _readings_query(device_id, None)
    recent = connection.execute(
        latest.order_by(
            latest.selected_columns.block_number.desc(), latest.selected_columns.log_index.desc()
        ).limit(LAST_READINGS)
    ).mappings()
    return {
        **_current(connection, registered),
        "history": history,
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
            table.c.block_number,
            table.c.log_index,
            table.c.tx_hash,
            table.c.block_time,
            table.c.confirmed,
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
