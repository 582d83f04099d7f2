"""What the meter-gateway tests share: a deployment on anvil whose gateways hold real keys,
registered meters provisioned by the project's CA, and Mosquitto with mutual TLS.

The deployment's setup (participants, devices) goes through anvil's impersonation, as the
simulation does; what is under test, the gateway, signs its own transactions with its own key.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from eth_account.signers.local import LocalAccount
from paho.mqtt.enums import CallbackAPIVersion

from gridledger.chain.live import LiveChain
from gridledger.chain.sender import JsonRpc, SenderPolicy
from gridledger.iot import pki
from gridledger.iot.broker import client_tls_context
from gridledger.iot.drill import FIRMWARE, INTERVAL_S, MeterWorld, WorldMeter, meter_world
from gridledger.iot.drill import wait_until as wait_until  # the tests wait as the drill does
from gridledger.iot.mqtt_gateway import GatewayConfig, MqttGateway
from gridledger.iot.topics import ack_topic, error_topic, readings_topic
from gridledger.meter.gateway import REJECTED_TOPIC
from gridledger.meter.signing import MeterReading
from gridledger.meter.signing import SignedReadingTuple as SignedReading
from gridledger.ops.operator import JsonLog

WAIT_S = 60.0  # bound of every wait on a message or an outcome


@dataclass
class IotWorld(MeterWorld):
    """The drill's world with what the tests do in it: gateways in threads, signed readings."""

    running: list[tuple[threading.Thread, threading.Event]] = field(default_factory=list)

    @property
    def tmp(self) -> Path:
        return self.folder

    def reading(
        self, meter: WorldMeter, k: int, flags: int = 0, export_wh: int | None = None
    ) -> SignedReading:
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
        return MqttGateway(
            settings, reader, submitter, sender, self.system.registry, log,
            device_signers=lambda: pki.device_signers(self.pki),
        )  # fmt: skip

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

    def rejected_on_chain(self) -> int:
        """How many ReadingRejected events the registry emitted."""
        return len(self.admin.logs(self.system.registry, REJECTED_TOPIC))


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


@contextmanager
def iot_world(tmp: Path, meters: int = 3, gateways: int = 1) -> Iterator[IotWorld]:
    """iot/drill.py's world in `tmp`; gateways the test started are stopped on leaving."""
    with meter_world(tmp, meters, gateways) as built:
        world = IotWorld(**vars(built))
        try:
            yield world
        finally:
            world.stop_all()
