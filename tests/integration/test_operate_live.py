"""A community run for real, on anvil and on Hardhat Network (EDR), nothing impersonated,
every transaction signed by its sender's key: keys, deploy, manifest check, participants
verified, meters registered from a CSV, the gateway relaying signed readings, signed orders in
the operator's inbox, and `gridledger operate` (a process of its own, restarted every
interval) settling four intervals; then energy and payments reconcile. A second run kills the
operator with SIGKILL while its settlement waits in the node's pool: exactly one settlement,
the recovery in its log.

Each node's dev methods stand in for what a live network does by itself: ether from a faucet,
and time passing (the chain's clock moved to each interval's gate, as it would move in 15 minutes).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from live_cli import deploy
from typer.testing import CliRunner, Result

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System
from gridledger.chain.live import LiveChain
from gridledger.chain.rpc import anvil_node, free_port, hardhat_node
from gridledger.chain.sender import JsonRpc
from gridledger.cli.main import app
from gridledger.market.book import INTERVAL_SECONDS, IntervalBook, signed_order_json
from gridledger.market.escrow import deposit_energy, deposit_payment, mint_test_dollars
from gridledger.market.orders import Order, Side, TraderKey, market_domain_separator
from gridledger.meter.gateway import Gateway
from gridledger.meter.signing import DeviceKey, MeterReading, registry_domain_separator
from gridledger.ops.deployment import Manifest
from gridledger.ops.inbox import frozen_book_path
from gridledger.ops.keys import Keystore

START = 1_750_000_000  # anvil's genesis time
FIRST_INTERVAL = START - START % INTERVAL_SECONDS + 2 * INTERVAL_SECONDS  # after registration
FIRMWARE = "0x" + "ef" * 32
GATE_DELAY_S = 60
PROCESS_WAIT_S = 120.0  # bound of each wait for an operator process
GRIDLEDGER = Path(sys.executable).parent / "gridledger"
EXPORT_WH_PER_INTERVAL = 1_000
BUY_WH = 700
SELL_PRICE, BUY_PRICE = 100_000, 300_000  # per kWh, in micro-dollars
DEPOSIT_UNITS = 10_000_000


@dataclass
class Community:
    url: str
    rpc: JsonRpc
    deployments: Path
    keystore: Path
    password_file: Path
    system: System
    chain: LiveChain  # holds the deployer's, the gateway's and every trader's key
    deployer: str
    gateway_key: str
    sellers: list[TraderKey]
    buyers: list[TraderKey]
    meters: list[DeviceKey]
    orders: Path
    state: Path
    restart_node: Callable[[Callable[[], None]], None] | None = None

    def cli(self, *args: str) -> None:
        common = ["--rpc-url", self.url, "--deployments", str(self.deployments)]
        keys = ["--keystore", str(self.keystore), "--password-file", str(self.password_file)]
        signed = args[0] not in ("firmware",) and args[:2] != ("multisig", "sign")
        ran = CliRunner().invoke(app, [*args, *common, *(keys if signed else [])])
        assert ran.exit_code == 0, ran.output

    def chain_time(self) -> int:
        return int(self.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def pass_time_to(self, timestamp: int) -> None:
        """Time passing, as a live chain's clock passes by itself."""
        self.rpc.request("evm_setNextBlockTimestamp", [timestamp])
        self.rpc.request("evm_mine", [])

    def operate(
        self, first_interval: int, max_intervals: int | None = 1, *extra: str
    ) -> subprocess.Popen[str]:
        command = [
            str(GRIDLEDGER), "operate", "--rpc-url", self.url, "--deployments", str(self.deployments),
            "--keystore", str(self.keystore), "--password-file", str(self.password_file),
            "--orders", str(self.orders), "--state", str(self.state), "--gate-delay", str(GATE_DELAY_S),
            "--first-interval", str(first_interval), "--poll", "0.05",
            *(["--max-intervals", str(max_intervals)] if max_intervals is not None else []), *extra,
        ]  # fmt: skip
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )


def _finished(process: subprocess.Popen[str]) -> list[dict[str, object]]:
    try:
        out, err = process.communicate(timeout=PROCESS_WAIT_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert process.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def community(
    request: pytest.FixtureRequest, keystore: Path, password_file: Path, tmp_path: Path
) -> Iterator[Community]:
    """The community on the node `request.param` names: anvil, Hardhat Network (EDR), or an
    anvil that keeps its chain in a file and can be stopped and started again on its port
    (`restart_node`)."""
    node_kind = str(request.param)
    keys = {key.name: key.address for key in Keystore(keystore).stored()}
    password = password_file.read_text().strip()
    node_state, node_port = tmp_path / "anvil-state.json", free_port()
    running = ExitStack()

    def start_node() -> str:
        if node_kind == "hardhat":
            return running.enter_context(hardhat_node(START))
        if node_kind == "anvil":
            return running.enter_context(anvil_node(START))
        return running.enter_context(anvil_node(START, state=node_state, port=node_port))

    with running:
        url = start_node()
        dev_methods = node_kind.split("-")[0]  # their prefix: anvil_ or hardhat_
        rpc = JsonRpc(url)

        def faucet(address: str) -> None:
            rpc.request(f"{dev_methods}_setBalance", [address, hex(10**21)])  # the node's dev faucet

        for name in (
            "deployer",
            "regulator",
            "meter-operator",
            "grid-operator",
            "gateway",
            "market-operator",
        ):
            faucet(keys[name])
        deployments = tmp_path / "deployments"
        deploy(url, keystore, password_file, deployments)
        checked = CliRunner().invoke(
            app, ["deploy", "--check", "--rpc-url", url, "--deployments", str(deployments)]
        )
        assert checked.exit_code == 0, checked.output
        system = Manifest.load(deployments / "31337.json").system()
        traders: list[LocalAccount] = [Account.create() for _ in range(4)]
        for trader in traders:
            faucet(trader.address)
        sellers = [TraderKey(bytes(account.key)) for account in traders[:2]]
        buyers = [TraderKey(bytes(account.key)) for account in traders[2:]]
        accounts = [
            Keystore(keystore).unlock("deployer", password),
            Keystore(keystore).unlock("gateway", password),
            *traders,
        ]
        world = Community(
            url, rpc, deployments, keystore, password_file, system, LiveChain(rpc, accounts),
            keys["deployer"], keys["gateway"], sellers, buyers,
            [DeviceKey(bytes(Account.create().key)) for _ in sellers],
            tmp_path / "orders", tmp_path / "state",
        )  # fmt: skip
        _register(world, tmp_path)

        def restart_node(while_down: Callable[[], None]) -> None:
            running.close()  # anvil stops, writing its chain to node_state
            while_down()
            assert start_node() == url

        world.restart_node = restart_node
        yield world


def _register(world: Community, tmp_path: Path) -> None:
    """The community's setup through the commands a utility and a regulator run."""
    world.cli("zone", "create", "1", "--capacity-wh", str(10**9))
    for trader in (*world.sellers, *world.buyers):  # grid nodes 1, 2 (sellers), 3, 4 (buyers)
        world.cli("node", "register", trader.address, "--zone", "1", "--capacity-w", "20000")
        world.cli("participant", "verify", trader.address, "--jurisdiction", "276")
    proposal = tmp_path / "firmware.json"
    world.cli("firmware", "approve", FIRMWARE, "--out", str(proposal))
    for signer in ("signer-1", "signer-2"):
        ran = CliRunner().invoke(
            app,
            [
                "multisig", "sign", str(proposal), "--key", signer,
                "--keystore", str(world.keystore), "--password-file", str(world.password_file),
            ],
        )  # fmt: skip
        assert ran.exit_code == 0, ran.output
    world.cli("multisig", "execute", str(proposal))
    rows = [
        f"{meter.address},{seller.address},{node},prosumer,solar,5000,{FIRMWARE}"
        for node, (meter, seller) in enumerate(zip(world.meters, world.sellers, strict=True), start=1)
    ]
    meters_csv = tmp_path / "meters.csv"
    meters_csv.write_text(
        "device_address,owner,grid_node_id,kind,source,rated_power_w,firmware_hash\n" + "\n".join(rows)
    )
    world.cli("device", "register", "--csv", str(meters_csv))
    for buyer in world.buyers:
        mint_test_dollars(world.chain, world.system, world.deployer, buyer.address, DEPOSIT_UNITS)
        deposit_payment(world.chain, world.system, buyer.address, DEPOSIT_UNITS)


def _trade_interval(world: Community, k: int, first: int) -> int:
    """Interval k: meters report, sellers escrow, everyone's signed orders reach the inbox,
    and the chain's clock reaches the interval's gate. Returns the interval's start."""
    interval = first + k * INTERVAL_SECONDS
    world.pass_time_to(interval + INTERVAL_SECONDS + GATE_DELAY_S)
    registry_domain = registry_domain_separator(world.chain.chain_id, world.system.registry)
    gateway = Gateway(world.chain, world.system.registry, world.gateway_key)
    for device_id, meter in enumerate(world.meters, start=1):
        reading = MeterReading(
            device_id, k + 1, interval, 0, EXPORT_WH_PER_INTERVAL * (k + 1), 0, bytes.fromhex(FIRMWARE[2:])
        )
        gateway.enqueue(meter.sign_reading(reading, registry_domain))
    report = gateway.flush()
    assert len(report.accepted) == len(world.meters) and not report.rejected
    domain = market_domain_separator(world.chain.chain_id, world.system.market)
    inbox = world.orders / str(interval)
    inbox.mkdir(parents=True)
    expiry = interval + 2 * INTERVAL_SECONDS
    placed = []
    for node, seller in enumerate(world.sellers, start=1):
        deposit_energy(world.chain, world.system, seller.address, EXPORT_WH_PER_INTERVAL)
        placed.append(
            Order(seller.address, Side.SELL, 1, interval, EXPORT_WH_PER_INTERVAL, SELL_PRICE, node, expiry, k)
        )
    for node, buyer in enumerate(world.buyers, start=len(world.sellers) + 1):
        placed.append(Order(buyer.address, Side.BUY, 1, interval, BUY_WH, BUY_PRICE, node, expiry, k))
    traders = {t.address: t for t in (*world.sellers, *world.buyers)}
    for n, order in enumerate(placed):
        signed = traders[order.trader].sign_order(order, domain)
        (inbox / f"{n:02d}-{order.trader}.json").write_text(json.dumps(signed_order_json(signed)))
    return interval


def _account(world: Community, trader: str) -> tuple[int, int]:
    payment, energy = world.chain.call(
        load_artifact("EnergyMarket"), world.system.market, "accountOf", trader
    )
    return int(payment), int(energy)


def _settlements(world: Community) -> list[int]:
    market = load_artifact("EnergyMarket")
    logs = world.chain.logs(world.system.market, market.event_topic("IntervalSettled"))
    return [int(decoded[1]["intervalStart"]) for log in logs if (decoded := market.decode_event(log))]


@pytest.mark.parametrize("community", ["anvil", "hardhat"], indirect=True)
def test_operate_settlesFourIntervalsInOrder_andEverythingReconciles(community: Community) -> None:
    world = community
    first = FIRST_INTERVAL
    settled_volume = 0
    for k in range(4):
        interval = _trade_interval(world, k, first)
        lines = _finished(world.operate(first))
        events = {line["event"]: line for line in lines}
        assert "settled" in events, lines
        assert events["settled"]["interval"] == interval
        settled_volume += int(str(events["settled"]["volume_wh"]))
    assert settled_volume == 4 * len(world.buyers) * BUY_WH
    assert _settlements(world) == [first + k * INTERVAL_SECONDS for k in range(4)]
    health = json.loads((world.state / "health.json").read_text())
    assert health["lastSettledInterval"] == first + 3 * INTERVAL_SECONDS
    # Energy: every Wh the buyers hold in escrow is a Wh the sellers' escrow gave up.
    sellers = [_account(world, s.address) for s in world.sellers]
    buyers = [_account(world, b.address) for b in world.buyers]
    sold = 4 * len(world.sellers) * EXPORT_WH_PER_INTERVAL - sum(energy for _, energy in sellers)
    assert sold == sum(energy for _, energy in buyers) == settled_volume
    # Payments: the buyers' deposits are now the sellers', the grid's collector's and their own.
    fee_collector = Manifest.load(world.deployments / "31337.json").plan["gridFeeCollector"]
    held = sum(p for p, _ in sellers) + sum(p for p, _ in buyers) + _account(world, fee_collector)[0]
    assert held == len(world.buyers) * DEPOSIT_UNITS
    assert sum(p for p, _ in sellers) > 0
    # Each published book re-clears to its settlement.
    for k in range(4):
        interval = first + k * INTERVAL_SECONDS
        ran = CliRunner().invoke(
            app,
            [
                "market", "verify", "--interval", str(interval),
                "--book", str(world.state / "books" / f"{interval}.json"),
                "--market", world.system.market, "--rpc-url", world.url,
            ],
        )  # fmt: skip
        assert ran.exit_code == 0, ran.output


@pytest.mark.parametrize("community", ["anvil"], indirect=True)  # the node's pool read is anvil's
def test_operate_killedWhileItsSettlementIsPending_settlesExactlyOnce(community: Community) -> None:
    world = community
    first = FIRST_INTERVAL
    interval = _trade_interval(world, 0, first)
    world.rpc.request("evm_setAutomine", [False])
    operator = world.operate(first)
    settle = load_artifact("EnergyMarket").selector("settleInterval").hex()
    try:
        deadline = time.monotonic() + PROCESS_WAIT_S
        while True:
            pool = world.rpc.request("txpool_content", [])["pending"]
            pending = [tx for by_sender in pool.values() for tx in by_sender.values()]
            if any(str(tx["input"])[2:10] == settle for tx in pending):
                break
            if pending:
                world.rpc.request("evm_mine", [])  # the gate closure: mined as a node would
            assert operator.poll() is None, operator.communicate()
            assert time.monotonic() < deadline, "the operator never sent its settlement"
            time.sleep(0.02)  # polling the node's pool, not a timing assumption
        os.killpg(operator.pid, signal.SIGKILL)
        operator.wait(timeout=10)
    finally:
        if operator.poll() is None:
            os.killpg(operator.pid, signal.SIGKILL)
            operator.wait(timeout=10)
    world.rpc.request("evm_mine", [])  # the settlement the killed operator sent lands
    world.rpc.request("evm_setAutomine", [True])
    lines = _finished(world.operate(first))
    events = [line["event"] for line in lines]
    assert "already_settled" in events and "settled" not in events, lines
    assert _settlements(world) == [interval]
    progress = json.loads((world.state / "operator.json").read_text())
    assert progress == {"lastProcessed": interval, "lastSettled": interval}


class RunningOperator:
    """An operator process whose log lines are read as they come (a reader thread)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[dict[str, object]] = []
        self._seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._seen:
                self.lines.append(json.loads(line))
                self._seen.notify_all()

    def wait_for(self, event: str) -> dict[str, object]:
        """The first log line of `event`; fails after PROCESS_WAIT_S instead of hanging."""
        with self._seen:
            found = self._seen.wait_for(
                lambda: any(line["event"] == event for line in self.lines) or self.process.poll() is not None,
                timeout=PROCESS_WAIT_S,
            )
            match = next((line for line in self.lines if line["event"] == event), None)
        assert found and match is not None, f"no {event} in {self.lines}"
        return match

    def stop(self) -> int:
        """SIGTERM, then the exit code (SIGKILL if it does not stop in time)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=PROCESS_WAIT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            raise


@pytest.mark.parametrize("community", ["anvil-restartable"], indirect=True)
def test_operate_nodeStoppedAndRestarted_operatorWaitsThenSettles(community: Community) -> None:
    """The node goes down while the operator waits for the interval's gate, and comes back from
    its saved chain: the operator logs the outage, keeps retrying, and settles the interval."""
    world = community
    assert world.restart_node is not None
    # The gate 5 minutes after the interval: the meters' readings and the orders are in before it.
    gate_delay_s = 300
    operator = RunningOperator(world.operate(FIRST_INTERVAL, None, "--gate-delay", str(gate_delay_s)))
    try:
        operator.wait_for("started")
        world.restart_node(lambda: operator.wait_for("node_unreachable"))
        interval = _trade_interval(world, 0, FIRST_INTERVAL)
        assert not [line for line in operator.lines if line.get("interval") == interval]
        world.pass_time_to(interval + INTERVAL_SECONDS + gate_delay_s)
        settled = operator.wait_for("settled")
        assert settled["interval"] == interval
    finally:
        exit_code = operator.stop()
    assert exit_code == 0
    assert [line["event"] for line in operator.lines][-2:] == ["stopping", "stopped"]
    assert world.chain.call(load_artifact("EnergyMarket"), world.system.market, "isSettled", interval)[0]


def _verify_against_the_grid(world: Community, interval: int, book_path: Path, buses: Path) -> Result:
    """`gridledger market verify` of the interval's published book, rebuilding its limits from
    the feeder's data."""
    return CliRunner().invoke(
        app,
        [
            "market", "verify", "--interval", str(interval), "--book", str(book_path),
            "--market", world.system.market, "--rpc-url", world.url,
            "--grid", "1-LV-rural1--0-sw", "--grid-buses", str(buses),
        ],
    )  # fmt: skip


@pytest.mark.parametrize("community", ["anvil"], indirect=True)
def test_operate_withANetworkModel_clearsGridFeasiblyAndPostsMeasuredLoads(community: Community) -> None:
    """The four traders' nodes on buses of a SimBench feeder: the interval clears around the
    meters' measured loads (a household's export is well within the feeder), and the grid
    operator's key posts each metered node's load, 1 kWh in 15 minutes being 4 kW."""
    world = community
    buses = world.state.parent / "buses.csv"
    buses.write_text("grid_node_id,bus\n1,13\n2,12\n3,11\n4,10\n")
    interval = _trade_interval(world, 0, FIRST_INTERVAL)
    grid = ("--grid", "1-LV-rural1--0-sw", "--grid-buses", str(buses), "--grid-key", "grid-operator")
    events = {str(line["event"]): line for line in _finished(world.operate(FIRST_INTERVAL, 1, *grid))}
    assert events["settled"]["interval"] == interval
    assert events["settled"]["volume_wh"] == len(world.buyers) * BUY_WH
    assert events["settled"]["export_capped"] == 0
    assert events["loads_posted"]["nodes"] == len(world.meters)
    # The book publishes the measured loads its caps follow from; with the grid's data, verify
    # rebuilds the caps.
    book_path = frozen_book_path(world.state, interval)
    assert IntervalBook.load(book_path).base_case is not None
    ran = _verify_against_the_grid(world, interval, book_path, buses)
    assert ran.exit_code == 0, ran.output
    assert "the limits it was cleared under are the grid's at its base case" in ran.output
    grid_abi = load_artifact("GridManagement")
    for node in (1, 2):  # the sellers' metered nodes
        status = world.chain.call(grid_abi, world.system.grid, "getGridStatus", node)[0]
        assert status[4] == EXPORT_WH_PER_INTERVAL * 4  # GridStatus.loadW


@pytest.mark.parametrize("community", ["anvil"], indirect=True)
def test_operate_withNodalPricing_settlesAtNodePrices_andTheBookProvesItOptimal(community: Community) -> None:
    """The same feeder with nodal pricing and a price of lost energy: the operator publishes the
    book with its certificate, and `market verify` checks the settlement against it."""
    world = community
    buses = world.state.parent / "buses.csv"
    buses.write_text("grid_node_id,bus\n1,13\n2,12\n3,11\n4,10\n")
    interval = _trade_interval(world, 0, FIRST_INTERVAL)
    grid = (
        "--grid",
        "1-LV-rural1--0-sw",
        "--grid-buses",
        str(buses),
        "--pricing",
        "nodal",
        "--loss-price",
        "350000",
    )
    events = {str(line["event"]): line for line in _finished(world.operate(FIRST_INTERVAL, 1, *grid))}
    assert events["settled"]["interval"] == interval
    book_path = frozen_book_path(world.state, interval)
    book = IntervalBook.load(book_path)
    assert book.certificate is not None and book.certificate["lossPricePerKWh"] == 350_000
    ran = _verify_against_the_grid(world, interval, book_path, buses)
    assert ran.exit_code == 0, ran.output
    assert "nodal pricing" in ran.output and "optimal by its book's certificate" in ran.output
    # Rebuilt from the grid's data and the meters' loads the book published.
    assert "the limits it was cleared under are the grid's at its base case" in ran.output
    # The sellers' node prices, the rent and the loss charges, as the book publishes them.
    assert f"Buyers pay {book.certificate['buyPricePerKWh']} per kWh" in ran.output
    assert f"congestion rent {book.certificate['congestionRentUnits']} and loss charges" in ran.output
    published = {n["gridNodeId"]: n["sellPricePerKWh"] for n in book.certificate["nodes"]}
    assert all(published[node] <= book.certificate["buyPricePerKWh"] for node in (1, 2))
