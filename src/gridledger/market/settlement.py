"""Gate closure and settlement of one interval: funding check, clearing, the settlement call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain
from gridledger.chain.hashing import keccak
from gridledger.errors import MarketError
from gridledger.market.book import BookEntry, IntervalBook
from gridledger.market.clearing import (
    Certifying,
    ClearingMechanism,
    ClearingResult,
    ExportCapping,
    UniformClearing,
)
from gridledger.market.nodal import NodalMechanism, certificate_from_json
from gridledger.market.orders import Order, Pricing, Side


def _published_mechanism(book: IntervalBook, pricing: Pricing) -> ClearingMechanism:
    """The clearing a book cleared under `pricing` published: nodal under its certificate's
    network, or the documented rule over its export caps."""
    if pricing == Pricing.NODAL:
        if book.certificate is None:
            raise MarketError("a book cleared under nodal pricing must hold its certificate")
        return NodalMechanism(certificate_from_json(book.certificate)[0])
    return UniformClearing(pricing)


def ceil_payment_units(energy_wh: int, price_per_kwh: int) -> int:
    """What a buyer pays for `energy_wh` at `price_per_kwh` (rounded up, as the contract does)."""
    return (energy_wh * price_per_kwh + 999) // 1000


def floor_payment_units(energy_wh: int, price_per_kwh: int) -> int:
    """What a seller receives (rounded down, as the contract does)."""
    return energy_wh * price_per_kwh // 1000


@dataclass(frozen=True)
class Settlement:
    """The arguments of EnergyMarket.settleInterval and the clearing they come from."""

    clearing: tuple[int, int, int, int, bytes]
    fills: list[tuple[Any, ...]]
    result: ClearingResult
    # The grid fee per kWh each buy pays, by order hash: the market's, or the grid's peak fee.
    buy_fee_per_kwh: dict[bytes, int] = field(default_factory=dict)

    @property
    def matched_orders(self) -> int:
        return len(self.fills)


@dataclass(frozen=True)
class IntervalOutcome:
    """What an interval's gate closure did."""

    interval_start: int
    settled: bool  # the interval is settled (by this call or an earlier one)
    settlement: Settlement | None  # what this call sent; None if it sent none
    excluded_orders: int  # orders the gate left out (unfunded, off the network model)


# Called with the interval's settlement just before it is sent: what else must be on-chain
# before it (the simulation reserves zone capacity for what it moves between zones).
BeforeSubmit = Callable[[int, Settlement], None]


def gate_commitment(book: IntervalBook) -> bytes:
    """What closeGate commits to: keccak over every order received for the interval (its hash and
    receipt time, in receipt order), before the funding check decides exclusions and caps."""
    return keccak(b"".join(e.signed.order_hash + e.received_at_ms.to_bytes(8, "big") for e in book.entries))


def build_settlement(book: IntervalBook, result: ClearingResult) -> Settlement:
    """Fills in the order the contract checks them: sells, then buys, each by order hash."""
    bids, asks = book.live_entries(Side.BUY), book.live_entries(Side.SELL)

    def filled(entries: list[BookEntry], amounts: Any, prices: list[int]) -> list[tuple[Any, ...]]:
        chosen = [
            (e.signed, int(wh), price)
            for e, wh, price in zip(entries, amounts, prices, strict=True)
            if wh > 0
        ]
        chosen.sort(key=lambda item: item[0].order_hash)
        return [(s.order.fields(), s.r, s.vs, wh, price) for s, wh, price in chosen]

    # A fill names its own price only under NODAL pricing: a buy the energy price, a sell its node's.
    nodal = result.pricing == Pricing.NODAL
    ask_prices, bid_prices = [0] * len(asks), [0] * len(bids)
    if nodal:
        if result.ask_price_per_kwh is None:
            raise MarketError("a nodal clearing needs each ask's price")
        ask_prices, bid_prices = result.ask_price_per_kwh.tolist(), [result.price_per_kwh] * len(bids)
    fills = filled(asks, result.ask_fill_wh, ask_prices) + filled(bids, result.bid_fill_wh, bid_prices)
    clearing = (
        book.pair_id,
        book.interval_start,
        int(result.pricing),
        result.price_per_kwh,
        book.book_hash(),
    )
    return Settlement(clearing, fills, result)


class MarketOperator:
    """Runs gate closure for the market: closes the gate on-chain (locking escrow and nonces),
    keeps only the orders the locked escrow funds, clears and settles."""

    def __init__(
        self,
        chain: Chain,
        market: str,
        operator: str,
        mechanism: ClearingMechanism | None = None,
    ) -> None:
        self._chain = chain
        self._market = market
        self._operator = operator
        self._abi = load_artifact("EnergyMarket")
        self.mechanism: ClearingMechanism = mechanism or UniformClearing()
        self.grid_fee_per_kwh = int(self._chain.call(self._abi, market, "gridFee")[1])
        # Fee per kWh of each buy admitted at the last gate closure (grid states as then).
        self._fee_at_gate: dict[bytes, int] = {}

    def close_gate(self, book: IntervalBook) -> None:
        """closeGate on-chain: from here until settlement (or the deadline) no trader can withdraw
        escrow or cancel, so what exclude_unfunded then reads holds at settlement."""
        self._chain.transact(
            self._operator, self._abi, self._market, "closeGate", book.interval_start, gate_commitment(book)
        )

    def release_gate(self, book: IntervalBook) -> None:
        """Unlock the pending gate of an interval in which nothing trades."""
        self._chain.transact(self._operator, self._abi, self._market, "releaseGate", book.interval_start)

    def exclude_unfunded(self, book: IntervalBook) -> None:
        """Leave out, in receipt order, every order its trader's escrow can no longer cover in
        full (a buy at its limit price plus grid fee, a sell with live energy), every order the
        grid would refuse (its node halted, or not the trader's, while a zone is halted), every
        order cancelled before gate closure, and every order that expires before the gate's
        deadline (the settlement may land at any time until then, and checks expiry)."""
        grid = _GridConditions.read(self._chain, self._abi, self._market)
        # Zero without a pending gate: then only the book's admission checked expiry.
        deadline = int(self._chain.call(self._abi, self._market, "pendingGate")[2])
        self._fee_at_gate = {}
        remaining: dict[str, list[int]] = {}
        for entry in book.entries:
            order = entry.signed.order
            if entry.signed.order_hash in book.excluded:
                continue
            if order.expiry < deadline:
                book.exclude(entry.signed.order_hash, "expires before the settlement deadline")
                continue
            if self._chain.call(self._abi, self._market, "isNonceInvalidated", order.trader, order.nonce)[0]:
                book.exclude(entry.signed.order_hash, "cancelled before gate closure")
                continue
            if not grid.allows(order):
                book.exclude(entry.signed.order_hash, "its grid zone is halted at gate closure")
                continue
            if order.trader not in remaining:
                payment, energy = self._chain.call(self._abi, self._market, "accountOf", order.trader)
                remaining[order.trader] = [int(payment), int(energy)]
            funds = remaining[order.trader]
            if order.side == Side.BUY:
                fee = max(self.grid_fee_per_kwh, grid.peak_fee_per_kwh(order))
                self._fee_at_gate[entry.signed.order_hash] = fee
                need = ceil_payment_units(order.energy_wh, order.limit_price_per_kwh) + ceil_payment_units(
                    order.energy_wh, fee
                )
                slot = 0
            else:
                need, slot = order.energy_wh, 1
            if need > funds[slot]:
                book.exclude(entry.signed.order_hash, "escrow does not cover the order at gate closure")
            else:
                funds[slot] -= need

    def clear(self, book: IntervalBook) -> Settlement:
        """Clear the book's live orders. A capping mechanism's caps go into the book first, so
        the published book re-clears to the same fills with the plain uniform rule. A book
        cleared before (by a run that stopped before its settlement landed) is cleared again
        under the caps or the network it published, whatever the mechanism now says."""
        if book.cleared_under is not None:
            mechanism = _published_mechanism(book, book.cleared_under)
        else:
            mechanism = self.mechanism
            book.base_case = getattr(mechanism, "base_case", None)
        sells = book.live_entries(Side.SELL)
        buys = book.live_entries(Side.BUY)
        book.cleared_under = mechanism.pricing
        if isinstance(mechanism, Certifying):
            result, book.certificate = mechanism.certified(book.as_arrays(buys), book.as_arrays(sells))
            return self._with_fees(build_settlement(book, result), buys)
        if isinstance(mechanism, ExportCapping):
            capped = mechanism.capped(book.as_arrays(sells))
            for entry, cap_wh in zip(sells, capped.energy_wh, strict=True):
                if cap_wh < entry.signed.order.energy_wh:
                    book.cap_export(entry.signed.order_hash, int(cap_wh))
            mechanism = UniformClearing(mechanism.pricing)
        settlement = build_settlement(book, mechanism.clear(book.as_arrays(buys), book.as_arrays(sells)))
        return self._with_fees(settlement, buys)

    def _with_fees(self, settlement: Settlement, buys: list[BookEntry]) -> Settlement:
        """The settlement with the grid fee each buy pays (as at gate closure)."""
        fees = {
            e.signed.order_hash: self._fee_at_gate.get(e.signed.order_hash, self.grid_fee_per_kwh)
            for e in buys
        }
        return replace(settlement, buy_fee_per_kwh=fees)

    def settle(self, book: IntervalBook, before_submit: BeforeSubmit | None = None) -> Settlement | None:
        """Gate closure: close the gate, exclude unfunded orders, clear, settle on-chain. None if
        nothing trades (the gate is then released)."""
        self.close_gate(book)
        self.exclude_unfunded(book)
        settlement = self.clear(book)
        if not settlement.fills:
            self.release_gate(book)
            return None
        if before_submit is not None:
            before_submit(book.interval_start, settlement)
        self.submit(settlement)
        return settlement

    def submit(self, settlement: Settlement) -> None:
        """Send a cleared interval's settlement to the market contract."""
        self._chain.transact(
            self._operator, self._abi, self._market, "settleInterval", settlement.clearing, settlement.fills
        )


@dataclass(frozen=True)
class _GridConditions:
    """What the market's grid guard will say at settlement, asked as the contract asks it."""

    chain: Chain
    guard: str | None
    any_halted: bool
    any_peak: bool

    @classmethod
    def read(cls, chain: Chain, market_abi: Any, market: str) -> _GridConditions:
        guard = str(chain.call(market_abi, market, "gridGuard")[0])
        if int(guard, 16) == 0:
            return cls(chain, None, False, False)
        halted, peak = chain.call(load_artifact("GridManagement"), guard, "gridConditions")
        return cls(chain, guard, bool(halted), bool(peak))

    def allows(self, order: Order) -> bool:
        if self.guard is None or not self.any_halted:
            return True
        return bool(
            self.chain.call(
                load_artifact("GridManagement"),
                self.guard,
                "settlementAllowed",
                order.trader,
                order.grid_node_id,
                order.interval_start,
            )[0]
        )

    def peak_fee_per_kwh(self, order: Order) -> int:
        if self.guard is None or not self.any_peak:
            return 0
        abi = load_artifact("GridManagement")
        return int(self.chain.call(abi, self.guard, "peakFeePerKWh", order.trader, order.grid_node_id)[0])
