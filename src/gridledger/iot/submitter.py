"""From the outbox to the registry: each device's readings in sequence order, in gas-sized
batches, each batch's outcome recorded and answered to the devices.

The gateway service runs it on its submitter thread against a live node; the simulation's
MQTT transport runs it on the simulation's own chain, between two steps of the day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from gridledger.chain.abi import Artifact, EventLog
from gridledger.errors import ReadingRefused
from gridledger.iot.failpoints import Failpoints
from gridledger.iot.outbox import Outbox, StoredReading
from gridledger.iot.payload import encode_ack
from gridledger.iot.reconcile import ReconciliationReport, reconcile
from gridledger.iot.topics import ack_topic
from gridledger.meter.gateway import Gateway, SubmittingChain
from gridledger.meter.verifier import ReadingVerifier
from gridledger.ops.operator import JsonLog


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


class _FailpointChain:
    """The submitter's chain. On a node that sends in two steps (LiveChain's submit, then
    confirm) the `mid-batch` crash point lies between broadcast and receipt."""

    def __init__(self, chain: SubmittingChain, failpoints: Failpoints) -> None:
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
        submit, confirm = getattr(self._chain, "submit", None), getattr(self._chain, "confirm", None)
        if submit is None or confirm is None:
            self._chain.transact(sender, artifact, address, fn, *args)
            logs = self._chain.last_logs
            self.last_transaction = logs[0].transaction if logs else None
            return ()
        pending = submit(sender, address, artifact.encode_call(fn, args))
        self._failpoints.reach("mid-batch")
        self.last_transaction = confirm(sender, pending).tx_hash
        return ()

    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        return self._chain.call(artifact, address, fn, *args)

    def logs(self, address: str, topic0: bytes) -> list[EventLog]:
        return self._chain.logs(address, topic0)


class OutboxSubmitter:
    """Sends `outbox`'s queued readings to the registry at `registry` as `sender`."""

    def __init__(
        self,
        outbox: Outbox,
        chain: SubmittingChain,
        registry: str,
        sender: str,
        publish: Callable[[str, bytes], None],
        log: JsonLog,
        counters: GatewayCounters,
        max_batch: int = 100,
        reorder_window_s: float = 30.0,
        failpoints: Failpoints | None = None,
    ) -> None:
        self._outbox = outbox
        self._failpoints = failpoints or Failpoints()
        self._chain = _FailpointChain(chain, self._failpoints)
        self._registry = registry
        self._gateway = Gateway(self._chain, registry, sender, max_batch=max_batch)
        self._publish = publish
        self._log = log
        self.counters = counters
        self._reorder_window_s = reorder_window_s
        self._progress: dict[int, tuple[int, float]] = {}  # device -> (chain's last sequence, since)
        self._looked_at: dict[int, float] = {}  # device -> when a held device was last looked up

    def submit_round(self) -> int:
        """Send one batch of the readings now in order and record its outcomes; the number sent."""
        gateway = self._gateway
        chosen = self._in_order(self._outbox.queued(), gateway.verifier)[: gateway.batch_size]
        if not chosen:
            return 0
        by_key = {row.key: row for row in chosen}
        outcomes: dict[tuple[int, int], str | None] = {}
        for row in chosen:
            try:
                gateway.enqueue(row.signed)
            except ReadingRefused as refused:  # its key was rotated since the intake verified it
                outcomes[row.key] = refused.reason
        self._outbox.count_submission(k for k in by_key if k not in outcomes)
        report = gateway.flush()
        self._failpoints.reach("after-submit")
        for key in report.accepted:
            outcomes[key] = None
        outcomes.update(report.rejected)
        # A reading enqueue found already delivered by this process was settled before.
        for key in by_key:
            if key not in outcomes and key in gateway.delivered:
                outcomes[key] = None
        self._outbox.settle(outcomes, self._chain.last_transaction)
        gateway.delivered.clear()  # the outbox remembers; the process need not
        last = gateway.verifier.chain_last_sequence
        for (device_id, sequence), reason in outcomes.items():
            if reason is None:
                last[device_id] = max(last.get(device_id, 0), sequence)
        accepted = sum(1 for reason in outcomes.values() if reason is None)
        self.counters.accepted += accepted
        self.counters.rejected += len(outcomes) - accepted
        self.counters.batches += 1
        self._log(
            "batch settled",
            readings=len(outcomes),
            accepted=accepted,
            transaction=self._chain.last_transaction,
        )
        return len(chosen)

    def drain(self) -> None:
        """Submit until nothing queued may go."""
        while self.submit_round():
            pass

    def answer(self) -> None:
        """Send each settled reading's outcome to its device, then note it answered."""
        pending = self._outbox.unanswered()
        if not pending:
            return
        self._failpoints.reach("before-ack")
        for row in pending:
            status = "rejected" if row.reason else "accepted"
            self._publish(
                ack_topic(row.device_name), encode_ack(row.sequence, status, row.reason, row.transaction_hash)
            )
        self._outbox.mark_answered(row.key for row in pending)

    def reconcile(self, window_s: int) -> ReconciliationReport:
        """Reconcile the last `window_s` seconds of intervals (requeues what the chain lacks)."""
        now = int(time.time())
        report = reconcile(self._outbox, self._chain, self._registry, now - window_s, now + 1)
        self._log(
            "reconciled",
            complete=report.complete,
            resubmitted=len(report.resubmitted),
            learned_accepted=len(report.learned_accepted),
            gaps=len(report.gaps),
            silent_devices=len(report.silent_devices),
            still_queued=report.still_queued,
        )
        return report

    def _in_order(self, queued: list[StoredReading], verifier: ReadingVerifier) -> list[StoredReading]:
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
            seen_last, moved_at = self._progress.get(device_id, (-1, now))
            if last != seen_last:
                self._progress[device_id] = (last, now)
                moved_at = now
            for row in rows:
                stalled = now - max(row.received_at, moved_at) > self._reorder_window_s
                if row.sequence <= last + 1 or stalled:
                    chosen.append(row)
                    last = max(last, row.sequence)
                    continue
                # Held: another gateway may be sending the predecessor; look again now and then.
                if now - self._looked_at.get(device_id, 0.0) > min(1.0, self._reorder_window_s / 4):
                    self._looked_at[device_id] = now
                    verifier.look_up(device_id)
                break
        return chosen
