"""A simulation's chain indexed into the same tables the live indexer writes and the API reads
(`gridledger simulate --index DB`), and checked against the run: the index's fills are the
run's trades and its accepted readings (count, minted and consumed Wh per interval) and minted
energy are the run's, through the indexer's one decoder. The report of such a run takes its
trades and those interval figures from the index, the rows the API serves."""

from __future__ import annotations

import dataclasses
from collections import Counter

from sqlalchemy import Connection, func, select

from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.rpc import RpcChain
from gridledger.errors import SimulationError
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.indexer import Indexer
from gridledger.indexer.schema import EVENT_TABLES, as_int, market_fills
from gridledger.indexer.source import ChainSource, EmbeddedSource, RpcSource
from gridledger.market.orders import Side
from gridledger.sim.metered import MeteredChain
from gridledger.sim.run import SimulationResult, Trade

MINTED = EVENT_TABLES[("token", "EnergyMinted")].table


def _source(chain: MeteredChain) -> ChainSource:
    inner = chain.inner
    if isinstance(inner, EmbeddedChain):
        return EmbeddedSource(inner)
    if isinstance(inner, RpcChain):
        return RpcSource(str(inner.w3.provider.endpoint_uri))  # type: ignore[attr-defined]
    raise SimulationError(f"cannot index a run on {type(inner).__name__}")


@dataclasses.dataclass(frozen=True)
class IndexedEnergy:
    """One interval's accepted readings as the index holds them."""

    readings_accepted: int
    minted_wh: int
    metered_consumption_wh: int


@dataclasses.dataclass(frozen=True)
class IndexedRun:
    """The run as the index holds it (the rows the API serves): its fills, and its accepted
    readings by interval start; and where the index and the run disagree (none when they agree)."""

    trades: list[Trade]
    energy: dict[int, IndexedEnergy]
    findings: list[str]


ACCEPTED = EVENT_TABLES[("registry", "ReadingAccepted")].table


def indexed_energy(connection: Connection) -> dict[int, IndexedEnergy]:
    """Accepted readings per interval start: how many, Wh minted and Wh consumed (one query)."""
    rows = connection.execute(
        select(
            ACCEPTED.c.interval_start,
            func.count(),
            func.coalesce(func.sum(ACCEPTED.c.minted_wh), 0),
            func.coalesce(func.sum(ACCEPTED.c.consumed_wh), 0),
        ).group_by(ACCEPTED.c.interval_start)
    ).all()
    return {
        as_int(start): IndexedEnergy(int(count), as_int(minted), as_int(consumed))
        for start, count, minted, consumed in rows
    }


def indexed_trades(connection: Connection) -> list[Trade]:
    """Every fill in the index's market_fills, in chain order, as the run's Trade records."""
    rows = connection.execute(
        select(
            market_fills.c.interval_start,
            market_fills.c.order_hash,
            market_fills.c.trader,
            market_fills.c.side,
            market_fills.c.filled_wh,
            market_fills.c.payment_units,
        ).order_by(market_fills.c.block_number, market_fills.c.log_index, market_fills.c.fill_index)
    ).all()
    return [
        Trade(
            as_int(start),
            bytes.fromhex(order_hash.removeprefix("0x")),
            trader.lower(),
            Side.BUY if side == "buy" else Side.SELL,
            as_int(filled_wh),
            as_int(payment_units),
        )
        for start, order_hash, trader, side, filled_wh, payment_units in rows
    ]


def index_run(chain: MeteredChain, result: SimulationResult, db: str) -> IndexedRun:
    """Index the run's chain into `db` (a new or the same run's index) and read its fills back."""
    engine = open_database(db)
    migrate(engine)
    # Every block of a finished run is final: nothing waits for confirmations.
    Indexer(engine, _source(chain), dataclasses.asdict(result.system), confirmation_depth=0).catch_up()
    with engine.connect() as connection:
        trades = indexed_trades(connection)
        energy = indexed_energy(connection)
        minted = connection.execute(
            select(func.coalesce(func.sum(MINTED.c.previous_epoch_wh + MINTED.c.current_epoch_wh), 0))
        ).scalar_one()
    engine.dispose()
    findings: list[str] = []
    if Counter(trades) != Counter(result.trades):
        findings.append(f"the index holds {len(trades)} fills, the run made {len(result.trades)} trades")
    recorded = sum(r.minted_wh for r in result.intervals)
    if as_int(minted) != recorded:
        findings.append(f"the index says {as_int(minted)} Wh were minted, the run recorded {recorded} Wh")
    none = IndexedEnergy(0, 0, 0)
    for record in result.intervals:
        indexed = energy.get(record.interval_start, none)
        ran = IndexedEnergy(record.readings_accepted, record.minted_wh, record.metered_consumption_wh)
        if indexed != ran:
            findings.append(
                f"interval {record.interval_start}: the index holds {indexed}, the run recorded {ran}"
            )
    return IndexedRun(trades, energy, findings)
