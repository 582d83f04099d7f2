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

Limits (docs/market.md, "Book limits"): the engine works in int64, so a side may hold at most
MAX_ORDERS_PER_SIDE orders of at most MAX_ORDER_ENERGY_WH each, priced at most
MAX_PRICE_PER_KWH. Then every cumulative energy sum is at most 10^15 Wh and every single
energy x price product at most 10^18, both below 2^63 (about 9.2 x 10^18); welfare, a sum of
such products, is computed in Python integers. `BookSide` refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from gridledger.errors import InvalidBookSide
from gridledger.market.orders import Pricing

Int64Array = npt.NDArray[np.int64]
UInt64Array = npt.NDArray[np.uint64]

# 1 GWh: a 15-minute order of a 4 GW plant, far beyond any participant of a local market.
MAX_ORDER_ENERGY_WH = 10**9
# 10^9 base units per kWh is 1,000 dollars per kWh with a 6-decimal stablecoin: 250 times the
# EU day-ahead market's harmonised maximum price (4,000 EUR/MWh).
MAX_PRICE_PER_KWH = 10**9
MAX_ORDERS_PER_SIDE = 10**6
INT64_MAX = 2**63 - 1
# The derivation of the limits, checked when the module loads (python -O does not run asserts).
if (
    MAX_ORDERS_PER_SIDE * MAX_ORDER_ENERGY_WH > INT64_MAX
    or MAX_ORDER_ENERGY_WH * MAX_PRICE_PER_KWH > INT64_MAX
):
    raise ImportError("clearing limits let an int64 sum overflow")


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

    def __post_init__(self) -> None:
        # (column, dtype, largest value); uint64 columns are in range by their dtype.
        columns: dict[str, tuple[npt.NDArray[np.generic] | None, type[np.generic], int | None]] = {
            "price_per_kwh": (self.price_per_kwh, np.int64, MAX_PRICE_PER_KWH),
            "energy_wh": (self.energy_wh, np.int64, MAX_ORDER_ENERGY_WH),
            "received_at": (self.received_at, np.int64, INT64_MAX),
            "hash_key": (self.hash_key, np.uint64, None),
            "grid_node_id": (self.grid_node_id, np.uint64, None),
        }
        length: int | None = None
        for name, (column, dtype, most) in columns.items():
            if column is None:
                continue
            if not isinstance(column, np.ndarray) or column.dtype != dtype or column.ndim != 1:
                raise InvalidBookSide(f"{name} must be a 1-D {np.dtype(dtype).name} array")
            if length is not None and column.shape[0] != length:
                raise InvalidBookSide(f"{name} has {column.shape[0]} entries, the other columns {length}")
            length = column.shape[0]
            if most is not None and length and (int(column.min()) < 0 or int(column.max()) > most):
                raise InvalidBookSide(f"{name} outside 0..{most}")
        if length is not None and length > MAX_ORDERS_PER_SIDE:
            raise InvalidBookSide(f"{length} orders on one side, at most {MAX_ORDERS_PER_SIDE}")
        # The hash key is the last tie-breaker: with two equal keys the execution order is not defined.
        if np.unique(self.hash_key).shape[0] != len(self):
            raise InvalidBookSide("hash_key has duplicates: the tie-break between them is not defined")

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
    # NODAL pricing: what each ask earns per kWh (its node's price); None under the others.
    ask_price_per_kwh: Int64Array | None = None

    def welfare(self, bids: BookSide, asks: BookSide) -> int:
        """Gains from trade in payment units x 1000 (Wh x units per kWh): sum bid*fill - sum ask*fill,
        exact (Python integers: the sum may pass 2^63)."""
        return _exact_dot(bids.price_per_kwh, self.bid_fill_wh) - _exact_dot(
            asks.price_per_kwh, self.ask_fill_wh
        )


def _exact_dot(prices: Int64Array, fills: Int64Array) -> int:
    traded = np.flatnonzero(fills)
    return sum(p * f for p, f in zip(prices[traded].tolist(), fills[traded].tolist(), strict=True))


class ClearingMechanism(Protocol):
    """How an interval clears; the grid-constrained clearing is another implementation."""

    @property
    def pricing(self) -> Pricing: ...

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult: ...


@runtime_checkable
class ExportCapping(Protocol):
    """A clearing that caps asks (what the grid lets each seller export), then clears them
    uniformly: the operator publishes the caps with the book so that anyone can re-run it."""

    pricing: Pricing

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult: ...

    def capped(self, asks: BookSide) -> BookSide: ...


@runtime_checkable
class Certifying(Protocol):
    """A clearing that proves its fills optimal: its certificate (JSON) is published with the
    book and committed in its hash, so anyone can check it without solving (market/nodal.py)."""

    pricing: Pricing

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult: ...

    def certified(self, bids: BookSide, asks: BookSide) -> tuple[ClearingResult, dict[str, Any]]: ...


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
