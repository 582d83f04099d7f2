"""LiveChain: a JSON-RPC node on which every transaction is signed here, by its sender's own key.

It has the deploy/call/transact surface of the other backends, so `deploy_system`, the market
operator and the gateway run unchanged against a live network. Unlike RpcChain against anvil it
impersonates nobody, funds nobody and never sets block time: a live node keeps its own clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from gridledger.chain.abi import Artifact, EventLog, load_artifact
from gridledger.chain.rpc import node_logs
from gridledger.chain.sender import (
    JsonRpc,
    NodeRefused,
    PendingTransaction,
    Receipt,
    SenderPolicy,
    TransactionSender,
    revert_error_of,
)
from gridledger.errors import ChainError


class UnknownSender(ChainError):
    """A transaction was asked of an address whose key this chain does not hold."""


class NotOnALiveNode(ChainError):
    """A development-node operation (setting time, snapshots) was asked of a live node."""


class LiveChain:
    """Deploy, call and transact on the node behind `rpc`, signing with `accounts`' keys."""

    def __init__(
        self, rpc: JsonRpc, accounts: Iterable[LocalAccount], policy: SenderPolicy | None = None
    ) -> None:
        self.rpc = rpc
        chosen = policy or SenderPolicy()
        self._senders = {
            to_checksum_address(account.address): TransactionSender(rpc, account, chosen)
            for account in accounts
        }
        self.chain_id = int(rpc.request("eth_chainId", []), 16)
        self.last_gas_used = 0
        self.last_logs: list[EventLog] = []

    @property
    def timestamp(self) -> int:
        """The latest block's unix time."""
        return int(self.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def set_time(self, timestamp: int) -> None:
        raise NotOnALiveNode(f"a live node keeps its own time; cannot move it to {timestamp}")

    def snapshot(self) -> int:
        raise NotOnALiveNode("a live node has no snapshots")

    def revert(self, snapshot_id: int) -> None:
        raise NotOnALiveNode(f"a live node has no snapshots to return to ({snapshot_id})")

    @property
    def accounts(self) -> list[str]:
        """The addresses this chain signs for, in the order their keys were given."""
        return list(self._senders)

    def sender(self, address: str) -> TransactionSender:
        """The sender of `address`'s key; UnknownSender if its key was not given."""
        try:
            return self._senders[to_checksum_address(address)]
        except KeyError as missing:
            raise UnknownSender(f"no key for {address} was unlocked for this command") from missing

    def submit(self, sender: str, to: str | None, data: bytes) -> PendingTransaction:
        """Sign and broadcast, without waiting (ContractRevertError if it would revert)."""
        return self.sender(sender).submit(to, data)

    def confirm(self, sender: str, pending: PendingTransaction) -> Receipt:
        """Wait for `pending` at the confirmation depth and keep its gas and logs."""
        receipt = self.sender(sender).wait(pending)
        self._keep(receipt)
        return receipt

    def deploy(self, name: str, args: tuple[Any, ...], sender: str) -> str:
        creation = load_artifact(name).encode_constructor(args)
        receipt = self.confirm(sender, self.submit(sender, None, creation))
        if receipt.contract_address is None:
            raise ChainError(f"the deployment of {name} ({receipt.tx_hash}) created no contract")
        return to_checksum_address(receipt.contract_address)

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        """Send `fn` as a signed transaction and wait for it; returns () (read results with call)."""
        self.confirm(sender, self.submit(sender, address, artifact.encode_call(fn, args)))
        return ()

    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        request = {"to": to_checksum_address(address), "data": "0x" + artifact.encode_call(fn, args).hex()}
        try:
            answer = self.rpc.request("eth_call", [request, "latest"])
        except NodeRefused as refused:
            reverted = revert_error_of(refused)
            if reverted is not None:
                raise reverted from refused
            raise
        return artifact.decode_output(fn, bytes.fromhex(str(answer).removeprefix("0x")))

    def code(self, address: str) -> bytes:
        """The runtime code at `address` (empty for an account without code)."""
        return bytes.fromhex(str(self.rpc.request("eth_getCode", [address, "latest"])).removeprefix("0x"))

    def logs(self, address: str, topic0: bytes) -> list[EventLog]:
        return node_logs(self.rpc.request, address, topic0)

    def _keep(self, receipt: Receipt) -> None:
        self.last_gas_used = receipt.gas_used
        self.last_logs = [
            EventLog(
                str(log["address"]),
                [bytes.fromhex(topic[2:]) for topic in log["topics"]],
                bytes.fromhex(str(log["data"])[2:]),
                receipt.tx_hash,
            )
            for log in receipt.logs
        ]
