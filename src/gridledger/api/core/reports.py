"""The regulator's report: what happened in a period, summed from the index."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, func, select

from gridledger.api.core.common import REJECT_REASONS, TimeRange, enum_name, event_table
from gridledger.indexer.schema import as_int, market_fills


def _sum(connection: Connection, table: Table, column: str, span: TimeRange) -> int:
    value = connection.execute(
        select(func.coalesce(func.sum(table.c[column]), 0)).where(
            table.c.block_time >= span.start, table.c.block_time < span.end
        )
    ).scalar()
    return as_int(value or 0)


def _count(connection: Connection, table: Table, span: TimeRange) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.block_time >= span.start, table.c.block_time < span.end)
        ).scalar_one()
    )


def regulator(connection: Connection, span: TimeRange) -> dict[str, Any]:
    """Totals of events whose block time is in [from, to)."""
    minted = event_table("token", "EnergyMinted")
    settled = event_table("market", "IntervalSettled")
    accepted = event_table("registry", "ReadingAccepted")
    rejected = event_table("registry", "ReadingRejected")
    quarantined = event_table("registry", "DeviceQuarantined")
    issued = event_table("carbon", "CertificateIssued")
    retired = event_table("carbon", "CreditsRetired")
    sells = connection.execute(
        select(
            func.coalesce(func.sum(market_fills.c.filled_wh), 0),
            func.coalesce(func.sum(market_fills.c.payment_units), 0),
        ).where(
            market_fills.c.side == "sell",
            market_fills.c.block_time >= span.start,
            market_fills.c.block_time < span.end,
        )
    ).one()
    buys_units = connection.execute(
        select(func.coalesce(func.sum(market_fills.c.payment_units), 0)).where(
            market_fills.c.side == "buy",
            market_fills.c.block_time >= span.start,
            market_fills.c.block_time < span.end,
        )
    ).scalar()
    by_reason = {
        enum_name(REJECT_REASONS, int(reason)): int(count)
        for reason, count in connection.execute(
            select(rejected.c.reason, func.count())
            .where(rejected.c.block_time >= span.start, rejected.c.block_time < span.end)
            .group_by(rejected.c.reason)
        ).all()
    }
    devices = connection.execute(
        select(func.count(func.distinct(quarantined.c.device_id))).where(
            quarantined.c.block_time >= span.start, quarantined.c.block_time < span.end
        )
    ).scalar_one()
    return {
        "from": span.start,
        "to": span.end,
        "energy_minted_wh": _sum(connection, minted, "previous_epoch_wh", span)
        + _sum(connection, minted, "current_epoch_wh", span),
        "traded_wh": as_int(sells[0]),
        "sellers_received_units": as_int(sells[1]),
        "buyers_paid_units_before_fees": as_int(buys_units or 0),
        "fees_to_collector_units": _sum(connection, settled, "collector_units", span),
        "intervals_settled": _count(connection, settled, span),
        "readings_accepted": _count(connection, accepted, span),
        "readings_rejected": sum(by_reason.values()),
        "readings_rejected_by_reason": by_reason,
        "devices_quarantined": int(devices),
        "certificates_issued": _count(connection, issued, span),
        "certificates_issued_co2e_grams": _sum(connection, issued, "co2e_grams", span),
        "credits_retired_co2e_grams": _sum(connection, retired, "co2e_grams", span),
        "retirements": _count(connection, retired, span),
    }
