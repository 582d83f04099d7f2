"""The meter path's bench lines (`make bench`):

- `iot.readings_per_s`: device-signed readings from meters through Mosquitto with mutual TLS
  into one gateway's durable outbox (decoded, signature verified, written with
  synchronous=FULL, acknowledged to the broker), from the first message taken in to the last
  stored. The meters publish from a process of their own, one TLS connection each.
- `iot.lost_readings_fault_run`: readings the meters produced that the chain never accepted,
  after the fault drill (iot/drill.py).
- `iot.end_to_end_p99_s`: 1,000 meters each publish one reading at once; the 99th percentile of
  the time from the publish to the reading recorded accepted by the gateway (its receipt in a
  block of anvil mining one block a second).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import GATEWAY, System, deploy_local_system, governor_keys, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.governance import Governance
from gridledger.chain.hashing import keccak
from gridledger.chain.live import LiveChain
from gridledger.chain.rpc import RpcChain, anvil_node
from gridledger.chain.sender import JsonRpc
from gridledger.iot import pki
from gridledger.iot.broker import MosquittoBroker, client_tls_context
from gridledger.iot.drill import fault_drill, meter_world
from gridledger.iot.meters import publish_burst
from gridledger.iot.mqtt_gateway import GatewayConfig, MqttGateway
from gridledger.iot.outbox import QUEUED, Outbox
from gridledger.iot.payload import encode_reading
from gridledger.meter.local_registration import register_local_meters
from gridledger.meter.signing import DeviceKey, MeterReading, registry_domain_separator
from gridledger.meter.verifier import ReadingChain
from gridledger.ops.operator import JsonLog

FIRMWARE = keccak(text="iot-bench-fw")
RATED_W = 10_000
INTERVAL_S = 900
THROUGHPUT_DEVICES = 50
THROUGHPUT_READINGS_PER_DEVICE = 400
LATENCY_METERS = 1_000
WAIT_S = 600.0


def _line(name: str, value: float, unit: str, decimals: int = 0) -> None:
    print(f"BENCH {name} {value:.{decimals}f} {unit}", flush=True)


def _publish(port: int, folders: dict[str, Path], payloads: dict[str, list[bytes]], began: object) -> None:
    """The meters' process: one connection per device, every payload at QoS 1."""

    def mark(wall_s: float) -> None:
        began.value = wall_s  # type: ignore[attr-defined]

    asyncio.run(publish_burst(port, folders, payloads, on_first_publish=mark))


def _meters(pki_folder: Path, count: int) -> tuple[list[DeviceKey], dict[str, Path]]:
    pki.create_ca(pki_folder)
    keys, folders = [], {}
    for i in range(count):
        name = f"bench-{i:04d}"
        folders[name] = pki.provision_device(pki_folder, name).folder
        keys.append(DeviceKey(keccak(text=f"iot-bench-meter-{i}")))
    pki.provision_gateway(pki_folder, "bench")
    return keys, folders


def _signed_payloads(
    keys: list[DeviceKey],
    ids: list[int],
    names: list[str],
    domain: bytes,
    first_interval: int,
    per_device: int,
) -> dict[str, list[bytes]]:
    return {
        name: [
            encode_reading(
                key.sign_reading(
                    MeterReading(
                        device_id, k + 1, first_interval + k * INTERVAL_S, 0, 10 * (k + 1), 0, FIRMWARE
                    ),
                    domain,
                )
            )
            for k in range(per_device)
        ]
        for key, device_id, name in zip(keys, ids, names, strict=True)
    }


def _start_meters(
    gateway: MqttGateway, port: int, folders: dict[str, Path], payloads: dict[str, list[bytes]]
) -> tuple[BaseProcess, Any]:
    """Once `gateway` is subscribed, the meters' process (spawned: a second core, no copy of
    this process's EVM) and the shared value it sets to the wall time of its first publish."""
    if not gateway.subscribed.wait(WAIT_S):
        raise SystemExit("iot bench: the gateway did not subscribe")
    context = multiprocessing.get_context("spawn")
    began = context.Value("d", 0.0)
    meters = context.Process(target=_publish, args=(port, folders, payloads, began))
    meters.start()
    return meters, began


def _gateway(
    folder: Path,
    port: int,
    reader: ReadingChain,
    submitter: LiveChain | None,
    sender: str | None,
    system: System,
) -> MqttGateway:
    config = GatewayConfig(
        name="bench",
        broker_port=port,
        tls=client_tls_context(pki.gateway_folder(folder / "pki", "bench")),
        outbox=folder / "outbox.sqlite",
        state=folder / "gateway",
        submit=submitter is not None,
        reconcile_every_s=3600.0,
    )
    return MqttGateway(config, reader, submitter, sender, system.registry, JsonLog(lambda line: None))


def run_readings_per_s() -> None:
    with tempfile.TemporaryDirectory(prefix="gridledger-iot-bench-") as work:
        folder = Path(work)
        chain = EmbeddedChain(1_750_000_500)
        system = deploy_local_system(chain, [FIRMWARE])
        keys, folders = _meters(folder / "pki", THROUGHPUT_DEVICES)
        ids = register_local_meters(chain, system, [key.address for key in keys], RATED_W, FIRMWARE)
        domain = registry_domain_separator(chain.chain_id, system.registry)
        payloads = _signed_payloads(
            keys, ids, list(folders), domain, 1_750_000_500, THROUGHPUT_READINGS_PER_DEVICE
        )
        total = THROUGHPUT_DEVICES * THROUGHPUT_READINGS_PER_DEVICE
        with MosquittoBroker(folder / "pki", folder / "broker") as broker:
            gateway = _gateway(folder, broker.port, chain, None, None, system)
            gateway.open()
            try:
                meters, _ = _start_meters(gateway, broker.port, folders, payloads)
                first_s = None
                deadline = time.monotonic() + WAIT_S
                while gateway.counters.stored < total:
                    if gateway.intake_once() and first_s is None:
                        first_s = time.perf_counter()
                    if time.monotonic() > deadline:
                        raise SystemExit(f"iot bench: {gateway.counters.stored} of {total} readings stored")
                assert first_s is not None
                seconds = time.perf_counter() - first_s
                meters.join(timeout=WAIT_S)
            finally:
                gateway.close()
    _line("iot.readings_per_s", total / seconds, "readings/s")


def run_end_to_end_p99() -> None:
    registered_at = int(time.time()) - 23 * 3600
    with (
        tempfile.TemporaryDirectory(prefix="gridledger-iot-bench-") as work,
        anvil_node(registered_at) as url,
    ):
        folder = Path(work)
        admin = RpcChain(url)
        system = deploy_local_system(admin, [FIRMWARE])
        keys, folders = _meters(folder / "pki", LATENCY_METERS)
        ids = register_local_meters(admin, system, [key.address for key in keys], RATED_W, FIRMWARE)
        gateway_key: LocalAccount = Account.from_key(keccak(text="iot-bench-gateway"))
        governance = Governance(admin, system.multisig, governor_keys()[:2], named_account("deployer"))
        governance.execute(
            load_artifact("GridAccessManager"), system.manager, "grantRole", GATEWAY, gateway_key.address, 0
        )
        node = JsonRpc(url)
        node.request("anvil_setBalance", [gateway_key.address, hex(10**21)])
        node.request("evm_setNextBlockTimestamp", [int(time.time())])
        node.request("evm_mine", [])
        first_interval = registered_at - registered_at % INTERVAL_S + INTERVAL_S
        domain = registry_domain_separator(admin.chain_id, system.registry)
        payloads = _signed_payloads(keys, ids, list(folders), domain, first_interval, 1)
        node.request("evm_setAutomine", [False])
        node.request("evm_setIntervalMining", [1])
        with MosquittoBroker(folder / "pki", folder / "broker") as broker:
            gateway = _gateway(folder, broker.port, LiveChain(node, []), LiveChain(node, [gateway_key]),
                               gateway_key.address, system)  # fmt: skip
            stop = threading.Event()
            service = threading.Thread(target=gateway.run, args=(stop,), daemon=True)
            service.start()
            try:
                meters, began = _start_meters(gateway, broker.port, folders, payloads)
                deadline = time.monotonic() + WAIT_S
                while gateway.counters.accepted + gateway.counters.rejected < LATENCY_METERS:
                    if time.monotonic() > deadline:
                        raise SystemExit(
                            f"iot bench: {gateway.counters.accepted} of {LATENCY_METERS} accepted"
                        )
                    stop.wait(0.2)
                meters.join(timeout=WAIT_S)
            finally:
                stop.set()
                service.join(timeout=WAIT_S)
        outbox = Outbox(folder / "outbox.sqlite")
        rows = outbox.readings()
        outbox.close()
    if any(row.status == QUEUED or row.reason for row in rows) or len(rows) != LATENCY_METERS:
        raise SystemExit("iot bench: not every reading was accepted")
    latencies = sorted(float(row.settled_at or 0.0) - began.value for row in rows)
    _line("iot.end_to_end_p99_s", latencies[int(0.99 * (len(latencies) - 1))], "s", decimals=2)


def run_fault_drill() -> None:
    """The fault drill of iot/drill.py (10 meters, 60 intervals, every crash point, a broker
    restart and a node outage): readings produced and never accepted."""
    with (
        tempfile.TemporaryDirectory(prefix="gridledger-iot-") as work,
        meter_world(Path(work), 10, 1) as world,
    ):
        result = fault_drill(world)
    if result.accepted_twice:
        raise SystemExit(f"iot bench: {result.accepted_twice} readings accepted twice in the fault drill")
    _line("iot.lost_readings_fault_run", result.lost, "readings")


def run_iot() -> None:
    run_readings_per_s()
    run_end_to_end_p99()
    run_fault_drill()


if __name__ == "__main__":
    run_iot()
