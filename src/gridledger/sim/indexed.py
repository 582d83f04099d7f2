"""A simulation's chain indexed into the same tables the live indexer writes and the API reads
(`gridledger simulate --index DB`), and checked against the run: the index's fills are the
run's trades and its minted energy is the run's, through the indexer's one decoder."""

from __future__ import annotations

import dataclasses
from collections import Counter

from sqlalchemy import func, select

from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.rpc import RpcChain
from gridledger.errors import SimulationError
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.indexer import Indexer
from gridledger.indexer.schema import EVENT_TABLES, as_int, market_fills
from gridledger.indexer.source import ChainSource, EmbeddedSource, RpcSource
from gridledger.market.orders import Side
from gridledger.sim.metered import MeteredChain
from gridledger.sim.run import SimulationResult

MINTED = EVENT_TABLES[("token", "EnergyMinted")].table


def _source(chain: MeteredChain) -> ChainSource:
    inner = chain.inner
    if isinstance(inner, EmbeddedChain):
        return EmbeddedSource(inner)
    if isinstance(inner, RpcChain):
        return RpcSource(str(inner.w3.provider.endpoint_uri))  # type: ignore[attr-defined]
    raise SimulationError(f"cannot index a run on {type(inner).__name__}")


def index_run(chain: MeteredChain, result: SimulationResult, db: str) -> list[str]:
    """Index the run's chain into `db` (a new or the same run's index); findings where the
    index and the run disagree, none when they agree."""
    engine = open_database(db)
    migrate(engine)
    # Every block of a finished run is final: nothing waits for confirmations.
    Indexer(engine, _source(chain), dataclasses.asdict(result.system), confirmation_depth=0).catch_up()
    findings: list[str] = []
    with engine.connect() as connection:
        fills = Counter(
            (as_int(start), trader, side, as_int(wh), as_int(units))
            for start, trader, side, wh, units in connection.execute(
                select(
                    market_fills.c.interval_start,
                    market_fills.c.trader,
                    market_fills.c.side,
                    market_fills.c.filled_wh,
                    market_fills.c.payment_units,
                )
            ).all()
        )
        minted = connection.execute(
            select(func.coalesce(func.sum(MINTED.c.previous_epoch_wh + MINTED.c.current_epoch_wh), 0))
        ).scalar_one()
    engine.dispose()
    trades = Counter(
        (
            t.interval_start,
            t.trader.lower(),
            "buy" if t.side == Side.BUY else "sell",
            t.filled_wh,
            t.payment_units,
        )
        for t in result.trades
    )
    if fills != trades:
        findings.append(
            f"the index holds {sum(fills.values())} fills, the run made {sum(trades.values())} trades"
        )
    recorded = sum(r.minted_wh for r in result.intervals)
    if as_int(minted) != recorded:
        findings.append(f"the index says {as_int(minted)} Wh were minted, the run recorded {recorded} Wh")
    return findings
