"""The audit feed: every log the indexer took, in chain order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from gridledger.api.core.common import Page, PageRequest, chain_key, keyset_page, row_meta
from gridledger.indexer.schema import events


def audit_feed(
    connection: Connection,
    page: PageRequest,
    contract: str | None = None,
    event: str | None = None,
    from_block: int | None = None,
    to_block: int | None = None,
) -> Page:
    """Logs filtered by contract (manifest name), event name and an inclusive block range."""
    query = select(events)
    if contract is not None:
        query = query.where(events.c.contract == contract)
    if event is not None:
        query = query.where(events.c.event == event)
    if from_block is not None:
        query = query.where(events.c.block_number >= from_block)
    if to_block is not None:
        query = query.where(events.c.block_number <= to_block)
    rows, cursor = keyset_page(connection, query, chain_key(events), page)
    items: list[dict[str, Any]] = [
        {
            **row_meta(row),
            "address": row["address"],
            "contract": row["contract"],
            "event": row["event"],
            "table": row["table_name"],
            "raw": row["raw"],
        }
        for row in rows
    ]
    return Page(items, cursor)
