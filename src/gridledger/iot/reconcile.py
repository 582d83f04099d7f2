"""Reconciliation: what the meters sent (the gateway's outbox) against what the registry accepted
(its ReadingAccepted events), over a window of intervals.

It finds, per device:
- readings the outbox holds as queued or accepted that the chain never accepted: requeued, so
  the gateway sends them again (`resubmit`);
- readings the outbox still holds as queued that the chain already accepted (an answer lost
  after commit): recorded accepted;
- sequence gaps among everything seen (outbox and chain): readings withheld or lost before they
  reached any gateway;
- silent devices: registered, yet no reading in the window's last `silent_intervals` intervals;
- late readings: received more than `late_after_s` after their interval ended;
- readings accepted more than once (must never happen) and rejects with their reasons.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from gridledger.chain.abi import EventLog, event_topic, load_artifact
from gridledger.iot.outbox import ACCEPTED, QUEUED, REJECTED, Outbox
from gridledger.meter.gateway import ACCEPTED_TOPIC

INTERVAL_S = 900
REGISTERED_TOPIC = event_topic("DeviceRegistered(uint256,address,address,uint64,uint8,uint8,uint32,bytes32)")


class EventSource(Protocol):
    def logs(self, address: str, topic0: bytes) -> list[EventLog]: ...


@dataclass
class ReconciliationReport:
    """The outcome of one reconciliation (JSON-ready through `as_json`)."""

    interval_from: int
    interval_to: int
    devices_registered: int
    readings_in_outbox: int
    accepted_on_chain: int
    accepted_in_outbox_and_chain: int
    accepted_elsewhere: int  # on the chain, not in this outbox (another gateway of the group)
    resubmitted: list[tuple[int, int]] = field(default_factory=list)
    learned_accepted: list[tuple[int, int]] = field(default_factory=list)
    accepted_twice: list[tuple[int, int]] = field(default_factory=list)
    gaps: list[tuple[int, int, int]] = field(default_factory=list)  # device, first, last missing
    silent_devices: list[int] = field(default_factory=list)
    late_readings: list[tuple[int, int, float]] = field(default_factory=list)  # device, sequence, late_s
    rejected: dict[str, int] = field(default_factory=dict)  # registry's reason -> readings
    refused: dict[str, int] = field(default_factory=dict)  # gateway's reason -> payloads
    still_queued: int = 0

    @property
    def complete(self) -> bool:
        """Every reading the gateway took is accepted on-chain exactly once, and none is missing."""
        return (
            not self.resubmitted
            and not self.accepted_twice
            and not self.gaps
            and self.still_queued == 0
            and not self.rejected
        )

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["complete"] = self.complete
        return document


def reconcile(
    outbox: Outbox,
    chain: EventSource,
    registry: str,
    interval_from: int,
    interval_to: int,
    resubmit: bool = True,
    silent_intervals: int = 4,
    late_after_s: float = 2 * INTERVAL_S,
) -> ReconciliationReport:
    """Compare the outbox with the registry's events for intervals starting in
    [interval_from, interval_to); with `resubmit`, fix the outbox (requeue and learn)."""
    # The outbox before the chain: a reading the gateway records accepted in between is then on
    # the chain when it is read, never "accepted here, missing there".
    readings = outbox.readings(interval_from, interval_to)
    abi = load_artifact("SmartMeterRegistry")
    on_chain: Counter[tuple[int, int]] = Counter()
    interval_of: dict[tuple[int, int], int] = {}
    for log in chain.logs(registry, ACCEPTED_TOPIC):
        decoded = abi.decode_event(log)
        if decoded is None:
            continue
        event = decoded[1]
        if interval_from <= event["intervalStart"] < interval_to:
            key = (int(event["deviceId"]), int(event["sequence"]))
            on_chain[key] += 1
            interval_of[key] = int(event["intervalStart"])
    registered = set()
    for log in chain.logs(registry, REGISTERED_TOPIC):
        registered.add(int.from_bytes(log.topics[1], "big"))

    in_outbox = {reading.key: reading for reading in readings}
    report = ReconciliationReport(
        interval_from,
        interval_to,
        devices_registered=len(registered),
        readings_in_outbox=len(readings),
        accepted_on_chain=len(on_chain),
        accepted_in_outbox_and_chain=sum(1 for key in in_outbox if key in on_chain),
        accepted_elsewhere=sum(1 for key in on_chain if key not in in_outbox),
    )
    report.accepted_twice = sorted(key for key, times in on_chain.items() if times > 1)
    for reading in readings:
        if reading.status in (QUEUED, ACCEPTED) and reading.key not in on_chain:
            if reading.status == ACCEPTED:
                report.resubmitted.append(reading.key)
            else:
                report.still_queued += 1
        elif reading.status == QUEUED and reading.key in on_chain:
            report.learned_accepted.append(reading.key)
        elif reading.status == REJECTED:
            report.rejected[str(reading.reason)] = report.rejected.get(str(reading.reason), 0) + 1
        late_s = reading.received_at - (reading.interval_start + INTERVAL_S)
        if late_s > late_after_s:
            report.late_readings.append((reading.device_id, reading.sequence, round(late_s, 1)))
    report.refused = dict(Counter(refusal.reason for refusal in outbox.refusals()))

    seen = set(in_outbox) | set(on_chain)
    sequences: dict[int, list[int]] = {}
    for device_id, sequence in seen:
        sequences.setdefault(device_id, []).append(sequence)
    for device_id, numbers in sorted(sequences.items()):
        numbers.sort()
        for before, after in itertools.pairwise(numbers):
            if after > before + 1:
                report.gaps.append((device_id, before + 1, after - 1))
    recent_from = interval_to - silent_intervals * INTERVAL_S
    heard = {key[0] for key, reading in in_outbox.items() if reading.interval_start >= recent_from}
    heard |= {key[0] for key, start in interval_of.items() if start >= recent_from}
    report.silent_devices = sorted(registered - heard)

    if resubmit:
        outbox.requeue(report.resubmitted)
        outbox.settle(dict.fromkeys(report.learned_accepted), None)
    return report
