"""The book admits only what the int64 clearing can clear exactly; BookSide refuses the rest."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from eth_utils.crypto import keccak

from gridledger.errors import InvalidBookSide, OrderRejected
from gridledger.market import book as book_module
from gridledger.market.book import IntervalBook
from gridledger.market.clearing import (
    MAX_ORDER_ENERGY_WH,
    MAX_PRICE_PER_KWH,
    BookSide,
    clear_uniform,
)
from gridledger.market.orders import Order, Side, SignedOrder, TraderKey, order_hash

START = 1_800_000_000 - 1_800_000_000 % 900
DOMAIN = keccak(text="test market domain")


def _side(prices: list[int], energy_wh: list[int]) -> BookSide:
    count = len(prices)
    return BookSide(
        np.array(prices, dtype=np.int64),
        np.array(energy_wh, dtype=np.int64),
        np.arange(count, dtype=np.int64),
        np.arange(count, dtype=np.uint64),
    )


def _order(trader: TraderKey, side: Side, energy_wh: int, price: int, nonce: int) -> Order:
    return Order(trader.address, side, 1, START, energy_wh, price, 1, START + 900, nonce)


@pytest.fixture
def prosumer() -> TraderKey:
    return TraderKey(keccak(text="prosumer"))


# ---------------------------------------------------------------- admission
@pytest.mark.parametrize(
    "change",
    [
        {"energy_wh": MAX_ORDER_ENERGY_WH + 1},
        {"energy_wh": 2**63},  # as_arrays raised OverflowError on it
        {"energy_wh": 2**64 - 1},
        {"limit_price_per_kwh": MAX_PRICE_PER_KWH + 1},
        {"limit_price_per_kwh": 2**64 - 1},
    ],
)
def test_book_add_beyondBookLimits_isRejectedOutOfRange(prosumer: TraderKey, change: dict[str, int]) -> None:
    book = IntervalBook(1, START, DOMAIN)
    order = replace(_order(prosumer, Side.SELL, 1_000, 80_000, 1), **change)
    with pytest.raises(OrderRejected) as rejected:
        book.add(prosumer.sign_order(order, DOMAIN), 0, now_s=START)
    assert rejected.value.reason == "out_of_range" and book.entries == []


def test_book_add_atBookLimits_isAdmitted(prosumer: TraderKey) -> None:
    book = IntervalBook(1, START, DOMAIN)
    order = _order(prosumer, Side.SELL, MAX_ORDER_ENERGY_WH, MAX_PRICE_PER_KWH, 1)
    book.add(prosumer.sign_order(order, DOMAIN), 0, now_s=START)
    assert len(book.entries) == 1


def test_book_add_hashKeyCollision_isRejected(prosumer: TraderKey, monkeypatch: pytest.MonkeyPatch) -> None:
    # A trader who ground two orders whose hashes share their first 8 bytes (the clearing's last
    # tie-breaker): every hash the book computes is given the same prefix.
    def colliding_hash(order: Order, domain: bytes) -> bytes:
        return b"\x00" * 8 + order_hash(order, domain)[8:]

    monkeypatch.setattr(book_module, "order_hash", colliding_hash)
    book = IntervalBook(1, START, DOMAIN)
    signed = []
    for nonce in (1, 2):
        order = _order(prosumer, Side.BUY, 1_000, 80_000, nonce)
        digest = colliding_hash(order, DOMAIN)
        r, vs = prosumer.sign_compact(digest)
        signed.append(SignedOrder(order, r, vs, digest))
    book.add(signed[0], 0, now_s=START)
    with pytest.raises(OrderRejected) as rejected:
        book.add(signed[1], 1, now_s=START)
    assert rejected.value.reason == "hash_key_collision" and len(book.entries) == 1
    book.as_arrays(book.live_entries(Side.BUY))  # the book's clearing input stays valid


def test_book_add_fullSide_isRejected(prosumer: TraderKey, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(book_module, "MAX_ORDERS_PER_SIDE", 2)
    book = IntervalBook(1, START, DOMAIN)
    for nonce in (1, 2):
        book.add(prosumer.sign_order(_order(prosumer, Side.SELL, 10, 1, nonce), DOMAIN), 0, now_s=START)
    book.add(prosumer.sign_order(_order(prosumer, Side.BUY, 10, 1, 3), DOMAIN), 0, now_s=START)
    with pytest.raises(OrderRejected) as rejected:
        book.add(prosumer.sign_order(_order(prosumer, Side.SELL, 10, 1, 4), DOMAIN), 0, now_s=START)
    assert rejected.value.reason == "book_full" and len(book.entries) == 3


def test_book_welfare_largestOrdersAtPriceCap_isExact(prosumer: TraderKey) -> None:
    book = IntervalBook(1, START, DOMAIN)
    for nonce in range(10):
        for side, price in ((Side.BUY, MAX_PRICE_PER_KWH), (Side.SELL, 0)):
            order = _order(prosumer, side, MAX_ORDER_ENERGY_WH, price, 2 * nonce + int(side))
            book.add(prosumer.sign_order(order, DOMAIN), nonce, now_s=START)
    bids, asks = book.as_arrays(book.live_entries(Side.BUY)), book.as_arrays(book.live_entries(Side.SELL))
    result = clear_uniform(bids, asks)
    assert result.volume_wh == 10 * MAX_ORDER_ENERGY_WH
    assert result.welfare(bids, asks) == 10 * MAX_ORDER_ENERGY_WH * MAX_PRICE_PER_KWH  # 10^19 > 2^63


# ---------------------------------------------------------------- clearing input
@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        # the old engine gave volume -2^63
        (([10, 10], [2**62, 2**62]), ([1], [2**63 - 1])),
        # the old engine raised IndexError
        (([10, 10, 10], [2**62, 2**62, 2**62]), ([1], [2**62])),
        # the old engine traded nothing though 2^62 Wh cross
        (([10], [2**62]), ([1, 1], [2**62, 2**62])),
    ],
)
def test_BookSide_sideTotalBeyondInt64_isRefused(
    bids: tuple[list[int], list[int]], asks: tuple[list[int], list[int]]
) -> None:
    with pytest.raises(InvalidBookSide):
        clear_uniform(_side(*bids), _side(*asks))


def test_welfare_beyondInt64_isExact() -> None:
    bids = _side([MAX_PRICE_PER_KWH] * 10, [MAX_ORDER_ENERGY_WH] * 10)
    asks = _side([0] * 10, [MAX_ORDER_ENERGY_WH] * 10)
    result = clear_uniform(bids, asks)
    assert result.welfare(bids, asks) == 10**19  # int64 arithmetic wrapped it to a negative number


def _columns(count: int = 2) -> dict[str, Any]:
    return {
        "price_per_kwh": np.ones(count, dtype=np.int64),
        "energy_wh": np.ones(count, dtype=np.int64),
        "received_at": np.zeros(count, dtype=np.int64),
        "hash_key": np.arange(count, dtype=np.uint64),
        "grid_node_id": np.zeros(count, dtype=np.uint64),
    }


@pytest.mark.parametrize(
    ("column", "bad"),
    [
        ("price_per_kwh", np.array([1, -1], dtype=np.int64)),
        ("energy_wh", np.array([-5, 1], dtype=np.int64)),
        ("received_at", np.array([0, -1], dtype=np.int64)),
        ("energy_wh", np.array([1.0, 2.0])),
        ("price_per_kwh", np.array([1, 2], dtype=np.int32)),
        ("hash_key", np.array([1, 2], dtype=np.int64)),
        ("grid_node_id", np.array([0.0, 1.0])),
        ("energy_wh", np.array([1, 2, 3], dtype=np.int64)),
        ("received_at", np.zeros(1, dtype=np.int64)),
        ("grid_node_id", np.zeros(3, dtype=np.uint64)),
        ("energy_wh", np.ones((2, 1), dtype=np.int64)),
        ("price_per_kwh", [1, 1]),
        ("hash_key", np.array([7, 7], dtype=np.uint64)),
    ],
    ids=[
        "negative-price",
        "negative-energy",
        "negative-receipt",
        "float-energy",
        "int32-price",
        "signed-hash-key",
        "float-node",
        "longer-energy",
        "shorter-receipt",
        "longer-node",
        "2d-energy",
        "list-price",
        "duplicate-hash-key",
    ],
)
def test_BookSide_badArray_isRefused(column: str, bad: Any) -> None:
    columns = _columns()
    columns[column] = bad
    with pytest.raises(InvalidBookSide):
        BookSide(**columns)


def test_BookSide_validArrays_areAccepted() -> None:
    assert len(BookSide(**_columns())) == 2 and len(BookSide.empty()) == 0
