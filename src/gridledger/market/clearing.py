"""Uniform-price double auction for one delivery interval, vectorised with numpy.

Matching is the welfare-maximising one: bids from the highest price down meet asks from the
lowest price up for as long as the bid is at least the ask, with partial fills at the margin.
Among equal prices, the earlier order (received first) goes first, then the smaller order hash.

Price rule: the midpoint (rounded down) of the marginal pair, i.e. of the lowest matched bid
and the highest matched ask. It lies between them, so no matched bid is below it and no matched
ask above it. Under PAY_AS_BID the fills are the same and each trades at its own limit; the
midpoint is still reported because the contract checks every limit against it.

The engine is written here because no maintained library clears double auctions with partial
fills at this speed; grid constraints plug in through `ClearingMechanism` (docs/market.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from gridledger.market.orders import Pricing

Int64Array = npt.NDArray[np.int64]
UInt64Array = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class BookSide:
    """One side of an interval's book as arrays (one entry per order)."""

    price_per_kwh: Int64Array
    energy_wh: Int64Array
    received_at: Int64Array  # receipt time in ms at the operator (committed in the book hash)
    hash_key: UInt64Array  # first 8 bytes of the order hash, the last tie-breaker
    grid_node_id: UInt64Array | None = None  # where each order trades; grid-feasible clearing needs it

    @classmethod
    def empty(cls) -> BookSide:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none, np.zeros(0, dtype=np.uint64))

    def __len__(self) -> int:
        return int(self.price_per_kwh.shape[0])


@dataclass(frozen=True)
class ClearingResult:
    """Fills aligned with the input arrays, the price and the traded volume."""

    pricing: Pricing
    price_per_kwh: int
    volume_wh: int
    bid_fill_wh: Int64Array
    ask_fill_wh: Int64Array

    def welfare(self, bids: BookSide, asks: BookSide) -> int:
        """Gains from trade in payment units x 1000 (Wh x units per kWh): sum bid*fill - sum ask*fill."""
        return int(bids.price_per_kwh @ self.bid_fill_wh) - int(asks.price_per_kwh @ self.ask_fill_wh)


class ClearingMechanism(Protocol):
    """How an interval clears; the grid-constrained clearing is another implementation."""

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult: ...


@runtime_checkable
class ExportCapping(Protocol):
    """A clearing that caps asks (what the grid lets each seller export), then clears them
    uniformly: the operator publishes the caps with the book so that anyone can re-run it."""

    pricing: Pricing

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult: ...

    def capped(self, asks: BookSide) -> BookSide: ...


def _priority(side: BookSide, descending: bool) -> npt.NDArray[np.intp]:
    """Order of execution: best price first, then earliest receipt, then smallest hash."""
    price_key = -side.price_per_kwh if descending else side.price_per_kwh
    # Fast path: price and receipt time folded into one int64 key, sorted once; the hash is
    # needed only when two orders share both, and then the three-key sort decides.
    price_rank = price_key - price_key.min()
    time_rank = side.received_at - side.received_at.min()
    time_span = int(time_rank.max()) + 1
    if (int(price_rank.max()) + 1) * time_span < 2**62:
        key = price_rank * time_span + time_rank
        by_key: npt.NDArray[np.intp] = np.argsort(key)
        ordered = key[by_key]
        if not (ordered[1:] == ordered[:-1]).any():
            return by_key
    order: npt.NDArray[np.intp] = np.lexsort((side.hash_key, side.received_at, price_key))
    return order


def _fills(cumulative: Int64Array, amounts: Int64Array, volume: int) -> Int64Array:
    return np.clip(volume - (cumulative - amounts), 0, amounts)


def clear_uniform(bids: BookSide, asks: BookSide, pricing: Pricing = Pricing.UNIFORM) -> ClearingResult:
    """Clear one interval: maximal volume, uniform midpoint price (or pay-as-bid)."""
    nothing = ClearingResult(
        pricing, 0, 0, np.zeros(len(bids), dtype=np.int64), np.zeros(len(asks), dtype=np.int64)
    )
    if len(bids) == 0 or len(asks) == 0:
        return nothing
    bid_order, ask_order = _priority(bids, descending=True), _priority(asks, descending=False)
    bid_price, bid_wh = bids.price_per_kwh[bid_order], bids.energy_wh[bid_order]
    ask_price, ask_wh = asks.price_per_kwh[ask_order], asks.energy_wh[ask_order]
    bid_cum, ask_cum = np.cumsum(bid_wh), np.cumsum(ask_wh)

    # The ask met by the first Wh of each bid; a bid trades (at least partly) if it is not
    # below that ask. Bid prices fall and ask prices rise along the curves, so the trading
    # bids are a prefix.
    met_ask = np.searchsorted(ask_cum, bid_cum - bid_wh, side="right")
    in_range = met_ask < len(asks)
    trades = in_range & (bid_price >= ask_price[np.minimum(met_ask, len(asks) - 1)])
    trading_bids = int(np.argmin(trades)) if not trades.all() else len(bids)
    if trading_bids == 0:
        return nothing
    last_bid = trading_bids - 1
    # Within the last trading bid, volume runs until asks get dearer than that bid.
    asks_at_or_below = int(np.searchsorted(ask_price, bid_price[last_bid], side="right"))
    volume = int(min(bid_cum[last_bid], ask_cum[asks_at_or_below - 1]))

    marginal_bid = int(np.searchsorted(bid_cum, volume, side="left"))
    marginal_ask = int(np.searchsorted(ask_cum, volume, side="left"))
    price = (int(bid_price[marginal_bid]) + int(ask_price[marginal_ask])) // 2

    bid_fill = np.empty(len(bids), dtype=np.int64)
    bid_fill[bid_order] = _fills(bid_cum, bid_wh, volume)
    ask_fill = np.empty(len(asks), dtype=np.int64)
    ask_fill[ask_order] = _fills(ask_cum, ask_wh, volume)
    return ClearingResult(pricing, price, volume, bid_fill, ask_fill)


@dataclass(frozen=True)
class UniformClearing:
    """The unconstrained double auction as a ClearingMechanism."""

    pricing: Pricing = Pricing.UNIFORM

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult:
        return clear_uniform(bids, asks, self.pricing)
