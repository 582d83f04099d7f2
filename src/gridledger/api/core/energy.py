"""Energy lots minted to a holder, and the energy that left holders by burn or expiry."""

from __future__ import annotations

from sqlalchemy import Connection, literal, null, select, union_all

from gridledger.api.core.common import (
    BURN_CAUSES,
    Page,
    PageRequest,
    chain_key,
    enum_name,
    event_table,
    keyset_page,
    row_meta,
)
from gridledger.indexer.schema import as_int

ROW = ("block_number", "log_index", "tx_hash", "block_time", "confirmed")


def lots(connection: Connection, holder: str, page: PageRequest) -> Page:
    """EnergyMinted to `holder` as generator: one lot per reading that minted, split into the
    part counted in the previous epoch and the current one."""
    minted = event_table("token", "EnergyMinted")
    query = select(minted).where(minted.c.generator == holder)
    rows, cursor = keyset_page(connection, query, chain_key(minted), page)
    items = [
        {
            "lot_id": str(as_int(r["lot_id"])),
            "generator": r["generator"],
            "interval_start": as_int(r["interval_start"]),
            "previous_epoch_wh": as_int(r["previous_epoch_wh"]),
            "current_epoch_wh": as_int(r["current_epoch_wh"]),
            "energy_wh": as_int(r["previous_epoch_wh"]) + as_int(r["current_epoch_wh"]),
            **row_meta(r),
        }
        for r in rows
    ]
    return Page(items, cursor)


def burns(connection: Connection, holder: str, page: PageRequest) -> Page:
    """EnergyBurned (by the holder, or by its meter's consumption) and EnergyExpired of
    `holder`, in chain order."""
    burned = event_table("token", "EnergyBurned")
    expired = event_table("token", "EnergyExpired")
    union = select(
        union_all(
            select(
                *(burned.c[name] for name in ROW),
                burned.c.energy_wh,
                literal("burned").label("kind"),
                burned.c.cause,
                null().label("epoch"),
            ).where(burned.c.holder == holder),
            select(
                *(expired.c[name] for name in ROW),
                expired.c.energy_wh,
                literal("expired").label("kind"),
                null().label("cause"),
                expired.c.epoch,
            ).where(expired.c.holder == holder),
        ).subquery()
    )
    columns = [union.selected_columns.block_number, union.selected_columns.log_index]
    rows, cursor = keyset_page(
        connection, union, columns, page, key_of=lambda r: (r["block_number"], r["log_index"])
    )
    items = [
        {
            "kind": r["kind"],
            "energy_wh": as_int(r["energy_wh"]),
            "cause": None if r["cause"] is None else enum_name(BURN_CAUSES, int(r["cause"])),
            "epoch": None if r["epoch"] is None else as_int(r["epoch"]),
            **row_meta(r),
        }
        for r in rows
    ]
    return Page(items, cursor)
