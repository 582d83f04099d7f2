"""The indexer on the in-process EVM: every event into its table, reorgs undone to the common
ancestor, idempotent writes, confirmations by depth; on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from gridledger.chain.abi import EventLog, load_artifact
from gridledger.chain.deploy import System, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import START_TIME, build_demo
from gridledger.errors import IndexerError
from gridledger.indexer.db import WriterLock, database_url, is_current, open_database
from gridledger.indexer.decode import solve_fee
from gridledger.indexer.indexer import ReorgDuringStep
from gridledger.indexer.schema import EVENT_TABLES, events, metadata, snake_case
from gridledger.indexer.source import BlockHeader, ChainLog, EmbeddedSource, NodeRefused, RpcSource
from gridledger.market.settlement import ceil_payment_units as fee_units
from indexed_world import MINT_UNITS, dump, fresh_index, indexer_for, payment_mints

TRANSFERS = EVENT_TABLES[("payment_token", "Transfer")].table
MINTED = EVENT_TABLES[("token", "EnergyMinted")].table
DEPLOYER = named_account("deployer")
HOLDERS = [named_account(f"holder-{i}") for i in range(6)]


@pytest.fixture
def database(databases: Callable[[str], str]) -> str:
    return databases("index")


@pytest.fixture
def world() -> tuple[EmbeddedChain, System]:
    chain = EmbeddedChain(START_TIME)
    system, _participants, _rejected = build_demo(chain)
    return chain, system


def _new_blocks(chain: EmbeddedChain, system: System, holders: list[str]) -> None:
    """One block per holder, each with one stablecoin mint (one Transfer)."""
    for holder in holders:
        chain.set_time(chain.timestamp + 12)
        payment_mints(chain.transact, system, DEPLOYER, [holder])


def test_catchUp_everyLogOfTheDeploymentInItsTable(
    world: tuple[EmbeddedChain, System], database: str
) -> None:
    chain, system = world
    engine = fresh_index(database)
    results = indexer_for(engine, EmbeddedSource(chain), system).catch_up()
    logs = chain.logs_between(0, chain.block_number)
    assert sum(result.logs for result in results) == len(logs)
    with engine.connect() as db:
        assert db.execute(select(func.count()).select_from(events)).scalar_one() == len(logs)
        assert (
            db.execute(select(func.count()).select_from(events).where(events.c.event.is_(None))).scalar() == 0
        )
        minted = db.execute(
            select(MINTED.c.lot_id, MINTED.c.current_epoch_wh).order_by(MINTED.c.lot_id)
        ).all()
    on_chain = sorted(
        (values["lotId"], values["currentEpochWh"])
        for log in logs
        if (decoded := _decode(system, log)) is not None and decoded[0] == "EnergyMinted"
        for values in [decoded[1]]
    )
    assert [tuple(row) for row in minted] == on_chain and on_chain
    # Lot ids pass 2^63: SQLite keeps them exactly too.
    assert max(lot for lot, _ in on_chain) > 2**63


def _decode(system: System, log: EventLog) -> tuple[str, dict[str, object]] | None:
    if log.address.lower() != system.token.lower():
        return None
    return load_artifact("EnergyToken").decode_event(log)


def test_step_afterRevertToSnapshot_rollsBackToCommonAncestorAndMatchesAFreshIndex(
    world: tuple[EmbeddedChain, System], databases: Callable[[str], str]
) -> None:
    chain, system = world
    engine = fresh_index(databases("index"))
    indexer = indexer_for(engine, EmbeddedSource(chain), system, confirmation_depth=3)
    indexer.catch_up()
    ancestor = chain.block_number
    fork = chain.snapshot()
    _new_blocks(chain, system, HOLDERS[:4])
    indexer.catch_up()
    chain.revert(fork)  # the blocks after `ancestor` are replaced by others
    _new_blocks(chain, system, HOLDERS[3:])
    results = indexer.catch_up()
    assert results[0].rolled_back_to is not None and results[0].rolled_back_to < ancestor + 1
    assert indexer.state().reorgs == 1
    rebuilt = fresh_index(databases("fresh"))
    indexer_for(rebuilt, EmbeddedSource(chain), system, confirmation_depth=3).catch_up()
    assert dump(engine) == dump(rebuilt)
    with engine.connect() as db:
        holders = set(db.execute(select(TRANSFERS.c.to)).scalars())
    assert set(h.lower() for h in HOLDERS[3:]) <= holders and HOLDERS[0].lower() not in holders


def test_reindex_theSameChain_changesNothing(world: tuple[EmbeddedChain, System], database: str) -> None:
    chain, system = world
    _new_blocks(chain, system, HOLDERS)
    engine = fresh_index(database)
    indexer = indexer_for(engine, EmbeddedSource(chain), system, confirmation_depth=2)
    indexer.catch_up()
    before = dump(engine)
    state = indexer.state()
    assert indexer.reindex(state.start_block, state.cursor_block) > 0
    assert dump(engine) == before


def test_reindex_beyondTheCursor_refused(world: tuple[EmbeddedChain, System], tmp_path: Path) -> None:
    chain, system = world
    indexer = indexer_for(fresh_index(str(tmp_path / "i.sqlite")), EmbeddedSource(chain), system)
    indexer.catch_up()
    with pytest.raises(IndexerError, match="only indexed blocks"):
        indexer.reindex(0, chain.block_number + 1)


def test_confirmedFlag_setOnceDeepEnough(world: tuple[EmbeddedChain, System], database: str) -> None:
    chain, system = world
    engine = fresh_index(database)
    indexer = indexer_for(engine, EmbeddedSource(chain), system, confirmation_depth=3)
    _new_blocks(chain, system, HOLDERS[:1])
    indexer.catch_up()
    newest = chain.block_number

    def flags() -> set[bool]:
        with engine.connect() as db:
            return set(
                db.execute(select(TRANSFERS.c.confirmed).where(TRANSFERS.c.block_number == newest)).scalars()
            )

    assert flags() == {False}
    assert indexer.state().confirmed_block == newest - 3
    _new_blocks(chain, system, HOLDERS[1:4])
    indexer.catch_up()
    assert flags() == {True}
    with engine.connect() as db:
        unconfirmed = db.execute(
            select(func.count()).select_from(events).where(events.c.confirmed.is_(False))
        )
        assert unconfirmed.scalar_one() == 3  # the three newest blocks' mints


def test_revertBelowConfirmations_undoesConfirmedRowsAndSaysSo(
    world: tuple[EmbeddedChain, System], tmp_path: Path
) -> None:
    chain, system = world
    engine = fresh_index(str(tmp_path / "index.sqlite"))
    lines: list[str] = []
    indexer = indexer_for(engine, EmbeddedSource(chain), system, confirmation_depth=1, log=lines.append)
    fork = chain.snapshot()
    _new_blocks(chain, system, HOLDERS)
    indexer.catch_up()
    chain.revert(fork)
    _new_blocks(chain, system, HOLDERS[:1])
    undone = indexer.catch_up()[0]
    assert undone.confirmed_rows_undone >= len(HOLDERS) - 1
    assert any("deeper than the confirmation depth" in line for line in lines)
    assert indexer.state().deepest_reorg >= len(HOLDERS)


def test_indexer_onADatabaseOfAnotherDeployment_refused(
    world: tuple[EmbeddedChain, System], tmp_path: Path
) -> None:
    chain, system = world
    engine = fresh_index(str(tmp_path / "index.sqlite"))
    indexer_for(engine, EmbeddedSource(chain), system).catch_up()
    other_chain = EmbeddedChain(START_TIME)
    other, _, _ = build_demo(other_chain)
    moved = System(**{**system.__dict__, "market": other.token})
    with pytest.raises(IndexerError, match="another deployment"):
        indexer_for(engine, EmbeddedSource(chain), moved)


def test_indexer_badOptions_refused(world: tuple[EmbeddedChain, System], tmp_path: Path) -> None:
    chain, system = world
    engine = fresh_index(str(tmp_path / "index.sqlite"))
    with pytest.raises(IndexerError, match="confirmation depth"):
        indexer_for(engine, EmbeddedSource(chain), system, confirmation_depth=-1)
    with pytest.raises(IndexerError, match="at least one block"):
        indexer_for(engine, EmbeddedSource(chain), system, step_blocks=0)


def test_smallSteps_giveTheSameRowsAsOneStep(world: tuple[EmbeddedChain, System], tmp_path: Path) -> None:
    chain, system = world
    _new_blocks(chain, system, HOLDERS)
    one = fresh_index(str(tmp_path / "one.sqlite"))
    indexer_for(one, EmbeddedSource(chain), system, confirmation_depth=0).catch_up()
    many = fresh_index(str(tmp_path / "many.sqlite"))
    steps = indexer_for(many, EmbeddedSource(chain), system, confirmation_depth=0, step_blocks=1).catch_up()
    assert len(steps) > len(HOLDERS)
    assert dump(one) == dump(many)
    with one.connect() as db:
        units = db.execute(select(func.sum(TRANSFERS.c.value)).where(TRANSFERS.c.to == HOLDERS[0].lower()))
        assert int(units.scalar_one()) == MINT_UNITS


def test_migrations_matchTheTables(database: str) -> None:
    engine = fresh_index(database)
    assert is_current(engine)
    with engine.connect() as db:
        differences = compare_metadata(MigrationContext.configure(db), metadata)
    assert differences == []


def test_writerLock_aSecondWriter_refusedUntilTheFirstReleases(database: str) -> None:
    first, second = (
        WriterLock(open_database(database), database),
        WriterLock(open_database(database), database),
    )
    first.hold()
    first.hold()  # holding again is a no-op for the holder
    with pytest.raises(IndexerError, match="another indexer is writing"):
        second.hold()
    first.release()
    second.hold()
    second.release()


def test_snakeCase_namesWithUnits() -> None:
    assert snake_case("clearingPricePerKWh") == "clearing_price_per_kwh"
    assert snake_case("intervalStart") == "interval_start"
    assert snake_case("ERC7913SignerAdded") == "erc7913_signer_added"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("mysql://u@h/db", "SQLite path or a postgresql"), ("postgresql://u@h:port/db", "not a database URL")],
)
def test_databaseUrl_otherDatabases_refused(text: str, reason: str) -> None:
    with pytest.raises(IndexerError, match=reason):
        database_url(text)


def test_databaseUrl_pathAndPostgres() -> None:
    assert database_url("a/index.sqlite") == "sqlite:///a/index.sqlite"
    assert database_url("postgresql://u@127.0.0.1/x").startswith("postgresql+psycopg://")


def test_solveFee_oneFeeForEveryBuy_found() -> None:
    buys = [1_500, 700, 999]
    total = sum(fee_units(wh, 37) for wh in buys)
    assert solve_fee(buys, total) == 37
    assert solve_fee(buys, 0) == 0


def test_solveFee_buysThatPaidDifferentFees_unknown() -> None:
    buys = [1_000, 3_000]
    # One buy at 30 per kWh, one at 45 (its zone in peak): 165 units, which no single fee gives.
    assert solve_fee(buys, fee_units(1_000, 30) + fee_units(3_000, 45)) is None
    assert solve_fee(buys, -5) is None
    assert solve_fee([], 10) is None


def _node_answering(limit_blocks: int, asked: list[tuple[int, int]]) -> RpcSource:
    """An RpcSource whose node refuses eth_getLogs over more than `limit_blocks` blocks."""
    source = object.__new__(RpcSource)

    def request(method: str, params: list[Any]) -> Any:
        first, last = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
        asked.append((first, last))
        if last - first + 1 > limit_blocks:
            raise NodeRefused("query returned more than 10000 results")
        return []

    source._request = request  # type: ignore[method-assign]
    return source


def test_rpcLogs_aRangeTheNodeRefuses_isSplit() -> None:
    asked: list[tuple[int, int]] = []
    assert _node_answering(4, asked).logs(0, 15, [DEPLOYER]) == []
    answered = [(first, last) for first, last in asked if last - first + 1 <= 4]
    assert sorted(answered) == [(0, 3), (4, 7), (8, 11), (12, 15)]


def test_rpcLogs_aNodeThatRefusesEvenOneBlock_raises() -> None:
    with pytest.raises(NodeRefused):
        _node_answering(0, []).logs(0, 3, [DEPLOYER])


class _ForkingAfterLogs:
    """A node that switches to another fork right after it answers eth_getLogs, once."""

    def __init__(self, chain: EmbeddedChain, switch: Callable[[], None]) -> None:
        self._inner = EmbeddedSource(chain)
        self.chain_id = chain.chain_id
        self._switch: Callable[[], None] | None = switch

    def head(self) -> int:
        return self._inner.head()

    def headers(self, numbers: Iterable[int]) -> dict[int, BlockHeader]:
        return self._inner.headers(numbers)

    def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[ChainLog]:
        found = self._inner.logs(first, last, addresses)
        if self._switch is not None:
            switch, self._switch = self._switch, None
            switch()
        return found


def test_step_aReorgBetweenLogsAndHeaders_isNotWrittenAndIsTakenAgain(
    world: tuple[EmbeddedChain, System], tmp_path: Path
) -> None:
    chain, system = world
    engine = fresh_index(str(tmp_path / "index.sqlite"))
    indexer_for(engine, EmbeddedSource(chain), system, confirmation_depth=0).catch_up()
    chain.set_time(chain.timestamp + 12)
    fork = chain.snapshot()
    for _ in range(3):  # the fork the logs are read from: empty blocks
        chain.set_time(chain.timestamp + 12)

    def switch() -> None:  # the fork the node is on when the headers are read: three mints
        chain.revert(fork)
        _new_blocks(chain, system, HOLDERS[:3])

    racing = indexer_for(engine, _ForkingAfterLogs(chain, switch), system, confirmation_depth=0)
    with pytest.raises(ReorgDuringStep):
        racing.step()
    racing.catch_up()
    fresh = fresh_index(str(tmp_path / "fresh.sqlite"))
    indexer_for(fresh, EmbeddedSource(chain), system, confirmation_depth=0).catch_up()
    assert dump(engine) == dump(fresh)


class _Behind:
    """A node whose head is `lag` blocks behind the chain (restarted, or another of a pool)."""

    def __init__(self, chain: EmbeddedChain, lag: int) -> None:
        self._inner = EmbeddedSource(chain)
        self.chain_id = chain.chain_id
        self._lag = lag

    def head(self) -> int:
        return self._inner.head() - self._lag

    def headers(self, numbers: Iterable[int]) -> dict[int, BlockHeader]:
        return {n: h for n, h in self._inner.headers(numbers).items() if n <= self.head()}

    def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[ChainLog]:
        return self._inner.logs(first, min(last, self.head()), addresses)


def test_step_aNodeBehindTheIndex_isWaitedForNotRolledBack(
    world: tuple[EmbeddedChain, System], tmp_path: Path
) -> None:
    chain, system = world
    _new_blocks(chain, system, HOLDERS)
    engine = fresh_index(str(tmp_path / "index.sqlite"))
    indexer_for(engine, EmbeddedSource(chain), system, confirmation_depth=1).catch_up()
    before = dump(engine)
    behind = indexer_for(engine, _Behind(chain, 3), system, confirmation_depth=1)
    result = behind.step()
    assert result.rolled_back_to is None and behind.state().reorgs == 0
    assert dump(engine) == before
