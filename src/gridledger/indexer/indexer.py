"""The indexer: takes a deployment's logs block range by block range into the index, one
database transaction per step, and follows the node through reorgs.

Reorg safety: each step first checks that the newest indexed block is still the node's block at
that height. If not, it walks back over the stored blocks (every block that held a log, and the
recent ones) to the newest one the node still has — the common ancestor, whatever the depth —
deletes every row above it and indexes again from there. A step also checks the logs it fetched
against the headers it fetched after them, and that the block it builds on is still canonical
once it has both, so a reorg during a step is never written; the step is simply taken again.

Idempotence and crashes: a step deletes whatever rows its range already has before inserting,
and moves the cursor in the same transaction, so a crash leaves the index as it was before the
step and indexing a range twice leaves the same rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from gridledger.errors import IndexerError
from gridledger.indexer.decode import EventDecoder
from gridledger.indexer.schema import ROW_TABLES, events, indexed_blocks, indexer_state, table_named
from gridledger.indexer.source import BlockHeader, ChainLog, ChainSource
from gridledger.iot.failpoints import Failpoints

DEFAULT_CONFIRMATION_DEPTH = 12
DEFAULT_STEP_BLOCKS = 2_000
# Blocks without logs are kept this far below the cursor, then forgotten: the ancestor of a
# deeper reorg is then found among the blocks that held logs, which is all the rows depend on.
RECENT_BLOCKS_KEPT = 1_024
ANCESTOR_BATCH = 64


class ReorgDuringStep(IndexerError):
    """The node's chain changed while a step read it; nothing was written."""


@dataclass(frozen=True)
class StepResult:
    first_block: int  # 0 and last_block < first_block: nothing new
    last_block: int
    logs: int
    head_block: int
    rolled_back_to: int | None = None  # the common ancestor, when the step undid a reorg
    confirmed_rows_undone: int = 0

    @property
    def lag_blocks(self) -> int:
        return self.head_block - self.last_block if self.rolled_back_to is None else -1


@dataclass(frozen=True)
class IndexerState:
    chain_id: int
    deployment: dict[str, str]
    start_block: int
    cursor_block: int
    head_block: int
    confirmed_block: int
    confirmation_depth: int
    reorgs: int
    deepest_reorg: int


def read_state(connection: Connection) -> IndexerState | None:
    row = connection.execute(select(indexer_state).where(indexer_state.c.id == 1)).mappings().first()
    if row is None:
        return None
    return IndexerState(
        chain_id=int(row["chain_id"]),
        deployment=dict(row["deployment"]),
        start_block=int(row["start_block"]),
        cursor_block=int(row["cursor_block"]),
        head_block=int(row["head_block"]),
        confirmed_block=int(row["confirmed_block"]),
        confirmation_depth=int(row["confirmation_depth"]),
        reorgs=int(row["reorgs"]),
        deepest_reorg=int(row["deepest_reorg"]),
    )


class Indexer:
    """Indexes one deployment (contract name → address) from `source` into `engine`."""

    def __init__(
        self,
        engine: Engine,
        source: ChainSource,
        deployment: dict[str, str],
        *,
        start_block: int = 0,
        confirmation_depth: int = DEFAULT_CONFIRMATION_DEPTH,
        step_blocks: int = DEFAULT_STEP_BLOCKS,
        log: Callable[[str], None] = lambda _line: None,
        failpoints: Failpoints | None = None,
    ) -> None:
        if confirmation_depth < 0:
            raise IndexerError(f"the confirmation depth must be 0 or more, not {confirmation_depth}")
        if step_blocks < 1:
            raise IndexerError(f"a step must take at least one block, not {step_blocks}")
        self._engine = engine
        self._source = source
        self._decoder = EventDecoder(deployment)
        self._step_blocks = step_blocks
        self._log = log
        self._failpoints = failpoints or Failpoints()
        deployment = {name: address.lower() for name, address in sorted(deployment.items())}
        with engine.begin() as connection:
            state = read_state(connection)
            if state is None:
                connection.execute(
                    insert(indexer_state).values(
                        id=1,
                        chain_id=source.chain_id,
                        deployment=deployment,
                        start_block=start_block,
                        cursor_block=start_block - 1,
                        head_block=start_block - 1,
                        confirmed_block=start_block - 1,
                        confirmation_depth=confirmation_depth,
                        reorgs=0,
                        deepest_reorg=0,
                        updated_at=int(time.time()),
                    )
                )
            elif state.chain_id != source.chain_id or state.deployment != deployment:
                raise IndexerError(
                    f"this database indexes another deployment (chain {state.chain_id}, "
                    f"{state.deployment.get('market', '?')} as market): use a database of its own"
                )
            elif state.confirmation_depth != confirmation_depth:
                connection.execute(
                    update(indexer_state)
                    .where(indexer_state.c.id == 1)
                    .values(confirmation_depth=confirmation_depth)
                )

    def state(self) -> IndexerState:
        with self._engine.connect() as connection:
            state = read_state(connection)
        assert state is not None  # written in __init__
        return state

    def catch_up(self) -> list[StepResult]:
        """Step until the cursor reaches the node's head (taking each reorg on the way)."""
        results: list[StepResult] = []
        while True:
            result = self.step()
            results.append(result)
            if result.rolled_back_to is None and result.last_block >= result.head_block:
                return results

    def step(self) -> StepResult:
        """Undo a reorg if there is one, else index the next range of blocks (at most
        `step_blocks`) up to the node's head; then confirm what is deep enough."""
        state = self.state()
        head = self._source.head()
        cursor = state.cursor_block
        if cursor >= state.start_block:
            # Compare at the newest stored height the node has: a node behind the index (a
            # restarted or load-balanced one) is waited for, not taken for a reorg.
            checked = self._newest_stored_at_or_below(min(cursor, head))
            if checked is not None:
                canonical = self._source.headers([checked[0]]).get(checked[0])
                if canonical is not None and canonical.hash != checked[1]:
                    return self._roll_back(state, head)
        if cursor >= head:
            self._confirm(head, state.confirmation_depth)
            return StepResult(cursor + 1, cursor, 0, head)
        first, last = cursor + 1, min(head, cursor + self._step_blocks)
        logs = self._write_range(state, first, last, replace=False)
        with self._engine.begin() as connection:
            connection.execute(
                update(indexer_state)
                .where(indexer_state.c.id == 1)
                .values(head_block=head, updated_at=int(time.time()))
            )
            self._confirm_in(connection, head, state.confirmation_depth)
        return StepResult(first, last, logs, head)

    def reindex(self, first: int, last: int) -> int:
        """Index blocks first..last again, below the cursor (a repair): their rows are replaced
        by what the node says now; the same chain gives the same rows. Returns the logs taken."""
        state = self.state()
        if not state.start_block <= first <= last <= state.cursor_block:
            raise IndexerError(
                f"only indexed blocks can be indexed again: {state.start_block}..{state.cursor_block}, "
                f"not {first}..{last}"
            )
        return self._write_range(state, first, last, replace=True)

    def _write_range(self, state: IndexerState, first: int, last: int, *, replace: bool) -> int:
        """Fetch, check and write blocks first..last in one transaction; the cursor moves to
        `last` unless it is already past it. Returns the number of logs."""
        # The range's last block before and after the logs: a reorg in between changes its hash
        # (a fork that differs anywhere below differs there too), and the step is taken again.
        before = self._source.headers([last]).get(last)
        logs = self._source.logs(first, last, self._decoder.addresses)
        wanted = {log.block_number for log in logs} | {last}
        builds_on = first - 1
        if builds_on >= state.start_block:
            wanted.add(builds_on)
        headers = self._source.headers(wanted)
        if before is None or last not in headers or headers[last].hash != before.hash:
            raise ReorgDuringStep(f"block {last} changed while blocks {first}..{last} were read")
        self._check_consistent(logs, headers, state, first, last)
        rows = self._decoder.rows(logs, {number: header.timestamp for number, header in headers.items()})
        log_counts: dict[int, int] = {}
        for log in logs:
            log_counts[log.block_number] = log_counts.get(log.block_number, 0) + 1
        with self._engine.begin() as connection:
            for table in ROW_TABLES if replace else rows:
                connection.execute(delete(table).where(table.c.block_number.between(first, last)))
            self._failpoints.reach("index-mid-step")
            for table, table_rows in rows.items():
                if replace:
                    for row in table_rows:
                        row["confirmed"] = row["block_number"] <= state.confirmed_block
                connection.execute(insert(table), table_rows)
            connection.execute(delete(indexed_blocks).where(indexed_blocks.c.number.between(first, last)))
            kept = sorted(set(log_counts) | {last})
            connection.execute(
                insert(indexed_blocks),
                [_block_row(headers[number], log_counts.get(number, 0)) for number in kept],
            )
            connection.execute(
                delete(indexed_blocks).where(
                    indexed_blocks.c.log_count == 0,
                    indexed_blocks.c.number < max(last, state.cursor_block) - RECENT_BLOCKS_KEPT,
                )
            )
            if last > state.cursor_block:
                connection.execute(
                    update(indexer_state).where(indexer_state.c.id == 1).values(cursor_block=last)
                )
        return len(logs)

    def _check_consistent(
        self,
        logs: list[ChainLog],
        headers: dict[int, BlockHeader],
        state: IndexerState,
        first: int,
        last: int,
    ) -> None:
        for log in logs:
            header = headers.get(log.block_number)
            if header is None or header.hash != log.block_hash:
                raise ReorgDuringStep(
                    f"block {log.block_number} changed while blocks {first}..{last} were read"
                )
        if last not in headers:
            raise ReorgDuringStep(f"block {last} vanished while blocks {first}..{last} were read")
        if first - 1 >= state.start_block:
            stored = self._stored_hash(first - 1)
            builds_on = headers.get(first - 1)
            if stored is not None and (builds_on is None or builds_on.hash != stored):
                raise ReorgDuringStep(f"block {first - 1} changed while blocks {first}..{last} were read")

    def _newest_stored_at_or_below(self, number: int) -> tuple[int, str] | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(indexed_blocks.c.number, indexed_blocks.c.hash)
                .where(indexed_blocks.c.number <= number)
                .order_by(indexed_blocks.c.number.desc())
                .limit(1)
            ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def _stored_hash(self, number: int) -> str | None:
        with self._engine.connect() as connection:
            return connection.execute(
                select(indexed_blocks.c.hash).where(indexed_blocks.c.number == number)
            ).scalar_one_or_none()

    def _roll_back(self, state: IndexerState, head: int) -> StepResult:
        ancestor = self._common_ancestor(state)
        depth = state.cursor_block - ancestor
        with self._engine.begin() as connection:
            undone_confirmed = connection.execute(
                select(func.count())
                .select_from(events)
                .where(events.c.block_number > ancestor, events.c.confirmed.is_(True))
            ).scalar_one()
            for table in ROW_TABLES:
                connection.execute(delete(table).where(table.c.block_number > ancestor))
            connection.execute(delete(indexed_blocks).where(indexed_blocks.c.number > ancestor))
            connection.execute(
                update(indexer_state)
                .where(indexer_state.c.id == 1)
                .values(
                    cursor_block=ancestor,
                    confirmed_block=min(state.confirmed_block, ancestor),
                    reorgs=state.reorgs + 1,
                    deepest_reorg=max(state.deepest_reorg, depth),
                    updated_at=int(time.time()),
                )
            )
        self._log(
            f"reorg: blocks {ancestor + 1}..{state.cursor_block} replaced; rolled back to {ancestor}"
            + (
                f"; {undone_confirmed} confirmed rows undone (deeper than the confirmation depth)"
                if undone_confirmed
                else ""
            )
        )
        return StepResult(ancestor + 1, ancestor, 0, head, ancestor, int(undone_confirmed))

    def _common_ancestor(self, state: IndexerState) -> int:
        """The newest stored block the node still has, or the block before the start."""
        below = state.cursor_block + 1
        while True:
            with self._engine.connect() as connection:
                stored = connection.execute(
                    select(indexed_blocks.c.number, indexed_blocks.c.hash)
                    .where(indexed_blocks.c.number < below)
                    .order_by(indexed_blocks.c.number.desc())
                    .limit(ANCESTOR_BATCH)
                ).all()
            if not stored:
                return state.start_block - 1
            canonical = self._source.headers(int(number) for number, _ in stored)
            for number, stored_hash in stored:
                header = canonical.get(int(number))
                if header is not None and header.hash == stored_hash:
                    return int(number)
            below = int(stored[-1][0])

    def _confirm(self, head: int, depth: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(indexer_state)
                .where(indexer_state.c.id == 1)
                .values(head_block=head, updated_at=int(time.time()))
            )
            self._confirm_in(connection, head, depth)

    @staticmethod
    def _confirm_in(connection: Connection, head: int, depth: int) -> None:
        """Mark the rows of blocks at least `depth` below `head` (and indexed) confirmed."""
        state = read_state(connection)
        assert state is not None
        through = min(head - depth, state.cursor_block)
        if through <= state.confirmed_block:
            return
        window = (events.c.block_number > state.confirmed_block) & (events.c.block_number <= through)
        touched = connection.execute(select(events.c.table_name).where(window).distinct()).scalars().all()
        connection.execute(update(events).where(window).values(confirmed=True))
        for name in touched:
            if name is None:
                continue
            tables = [table_named(name)]
            if name == "market_interval_settled":
                tables.append(table_named("market_fills"))
            for table in tables:
                connection.execute(
                    update(table)
                    .where(table.c.block_number > state.confirmed_block, table.c.block_number <= through)
                    .values(confirmed=True)
                )
        connection.execute(
            update(indexer_state).where(indexer_state.c.id == 1).values(confirmed_block=through)
        )


def _block_row(header: BlockHeader, log_count: int) -> dict[str, Any]:
    return {
        "number": header.number,
        "hash": header.hash,
        "parent_hash": header.parent_hash,
        "timestamp": header.timestamp,
        "log_count": log_count,
    }
