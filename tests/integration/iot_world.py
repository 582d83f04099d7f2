"""What the meter-gateway tests share: a deployment on anvil whose gateways hold real keys,
registered meters provisioned by the project's CA, and Mosquitto with mutual TLS.

The deployment's setup (participants, devices) goes through anvil's impersonation, as the
simulation does; what is under test, the gateway, signs its own transactions with its own key.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from eth_account import Account
from eth_account.signers.local import LocalAccount
from paho.mqtt.enums import CallbackAPIVersion

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
from gridledger.chain.live import LiveChain
from gridledger.chain.rpc import RpcChain, anvil_node
from gridledger.chain.sender import JsonRpc, SenderPolicy
from gridledger.iot import pki
from gridledger.iot.broker import MosquittoBroker, client_tls_context, free_port
from gridledger.iot.mqtt_gateway import GatewayConfig, MqttGateway
from gridledger.iot.topics import ack_topic, error_topic, readings_topic
from gridledger.meter.gateway import ACCEPTED_TOPIC, REJECTED_TOPIC
from gridledger.meter.local_registration import register_local_meters
from gridledger.meter.signing import (
    DeviceKey,
    MeterReading,
    registry_domain_separator,
)
from gridledger.meter.signing import (
    SignedReadingTuple as SignedReading,
)
from gridledger.ops.deployment import Manifest
from gridledger.ops.operator import JsonLog

FIRMWARE = keccak(text="gridledger-meter-fw-1.0")
RATED_W = 50_000  # any household of a SimBench LV grid, below the registry's large-device threshold
INTERVAL_S = 900
WAIT_S = 60.0  # bound of every wait on a message or an outcome


@dataclass
class Meter:
    name: str
    key: DeviceKey
    device_id: int
    folder: Path


@dataclass
class IotWorld:
    url: str
    admin: RpcChain
    system: System
    pki: Path
    broker: MosquittoBroker
    meters: list[Meter]
    gateway_accounts: list[LocalAccount]
    domain: bytes
    first_interval: int
    tmp: Path
    running: list[tuple[threading.Thread, threading.Event]] = field(default_factory=list)
    restart_node: Callable[[Callable[[], None]], None] | None = None

    def reading(self, meter: Meter, k: int, flags: int = 0, export_wh: int | None = None) -> SignedReading:
        """Meter `meter`'s signed reading of its k-th interval (k from 0): 100 Wh exported a time."""
        exported = 100 * (k + 1) if export_wh is None else export_wh
        start = self.first_interval + k * INTERVAL_S
        signed = MeterReading(meter.device_id, k + 1, start, 0, exported, flags, FIRMWARE)
        return meter.key.sign_reading(signed, self.domain)

    def gateway(self, name: str, account: LocalAccount | None, **config: object) -> MqttGateway:
        """A gateway of the group, submitting with `account` (None: intake only)."""
        folder = pki.gateway_folder(self.pki, name)
        rpc = JsonRpc(self.url)
        reader = LiveChain(rpc, [])
        submitter = None if account is None else LiveChain(rpc, [account], SenderPolicy(confirmations=1))
        settings = GatewayConfig(
            name=name,
            broker_port=self.broker.port,
            tls=client_tls_context(folder),
            outbox=self.tmp / f"{name}.sqlite",
            state=self.tmp / f"{name}-state",
            submit=account is not None,
            reorder_window_s=5.0,
            **config,  # type: ignore[arg-type]
        )
        log = JsonLog(lambda line: print(line, file=sys.stderr))
        sender = None if account is None else account.address
        return MqttGateway(settings, reader, submitter, sender, self.system.registry, log)

    def start(self, gateway: MqttGateway) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=gateway.run, args=(stop,), daemon=True)
        thread.start()
        self.running.append((thread, stop))
        # The group's shared subscription exists once the broker granted it: readings
        # published before that would have no subscriber.
        assert gateway.subscribed.wait(WAIT_S), "the gateway did not subscribe"

    def stop_all(self) -> None:
        for _, stop in self.running:
            stop.set()
        for thread, _ in self.running:
            thread.join(timeout=WAIT_S)
        self.running.clear()

    def accepted_on_chain(self) -> list[tuple[int, int]]:
        """(device, sequence) of every ReadingAccepted event, in chain order."""
        abi = load_artifact("SmartMeterRegistry")
        keys = []
        for log in self.admin.logs(self.system.registry, ACCEPTED_TOPIC):
            decoded = abi.decode_event(log)
            assert decoded is not None
            keys.append((int(decoded[1]["deviceId"]), int(decoded[1]["sequence"])))
        return keys

    def rejected_on_chain(self) -> int:
        """How many ReadingRejected events the registry emitted."""
        return len(self.admin.logs(self.system.registry, REJECTED_TOPIC))


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Poll `condition` until it holds; fail the test naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


class DeviceClient:
    """One device's MQTT connection (paho, MQTT 5, its own certificate): publishes and collects
    its answers."""

    def __init__(self, folder: Path, name: str, port: int) -> None:
        self.name = name
        self.answers: list[bytes] = []
        self.errors: list[bytes] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        self.client.tls_set_context(client_tls_context(folder))
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([(ack_topic(name), 1), (error_topic(name), 1)])
        assert self._subscribed.wait(WAIT_S), f"{name} not subscribed"

    def _on_message(self, _: object, __: object, message: mqtt.MQTTMessage) -> None:
        (self.errors if message.topic.endswith("/error") else self.answers).append(bytes(message.payload))

    def publish(self, payload: bytes, topic: str | None = None) -> None:
        info = self.client.publish(topic or readings_topic(self.name), payload, qos=1)
        info.wait_for_publish(WAIT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def pass_time_to_now(admin: RpcChain) -> None:
    """The chain's clock at the wall clock's, as a live chain's clock passes by itself."""
    admin._rpc("evm_setNextBlockTimestamp", [int(time.time())])
    admin._rpc("evm_mine", [])


@contextmanager
def iot_world(tmp: Path, meters: int = 3, gateways: int = 1) -> Iterator[IotWorld]:
    """Anvil at the current time, the system deployed with `gateways` gateway keys, `meters`
    devices provisioned and registered, and a TLS-only Mosquitto. The node keeps its chain in a
    file: `world.restart_node(while_down)` stops it and starts it again on the same port."""
    # The meters were registered 23 hours ago: their readings since are all in the registry's
    # one-day window, and a test has hours of intervals to send at once.
    registered_at = int(time.time()) - 23 * 3600
    node_state, node_port = tmp / "anvil-state.json", free_port()
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
        folder = tmp / "pki"
        pki.create_ca(folder)
        provisioned = [pki.provision_device(folder, f"meter-{i:04d}") for i in range(meters)]
        keys = [pki.read_signing_key(device.folder) for device in provisioned]
        ids = register_local_meters(admin, system, [key.address for key in keys], RATED_W, FIRMWARE)
        devices = [
            Meter(device.name, key, device_id, device.folder)
            for device, key, device_id in zip(provisioned, keys, ids, strict=True)
        ]
        for n in range(gateways):
            pki.provision_gateway(folder, f"g{n + 1}")
        broker = running.enter_context(MosquittoBroker(folder, tmp / "broker"))
        first = registered_at - registered_at % INTERVAL_S + INTERVAL_S
        pass_time_to_now(admin)
        contracts = {name: {"address": address} for name, address in vars(system).items()}
        manifest = tmp / "deployments" / f"{admin.chain_id}.json"
        Manifest(manifest, admin.chain_id, {}, [], contracts, 0, True).save()
        world = IotWorld(
            url, admin, system, folder, broker, devices, gateway_accounts,
            registry_domain_separator(admin.chain_id, system.registry), first, tmp,
        )  # fmt: skip

        def restart_node(while_down: Callable[[], None]) -> None:
            node_process.close()  # anvil stops, writing its chain to node_state
            while_down()
            restarted = node_process.enter_context(
                anvil_node(int(time.time()), state=node_state, port=node_port)
            )
            assert restarted == url
            pass_time_to_now(admin)

        world.restart_node = restart_node
        try:
            yield world
        finally:
            world.stop_all()
