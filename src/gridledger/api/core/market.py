"""Market accounts derived from the market's events, as EnergyMarket.sol moves them.

Payment escrow: deposits (what arrived), less withdrawals, plus each sell's payment units, less
each buy's payment units and its grid fee, plus the collector's share of every settlement it
collected. Each buy's grid fee is derived once, when the settlement is indexed
(`indexer.decode.solve_fee`); where a settlement's buys did not all pay one fee per kWh (peak
fees) those fees are unknown, and so is the buyer's escrow — reported as such, never guessed.

Energy escrow: deposits, less withdrawals, less sold, plus bought. The contract also drops
escrowed energy past its expiry epoch without a per-trader event; the figure is before such
expiry.

Every figure is an aggregate over the trader's own rows (indexed by trader), so a participant's
page costs the same few queries after a year of intervals as after a day.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from gridledger.api.core.common import event_table
from gridledger.indexer.schema import as_int, market_fills


def _sum(connection: Connection, column: Any, *where: Any) -> int:
    value = connection.execute(select(func.coalesce(func.sum(column), 0)).where(*where)).scalar()
    return as_int(value if value is not None else 0)


def _collected(connection: Connection, trader: str) -> tuple[int, bool]:
    """(what `trader` collected as the grid fee collector, whether every settlement's collector
    is known): each GridFeeSet names the collector from its block until the next one."""
    fee_set = event_table("market", "GridFeeSet")
    settled = event_table("market", "IntervalSettled")
    periods = connection.execute(
        select(fee_set.c.block_number, fee_set.c.collector).order_by(
            fee_set.c.block_number, fee_set.c.log_index
        )
    ).all()
    first_fee = connection.execute(
        select(func.min(settled.c.block_number)).where(settled.c.collector_units > 0)
    ).scalar()
    known = first_fee is None or (bool(periods) and int(periods[0][0]) <= int(first_fee))
    collected = 0
    for position, (since, collector) in enumerate(periods):
        if collector != trader:
            continue
        until = periods[position + 1][0] if position + 1 < len(periods) else None
        window = [settled.c.block_number >= since]
        if until is not None:
            window.append(settled.c.block_number < until)
        collected += _sum(connection, settled.c.collector_units, *window)
    return collected, known


def escrow(connection: Connection, trader: str) -> dict[str, Any]:
    """The trader's payment and energy escrow in the market (module docstring)."""
    deposited = event_table("market", "PaymentDeposited")
    withdrawn = event_table("market", "PaymentWithdrawn")
    energy_in = event_table("market", "EnergyDeposited")
    energy_out = event_table("market", "EnergyWithdrawn")
    mine = market_fills.c.trader == trader
    sells, buys = market_fills.c.side == "sell", market_fills.c.side == "buy"
    collected, collector_known = _collected(connection, trader)
    payment = (
        _sum(connection, deposited.c.units, deposited.c.trader == trader)
        - _sum(connection, withdrawn.c.units, withdrawn.c.trader == trader)
        + _sum(connection, market_fills.c.payment_units, mine, sells)
        - _sum(connection, market_fills.c.payment_units, mine, buys)
        - _sum(connection, market_fills.c.grid_fee_units, mine, buys)
        + collected
    )
    energy = (
        _sum(connection, energy_in.c.energy_wh, energy_in.c.trader == trader)
        - _sum(connection, energy_out.c.energy_wh, energy_out.c.trader == trader)
        - _sum(connection, market_fills.c.filled_wh, mine, sells)
        + _sum(connection, market_fills.c.filled_wh, mine, buys)
    )
    unknown_fees = connection.execute(
        select(func.count())
        .select_from(market_fills)
        .where(mine, buys, market_fills.c.grid_fee_units.is_(None))
    ).scalar_one()
    return {
        "payment_escrow_units": payment if unknown_fees == 0 else None,
        "energy_escrow_wh": energy,
        "fees_known": unknown_fees == 0,
        "collector_known": collector_known,
    }


def trades(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill rows as trades, each buy with the grid fee it paid where that is derivable."""
    return [
        {
            "interval_start": as_int(row["interval_start"]),
            "order_hash": row["order_hash"],
            "trader": row["trader"],
            "side": row["side"],
            "filled_wh": as_int(row["filled_wh"]),
            "payment_units": as_int(row["payment_units"]),
            "grid_fee_units": None if row["grid_fee_units"] is None else as_int(row["grid_fee_units"]),
            "clearing_price_per_kwh": as_int(row["clearing_price_per_kwh"]),
            "block_number": int(row["block_number"]),
            "block_time": int(row["block_time"]),
            "fill_index": int(row["fill_index"]),
            "confirmed": bool(row["confirmed"]),
        }
        for row in rows
    ]
