"""The live transaction sender against anvil, with nothing impersonated: every transaction is
signed here. Nonces survive a restart and a key used elsewhere, a dropped transaction is sent
again, a stuck one is replaced with higher fees, fees stay under the cap, and every failure is
typed. Anvil's dev methods only fund keys and hold or drop transactions to make the faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridledger.chain.abi import load_artifact
from gridledger.chain.rpc import anvil_node
from gridledger.chain.sender import (
    GWEI,
    FeeCapExceeded,
    JsonRpc,
    NonceTaken,
    ReceiptTimeout,
    SenderPolicy,
    TransactionFailed,
    TransactionSender,
    TransportError,
)
from gridledger.errors import ContractRevertError

START = 1_750_000_000
RECIPIENT = "0x000000000000000000000000000000000000bEEF"
FAULT_WAIT_S = 30.0  # bound of each fault test's wait for the node to show a condition


@pytest.fixture
def rpc() -> Iterator[JsonRpc]:
    with anvil_node(START) as url:
        yield JsonRpc(url)


@pytest.fixture
def operator(rpc: JsonRpc) -> LocalAccount:
    """A fresh key with ether (anvil_setBalance: a dev node's faucet)."""
    account: LocalAccount = Account.create()
    rpc.request("anvil_setBalance", [account.address, hex(10**21)])
    return account


def _balance(rpc: JsonRpc, address: str) -> int:
    return int(rpc.request("eth_getBalance", [address, "latest"]), 16)


def _nonce(rpc: JsonRpc, address: str) -> int:
    return int(rpc.request("eth_getTransactionCount", [address, "latest"]), 16)


def _until(condition: Callable[[], bool], what: str) -> None:
    """Polls the node for `condition`, bounded: the test fails instead of hanging."""
    deadline = time.monotonic() + FAULT_WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the node never showed {what}")
        time.sleep(0.01)  # polling an outside process, not a timing assumption


def _in_background(wait: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["receipt"] = wait()
        except Exception as failed:  # handed to the test thread, which asserts on it
            outcome["error"] = failed

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_send_signsLocallyAndConfirmsAtDepth(rpc: JsonRpc, operator: LocalAccount) -> None:
    sender = TransactionSender(rpc, operator, SenderPolicy(confirmations=1))
    receipt = sender.send(RECIPIENT, b"", value_wei=12_345)
    assert _balance(rpc, RECIPIENT) == 12_345
    assert receipt.gas_used == 21_000 and receipt.block_number >= 1
    transaction = rpc.request("eth_getTransactionByHash", [receipt.tx_hash])
    assert int(transaction["type"], 16) == 2 and transaction["from"].lower() == operator.address.lower()


def test_send_deploysAContract(rpc: JsonRpc, operator: LocalAccount) -> None:
    sender = TransactionSender(rpc, operator)
    token = load_artifact("EnergyToken")
    receipt = sender.send(None, token.encode_constructor((operator.address, 3600)))
    assert receipt.contract_address is not None
    assert rpc.request("eth_getCode", [receipt.contract_address, "latest"]) not in ("0x", None)


def test_nonce_aNewSenderForTheSameKey_continuesFromTheChain(rpc: JsonRpc, operator: LocalAccount) -> None:
    first = TransactionSender(rpc, operator)
    first.send(RECIPIENT, b"", 1)
    first.send(RECIPIENT, b"", 1)
    restarted = TransactionSender(rpc, operator)
    restarted.send(RECIPIENT, b"", 1)
    assert _nonce(rpc, operator.address) == 3 and _balance(rpc, RECIPIENT) == 3


def test_submit_nonceUsedMeanwhileBySameKey_resyncsAndSends(rpc: JsonRpc, operator: LocalAccount) -> None:
    stale = TransactionSender(rpc, operator)
    stale.send(RECIPIENT, b"", 1)  # its next nonce is now 1
    TransactionSender(rpc, operator).send(RECIPIENT, b"", 1)  # takes nonce 1 behind its back
    stale.send(RECIPIENT, b"", 1)
    assert _nonce(rpc, operator.address) == 3 and _balance(rpc, RECIPIENT) == 3


def test_wait_droppedTransaction_isSentAgain(rpc: JsonRpc, operator: LocalAccount) -> None:
    rpc.request("evm_setAutomine", [False])
    sender = TransactionSender(
        rpc, operator, SenderPolicy(replace_after_s=0.0, max_replacements=0, poll_s=0.01)
    )
    pending = sender.submit(RECIPIENT, b"", 7)
    rpc.request("anvil_dropTransaction", [pending.hashes[0]])
    assert rpc.request("eth_getTransactionByHash", [pending.hashes[0]]) is None
    thread, outcome = _in_background(lambda: sender.wait(pending))
    _until(
        lambda: rpc.request("eth_getTransactionByHash", [pending.hashes[0]]) is not None,
        "the resent transaction",
    )
    rpc.request("evm_mine", [])
    thread.join(FAULT_WAIT_S)
    assert "error" not in outcome, outcome
    assert _balance(rpc, RECIPIENT) == 7 and _nonce(rpc, operator.address) == 1


def test_wait_stuckTransaction_isReplacedWithHigherFees(rpc: JsonRpc, operator: LocalAccount) -> None:
    rpc.request("evm_setAutomine", [False])
    sender = TransactionSender(
        rpc, operator, SenderPolicy(replace_after_s=0.0, max_replacements=1, poll_s=0.01)
    )
    pending = sender.submit(RECIPIENT, b"", 5)
    first_fee = pending.fields["maxFeePerGas"]
    thread, outcome = _in_background(lambda: sender.wait(pending))
    _until(lambda: len(pending.hashes) == 2, "the replacement")
    rpc.request("evm_mine", [])
    thread.join(FAULT_WAIT_S)
    receipt = outcome["receipt"]
    assert receipt.tx_hash == pending.hashes[1], "the replacement was mined, not the stuck one"
    mined = rpc.request("eth_getTransactionByHash", [receipt.tx_hash])
    assert int(mined["maxFeePerGas"], 16) >= first_fee * 113 // 100
    assert _balance(rpc, RECIPIENT) == 5 and _nonce(rpc, operator.address) == 1


def test_submit_baseFeeAboveTheCap_isRefusedAndNothingSent(rpc: JsonRpc, operator: LocalAccount) -> None:
    rpc.request("anvil_setNextBlockBaseFeePerGas", [hex(1_000 * GWEI)])
    rpc.request("evm_mine", [])
    sender = TransactionSender(rpc, operator, SenderPolicy(max_fee_per_gas_wei=100 * GWEI))
    with pytest.raises(FeeCapExceeded, match="above the fee cap"):
        sender.submit(RECIPIENT, b"", 1)
    assert int(rpc.request("eth_getTransactionCount", [operator.address, "pending"]), 16) == 0


def test_submit_wouldRevert_isTheDecodedCustomError(rpc: JsonRpc, operator: LocalAccount) -> None:
    sender = TransactionSender(rpc, operator)
    token = load_artifact("EnergyToken")
    with pytest.raises(ContractRevertError) as reverted:
        sender.submit(None, token.encode_constructor((operator.address, 60)))  # epoch under an hour
    assert reverted.value.error_name == "InvalidEpochLength"
    # The refused transaction used no nonce: the next one takes nonce 0.
    sender.send(RECIPIENT, b"", 1)
    assert _nonce(rpc, operator.address) == 1


def test_wait_neverMined_isReceiptTimeout(rpc: JsonRpc, operator: LocalAccount) -> None:
    rpc.request("evm_setAutomine", [False])
    ticks = iter(range(0, 10_000, 50))  # a clock that moves 50 s a look: no real waiting
    sender = TransactionSender(
        rpc,
        operator,
        SenderPolicy(receipt_timeout_s=120.0, replace_after_s=1_000.0),
        clock=lambda: float(next(ticks)),
        sleep=lambda _: None,
    )
    with pytest.raises(ReceiptTimeout, match="not confirmed within 120 s"):
        sender.send(RECIPIENT, b"", 1)


def test_wait_nonceUsedByATransactionItDidNotSend_isNonceTaken(rpc: JsonRpc, operator: LocalAccount) -> None:
    rpc.request("evm_setAutomine", [False])
    ours = TransactionSender(
        rpc, operator, SenderPolicy(replace_after_s=0.0, poll_s=0.0), sleep=lambda _: None
    )
    pending = ours.submit(RECIPIENT, b"", 1)
    rpc.request("anvil_dropTransaction", [pending.hashes[0]])
    # The same key, elsewhere, sends another transaction at the same nonce, and it is mined.
    elsewhere = TransactionSender(rpc, operator)
    elsewhere.submit(RECIPIENT, b"", 2)
    rpc.request("evm_mine", [])
    with pytest.raises(NonceTaken, match="in use elsewhere"):
        ours.wait(pending)


def test_wait_minedAndFailed_isTransactionFailed(rpc: JsonRpc, operator: LocalAccount) -> None:
    """Estimated against one state, mined against another: a payment to a holder is estimated
    while the holder has a balance (a cheap storage write), then the holder empties it in a
    transaction with a higher tip, which the node mines first; the payment now writes a fresh
    slot, runs out of its estimated gas and is mined with status 0."""
    dollar = load_artifact("TestStablecoin")
    deployed = TransactionSender(rpc, operator).send(None, dollar.encode_constructor((operator.address,)))
    coin = deployed.contract_address
    assert coin is not None
    holder: LocalAccount = Account.create()
    rpc.request("anvil_setBalance", [holder.address, hex(10**21)])
    payer = TransactionSender(rpc, operator, SenderPolicy(gas_margin_percent=20))
    payer.send(coin, dollar.encode_call("mint", (operator.address, 100)))
    payer.send(coin, dollar.encode_call("mint", (holder.address, 1)))
    rpc.request("evm_setAutomine", [False])
    payment = payer.submit(coin, dollar.encode_call("transfer", (holder.address, 10)))
    emptying = TransactionSender(rpc, holder, SenderPolicy(min_priority_fee_wei=50 * GWEI))
    emptying.submit(coin, dollar.encode_call("transfer", (RECIPIENT, 1)))
    rpc.request("evm_mine", [])
    with pytest.raises(TransactionFailed, match="failed in block"):
        payer.wait(payment)


def test_transport_unreachableNode_isTransportErrorAfterBackedOffRetries() -> None:
    slept: list[float] = []
    with anvil_node(START) as url:
        pass  # the node is stopped again: its port refuses
    rpc = JsonRpc(url, SenderPolicy(transport_retries=3, backoff_s=0.5), sleep=slept.append)
    with pytest.raises(TransportError, match="4 attempts"):
        rpc.request("eth_chainId", [])
    assert slept == [0.5, 1.0, 2.0]
