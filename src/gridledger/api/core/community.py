"""The community's energy per interval: what its meters generated and consumed (accepted
readings' minted and consumed Wh) and what it traded, in three grouped queries for any range."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from gridledger.api.core.common import TimeRange, event_table
from gridledger.indexer.schema import as_int, market_fills


def energy_by_interval(connection: Connection, span: TimeRange) -> list[dict[str, Any]]:
    """One item per interval starting in `span` that had an accepted reading or a trade."""
    accepted = event_table("registry", "ReadingAccepted")
    metered = connection.execute(
        select(accepted.c.interval_start, func.sum(accepted.c.minted_wh), func.sum(accepted.c.consumed_wh))
        .where(accepted.c.interval_start >= span.start, accepted.c.interval_start < span.end)
        .group_by(accepted.c.interval_start)
    ).all()
    traded = dict(
        connection.execute(
            select(market_fills.c.interval_start, func.sum(market_fills.c.filled_wh))
            .where(
                market_fills.c.interval_start >= span.start,
                market_fills.c.interval_start < span.end,
                market_fills.c.side == "sell",
            )
            .group_by(market_fills.c.interval_start)
        ).all()
    )
    by_start: dict[int, dict[str, Any]] = {}
    for start, minted, consumed in metered:
        by_start[as_int(start)] = {
            "interval_start": as_int(start),
            "generated_wh": as_int(minted or 0),
            "consumed_wh": as_int(consumed or 0),
            "traded_wh": 0,
        }
    for start, sold in traded.items():
        item = by_start.setdefault(
            as_int(start),
            {"interval_start": as_int(start), "generated_wh": 0, "consumed_wh": 0, "traded_wh": 0},
        )
        item["traded_wh"] = as_int(sold or 0)
    return [by_start[start] for start in sorted(by_start)]
