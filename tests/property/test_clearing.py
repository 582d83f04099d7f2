"""The numpy clearing engine against brute-force references on small books."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.errors import InvalidBookSide
from gridledger.market.clearing import (
    MAX_ORDER_ENERGY_WH,
    MAX_ORDERS_PER_SIDE,
    MAX_PRICE_PER_KWH,
    BookSide,
    ClearingResult,
    clear_uniform,
)
from gridledger.market.orders import Pricing

# The hash key is unique per side, as the book guarantees (BookSide refuses duplicates).
orders = st.lists(
    st.tuples(st.integers(1, 20), st.integers(1, 50), st.integers(0, 5), st.integers(0, 2**63)),
    min_size=0,
    max_size=12,
    unique_by=lambda order: order[3],
)
# Orders at the book's limits: every one near the energy cap, prices spread up to the price cap.
orders_at_limits = st.lists(
    st.tuples(
        st.integers(MAX_PRICE_PER_KWH - 1_000, MAX_PRICE_PER_KWH) | st.integers(0, MAX_PRICE_PER_KWH),
        st.integers(MAX_ORDER_ENERGY_WH - 10, MAX_ORDER_ENERGY_WH),
        st.integers(0, 2**63 - 1),
        st.integers(0, 2**64 - 1),
    ),
    min_size=10,
    max_size=40,
    unique_by=lambda order: order[3],
)


def _side(raw: list[tuple[int, int, int, int]]) -> BookSide:
    if not raw:
        return BookSide.empty()
    price, wh, received, hash_key = zip(*raw, strict=True)
    return BookSide(
        np.array(price, dtype=np.int64),
        np.array(wh, dtype=np.int64),
        np.array(received, dtype=np.int64),
        np.array(hash_key, dtype=np.uint64),
    )


def _greedy_reference(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> tuple[int, int]:
    """(volume, welfare) by matching Wh one at a time: best bid against best ask while bid >= ask."""
    bid_units = sorted((p for p, wh in bids for _ in range(wh)), reverse=True)
    ask_units = sorted(p for p, wh in asks for _ in range(wh))
    volume = welfare = 0
    for bid, ask in zip(bid_units, ask_units, strict=False):
        if bid < ask:
            break
        volume += 1
        welfare += bid - ask
    return volume, welfare


def _max_volume_over_prices(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> int:
    """Largest min(demand(p), supply(p)) over every candidate price."""
    prices = {p for p, _ in bids} | {p for p, _ in asks}
    return max(
        (min(sum(wh for b, wh in bids if b >= p), sum(wh for a, wh in asks if a <= p)) for p in prices),
        default=0,
    )


def _cleared(
    raw_bids: list[tuple[int, int, int, int]], raw_asks: list[tuple[int, int, int, int]], pricing: Pricing
) -> tuple[BookSide, BookSide, ClearingResult]:
    bids, asks = _side(raw_bids), _side(raw_asks)
    return bids, asks, clear_uniform(bids, asks, pricing)


def _plain(raw: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """(price, energy) pairs, as the brute-force references take them."""
    return [(p, wh) for p, wh, _, _ in raw]


@settings(max_examples=400, deadline=None)
@given(orders, orders, st.sampled_from(list(Pricing)))
def test_clear_uniform_matchesBruteForce(
    raw_bids: list[tuple[int, int, int, int]], raw_asks: list[tuple[int, int, int, int]], pricing: Pricing
) -> None:
    bids, asks, result = _cleared(raw_bids, raw_asks, pricing)
    plain_bids, plain_asks = _plain(raw_bids), _plain(raw_asks)
    volume, welfare = _greedy_reference(plain_bids, plain_asks)

    assert result.volume_wh == volume == _max_volume_over_prices(plain_bids, plain_asks)
    assert int(result.bid_fill_wh.sum()) == int(result.ask_fill_wh.sum()) == volume
    assert result.welfare(bids, asks) == welfare
    assert (result.bid_fill_wh >= 0).all() and (result.bid_fill_wh <= bids.energy_wh).all()
    assert (result.ask_fill_wh >= 0).all() and (result.ask_fill_wh <= asks.energy_wh).all()
    if volume:
        assert (bids.price_per_kwh[result.bid_fill_wh > 0] >= result.price_per_kwh).all()
        assert (asks.price_per_kwh[result.ask_fill_wh > 0] <= result.price_per_kwh).all()


@given(orders, orders)
def test_clear_uniform_partialFillAtMostOnePerSide(
    raw_bids: list[tuple[int, int, int, int]], raw_asks: list[tuple[int, int, int, int]]
) -> None:
    bids, asks = _side(raw_bids), _side(raw_asks)
    result = clear_uniform(bids, asks)
    for fills, side in ((result.bid_fill_wh, bids), (result.ask_fill_wh, asks)):
        partial = (fills > 0) & (fills < side.energy_wh)
        assert int(partial.sum()) <= 1


def test_clear_uniform_tieAtMarginGoesToEarlierOrder() -> None:
    bids = _side([(10, 5, 0, 1)])
    asks = _side([(8, 5, 2, 1), (8, 5, 1, 9)])  # same price: received earlier wins
    result = clear_uniform(bids, asks)
    assert result.ask_fill_wh.tolist() == [0, 5]
    assert result.price_per_kwh == 9  # midpoint of the marginal pair (10 and 8)


def test_clear_uniform_tieOnPriceAndTimeGoesToSmallerHash() -> None:
    bids = _side([(10, 5, 0, 1)])
    asks = _side([(8, 5, 1, 99), (8, 5, 1, 3)])
    assert clear_uniform(bids, asks).ask_fill_wh.tolist() == [0, 5]


def test_clear_uniform_noCrossing_tradesNothing() -> None:
    result = clear_uniform(_side([(5, 10, 0, 1)]), _side([(6, 10, 0, 2)]))
    assert result.volume_wh == 0 and result.bid_fill_wh.tolist() == [0]


@settings(max_examples=200, deadline=None)
@given(orders_at_limits, orders_at_limits, st.sampled_from(list(Pricing)))
def test_clear_uniform_atBookLimits_isExact(
    raw_bids: list[tuple[int, int, int, int]], raw_asks: list[tuple[int, int, int, int]], pricing: Pricing
) -> None:
    bids, asks, result = _cleared(raw_bids, raw_asks, pricing)
    plain_bids, plain_asks = _plain(raw_bids), _plain(raw_asks)
    bid_fills, ask_fills = result.bid_fill_wh.tolist(), result.ask_fill_wh.tolist()
    exact_welfare = sum(p * f for (p, _), f in zip(plain_bids, bid_fills, strict=True)) - sum(
        p * f for (p, _), f in zip(plain_asks, ask_fills, strict=True)
    )

    assert result.volume_wh == _max_volume_over_prices(plain_bids, plain_asks)
    assert sum(bid_fills) == sum(ask_fills) == result.volume_wh
    assert all(
        0 <= f <= wh for (_, wh), f in zip(plain_bids + plain_asks, bid_fills + ask_fills, strict=True)
    )
    assert result.welfare(bids, asks) == exact_welfare >= 0


@given(
    st.sampled_from(["price_per_kwh", "energy_wh"]),
    st.integers(1, 2**62),
)
def test_BookSide_valueAboveItsLimit_isRefused(column: str, excess: int) -> None:
    limit = MAX_PRICE_PER_KWH if column == "price_per_kwh" else MAX_ORDER_ENERGY_WH
    values = {"price_per_kwh": [1, 1], "energy_wh": [1, 1]}
    values[column][1] = limit + excess
    with pytest.raises(InvalidBookSide):
        BookSide(
            np.array(values["price_per_kwh"], dtype=np.int64),
            np.array(values["energy_wh"], dtype=np.int64),
            np.zeros(2, dtype=np.int64),
            np.arange(2, dtype=np.uint64),
        )


def test_BookSide_atMostMaxOrdersPerSide() -> None:
    def side(count: int) -> BookSide:
        return BookSide(
            np.ones(count, dtype=np.int64),
            np.full(count, MAX_ORDER_ENERGY_WH, dtype=np.int64),
            np.zeros(count, dtype=np.int64),
            np.arange(count, dtype=np.uint64),
        )

    assert len(side(MAX_ORDERS_PER_SIDE)) == MAX_ORDERS_PER_SIDE
    with pytest.raises(InvalidBookSide):
        side(MAX_ORDERS_PER_SIDE + 1)
