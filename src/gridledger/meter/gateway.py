"""The meter gateway: verifies, batches and relays signed readings, never delivers one twice.

A reading is queued only once its EIP-712 signature recovers to the key the registry holds
for its device (learned from `getDevice` and the registry's `eip712Domain`, cached, looked up
again when a device's key seems to have changed): a forged reading is refused with
`ReadingRefused` and can never take the place of the genuine one. Duplicates are recognised
among verified readings only; a tamper-flagged reading is never dropped for a duplicate.

The registry skips bad readings and reports each by event (docs/smart-meter.md), so the
gateway learns every reading's outcome from the receipt's logs: accepted ones are marked
delivered and never sent again; rejected ones are kept with their reason so that an operator
can fix the cause and requeue them. A transport failure is retried; before a retry, and for a
StaleSequence rejection, the gateway asks the chain whether it already holds the reading (an
acknowledgement lost after commit), and reports such readings accepted. A batch the chain
refused as a whole (e.g. the registry is paused) stays queued: nothing is lost.

Batches are sized by measured gas: gas per reading is learned from the gas the backend reports
for each batch, and a batch holds as many readings as fit the gas budget (half the EIP-7825
per-transaction cap by default), never more than `max_batch`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from gridledger.chain.abi import Artifact, EventLog, event_topic, load_artifact
from gridledger.errors import ChainError, ContractRevertError, GatewayError, ReadingRefused
from gridledger.meter.signing import (
    FLAG_TAMPER,
    SignedReadingTuple,
    fits_registry,
    pack_readings,
)
from gridledger.meter.verifier import ReadingVerifier

ReadingKey = tuple[int, int]  # (device id, sequence)

REJECT_REASONS = (
    "None", "UnknownDevice", "BadSignature", "DeviceNotActive", "OwnerNotVerified", "StaleSequence",
    "MisalignedInterval", "IntervalNotAfterLast", "IntervalInFuture", "IntervalTooOld", "ValueOutOfRange",
    "TamperFlag", "FirmwareNotApproved", "RegisterRollback", "ImpossibleDelta",
    "MintRefused",
)  # fmt: skip
ACCEPTED_TOPIC = event_topic("ReadingAccepted(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint8)")
REJECTED_TOPIC = event_topic("ReadingRejected(uint256,uint256,uint8)")

# SmartMeterRegistry.MAX_BATCH_READINGS: a longer batch is refused whole (BatchTooLarge).
REGISTRY_MAX_BATCH = 128
EIP7825_TX_GAS_CAP = 2**24
# Half the cap: room for the intrinsic and calldata gas the embedded backend leaves out of its
# figure, and for readings dearer than the ones measured so far.
DEFAULT_GAS_BUDGET = EIP7825_TX_GAS_CAP // 2
# Before any receipt: about twice an accepted reading that mints (55k gas on the embedded EVM).
FIRST_GAS_PER_READING = 100_000
# Batches whose gas the estimate remembers; the estimate is the dearest reading among them.
GAS_WINDOW = 16


class SubmittingChain(Protocol):
    @property
    def last_logs(self) -> list[EventLog]: ...

    @property
    def last_gas_used(self) -> int: ...

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: Any) -> object: ...

    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]: ...

    def logs(self, address: str, topic0: bytes) -> list[EventLog]: ...


@dataclass(frozen=True)
class SequenceGap:
    """Sequences of a device the gateway never received: withheld, lost, or still to come."""

    device_id: int
    first_missing: int
    last_missing: int


@dataclass
class FlushReport:
    accepted: list[ReadingKey] = field(default_factory=list)
    rejected: dict[ReadingKey, str] = field(default_factory=dict)
    gaps: list[SequenceGap] = field(default_factory=list)  # found since the last flush


class Gateway:
    """Relays device-signed readings to the SmartMeterRegistry in batches."""

    def __init__(
        self,
        chain: SubmittingChain,
        registry: str,
        sender: str,
        max_batch: int = 100,
        max_attempts: int = 3,
        gas_budget: int = DEFAULT_GAS_BUDGET,
    ) -> None:
        if not 1 <= max_batch <= REGISTRY_MAX_BATCH or max_attempts < 1:
            raise GatewayError(f"max_batch must be 1..{REGISTRY_MAX_BATCH} and max_attempts at least 1")
        if not 0 < gas_budget <= EIP7825_TX_GAS_CAP:
            raise GatewayError(f"gas budget {gas_budget} outside 1..{EIP7825_TX_GAS_CAP} (EIP-7825)")
        self._chain = chain
        self._registry = registry
        self._sender = sender
        self._max_batch = max_batch
        self._max_attempts = max_attempts
        self._gas_budget = gas_budget
        self._abi = load_artifact("SmartMeterRegistry")
        self.verifier = ReadingVerifier(chain, registry)
        self._queue: dict[ReadingKey, SignedReadingTuple] = {}
        # The EIP-712 digest of each queued reading, computed once when it was verified.
        self._queued_digests: dict[ReadingKey, bytes] = {}
        self._last_sequence: dict[int, int] = {}
        self._gas_per_reading: deque[int] = deque(maxlen=GAS_WINDOW)
        self._new_gaps: list[SequenceGap] = []
        # Digest of each delivered reading: a resent copy is recognised, a different one is not.
        self.delivered: dict[ReadingKey, bytes] = {}
        self.rejected: dict[ReadingKey, tuple[SignedReadingTuple, str]] = {}
        # Validly signed readings that differ from the one queued or delivered for the same
        # sequence: a device that signs two readings per sequence is suspect (the operator's call).
        self.conflicts: dict[ReadingKey, list[SignedReadingTuple]] = {}
        self.gaps: list[SequenceGap] = []

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def batch_size(self) -> int:
        """Readings in the next batch: as many as the gas budget takes at the measured gas per reading."""
        per_reading = max(self._gas_per_reading, default=FIRST_GAS_PER_READING)
        return max(1, min(self._max_batch, self._gas_budget // per_reading))

    def enqueue(self, reading: SignedReadingTuple) -> bool:
        """Queue a verified reading; False if this very reading is already queued or delivered.

        Raises ReadingRefused if a value is wider than the registry takes it, the device is
        unknown or the signature is not the device's."""
        key = (reading[0], reading[1])
        if not fits_registry(reading):
            raise ReadingRefused(key[0], key[1], "ValueOutOfRange")
        digest = self.verifier.verify(reading)
        self._note_sequence(*key)
        queued = self._queue.get(key)
        # The same signed content (a signature may differ: ECDSA nonces) is the same reading.
        same_as = self.delivered.get(key) if queued is None else self._queued_digests[key]
        if same_as == digest:
            return False
        tampered = bool(reading[5] & FLAG_TAMPER)
        if queued is not None:
            if not tampered or queued[5] & FLAG_TAMPER:
                self.conflicts.setdefault(key, []).append(reading)
                return False
            # Tamper evidence goes to the registry, which quarantines the device.
            self.conflicts.setdefault(key, []).append(queued)
        elif key in self.delivered:
            self.conflicts.setdefault(key, []).append(reading)
            if not tampered:
                return False
        self._queue[key] = reading
        self._queued_digests[key] = digest
        return True

    def requeue(self, key: ReadingKey) -> None:
        """Send a rejected reading again once its cause is fixed."""
        reading, _ = self.rejected.pop(key)
        self.enqueue(reading)

    def flush(self) -> FlushReport:
        """Submit everything queued; returns what was accepted and rejected, and new sequence gaps."""
        report = FlushReport(gaps=self._new_gaps)
        self._new_gaps = []
        try:
            while self._queue:
                self._deliver(list(self._queue)[: self.batch_size], report)
        except ChainError as failed:
            # Learning a committed batch's outcome failed: its readings stay queued, and the
            # next flush learns them from chain state.
            raise GatewayError(f"outcome of a batch not learned: {failed}") from failed
        finally:
            self.verifier.forget_lookups()
        return report

    def _note_sequence(self, device_id: int, sequence: int) -> None:
        last = max(self._last_sequence.get(device_id, 0), self.verifier.chain_last_sequence.get(device_id, 0))
        if sequence > last + 1:
            gap = SequenceGap(device_id, last + 1, sequence - 1)
            self.gaps.append(gap)
            self._new_gaps.append(gap)
        self._last_sequence[device_id] = max(last, sequence)

    # ---------------------------------------------------------------- delivery
    def _deliver(self, keys: list[ReadingKey], report: FlushReport) -> None:
        """Submit one batch, retrying transport failures; settles every key or raises."""
        last_failure: Exception | None = None
        for attempt in range(self._max_attempts):
            try:
                if attempt:
                    # The failed attempt may have committed (acknowledgement lost): what the
                    # chain holds is delivered, and only the rest is sent again.
                    for key in [k for k in keys if self._chain_holds(self._queue[k])]:
                        self._settle(key, None, report)
                    keys = [k for k in keys if k in self._queue]
                    if not keys:
                        return
                batch = [self._queue[k] for k in keys]
                self._chain.transact(
                    self._sender, self._abi, self._registry, "submitReadings", pack_readings(batch)
                )
            except ContractRevertError as refused:
                # The whole batch was refused (paused, role revoked): retrying now won't help.
                raise GatewayError(f"registry refused the batch: {refused}") from refused
            except ChainError as failed:
                last_failure = failed
                continue
            self._gas_per_reading.append(-(-self._chain.last_gas_used // len(batch)))
            outcomes = self._outcomes(list(self._chain.last_logs))
            for key in keys:
                reason = outcomes.get(key)
                if reason == "StaleSequence" and self._chain_holds(self._queue[key]):
                    reason = None
                self._settle(key, reason, report)
            return
        raise GatewayError(f"batch not delivered after {self._max_attempts} attempts") from last_failure

    def _settle(self, key: ReadingKey, reason: str | None, report: FlushReport) -> None:
        reading = self._queue.pop(key)
        digest = self._queued_digests.pop(key)
        if reason is None:
            self.delivered[key] = digest
            report.accepted.append(key)
        else:
            self.rejected[key] = (reading, reason)
            report.rejected[key] = reason

    def _chain_holds(self, reading: SignedReadingTuple) -> bool:
        """Whether the registry accepted this very reading (same sequence, interval and registers)."""
        device_id, sequence = reading[0], reading[1]
        device = self.verifier.device(device_id)
        if device is None or int(self.verifier.device_field(device, "lastSequence")) < sequence:
            return False
        signed = (sequence, reading[2], reading[3], reading[4])
        (history,) = self._chain.call(self._abi, self._registry, "getDeviceHistory", device_id)
        for entry in history:
            if int(entry[0]) == sequence:
                return tuple(int(v) for v in entry[:4]) == signed
        # Older than the registry's recent history: its ReadingAccepted event tells.
        for log in self._chain.logs(self._registry, ACCEPTED_TOPIC):
            decoded = self._abi.decode_event(log)
            if decoded is None or decoded[1]["deviceId"] != device_id or decoded[1]["sequence"] != sequence:
                continue
            event = decoded[1]
            return (event["sequence"], event["intervalStart"], event["importWh"], event["exportWh"]) == signed
        return False

    def _outcomes(self, logs: list[EventLog]) -> dict[ReadingKey, str]:
        """Rejections by (device, sequence); a reading with no rejection event was accepted."""
        rejected: dict[ReadingKey, str] = {}
        accepted: set[ReadingKey] = set()
        registry = self._registry.lower()
        for log in logs:
            if log.address.lower() != registry or len(log.topics) < 2:
                continue
            topic = log.topics[0]
            if topic != REJECTED_TOPIC and topic != ACCEPTED_TOPIC:
                continue
            # Both events start with (uint256 sequence, ...); ReadingRejected's second word is the reason.
            key = (int.from_bytes(log.topics[1], "big"), int.from_bytes(log.data[:32], "big"))
            if topic == REJECTED_TOPIC:
                rejected[key] = REJECT_REASONS[int.from_bytes(log.data[32:64], "big")]
            else:
                accepted.add(key)
        # A reading both rejected and accepted in one batch (a duplicate) counts as accepted once.
        return {key: reason for key, reason in rejected.items() if key not in accepted}
