"""In-process EVM on pyrevm: the default chain of gridledger.

pyrevm's message_call runs and commits one call; it is not a whole transaction (no
intrinsic gas, no receipt), so gas from here is execution gas only and is never quoted as
receipt gas (ARCHITECTURE §3).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from pyrevm import EVM, BlockEnv

from gridledger.chain.abi import Artifact, EventLog, load_artifact, revert_error
from gridledger.chain.hashing import keccak
from gridledger.errors import ChainError

CHAIN_ID = 1
# Views run from an account without code (EIP-3607 rejects callers that have code).
VIEW_CALLER = "0x" + "00" * 19 + "01"


@dataclass(frozen=True)
class EmbeddedBlock:
    """A block of the in-process chain as an indexer sees it. pyrevm has no blocks of its own:
    the hash is made from the number, the time and a fork counter that a revert advances, so a
    reverted and re-made block has a new hash, as after a reorg on a node."""

    hash: str
    parent_hash: str
    timestamp: int


class EmbeddedChain:
    """Deploy, call and transact against the committed artifacts on an in-process EVM."""

    def __init__(self, timestamp: int) -> None:
        self._evm = EVM(spec_id="CANCUN")
        self._timestamp = timestamp
        self.last_logs: list[EventLog] = []
        # Gas of the last transaction as pyrevm reports it (intrinsic and calldata gas included):
        # state stays warm between calls here, so it is below a receipt's gasUsed
        # (docs/simulation.md); never quote it.
        self.last_gas_used = 0
        self._log_archive: list[EventLog] = []
        # logs() by (lower-case address, topic0), over the archive's first _indexed_logs entries.
        self._log_index: dict[tuple[str, bytes], list[EventLog]] = {}
        self._indexed_logs = 0
        self._transactions = 0
        self._snapshots: list[tuple[Any, int, int, int]] = []
        self._blocks: dict[int, EmbeddedBlock] = {}
        self._forks = 0
        self._logs_in_block = 0
        # Blocks 0 and 1 exist, empty, as on a node; the first block transactions go into is 2.
        self._block_number = -1
        for _ in range(3):
            self.set_time(timestamp)

    @property
    def chain_id(self) -> int:
        return CHAIN_ID

    @property
    def timestamp(self) -> int:
        return self._timestamp

    @property
    def block_number(self) -> int:
        return self._block_number

    def block(self, number: int) -> EmbeddedBlock | None:
        """Block `number` of the current fork, None beyond the newest."""
        return self._blocks.get(number)

    def block_hash(self, number: int) -> str:
        return self._blocks[number].hash

    def logs_between(self, first: int, last: int) -> list[EventLog]:
        """Every log of blocks first..last, in chain order."""
        low = bisect.bisect_left(self._log_archive, first, key=lambda log: log.block_number)
        high = bisect.bisect_right(self._log_archive, last, key=lambda log: log.block_number)
        return self._log_archive[low:high]

    def set_time(self, timestamp: int) -> None:
        """Move block time (and the block number) forward to `timestamp`."""
        self._block_number += 1
        self._timestamp = timestamp
        self._logs_in_block = 0
        parent = self._blocks.get(self._block_number - 1)
        made = keccak(f"{self._block_number}:{timestamp}:{self._forks}".encode())
        self._blocks[self._block_number] = EmbeddedBlock(
            "0x" + made.hex(), parent.hash if parent else "0x" + "00" * 32, timestamp
        )
        self._evm.set_block_env(BlockEnv(number=self._block_number, timestamp=timestamp))

    def snapshot(self) -> int:
        """Mark the current state (storage, balances, block time); returns an id for revert."""
        self._snapshots.append(
            (self._evm.snapshot(), self._block_number, self._timestamp, len(self._log_archive))
        )
        return len(self._snapshots) - 1

    def revert(self, snapshot_id: int) -> None:
        """Return to the state of `snapshot_id`; it and every later snapshot are consumed."""
        if not 0 <= snapshot_id < len(self._snapshots):
            raise ChainError(f"unknown snapshot {snapshot_id}")
        checkpoint, block_number, timestamp, archived = self._snapshots[snapshot_id]
        del self._log_archive[archived:]
        self._log_index.clear()
        self._indexed_logs = 0
        del self._snapshots[snapshot_id:]
        self._evm.revert(checkpoint)
        for number in [n for n in self._blocks if n >= block_number]:
            del self._blocks[number]
        self._forks += 1
        self._block_number = block_number - 1
        self.set_time(timestamp)
        # The re-made block keeps the logs it held before the snapshot: number the next after them.
        self._logs_in_block = len(self._log_archive) - bisect.bisect_left(
            self._log_archive, block_number, key=lambda log: log.block_number
        )

    def fund(self, address: str, wei: int) -> None:
        self._evm.set_balance(address, wei)

    def deploy(self, name: str, args: tuple[Any, ...], sender: str) -> str:
        artifact = load_artifact(name)
        try:
            address = str(self._evm.deploy(sender, artifact.encode_constructor(args)))
        except RuntimeError as failed:
            raise ChainError(f"deploying {name} failed: {failed}") from failed
        self._record_logs()  # a constructor's events (roles, fees, owner) belong to the history too
        return address

    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        out = self._run(artifact, address, fn, args, sender=VIEW_CALLER, static=True)
        return artifact.decode_output(fn, out)

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        """Run `fn` as `sender` and commit it; raises ContractRevertError on revert."""
        out = self._run(artifact, address, fn, args, sender=sender, static=False)
        self._record_logs()
        return artifact.decode_output(fn, out)

    def _record_logs(self) -> None:
        """Keep the last transaction's gas and logs (numbered within their block) in the archive."""
        result = self._evm.result
        self.last_gas_used = result.gas_used if result is not None else 0
        # pyrevm gives topics as hex strings and data as (topics, data bytes).
        self._transactions += 1
        self.last_logs = [
            EventLog(
                str(log.address),
                [bytes.fromhex(t.removeprefix("0x")) for t in log.topics],
                log.data[1],
                f"embedded-{self._transactions}",
                self._timestamp,
                self._block_number,
                self._logs_in_block + position,
            )
            for position, log in enumerate(result.logs if result is not None else [])
        ]
        self._logs_in_block += len(self.last_logs)
        self._log_archive.extend(self.last_logs)

    def logs(self, address: str, topic0: bytes) -> list[EventLog]:
        """Every log `address` emitted with first topic `topic0`, oldest first."""
        # Indexed as asked: a reconciliation asks for a few event kinds of a run's ~100,000 logs.
        for log in self._log_archive[self._indexed_logs :]:
            if log.topics:
                self._log_index.setdefault((log.address.lower(), log.topics[0]), []).append(log)
        self._indexed_logs = len(self._log_archive)
        return list(self._log_index.get((address.lower(), topic0), ()))

    def _run(
        self, artifact: Artifact, address: str, fn: str, args: tuple[Any, ...], sender: str, static: bool
    ) -> bytes:
        data = artifact.encode_call(fn, args)
        try:
            return bytes(self._evm.message_call(sender, address, data, is_static=static))
        except RuntimeError as failed:
            raise self._decode_failure(failed) from failed

    @staticmethod
    def _decode_failure(failed: RuntimeError) -> Exception:
        # pyrevm reports a revert as "Revert { gas_used: .., output: 0x.. }".
        text = str(failed)
        marker = "output: 0x"
        if marker in text:
            hex_data = text.split(marker, 1)[1].split()[0].rstrip("},)")
            return revert_error(bytes.fromhex(hex_data))
        return ChainError(text)
