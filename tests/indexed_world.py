"""What the indexer tests share: a deployment that emits events on demand, an index of it, and a
dump of every row table to compare two indexes by."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.indexer import Indexer
from gridledger.indexer.schema import ROW_TABLES
from gridledger.indexer.source import ChainSource

PAYMENT = load_artifact("TestStablecoin")
# The stablecoin mints to anyone on a local deployment: one mint is one Transfer event.
MINT_UNITS = 1_000


def fresh_index(url: str) -> Engine:
    engine = open_database(url)
    migrate(engine)
    return engine


def indexer_for(engine: Engine, source: ChainSource, system: System, **options: Any) -> Indexer:
    return Indexer(engine, source, dataclasses.asdict(system), **options)


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every row table, in key order."""
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns)).all()
            ]
            for table in ROW_TABLES
        }


def payment_mints(transact: Callable[..., Any], system: System, minter: str, recipients: list[str]) -> None:
    """One stablecoin mint per recipient: one Transfer log each, in the deployment's contracts."""
    for recipient in recipients:
        transact(minter, PAYMENT, system.payment_token, "mint", recipient, MINT_UNITS)
