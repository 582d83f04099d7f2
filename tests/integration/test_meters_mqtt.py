"""Simulated meters (iot/meters.py) against a real Mosquitto with mutual TLS, the PKI made in a
temporary folder, and a stand-in gateway written here with paho-mqtt: it reads every device's
readings through the gateways' shared subscription with a gateway certificate, checks each
signature and answers on the device's ack topic (or with a Replay error for a copy it answered).

Shown: every reading arrives once and signed by its device; an outage's readings are forwarded
in order after the reconnect; a broker restart loses nothing and the unanswered readings are
resent; a meter process killed mid-run resumes from its store. Waits are on conditions with
bounded timeouts; every process started here is stopped by its own PID."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gridledger.iot import pki, topics
from gridledger.iot.broker import MosquittoBroker, client_tls_context
from gridledger.iot.meters import (
    ACCEPTED,
    FleetCounters,
    MeterDevice,
    MeterEvent,
    MeterFaults,
    MeterFleet,
    ReadingStore,
    RegisterSeries,
    community_registers,
    mqtt_connector,
)
from gridledger.iot.payload import REPLAY, PayloadRefused, decode_reading, encode_ack, encode_error
from gridledger.meter.signing import (
    reading_digest,
    reading_of,
    recover_reading_signer,
    registry_domain_separator,
)

pytestmark = pytest.mark.mosquitto

REGISTRY = "0x" + "42" * 20
DOMAIN = registry_domain_separator(31337, REGISTRY)
# A day ago, aligned: a fast replay of it never reaches an interval that has not ended.
START_S = (int(time.time()) // 900 - 96) * 900
TIMEOUT_S = 60.0
GATEWAY = "test"


class StandInGateway:
    """The gateway's MQTT side only: shared subscription, signature check, answers."""

    def __init__(self, pki_folder: Path, port: int, signers: dict[str, bytes]) -> None:
        self.signers = signers
        self.received: list[tuple[str, int, bytes]] = []
        self.bad_signatures: list[tuple[str, int]] = []
        self.answered: set[tuple[str, int]] = set()
        # Whether to answer a reading now; an unanswered one waits for the meter's resend.
        self.answer_if: Callable[[str, int], bool] = lambda name, sequence: True
        self.changed = threading.Condition()
        folder = pki.gateway_folder(pki_folder, GATEWAY)
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id="gateway-test", protocol=mqtt.MQTTv5
        )
        self.client.tls_set_context(client_tls_context(folder))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        # Back quickly after a broker restart.
        self.client.reconnect_delay_set(1, 2)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, clean_start=False, properties=properties)
        self.subscribed = threading.Event()
        self.client.loop_start()
        assert self.subscribed.wait(10), "the stand-in gateway could not subscribe"

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        client.subscribe(topics.shared_readings_filter(), qos=1)
        self.subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        name = topics.device_name_of(message.topic)
        assert name is not None
        payload = bytes(message.payload)
        signed = decode_reading(payload)
        sequence = signed[1]
        signer = recover_reading_signer(reading_digest(reading_of(signed), DOMAIN), signed[7], signed[8])
        answer: tuple[str, bytes] | None = None
        with self.changed:
            self.received.append((name, sequence, payload))
            if signer != self.signers[name]:
                self.bad_signatures.append((name, sequence))
            if self.answer_if(name, sequence):
                if (name, sequence) in self.answered:
                    refused = PayloadRefused(REPLAY, "answered already", sequence)
                    answer = (topics.error_topic(name), encode_error(refused, ACCEPTED))
                else:
                    self.answered.add((name, sequence))
                    answer = (topics.ack_topic(name), encode_ack(sequence, ACCEPTED, None))
            self.changed.notify_all()
        if answer is not None:
            client.publish(*answer, qos=1)

    def sequences(self, name: str) -> list[int]:
        with self.changed:
            return [sequence for device, sequence, _ in self.received if device == name]

    def wait_until(self, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, timeout_s), "timed out waiting on the gateway"


@pytest.fixture
def pki_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "pki"
    pki.create_ca(folder)
    # Before the broker starts: its ACL lets the gateways of the register read the readings.
    pki.provision_gateway(folder, GATEWAY)
    return folder


@pytest.fixture
def broker(pki_folder: Path, tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(pki_folder, tmp_path / "broker") as running:
        yield running


def provision(pki_folder: Path, count: int) -> tuple[list[MeterDevice], dict[str, bytes]]:
    devices, signers = [], {}
    for i in range(count):
        made = pki.provision_device(pki_folder, f"meter-{i}")
        devices.append(MeterDevice(made.name, made.folder, pki.read_signing_key(made.folder), 100 + i))
        signers[made.name] = bytes.fromhex(made.signer_address[2:])
    return devices, signers


@pytest.fixture
def gateway_factory(
    pki_folder: Path, broker: MosquittoBroker
) -> Iterator[Callable[[dict[str, bytes]], StandInGateway]]:
    made: list[StandInGateway] = []

    def make(signers: dict[str, bytes]) -> StandInGateway:
        made.append(StandInGateway(pki_folder, broker.port, signers))
        return made[-1]

    yield make
    for gateway in made:
        gateway.stop()


def ramp(intervals: int) -> RegisterSeries:
    return RegisterSeries([120 * (k + 1) for k in range(intervals)], [40 * (k + 1) for k in range(intervals)])


def fleet_of(
    devices: list[MeterDevice],
    registers: list[RegisterSeries],
    store: ReadingStore,
    port: int,
    **options: Any,
) -> MeterFleet:
    return MeterFleet(
        devices,
        registers,
        store,
        DOMAIN,
        mqtt_connector(port),
        start_s=START_S,
        interval_seconds=options.pop("interval_seconds", 0.05),
        reconnect_delay_s=0.2,
        **options,
    )


def run(fleet: MeterFleet, intervals: int) -> FleetCounters:
    async def bounded() -> FleetCounters:
        return await asyncio.wait_for(fleet.run(intervals), TIMEOUT_S)

    return asyncio.run(bounded())


def test_every_reading_arrives_once_signed_by_its_meter(
    pki_folder: Path,
    broker: MosquittoBroker,
    gateway_factory: Callable[[dict[str, bytes]], StandInGateway],
    tmp_path: Path,
) -> None:
    devices, signers = provision(pki_folder, 5)
    gateway = gateway_factory(signers)
    intervals = 8
    registers = community_registers("1-LV-rural2--0-sw", START_S, intervals, len(devices))
    with ReadingStore(tmp_path / "meters.sqlite") as store:
        counters = run(fleet_of(devices, registers, store, broker.port, resend_after_s=30.0), intervals)
        assert store.pending_count() == 0
    assert counters.produced == counters.published == counters.accepted == 5 * intervals
    assert counters.resent == 0 and gateway.bad_signatures == []
    for device, series in zip(devices, registers, strict=True):
        assert gateway.sequences(device.name) == list(range(1, intervals + 1))
        readings = [decode_reading(p) for name, _, p in gateway.received if name == device.name]
        assert [r[0] for r in readings] == [device.device_id] * intervals
        assert [r[3] for r in readings] == list(series.import_wh)
        assert [r[4] for r in readings] == list(series.export_wh)


def test_an_outage_forwards_its_readings_in_order_after_the_reconnect(
    pki_folder: Path,
    broker: MosquittoBroker,
    gateway_factory: Callable[[dict[str, bytes]], StandInGateway],
    tmp_path: Path,
) -> None:
    devices, signers = provision(pki_folder, 2)
    gateway = gateway_factory(signers)
    events: list[MeterEvent] = []
    faults = MeterFaults.parse(outages=["meter-1@2+3"])
    with ReadingStore(tmp_path / "meters.sqlite") as store:
        fleet = fleet_of(
            devices, [ramp(7), ramp(7)], store, broker.port, faults=faults, on_event=events.append
        )
        counters = run(fleet, 7)
    assert gateway.sequences("meter-0") == [1, 2, 3, 4, 5, 6, 7]
    arrived = gateway.sequences("meter-1")
    # In order, none lost; a reading whose answer had not come when the link went down is sent
    # again after the reconnect (and answered as a Replay), nothing else.
    assert sorted(set(arrived), key=arrived.index) == [1, 2, 3, 4, 5, 6, 7]
    again = [s for i, s in enumerate(arrived) if arrived.index(s) != i]
    assert all(s <= 2 for s in again) and counters.resent == len(again)
    assert counters.accepted == 14
    kinds = [(e.kind, e.sequence) for e in events if e.device == "meter-1"]
    offline, online = kinds.index(("offline", None)), kinds.index(("online", None))
    # Produced into the store while offline, none published until the link was back.
    assert [s for kind, s in kinds[offline:online] if kind == "produced"] == [3, 4, 5]
    assert not [s for kind, s in kinds[offline:online] if kind == "published"]
    assert kinds.count(("connected", None)) == 2


def test_a_broker_restart_loses_nothing_and_the_unanswered_readings_are_resent(
    pki_folder: Path,
    broker: MosquittoBroker,
    gateway_factory: Callable[[dict[str, bytes]], StandInGateway],
    tmp_path: Path,
) -> None:
    devices, signers = provision(pki_folder, 2)
    gateway = gateway_factory(signers)
    intervals = 12
    restarted = threading.Event()
    # Readings 1 and 2 are answered; from 3 on the gateway holds its answers back until the
    # broker has restarted under the running meters.
    gateway.answer_if = lambda name, sequence: sequence < 3 or restarted.is_set()
    pid_before = broker.pid

    events: list[MeterEvent] = []

    async def scenario(store: ReadingStore) -> FleetCounters:
        # The broker acknowledges what it cannot deliver: readings published after the restart
        # and before the gateway is back reach no subscriber. The meters' resend of what stays
        # unanswered for resend_after_s is what brings those through.
        fleet = fleet_of(
            devices,
            [ramp(intervals)] * 2,
            store,
            broker.port,
            interval_seconds=0.1,
            resend_after_s=1.0,
            on_event=events.append,
        )
        running = asyncio.create_task(fleet.run(intervals))
        await asyncio.to_thread(
            gateway.wait_until, lambda: all(4 in gateway.sequences(d.name) for d in devices)
        )
        await asyncio.to_thread(broker.restart)
        restarted.set()
        return await asyncio.wait_for(running, TIMEOUT_S)

    with ReadingStore(tmp_path / "meters.sqlite") as store:
        counters = asyncio.run(asyncio.wait_for(scenario(store), TIMEOUT_S))
        assert store.pending_count() == 0
        for device in devices:
            assert [a.sequence for a in store.answers(device.name)] == list(range(1, intervals + 1))
    assert broker.pid != pid_before
    assert counters.produced == counters.accepted == 2 * intervals
    assert counters.resent >= 2 * 2  # 3 and 4 of each meter at least
    assert gateway.bad_signatures == []
    for device in devices:
        assert set(gateway.sequences(device.name)) == set(range(1, intervals + 1))
        mine = [e for e in events if e.device == device.name]
        assert [e.kind for e in mine].count("disconnected") >= 1
        # The first pass after the reconnect: every unanswered reading, from 3 on, in order.
        lost = next(i for i, e in enumerate(mine) if e.kind == "disconnected")
        back = next(i for i, e in enumerate(mine) if i > lost and e.kind == "connected")
        first_pass: list[int] = []
        for event in mine[back + 1 :]:
            if event.kind == "disconnected" or (
                first_pass
                and event.sequence is not None
                and event.kind in ("published", "resent")
                and event.sequence <= first_pass[-1]
            ):
                break
            if event.kind in ("published", "resent") and event.sequence is not None:
                first_pass.append(event.sequence)
        assert first_pass[:2] == [3, 4] and first_pass == list(range(3, 3 + len(first_pass)))


METER_PROCESS = """
import asyncio, json, sys
from pathlib import Path
from gridledger.iot import meters, pki
from gridledger.meter.signing import registry_domain_separator

args = json.loads(sys.argv[1])
devices = [
    meters.MeterDevice(name, Path(folder), pki.read_signing_key(Path(folder)), device_id)
    for name, folder, device_id in args["devices"]
]
registers = [
    meters.RegisterSeries([120 * (k + 1) for k in range(args["intervals"])], [0] * args["intervals"])
    for _ in devices
]
with meters.ReadingStore(Path(args["store"])) as store:
    fleet = meters.MeterFleet(
        devices, registers, store, registry_domain_separator(31337, args["registry"]),
        meters.mqtt_connector(args["port"]), start_s=args["start_s"],
        interval_seconds=args["interval_seconds"], reconnect_delay_s=0.2,
    )
    counters = asyncio.run(fleet.run(args["intervals"]))
print(json.dumps({"produced": counters.produced, "resent": counters.resent, "accepted": counters.accepted}))
"""


def test_a_killed_meter_process_resumes_from_its_store(
    pki_folder: Path,
    broker: MosquittoBroker,
    gateway_factory: Callable[[dict[str, bytes]], StandInGateway],
    tmp_path: Path,
) -> None:
    devices, signers = provision(pki_folder, 2)
    gateway = gateway_factory(signers)
    killed = threading.Event()
    # Nothing is answered before the kill: the store holds it all.
    gateway.answer_if = lambda name, sequence: killed.is_set()
    intervals = 10
    store_path = tmp_path / "meters.sqlite"
    arguments = json.dumps(
        {
            "devices": [(d.name, str(d.folder), d.device_id) for d in devices],
            "store": str(store_path),
            "port": broker.port,
            "registry": REGISTRY,
            "start_s": START_S,
            "intervals": intervals,
            "interval_seconds": 0.1,
        }
    )

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", METER_PROCESS, arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    first = start()
    try:
        gateway.wait_until(lambda: all(len(gateway.sequences(d.name)) >= 3 for d in devices))
    finally:
        # SIGKILL: no chance to tidy up, as in a power cut.
        os.kill(first.pid, signal.SIGKILL)
        first.wait(TIMEOUT_S)
    before = {d.name: gateway.sequences(d.name) for d in devices}
    with ReadingStore(store_path) as store:
        kept = {d.name: [p.sequence for p in store.pending(d.name)] for d in devices}
    for device in devices:
        # Everything the gateway saw is in the store, unanswered, and maybe a reading more.
        assert set(before[device.name]) <= set(kept[device.name])
        assert kept[device.name] == list(range(1, len(kept[device.name]) + 1))

    killed.set()
    second = start()
    try:
        output, errors = second.communicate(timeout=TIMEOUT_S)
    finally:
        if second.poll() is None:
            os.kill(second.pid, signal.SIGKILL)
            second.wait(TIMEOUT_S)
    assert second.returncode == 0, errors.decode()
    counts = json.loads(output)
    assert counts["produced"] == 2 * intervals - sum(len(k) for k in kept.values())
    assert counts["accepted"] == 2 * intervals
    payload_of: dict[tuple[str, int], bytes] = {}
    for name, sequence, payload in gateway.received:
        # A sequence is never used for a second, different reading.
        assert payload_of.setdefault((name, sequence), payload) == payload
    for device in devices:
        sequences = gateway.sequences(device.name)
        assert set(sequences) == set(range(1, intervals + 1))
        after = sequences[len(before[device.name]) :]
        # The second process first resends what the first left unanswered, in sequence order.
        assert after[: len(before[device.name])] == sorted(before[device.name])
    with ReadingStore(store_path) as store:
        assert store.pending_count() == 0
        for device in devices:
            assert len(store.answers(device.name)) == intervals


def test_a_burst_of_presigned_payloads_reaches_the_gateway(
    pki_folder: Path,
    broker: MosquittoBroker,
    gateway_factory: Callable[[dict[str, bytes]], StandInGateway],
) -> None:
    from gridledger.iot.meters import publish_burst
    from gridledger.iot.payload import encode_reading
    from gridledger.meter.signing import MeterReading

    devices, signers = provision(pki_folder, 3)
    gateway = gateway_factory(signers)
    count = 40
    payloads = {
        d.name: [
            encode_reading(
                d.key.sign_reading(
                    MeterReading(d.device_id, k + 1, START_S + 900 * k, 10 * (k + 1), 0, 0, b"\x01" * 32),
                    DOMAIN,
                )
            )
            for k in range(count)
        ]
        for d in devices
    }
    seconds = asyncio.run(publish_burst(broker.port, {d.name: d.folder for d in devices}, payloads))
    assert seconds > 0
    gateway.wait_until(lambda: len(gateway.received) >= 3 * count)
    assert gateway.bad_signatures == []
    for device in devices:
        assert sorted(gateway.sequences(device.name)) == list(range(1, count + 1))
