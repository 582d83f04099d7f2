"""The platform's Mosquitto, started for real from iot/broker.py, against real mutual TLS: who may
connect, publish and read. Clients are paho-mqtt 2 over MQTT 5; every wait is on an event with a
bounded timeout, and every broker is stopped by its own PID when its test ends."""

from __future__ import annotations

import queue
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from gridledger.errors import BrokerError
from gridledger.iot import pki
from gridledger.iot.broker import HOST, MosquittoBroker, client_tls_context
from gridledger.iot.topics import ack_topic, readings_topic, shared_readings_filter

pytestmark = pytest.mark.mosquitto

TIMEOUT = 10.0
NOT_AUTHORIZED = 135


@dataclass(frozen=True)
class Pki:
    folder: Path
    meter_1: pki.ProvisionedDevice
    meter_2: pki.ProvisionedDevice
    gateway: pki.ProvisionedGateway
    gateway_2: pki.ProvisionedGateway
    stranger: pki.ProvisionedDevice  # CN meter-1, but issued by another CA


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    pki.create_ca(folder)
    other = tmp_path_factory.mktemp("other-pki")
    pki.create_ca(other, common_name="somebody else's CA")
    return Pki(
        folder,
        pki.provision_device(folder, "meter-1"),
        pki.provision_device(folder, "meter-2"),
        pki.provision_gateway(folder, "north"),
        pki.provision_gateway(folder, "south"),
        pki.provision_device(other, "meter-1"),
    )


@pytest.fixture
def broker(platform: Pki, tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(platform.folder, tmp_path / "broker") as running:
        yield running


class Probe:
    """A paho MQTT 5 client whose CONNACK, SUBACKs, PUBACKs and messages are events to wait on."""

    def __init__(self, client_id: str, context: ssl.SSLContext | None) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if context is not None:
            self.client.tls_set_context(context)
        self.connack: ReasonCode | None = None
        self.answered = threading.Event()  # a CONNACK came, or the connection ended without one
        self.acks: dict[int, list[ReasonCode] | ReasonCode] = {}
        self.acked = threading.Condition()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = lambda client, userdata, message: self.messages.put(message)

    def connect(self, port: int, clean_start: bool = True) -> bool:
        """Whether the broker accepted the connection (CONNACK success) within TIMEOUT."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 0 if clean_start else 3600
        self.answered.clear()
        try:
            self.client.connect(HOST, port, clean_start=clean_start, properties=properties)
        except (ssl.SSLError, OSError):
            return False  # refused within the TLS handshake itself
        self.client.loop_start()
        assert self.answered.wait(TIMEOUT), "neither a CONNACK nor a disconnection"
        return self.connack is not None and not self.connack.is_failure

    def subscribe(self, topic: str) -> ReasonCode:
        _, mid = self.client.subscribe(topic, qos=1)
        codes = self._ack(mid)
        assert isinstance(codes, list)
        return codes[0]

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        """The PUBACK's reason code of a QoS 1 publication."""
        mid = self.client.publish(topic, payload, qos=1).mid
        code = self._ack(mid)
        assert isinstance(code, ReasonCode)
        return code

    def next_message(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=TIMEOUT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _ack(self, mid: int) -> list[ReasonCode] | ReasonCode:
        with self.acked:
            assert self.acked.wait_for(lambda: mid in self.acks, TIMEOUT), f"no acknowledgement of {mid}"
            return self.acks.pop(mid)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, code: ReasonCode, properties: Any) -> None:
        self.connack = code
        self.answered.set()

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, code: ReasonCode, properties: Any
    ) -> None:
        self.answered.set()

    def _on_subscribe(
        self, client: Any, userdata: Any, mid: int, codes: list[ReasonCode], properties: Any
    ) -> None:
        with self.acked:
            self.acks[mid] = codes
            self.acked.notify_all()

    def _on_publish(self, client: Any, userdata: Any, mid: int, code: ReasonCode, properties: Any) -> None:
        with self.acked:
            self.acks[mid] = code
            self.acked.notify_all()


@pytest.fixture
def probes() -> Iterator[list[Probe]]:
    made: list[Probe] = []
    yield made
    for probe in made:
        probe.close()


def connected(probes: list[Probe], client_id: str, folder: Path, port: int) -> Probe:
    probe = Probe(client_id, client_tls_context(folder))
    probes.append(probe)
    assert probe.connect(port), f"{client_id} was refused: {probe.connack}"
    return probe


def gateway_of(probes: list[Probe], platform: Pki, port: int, folder: Path | None = None) -> Probe:
    gateway = connected(probes, f"gateway-{len(probes)}", folder or platform.gateway.folder, port)
    assert not gateway.subscribe(shared_readings_filter()).is_failure
    return gateway


def refused(probes: list[Probe], context: ssl.SSLContext | None, port: int) -> bool:
    probe = Probe(f"intruder-{len(probes)}", context)
    probes.append(probe)
    return not probe.connect(port)


def test_a_device_publishes_its_reading_and_a_gateway_receives_it(
    broker: MosquittoBroker, platform: Pki, probes: list[Probe]
) -> None:
    gateway = gateway_of(probes, platform, broker.port)
    meter = connected(probes, "meter-1", platform.meter_1.folder, broker.port)
    assert not meter.publish(readings_topic("meter-1"), b"reading 1").is_failure
    message = gateway.next_message()
    assert (message.topic, message.payload) == (readings_topic("meter-1"), b"reading 1")


def test_the_shared_subscription_gives_each_reading_to_one_gateway(
    broker: MosquittoBroker, platform: Pki, probes: list[Probe]
) -> None:
    north = gateway_of(probes, platform, broker.port)
    south = gateway_of(probes, platform, broker.port, platform.gateway_2.folder)
    meter = connected(probes, "meter-1", platform.meter_1.folder, broker.port)
    sent = {f"reading {i}".encode() for i in range(20)}
    for payload in sorted(sent):
        assert not meter.publish(readings_topic("meter-1"), payload).is_failure
    received: list[bytes] = []
    by_gateway = {"north": 0, "south": 0}
    deadline = time.monotonic() + TIMEOUT
    while len(received) < len(sent):
        assert time.monotonic() < deadline, f"{len(received)} of {len(sent)} readings arrived"
        for name, gateway in (("north", north), ("south", south)):
            try:
                received.append(gateway.messages.get(timeout=0.1).payload)
                by_gateway[name] += 1
            except queue.Empty:
                continue
        assert len(received) <= len(sent)
    assert sorted(received) == sorted(sent)
    assert by_gateway["north"] > 0 and by_gateway["south"] > 0  # mosquitto takes turns


def test_a_client_without_a_certificate_is_refused(
    broker: MosquittoBroker, platform: Pki, probes: list[Probe]
) -> None:
    context = ssl.create_default_context(cafile=platform.folder / "ca.crt")
    assert refused(probes, context, broker.port)


def test_a_client_with_a_certificate_of_another_ca_is_refused(
    broker: MosquittoBroker, platform: Pki, probes: list[Probe]
) -> None:
    # It trusts our broker, and its certificate even claims the name of a real device.
    context = ssl.create_default_context(cafile=platform.folder / "ca.crt")
    context.load_cert_chain(platform.stranger.certificate, platform.stranger.tls_key)
    assert refused(probes, context, broker.port)
    connected(probes, "meter-1", platform.meter_1.folder, broker.port)


def test_a_revoked_device_is_refused_once_the_broker_reloads(tmp_path: Path, probes: list[Probe]) -> None:
    folder = tmp_path / "pki"
    pki.create_ca(folder)
    kept, revoked = pki.provision_device(folder, "meter-1"), pki.provision_device(folder, "meter-2")
    with MosquittoBroker(folder, tmp_path / "broker") as broker:
        connected(probes, "meter-2-before", revoked.folder, broker.port).close()
        pki.revoke(folder, "meter-2")
        broker.reload()
        assert refused(probes, client_tls_context(revoked.folder), broker.port)
        connected(probes, "meter-1", kept.folder, broker.port)


def test_a_restart_cuts_a_revoked_device_connected_at_the_time(tmp_path: Path, probes: list[Probe]) -> None:
    folder = tmp_path / "pki"
    pki.create_ca(folder)
    revoked = pki.provision_device(folder, "meter-2")
    with MosquittoBroker(folder, tmp_path / "broker") as broker:
        meter = connected(probes, "meter-2", revoked.folder, broker.port)
        pki.revoke(folder, "meter-2")
        broker.reload()
        # Mosquitto leaves open connections alone on a reload...
        assert not meter.publish(readings_topic("meter-2"), b"still here").is_failure
        meter.answered.clear()
        broker.restart()
        # ...a restart ends them, and the device's reconnections fail the handshake.
        assert meter.answered.wait(TIMEOUT)
        assert refused(probes, client_tls_context(revoked.folder), broker.port)


def test_a_device_cannot_publish_to_another_devices_readings(
    broker: MosquittoBroker, platform: Pki, probes: list[Probe]
) -> None:
    gateway = gateway_of(probes, platform, broker.port)
    meter = connected(probes, "meter-1", platform.meter_1.folder, broker.port)
    assert meter.publish(readings_topic("meter-2"), b"forged").value == NOT_AUTHORIZED
    # The device's next own reading comes through, and nothing came before it.
    assert not meter.publish(readings_topic("meter-1"), b"own").is_failure
    assert gateway.next_message().payload == b"own"
    assert gateway.messages.empty()


def test_a_device_cannot_read_another_devices_ack(
    broker: MosquittoBroker, platform: Pki, probes: list[Probe]
) -> None:
    # Mosquitto 2.0.11 grants the SUBACK of any filter (reason code 1, "granted QoS 1") and checks
    # read access on each message it would deliver: the snooper is subscribed, and gets nothing.
    snooper = connected(probes, "meter-1", platform.meter_1.folder, broker.port)
    other = connected(probes, "meter-2", platform.meter_2.folder, broker.port)
    for topic in (ack_topic("meter-2"), "gridledger/meters/+/ack", "#"):
        code = snooper.subscribe(topic)
        assert code.is_failure or code.value == 1, code
    assert not snooper.subscribe(ack_topic("meter-1")).is_failure
    assert not other.subscribe(ack_topic("meter-2")).is_failure
    gateway = connected(probes, "gateway", platform.gateway.folder, broker.port)
    assert not gateway.publish(ack_topic("meter-2"), b"for meter-2").is_failure
    assert not gateway.publish(ack_topic("meter-1"), b"for meter-1").is_failure
    assert other.next_message().payload == b"for meter-2"
    # In order from one publisher: had the other's ack reached the snooper, it would come first.
    assert [snooper.next_message().payload for _ in range(3)] == [b"for meter-1"] * 3  # one per filter
    assert snooper.messages.empty()


def test_a_gateway_may_not_publish_readings(
    broker: MosquittoBroker, platform: Pki, probes: list[Probe]
) -> None:
    gateway = connected(probes, "gateway", platform.gateway.folder, broker.port)
    assert gateway.publish(readings_topic("meter-1"), b"forged").value == NOT_AUTHORIZED
    assert gateway.publish("elsewhere", b"x").value == NOT_AUTHORIZED


def test_there_is_no_plaintext_listener(broker: MosquittoBroker) -> None:
    # An MQTT 3.1.1 CONNECT in the clear, client id "plain": a plaintext listener would CONNACK it.
    variable = b"\x00\x04MQTT\x04\x02\x00\x3c" + b"\x00\x05plain"
    connect = b"\x10" + bytes([len(variable)]) + variable
    with socket.create_connection((HOST, broker.port), timeout=TIMEOUT) as plain:
        plain.sendall(connect)
        try:
            answer = plain.recv(64)
        except ConnectionResetError:
            answer = b""
    assert not answer.startswith(b"\x20")  # CONNACK
    probe = Probe("plain-paho", None)
    try:
        assert not probe.connect(broker.port)
    finally:
        probe.close()


def test_a_queued_reading_outlives_a_broker_restart(
    broker: MosquittoBroker, platform: Pki, probes: list[Probe]
) -> None:
    gateway = Probe("gateway-durable", client_tls_context(platform.gateway.folder))
    probes.append(gateway)
    assert gateway.connect(broker.port, clean_start=False)
    assert not gateway.subscribe(shared_readings_filter()).is_failure
    gateway.close()
    meter = connected(probes, "meter-1", platform.meter_1.folder, broker.port)
    assert not meter.publish(readings_topic("meter-1"), b"queued").is_failure
    meter.close()
    port = broker.port
    broker.restart()
    assert broker.port == port
    assert gateway.connect(broker.port, clean_start=False)
    assert gateway.next_message().payload == b"queued"


def test_a_port_in_use_is_one_broker_error(platform: Pki, tmp_path: Path) -> None:
    with socket.create_server((HOST, 0)) as squatter:
        broker = MosquittoBroker(platform.folder, tmp_path / "broker", squatter.getsockname()[1])
        with pytest.raises(BrokerError, match="mosquitto exited with code"):
            broker.start()
    with pytest.raises(BrokerError, match="not running"):
        _ = broker.pid
