"""Market accounts derived from the market's events, as EnergyMarket.sol moves them.

Payment escrow: deposits (what arrived), less withdrawals, plus each sell's payment units, less
each buy's payment units and its grid fee, plus the collector's share of every settlement. The
event of a settlement carries each fill's payment units but not each buy's grid fee, only the
settlement's total (`collectorUnits` = buyers' dues - sellers' receipts). With one fee per kWh
for all buys of the settlement (no zone in peak), the fee is the one value f for which
Σ ceil(filledWh·f/1000) over the buys closes that difference; every term is monotone in f, so
when f exists each buy's fee is unique. A settlement where no single f fits (peak fees) leaves
its buyers' fees, and so their escrow, unknown — reported as such, never guessed.

Energy escrow: deposits, less withdrawals, less sold, plus bought. The contract also drops
escrowed energy past its expiry epoch without a per-trader event; the figure is before such
expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from gridledger.api.core.common import event_table
from gridledger.indexer.schema import as_int, market_fills

FEE_SEARCH_MAX = 2**64


def _fee_units(filled_wh: int, fee_per_kwh: int) -> int:
    return (filled_wh * fee_per_kwh + 999) // 1000


def solve_fee(buys_wh: list[int], fees_total: int) -> int | None:
    """The one fee per kWh f with Σ ceil(w·f/1000) = fees_total, or None if there is none."""
    if fees_total == 0:
        return 0
    low, high = 0, FEE_SEARCH_MAX
    while low < high:  # smallest f whose total reaches fees_total
        middle = (low + high) // 2
        if sum(_fee_units(w, middle) for w in buys_wh) >= fees_total:
            high = middle
        else:
            low = middle + 1
    return low if sum(_fee_units(w, low) for w in buys_wh) == fees_total else None


@dataclass(frozen=True)
class SettlementFees:
    fee_per_kwh: int | None  # None: the buys did not all pay one fee (peak zones)
    collector_units: int


def settlement_fees(connection: Connection, block_number: int, log_index: int) -> SettlementFees:
    """The grid fee per kWh the buys of one settlement paid (module docstring)."""
    settled = event_table("market", "IntervalSettled")
    collector_units = as_int(
        connection.execute(
            select(settled.c.collector_units).where(
                settled.c.block_number == block_number, settled.c.log_index == log_index
            )
        ).scalar_one()
    )
    fills = connection.execute(
        select(market_fills.c.side, market_fills.c.filled_wh, market_fills.c.payment_units).where(
            market_fills.c.block_number == block_number, market_fills.c.log_index == log_index
        )
    ).all()
    sold_units = sum(as_int(units) for side, _, units in fills if side == "sell")
    bought_units = sum(as_int(units) for side, _, units in fills if side == "buy")
    buys_wh = [as_int(wh) for side, wh, _ in fills if side == "buy"]
    fees_total = collector_units + sold_units - bought_units
    fee = solve_fee(buys_wh, fees_total) if fees_total >= 0 else None
    return SettlementFees(fee, collector_units)


def _sum(connection: Connection, column: Any, *where: Any) -> int:
    value = connection.execute(select(func.coalesce(func.sum(column), 0)).where(*where)).scalar()
    return as_int(value if value is not None else 0)


def collector_at(connection: Connection, block_number: int) -> str | None:
    """The fee collector in force at a block: the newest GridFeeSet at or before it."""
    fee_set = event_table("market", "GridFeeSet")
    row = connection.execute(
        select(fee_set.c.collector)
        .where(fee_set.c.block_number <= block_number)
        .order_by(fee_set.c.block_number.desc(), fee_set.c.log_index.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


def escrow(connection: Connection, trader: str) -> dict[str, Any]:
    """The trader's payment and energy escrow in the market (module docstring)."""
    deposited = event_table("market", "PaymentDeposited")
    withdrawn = event_table("market", "PaymentWithdrawn")
    energy_in = event_table("market", "EnergyDeposited")
    energy_out = event_table("market", "EnergyWithdrawn")
    settled = event_table("market", "IntervalSettled")
    payment = _sum(connection, deposited.c.units, deposited.c.trader == trader) - _sum(
        connection, withdrawn.c.units, withdrawn.c.trader == trader
    )
    energy = _sum(connection, energy_in.c.energy_wh, energy_in.c.trader == trader) - _sum(
        connection, energy_out.c.energy_wh, energy_out.c.trader == trader
    )
    payment_known = True
    fees_by_settlement: dict[tuple[int, int], SettlementFees] = {}
    fills = connection.execute(select(market_fills).where(market_fills.c.trader == trader)).mappings()
    for fill in fills:
        wh, units = as_int(fill["filled_wh"]), as_int(fill["payment_units"])
        if fill["side"] == "sell":
            payment += units
            energy -= wh
            continue
        energy += wh
        key = (int(fill["block_number"]), int(fill["log_index"]))
        if key not in fees_by_settlement:
            fees_by_settlement[key] = settlement_fees(connection, *key)
        fee = fees_by_settlement[key].fee_per_kwh
        if fee is None:
            payment_known = False
        else:
            payment -= units + _fee_units(wh, fee)
    # The collector's share of each settlement, where the index knows who collected.
    collector_known = True
    for block_number, units in connection.execute(
        select(settled.c.block_number, settled.c.collector_units)
    ).all():
        if as_int(units) == 0:
            continue
        collector = collector_at(connection, int(block_number))
        if collector is None:
            collector_known = False
        elif collector == trader:
            payment += as_int(units)
    return {
        "payment_escrow_units": payment if payment_known else None,
        "energy_escrow_wh": energy,
        "fees_known": payment_known,
        "collector_known": collector_known,
    }


def trades(rows: list[dict[str, Any]], connection: Connection) -> list[dict[str, Any]]:
    """Fill rows as trades, each buy with the grid fee it paid where that is derivable."""
    cache: dict[tuple[int, int], SettlementFees] = {}
    out: list[dict[str, Any]] = []
    for row in rows:
        wh = as_int(row["filled_wh"])
        fee_units: int | None = None
        if row["side"] == "buy":
            key = (int(row["block_number"]), int(row["log_index"]))
            if key not in cache:
                cache[key] = settlement_fees(connection, *key)
            fee = cache[key].fee_per_kwh
            fee_units = None if fee is None else _fee_units(wh, fee)
        out.append(
            {
                "interval_start": as_int(row["interval_start"]),
                "order_hash": row["order_hash"],
                "trader": row["trader"],
                "side": row["side"],
                "filled_wh": wh,
                "payment_units": as_int(row["payment_units"]),
                "grid_fee_units": fee_units,
                "clearing_price_per_kwh": as_int(row["clearing_price_per_kwh"]),
                "block_number": int(row["block_number"]),
                "block_time": int(row["block_time"]),
                "fill_index": int(row["fill_index"]),
                "confirmed": bool(row["confirmed"]),
            }
        )
    return out
