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
from itertools import groupby
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gridledger.chain.abi import Artifact, EventLog
from gridledger.chain.live import LiveChain
from gridledger.errors import ChainError, GatewayError, ReadingRefused
from gridledger.iot.failpoints import Failpoints
from gridledger.iot.outbox import NewReading, Outbox, Refusal, StoredReading
from gridledger.iot.payload import (
    REPLAY,
    PayloadRefused,
    decode_reading,
    encode_ack,
    encode_error,
    encode_reading,
)
from gridledger.iot.reconcile import reconcile
from gridledger.iot.topics import ack_topic, device_name_of, error_topic, shared_readings_filter
from gridledger.meter.gateway import Gateway
from gridledger.meter.signing import SignedReadingTuple
from gridledger.meter.verifier import ReadingVerifier
from gridledger.ops.files import write_json_atomically
from gridledger.ops.operator import JsonLog

# The broker keeps a gateway's session (its unacknowledged messages) this long after it goes away.
SESSION_EXPIRY_S = 24 * 3600
INTAKE_BATCH = 2000


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
    reorder_window_s: float = 30.0
    submit_every_s: float = 0.2
    submit: bool = True  # False: intake only (the throughput bench)
    reconcile_every_s: float = 300.0
    reconcile_window_s: int = 86_400


@dataclass
class GatewayCounters:
    received: int = 0
    stored: int = 0
    refused: int = 0
    replays: int = 0
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    chain_faults: int = 0


@dataclass(frozen=True)
class _Message:
    mid: int
    qos: int
    topic: str
    payload: bytes


class _FailpointChain:
    """The submitter's chain: a transaction is broadcast, then its receipt awaited, with the
    `mid-batch` crash point between the two."""

    def __init__(self, chain: LiveChain, failpoints: Failpoints) -> None:
        self._chain = chain
        self._failpoints = failpoints
        self.last_transaction: str | None = None

    @property
    def last_logs(self) -> list[EventLog]:
        return self._chain.last_logs

    @property
    def last_gas_used(self) -> int:
        return self._chain.last_gas_used

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: Any) -> object:
        pending = self._chain.submit(sender, address, artifact.encode_call(fn, args))
        self._failpoints.reach("mid-batch")
        receipt = self._chain.confirm(sender, pending)
        self.last_transaction = receipt.tx_hash
        return ()

    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        return self._chain.call(artifact, address, fn, *args)

    def logs(self, address: str, topic0: bytes) -> list[EventLog]:
        return self._chain.logs(address, topic0)


class MqttGateway:
    """One gateway of the group `config.group`."""

    def __init__(
        self,
        config: GatewayConfig,
        reader: LiveChain,
        submitter: LiveChain | None,
        registry: str,
        log: JsonLog,
        failpoints: Failpoints | None = None,
    ) -> None:
        if config.submit and (submitter is None or not submitter.accounts):
            raise GatewayError("a submitting gateway needs a chain with the gateway's key")
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
        self._looked_at: dict[int, float] = {}  # device -> when a held device was last looked up
        self.subscribed = threading.Event()
        self._client = self._mqtt_client()

    # ------------------------------------------------------------------ lifecycle
    def run(self, stop: threading.Event, until: Callable[[GatewayCounters], bool] | None = None) -> None:
        """Receive and submit until `stop` is set (or `until(counters)` holds)."""
        self._outbox = Outbox(self.config.outbox)
        self._client.connect_async(
            self.config.broker_host,
            self.config.broker_port,
            keepalive=30,
            clean_start=False,
            properties=_session_properties(),
        )
        self._client.loop_start()
        submitter = threading.Thread(target=self._submit_loop, name="gateway-submitter", daemon=True)
        if self.config.submit:
            submitter.start()
        self._log("gateway started", gateway=self.config.name, outbox=str(self.config.outbox))
        try:
            while not stop.is_set() and not self._stop.is_set():
                self._intake_once()
                self._write_health()
                if until is not None and until(self.counters):
                    break
        finally:
            self._stop.set()
            if submitter.is_alive():
                submitter.join(timeout=60)
            self._client.disconnect()
            self._client.loop_stop()
            self._write_health()
            self._outbox.close()
            self._log("gateway stopped", **self.health())

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
        self._log("broker disconnected", reason=str(reason))

    def _on_message(self, _: mqtt.Client, __: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(_Message(message.mid, message.qos, message.topic, bytes(message.payload)))

    def _publish(self, topic: str, payload: bytes) -> None:
        # A lost answer is not lost for good: the meter sends the reading again and is answered
        # from the outbox (Replay with the outcome).
        self._client.publish(topic, payload, qos=1)

    # ------------------------------------------------------------------ intake
    def _intake_once(self) -> None:
        try:
            first = self._inbox.get(timeout=0.2)
        except queue.Empty:
            return
        messages = [first]
        while len(messages) < INTAKE_BATCH:
            try:
                messages.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        self._take(messages)

    def _take(self, messages: list[_Message]) -> None:
        """Verify, store durably, then acknowledge `messages` to the broker and answer refusals."""
        self.counters.received += len(messages)
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
                digest = self._verify(reading)
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
                new[key] = NewReading(name, reading, digest, _canonical(reading))
                continue
            first_digest = earlier.digest if earlier is not None else new[key].digest
            status = earlier.status if earlier is not None else "queued"
            same = "the same reading" if first_digest == digest else "another reading"
            replay = PayloadRefused(REPLAY, f"sequence {key[1]} was already received ({same})", key[1])
            refusals.append(Refusal(name, key[1], REPLAY, replay.detail, _canonical(reading)))
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
            self._publish(topic, payload)
        self.counters.stored += len(new)
        self.counters.refused += len(refusals)
        for message in deferred:
            self._inbox.put(message)
        if deferred:
            self._stop.wait(1.0)  # the node is away: don't spin on it

    def _verify(self, reading: SignedReadingTuple) -> bytes:
        """The reading's digest; PayloadRefused for an unknown device or a forged signature."""
        try:
            return self._intake_verifier.verify(reading)
        except ReadingRefused as refused:
            raise PayloadRefused(refused.reason, str(refused), refused.sequence) from refused

    # ------------------------------------------------------------------ submission
    def _submit_loop(self) -> None:
        assert self._submitter is not None
        outbox = Outbox(self.config.outbox)
        chain = _FailpointChain(self._submitter, self._failpoints)
        gateway = Gateway(chain, self._registry, self._submitter.accounts[0], max_batch=self.config.max_batch)
        progress: dict[int, tuple[int, float]] = {}  # device -> (chain's last sequence, when it changed)
        reconciled_at = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    sent = self._submit_round(outbox, chain, gateway, progress)
                    self._answer(outbox)
                    if time.monotonic() - reconciled_at > self.config.reconcile_every_s:
                        reconciled_at = time.monotonic()
                        self._reconcile(outbox)
                except (GatewayError, ChainError) as failed:
                    self.counters.chain_faults += 1
                    self._log("submission failed; retrying", error=str(failed))
                    self._stop.wait(2.0)
                    continue
                if not sent:
                    self._stop.wait(self.config.submit_every_s)
        finally:
            outbox.close()

    def _submit_round(
        self, outbox: Outbox, chain: _FailpointChain, gateway: Gateway, progress: dict[int, tuple[int, float]]
    ) -> int:
        """Send one batch of the readings now in order; the number sent."""
        chosen = self._in_order(outbox.queued(), gateway.verifier, progress)[: gateway.batch_size]
        if not chosen:
            return 0
        by_key = {row.key: row for row in chosen}
        outcomes: dict[tuple[int, int], str | None] = {}
        for row in chosen:
            try:
                gateway.enqueue(row.signed)
            except ReadingRefused as refused:  # its key was rotated since the intake verified it
                outcomes[row.key] = refused.reason
        outbox.count_submission(k for k in by_key if k not in outcomes)
        report = gateway.flush()
        self._failpoints.reach("after-submit")
        for key in report.accepted:
            outcomes[key] = None
        outcomes.update(report.rejected)
        # A reading enqueue found already delivered by this process was settled before.
        for key in by_key:
            if key not in outcomes and key in gateway.delivered:
                outcomes[key] = None
        outbox.settle(outcomes, chain.last_transaction)
        gateway.delivered.clear()  # the outbox remembers; the process need not
        for key, reason in outcomes.items():
            if reason is None:
                last = gateway.verifier.chain_last_sequence
                last[key[0]] = max(last.get(key[0], 0), key[1])
        self.counters.accepted += sum(1 for reason in outcomes.values() if reason is None)
        self.counters.rejected += sum(1 for reason in outcomes.values() if reason is not None)
        self.counters.batches += 1
        self._log(
            "batch settled",
            readings=len(outcomes),
            accepted=sum(1 for r in outcomes.values() if r is None),
            transaction=chain.last_transaction,
        )
        return len(chosen)

    def _in_order(
        self, queued: list[StoredReading], verifier: ReadingVerifier, progress: dict[int, tuple[int, float]]
    ) -> list[StoredReading]:
        """The queued readings that may go now: each device's next sequence after the chain's
        last; past a missing predecessor only once the device has made no progress on the chain
        for the reorder window (while another gateway of the group is delivering the device's
        earlier readings, its later ones wait)."""
        now = time.time()
        chosen: list[StoredReading] = []
        for device_id, rows in groupby(queued, key=lambda row: row.device_id):
            if device_id not in verifier.chain_last_sequence:
                verifier.look_up(device_id)
            last = verifier.chain_last_sequence.get(device_id, 0)
            seen_last, moved_at = progress.get(device_id, (-1, now))
            if last != seen_last:
                progress[device_id] = (last, now)
                moved_at = now
            for row in rows:
                stalled = now - max(row.received_at, moved_at) > self.config.reorder_window_s
                if row.sequence <= last + 1 or stalled:
                    chosen.append(row)
                    last = max(last, row.sequence)
                    continue
                # Held: another gateway may be sending the predecessor; look again now and then.
                if now - self._looked_at.get(device_id, 0.0) > min(1.0, self.config.reorder_window_s / 4):
                    self._looked_at[device_id] = now
                    verifier.look_up(device_id)
                break
        return chosen

    def _reconcile(self, outbox: Outbox) -> None:
        """The periodic reconciliation of the last `reconcile_window_s` (requeues what the chain lacks)."""
        assert self._submitter is not None
        now = int(time.time())
        since = now - self.config.reconcile_window_s
        report = reconcile(outbox, self._submitter, self._registry, since, now + 1)
        self._log(
            "reconciled",
            complete=report.complete,
            resubmitted=len(report.resubmitted),
            learned_accepted=len(report.learned_accepted),
            gaps=len(report.gaps),
            silent_devices=len(report.silent_devices),
            still_queued=report.still_queued,
        )

    def _answer(self, outbox: Outbox) -> None:
        """Send each settled reading's outcome to its device, then note it answered."""
        pending = outbox.unanswered()
        if not pending:
            return
        self._failpoints.reach("before-ack")
        for row in pending:
            status = "rejected" if row.reason else "accepted"
            answer = encode_ack(row.sequence, status, row.reason, row.transaction_hash)
            self._publish(ack_topic(row.device_name), answer)
        outbox.mark_answered(row.key for row in pending)

    # ------------------------------------------------------------------ health
    def _write_health(self) -> None:
        now = time.monotonic()
        if now - self._health_written_at < 1.0 and not self._stop.is_set():
            return
        self._health_written_at = now
        write_json_atomically(self.config.state / "health.json", self.health())


def _canonical(reading: SignedReadingTuple) -> bytes:
    """The payload the outbox keeps: the reading re-encoded (what was verified, nothing else)."""
    return encode_reading(reading)


def _session_properties() -> Properties:
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    return properties
