"""Simulated smart meters over MQTT: N meters in one asyncio process (docs/iot.md).

Each meter has its own TLS client certificate (its MQTT identity) and its own EIP-712 key (its
on-chain identity). Once per interval it signs its cumulative import (1-0:1.8.0) and export
(1-0:2.8.0) registers, taken from a SimBench profile, and publishes the payload with QoS 1 on its
readings topic; a gateway answers on the meter's ack or error topic.

Store-and-forward: every reading is written to a local SQLite file before it is published, and
leaves it only when its answer arrives (an ack, accepted or rejected, or an error: every refusal
is final for that payload). After a reconnect, and for a reading left unanswered longer than
`resend_after_s`, the meter resends its unanswered readings in sequence order; the gateway
answers a copy it has seen with a `Replay` error carrying the first copy's outcome. A restarted
process resumes from the store: no reading is lost and no sequence is used twice.

Time: interval k covers [start + 900·k, start + 900·(k+1)) on the chain's clock and is published
at wall time t0 + (k+1)·interval_seconds, after it ended; with interval_seconds below 900 a day
of readings is replayed at speed. A meter never publishes an interval that has not ended on its
own clock (the chain-consistent `now()` plus the meter's skew), which is what the registry asks
of it (`IntervalInFuture` otherwise).

Faults for tests and demonstrations (`MeterFaults`): a meter's clock skew, random publish
jitter, outages (the meter disconnects, keeps producing into its store and forwards after it
reconnects) and tamper flags.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import sqlite3
import ssl
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gridledger.chain.abi import load_artifact
from gridledger.chain.hashing import keccak
from gridledger.errors import GridLedgerError, InputError
from gridledger.iot import pki as pki_folder
from gridledger.iot import topics
from gridledger.iot.broker import client_tls_context
from gridledger.iot.payload import (
    ACK_SCHEMA,
    REPLAY,
    RETRYABLE_REFUSALS,
    PayloadRefused,
    decode_answer,
    encode_reading,
)
from gridledger.meter.signing import FLAG_TAMPER, DeviceKey, MeterReading

INTERVAL_S = 900  # the registry's interval (sim.scenario.INTERVAL_S), repeated to keep SimBench unloaded
INTERVALS_PER_DAY = 96
# The firmware the simulation and the demo deployment approve (sim/run.py, cli/demo.py).
DEFAULT_FIRMWARE_HASH = keccak(text="gridledger-meter-fw-1.0")
DEFAULT_RESEND_AFTER_S = 60.0
DEFAULT_RECONNECT_DELAY_S = 1.0
# The broker keeps a meter's session (its subscriptions and the answers queued for it) for a
# week of absence: a meter that was offline still learns what became of its readings.
SESSION_EXPIRY_S = 7 * 86_400
# Bounds of the fault options: a skew beyond a day or a jitter beyond an hour is a typo, not a test.
MAX_SKEW_S = 86_400.0
MAX_JITTER_S = 3_600.0

ACCEPTED = "accepted"
REJECTED = "rejected"
REFUSED = "refused"
FINAL_ACK_STATUSES = (ACCEPTED, REJECTED)


class MeterError(GridLedgerError):
    """The meters cannot run: an unusable store, device or profile."""


class DeviceNotRegistered(MeterError):
    """A meter's signing key is not a device of the registry."""

    def __init__(self, signer: str) -> None:
        self.signer = signer
        super().__init__(f"the signer {signer} is not a device of the registry: register it first")


class LinkLost(MeterError):
    """The connection to the broker failed or dropped; the meter reconnects."""


# ---------------------------------------------------------------------------------------- faults
@dataclass(frozen=True)
class Outage:
    """Meter `device` is offline from interval `first_interval` for `intervals` intervals."""

    device: str
    first_interval: int
    intervals: int

    def covers(self, k: int) -> bool:
        return self.first_interval <= k < self.first_interval + self.intervals


@dataclass(frozen=True)
class MeterFaults:
    """Injected faults: per-meter clock skew (s), publish jitter (0..jitter_s s, from `seed`),
    outages, and (meter, interval) pairs whose reading carries FLAG_TAMPER."""

    skew_s: Mapping[str, float] = field(default_factory=dict)
    jitter_s: float = 0.0
    outages: tuple[Outage, ...] = ()
    tamper: frozenset[tuple[str, int]] = frozenset()
    seed: int = 0

    @classmethod
    def parse(
        cls,
        skew: Iterable[str] = (),
        jitter_s: float = 0.0,
        outages: Iterable[str] = (),
        tamper: Iterable[str] = (),
        seed: int = 0,
    ) -> MeterFaults:
        """The faults of the command-line options `--skew NAME=SECONDS`, `--jitter-s`,
        `--outage NAME@K+N` and `--tamper NAME@K`; InputError for any malformed one."""
        skews: dict[str, float] = {}
        for text in skew:
            name, seconds = parse_skew(text)
            if name in skews:
                raise InputError(f"--skew: meter {name!r} has two skews")
            skews[name] = seconds
        if not (math.isfinite(jitter_s) and 0 <= jitter_s <= MAX_JITTER_S):
            raise InputError(f"--jitter-s must be from 0 to {MAX_JITTER_S:g} seconds, got {jitter_s}")
        parsed_outages = tuple(parse_outage(text) for text in outages)
        for i, one in enumerate(parsed_outages):
            for other in parsed_outages[:i]:
                if one.device == other.device and (
                    one.first_interval < other.first_interval + other.intervals
                    and other.first_interval < one.first_interval + one.intervals
                ):
                    raise InputError(f"--outage: two outages of meter {one.device!r} overlap")
        if not 0 <= seed < 2**32:
            raise InputError(f"--seed must be from 0 to {2**32 - 1}, got {seed}")
        return cls(skews, jitter_s, parsed_outages, frozenset(parse_tamper(text) for text in tamper), seed)

    def check_devices(self, names: Collection[str]) -> None:
        """InputError if a fault names a meter that is not among `names`: a misspelt name
        would otherwise inject nothing, silently."""
        named = {*self.skew_s, *(o.device for o in self.outages), *(name for name, _ in self.tamper)}
        unknown = sorted(named - set(names))
        if unknown:
            raise InputError(f"faults name meters that do not run: {', '.join(unknown)}")

    def clock_skew_s(self, name: str) -> float:
        return self.skew_s.get(name, 0.0)

    def offline(self, name: str, k: int) -> bool:
        """Whether meter `name` is offline while it produces interval k."""
        return any(o.device == name and o.covers(k) for o in self.outages)

    def flags(self, name: str, k: int) -> int:
        return FLAG_TAMPER if (name, k) in self.tamper else 0

    def jitter_of_s(self, name: str, k: int) -> float:
        """The publish delay of meter `name`'s interval k: the same in every run of a seed, and
        after a restart (drawn per interval, not from one stream)."""
        if self.jitter_s <= 0:
            return 0.0
        return random.Random(f"{self.seed}:{name}:{k}").uniform(0.0, self.jitter_s)


def _name_of(text: str, option: str) -> str:
    try:
        return topics.checked_device_name(text)
    except InputError as bad:
        raise InputError(f"{option}: {bad}") from None


def _count(text: str, option: str, what: str, least: int) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < least:
        raise InputError(f"{option}: {what} must be a whole number of at least {least}, got {text!r}")
    return int(text)


def parse_skew(text: str) -> tuple[str, float]:
    """`NAME=SECONDS` (SECONDS may be negative: a clock that lags) → (name, seconds)."""
    name, sep, seconds = text.partition("=")
    if not sep:
        raise InputError(f"--skew {text!r} is not NAME=SECONDS")
    try:
        value = float(seconds)
    except ValueError:
        raise InputError(f"--skew {text!r}: {seconds!r} is not a number of seconds") from None
    if not (math.isfinite(value) and abs(value) <= MAX_SKEW_S):
        raise InputError(f"--skew {text!r}: the skew must be within ±{MAX_SKEW_S:g} seconds")
    return _name_of(name, "--skew"), value


def parse_outage(text: str) -> Outage:
    """`NAME@K+N`: meter NAME offline from interval K (0-based) for N intervals."""
    name, sep, span = text.partition("@")
    first, plus, count = span.partition("+")
    if not sep or not plus:
        raise InputError(f"--outage {text!r} is not NAME@K+N")
    return Outage(
        _name_of(name, "--outage"),
        _count(first, f"--outage {text!r}", "K", 0),
        _count(count, f"--outage {text!r}", "N", 1),
    )


def parse_tamper(text: str) -> tuple[str, int]:
    """`NAME@K`: meter NAME sets FLAG_TAMPER on interval K's reading."""
    name, sep, first = text.partition("@")
    if not sep:
        raise InputError(f"--tamper {text!r} is not NAME@K")
    return _name_of(name, "--tamper"), _count(first, f"--tamper {text!r}", "K", 0)


def publish_due_s(k: int, t0_wall_s: float, interval_seconds: float, skew_s: float = 0.0) -> float:
    """The wall time at which a meter publishes interval k: the interval's end on the replay
    clock (t0 is interval 0's start), early by the meter's clock skew scaled to the replay rate."""
    return t0_wall_s + (k + 1) * interval_seconds - skew_s * interval_seconds / INTERVAL_S


def replay_clock(start_s: int, t0_wall_s: float, interval_seconds: float) -> Callable[[], float]:
    """A chain clock that runs `INTERVAL_S / interval_seconds` times faster than the wall and
    reads `start_s` at wall time `t0_wall_s`: the clock of a chain a replay runs on."""

    def now() -> float:
        return start_s + (time.time() - t0_wall_s) * INTERVAL_S / interval_seconds

    return now


# ------------------------------------------------------------------------------------- registers
@dataclass(frozen=True)
class RegisterSeries:
    """One meter's cumulative registers at the end of each interval of the run, in Wh."""

    import_wh: Sequence[int]
    export_wh: Sequence[int]

    def __post_init__(self) -> None:
        if len(self.import_wh) != len(self.export_wh):
            raise MeterError("import and export registers must cover the same intervals")

    @property
    def intervals(self) -> int:
        return len(self.import_wh)


def checked_start_s(start_s: int) -> int:
    """`start_s` if it is an interval start the registry takes (aligned to 900 s); InputError otherwise."""
    if start_s < 0 or start_s % INTERVAL_S:
        raise InputError(f"the start {start_s} is not a multiple of {INTERVAL_S} seconds")
    return start_s


def community_registers(
    grid_code: str, start_s: int, intervals: int, meters: int, seed: int = 0
) -> list[RegisterSeries]:
    """The registers of participants 0..meters-1 of `build_community(grid_code, ...)` for
    `intervals` intervals from `start_s`: one bidirectional prosumer meter per participant, its
    import register from the consumption profile and its export register from the PV profile.

    The profile of `start_s`'s time of day is used (SimBench steps are UTC-aligned here, as in
    the simulation), and the registers count from the run's start, so the first reading's
    delta is one interval's energy, within the device's rating."""
    from gridledger.sim.scenario import build_community  # SimBench loads pandapower: only when needed

    checked_start_s(start_s)
    if intervals < 1 or meters < 1:
        raise InputError("a run needs at least one interval and one meter")
    day = datetime.fromtimestamp(start_s, UTC)
    offset = (day.hour * 3600 + day.minute * 60) // INTERVAL_S
    days = -(-(offset + intervals) // INTERVALS_PER_DAY)
    community = build_community(grid_code, day.date(), days, prosumers=meters, seed=seed)
    imports, exports = community.import_register_wh(), community.export_register_wh()
    series = []
    for i in range(meters):
        window = slice(offset, offset + intervals)
        base_import = int(imports[i, offset - 1]) if offset else 0
        base_export = int(exports[i, offset - 1]) if offset else 0
        series.append(
            RegisterSeries(
                [int(v) - base_import for v in imports[i, window]],
                [int(v) - base_export for v in exports[i, window]],
            )
        )
    return series


# ----------------------------------------------------------------------------------------- store
@dataclass(frozen=True)
class PendingReading:
    """A reading in the store, not yet answered."""

    device: str
    sequence: int
    interval_start: int
    payload: bytes
    created_at_s: float
    attempts: int


@dataclass(frozen=True)
class Answer:
    """The final answer to a reading: `status` accepted, rejected or refused, and why."""

    sequence: int
    status: str
    reason: str | None


@dataclass(frozen=True)
class DeviceProgress:
    """Where a meter stands in the store: the last sequence it used and the next interval."""

    device: str
    device_id: int
    start_s: int
    next_interval: int
    last_sequence: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meters (
    device TEXT PRIMARY KEY,
    device_id INTEGER NOT NULL,
    start_s INTEGER NOT NULL,
    next_interval INTEGER NOT NULL,
    last_sequence INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    device TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    interval_start INTEGER NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device, sequence)
);
CREATE TABLE IF NOT EXISTS answers (
    device TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    at REAL NOT NULL,
    PRIMARY KEY (device, sequence)
);
"""


class ReadingStore:
    """The meters' store-and-forward file: SQLite in WAL mode, one per meter process.

    `synchronous=FULL`: a reading is on disk before its publish starts, so a meter killed at any
    point has either not produced the reading (and produces it again, with the same sequence)
    or holds it and sends it after the restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as unusable:
            raise MeterError(f"cannot open the meter store {path}: {unusable}") from unusable

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ReadingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def bind(self, device: str, device_id: int, start_s: int) -> DeviceProgress:
        """The progress of `device` in the store, created at interval 0 if it is new; MeterError
        if the store holds it with another device id or run start (registers and sequences would
        no longer continue where the chain has them)."""
        row = self._db.execute(
            "SELECT device_id, start_s, next_interval, last_sequence FROM meters WHERE device = ?", (device,)
        ).fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO meters (device, device_id, start_s, next_interval, last_sequence) "
                "VALUES (?, ?, ?, 0, 0)",
                (device, device_id, start_s),
            )
            return DeviceProgress(device, device_id, start_s, 0, 0)
        stored_id, stored_start, next_interval, last_sequence = row
        if stored_id != device_id:
            raise MeterError(
                f"the store {self.path} holds meter {device!r} as device {stored_id}, not {device_id}: "
                "use a new store for a re-registered device"
            )
        if stored_start != start_s:
            raise MeterError(
                f"the store {self.path} holds meter {device!r} for a run started at {stored_start}, "
                f"not {start_s}: resume with that start, or use a new store"
            )
        return DeviceProgress(device, device_id, start_s, int(next_interval), int(last_sequence))

    def progress(self, device: str) -> DeviceProgress | None:
        row = self._db.execute(
            "SELECT device_id, start_s, next_interval, last_sequence FROM meters WHERE device = ?", (device,)
        ).fetchone()
        return None if row is None else DeviceProgress(device, *(int(v) for v in row))

    def add(
        self,
        device: str,
        interval: int,
        sequence: int,
        interval_start: int,
        payload: bytes,
        created_at_s: float,
    ) -> None:
        """Keep a new reading of interval `interval` and advance the device past it, in one
        transaction: a crash leaves either both or neither."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO pending (device, sequence, interval_start, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (device, sequence, interval_start, payload, created_at_s),
            )
            updated = self._db.execute(
                "UPDATE meters SET next_interval = ?, last_sequence = ? WHERE device = ?",
                (interval + 1, sequence, device),
            ).rowcount
            if updated != 1:
                raise MeterError(f"meter {device!r} is not bound to the store {self.path}")

    def record_attempt(self, device: str, sequence: int) -> int:
        """Count a publish of a pending reading; its attempts so far (0 if it is answered already)."""
        self._db.execute(
            "UPDATE pending SET attempts = attempts + 1 WHERE device = ? AND sequence = ?", (device, sequence)
        )
        row = self._db.execute(
            "SELECT attempts FROM pending WHERE device = ? AND sequence = ?", (device, sequence)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def answer(self, device: str, answer: Answer, at_s: float) -> bool:
        """Record the final answer to a reading and let it leave the store; whether it was
        pending (False: an answer to a copy already answered, or to a reading never made here)."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO answers (device, sequence, status, reason, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (device, answer.sequence, answer.status, answer.reason, at_s),
            )
            removed = self._db.execute(
                "DELETE FROM pending WHERE device = ? AND sequence = ?", (device, answer.sequence)
            ).rowcount
        return removed == 1

    def pending(self, device: str) -> list[PendingReading]:
        """The unanswered readings of `device`, in sequence order (the order of a resend)."""
        rows = self._db.execute(
            "SELECT sequence, interval_start, payload, created_at, attempts FROM pending "
            "WHERE device = ? ORDER BY sequence",
            (device,),
        ).fetchall()
        return [PendingReading(device, int(s), int(i), bytes(p), float(c), int(a)) for s, i, p, c, a in rows]

    def answers(self, device: str) -> list[Answer]:
        rows = self._db.execute(
            "SELECT sequence, status, reason FROM answers WHERE device = ? ORDER BY sequence", (device,)
        ).fetchall()
        return [Answer(int(s), str(status), reason) for s, status, reason in rows]

    def pending_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0])

    @contextlib.contextmanager
    def _transaction(self) -> Any:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def answer_of(payload: bytes) -> Answer | None:
    """The final answer an ack or error payload gives, or None if it gives none (not an answer,
    no sequence to attribute it to, or an ack status that is not final).

    An ack says accepted or rejected (with the registry's reason). An error refuses the payload
    for good, except a Replay: it carries the first copy's outcome, which is the reading's, or
    no final outcome while the first copy is still queued."""
    try:
        document = decode_answer(payload)
    except PayloadRefused:
        return None
    sequence = document.get("sequence")
    if type(sequence) is not int:
        return None
    reason = document.get("reason")
    reason_text = reason if isinstance(reason, str) else None
    status = document.get("status")
    if document["schema"] == ACK_SCHEMA:
        return Answer(sequence, status, reason_text) if status in FINAL_ACK_STATUSES else None
    if reason_text in RETRYABLE_REFUSALS:
        return None  # kept: sent again after resend_after_s
    if reason_text == REPLAY:
        # The gateway holds the first copy: its outcome is the reading's, once there is one
        # (a copy still queued is answered on the ack topic when the chain has decided).
        return Answer(sequence, status, REPLAY) if status in FINAL_ACK_STATUSES else None
    return Answer(sequence, REFUSED, reason_text)


# ------------------------------------------------------------------------------------ transport
class Link(Protocol):
    """A meter's connection to the broker, subscribed to its ack and error topics."""

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1; returns once the broker has the message. LinkLost if it cannot."""

    def answers(self) -> AsyncIterator[bytes]:
        """The payloads arriving on the meter's ack and error topics; LinkLost once the link drops."""
        ...


@dataclass(frozen=True)
class MeterDevice:
    """A meter: its name (certificate common name), PKI folder, signing key and on-chain id."""

    name: str
    folder: Path
    key: DeviceKey
    device_id: int


Connector = Callable[[MeterDevice], AbstractAsyncContextManager[Link]]


class _MqttLink:
    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client

    async def publish(self, topic: str, payload: bytes) -> None:
        try:
            await self._client.publish(topic, payload, qos=1)
        except aiomqtt.MqttError as lost:
            raise LinkLost(f"publish on {topic} failed: {lost}") from lost

    async def answers(self) -> AsyncIterator[bytes]:
        try:
            async for message in self._client.messages:
                yield bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b""
        except aiomqtt.MqttError as lost:
            raise LinkLost(f"the connection dropped: {lost}") from lost


def mqtt_connector(
    port: int,
    host: str = "127.0.0.1",
    tls_context_for: Callable[[Path], ssl.SSLContext] = client_tls_context,
    session_expiry_s: int = SESSION_EXPIRY_S,
    timeout_s: float = 10.0,
) -> Connector:
    """Connections over MQTT 5 with mutual TLS: client id = the device name, clean_start false
    and a session expiry, so the broker keeps the meter's subscriptions and queued answers
    while it is away (and across a broker restart, with persistence on)."""
    contexts: dict[Path, ssl.SSLContext] = {}

    @asynccontextmanager
    async def connect(device: MeterDevice) -> AsyncIterator[Link]:
        if device.folder not in contexts:
            contexts[device.folder] = tls_context_for(device.folder)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = session_expiry_s
        # A new client per connection: aiomqtt's client does not reset its state after a dropped
        # connection; the broker's session, not the client object, is what carries over.
        client = aiomqtt.Client(
            host,
            port,
            identifier=device.name,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=properties,
            tls_context=contexts[device.folder],
            timeout=timeout_s,
            keepalive=max(5, int(timeout_s)),
        )
        try:
            async with client:
                # Subscribed on every connection: after a broker that lost its state, the
                # session is new, and a subscription already held is simply confirmed.
                for topic in (topics.ack_topic(device.name), topics.error_topic(device.name)):
                    await client.subscribe(topic, qos=1)
                yield _MqttLink(client)
        except aiomqtt.MqttError as failed:
            raise LinkLost(f"meter {device.name}: {failed}") from failed

    return connect


# ----------------------------------------------------------------------------------------- fleet
@dataclass
class FleetCounters:
    """What the fleet did: readings produced, first publishes, resends, and final answers."""

    produced: int = 0
    published: int = 0
    resent: int = 0
    accepted: int = 0
    rejected: int = 0
    refused: int = 0
    connections: int = 0
    disconnections: int = 0
    unattributed_answers: int = 0

    @property
    def answered(self) -> int:
        return self.accepted + self.rejected + self.refused


@dataclass(frozen=True)
class MeterEvent:
    """Something a meter did: kind is produced, published, resent, answered, offline, online,
    connected or disconnected; `sequence` for the reading events."""

    kind: str
    device: str
    sequence: int | None = None
    status: str | None = None


class MeterFleet:
    """N meters in one process; `run` produces, publishes and forwards their readings."""

    def __init__(
        self,
        devices: Sequence[MeterDevice],
        registers: Sequence[RegisterSeries],
        store: ReadingStore,
        domain: bytes,
        connector: Connector,
        *,
        start_s: int,
        interval_seconds: float = INTERVAL_S,
        faults: MeterFaults | None = None,
        resend_after_s: float = DEFAULT_RESEND_AFTER_S,
        now: Callable[[], float] = time.time,
        t0_wall_s: float | None = None,
        firmware_hash: bytes = DEFAULT_FIRMWARE_HASH,
        reconnect_delay_s: float = DEFAULT_RECONNECT_DELAY_S,
        on_event: Callable[[MeterEvent], None] | None = None,
    ) -> None:
        """`registers[i]` are meter `devices[i]`'s; `domain` is the registry's EIP-712 domain
        separator; `now` is the chain-consistent clock; `t0_wall_s` is the wall time of interval
        0's start (default: `start_s` in real time, the run's begin in a replay)."""
        if len(registers) != len(devices):
            raise MeterError(f"{len(devices)} meters but registers for {len(registers)}")
        if len({d.name for d in devices}) != len(devices):
            raise MeterError("two meters of the fleet have the same name")
        if not (math.isfinite(interval_seconds) and 0 < interval_seconds <= INTERVAL_S):
            raise InputError(
                f"the interval must last from 0 to {INTERVAL_S} wall seconds, got {interval_seconds}"
            )
        if not (math.isfinite(resend_after_s) and resend_after_s > 0):
            raise InputError(f"the resend delay must be positive, got {resend_after_s}")
        self.devices = tuple(devices)
        self.registers = tuple(registers)
        self.store = store
        self.domain = domain
        self.connector = connector
        self.start_s = checked_start_s(start_s)
        self.interval_seconds = interval_seconds
        self.faults = faults or MeterFaults()
        self.faults.check_devices([d.name for d in devices])
        self.resend_after_s = resend_after_s
        self.now = now
        self.t0_wall_s = t0_wall_s
        self.firmware_hash = firmware_hash
        self.reconnect_delay_s = reconnect_delay_s
        self.on_event = on_event
        self.counters = FleetCounters()
        self._runs: list[_MeterRun] = []  # the last run's meters

    def emit(self, event: MeterEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    async def run(self, intervals: int, stop: asyncio.Event | None = None) -> FleetCounters:
        """Run every meter through intervals 0..intervals-1 (those its store has not produced
        yet) until all their readings are answered, or until `stop` is set. MeterError if the
        store cannot resume a meter or the registers do not cover the run."""
        if intervals < 1:
            raise InputError(f"a run needs at least one interval, got {intervals}")
        short = [d.name for d, r in zip(self.devices, self.registers, strict=True) if r.intervals < intervals]
        if short:
            raise MeterError(f"registers cover fewer than {intervals} intervals for {', '.join(short)}")
        meters = [
            _MeterRun(self, device, registers, self.store.bind(device.name, device.device_id, self.start_s))
            for device, registers in zip(self.devices, self.registers, strict=True)
        ]
        self._runs = meters
        t0 = self.t0_wall_s
        if t0 is None:
            first = min(m.progress.next_interval for m in meters)
            # Real time: interval k ends at its own end. A replay resumes its clock where the
            # store stopped, instead of idling through the intervals already produced.
            real_time = self.interval_seconds == INTERVAL_S
            t0 = float(self.start_s) if real_time else time.time() - first * self.interval_seconds
        tasks = [asyncio.create_task(m.run(intervals, t0), name=f"meter {m.device.name}") for m in meters]
        stopper = asyncio.create_task(stop.wait()) if stop is not None else None
        try:
            waiting: set[asyncio.Task[Any]] = {*tasks, *([stopper] if stopper else [])}
            while any(not t.done() for t in tasks):
                done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not stopper and (error := task.exception()) is not None:
                        raise error
                if stopper is not None and stopper in done:
                    break
        finally:
            for task in [*tasks, *([stopper] if stopper else [])]:
                task.cancel()
            await asyncio.gather(*tasks, *([stopper] if stopper else []), return_exceptions=True)
        return self.counters

    def unfinished(self) -> list[str]:
        """Each meter of the last run that had not finished when it ended (a stopped run), with
        where it was: what a stop leaves for the next run, and where a stuck meter waits."""
        return [
            f"{m.device.name}: produced {'all' if m.produced_all else f'up to interval {m.next_interval}'}, "
            f"{len(m.pending)} unanswered, {'connected' if not m.link_down.is_set() else 'not connected'}, "
            f"{'online' if m.online.is_set() else 'offline'}"
            for m in self._runs
            if not m.finished.is_set()
        ]


@dataclass
class _Pending:
    sequence: int
    payload: bytes
    sent_at_s: float | None = None  # wall time of the last publish in this process
    # Published at least once: here, or tried by an earlier process of this store. A publish
    # cut off before the broker's acknowledgement does not count.
    sent: bool = False


class _MeterRun:
    """One meter of a fleet run: a producer of readings and a connection that forwards them."""

    def __init__(
        self, fleet: MeterFleet, device: MeterDevice, registers: RegisterSeries, progress: DeviceProgress
    ) -> None:
        self.fleet = fleet
        self.device = device
        self.registers = registers
        self.progress = progress
        self.topic = topics.readings_topic(device.name)
        self.skew_s = fleet.faults.clock_skew_s(device.name)
        # The store is the truth; this is its unanswered part, kept in memory for the sender.
        self.pending = {
            p.sequence: _Pending(p.sequence, p.payload, sent=p.attempts > 0)
            for p in fleet.store.pending(device.name)
        }
        self.next_interval = progress.next_interval
        self.last_sequence = progress.last_sequence
        self.produced_all = False
        self.finished = asyncio.Event()
        self.online = asyncio.Event()
        self.offline = asyncio.Event()
        self.online.set()
        self.wake = asyncio.Event()
        # Held by the sender from its online check to the broker's acknowledgement, and by an
        # outage's begin and end: an outage falls between two messages, never inside one.
        self.link_turn = asyncio.Lock()
        self.link_down = asyncio.Event()  # set while the meter holds no connection
        self.link_down.set()

    async def run(self, intervals: int, t0_wall_s: float) -> None:
        connection = asyncio.create_task(self._connection())
        try:
            await self._produce(intervals, t0_wall_s)
            await self.finished.wait()
        finally:
            connection.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connection

    # ----------------------------------------------------------------- the readings
    async def _produce(self, intervals: int, t0_wall_s: float) -> None:
        fleet, name = self.fleet, self.device.name
        for k in range(self.next_interval, intervals):
            due_s = publish_due_s(k, t0_wall_s, fleet.interval_seconds, self.skew_s)
            await _sleep_until(due_s + fleet.faults.jitter_of_s(name, k))
            interval_start = fleet.start_s + k * INTERVAL_S
            await self._until_ended(interval_start)
            await self._set_online(not fleet.faults.offline(name, k))
            sequence = self.last_sequence + 1
            reading = MeterReading(
                self.device.device_id,
                sequence,
                interval_start,
                int(self.registers.import_wh[k]),
                int(self.registers.export_wh[k]),
                fleet.faults.flags(name, k),
                fleet.firmware_hash,
            )
            payload = encode_reading(self.device.key.sign_reading(reading, fleet.domain))
            # Into the store before any publish: from here on the reading survives a crash.
            fleet.store.add(name, k, sequence, interval_start, payload, time.time())
            self.last_sequence, self.next_interval = sequence, k + 1
            self.pending[sequence] = _Pending(sequence, payload)
            fleet.counters.produced += 1
            fleet.emit(MeterEvent("produced", name, sequence))
            self.wake.set()
        # An outage that runs past the last interval ends with it: the store must drain.
        await self._set_online(True)
        self.produced_all = True
        self._check_finished()

    async def _until_ended(self, interval_start: int) -> None:
        """Wait until the interval has ended on the meter's clock (the chain's plus its skew)."""
        while (gap_s := interval_start + INTERVAL_S - (self.fleet.now() + self.skew_s)) > 0:
            # The gap is in chain seconds; a replay's clock runs faster than the wall.
            await asyncio.sleep(min(max(gap_s * self.fleet.interval_seconds / INTERVAL_S, 0.01), 1.0))

    async def _set_online(self, online: bool) -> None:
        if online == self.online.is_set():
            return
        async with self.link_turn:
            if online:
                self.offline.clear()
                self.online.set()
            else:
                self.online.clear()
                self.offline.set()
                # An outage is a cut link: nothing goes out or comes in until it ends.
                await self.link_down.wait()
            self.fleet.emit(MeterEvent("online" if online else "offline", self.device.name))

    def _check_finished(self) -> None:
        if self.produced_all and not self.pending:
            self.finished.set()

    def _on_answer(self, payload: bytes) -> None:
        fleet = self.fleet
        answer = answer_of(payload)
        if answer is None:
            fleet.counters.unattributed_answers += 1
            return
        if not fleet.store.answer(self.device.name, answer, time.time()):
            return  # a late answer to a copy: the reading left the store with the first one
        self.pending.pop(answer.sequence, None)
        if answer.status == ACCEPTED:
            fleet.counters.accepted += 1
        elif answer.status == REJECTED:
            fleet.counters.rejected += 1
        else:
            fleet.counters.refused += 1
        fleet.emit(MeterEvent("answered", self.device.name, answer.sequence, answer.status))
        self._check_finished()

    # ------------------------------------------------------------------ the link
    async def _connection(self) -> None:
        fleet, name = self.fleet, self.device.name
        while True:
            await self.online.wait()
            self.link_down.clear()
            try:
                try:
                    async with fleet.connector(self.device) as link:
                        fleet.counters.connections += 1
                        fleet.emit(MeterEvent("connected", name))
                        await self._serve(link)
                finally:
                    self.link_down.set()
                if self.finished.is_set():
                    return  # left because every reading is answered
                fleet.emit(MeterEvent("disconnected", name))
            except LinkLost:
                fleet.counters.disconnections += 1
                fleet.emit(MeterEvent("disconnected", name))
                await asyncio.sleep(fleet.reconnect_delay_s)

    async def _serve(self, link: Link) -> None:
        """Forward and receive until the link drops (LinkLost), an outage begins or the meter
        is finished."""
        sender = asyncio.create_task(self._send(link))
        receiver = asyncio.create_task(self._receive(link))
        leave = asyncio.create_task(_first_of(self.offline, self.finished))
        tasks = (sender, receiver, leave)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if (error := task.exception()) is not None:
                raise error

    async def _receive(self, link: Link) -> None:
        async for payload in link.answers():
            self._on_answer(payload)
        raise LinkLost("the broker closed the message stream")

    async def _send(self, link: Link) -> None:
        """Publish every unanswered reading not yet sent on this link, in sequence order (so a
        reconnect resends them all), and again any left unanswered for resend_after_s."""
        fleet, name = self.fleet, self.device.name
        sent_here: set[int] = set()
        while True:
            self.wake.clear()
            now_s = time.time()
            for sequence in sorted(self.pending):
                entry = self.pending.get(sequence)
                if entry is None:
                    continue
                stale = entry.sent_at_s is not None and now_s - entry.sent_at_s >= fleet.resend_after_s
                if sequence in sent_here and not stale:
                    continue
                async with self.link_turn:
                    if not self.online.is_set():
                        break
                    if fleet.store.record_attempt(name, sequence) == 0:
                        continue  # answered while we were publishing the ones before it
                    await link.publish(self.topic, entry.payload)
                    entry.sent_at_s = time.time()
                    sent_here.add(sequence)
                    first, entry.sent = not entry.sent, True
                    if first:
                        fleet.counters.published += 1
                    else:
                        fleet.counters.resent += 1
                    fleet.emit(MeterEvent("published" if first else "resent", name, sequence))
            waits = [
                e.sent_at_s + fleet.resend_after_s for e in self.pending.values() if e.sent_at_s is not None
            ]
            timeout_s = max(min(waits) - time.time(), 0.0) if waits else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout_s)


async def _sleep_until(wall_s: float) -> None:
    delay_s = wall_s - time.time()
    if delay_s > 0:
        await asyncio.sleep(delay_s)


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


# ------------------------------------------------------------------------------------ devices
class ViewChain(Protocol):
    def call(self, artifact: Any, address: str, fn: str, *args: Any) -> tuple[Any, ...]: ...


def resolve_device_ids(chain: ViewChain, registry_address: str, signers: Iterable[str]) -> dict[str, int]:
    """The registry's device id of each signer address (`deviceIdOf`); DeviceNotRegistered for
    a signer the registry does not know (id 0)."""
    artifact = load_artifact("SmartMeterRegistry")
    ids: dict[str, int] = {}
    for signer in signers:
        (device_id,) = chain.call(artifact, registry_address, "deviceIdOf", signer)
        if int(device_id) == 0:
            raise DeviceNotRegistered(signer)
        ids[signer] = int(device_id)
    return ids


def pki_device_names(pki: Path) -> list[str]:
    """The devices of a PKI folder whose certificates are in force, in issue order."""
    names: list[str] = []
    for entry in pki_folder.issued(pki):
        if entry.kind == "device" and entry.active and entry.name not in names:
            names.append(entry.name)
    return names


def load_device_key(pki: Path, name: str) -> tuple[Path, DeviceKey]:
    """The folder and signing key of device `name` of a PKI folder; PkiError if either is missing."""
    folder = pki_folder.device_folder(pki, topics.checked_device_name(name))
    return folder, pki_folder.read_signing_key(folder)


# --------------------------------------------------------------------------------------- bench
async def publish_burst(
    broker_port: int,
    device_folders: Mapping[str, Path],
    payloads_by_device: Mapping[str, Sequence[bytes]],
    *,
    host: str = "127.0.0.1",
    tls_context_for: Callable[[Path], ssl.SSLContext] = client_tls_context,
    max_inflight: int = 1000,
    timeout_s: float = 300.0,
    on_first_publish: Callable[[float], None] | None = None,
) -> float:
    """Publish pre-signed payloads as fast as the broker takes them, one connection per device
    (a device may publish on its own topic only), QoS 1; the seconds from the first publish
    until the broker acknowledged the last. No store, no answers: a throughput bench."""
    missing = sorted(set(payloads_by_device) - set(device_folders))
    if missing:
        raise MeterError(f"payloads for devices without a folder: {', '.join(missing)}")
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, aiomqtt.Client] = {}
        for name in payloads_by_device:
            client = aiomqtt.Client(
                host,
                broker_port,
                identifier=name,
                protocol=aiomqtt.ProtocolVersion.V5,
                tls_context=tls_context_for(device_folders[name]),
                max_inflight_messages=max_inflight,
                timeout=timeout_s,
            )
            # Thousands of publishes wait at once by design; aiomqtt would warn about each.
            client.pending_calls_threshold = 2**31
            try:
                clients[name] = await stack.enter_async_context(client)
            except aiomqtt.MqttError as failed:
                raise LinkLost(f"meter {name}: {failed}") from failed

        async def publish_all(name: str) -> None:
            topic = topics.readings_topic(name)
            await asyncio.gather(*(clients[name].publish(topic, p, qos=1) for p in payloads_by_device[name]))

        began_s = time.perf_counter()
        if on_first_publish is not None:
            # Every connection is up: the burst starts now (wall clock, for latencies across processes).
            on_first_publish(time.time())
        try:
            await asyncio.gather(*(publish_all(name) for name in payloads_by_device))
        except aiomqtt.MqttError as failed:
            raise LinkLost(f"the burst failed: {failed}") from failed
        return time.perf_counter() - began_s
