"""`gridledger simulate --transport mqtt`: the simulated day's readings go meters → Mosquitto
(mutual TLS) → the gateway's durable outbox → the registry, as they do live.

Everything runs on the simulation's thread except paho's network threads: each interval the
meters publish (QoS 1), the gateway takes the messages in until every reading is in its outbox,
then sends the outbox to the registry on the simulation's chain and answers the meters. The
meters keep the simulation's own EIP-712 keys (derived from the seed, so a run reproduces); the
project CA gives each its TLS identity, so the gateway here does not bind certificates to
signers (WrongDevice) as `gateway run` does. One connection per meter, each with its own network
thread: meant for a community's size, not a utility's (MAX_MQTT_METERS).
"""

from __future__ import annotations

import ssl
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gridledger.errors import SimulationError
from gridledger.iot import pki
from gridledger.iot.broker import MosquittoBroker, client_tls_context
from gridledger.iot.mqtt_gateway import GatewayConfig, MqttGateway
from gridledger.iot.payload import encode_reading
from gridledger.iot.submitter import OutboxSubmitter
from gridledger.iot.topics import readings_topic
from gridledger.meter.gateway import SubmittingChain
from gridledger.meter.signing import SignedReadingTuple
from gridledger.ops.operator import JsonLog

MAX_MQTT_METERS = 400
DELIVERY_TIMEOUT_S = 120.0
GATEWAY_NAME = "sim"


class _MeterConnection:
    """One meter's MQTT 5 connection with its own client certificate."""

    def __init__(self, name: str, tls: ssl.SSLContext, port: int) -> None:
        self.name = name
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        self._client.tls_set_context(tls)
        connected = threading.Event()
        self._client.on_connect = lambda *_: connected.set()
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        if not connected.wait(DELIVERY_TIMEOUT_S):
            raise SimulationError(f"meter {name} could not connect to the broker")

    def publish(self, payload: bytes) -> mqtt.MQTTMessageInfo:
        return self._client.publish(readings_topic(self.name), payload, qos=1)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class MqttTransport:
    """Meters, broker and gateway of a simulated day; `close()` stops them all."""

    def __init__(self, chain: SubmittingChain, registry: str, gateway_sender: str, max_batch: int) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="gridledger-mqtt-")
        root = Path(self._folder.name)
        self._pki = root / "pki"
        pki.create_ca(self._pki)
        gateway_folder = pki.provision_gateway(self._pki, GATEWAY_NAME).folder
        self._broker = MosquittoBroker(self._pki, root / "broker")
        self._broker.start()
        log = JsonLog(lambda line: None)
        config = GatewayConfig(
            name=GATEWAY_NAME,
            broker_port=self._broker.port,
            tls=client_tls_context(gateway_folder),
            outbox=root / "outbox.sqlite",
            state=root / "gateway",
            submit=False,
        )
        self.gateway = MqttGateway(config, chain, None, None, registry, log)
        self.gateway.open()
        if not self.gateway.subscribed.wait(DELIVERY_TIMEOUT_S):
            raise SimulationError("the gateway did not subscribe at the broker")
        self._submitter = OutboxSubmitter(
            self.gateway.outbox,
            chain,
            registry,
            gateway_sender,
            self.gateway.publish,
            log,
            self.gateway.counters,
            max_batch,
            reorder_window_s=0.0,
        )
        self._meters: dict[str, _MeterConnection] = {}

    def add_meter(self, name: str) -> None:
        """Provision meter `name` with the project CA and connect it."""
        folder = pki.provision_device(self._pki, name).folder
        self._meters[name] = _MeterConnection(name, client_tls_context(folder), self._broker.port)

    def deliver(self, readings: list[tuple[str, SignedReadingTuple]]) -> None:
        """Publish each (meter, reading), take them into the outbox, send them to the registry."""
        sent = [self._meters[name].publish(encode_reading(reading)) for name, reading in readings]
        for info in sent:
            info.wait_for_publish(DELIVERY_TIMEOUT_S)
        expected = {(reading[0], reading[1]) for _, reading in readings}
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while len(self.gateway.outbox.existing(expected)) < len(expected):
            if time.monotonic() > deadline:
                raise SimulationError(f"the gateway took in too few of {len(expected)} readings")
            self.gateway.intake_once(wait_s=0.05)
        self._submitter.drain()
        self._submitter.answer()

    def close(self) -> None:
        for meter in self._meters.values():
            meter.close()
        self.gateway.close()
        self._broker.stop()
        self._folder.cleanup()
