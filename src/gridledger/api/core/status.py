"""How far the index is: what the indexer's bookkeeping row says."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gridledger.api.core.common import index_state


def status(connection: Connection) -> dict[str, Any]:
    state = index_state(connection)
    return {
        "chain_id": state.chain_id,
        "deployment": state.deployment,
        "start_block": state.start_block,
        "cursor_block": state.cursor_block,
        "head_block": state.head_block,
        "confirmed_block": state.confirmed_block,
        "confirmation_depth": state.confirmation_depth,
        "lag_blocks": max(0, state.head_block - state.cursor_block),
        "reorgs": state.reorgs,
        "deepest_reorg": state.deepest_reorg,
    }
