"""The fault drill: meters publish at many times their normal rate while the gateway is killed
with SIGKILL at each of its named crash points (failpoints.GATEWAY_FAILPOINTS) and restarted,
the broker is restarted, and the chain node is stopped for a while; then it counts what the
meters produced against what the registry accepted. `make bench` reports its lost readings
(`iot.lost_readings_fault_run`) and tests/integration/test_gateway_faults.py asserts on it.

Everything runs on 127.0.0.1 and on anvil, whose development methods stand in for what a live
network does by itself (the deployment's setup by impersonation, time passing). The gateway
and the meters are the `gridledger gateway run` and `gridledger meter run` commands, each a
process of its own that the drill stops by its own PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import (
    EMERGENCY,
    GATEWAY,
    GRID_OPERATOR,
    MARKET_OPERATOR,
    METER_OPERATOR,
    REGULATOR,
    VERIFIER,
    System,
    deploy_system,
    governor_keys,
    named_account,
)
from gridledger.chain.hashing import keccak
from gridledger.chain.rpc import RpcChain, anvil_node, free_port
from gridledger.errors import GridLedgerError
from gridledger.iot import pki
from gridledger.iot.broker import MosquittoBroker
from gridledger.iot.failpoints import ENVIRONMENT
from gridledger.iot.meters import ReadingStore
from gridledger.iot.outbox import Outbox
from gridledger.iot.reconcile import reconcile
from gridledger.meter.gateway import ACCEPTED_TOPIC
from gridledger.meter.local_registration import register_local_meters
from gridledger.meter.signing import DeviceKey, registry_domain_separator
from gridledger.ops.deployment import Manifest
from gridledger.ops.keys import Keystore

FIRMWARE = keccak(text="gridledger-meter-fw-1.0")
RATED_W = 50_000  # any household of a SimBench LV grid, below the registry's large-device threshold
INTERVAL_S = 900
GRIDLEDGER = Path(sys.executable).parent / "gridledger"
PROCESS_WAIT_S = 180.0
KEY_PASSWORD = "drill password"

# The gateway's crash points in the order the drill visits them, each with how many times it
# is passed before the kill: the submission points first, while the meters still publish.
FAULT_SCHEDULE: tuple[tuple[str, int], ...] = (
    ("mid-batch", 1),  # a batch's transaction broadcast, its receipt not read yet
    ("after-submit", 1),  # the batch mined, its outcome not recorded in the outbox
    ("before-ack", 1),  # outcomes recorded, the devices not answered
    ("before-outbox-write", 1),  # readings received and verified, nothing stored, no PUBACK
    ("after-outbox-write", 2),  # readings stored, the broker not acknowledged
)


class DrillError(GridLedgerError):
    """A process of the drill did not do what the drill needs of it."""


@dataclass
class WorldMeter:
    name: str
    key: DeviceKey
    device_id: int
    folder: Path


@dataclass
class MeterWorld:
    """A deployment on anvil whose gateways hold real keys, meters provisioned by the project CA
    and registered, and Mosquitto with mutual TLS; all files under `folder`."""

    url: str
    admin: RpcChain
    system: System
    pki: Path
    broker: MosquittoBroker
    meters: list[WorldMeter]
    gateway_accounts: list[LocalAccount]
    domain: bytes
    first_interval: int
    folder: Path
    restart_node: Callable[[Callable[[], None]], None] = field(default=lambda _: None)

    @property
    def deployments(self) -> Path:
        return self.folder / "deployments"

    def accepted_on_chain(self) -> list[tuple[int, int]]:
        """(device, sequence) of every ReadingAccepted event, in chain order."""
        abi = load_artifact("SmartMeterRegistry")
        keys = []
        for log in self.admin.logs(self.system.registry, ACCEPTED_TOPIC):
            decoded = abi.decode_event(log)
            if decoded is not None:
                keys.append((int(decoded[1]["deviceId"]), int(decoded[1]["sequence"])))
        return keys


def pass_time_to_now(admin: RpcChain) -> None:
    """The chain's clock at the wall clock's, as a live chain's clock passes by itself."""
    admin._rpc("evm_setNextBlockTimestamp", [int(time.time())])
    admin._rpc("evm_mine", [])


@contextmanager
def meter_world(folder: Path, meters: int = 3, gateways: int = 1) -> Iterator[MeterWorld]:
    """The world, its node keeping its chain in a file: `restart_node(while_down)` stops it and
    starts it again on the same port. The meters were registered 23 hours ago, so their readings
    since are in the registry's one-day window and hours of intervals can be sent at once."""
    registered_at = int(time.time()) - 23 * 3600
    node_state, node_port = folder / "anvil-state.json", free_port()
    node_process = ExitStack()
    with ExitStack() as running:
        running.callback(node_process.close)
        url = node_process.enter_context(anvil_node(registered_at, state=node_state, port=node_port))
        admin = RpcChain(url)
        gateway_accounts = [Account.create() for _ in range(gateways)]
        regulator = named_account("regulator")
        system = deploy_system(
            admin,
            deployer=named_account("deployer"),
            multisig_signers=[key.address for key in governor_keys()],
            threshold=2,
            actors={
                METER_OPERATOR: [named_account("operator")],
                GATEWAY: [account.address for account in gateway_accounts],
                GRID_OPERATOR: [named_account("grid-operator")],
                MARKET_OPERATOR: [named_account("market-operator")],
                VERIFIER: [named_account("verifier")],
                REGULATOR: [regulator],
                EMERGENCY: [regulator],
            },
            firmware_hashes=[FIRMWARE],
            grid_fee_collector=named_account("dso"),
        )
        for account in gateway_accounts:
            admin._rpc("anvil_setBalance", [account.address, hex(10**21)])
        authority = folder / "pki"
        pki.create_ca(authority)
        provisioned = [pki.provision_device(authority, f"meter-{i:04d}") for i in range(meters)]
        keys = [pki.read_signing_key(device.folder) for device in provisioned]
        ids = register_local_meters(admin, system, [key.address for key in keys], RATED_W, FIRMWARE)
        devices = [
            WorldMeter(device.name, key, device_id, device.folder)
            for device, key, device_id in zip(provisioned, keys, ids, strict=True)
        ]
        for n in range(gateways):
            pki.provision_gateway(authority, f"g{n + 1}")
        broker = running.enter_context(MosquittoBroker(authority, folder / "broker"))
        pass_time_to_now(admin)
        contracts = {name: {"address": address} for name, address in vars(system).items()}
        Manifest(
            folder / "deployments" / f"{admin.chain_id}.json", admin.chain_id, {}, [], contracts, 0, True
        ).save()

        def restart_node(while_down: Callable[[], None]) -> None:
            node_process.close()  # anvil stops, writing its chain to node_state
            while_down()
            restarted = node_process.enter_context(
                anvil_node(int(time.time()), state=node_state, port=node_port)
            )
            if restarted != url:
                raise DrillError(f"the node came back at {restarted}, not {url}")
            pass_time_to_now(admin)

        yield MeterWorld(
            url, admin, system, authority, broker, devices, gateway_accounts,
            registry_domain_separator(admin.chain_id, system.registry),
            registered_at - registered_at % INTERVAL_S + INTERVAL_S, folder, restart_node,
        )  # fmt: skip


@dataclass(frozen=True)
class DrillResult:
    """What the meters produced against what the chain accepted, after the drill's faults."""

    produced: int
    accepted_once: int
    accepted_twice: int
    lost: int  # produced, never accepted
    meters_answered_accepted: int
    crashes: tuple[str, ...]  # crash points at which the gateway was killed
    reconciliation_complete: bool


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = PROCESS_WAIT_S) -> None:
    """Poll `condition` until it holds; DrillError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise DrillError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def _start(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process the drill started, by its own PID, if it still runs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def fault_drill(
    world: MeterWorld,
    intervals: int = 60,
    interval_wall_s: float = 0.4,
    schedule: tuple[tuple[str, int], ...] = FAULT_SCHEDULE,
) -> DrillResult:
    """Part 1: the meters send the first half of `intervals` while the gateway is killed at each
    crash point of `schedule` and started again. Part 2: they send the rest while the broker is
    restarted and then the node stopped until the gateway has met it down. Then the count."""
    folder = world.folder
    keystore, password = folder / "keystore", folder / "password"
    Keystore(keystore).import_key("gateway", world.gateway_accounts[0].key.hex(), KEY_PASSWORD)
    password.write_text(KEY_PASSWORD + "\n")
    outbox = folder / "g1-state" / "outbox.sqlite"
    common = ["--rpc-url", world.url, "--deployments", str(world.deployments)]
    gateway_command = [
        str(GRIDLEDGER), "gateway", "run", "--name", "g1", "--pki", str(world.pki),
        "--broker-port", str(world.broker.port), "--state", str(outbox.parent),
        "--keystore", str(keystore), "--password-file", str(password), "--reorder-window-s", "5", *common,
    ]  # fmt: skip

    def meter_command(count: int) -> list[str]:
        return [
            str(GRIDLEDGER), "meter", "run", "--all", "--pki", str(world.pki),
            "--broker-port", str(world.broker.port), "--store", str(folder / "meters.sqlite"),
            "--start", str(world.first_interval), "--intervals", str(count),
            "--interval-seconds", str(interval_wall_s), "--resend-after-s", "5", *common,
        ]  # fmt: skip

    gateway_log, meter_log = folder / "gateway.log", folder / "meters.log"

    def settled_batches() -> int:
        return gateway_log.read_text().count("batch settled")

    def finished(process: subprocess.Popen[bytes], log: Path, what: str) -> None:
        try:
            code = process.wait(timeout=PROCESS_WAIT_S)
        except subprocess.TimeoutExpired as late:
            _stop(process)  # its log then ends with where it was stuck
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise DrillError(f"{what} did not finish; the end of its log {log}:\n{tail}") from late
        if code != 0:
            raise DrillError(f"{what} exited {code}; its log: {log}")

    crashes = []
    started: list[subprocess.Popen[bytes]] = []
    try:
        meters = _start(meter_command(intervals // 2), meter_log)
        started.append(meters)
        for point, count in schedule:
            crashing = _start(gateway_command, gateway_log, {**os.environ, ENVIRONMENT: f"{point}={count}"})
            started.append(crashing)
            try:
                code = crashing.wait(timeout=PROCESS_WAIT_S)
            except subprocess.TimeoutExpired as late:
                raise DrillError(f"the gateway never reached {point}; its log: {gateway_log}") from late
            if code != -signal.SIGKILL:
                raise DrillError(f"the gateway exited {code} before {point}; its log: {gateway_log}")
            crashes.append(point)
        gateway = _start(gateway_command, gateway_log)
        started.append(gateway)
        finished(meters, meter_log, "the meters' first half")

        meters = _start(meter_command(intervals), meter_log)
        started.append(meters)
        before = settled_batches()
        wait_until(lambda: settled_batches() > before, "the second half flowing")
        world.broker.restart()
        world.restart_node(
            lambda: wait_until(
                lambda: "submission failed" in gateway_log.read_text(), "the gateway to meet the node down"
            )
        )
        finished(meters, meter_log, "the meters' second half")
        _stop(gateway)
        if gateway.returncode != 0:
            raise DrillError(f"the gateway did not stop cleanly; its log: {gateway_log}")
    finally:
        for process in started:
            _stop(process)

    produced = {(meter.device_id, sequence) for meter in world.meters for sequence in range(1, intervals + 1)}
    accepted = Counter(world.accepted_on_chain())
    with ReadingStore(folder / "meters.sqlite") as store:
        answered = sum(
            1 for meter in world.meters for answer in store.answers(meter.name) if answer.status == "accepted"
        )
    kept = Outbox(outbox)
    try:
        end = world.first_interval + intervals * INTERVAL_S
        report = reconcile(
            kept, world.admin, world.system.registry, world.first_interval, end, resubmit=False
        )
    finally:
        kept.close()
    return DrillResult(
        produced=len(produced),
        accepted_once=sum(1 for key in produced if accepted[key] == 1),
        accepted_twice=sum(1 for times in accepted.values() if times > 1),
        lost=sum(1 for key in produced if accepted[key] == 0),
        meters_answered_accepted=answered,
        crashes=tuple(crashes),
        reconciliation_complete=report.complete,
    )
