"""A chain wrapper that books every transaction's gas by function and keeps a step's logs.

The simulation hands it to the gateway and the market operator like any chain, so the gas
per operation type in the report covers every transaction the run sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridledger.chain.abi import Artifact, EventLog
from gridledger.chain.deploy import ClockedChain
from gridledger.meter.signing import READING_RECORD_BYTES


@dataclass
class GasEntry:
    """Gas of one function over a run: transactions, their gas and the items they carried
    (readings of a batch, fills of a settlement; 1 for anything else)."""

    transactions: int = 0
    gas: int = 0
    items: int = 0


class MeteredChain:
    """Passes everything to `inner`; books gas per (phase, contract function) and collects logs."""

    def __init__(self, inner: ClockedChain) -> None:
        self.inner = inner
        self.phase = "setup"
        self.gas: dict[tuple[str, str], GasEntry] = {}
        self.step_logs: list[EventLog] = []

    @property
    def chain_id(self) -> int:
        return self.inner.chain_id

    @property
    def timestamp(self) -> int:
        return self.inner.timestamp

    @property
    def last_logs(self) -> list[EventLog]:
        return self.inner.last_logs

    @property
    def last_gas_used(self) -> int:
        return self.inner.last_gas_used

    def deploy(self, name: str, args: tuple[Any, ...], sender: str) -> str:
        return self.inner.deploy(name, args, sender)

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: Any) -> object:
        result = self.inner.transact(sender, artifact, address, fn, *args)
        entry = self.gas.setdefault((self.phase, f"{artifact.name}.{fn}"), GasEntry())
        entry.transactions += 1
        entry.gas += self.inner.last_gas_used
        if fn == "submitReadings":
            entry.items += len(args[-1]) // READING_RECORD_BYTES
        elif fn == "settleInterval":
            entry.items += len(args[-1])
        else:
            entry.items += 1
        self.step_logs.extend(self.inner.last_logs)
        return result

    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        return self.inner.call(artifact, address, fn, *args)

    def set_time(self, timestamp: int) -> None:
        self.inner.set_time(timestamp)

    def snapshot(self) -> int:
        return self.inner.snapshot()

    def revert(self, snapshot_id: int) -> None:
        self.inner.revert(snapshot_id)

    def logs(self, address: str, topic0: bytes) -> list[EventLog]:
        return self.inner.logs(address, topic0)

    def take_logs(self) -> list[EventLog]:
        """The logs of every transaction since the last take, oldest first."""
        taken, self.step_logs = self.step_logs, []
        return taken
