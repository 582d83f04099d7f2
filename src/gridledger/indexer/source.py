"""Where the indexer reads blocks and logs: a JSON-RPC node, or the in-process EVM of a
simulation. Both give the same records, so one indexer and one decoder serve both."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from web3 import Web3
from web3.types import RPCEndpoint

from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.rpc import GuardedHTTPProvider, checked_rpc_url
from gridledger.errors import IndexerError

# eth_getLogs ranges are halved down to this when a node refuses a range as too large.
MIN_LOG_RANGE_BLOCKS = 1
HEADER_BATCH = 256


class NodeRefused(IndexerError):
    """The node answered with a JSON-RPC error (a range too large, a method it lacks)."""


@dataclass(frozen=True)
class BlockHeader:
    number: int
    hash: str  # 0x-prefixed lower-case hex
    parent_hash: str
    timestamp: int


@dataclass(frozen=True)
class ChainLog:
    """A log with its place in the chain."""

    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    address: str  # lower case
    topics: tuple[bytes, ...]
    data: bytes


class ChainSource(Protocol):
    chain_id: int

    def head(self) -> int:
        """The newest block number."""
        ...

    def headers(self, numbers: Iterable[int]) -> dict[int, BlockHeader]:
        """The canonical headers of `numbers`; a number past the head is left out."""
        ...

    def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[ChainLog]:
        """Every log of `addresses` in blocks first..last, in chain order."""
        ...


class RpcSource:
    """A JSON-RPC node (anvil, Hardhat, any EVM network)."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        self._provider = GuardedHTTPProvider(
            checked_rpc_url(url), request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
        )
        self.chain_id = int(str(self._request("eth_chainId", [])), 16)

    def head(self) -> int:
        return int(str(self._request("eth_blockNumber", [])), 16)

    def headers(self, numbers: Iterable[int]) -> dict[int, BlockHeader]:
        wanted = sorted(set(numbers))
        found: dict[int, BlockHeader] = {}
        for start in range(0, len(wanted), HEADER_BATCH):
            chunk = wanted[start : start + HEADER_BATCH]
            answers = self._provider.make_batch_request(
                [(RPCEndpoint("eth_getBlockByNumber"), [hex(number), False]) for number in chunk]
            )
            if not isinstance(answers, list):
                raise IndexerError(f"the node refused a batch of block requests: {answers}")
            for answer in answers:
                block = cast(dict[str, Any], answer).get("result")
                if block:
                    header = _header(block)
                    found[header.number] = header
        return found

    def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[ChainLog]:
        try:
            found = self._request(
                "eth_getLogs",
                [
                    {
                        "fromBlock": hex(first),
                        "toBlock": hex(last),
                        "address": [Web3.to_checksum_address(a) for a in addresses],
                    }
                ],
            )
        except NodeRefused:
            if last - first + 1 <= MIN_LOG_RANGE_BLOCKS:
                raise
            # Nodes cap a range's results (10,000 logs on many providers): split it.
            middle = (first + last) // 2
            return self.logs(first, middle, addresses) + self.logs(middle + 1, last, addresses)
        return [
            ChainLog(
                int(str(log["blockNumber"]), 16),
                str(log["blockHash"]).lower(),
                int(str(log["logIndex"]), 16),
                str(log["transactionHash"]).lower(),
                str(log["address"]).lower(),
                tuple(bytes.fromhex(topic[2:]) for topic in log["topics"]),
                bytes.fromhex(str(log["data"])[2:]),
            )
            for log in found
            if not log.get("removed", False)
        ]

    def _request(self, method: str, params: list[Any]) -> Any:
        try:
            answer = self._provider.make_request(RPCEndpoint(method), params)
        except Exception as failed:  # requests' and web3's many connection errors
            raise IndexerError(f"the node did not answer {method}: {failed}") from failed
        if "error" in answer:
            raise NodeRefused(f"the node refused {method}: {answer['error']}")
        return answer["result"]


def _header(block: dict[str, Any]) -> BlockHeader:
    return BlockHeader(
        int(str(block["number"]), 16),
        str(block["hash"]).lower(),
        str(block["parentHash"]).lower(),
        int(str(block["timestamp"]), 16),
    )


class EmbeddedSource:
    """The in-process EVM of a simulation, read as a node would be."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self._chain = chain
        self.chain_id = chain.chain_id

    def head(self) -> int:
        return self._chain.block_number

    def headers(self, numbers: Iterable[int]) -> dict[int, BlockHeader]:
        found: dict[int, BlockHeader] = {}
        for number in numbers:
            block = self._chain.block(number)
            if block is not None:
                found[number] = BlockHeader(number, block.hash, block.parent_hash, block.timestamp)
        return found

    def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[ChainLog]:
        wanted = {address.lower() for address in addresses}
        return [
            ChainLog(
                log.block_number,
                self._chain.block_hash(log.block_number),
                log.log_index,
                log.transaction,
                log.address.lower(),
                tuple(log.topics),
                log.data,
            )
            for log in self._chain.logs_between(first, last)
            if log.address.lower() in wanted
        ]


class RecordedSource:
    """Blocks and logs recorded from another source, served as a node would (the bench's
    event stream: it times the indexer, not a node)."""

    def __init__(self, chain_id: int, headers: dict[int, BlockHeader], logs: list[ChainLog]) -> None:
        self.chain_id = chain_id
        self._headers = headers
        self._logs = sorted(logs, key=lambda log: (log.block_number, log.log_index))
        self._head = max(headers)

    @classmethod
    def record(cls, source: ChainSource, addresses: Sequence[str]) -> RecordedSource:
        head = source.head()
        return cls(source.chain_id, source.headers(range(head + 1)), source.logs(0, head, addresses))

    def head(self) -> int:
        return self._head

    def headers(self, numbers: Iterable[int]) -> dict[int, BlockHeader]:
        return {number: self._headers[number] for number in numbers if number in self._headers}

    def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[ChainLog]:
        wanted = {address.lower() for address in addresses}
        low = bisect.bisect_left(self._logs, first, key=lambda log: log.block_number)
        high = bisect.bisect_right(self._logs, last, key=lambda log: log.block_number)
        return [log for log in self._logs[low:high] if log.address in wanted]
