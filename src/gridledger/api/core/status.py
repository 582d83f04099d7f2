"""How far the index is: what the indexer's bookkeeping row says."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from gridledger.api.core.common import index_state
from gridledger.indexer.schema import indexed_blocks


def cursor_block_time(connection: Connection) -> int | None:
    """The chain's clock as far as the index goes: the time of its newest indexed block (the
    cursor's block is always kept); None before the first block is indexed."""
    state = index_state(connection)
    cursor_time = connection.execute(
        select(indexed_blocks.c.timestamp).where(indexed_blocks.c.number == state.cursor_block)
    ).scalar_one_or_none()
    return None if cursor_time is None else int(cursor_time)


def status(connection: Connection) -> dict[str, Any]:
    state = index_state(connection)
    cursor_time = cursor_block_time(connection)
    return {
        "chain_id": state.chain_id,
        "deployment": state.deployment,
        "start_block": state.start_block,
        "cursor_block": state.cursor_block,
        "cursor_block_time": cursor_time,
        "head_block": state.head_block,
        "confirmed_block": state.confirmed_block,
        "confirmation_depth": state.confirmation_depth,
        "lag_blocks": max(0, state.head_block - state.cursor_block),
        "reorgs": state.reorgs,
        "deepest_reorg": state.deepest_reorg,
    }
