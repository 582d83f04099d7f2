"""`gridledger serve --demo`: the whole platform on this machine with one command.

anvil runs a chain on 127.0.0.1; a simulated SimBench community deploys the contracts and
trades on it, one interval every few seconds; the indexer follows the chain into a SQLite file;
the API serves the index and the web app. What the browser shows is what the chain holds, as
the indexer sees it, updating as the day goes on.

The live services do the work where they exist:
- the meters' signed readings go through Mosquitto (mutual TLS) and the gateway's durable outbox
  (iot/sim_transport.py: `gateway run`'s MqttGateway and OutboxSubmitter) when Mosquitto is
  installed, else straight to the gateway's batcher (said in the log);
- every gate is closed by the live market operator (ops/operator.MarketService, what
  `gridledger operate` runs): the community's signed orders go into its inbox beside the orders
  the API took from wallets, and it freezes, publishes, clears and settles the book. The demo's
  clock (the chain's, moved on one interval every few seconds) tells it when, interval by
  interval, instead of its own polling loop.

A wallet of anvil's first dev account (its key is the one anvil prints, known to every dev tool:
for local chains only) is a verified participant with a grid node and test dollars, so a
newcomer can place orders from the web app and see them settle.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from gridledger.chain.deploy import System, named_account
from gridledger.chain.rpc import RpcChain, anvil_node
from gridledger.chain.sender import JsonRpc
from gridledger.errors import BrokerError, GridLedgerError
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.indexer import Indexer, ReorgDuringStep
from gridledger.indexer.source import RpcSource
from gridledger.iot.broker import mosquitto_binary
from gridledger.iot.sim_transport import MAX_MQTT_METERS
from gridledger.market.clearing import ClearingMechanism
from gridledger.market.orders import SignedOrder
from gridledger.market.settlement import BeforeSubmit, IntervalOutcome
from gridledger.ops.inbox import deliver
from gridledger.ops.operator import JsonLog, MarketService, OperatorConfig
from gridledger.sim.metered import MeteredChain
from gridledger.sim.run import GATE_DELAY_S, Simulation
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
    orders: Path  # the live operator's inbox (the API writes wallets' orders here)
    state: Path  # its frozen books and progress
    transport: str  # how the meters' readings travel
    guest: str  # the wallet a newcomer trades from (anvil's first dev account)
    guest_node: int = 0
    traders: list[str] = field(default_factory=list)
    system: System | None = None
    intervals_done: int = 0
    intervals_total: int = 0
    failure: str | None = None
    deployed: threading.Event = field(default_factory=threading.Event)


class InboxDesk:
    """The demo's gate: the community's orders go into the live operator's inbox, where the API
    puts wallets' orders too, and the live operator closes the gate on all of them."""

    def __init__(self, service: MarketService, orders: Path) -> None:
        self._service = service
        self._orders = orders

    def settle(
        self,
        interval_start: int,
        orders: list[SignedOrder],
        mechanism: ClearingMechanism,
        before_submit: BeforeSubmit,
    ) -> IntervalOutcome:
        for signed in orders:
            deliver(self._orders, signed)
        return self._service.process(interval_start, mechanism, before_submit)


def demo_transport(meters: int, log: Callable[[str], None]) -> str:
    """Readings over MQTT/TLS through the gateway's outbox when Mosquitto is here, else direct."""
    try:
        mosquitto_binary()
    except BrokerError as missing:
        log(f"meters hand their readings to the gateway directly: {missing}")
        return "in-process"
    if meters > MAX_MQTT_METERS:
        log(f"meters hand their readings to the gateway directly: {meters} meters, MQTT {MAX_MQTT_METERS}")
        return "in-process"
    return "mqtt"


@contextmanager
def live_demo(
    folder: Path,
    prosumers: int,
    seconds_per_interval: float,
    log: Callable[[str], None],
) -> Iterator[LiveDemo]:
    """Start anvil, the community with the live operator, and the indexer; yield once the
    contracts are deployed and indexed; stop all of them (anvil by its PID) when the block ends."""
    community = build_community(prosumers=prosumers)
    start = int(community.interval_starts[0])
    meters = sum(p.has_pv for p in community.participants) + sum(p.has_load for p in community.participants)
    stop = threading.Event()
    with anvil_node(start - CHAIN_LEAD_S) as url:
        engine = open_database(str(folder / "index.sqlite"))
        migrate(engine)
        guest = str(JsonRpc(url).request("eth_accounts", [])[0]).lower()
        demo = LiveDemo(
            url,
            engine,
            folder / "orders",
            folder / "state",
            demo_transport(meters, log),
            guest,
            intervals_total=community.intervals,
        )
        operator_log = (folder / "operator.log").open("a", encoding="utf-8")

        def live_operator(chain: MeteredChain, system: System) -> InboxDesk:
            config = OperatorConfig(demo.orders, demo.state, gate_delay_s=GATE_DELAY_S)
            log_line = JsonLog(lambda line: print(line, file=operator_log, flush=True))
            return InboxDesk(
                MarketService(chain, system, named_account("market-operator"), config, log_line), demo.orders
            )

        simulation = Simulation(
            RpcChain(url),
            community,
            seed=0,
            transport=demo.transport,
            market_desk=live_operator,
            outside_traders=[guest],
        )
        demo.traders = [str(address) for address in simulation.traders]

        def paced(k: int) -> None:
            demo.intervals_done = k + 1
            if stop.wait(seconds_per_interval):
                raise _Stopped

        def deployed(system: System) -> None:
            demo.system = system
            demo.guest_node = simulation.outside_nodes[guest]
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
            operator_log.close()
            engine.dispose()
