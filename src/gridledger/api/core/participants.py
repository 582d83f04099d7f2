"""Participants: who the regulator verified, and one participant's position across contracts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from gridledger.api.core import devices, market
from gridledger.api.core.carbon import holdings
from gridledger.api.core.common import Page, PageRequest, event_table, keyset_page, row_meta
from gridledger.errors import ApiError
from gridledger.indexer.schema import as_int, market_fills


def _latest_participant_sets() -> Any:
    """Each participant's newest ParticipantSet (a window over the chain order)."""
    table = event_table("token", "ParticipantSet")
    ranked = select(
        table,
        func.row_number()
        .over(
            partition_by=table.c.participant,
            order_by=(table.c.block_number.desc(), table.c.log_index.desc()),
        )
        .label("rank"),
    ).subquery()
    return ranked


def _participant(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": row["participant"],
        "verified": bool(row["verified"]),
        "jurisdiction": int(row["jurisdiction"]),
        "set_at": row_meta(row),
    }


def list_participants(connection: Connection, page: PageRequest) -> Page:
    ranked = _latest_participant_sets()
    query = select(ranked).where(ranked.c.rank == 1)
    rows, cursor = keyset_page(connection, query, [ranked.c.participant], page)
    return Page([_participant(r) for r in rows], cursor)


def energy_balance(connection: Connection, holder: str) -> int:
    """Energy tokens held (Wh): every Transfer in, less every Transfer out (mints come from and
    burns and expiries go to the zero address)."""
    transfer = event_table("token", "Transfer")
    received = connection.execute(
        select(func.coalesce(func.sum(transfer.c.value), 0)).where(transfer.c.to == holder)
    ).scalar()
    sent = connection.execute(
        select(func.coalesce(func.sum(transfer.c.value), 0)).where(transfer.c["from"] == holder)
    ).scalar()
    return as_int(received or 0) - as_int(sent or 0)


def summary(connection: Connection, holder: str) -> dict[str, Any]:
    """One participant's position; 404 if the index never saw the address as a participant,
    trader or device owner."""
    ranked = _latest_participant_sets()
    row = (
        connection.execute(select(ranked).where(ranked.c.rank == 1, ranked.c.participant == holder))
        .mappings()
        .first()
    )
    owned = devices.owned_by(connection, holder)
    traded = connection.execute(
        select(func.count()).select_from(market_fills).where(market_fills.c.trader == holder)
    ).scalar_one()
    balance = energy_balance(connection, holder)
    if row is None and not owned and traded == 0 and balance == 0:
        raise ApiError(
            404, "unknown-participant", "Unknown participant", f"the index has no participant {holder}"
        )
    return {
        "address": holder,
        "verified": None if row is None else bool(row["verified"]),
        "jurisdiction": None if row is None else int(row["jurisdiction"]),
        "energy_balance_wh": balance,
        **market.escrow(connection, holder),
        "trade_count": int(traded),
        "devices": owned,
        "carbon": holdings(connection, holder),
    }


def participant_trades(connection: Connection, trader: str, page: PageRequest) -> Page:
    """The trader's fills, newest first (what a participant's page shows first)."""
    query = select(market_fills).where(market_fills.c.trader == trader)
    key = [market_fills.c.block_number, market_fills.c.log_index, market_fills.c.fill_index]
    rows, cursor = keyset_page(connection, query, key, page, newest_first=True)
    return Page(market.trades(rows), cursor)
