"""Locally signed transactions for a live network.

One `TransactionSender` per key: it keeps that key's nonce (taken from the node's pending count
at start, so a restart and a dropped transaction recover), prices EIP-1559 fees from
`eth_feeHistory` under a cap, estimates gas with a margin, waits for a receipt at a
confirmation depth, rebroadcasts a dropped transaction and replaces a stuck one with higher
fees, and retries transport faults with backoff. Every failure is a `ChainError` subclass,
or `ContractRevertError` when the transaction would revert.

web3.py signs and talks JSON-RPC; the policy around it (which fee, when to replace, when a
nonce is lost) is what no library keeps for a long-running operator, so it is written here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3.types import RPCEndpoint

from gridledger.chain.abi import revert_error
from gridledger.chain.rpc import GuardedHTTPProvider, checked_rpc_url
from gridledger.errors import ChainError, ContractRevertError

GWEI = 10**9


class TransportError(ChainError):
    """The node did not answer, after every retry."""


class NodeRefused(ChainError):
    """The node answered a request with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str, data: object = None) -> None:
        self.method = method
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"{method} refused: {message} (code {code})")


class FeeCapExceeded(ChainError):
    """The next block's base fee alone is above the sender's fee cap."""


class TransactionFailed(ChainError):
    """The transaction was mined and failed (status 0)."""


class ReceiptTimeout(ChainError):
    """No receipt at the confirmation depth in time, replacements included."""


class NonceTaken(ChainError):
    """The nonce was used by a transaction this sender did not send (the key is used elsewhere)."""


@dataclass(frozen=True)
class SenderPolicy:
    """How a sender prices, waits and retries."""

    confirmations: int = 1
    max_fee_per_gas_wei: int = 500 * GWEI
    min_priority_fee_wei: int = GWEI
    gas_margin_percent: int = 20
    receipt_timeout_s: float = 180.0
    replace_after_s: float = 30.0
    # Nodes take a replacement only with both fees at least 10 % higher.
    fee_bump_percent: int = 13
    max_replacements: int = 3
    transport_retries: int = 4
    backoff_s: float = 0.25
    poll_s: float = 0.1


@dataclass(frozen=True)
class Receipt:
    """A confirmed transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    contract_address: str | None
    logs: list[dict[str, Any]]


@dataclass
class PendingTransaction:
    """A transaction sent and not yet confirmed: its nonce and every hash sent for it."""

    nonce: int
    fields: dict[str, Any]
    hashes: list[str] = field(default_factory=list)
    raw: bytes = b""
    sent_at: float = 0.0
    replacements: int = 0


class JsonRpc:
    """JSON-RPC requests with retries on transport faults (refused, timed out, not JSON-RPC)."""

    def __init__(
        self, url: str, policy: SenderPolicy = SenderPolicy(), sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.url = checked_rpc_url(url)
        self._provider = GuardedHTTPProvider(
            self.url, request_kwargs={"timeout": 30}, exception_retry_configuration=None
        )
        self._policy = policy
        self._sleep = sleep

    def request(self, method: str, params: list[Any]) -> Any:
        delay = self._policy.backoff_s
        for attempt in range(self._policy.transport_retries + 1):
            try:
                response = self._provider.make_request(RPCEndpoint(method), params)
                break
            except ChainError as fault:
                if attempt == self._policy.transport_retries:
                    raise TransportError(f"{fault} ({attempt + 1} attempts)") from fault
                self._sleep(delay)
                delay *= 2
        error = response.get("error")
        if error is not None:
            detail = cast(dict[str, Any], error) if isinstance(error, dict) else {"message": str(error)}
            raise NodeRefused(
                method, int(detail.get("code", 0)), str(detail.get("message", "")), detail.get("data")
            )
        return response.get("result")


class TransactionSender:
    """Sends `account`'s transactions through `rpc` under `policy`."""

    def __init__(
        self,
        rpc: JsonRpc,
        account: LocalAccount,
        policy: SenderPolicy = SenderPolicy(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rpc = rpc
        self.account = account
        self.address = to_checksum_address(account.address)
        self.policy = policy
        self.chain_id = int(rpc.request("eth_chainId", []), 16)
        self._clock = clock
        self._sleep = sleep
        self._next_nonce: int | None = None
        # Called before every broadcast (first sending, rebroadcast, replacement) with the hash
        # about to be sent, so that a journal keeps every hash the transaction may be mined under.
        self.on_broadcast: Callable[[PendingTransaction], None] | None = None

    # ------------------------------------------------------------ sending
    def send(self, to: str | None, data: bytes, value_wei: int = 0) -> Receipt:
        """Sign, send and wait for `to`'s call with `data` (a deployment when `to` is None)."""
        return self.wait(self.submit(to, data, value_wei))

    def submit(self, to: str | None, data: bytes, value_wei: int = 0) -> PendingTransaction:
        """Sign and broadcast; ContractRevertError if the node's estimate says it would revert."""
        call: dict[str, Any] = {"from": self.address, "data": "0x" + data.hex(), "value": hex(value_wei)}
        if to is not None:
            call["to"] = to_checksum_address(to)
        gas = self._estimate_gas(call)
        max_fee, priority_fee = self._fees()
        fields: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority_fee,
            "value": value_wei,
            "data": data,
        }
        if to is not None:
            fields["to"] = to_checksum_address(to)
        pending = PendingTransaction(nonce=self._take_nonce(), fields=fields)
        try:
            self._broadcast(pending)
        except NodeRefused as refused:
            if not _is_nonce_refusal(refused):
                self._next_nonce = None  # the nonce was not used: take it from the node again
                raise
            # Another transaction holds this nonce (sent before a restart or elsewhere): resync once.
            self._next_nonce = None
            pending = PendingTransaction(nonce=self._take_nonce(), fields=fields)
            self._broadcast(pending)
        return pending

    def wait(self, pending: PendingTransaction) -> Receipt:
        """The receipt of `pending` at the confirmation depth, replacing or rebroadcasting it
        while it is not mined; TransactionFailed if it was mined and failed."""
        deadline = self._clock() + self.policy.receipt_timeout_s
        while True:
            mined = self._mined_receipt(pending)
            if mined is not None:
                confirmed = self._confirmed(mined)
                if confirmed is not None:
                    return confirmed
            elif self._clock() - pending.sent_at >= self.policy.replace_after_s:
                self._unstick(pending)
            if self._clock() >= deadline:
                raise ReceiptTimeout(
                    f"transaction nonce {pending.nonce} of {self.address} not confirmed within "
                    f"{self.policy.receipt_timeout_s:.0f} s (hashes {', '.join(pending.hashes)})"
                )
            self._sleep(self.policy.poll_s)

    def replace(self, pending: PendingTransaction) -> None:
        """Resend `pending` at the same nonce with both fees raised by fee_bump_percent, so that
        it is taken over the stuck one; FeeCapExceeded if that passes the cap."""
        bump = 100 + self.policy.fee_bump_percent
        fields = pending.fields
        max_fee = -(-fields["maxFeePerGas"] * bump // 100)
        priority = -(-fields["maxPriorityFeePerGas"] * bump // 100)
        if max_fee > self.policy.max_fee_per_gas_wei:
            raise FeeCapExceeded(
                f"replacing nonce {pending.nonce} needs a max fee of {max_fee} wei, above the cap "
                f"{self.policy.max_fee_per_gas_wei}"
            )
        pending.fields = {**fields, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": priority}
        pending.replacements += 1
        self._broadcast(pending)

    def resume(self, nonce: int, hashes: list[str]) -> PendingTransaction | None:
        """A transaction sent before a restart, at `nonce` under `hashes`: something to `wait` on
        while one of them is mined or still in the node's pool, None when all were dropped and
        the nonce is free again; NonceTaken if the nonce went to a transaction not among them."""
        for tx_hash in hashes:
            receipt = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
            known = self.rpc.request("eth_getTransactionByHash", [tx_hash])
            if receipt is not None or known is not None:
                fields = _fields_of(known) if known is not None else {}
                return PendingTransaction(nonce, fields, list(hashes), sent_at=self._clock())
        mined_count = int(self.rpc.request("eth_getTransactionCount", [self.address, "latest"]), 16)
        if mined_count > nonce:
            raise NonceTaken(
                f"nonce {nonce} of {self.address} was used by a transaction other than "
                f"{', '.join(hashes)}: is the key in use elsewhere?"
            )
        return None

    # ------------------------------------------------------------ parts
    def _take_nonce(self) -> int:
        if self._next_nonce is None:
            self._next_nonce = int(self.rpc.request("eth_getTransactionCount", [self.address, "pending"]), 16)
        nonce = self._next_nonce
        self._next_nonce += 1
        return nonce

    def _estimate_gas(self, call: dict[str, Any]) -> int:
        try:
            estimate = int(self.rpc.request("eth_estimateGas", [call]), 16)
        except NodeRefused as refused:
            reverted = revert_error_of(refused)
            if reverted is not None:
                raise reverted from refused
            raise
        return estimate * (100 + self.policy.gas_margin_percent) // 100

    def _fees(self) -> tuple[int, int]:
        history = self.rpc.request("eth_feeHistory", [hex(5), "latest", [50]])
        next_base_fee = int(history["baseFeePerGas"][-1], 16)
        rewards = sorted(int(block[0], 16) for block in history.get("reward") or [] if block)
        median_tip = rewards[len(rewards) // 2] if rewards else 0
        priority = max(self.policy.min_priority_fee_wei, median_tip)
        if next_base_fee + priority > self.policy.max_fee_per_gas_wei:
            raise FeeCapExceeded(
                f"the next block's base fee {next_base_fee} wei and tip {priority} wei are above "
                f"the fee cap {self.policy.max_fee_per_gas_wei} wei"
            )
        # Twice the base fee: the transaction stays includable through six full blocks in a row.
        return min(2 * next_base_fee + priority, self.policy.max_fee_per_gas_wei), priority

    def _broadcast(self, pending: PendingTransaction) -> None:
        signed = self.account.sign_transaction({**pending.fields, "nonce": pending.nonce})
        pending.raw = bytes(signed.raw_transaction)
        tx_hash = "0x" + bytes(signed.hash).hex()
        if tx_hash not in pending.hashes:
            pending.hashes.append(tx_hash)
        if self.on_broadcast is not None:
            # Before sending: a journal then knows every hash that may reach the node.
            self.on_broadcast(pending)
        try:
            self.rpc.request("eth_sendRawTransaction", ["0x" + pending.raw.hex()])
        except NodeRefused as refused:
            # The node has it already (a retry after a lost answer): that is a success.
            if "already known" not in refused.message.lower():
                raise
        pending.sent_at = self._clock()

    def _mined_receipt(self, pending: PendingTransaction) -> dict[str, Any] | None:
        for tx_hash in pending.hashes:
            receipt = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                return cast(dict[str, Any], receipt)
        return None

    def _confirmed(self, receipt: dict[str, Any]) -> Receipt | None:
        block_number = int(receipt["blockNumber"], 16)
        latest = int(self.rpc.request("eth_blockNumber", []), 16)
        if latest < block_number + self.policy.confirmations - 1:
            return None
        if int(receipt["status"], 16) != 1:
            raise TransactionFailed(
                f"transaction {receipt['transactionHash']} failed in block {block_number}"
            )
        return Receipt(
            tx_hash=str(receipt["transactionHash"]),
            block_number=block_number,
            gas_used=int(receipt["gasUsed"], 16),
            contract_address=receipt.get("contractAddress"),
            logs=list(receipt.get("logs") or []),
        )

    def _unstick(self, pending: PendingTransaction) -> None:
        """A transaction not mined in time: gone from the node (dropped), rebroadcast it; still
        waiting, replace it with higher fees (up to max_replacements)."""
        mined_count = int(self.rpc.request("eth_getTransactionCount", [self.address, "latest"]), 16)
        if mined_count > pending.nonce:
            # The nonce is used, yet by none of our hashes (checked just before).
            if self._mined_receipt(pending) is None:
                raise NonceTaken(
                    f"nonce {pending.nonce} of {self.address} was used by a transaction this sender "
                    "did not send: is the key in use elsewhere?"
                )
            return
        known = any(self.rpc.request("eth_getTransactionByHash", [h]) is not None for h in pending.hashes)
        if not known:
            self._broadcast(pending)
        elif pending.replacements < self.policy.max_replacements:
            self.replace(pending)
        else:
            pending.sent_at = self._clock()


def _fields_of(transaction: dict[str, Any]) -> dict[str, Any]:
    """The signing fields of a type-2 transaction as a node reports it, to replace it."""
    fields: dict[str, Any] = {
        "type": 2,
        "chainId": int(transaction["chainId"], 16),
        "gas": int(transaction["gas"], 16),
        "maxFeePerGas": int(transaction["maxFeePerGas"], 16),
        "maxPriorityFeePerGas": int(transaction["maxPriorityFeePerGas"], 16),
        "value": int(transaction["value"], 16),
        "data": bytes.fromhex(str(transaction["input"]).removeprefix("0x")),
    }
    if transaction.get("to"):
        fields["to"] = to_checksum_address(transaction["to"])
    return fields


def _is_nonce_refusal(refused: NodeRefused) -> bool:
    message = refused.message.lower()
    return "nonce too low" in message or "nonce has already been used" in message


def revert_error_of(refused: NodeRefused) -> ContractRevertError | None:
    """The decoded custom error if the node refused a call because it reverts, else None."""
    revert_data = _revert_data(refused.data)
    return None if revert_data is None else revert_error(revert_data)


def _revert_data(data: object) -> bytes | None:
    """The revert bytes in a JSON-RPC error's data (a hex string, or nested under "data")."""
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None
