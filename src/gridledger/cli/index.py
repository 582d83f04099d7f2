"""`gridledger index`: follow a deployment's events into the index database."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError

from gridledger.cli.live import HealthPortOption, RpcUrlOption, run_service
from gridledger.errors import IndexerError, InputError
from gridledger.indexer.db import DEFAULT_DATABASE, WriterLock, migrate, open_database
from gridledger.indexer.indexer import (
    DEFAULT_CONFIRMATION_DEPTH,
    DEFAULT_STEP_BLOCKS,
    Indexer,
    ReorgDuringStep,
)
from gridledger.indexer.source import RpcSource
from gridledger.ops.deployment import Manifest
from gridledger.ops.files import write_json_atomically
from gridledger.ops.operator import HEALTH_FILE, JsonLog

# A node that stops answering is waited for, this long between tries, not given up on.
RETRY_AFTER_S = 2.0


def index_command(
    rpc_url: RpcUrlOption,
    manifest: Annotated[
        Path, typer.Option("--manifest", help="The deployment manifest (deployments/<chain>.json).")
    ],
    db: Annotated[
        str, typer.Option("--db", help="A SQLite file, or a postgresql:// URL.")
    ] = DEFAULT_DATABASE,
    confirmations: Annotated[
        int, typer.Option(min=0, max=10_000, help="Blocks on top before a row is marked confirmed.")
    ] = DEFAULT_CONFIRMATION_DEPTH,
    from_block: Annotated[
        int | None, typer.Option(min=0, help="First block to index (default: the manifest's deploy block).")
    ] = None,
    step_blocks: Annotated[
        int, typer.Option(min=1, max=100_000, help="Blocks per step.")
    ] = DEFAULT_STEP_BLOCKS,
    poll_s: Annotated[float, typer.Option(min=0.05, max=60, help="Seconds between polls at the head.")] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="Index up to the head, then exit.")] = False,
    state: Annotated[Path, typer.Option("--state", help="Folder of health.json.")] = Path("index-state"),
    health_port: HealthPortOption = None,
) -> None:
    """Index every event of the deployment into SQL tables, following reorgs (docs/indexer.md)."""
    deployment = Manifest.load(manifest)
    system = deployment.system()
    source = RpcSource(rpc_url)
    if source.chain_id != deployment.chain_id:
        raise InputError(
            f"{manifest} is a deployment on chain {deployment.chain_id}; the node is chain {source.chain_id}"
        )
    engine = open_database(db)
    writer = WriterLock(engine, db)
    writer.hold()  # before migrating: a second indexer changes nothing
    migrate(engine)
    log = JsonLog(lambda line: print(line, flush=True))
    indexer = Indexer(
        engine,
        source,
        dataclasses.asdict(system),
        start_block=from_block if from_block is not None else deployment.deploy_block or 0,
        confirmation_depth=confirmations,
        step_blocks=step_blocks,
        log=lambda line: log("reorg", detail=line),
    )
    if once:
        while _catch_up(indexer, log, state):
            pass
        return
    state.mkdir(parents=True, exist_ok=True)

    def follow(stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                writer.hold()  # again, if the database was away and took the lock with it
                behind = _catch_up(indexer, log, state)
            except (IndexerError, DBAPIError) as unreachable:  # the node or the database is away
                log("waiting", reason=str(getattr(unreachable, "orig", None) or unreachable))
                stop.wait(RETRY_AFTER_S)
                continue
            if not behind:
                stop.wait(poll_s)

    run_service(log, state, health_port, follow)


def _catch_up(indexer: Indexer, log: JsonLog, state: Path) -> bool:
    """One step (taken again after a reorg during it); True if the head is still ahead."""
    try:
        result = indexer.step()
    except ReorgDuringStep as moved:
        log("retry", reason=str(moved))
        return True
    if result.logs or result.rolled_back_to is not None:
        log(
            "indexed",
            first_block=result.first_block,
            last_block=result.last_block,
            logs=result.logs,
            head_block=result.head_block,
        )
    current = indexer.state()
    state.mkdir(parents=True, exist_ok=True)
    write_json_atomically(
        state / HEALTH_FILE,
        {
            "service": "index",
            "at": int(time.time()),
            "chainId": current.chain_id,
            "cursorBlock": current.cursor_block,
            "headBlock": current.head_block,
            "confirmedBlock": current.confirmed_block,
            "lagBlocks": current.head_block - current.cursor_block,
            "reorgs": current.reorgs,
            "deepestReorg": current.deepest_reorg,
        },
    )
    return result.rolled_back_to is not None or result.last_block < result.head_block
