"""The indexer against anvil: reorgs made with `anvil_rollback` at depth 1, 12 and beyond the
confirmation depth are undone and leave the same rows as a fresh index of the new chain (on
SQLite and PostgreSQL); `gridledger index` killed mid-step resumes to the same rows; the
command's rejections are one line and exit 2."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.chain.deploy import System, named_account
from gridledger.chain.rpc import ANVIL, RpcChain, anvil_node
from gridledger.cli.demo import START_TIME, build_demo
from gridledger.cli.main import app
from gridledger.indexer.db import WriterLock, is_current, open_database
from gridledger.indexer.indexer import Indexer
from gridledger.indexer.source import RpcSource
from gridledger.ops.deployment import Manifest
from indexed_world import dump, fresh_index, indexer_for, payment_mints

pytestmark = [
    pytest.mark.anvil,
    pytest.mark.skipif(not ANVIL.exists(), reason="anvil comes from `npm ci` (node_modules/.bin/anvil)"),
]

DEPLOYER = named_account("deployer")
CONFIRMATIONS = 4
COMMAND_TIMEOUT_S = 120
GRIDLEDGER = Path(sys.executable).parent / "gridledger"


@dataclasses.dataclass
class AnvilWorld:
    url: str
    rpc: RpcChain
    system: System
    minted: int = 0

    def new_blocks(self, count: int) -> None:
        """`count` blocks, each with one stablecoin mint to a holder never minted to before."""
        holders = [named_account(f"holder-{self.minted + i}") for i in range(count)]
        self.minted += count
        payment_mints(self.rpc.transact, self.system, DEPLOYER, holders)

    def reorg(self, depth: int, replacement_blocks: int) -> None:
        """Replace the newest `depth` blocks by `replacement_blocks` others."""
        self.rpc._rpc("anvil_rollback", [depth])
        self.new_blocks(replacement_blocks)

    @property
    def head(self) -> int:
        return int(self.rpc.w3.eth.block_number)


@pytest.fixture(scope="module")
def anvil_world() -> Iterator[AnvilWorld]:
    with anvil_node(START_TIME - 3_600) as url:
        rpc = RpcChain(url)
        system, _participants, _rejected = build_demo(rpc)
        world = AnvilWorld(url, rpc, system)
        world.new_blocks(20)
        yield world


def _follow(world: AnvilWorld, url: str, **options: object) -> Indexer:
    return indexer_for(fresh_index(url), RpcSource(world.url), world.system, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("depth", [1, 12])
def test_step_reorgOnAnvil_rollsBackToTheAncestorAndMatchesAFreshIndex(
    anvil_world: AnvilWorld, databases: Callable[[str], str], depth: int
) -> None:
    indexer = _follow(anvil_world, databases("followed"), confirmation_depth=CONFIRMATIONS, step_blocks=7)
    indexer.catch_up()
    head = anvil_world.head
    anvil_world.reorg(depth, depth + 1)
    results = indexer.catch_up()
    assert results[0].rolled_back_to == head - depth
    assert indexer.state().cursor_block == anvil_world.head
    fresh = _follow(anvil_world, databases("fresh"), confirmation_depth=CONFIRMATIONS)
    fresh.catch_up()
    assert dump(indexer._engine) == dump(fresh._engine)


def test_step_reorgDeeperThanConfirmations_undoesConfirmedRowsAndSaysSo(
    anvil_world: AnvilWorld, tmp_path: Path
) -> None:
    lines: list[str] = []
    indexer = _follow(
        anvil_world, str(tmp_path / "i.sqlite"), confirmation_depth=CONFIRMATIONS, log=lines.append
    )
    indexer.catch_up()
    anvil_world.reorg(12, 13)
    undone = indexer.catch_up()[0]
    assert undone.confirmed_rows_undone >= 12 - CONFIRMATIONS
    assert any("deeper than the confirmation depth" in line for line in lines)


def _manifest(world: AnvilWorld, folder: Path, chain_id: int = 31337) -> Path:
    path = folder / f"{chain_id}.json"
    contracts = {name: {"address": address} for name, address in dataclasses.asdict(world.system).items()}
    Manifest(path, chain_id, plan={}, contracts=contracts, deploy_block=0, complete=True).save()
    return path


def _index(
    world: AnvilWorld, manifest: Path, db: Path, failpoints: str = ""
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "GRIDLEDGER_FAILPOINTS": failpoints}
    command = [str(GRIDLEDGER), "index", "--rpc-url", world.url]
    command += ["--manifest", str(manifest), "--db", str(db), "--once", "--step-blocks", "5"]
    command += ["--state", str(db.parent / "state")]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)


def test_indexCommand_killedMidStep_resumesToTheSameRows(anvil_world: AnvilWorld, tmp_path: Path) -> None:
    manifest = _manifest(anvil_world, tmp_path)
    db = tmp_path / "index.sqlite"
    killed = _index(anvil_world, manifest, db, failpoints="index-mid-step=3")
    assert killed.returncode == -signal.SIGKILL
    resumed = _index(anvil_world, manifest, db)
    assert resumed.returncode == 0, resumed.stderr
    fresh = _follow(anvil_world, str(tmp_path / "fresh.sqlite"))
    fresh.catch_up()
    assert dump(fresh_index(str(db))) == dump(fresh._engine)


def _one_line_exit_2(result: object, reason: str) -> None:
    output = getattr(result, "output", "")
    assert getattr(result, "exit_code", None) == 2, output
    assert reason in output and "Traceback" not in output


def test_indexCommand_manifestOfAnotherChain_refused(anvil_world: AnvilWorld, tmp_path: Path) -> None:
    manifest = _manifest(anvil_world, tmp_path, chain_id=5)
    result = CliRunner().invoke(
        app,
        [
            "index",
            "--rpc-url",
            anvil_world.url,
            "--manifest",
            str(manifest),
            "--db",
            str(tmp_path / "i"),
            "--once",
        ],
    )
    _one_line_exit_2(result, "the node is chain 31337")


def test_indexCommand_whileAnotherIndexerWrites_refusedAndWritesNothing(
    anvil_world: AnvilWorld, tmp_path: Path
) -> None:
    manifest, db = _manifest(anvil_world, tmp_path), tmp_path / "index.sqlite"
    other_writer = WriterLock(open_database(str(db)), str(db))
    other_writer.hold()
    try:
        result = CliRunner().invoke(
            app,
            ["index", "--rpc-url", anvil_world.url, "--manifest", str(manifest), "--db", str(db), "--once"],
        )
    finally:
        other_writer.release()
    _one_line_exit_2(result, "another indexer is writing")
    assert not is_current(open_database(str(db)))  # not even migrated


def test_indexCommand_unreachableNode_refused(anvil_world: AnvilWorld, tmp_path: Path) -> None:
    manifest = _manifest(anvil_world, tmp_path)
    result = CliRunner().invoke(
        app, ["index", "--rpc-url", "http://127.0.0.1:9", "--manifest", str(manifest), "--once"]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_indexCommand_otherDatabaseKind_refused(anvil_world: AnvilWorld, tmp_path: Path) -> None:
    manifest = _manifest(anvil_world, tmp_path)
    result = CliRunner().invoke(
        app,
        ["index", "--rpc-url", anvil_world.url, "--manifest", str(manifest), "--db", "mysql://x/y", "--once"],
    )
    _one_line_exit_2(result, "postgresql:// URL")
