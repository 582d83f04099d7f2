"""The meter gateway: batches signed readings, retries, never delivers a reading twice.

The registry skips bad readings and reports each by event (docs/smart-meter.md), so the
gateway learns every reading's outcome from the receipt's logs: accepted ones are marked
delivered and never sent again; rejected ones are kept with their reason so that an operator
can fix the cause and requeue them. A transport failure is retried; a batch the chain refused
as a whole (e.g. the registry is paused) stays queued: nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from eth_abi.abi import decode

from gridledger.chain.abi import Artifact, EventLog, event_topic, load_artifact
from gridledger.errors import ChainError, ContractRevertError, GatewayError
from gridledger.meter.signing import SignedReadingTuple

ReadingKey = tuple[int, int]  # (device id, sequence)

REJECT_REASONS = (
    "None", "UnknownDevice", "BadSignature", "DeviceNotActive", "OwnerNotVerified", "StaleSequence",
    "MisalignedInterval", "IntervalNotAfterLast", "IntervalInFuture", "IntervalTooOld", "ValueOutOfRange",
    "TamperFlag", "FirmwareNotApproved", "RegisterRollback", "ImpossibleDelta",
    "MalformedReading", "MintRefused",
)  # fmt: skip
ACCEPTED_TOPIC = event_topic("ReadingAccepted(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint8)")
REJECTED_TOPIC = event_topic("ReadingRejected(uint256,uint256,uint8)")


class SubmittingChain(Protocol):
    @property
    def last_logs(self) -> list[EventLog]: ...

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: object) -> object: ...


@dataclass
class FlushReport:
    accepted: list[ReadingKey] = field(default_factory=list)
    rejected: dict[ReadingKey, str] = field(default_factory=dict)


class Gateway:
    """Relays device-signed readings to the SmartMeterRegistry in batches."""

    def __init__(
        self, chain: SubmittingChain, registry: str, sender: str, max_batch: int = 100, max_attempts: int = 3
    ) -> None:
        if max_batch < 1 or max_attempts < 1:
            raise GatewayError("max_batch and max_attempts must be at least 1")
        self._chain = chain
        self._registry = registry
        self._sender = sender
        self._max_batch = max_batch
        self._max_attempts = max_attempts
        self._abi = load_artifact("SmartMeterRegistry")
        self._queue: dict[ReadingKey, SignedReadingTuple] = {}
        self.delivered: set[ReadingKey] = set()
        self.rejected: dict[ReadingKey, tuple[SignedReadingTuple, str]] = {}

    @property
    def pending(self) -> int:
        return len(self._queue)

    def enqueue(self, reading: SignedReadingTuple) -> bool:
        """Queue a reading; False if it was already delivered or is already queued."""
        key = (reading[0], reading[1])
        if key in self.delivered or key in self._queue:
            return False
        self._queue[key] = reading
        return True

    def requeue(self, key: ReadingKey) -> None:
        """Send a rejected reading again once its cause is fixed."""
        reading, _ = self.rejected.pop(key)
        self.enqueue(reading)

    def flush(self) -> FlushReport:
        """Submit everything queued; returns what was accepted and rejected."""
        report = FlushReport()
        while self._queue:
            keys = list(self._queue)[: self._max_batch]
            batch = [self._queue[k] for k in keys]
            logs = self._submit_with_retries(batch)
            outcomes = self._outcomes(logs)
            for key, reading in zip(keys, batch, strict=True):
                del self._queue[key]
                reason = outcomes.get(key)
                if reason is None:
                    self.delivered.add(key)
                    report.accepted.append(key)
                else:
                    self.rejected[key] = (reading, reason)
                    report.rejected[key] = reason
        return report

    def _submit_with_retries(self, batch: list[SignedReadingTuple]) -> list[EventLog]:
        last_failure: Exception | None = None
        for _ in range(self._max_attempts):
            try:
                self._chain.transact(self._sender, self._abi, self._registry, "submitReadings", batch)
                return list(self._chain.last_logs)
            except ContractRevertError as refused:
                # The whole batch was refused (paused, role revoked): retrying now won't help.
                raise GatewayError(f"registry refused the batch: {refused}") from refused
            except ChainError as failed:
                last_failure = failed
        raise GatewayError(f"batch not delivered after {self._max_attempts} attempts") from last_failure

    def _outcomes(self, logs: list[EventLog]) -> dict[ReadingKey, str]:
        """Rejections by (device, sequence); a reading with no rejection event was accepted."""
        rejected: dict[ReadingKey, str] = {}
        accepted: set[ReadingKey] = set()
        for log in logs:
            if log.address.lower() != self._registry.lower() or not log.topics:
                continue
            device_id = int.from_bytes(log.topics[1], "big") if len(log.topics) > 1 else 0
            if log.topics[0] == REJECTED_TOPIC:
                sequence, reason = decode(["uint256", "uint8"], log.data)
                rejected[(device_id, sequence)] = REJECT_REASONS[reason]
            elif log.topics[0] == ACCEPTED_TOPIC:
                accepted.add((device_id, decode(["uint256"], log.data[:32])[0]))
        # A reading both rejected and accepted in one batch (a duplicate) counts as accepted once.
        return {key: reason for key, reason in rejected.items() if key not in accepted}
