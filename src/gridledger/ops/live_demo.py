"""`gridledger serve --demo`: the whole platform on this machine with one command.

anvil runs a chain on 127.0.0.1; a simulated SimBench community deploys the contracts and
trades on it, one interval every few seconds (its meters' signed readings through the gateway,
its orders cleared and settled, carbon credits issued at the end of the day); the indexer
follows the chain into a SQLite file; the API serves the index and the web app. What the
browser shows is what the chain holds, as the indexer sees it, updating as the day goes on.

The community's market is run by the simulation's own operator (sim/run.py), which does not read
the API's order inbox, so the demo serves no order intake: POST /orders answers 503 (no inbox).
A participant's page, the dashboard and the carbon register are all live. /status gives anvil's
URL, so a wallet can add the chain.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from gridledger.chain.deploy import System
from gridledger.chain.rpc import RpcChain, anvil_node
from gridledger.errors import GridLedgerError
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.indexer import Indexer, ReorgDuringStep
from gridledger.indexer.source import RpcSource
from gridledger.sim.run import Simulation
from gridledger.sim.scenario import build_community

DEMO_CONFIRMATIONS = 2
INDEX_POLL_S = 1.0
# anvil starts an hour before the day, so the community's first interval lies ahead of it.
CHAIN_LEAD_S = 3_600


class _Stopped(Exception):
    """The demo is stopping: ends the community's run between two intervals."""


@dataclass
class LiveDemo:
    """What the demo runs, and how far it got."""

    rpc_url: str
    engine: Engine
    traders: list[str] = field(default_factory=list)
    system: System | None = None
    intervals_done: int = 0
    intervals_total: int = 0
    failure: str | None = None
    deployed: threading.Event = field(default_factory=threading.Event)


@contextmanager
def live_demo(
    folder: Path,
    prosumers: int,
    seconds_per_interval: float,
    log: Callable[[str], None],
) -> Iterator[LiveDemo]:
    """Start anvil, the community and the indexer; yield once the contracts are deployed and
    indexed; stop all of them (anvil by its PID) when the block ends."""
    community = build_community(prosumers=prosumers)
    start = int(community.interval_starts[0])
    stop = threading.Event()
    with anvil_node(start - CHAIN_LEAD_S) as url:
        engine = open_database(str(folder / "index.sqlite"))
        migrate(engine)
        demo = LiveDemo(url, engine, intervals_total=community.intervals)
        simulation = Simulation(RpcChain(url), community, seed=0)
        demo.traders = [str(address) for address in simulation.traders]

        def paced(k: int) -> None:
            demo.intervals_done = k + 1
            if stop.wait(seconds_per_interval):
                raise _Stopped

        def deployed(system: System) -> None:
            demo.system = system
            demo.deployed.set()

        def trade() -> None:
            try:
                simulation.run(on_interval=paced, on_deployed=deployed)
                log(f"the community's day is over: {demo.intervals_done} intervals traded")
            except _Stopped:
                return
            except GridLedgerError as failed:
                demo.failure = str(failed)
                log(f"the community stopped: {failed}")
            finally:
                demo.deployed.set()

        def follow() -> None:
            demo.deployed.wait()
            if demo.system is None:
                return
            indexer = Indexer(
                engine, RpcSource(url), dataclasses.asdict(demo.system), confirmation_depth=DEMO_CONFIRMATIONS
            )
            while not stop.is_set():
                try:
                    indexer.catch_up()
                except ReorgDuringStep:
                    continue
                except GridLedgerError as failed:  # the node is busy or away: try again
                    log(f"indexer: {failed}")
                stop.wait(INDEX_POLL_S)

        threads = [
            threading.Thread(target=trade, name="demo-community"),
            threading.Thread(target=follow, name="demo-index"),
        ]
        for thread in threads:
            thread.start()
        try:
            demo.deployed.wait()
            if demo.system is None:
                raise GridLedgerError(f"the demo community could not deploy: {demo.failure}")
            yield demo
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
            engine.dispose()
