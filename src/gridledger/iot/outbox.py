"""The gateway's durable outbox: every verified reading, written before the broker is told.

SQLite in WAL mode with `synchronous=FULL`: a reading whose MQTT message the gateway has
acknowledged is on disk, so a gateway killed at any point loses nothing the broker let go of.
A reading is keyed by its verified (device id, sequence); its status moves
queued → accepted | rejected (with the registry's reason), and `answered` records that the
device was sent that outcome. Payloads the gateway refused are kept in `refusals` with their
reason. One connection per thread: the intake and the submitter each open their own.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridledger.errors import GatewayError
from gridledger.iot.payload import decode_reading
from gridledger.meter.signing import SignedReadingTuple

QUEUED = "queued"
ACCEPTED = "accepted"
REJECTED = "rejected"
FINAL_STATUSES = (ACCEPTED, REJECTED)
# Of a refused payload the outbox keeps its first bytes: enough to see what it was, not a way
# for a device to fill the disk.
REFUSAL_KEPT_BYTES = 512
# Keys looked up in one query: two parameters each, well under SQLite's parameter limit.
_KEYS_PER_QUERY = 400

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    device_id INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    device_name TEXT NOT NULL,
    interval_start INTEGER NOT NULL,
    digest BLOB NOT NULL,
    payload BLOB NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    transaction_hash TEXT,
    received_at REAL NOT NULL,
    settled_at REAL,
    submissions INTEGER NOT NULL DEFAULT 0,
    answered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, sequence)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_by_status ON readings (status, device_id, sequence);
CREATE INDEX IF NOT EXISTS readings_by_interval ON readings (interval_start);
CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY,
    device_name TEXT NOT NULL,
    sequence INTEGER,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB NOT NULL,
    received_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class StoredReading:
    """A reading in the outbox."""

    device_id: int
    sequence: int
    device_name: str
    interval_start: int
    digest: bytes
    payload: bytes
    status: str
    reason: str | None
    transaction_hash: str | None
    received_at: float
    settled_at: float | None
    submissions: int
    answered: int  # 0 or 1: whether the device was sent the outcome

    @property
    def key(self) -> tuple[int, int]:
        return (self.device_id, self.sequence)

    @property
    def signed(self) -> SignedReadingTuple:
        return decode_reading(self.payload)


@dataclass(frozen=True)
class NewReading:
    """A verified reading to write: its device's topic name, digest and payload as received."""

    device_name: str
    reading: SignedReadingTuple
    digest: bytes
    payload: bytes


@dataclass(frozen=True)
class Refusal:
    device_name: str
    sequence: int | None
    reason: str
    detail: str
    payload: bytes


_COLUMNS = (
    "device_id, sequence, device_name, interval_start, digest, payload, status, reason, "
    "transaction_hash, received_at, settled_at, submissions, answered"
)


def _stored(row: Any) -> StoredReading:
    # SQLite hands back the columns' Python types, in the order of the fields.
    return StoredReading(*row)


class Outbox:
    """The outbox file at `path` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are begun and committed here, explicitly.
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=True)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as unusable:
            raise GatewayError(f"outbox {path} cannot be opened: {unusable}") from unusable

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ intake
    def existing(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StoredReading]:
        """The stored readings among `keys`."""
        wanted = list(keys)
        found: dict[tuple[int, int], StoredReading] = {}
        # One query per chunk, not per key: the intake asks this for every batch it takes in.
        for first in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[first : first + _KEYS_PER_QUERY]
            pairs = ", ".join(["(?, ?)"] * len(chunk))
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM readings WHERE (device_id, sequence) IN (VALUES {pairs})",
                [value for key in chunk for value in key],
            ).fetchall()
            for row in rows:
                stored = _stored(row)
                found[stored.key] = stored
        return found

    def write(self, readings: list[NewReading], refusals: list[Refusal]) -> None:
        """Store new readings (queued) and refusals in one durable transaction; a reading whose
        key is already stored is left as it is (the caller checked `existing` first)."""
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO readings (device_id, sequence, device_name, interval_start, digest, "
                "payload, status, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (new.reading[0], new.reading[1], new.device_name, new.reading[2], new.digest, new.payload,
                     QUEUED, now)
                    for new in readings
                ],
            )  # fmt: skip
            self._db.executemany(
                "INSERT INTO refusals (device_name, sequence, reason, detail, payload, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (r.device_name, r.sequence, r.reason, r.detail, r.payload[:REFUSAL_KEPT_BYTES], now)
                    for r in refusals
                ],
            )

    # ------------------------------------------------------------------ submission
    def queued(self, limit: int = 10_000) -> list[StoredReading]:
        """Readings not yet settled, by device and sequence."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM readings WHERE status = ? ORDER BY device_id, sequence LIMIT ?",
            (QUEUED, limit),
        ).fetchall()
        return [_stored(row) for row in rows]

    def count_submission(self, keys: Iterable[tuple[int, int]]) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE readings SET submissions = submissions + 1 WHERE device_id = ? AND sequence = ?",
                list(keys),
            )

    def settle(self, outcomes: dict[tuple[int, int], str | None], transaction_hash: str | None) -> None:
        """Record each reading's outcome: None accepted, else the registry's reject reason."""
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "UPDATE readings SET status = ?, reason = ?, transaction_hash = ?, settled_at = ? "
                "WHERE device_id = ? AND sequence = ? AND status = ?",
                [
                    (
                        ACCEPTED if reason is None else REJECTED,
                        reason,
                        transaction_hash,
                        now,
                        device,
                        seq,
                        QUEUED,
                    )
                    for (device, seq), reason in outcomes.items()
                ],
            )

    def requeue(self, keys: Iterable[tuple[int, int]]) -> int:
        """Put settled readings back in the queue (reconciliation found the chain lacks them)."""
        with self._transaction():
            cursor = self._db.executemany(
                "UPDATE readings SET status = ?, reason = NULL, answered = 0, settled_at = NULL "
                "WHERE device_id = ? AND sequence = ?",
                [(QUEUED, device, seq) for device, seq in keys],
            )
        return cursor.rowcount

    # ------------------------------------------------------------------ answers
    def unanswered(self, limit: int = 10_000) -> list[StoredReading]:
        """Settled readings whose outcome the device has not been sent yet."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM readings WHERE answered = 0 AND status != ? LIMIT ?", (QUEUED, limit)
        ).fetchall()
        return [_stored(row) for row in rows]

    def mark_answered(self, keys: Iterable[tuple[int, int]]) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE readings SET answered = 1 WHERE device_id = ? AND sequence = ?", list(keys)
            )

    # ------------------------------------------------------------------ reports
    def readings(self, interval_from: int = 0, interval_to: int = 2**63 - 1) -> list[StoredReading]:
        """Every reading whose interval starts in [interval_from, interval_to), by device and sequence."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM readings WHERE interval_start >= ? AND interval_start < ? "
            "ORDER BY device_id, sequence",
            (interval_from, interval_to),
        ).fetchall()
        return [_stored(row) for row in rows]

    def refusals(self) -> list[Refusal]:
        rows = self._db.execute(
            "SELECT device_name, sequence, reason, detail, payload FROM refusals ORDER BY id"
        ).fetchall()
        return [
            Refusal(str(n), None if s is None else int(s), str(r), str(d), bytes(p)) for n, s, r, d, p in rows
        ]

    def counts(self) -> dict[str, int]:
        """Readings per status, and refusals."""
        counted = dict(self._db.execute("SELECT status, COUNT(*) FROM readings GROUP BY status").fetchall())
        counted["refused"] = int(self._db.execute("SELECT COUNT(*) FROM refusals").fetchone()[0])
        return {str(k): int(v) for k, v in counted.items()}

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on an error: the write lock is taken up front so
    the intake and the submitter never deadlock upgrading a read lock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._db.execute("COMMIT" if error is None else "ROLLBACK")


def keys_of(readings: Iterable[StoredReading]) -> Iterator[tuple[int, int]]:
    return (reading.key for reading in readings)
