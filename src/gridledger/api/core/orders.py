"""Order intake into the live operator's inbox (`ops/operator.py`): `<orders>/<interval>/*.json`,
one signed order a file, receipt order the files' modification times.

An order is checked exactly as the operator will check it at the gate: the interval's book is
rebuilt from the inbox as it stands and the new order is `add`ed to it, so an order the API
accepts is one the book admits (unless a later order or the clock changes that).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from gridledger.api.core.common import event_table, index_state
from gridledger.api.core.status import cursor_block_time
from gridledger.chain.deploy import ENERGY_PAIR_ID
from gridledger.chain.eip712 import recover_compact, typed_digest
from gridledger.chain.hashing import checksum_address, keccak
from gridledger.errors import ApiError, OrderRejected
from gridledger.market.book import INTERVAL_SECONDS, IntervalBook, signed_order_from_json
from gridledger.market.orders import SignedOrder, market_domain_separator
from gridledger.ops.inbox import deliver, frozen_book_path, read_inbox

CANCEL_TYPEHASH = keccak(text="CancelOrder(bytes32 orderHash)")


DEFAULT_HORIZON_S = 7 * 86_400


@dataclass(frozen=True)
class Inbox:
    folder: Path
    gate_delay_s: int
    # The operator's state folder: a book it published is frozen, whatever the clock says.
    state: Path | None = None
    # The market's clock; None: the chain's, as the index has it (`market_now`).
    clock: Callable[[], float] | None = None
    # How far ahead an order may be for: bounds the folders anyone can make.
    horizon_s: int = DEFAULT_HORIZON_S


def market_now(connection: Connection, inbox: Inbox) -> float:
    """The market's clock. The operator follows the chain's clock (the newest block's time), so
    the API does too, as far as the index has the chain; the server's clock serves only an index
    without blocks yet."""
    if inbox.clock is not None:
        return inbox.clock()
    chain_time = cursor_block_time(connection)
    return time.time() if chain_time is None else float(chain_time)


def cancel_digest(domain: bytes, order_hash: bytes) -> bytes:
    """The EIP-712 digest a trader signs to withdraw an order before the gate."""
    return typed_digest(domain, CANCEL_TYPEHASH, ("bytes32",), (order_hash,))


def market_domain(connection: Connection) -> bytes:
    state = index_state(connection)
    market = state.deployment.get("market")
    if market is None:
        raise ApiError(503, "no-market", "No market", "the indexed deployment has no market")
    return market_domain_separator(state.chain_id, market)


def gate_closed(connection: Connection, inbox: Inbox, interval_start: int) -> bool:
    """Whether the interval's gate has closed: on-chain, in a book the operator published, or by
    the market's clock (its end and the gate delay have passed, so the operator is freezing or
    has frozen its book)."""
    table = event_table("market", "GateClosed")
    on_chain = connection.execute(
        select(table.c.block_number).where(table.c.interval_start == interval_start).limit(1)
    ).first()
    if on_chain is not None:
        return True
    if inbox.state is not None and frozen_book_path(inbox.state, interval_start).exists():
        return True
    return market_now(connection, inbox) >= interval_start + INTERVAL_SECONDS + inbox.gate_delay_s


def _rejected(reason: str, detail: str) -> ApiError:
    return ApiError(422, "order-rejected", "Order rejected", detail, reason=reason)


def _checksummed_trader(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its trader in EIP-55 case, as the book compares signers."""
    order = document["order"]
    trader = str(order["trader"])
    if not (len(trader) == 42 and trader.startswith("0x")):
        raise ValueError(f"trader {trader!r} is not an address")
    return {**document, "order": {**order, "trader": checksum_address(bytes.fromhex(trader[2:]))}}


def participant_verified(connection: Connection, trader: str) -> bool:
    """Whether the regulator's newest ParticipantSet for `trader` says verified (the market
    settles only verified participants)."""
    table = event_table("token", "ParticipantSet")
    verified = connection.execute(
        select(table.c.verified)
        .where(table.c.participant == trader)
        .order_by(table.c.block_number.desc(), table.c.log_index.desc())
        .limit(1)
    ).scalar()
    return bool(verified)


def submit(connection: Connection, inbox: Inbox, document: dict[str, Any]) -> str:
    """Check a signed order as the book will and write it into the inbox; its hash (0x hex)."""
    try:
        signed = signed_order_from_json(_checksummed_trader(document))
    except (KeyError, ValueError, TypeError, AttributeError) as bad:
        raise ApiError(422, "invalid-order", "Invalid order", f"not a signed order: {bad}") from bad
    domain = market_domain(connection)
    interval_start = signed.order.interval_start
    now_s = market_now(connection, inbox)
    if interval_start > now_s + inbox.horizon_s:
        raise _rejected(
            "too_far_ahead",
            f"orders are taken up to {inbox.horizon_s // 86_400} days ahead, not for {interval_start}",
        )
    if signed.order.expiry < interval_start + INTERVAL_SECONDS + inbox.gate_delay_s:
        raise _rejected("expires_before_gate", "the order expires before its interval's gate closes")
    if not participant_verified(connection, signed.order.trader.lower()):
        raise _rejected("trader_not_verified", f"{signed.order.trader} is not a verified participant")
    if interval_start % INTERVAL_SECONDS != 0:
        raise _rejected("misaligned_interval", "the interval start is not on a 15-minute boundary")
    if gate_closed(connection, inbox, interval_start):
        raise ApiError(409, "gate-closed", "Gate closed", f"the gate of interval {interval_start} has closed")
    folder = inbox.folder / str(interval_start)
    now = market_now(connection, inbox)
    book = IntervalBook(ENERGY_PAIR_ID, interval_start, domain)
    for received_ms, existing, _ in read_inbox(folder):
        try:
            book.add(existing, received_ms, int(now))
        except OrderRejected:
            continue  # left out at the gate as well
    received_ms = max(int(now * 1000), book.entries[-1].received_at_ms if book.entries else 0)
    try:
        book.add(signed, received_ms, int(now))
    except OrderRejected as rejected:
        if rejected.reason == "duplicate":
            raise ApiError(
                409, "duplicate-order", "Duplicate order", str(rejected), reason="duplicate"
            ) from rejected
        raise ApiError(
            422, "order-rejected", "Order rejected", str(rejected), reason=rejected.reason
        ) from rejected
    deliver(inbox.folder, signed)
    return "0x" + signed.order_hash.hex()


def cancel(connection: Connection, inbox: Inbox, order_hash: str, signature: str) -> None:
    """Remove an order from the inbox on its trader's EIP-712 CancelOrder signature (65 bytes,
    r, s, v); 409 once the gate has closed (the book is frozen: invalidate the nonce on-chain)."""
    digest = bytes.fromhex(order_hash.removeprefix("0x"))
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError as bad:
        raise ApiError(
            422, "invalid-signature", "Invalid signature", "signature is not hex", field="signature"
        ) from bad
    if len(raw) == 65 and raw[64] in (0, 1):  # wallets that give v as the recovery id
        raw = raw[:64] + bytes([raw[64] + 27])
    if len(raw) != 65 or raw[64] not in (27, 28):
        raise ApiError(
            422,
            "invalid-signature",
            "Invalid signature",
            "signature must be 65 bytes r, s, v (27/28 or 0/1)",
            field="signature",
        )
    found = _find(inbox.folder, digest)
    if found is None:
        raise ApiError(404, "unknown-order", "Unknown order", f"no order {order_hash} in the inbox")
    signed, path = found
    vs = (int.from_bytes(raw[32:64], "big") | ((raw[64] - 27) << 255)).to_bytes(32, "big")
    try:
        signer = recover_compact(cancel_digest(market_domain(connection), digest), raw[:32], vs)
    except ValueError:
        signer = None
    if signer is None or signer.lower() != signed.order.trader.lower():
        raise ApiError(
            403,
            "not-order-trader",
            "Not the order's trader",
            "the cancellation is not signed by the order's trader",
        )
    # Only the trader learns the gate's state and the nonce (a sealed order's field).
    if gate_closed(connection, inbox, signed.order.interval_start):
        raise ApiError(
            409,
            "gate-closed",
            "Gate closed",
            "the book of this interval is frozen; cancel on-chain with invalidateNonces "
            f"(nonce {signed.order.nonce})",
        )
    path.unlink(missing_ok=True)


def _find(folder: Path, digest: bytes) -> tuple[SignedOrder, Path] | None:
    """The inbox file holding the order, by the name the API gives it (its hash): a lookup, not
    a scan, so an unauthenticated cancel cannot make the server read the whole inbox."""
    for path in folder.glob(f"*/{digest.hex()}.json"):
        for _, signed, candidate in read_inbox(path.parent):
            if candidate == path and signed.order_hash == digest:
                return signed, path
    return None
