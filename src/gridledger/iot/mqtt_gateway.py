"""`gridledger gateway run`: meters' readings from Mosquitto to the registry, none lost, none twice.

Three threads share one outbox file (iot/outbox.py):
- paho's network thread receives the MQTT 5 shared subscription and hands each message over;
- the intake (the caller's thread) decodes and verifies each payload, writes the verified ones
  (and the refusals) to the outbox in one durable transaction, and only then acknowledges the
  messages to the broker (manual PUBACK): a gateway killed before the write leaves them
  unacknowledged, and the broker delivers them again;
- the submitter sends queued readings to the registry in gas-sized batches, each device's in
  sequence order, through the live transaction sender; learns each reading's outcome from the
  receipt's events (meter/gateway.py), records it, and answers the device on its ack topic.

paho-mqtt 2 directly, not aiomqtt: acknowledging a message only after it is on disk needs
paho's manual acknowledgement (`manual_ack=True`, `Client.ack`), which aiomqtt 2.5 does not
expose.

Exactly once on the chain: the registry takes each device's sequences strictly increasing, so
a reading sent again (after a crash between sending and recording) comes back StaleSequence,
and the gateway then finds it in the chain's state and records it accepted. Readings of one
device reach the registry in sequence order: a reading whose predecessor is missing is held
for `reorder_window_s` (another gateway of the group may hold the predecessor, or the meter
may still forward it) before it is sent anyway and the gap is reported.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gridledger.errors import ChainError, GatewayError, ReadingRefused
from gridledger.iot.failpoints import Failpoints
from gridledger.iot.outbox import NewReading, Outbox, Refusal
from gridledger.iot.payload import (
    REPLAY,
    WRONG_DEVICE,
    PayloadRefused,
    decode_reading,
    encode_error,
    encode_reading,
)
from gridledger.iot.submitter import GatewayCounters, OutboxSubmitter
from gridledger.iot.topics import device_name_of, error_topic, shared_readings_filter
from gridledger.meter.gateway import SubmittingChain
from gridledger.meter.signing import SignedReadingTuple
from gridledger.meter.verifier import ReadingChain, ReadingVerifier
from gridledger.ops.files import write_json_atomically
from gridledger.ops.operator import HEALTH_FILE, JsonLog

# The broker keeps a gateway's session (its unacknowledged messages) this long after it goes away.
SESSION_EXPIRY_S = 24 * 3600
INTAKE_BATCH = 2000
# How often a device whose signature does not match its cached key may be looked up again.
LOOKUP_REFRESH_S = 30.0
# How long the gateway leaves reconnecting to paho before it connects again itself.
RECONNECT_AFTER_S = 5.0
NO_SIGNER = b"\x00" * 20  # what no signature recovers to


@dataclass(frozen=True)
class GatewayConfig:
    """Where the gateway connects, stores and reports, and how it paces itself."""

    name: str
    broker_port: int
    tls: ssl.SSLContext
    outbox: Path
    state: Path  # health.json
    broker_host: str = "127.0.0.1"
    group: str = "gateways"
    max_batch: int = 100
    # Longer than a meter's resend (60 s by default): a reading whose predecessor sits with a
    # gateway that died is resent, reaches the group, and still goes in order.
    reorder_window_s: float = 180.0
    submit_every_s: float = 0.2
    submit: bool = True  # False: intake only (the throughput bench)
    reconcile_every_s: float = 300.0
    reconcile_window_s: int = 86_400


@dataclass(frozen=True)
class _Message:
    mid: int
    qos: int
    topic: str
    payload: bytes


class MqttGateway:
    """One gateway of the group `config.group`."""

    def __init__(
        self,
        config: GatewayConfig,
        reader: ReadingChain,
        submitter: SubmittingChain | None,
        sender: str | None,
        registry: str,
        log: JsonLog,
        failpoints: Failpoints | None = None,
        device_signers: Callable[[], dict[str, bytes]] | None = None,
    ) -> None:
        """`device_signers` (the CA register's device name → provisioned signer) binds each
        certificate to its device: a reading published under one device's certificate and signed
        by another registered device's key is refused WrongDevice. Without it, any device
        certificate may carry any registered device's signed readings."""
        if config.submit and (submitter is None or sender is None):
            raise GatewayError("a submitting gateway needs a chain and the gateway's key")
        self._sender = sender
        self.config = config
        self.counters = GatewayCounters()
        self._registry = registry
        self._reader = reader
        self._submitter = submitter
        self._log = log
        self._failpoints = failpoints or Failpoints()
        self._inbox: queue.Queue[_Message] = queue.Queue()
        self._connected = threading.Event()
        self._stop = threading.Event()
        # The intake's connection, opened by run() on the thread that uses it (sqlite3's rule).
        self._outbox: Outbox
        self._intake_verifier = ReadingVerifier(reader, registry)
        self._health_written_at = 0.0
        self._disconnected_at = time.monotonic()
        self._lookups_forgotten_at = time.monotonic()
        self._device_signers = device_signers
        self._bound: dict[str, bytes] = device_signers() if device_signers is not None else {}
        self._bound_read_at = time.monotonic()
        self._provisioned = set(self._bound.values())
        self.subscribed = threading.Event()
        self._client = self._mqtt_client()

    # ------------------------------------------------------------------ lifecycle
    def run(self, stop: threading.Event, until: Callable[[GatewayCounters], bool] | None = None) -> None:
        """Receive and submit until `stop` is set (or `until(counters)` holds)."""
        self.open()
        submitter = threading.Thread(target=self._submit_loop, name="gateway-submitter", daemon=True)
        if self.config.submit:
            submitter.start()
        try:
            while not stop.is_set() and not self._stop.is_set():
                self.intake_once()
                self._keep_connected()
                self._write_health()
                if until is not None and until(self.counters):
                    break
        finally:
            self._stop.set()
            if submitter.is_alive():
                submitter.join(timeout=60)
            self.close()

    def open(self) -> None:
        """Open the outbox and connect to the broker (paho's network thread starts); the caller's
        thread then takes messages in with `intake_once`."""
        self._outbox = Outbox(self.config.outbox)
        self._connect()
        self._log("gateway started", gateway=self.config.name, outbox=str(self.config.outbox))

    def _connect(self) -> None:
        self._client.connect_async(
            self.config.broker_host,
            self.config.broker_port,
            keepalive=30,
            clean_start=False,
            properties=_session_properties(),
        )
        # MQTT_ERR_INVAL when the network thread still runs: it reconnects by itself then.
        self._client.loop_start()

    def _keep_connected(self) -> None:
        """paho's network thread ends, instead of reconnecting, when the broker itself closes the
        connection (a DISCONNECT as Mosquitto shuts down): connect again and start it anew."""
        if self._connected.is_set() or time.monotonic() - self._disconnected_at < RECONNECT_AFTER_S:
            return
        self._disconnected_at = time.monotonic()
        self._connect()

    def close(self) -> None:
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()
        self._write_health()
        self._outbox.close()
        self._log("gateway stopped", **self.health())

    @property
    def outbox(self) -> Outbox:
        """The intake's outbox connection (for use on the thread that called `open`)."""
        return self._outbox

    def publish(self, topic: str, payload: bytes) -> None:
        """Send a device an answer (QoS 1). A lost answer is not lost for good: the meter sends
        the reading again and is answered from the outbox (a Replay with the outcome)."""
        self._client.publish(topic, payload, qos=1)

    def health(self) -> dict[str, object]:
        counters = self.counters
        return {
            "gateway": self.config.name,
            "connected": self._connected.is_set(),
            "received": counters.received,
            "stored": counters.stored,
            "refused": counters.refused,
            "replays": counters.replays,
            "accepted": counters.accepted,
            "rejected": counters.rejected,
            "batches": counters.batches,
            "chain_faults": counters.chain_faults,
            "updated_at": time.time(),
        }

    # ------------------------------------------------------------------ MQTT
    def _mqtt_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"gateway-{self.config.name}",
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        client.tls_set_context(self.config.tls)
        client.reconnect_delay_set(min_delay=1, max_delay=8)
        # Acknowledgements wait for the outbox: let the broker have many messages in flight.
        client.max_inflight_messages_set(INTAKE_BATCH)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_connect_fail = lambda *_: self._log(
            "broker unreachable; retrying", host=self.config.broker_host, port=self.config.broker_port
        )
        client.on_subscribe = lambda *_: self.subscribed.set()
        return client

    def _on_connect(self, client: mqtt.Client, _: Any, __: Any, reason: Any, ___: Any) -> None:
        if reason.is_failure:
            self._log("broker refused the gateway", reason=str(reason))
            return
        client.subscribe(shared_readings_filter(self.config.group), qos=1)
        self._connected.set()
        self._log("broker connected", group=self.config.group)

    def _on_disconnect(self, _: mqtt.Client, __: Any, ___: Any, reason: Any, ____: Any) -> None:
        self._connected.clear()
        self._disconnected_at = time.monotonic()
        self._log("broker disconnected", reason=str(reason))

    def _on_message(self, _: mqtt.Client, __: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(_Message(message.mid, message.qos, message.topic, bytes(message.payload)))

    # ------------------------------------------------------------------ intake
    def intake_once(self, wait_s: float = 0.2) -> int:
        """Take in the messages that arrived (waiting up to `wait_s` for the first); how many."""
        try:
            first = self._inbox.get(timeout=wait_s)
        except queue.Empty:
            return 0
        messages = [first]
        while len(messages) < INTAKE_BATCH:
            try:
                messages.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        self._take(messages)
        return len(messages)

    def _take(self, messages: list[_Message]) -> None:
        """Verify, store durably, then acknowledge `messages` to the broker and answer refusals."""
        self.counters.received += len(messages)
        if time.monotonic() - self._lookups_forgotten_at > LOOKUP_REFRESH_S:
            # A key rotated or a device registered since it was last looked up is learned again.
            self._lookups_forgotten_at = time.monotonic()
            self._intake_verifier.forget_lookups()
        new: dict[tuple[int, int], NewReading] = {}
        refusals: list[Refusal] = []
        answers: list[tuple[str, bytes]] = []
        deferred: list[_Message] = []  # not acknowledged: tried again
        decoded: list[tuple[_Message, str, Any, bytes]] = []
        for message in messages:
            name = device_name_of(message.topic)
            if name is None:  # not a readings topic: the ACL lets no one publish such a thing here
                continue
            try:
                reading = decode_reading(message.payload)
                digest = self._verify(name, reading)
            except PayloadRefused as refused:
                why = refused
                refusals.append(Refusal(name, why.sequence, why.reason, why.detail, message.payload))
                answers.append((error_topic(name), encode_error(refused)))
                continue
            except GatewayError as unreadable:
                # The node cannot tell who the device is right now: leave the message
                # unacknowledged and try again (the broker keeps it for us).
                self.counters.chain_faults += 1
                self._log("verification deferred", device=name, error=str(unreadable))
                deferred.append(message)
                continue
            decoded.append((message, name, reading, digest))
        stored = self._outbox.existing({(r[0], r[1]) for _, _, r, _ in decoded})
        for _, name, reading, digest in decoded:
            key = (reading[0], reading[1])
            earlier = stored.get(key)
            if earlier is None and key not in new:
                # Kept re-encoded: what was verified, nothing else the payload carried.
                new[key] = NewReading(name, reading, digest, encode_reading(reading))
                continue
            first_digest = earlier.digest if earlier is not None else new[key].digest
            status = earlier.status if earlier is not None else "queued"
            same = "the same reading" if first_digest == digest else "another reading"
            replay = PayloadRefused(REPLAY, f"sequence {key[1]} was already received ({same})", key[1])
            refusals.append(Refusal(name, key[1], REPLAY, replay.detail, encode_reading(reading)))
            answers.append((error_topic(name), encode_error(replay, status)))
            self.counters.replays += 1
        self._failpoints.reach("before-outbox-write")
        self._outbox.write(list(new.values()), refusals)
        self._failpoints.reach("after-outbox-write")
        waiting = {id(message) for message in deferred}
        for message in messages:
            if id(message) not in waiting:
                self._client.ack(message.mid, message.qos)
        for topic, payload in answers:
            self.publish(topic, payload)
        self.counters.stored += len(new)
        self.counters.refused += len(refusals)
        for message in deferred:
            self._inbox.put(message)
        if deferred:
            self._stop.wait(1.0)  # the node is away: don't spin on it

    def _verify(self, name: str, reading: SignedReadingTuple) -> bytes:
        """The reading's digest; PayloadRefused for an unknown device, a forged signature, or a
        reading signed by another key than the one provisioned with certificate `name`."""
        verify = self._intake_verifier.verify
        try:
            return verify(reading, self._provisioned_signer(name, refresh=False), self._provisioned)
        except ReadingRefused as refused:
            if refused.reason == WRONG_DEVICE and self._register_may_be_read():
                # Provisioned anew, or since the register was read: read it again and retry.
                try:
                    return verify(reading, self._provisioned_signer(name, refresh=True), self._provisioned)
                except ReadingRefused as again:
                    refused = again
            raise PayloadRefused(refused.reason, str(refused), refused.sequence) from refused

    def _provisioned_signer(self, name: str, refresh: bool) -> bytes | None:
        """The signer provisioned with certificate `name` (None: no binding is kept); an unknown
        name is bound to no key, so its readings are refused WrongDevice."""
        if self._device_signers is None:
            return None
        if refresh:
            self._bound_read_at = time.monotonic()
            self._bound = self._device_signers()
            self._provisioned = set(self._bound.values())
        return self._bound.get(name, NO_SIGNER)

    def _register_may_be_read(self) -> bool:
        return self._device_signers is not None and time.monotonic() - self._bound_read_at > LOOKUP_REFRESH_S

    # ------------------------------------------------------------------ submission
    def _submit_loop(self) -> None:
        assert self._submitter is not None and self._sender is not None
        outbox = Outbox(self.config.outbox)
        submitter = OutboxSubmitter(
            outbox,
            self._submitter,
            self._registry,
            self._sender,
            self.publish,
            self._log,
            self.counters,
            self.config.max_batch,
            self.config.reorder_window_s,
            self._failpoints,
        )
        reconciled_at = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    sent = submitter.submit_round()
                    submitter.answer()
                    if time.monotonic() - reconciled_at > self.config.reconcile_every_s:
                        reconciled_at = time.monotonic()
                        submitter.reconcile(self.config.reconcile_window_s)
                except (GatewayError, ChainError) as failed:
                    self.counters.chain_faults += 1
                    self._log("submission failed; retrying", error=str(failed))
                    self._stop.wait(2.0)
                    continue
                if not sent:
                    self._stop.wait(self.config.submit_every_s)
        finally:
            outbox.close()

    # ------------------------------------------------------------------ health
    def _write_health(self) -> None:
        now = time.monotonic()
        if now - self._health_written_at < 1.0 and not self._stop.is_set():
            return
        self._health_written_at = now
        write_json_atomically(self.config.state / HEALTH_FILE, self.health())


def _session_properties() -> Properties:
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    return properties
