"""JSON-RPC chain on web3.py, with the same deploy/call/transact surface as EmbeddedChain.

Against anvil, any sender may transact (anvil_autoImpersonateAccount), so the same code
and the same named actors run on both backends; receipts give real gasUsed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import requests
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from gridledger.chain.abi import Artifact, EventLog, load_artifact, revert_error
from gridledger.errors import ChainError

NODE_BIN = Path(__file__).resolve().parents[3] / "node_modules" / ".bin"
ANVIL = NODE_BIN / "anvil"
HARDHAT = NODE_BIN / "hardhat"
FUNDING_WEI = 10**24
# How long the first request may wait for the node: an unreachable URL fails in seconds, not
# after the 120 s a large transaction may need.
CONNECT_TIMEOUT_S = 5.0


class GuardedHTTPProvider(HTTPProvider):
    """web3's HTTP provider whose transport failures (refused, timed out, not JSON-RPC) are a
    ChainError naming the node, instead of a requests exception deep in web3."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            response: RPCResponse = super().make_request(method, params)
        except (requests.RequestException, ValueError) as failed:
            # ValueError: the answer was not JSON (a web server that is not a node).
            raise ChainError(
                f"the node at {self.endpoint_uri} did not answer {method}: {_reason(failed)}"
            ) from failed
        return response


def _reason(failed: Exception) -> str:
    if isinstance(failed, requests.Timeout):
        return "no answer in time"
    if isinstance(failed, requests.ConnectionError):
        # requests nests urllib3's retries and pool errors; the last clause is the cause itself.
        return "cannot connect: " + str(failed).rsplit(": ", 1)[-1].rstrip(")\"'")
    return str(failed)


def checked_rpc_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ChainError(f"--rpc-url must be an http:// or https:// URL, got {url!r}")
    return url


def node_logs(request: Callable[[str, list[Any]], Any], address: str, topic0: bytes) -> list[EventLog]:
    """Every log `address` emitted with first topic `topic0`, oldest first, each with its block's
    time, through `request` (a JSON-RPC call: method and parameters to the result)."""
    found = request(
        "eth_getLogs",
        [{"address": Web3.to_checksum_address(address), "topics": ["0x" + topic0.hex()], "fromBlock": "0x0"}],
    )
    block_times: dict[str, int] = {}
    for log in found:
        block = str(log["blockNumber"])
        if block not in block_times:
            header = request("eth_getBlockByNumber", [block, False])
            block_times[block] = int(str(header["timestamp"]), 16)
    return [
        EventLog(
            str(log["address"]),
            [bytes.fromhex(t[2:]) for t in log["topics"]],
            bytes.fromhex(log["data"][2:]),
            str(log["transactionHash"]),
            block_times[str(log["blockNumber"])],
        )
        for log in found
    ]


class RpcChain:
    """Deploy, call and transact over JSON-RPC; `last_gas_used` is the last receipt's gasUsed."""

    def __init__(self, url: str, impersonate: bool = True) -> None:
        """`impersonate=False` for reading only (calls and logs), which any node serves.

        Raises ChainError at once, within CONNECT_TIMEOUT_S, if the node cannot be reached."""
        probe = GuardedHTTPProvider(
            checked_rpc_url(url),
            request_kwargs={"timeout": CONNECT_TIMEOUT_S},
            exception_retry_configuration=None,
        )
        answer = probe.make_request(RPCEndpoint("eth_chainId"), [])
        if "error" in answer or not isinstance(answer.get("result"), str):
            raise ChainError(f"the node at {url} did not answer eth_chainId: {answer.get('error', answer)}")
        self.w3 = Web3(GuardedHTTPProvider(url, request_kwargs={"timeout": 120}))
        self.chain_id = int(str(answer["result"]), 16)
        self.last_gas_used = 0
        self.last_logs: list[EventLog] = []
        self._funded: set[str] = set()
        if impersonate:
            self._rpc("anvil_autoImpersonateAccount", [True])

    @property
    def timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def set_time(self, timestamp: int) -> None:
        """The next block gets `timestamp` (anvil)."""
        self._rpc("evm_setNextBlockTimestamp", [timestamp])

    def snapshot(self) -> int:
        """Mark the node's current state (evm_snapshot); returns an id for revert."""
        return int(self._rpc("evm_snapshot", []), 16)

    def revert(self, snapshot_id: int) -> None:
        """Return to the state of `snapshot_id` (evm_revert); later snapshots are consumed."""
        if self._rpc("evm_revert", [hex(snapshot_id)]) is not True:
            raise ChainError(f"unknown snapshot {snapshot_id}")

    def logs(self, address: str, topic0: bytes) -> list[EventLog]:
        """Every log `address` emitted with first topic `topic0`, oldest first (eth_getLogs)."""
        return node_logs(self._rpc, address, topic0)

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(cast(Any, method), params)
        if "error" in response:
            raise ChainError(f"{method} failed: {response['error']}")
        return response["result"]

    def _ensure_funded(self, address: str) -> None:
        if address not in self._funded:
            self._rpc("anvil_setBalance", [address, hex(FUNDING_WEI)])
            self._funded.add(address)

    def _send(self, sender: str, to: str | None, data: bytes) -> dict[str, Any]:
        self._ensure_funded(sender)
        tx: dict[str, Any] = {"from": Web3.to_checksum_address(sender), "data": data, "gas": 29_000_000}
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        try:
            tx_hash = self.w3.eth.send_transaction(cast(Any, tx))
        except ContractLogicError as reverted:
            raise revert_error(bytes.fromhex(str(reverted.data).removeprefix("0x"))) from reverted
        receipt: dict[str, Any] = dict(self.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01))
        if receipt["status"] != 1:
            raise ChainError(f"transaction {tx_hash.hex()} failed without revert data")
        self.last_gas_used = int(receipt["gasUsed"])
        self.last_logs = [
            EventLog(
                str(log["address"]),
                [bytes(t) for t in log["topics"]],
                bytes(log["data"]),
                "0x" + bytes(log["transactionHash"]).hex(),
            )
            for log in receipt["logs"]
        ]
        return receipt

    def deploy(self, name: str, args: tuple[Any, ...], sender: str) -> str:
        receipt = self._send(sender, None, load_artifact(name).encode_constructor(args))
        return str(receipt["contractAddress"])

    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        try:
            out = self.w3.eth.call(
                {"to": Web3.to_checksum_address(address), "data": artifact.encode_call(fn, args)}
            )
        except ContractLogicError as reverted:
            raise revert_error(bytes.fromhex(str(reverted.data).removeprefix("0x"))) from reverted
        return artifact.decode_output(fn, bytes(out))

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        """Send `fn` as a real transaction; returns () (read results with call)."""
        self._send(sender, address, artifact.encode_call(fn, args))
        return ()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def anvil_node(
    timestamp: int, chain_id: int = 31337, state: Path | None = None, port: int | None = None
) -> Iterator[str]:
    """Run anvil from node_modules on 127.0.0.1 and yield its URL; stops it afterwards. With
    `state`, anvil loads its chain from that file if it exists and writes it there when it
    stops (a node restarted on the same `port` continues the same chain)."""
    if not ANVIL.exists():
        raise ChainError(f"anvil not found at {ANVIL}; run `npm ci`")
    port = port or free_port()
    command = [
        str(ANVIL),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--silent",
        "--chain-id",
        str(chain_id),
        "--timestamp",
        str(timestamp),
        "--gas-limit",
        "60000000",
        *(["--state", str(state)] if state is not None else []),
    ]
    with _local_node("anvil", command, port, Path.cwd()) as url:
        yield url


@contextmanager
def hardhat_node(timestamp: int, chain_id: int = 31337) -> Iterator[str]:
    """Run Hardhat Network (EDR) from node_modules on 127.0.0.1, its genesis at `timestamp`, and
    yield its URL; a second JSON-RPC node, independent of anvil. Stops it afterwards."""
    if not HARDHAT.exists():
        raise ChainError(f"hardhat not found at {HARDHAT}; run `npm ci`")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="gridledger-hardhat-") as folder:
        config = Path(folder) / "hardhat.config.js"
        genesis = datetime.fromtimestamp(timestamp, tz=UTC).isoformat()
        config.write_text(
            "module.exports = { networks: { hardhat: { "
            f'chainId: {chain_id}, initialDate: "{genesis}", blockGasLimit: 60000000 '
            "} } };\n"
        )
        command = [
            str(HARDHAT),
            "node",
            "--config",
            str(config),
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        with _local_node("hardhat", command, port, HARDHAT.parents[2]) as url:
            yield url


@contextmanager
def _local_node(name: str, command: list[str], port: int, cwd: Path) -> Iterator[str]:
    """Start a development node's process, wait until it answers, yield its URL, stop it."""
    environment = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=cwd,
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        probe = Web3(Web3.HTTPProvider(url))
        deadline = time.monotonic() + 60
        while not probe.is_connected():
            if process.poll() is not None or time.monotonic() > deadline:
                raise ChainError(f"{name} did not start")
            time.sleep(0.05)  # readiness poll, not a timing assumption
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
