"""The gateway's outbox keeps every verified reading durably, under its first copy, moves it from
queued to accepted or rejected once, puts it back in the queue on request, and is shared by the
intake's and the submitter's connections."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from gridledger.errors import GatewayError
from gridledger.iot.outbox import (
    ACCEPTED,
    QUEUED,
    REFUSAL_KEPT_BYTES,
    REJECTED,
    NewReading,
    Outbox,
    Refusal,
    keys_of,
)
from gridledger.iot.payload import encode_reading
from gridledger.meter.signing import (
    DeviceKey,
    MeterReading,
    SignedReadingTuple,
    reading_digest,
    registry_domain_separator,
)

METER = DeviceKey(bytes.fromhex("22" * 32))
DOMAIN = registry_domain_separator(31337, "0x" + "cd" * 20)
FIRMWARE = bytes.fromhex("f1" * 32)
FIRST_INTERVAL = 1_699_999_200
INTERVAL_S = 900


def _signed(device_id: int, sequence: int, export_wh: int = 100) -> SignedReadingTuple:
    interval = FIRST_INTERVAL + (sequence - 1) * INTERVAL_S
    return METER.sign_reading(
        MeterReading(device_id, sequence, interval, 1_000 + sequence, export_wh, 0, FIRMWARE), DOMAIN
    )


def _new(device_id: int, sequence: int, export_wh: int = 100) -> NewReading:
    signed = _signed(device_id, sequence, export_wh)
    digest = reading_digest(MeterReading(*signed[:7]), DOMAIN)
    return NewReading(f"meter-{device_id}", signed, digest, encode_reading(signed))


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "state" / "outbox.sqlite")


# ---------------------------------------------------------------- intake
def test_write_thenExisting_returnsTheReadingQueued(outbox: Outbox) -> None:
    new = _new(3, 1)
    outbox.write([new], [])
    stored = outbox.existing([(3, 1), (3, 2)])
    assert list(stored) == [(3, 1)]
    reading = stored[(3, 1)]
    assert (reading.device_name, reading.interval_start) == ("meter-3", FIRST_INTERVAL)
    assert reading.digest == new.digest
    assert (reading.status, reading.reason, reading.transaction_hash) == (QUEUED, None, None)
    assert (reading.submissions, reading.answered, reading.settled_at) == (0, 0, None)
    assert reading.signed == new.reading


def test_existing_ofNothingStored_isEmpty(outbox: Outbox) -> None:
    assert outbox.existing([(1, 1)]) == {}


def test_write_storedKeyAgain_keepsTheFirstCopy(outbox: Outbox) -> None:
    first, second = _new(3, 1, export_wh=100), _new(3, 1, export_wh=999)
    outbox.write([first], [])
    outbox.write([second], [])
    stored = outbox.existing([(3, 1)])[(3, 1)]
    assert stored.digest == first.digest and stored.payload == first.payload
    assert outbox.counts() == {QUEUED: 1, "refused": 0}


def test_write_sameKeyTwiceInOneCall_keepsTheFirst(outbox: Outbox) -> None:
    first, second = _new(3, 1, export_wh=100), _new(3, 1, export_wh=999)
    outbox.write([first, second], [])
    assert outbox.existing([(3, 1)])[(3, 1)].digest == first.digest


def test_write_failingRefusal_storesNoReadingEither(outbox: Outbox) -> None:
    broken = Refusal("meter-3", None, None, "not JSON", b"{")  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        outbox.write([_new(3, 1)], [broken])
    assert outbox.existing([(3, 1)]) == {}
    assert outbox.counts() == {"refused": 0}


# ---------------------------------------------------------------- submission
def test_queued_isByDeviceThenSequence(outbox: Outbox) -> None:
    outbox.write([_new(2, 1), _new(1, 3), _new(1, 1), _new(2, 2), _new(1, 2)], [])
    assert [r.key for r in outbox.queued()] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]


def test_queued_limit_takesTheFirst(outbox: Outbox) -> None:
    outbox.write([_new(2, 1), _new(1, 2), _new(1, 1)], [])
    assert list(keys_of(outbox.queued(limit=2))) == [(1, 1), (1, 2)]


def test_queued_leavesSettledOut(outbox: Outbox) -> None:
    outbox.write([_new(1, 1), _new(1, 2)], [])
    outbox.settle({(1, 1): None}, "0xtx")
    assert [r.key for r in outbox.queued()] == [(1, 2)]


def test_countSubmission_countsEachSending(outbox: Outbox) -> None:
    outbox.write([_new(1, 1), _new(1, 2)], [])
    outbox.count_submission([(1, 1)])
    outbox.count_submission([(1, 1), (1, 2)])
    stored = outbox.existing([(1, 1), (1, 2)])
    assert (stored[(1, 1)].submissions, stored[(1, 2)].submissions) == (2, 1)


def test_settle_queuedReading_isAcceptedWithItsTransaction(outbox: Outbox) -> None:
    outbox.write([_new(1, 1)], [])
    outbox.settle({(1, 1): None}, "0xabc")
    stored = outbox.existing([(1, 1)])[(1, 1)]
    assert (stored.status, stored.reason, stored.transaction_hash) == (ACCEPTED, None, "0xabc")
    assert stored.settled_at is not None and stored.settled_at >= stored.received_at


def test_settle_queuedReading_isRejectedWithTheRegistryReason(outbox: Outbox) -> None:
    outbox.write([_new(1, 1)], [])
    outbox.settle({(1, 1): "TamperFlag"}, "0xabc")
    stored = outbox.existing([(1, 1)])[(1, 1)]
    assert (stored.status, stored.reason) == (REJECTED, "TamperFlag")


def test_settle_acceptedReading_staysAccepted(outbox: Outbox) -> None:
    outbox.write([_new(1, 1)], [])
    outbox.settle({(1, 1): None}, "0xfirst")
    outbox.settle({(1, 1): "StaleSequence"}, "0xsecond")
    stored = outbox.existing([(1, 1)])[(1, 1)]
    assert (stored.status, stored.reason, stored.transaction_hash) == (ACCEPTED, None, "0xfirst")


def test_settle_rejectedReading_staysRejected(outbox: Outbox) -> None:
    outbox.write([_new(1, 1)], [])
    outbox.settle({(1, 1): "TamperFlag"}, "0xfirst")
    outbox.settle({(1, 1): None}, "0xsecond")
    stored = outbox.existing([(1, 1)])[(1, 1)]
    assert (stored.status, stored.reason) == (REJECTED, "TamperFlag")


def test_settle_unknownKey_storesNothing(outbox: Outbox) -> None:
    outbox.settle({(9, 9): None}, "0xabc")
    assert outbox.existing([(9, 9)]) == {} and outbox.counts() == {"refused": 0}


def test_requeue_acceptedReading_isQueuedAgainAndUnanswered(outbox: Outbox) -> None:
    outbox.write([_new(1, 1), _new(1, 2)], [])
    outbox.settle({(1, 1): None, (1, 2): None}, "0xabc")
    outbox.mark_answered([(1, 1), (1, 2)])
    assert outbox.requeue([(1, 1)]) == 1
    stored = outbox.existing([(1, 1), (1, 2)])
    assert (stored[(1, 1)].status, stored[(1, 1)].answered, stored[(1, 1)].settled_at) == (QUEUED, 0, None)
    assert (stored[(1, 2)].status, stored[(1, 2)].answered) == (ACCEPTED, 1)
    assert [r.key for r in outbox.queued()] == [(1, 1)]


def test_requeue_unknownKey_changesNoRow(outbox: Outbox) -> None:
    assert outbox.requeue([(9, 9)]) == 0


# ---------------------------------------------------------------- answers
def test_unanswered_isTheSettledNotYetAnswered(outbox: Outbox) -> None:
    outbox.write([_new(1, 1), _new(1, 2), _new(1, 3)], [])
    outbox.settle({(1, 1): None, (1, 2): "TamperFlag"}, "0xabc")
    assert sorted(keys_of(outbox.unanswered())) == [(1, 1), (1, 2)]


def test_markAnswered_takesTheReadingOutOfUnanswered(outbox: Outbox) -> None:
    outbox.write([_new(1, 1), _new(1, 2)], [])
    outbox.settle({(1, 1): None, (1, 2): None}, "0xabc")
    outbox.mark_answered([(1, 1)])
    assert [r.key for r in outbox.unanswered()] == [(1, 2)]
    assert outbox.existing([(1, 1)])[(1, 1)].answered == 1


# ---------------------------------------------------------------- reports
def test_readings_areThoseWhoseIntervalStartsInTheHalfOpenWindow(outbox: Outbox) -> None:
    outbox.write([_new(1, sequence) for sequence in (1, 2, 3, 4)] + [_new(2, 2)], [])
    second, fourth = FIRST_INTERVAL + INTERVAL_S, FIRST_INTERVAL + 3 * INTERVAL_S
    assert [r.key for r in outbox.readings(second, fourth)] == [(1, 2), (1, 3), (2, 2)]
    assert len(outbox.readings()) == 5


def test_refusals_areKeptInOrderWithTheirReasons(outbox: Outbox) -> None:
    refusals = [
        Refusal("meter-1", None, "MalformedPayload", "not JSON", b"{"),
        Refusal("meter-2", 4, "BadSignature", "signer is not the device", b'{"sequence":4}'),
    ]
    outbox.write([], refusals[:1])
    outbox.write([], refusals[1:])
    assert outbox.refusals() == refusals


def test_counts_areReadingsPerStatusAndRefusals(outbox: Outbox) -> None:
    outbox.write(
        [_new(1, 1), _new(1, 2), _new(1, 3), _new(1, 4)],
        [Refusal("meter-1", 5, "Replay", "already received", b"{}")],
    )
    outbox.settle({(1, 1): None, (1, 2): None, (1, 3): "TamperFlag"}, "0xabc")
    assert outbox.counts() == {ACCEPTED: 2, REJECTED: 1, QUEUED: 1, "refused": 1}


def test_counts_ofANewOutbox_isNoRefusal(outbox: Outbox) -> None:
    assert outbox.counts() == {"refused": 0}


# ---------------------------------------------------------------- durability and sharing
def test_outbox_closedAndReopened_keepsEverything(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    first = Outbox(path)
    first.write([_new(1, 1), _new(1, 2)], [Refusal("meter-1", None, "MalformedPayload", "x", b"x")])
    first.settle({(1, 1): "TamperFlag"}, "0xabc")
    first.close()
    reopened = Outbox(path)
    assert reopened.counts() == {REJECTED: 1, QUEUED: 1, "refused": 1}
    assert reopened.existing([(1, 1)])[(1, 1)].reason == "TamperFlag"
    assert reopened.queued()[0].signed == _signed(1, 2)


def test_outbox_fileIsInWalMode(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    Outbox(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_outbox_twoConnections_seeEachOthersCommits(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    intake, submitter = Outbox(path), Outbox(path)
    intake.write([_new(1, 1)], [])
    assert [r.key for r in submitter.queued()] == [(1, 1)]
    submitter.settle({(1, 1): None}, "0xabc")
    assert intake.existing([(1, 1)])[(1, 1)].status == ACCEPTED


def test_outbox_intakeThreadsCommit_isSeenByAnotherThreadsConnection(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    submitter = Outbox(path)
    assert submitter.queued() == []
    failures: list[BaseException] = []

    def intake() -> None:
        try:
            own = Outbox(path)  # a connection belongs to the thread that opened it
            own.write([_new(1, 1), _new(2, 1)], [])
            own.close()
        except BaseException as failed:
            failures.append(failed)

    thread = threading.Thread(target=intake)
    thread.start()
    thread.join()
    assert failures == []
    assert [r.key for r in submitter.queued()] == [(1, 1), (2, 1)]


def test_outbox_notADatabase_isAGatewayError(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(b"not a database " * 100)
    with pytest.raises(GatewayError, match="cannot be opened"):
        Outbox(path)


def test_outbox_folderIsAFile_isAGatewayError(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the state folder belongs")
    with pytest.raises(GatewayError):
        Outbox(tmp_path / "state" / "outbox.sqlite")


def test_write_keepsOnlyTheFirstBytesOfARefusedPayload(outbox: Outbox) -> None:
    huge = b"x" * (REFUSAL_KEPT_BYTES * 8)
    outbox.write([], [Refusal("meter-3", None, "MalformedPayload", "not JSON", huge)])
    assert [r.payload for r in outbox.refusals()] == [huge[:REFUSAL_KEPT_BYTES]]


def test_existing_findsEveryKeyOfABatchLargerThanOneQuery(outbox: Outbox) -> None:
    outbox.write([_new(1, sequence) for sequence in range(1, 1001)], [])
    asked = [(1, sequence) for sequence in range(1, 1201)]
    assert sorted(outbox.existing(asked)) == asked[:1000]
