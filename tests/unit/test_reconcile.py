"""Reconciliation holds the gateway's outbox against the registry's events over a window: it
requeues what the chain lacks, learns what the chain took, and reports double acceptances,
sequence gaps, silent devices, late readings, rejects and refusals."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

import pytest
from eth_abi.abi import encode

from gridledger.chain.abi import EventLog, event_topic
from gridledger.iot.outbox import ACCEPTED, QUEUED, REJECTED, NewReading, Outbox, Refusal
from gridledger.iot.payload import encode_reading
from gridledger.iot.reconcile import INTERVAL_S, ReconciliationReport, reconcile
from gridledger.meter.signing import DeviceKey, MeterReading, reading_digest, registry_domain_separator

REGISTRY = "0x" + "5e" * 20
ELSEWHERE = "0x" + "77" * 20  # another contract emitting the same events
DOMAIN = registry_domain_separator(31337, REGISTRY)
METER = DeviceKey(bytes.fromhex("33" * 32))
OWNER = "0x" + "0e" * 20
FIRMWARE = bytes.fromhex("f2" * 32)
ACCEPTED_EVENT = event_topic("ReadingAccepted(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint8)")
REGISTERED_EVENT = event_topic("DeviceRegistered(uint256,address,address,uint64,uint8,uint8,uint32,bytes32)")
FIRST_INTERVAL = 1_699_999_200
INTERVALS = 8
WINDOW = (FIRST_INTERVAL, FIRST_INTERVAL + INTERVALS * INTERVAL_S)
ON_TIME_S = 30.0  # after its interval ends, when a reading normally reaches the gateway


def _interval(sequence: int) -> int:
    """Sequence n of every device is the reading of the window's n-th interval."""
    return FIRST_INTERVAL + (sequence - 1) * INTERVAL_S


def _word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


class RegistryEvents:
    """The registry's logs as a node reports them, filtered by emitter and first topic."""

    def __init__(self) -> None:
        self.emitted: list[EventLog] = []

    def logs(self, address: str, topic0: bytes) -> list[EventLog]:
        return [log for log in self.emitted if log.address == address and log.topics[0] == topic0]

    def register(self, device_id: int) -> None:
        data = encode(["uint64", "uint8", "uint8", "uint32", "bytes32"], [17, 2, 0, 5_000, FIRMWARE])
        topics = [REGISTERED_EVENT, device_id.to_bytes(32, "big"), _word(METER.address), _word(OWNER)]
        self.emitted.append(EventLog(REGISTRY, topics, data))

    def accept(self, device_id: int, sequences: Iterable[int], address: str = REGISTRY) -> None:
        for sequence in sequences:
            data = encode(
                ["uint256"] * 6 + ["uint8"],
                [sequence, _interval(sequence), 1_000 * sequence, 500 * sequence, 500, 0, 0],
            )
            self.emitted.append(
                EventLog(address, [ACCEPTED_EVENT, device_id.to_bytes(32, "big")], data, f"0x{sequence:064x}")
            )


def _take(outbox: Outbox, device_id: int, sequences: Iterable[int]) -> list[tuple[int, int]]:
    """The gateway takes the readings (queued), each received on time."""
    new = []
    for sequence in sequences:
        reading = MeterReading(
            device_id, sequence, _interval(sequence), 1_000 * sequence, 500 * sequence, 0, FIRMWARE
        )
        signed = METER.sign_reading(reading, DOMAIN)
        digest = reading_digest(reading, DOMAIN)
        new.append(NewReading(f"meter-{device_id}", signed, digest, encode_reading(signed)))
    outbox.write(new, [])
    keys = [(device_id, sequence) for sequence in sequences]
    for key in keys:
        _received(outbox.path, key, late_by_s=ON_TIME_S)
    return keys


def _received(path: Path, key: tuple[int, int], late_by_s: float) -> None:
    """Set when the gateway received reading `key`: `late_by_s` after its interval ended."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "UPDATE readings SET received_at = interval_start + ? WHERE device_id = ? AND sequence = ?",
            (INTERVAL_S + late_by_s, *key),
        )


def _accept(outbox: Outbox, device_id: int, sequences: Iterable[int]) -> None:
    """Taken and accepted by the gateway, its device told."""
    keys = _take(outbox, device_id, sequences)
    outbox.settle(dict.fromkeys(keys), "0xtx")
    outbox.mark_answered(keys)


def _status(outbox: Outbox, key: tuple[int, int]) -> tuple[str, int]:
    stored = outbox.existing([key])[key]
    return stored.status, stored.answered


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite")


@pytest.fixture
def chain() -> RegistryEvents:
    """Devices 1 and 2 registered; every reading of the window in the outbox and on the chain."""
    events = RegistryEvents()
    for device_id in (1, 2):
        events.register(device_id)
        events.accept(device_id, range(1, INTERVALS + 1))
    return events


@pytest.fixture
def complete_outbox(outbox: Outbox) -> Outbox:
    for device_id in (1, 2):
        _accept(outbox, device_id, range(1, INTERVALS + 1))
    return outbox


def _reconcile(outbox: Outbox, chain: RegistryEvents, **options: object) -> ReconciliationReport:
    return reconcile(outbox, chain, REGISTRY, *WINDOW, **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the complete window
def test_reconcile_everyReadingAcceptedOnce_isComplete(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    report = _reconcile(complete_outbox, chain)
    assert report.complete
    assert (report.interval_from, report.interval_to) == WINDOW
    assert report.devices_registered == 2
    assert report.readings_in_outbox == report.accepted_on_chain == report.accepted_in_outbox_and_chain == 16
    assert report.accepted_elsewhere == 0 and report.still_queued == 0
    assert report.resubmitted == report.learned_accepted == report.accepted_twice == []
    assert report.gaps == [] and report.silent_devices == [] and report.late_readings == []
    assert report.rejected == {} and report.refused == {}
    assert json.loads(json.dumps(report.as_json()))["complete"] is True


def test_reconcile_acceptedThroughAnotherGateway_isCountedElsewhereAndComplete(
    outbox: Outbox, chain: RegistryEvents
) -> None:
    _accept(outbox, 1, range(1, INTERVALS + 1))  # device 2's readings went to the other gateway
    report = _reconcile(outbox, chain)
    assert (report.accepted_in_outbox_and_chain, report.accepted_elsewhere) == (8, 8)
    assert report.complete and report.silent_devices == []


def test_reconcile_eventsOfAnotherContract_areIgnored(outbox: Outbox) -> None:
    chain = RegistryEvents()
    chain.accept(1, [1, 2], address=ELSEWHERE)
    report = _reconcile(outbox, chain)
    assert report.accepted_on_chain == 0 and report.gaps == []


# ---------------------------------------------------------------- what the chain lacks, what it holds
def test_reconcile_acceptedInOutboxButNotOnChain_isRequeued(outbox: Outbox) -> None:
    chain = RegistryEvents()
    chain.register(1)
    _accept(outbox, 1, [1, 2, 3, 4])
    chain.accept(1, [1, 2, 4])
    report = _reconcile(outbox, chain)
    assert report.resubmitted == [(1, 3)] and not report.complete
    assert report.gaps == []  # the outbox holds sequence 3
    assert _status(outbox, (1, 3)) == (QUEUED, 0)
    assert _status(outbox, (1, 4)) == (ACCEPTED, 1)
    assert [r.key for r in outbox.queued()] == [(1, 3)]


def test_reconcile_queuedInOutboxButOnChain_isLearnedAccepted(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    _take(complete_outbox, 1, [9])  # its answer was lost after the registry took it
    chain.accept(1, [9])
    report = reconcile(complete_outbox, chain, REGISTRY, FIRST_INTERVAL, _interval(10))
    assert report.learned_accepted == [(1, 9)] and report.still_queued == 0
    assert report.complete
    assert _status(complete_outbox, (1, 9)) == (ACCEPTED, 0)  # the device is yet to be told


def test_reconcile_queuedAndNotOnChain_isStillQueuedAndIncomplete(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    _take(complete_outbox, 1, [9])
    report = reconcile(complete_outbox, chain, REGISTRY, FIRST_INTERVAL, _interval(10))
    assert report.still_queued == 1 and not report.complete
    assert report.resubmitted == [] and report.learned_accepted == []
    assert _status(complete_outbox, (1, 9)) == (QUEUED, 0)


def test_reconcile_acceptedTwiceOnChain_isReportedAndIncomplete(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    chain.accept(2, [5])
    report = _reconcile(complete_outbox, chain)
    assert report.accepted_twice == [(2, 5)] and not report.complete
    assert report.accepted_on_chain == 16  # distinct readings


# ---------------------------------------------------------------- sequence gaps
def test_reconcile_missingSequence_isAGap(outbox: Outbox) -> None:
    chain = RegistryEvents()
    chain.register(1)
    _accept(outbox, 1, [1, 2, 4])
    chain.accept(1, [1, 2, 4])
    report = _reconcile(outbox, chain)
    assert report.gaps == [(1, 3, 3)] and not report.complete


def test_reconcile_gapBetweenOutboxAndChain_namesTheMissingRun(outbox: Outbox) -> None:
    chain = RegistryEvents()
    chain.register(1)
    _accept(outbox, 1, [1])
    chain.accept(1, [1, 6])  # 6 through another gateway; 2 to 5 reached none
    report = _reconcile(outbox, chain)
    assert report.gaps == [(1, 2, 5)]


def test_reconcile_gapsOfTwoDevices_areByDevice(outbox: Outbox) -> None:
    chain = RegistryEvents()
    _accept(outbox, 2, [1, 3])
    _accept(outbox, 1, [2, 5])
    chain.accept(2, [1, 3])
    chain.accept(1, [2, 5])
    assert _reconcile(outbox, chain).gaps == [(1, 3, 4), (2, 2, 2)]


# ---------------------------------------------------------------- silent devices
def test_reconcile_registeredDeviceWithNoRecentReading_isSilent(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    chain.register(3)
    _accept(complete_outbox, 3, [1, 2, 3, 4])  # nothing in the window's last 4 intervals
    chain.accept(3, [1, 2, 3, 4])
    chain.register(4)  # never sent anything
    report = _reconcile(complete_outbox, chain)
    assert report.silent_devices == [3, 4]
    assert report.complete  # silence is reported, not a reading missing


def test_reconcile_readingInTheLastIntervals_isNotSilent(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    chain.register(3)
    _accept(complete_outbox, 3, [1, 5])  # 5 starts the window's last 4 intervals
    chain.accept(3, [1, 5])
    assert _reconcile(complete_outbox, chain).silent_devices == []


def test_reconcile_widerSilentIntervals_hearTheEarlierReadings(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    chain.register(3)
    _accept(complete_outbox, 3, [1, 2, 3, 4])
    chain.accept(3, [1, 2, 3, 4])
    assert _reconcile(complete_outbox, chain, silent_intervals=8).silent_devices == []


def test_reconcile_deviceHeardOnlyThroughTheChain_isNotSilent(outbox: Outbox, chain: RegistryEvents) -> None:
    _accept(outbox, 1, range(1, INTERVALS + 1))  # device 2 only through another gateway
    assert _reconcile(outbox, chain).silent_devices == []


# ---------------------------------------------------------------- late readings
def test_reconcile_readingReceivedLongAfterItsInterval_isLate(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    _received(complete_outbox.path, (1, 2), late_by_s=2 * INTERVAL_S + 60)
    report = _reconcile(complete_outbox, chain)
    assert report.late_readings == [(1, 2, 2 * INTERVAL_S + 60.0)]
    assert report.complete  # late, yet accepted


def test_reconcile_readingExactlyAtTheLateLimit_isNotLate(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    _received(complete_outbox.path, (1, 2), late_by_s=600)
    assert _reconcile(complete_outbox, chain, late_after_s=600).late_readings == []
    assert _reconcile(complete_outbox, chain, late_after_s=599).late_readings == [(1, 2, 600.0)]


# ---------------------------------------------------------------- rejects and refusals
def test_reconcile_rejectedReadings_areCountedByReasonAndIncomplete(
    outbox: Outbox, chain: RegistryEvents
) -> None:
    _accept(outbox, 1, range(1, INTERVALS + 1))
    _take(outbox, 3, [1, 2, 3])
    outbox.settle({(3, 1): "TamperFlag", (3, 2): "TamperFlag", (3, 3): "FirmwareNotApproved"}, "0xtx")
    report = _reconcile(outbox, chain)
    assert report.rejected == {"TamperFlag": 2, "FirmwareNotApproved": 1}
    assert report.resubmitted == [] and report.gaps == []
    assert not report.complete
    assert _status(outbox, (3, 1)) == (REJECTED, 0)  # never requeued


def test_reconcile_refusals_areCountedByReason(complete_outbox: Outbox, chain: RegistryEvents) -> None:
    complete_outbox.write(
        [],
        [
            Refusal("meter-1", None, "MalformedPayload", "not JSON", b"{"),
            Refusal("meter-1", 9, "BadSignature", "signer is not the device", b"{}"),
            Refusal("meter-2", 9, "BadSignature", "signer is not the device", b"{}"),
        ],
    )
    report = _reconcile(complete_outbox, chain)
    assert report.refused == {"MalformedPayload": 1, "BadSignature": 2}
    assert report.complete  # refused payloads never were readings the gateway took


# ---------------------------------------------------------------- the window
def test_reconcile_window_takesOnlyIntervalsStartingInIt(
    complete_outbox: Outbox, chain: RegistryEvents
) -> None:
    chain.accept(5, [1])  # another gateway's reading before the window
    report = reconcile(complete_outbox, chain, REGISTRY, _interval(3), _interval(6))
    assert report.readings_in_outbox == report.accepted_on_chain == 6  # sequences 3, 4 and 5 of each
    assert report.accepted_elsewhere == 0
    assert report.complete


def test_reconcile_readingOutsideTheWindow_isNeverRequeued(outbox: Outbox) -> None:
    chain = RegistryEvents()
    _accept(outbox, 1, [1, 2, 3])
    chain.accept(1, [2, 3])  # the chain lacks sequence 1, outside the window
    report = reconcile(outbox, chain, REGISTRY, _interval(2), _interval(4))
    assert report.resubmitted == [] and report.complete
    assert _status(outbox, (1, 1)) == (ACCEPTED, 1)


# ---------------------------------------------------------------- report only
def test_reconcile_withoutResubmit_changesNothingInTheOutbox(outbox: Outbox) -> None:
    chain = RegistryEvents()
    _accept(outbox, 1, [1, 2, 3])
    _take(outbox, 1, [4])
    chain.accept(1, [1, 2, 4])
    report = _reconcile(outbox, chain, resubmit=False)
    assert (report.resubmitted, report.learned_accepted) == ([(1, 3)], [(1, 4)])
    assert _status(outbox, (1, 3)) == (ACCEPTED, 1)
    assert _status(outbox, (1, 4)) == (QUEUED, 0)
    assert outbox.counts() == {ACCEPTED: 3, QUEUED: 1, "refused": 0}
