"""The indexer's bench lines (`make bench`):

- `index.events_per_s`: a simulated community's day (every event of its deployment, recorded
  from the in-process EVM) indexed into a new SQLite file: decoded, written to its tables and
  the audit feed, blocks kept, confirmations marked — the whole `Indexer.catch_up`, with the
  node taken out by a recorded source.
- `index.lag_blocks`: anvil mining a block a second while transactions keep coming; the indexer
  polls every 0.25 s; the largest gap between the node's head and the index's cursor, seen just
  before each poll (where it is largest) over 30 s.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from pathlib import Path

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import deploy_local_system, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.rpc import RpcChain, anvil_node
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.decode import EventDecoder
from gridledger.indexer.indexer import Indexer
from gridledger.indexer.source import EmbeddedSource, RecordedSource, RpcSource
from gridledger.sim.run import Simulation
from gridledger.sim.scenario import build_community

BENCH_PROSUMERS = 300
LIVE_RUN_S = 30.0
POLL_S = 0.25
START_TIME = 1_750_000_500


def _line(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.0f} {unit}", flush=True)


def events_per_s() -> float:
    community = build_community(prosumers=BENCH_PROSUMERS)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    result = Simulation(chain, community, seed=0).run()
    deployment = dataclasses.asdict(result.system)
    recorded = RecordedSource.record(EmbeddedSource(chain), EventDecoder(deployment).addresses)
    events = len(recorded.logs(0, recorded.head(), list(deployment.values())))
    with tempfile.TemporaryDirectory(prefix="gridledger-index-bench-") as folder:
        engine = open_database(str(Path(folder) / "index.sqlite"))
        migrate(engine)
        indexer = Indexer(engine, recorded, deployment, step_blocks=10_000)
        began = time.perf_counter()
        indexer.catch_up()
        elapsed = time.perf_counter() - began
        engine.dispose()
    return events / elapsed


def lag_blocks() -> int:
    payment = load_artifact("TestStablecoin")
    deployer = named_account("deployer")
    with anvil_node(START_TIME) as url, tempfile.TemporaryDirectory(prefix="gridledger-lag-") as folder:
        rpc = RpcChain(url)
        system = deploy_local_system(rpc, [])
        rpc._rpc("evm_setIntervalMining", [1])
        engine = open_database(str(Path(folder) / "index.sqlite"))
        migrate(engine)
        indexer = Indexer(engine, RpcSource(url), dataclasses.asdict(system), confirmation_depth=12)
        indexer.catch_up()
        stop = threading.Event()

        def traffic() -> None:
            holder = 0
            while not stop.is_set():
                holder += 1
                rpc.transact(deployer, payment, system.payment_token, "mint", named_account(f"h{holder}"), 1)

        sender = threading.Thread(target=traffic, daemon=True)
        sender.start()
        worst = 0
        ends = time.monotonic() + LIVE_RUN_S
        while time.monotonic() < ends:
            # Just before a poll the index is furthest behind: that is the lag a reader meets.
            worst = max(worst, int(rpc.w3.eth.block_number) - indexer.state().cursor_block)
            indexer.catch_up()
            time.sleep(POLL_S)
        stop.set()
        sender.join(timeout=30)
        engine.dispose()
    return worst


def run_index() -> None:
    _line("index.events_per_s", events_per_s(), "events/s")
    _line("index.lag_blocks", lag_blocks(), "blocks")


if __name__ == "__main__":
    run_index()
