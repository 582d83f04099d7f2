"""Market intervals: the gate and settlement of each, its fills, and the operator's published book."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from gridledger.api.core.common import (
    PRICINGS,
    Page,
    PageRequest,
    TimeRange,
    cursor_key,
    encode_cursor,
    enum_name,
    event_table,
    row_meta,
)
from gridledger.api.core.market import trades
from gridledger.errors import ApiError
from gridledger.indexer.schema import as_int, market_fills
from gridledger.market.book import INTERVAL_SECONDS
from gridledger.ops.inbox import frozen_book_path

INTERVALS_LISTING = "intervals"


def _interval_starts(connection: Connection, span: TimeRange | None) -> list[int]:
    """Every interval the market's events mention (gate closed, released or settled)."""
    starts: set[int] = set()
    for event in ("GateClosed", "GateReleased", "IntervalSettled"):
        table = event_table("market", event)
        query = select(table.c.interval_start)
        if span is not None:
            query = query.where(table.c.interval_start >= span.start, table.c.interval_start < span.end)
        starts.update(int(v) for v in connection.execute(query).scalars())
    return sorted(starts)


def _events_between(
    connection: Connection, event: str, first: int, last: int
) -> dict[int, list[dict[str, Any]]]:
    """The market's `event` rows of the intervals first..last, by interval, in chain order."""
    table = event_table("market", event)
    found: dict[int, list[dict[str, Any]]] = {}
    for row in connection.execute(
        select(table)
        .where(table.c.interval_start >= first, table.c.interval_start <= last)
        .order_by(table.c.block_number, table.c.log_index)
    ).mappings():
        found.setdefault(int(row["interval_start"]), []).append(dict(row))
    return found


def _summaries(connection: Connection, starts: list[int]) -> list[dict[str, Any]]:
    """Each interval's gate and settlement: four queries for the whole list, not four each
    (a day's listing is 96 intervals)."""
    if not starts:
        return []
    first, last = starts[0], starts[-1]
    closed = _events_between(connection, "GateClosed", first, last)
    released = _events_between(connection, "GateReleased", first, last)
    settled = _events_between(connection, "IntervalSettled", first, last)
    fill_counts: dict[Any, int] = dict(
        connection.execute(
            select(market_fills.c.interval_start, func.count())
            .where(market_fills.c.interval_start >= first, market_fills.c.interval_start <= last)
            .group_by(market_fills.c.interval_start)
        ).all()
    )
    return [
        _summary(start, closed.get(start, []), released.get(start, []), settled.get(start, []), fill_counts)
        for start in starts
    ]


def _summary(
    start: int,
    closed: list[dict[str, Any]],
    released: list[dict[str, Any]],
    settled: list[dict[str, Any]],
    fill_counts: dict[Any, int],
) -> dict[str, Any]:
    settlement = settled[-1] if settled else None
    return {
        "interval_start": start,
        "interval_end": start + INTERVAL_SECONDS,
        "gate_closed": [
            {"orders_commitment": r["orders_commitment"], "deadline": as_int(r["deadline"]), **row_meta(r)}
            for r in closed
        ],
        "gate_released": [row_meta(r) for r in released],
        "settled": settlement is not None,
        "settlement": None
        if settlement is None
        else {
            "pricing": enum_name(PRICINGS, int(settlement["pricing"])),
            "clearing_price_per_kwh": as_int(settlement["clearing_price_per_kwh"]),
            "volume_wh": as_int(settlement["volume_wh"]),
            "collector_units": as_int(settlement["collector_units"]),
            "book_hash": settlement["book_hash"],
            **row_meta(settlement),
        },
        "fill_count": int(fill_counts.get(start, 0)),
    }


def list_intervals(connection: Connection, span: TimeRange, page: PageRequest) -> Page:
    """Intervals starting in `span`, by start."""
    starts = _interval_starts(connection, span)
    if page.after is not None:
        try:
            after = int(cursor_key(page.after, INTERVALS_LISTING)[0])
        except (ValueError, IndexError) as bad:
            raise ApiError(
                400, "invalid-cursor", "Invalid cursor", "the cursor belongs to another listing"
            ) from bad
        starts = [s for s in starts if s > after]
    chosen = starts[: page.limit]
    cursor = encode_cursor([chosen[-1]], INTERVALS_LISTING) if len(starts) > page.limit else None
    return Page(_summaries(connection, chosen), cursor)


def interval(connection: Connection, start: int, state_dir: Path | None) -> dict[str, Any]:
    """One interval with its fills and, given the operator's state folder, its published book;
    404 if the market never closed a gate for it."""
    if start not in _interval_starts(connection, TimeRange(start, start + 1)):
        raise ApiError(
            404, "unknown-interval", "Unknown interval", f"the market has no interval starting {start}"
        )
    rows = [
        dict(r)
        for r in connection.execute(
            select(market_fills)
            .where(market_fills.c.interval_start == start)
            .order_by(market_fills.c.block_number, market_fills.c.log_index, market_fills.c.fill_index)
        ).mappings()
    ]
    book: Any = None
    if state_dir is not None:
        path = frozen_book_path(state_dir, start)
        try:
            book = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            book = None  # not published (yet), or unreadable: the index still answers
    return {**_summaries(connection, [start])[0], "fills": trades(rows), "book": book}
