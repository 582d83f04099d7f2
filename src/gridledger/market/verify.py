"""Re-run a settled interval's clearing from the published book and the chain's trade record.

Anyone holding the book the operator published can check that (a) it is the book the
settlement committed to, and its orders the ones the gate closure committed to, (b) every
fill on-chain belongs to an admitted order and respects its amount, side, limit and the
pricing rule, and (c) the operator did not skip a better clearing: the documented engine on
the same book gives the same volume, welfare and fills.

A NODAL settlement is checked against the certificate its book publishes instead of against a
re-run: the on-chain fills and the published prices must satisfy the optimality conditions of
the book's network data (market/nodal.py), every fill must trade at its published price (a
buy at the energy price, a sell at its node's), and the published node prices, congestion rent
and loss charges must follow from the certificate's duals and the settled fills. Nothing is
solved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain
from gridledger.errors import GridModelError, MarketError
from gridledger.market.book import BookEntry, IntervalBook
from gridledger.market.clearing import BookSide, UniformClearing
from gridledger.market.nodal import (
    CertificateFinding,
    NodalNetwork,
    NodalPrices,
    certificate_from_json,
    check_certificate,
    network_differences,
    published_price_differences,
    published_prices,
)
from gridledger.market.orders import Order, Pricing, Side
from gridledger.market.settlement import ceil_payment_units, floor_payment_units, gate_commitment


@dataclass(frozen=True)
class Finding:
    """book_mismatch, gate_mismatch, unknown_order, excluded_order, fill_inconsistent,
    better_clearing, fill_differs; for NODAL pricing also certificate_missing,
    certificate_malformed, not_optimal and prices_differ; with the grid's data network_differs."""

    kind: str
    detail: str


@dataclass
class VerificationReport:
    interval_start: int
    pricing: Pricing
    clearing_price_per_kwh: int
    settled_volume_wh: int
    settled_welfare: int
    best_volume_wh: int
    best_welfare: int
    fills: int
    findings: list[Finding] = field(default_factory=list)
    # NODAL: the prices the settled fills and the certificate's duals give (`published_prices`),
    # its nodes only those the book has sells at.
    nodal_prices: dict[str, Any] | None = None
    # The book's limits were rebuilt from the grid's data and its base case, and compared.
    grid_rebuilt: bool = False

    @property
    def consistent(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class SettledFill:
    """One fill of the IntervalSettled trade record."""

    order_hash: bytes
    trader: str
    side: Side
    filled_wh: int
    payment_units: int

    @classmethod
    def unpack(cls, order_hash: bytes, trader: str, packed: int) -> SettledFill:
        side = Side.BUY if packed >> 255 else Side.SELL
        return cls(order_hash, trader, side, packed & (2**64 - 1), (packed >> 64) & (2**128 - 1))


def settled_interval(
    chain: Chain, market: str, interval_start: int
) -> tuple[dict[str, Any], list[SettledFill]]:
    """The IntervalSettled event of `interval_start` and its fills; MarketError if not settled."""
    abi = load_artifact("EnergyMarket")
    for log in chain.logs(market, abi.event_topic("IntervalSettled")):
        decoded = abi.decode_event(log)
        if decoded is not None and decoded[1]["intervalStart"] == interval_start:
            event = decoded[1]
            fills = [
                SettledFill.unpack(h, t, f)
                for h, t, f in zip(event["orderHashes"], event["traders"], event["fills"], strict=True)
            ]
            return event, fills
    raise MarketError(f"interval {interval_start} has not been settled on market {market}")


def gate_closed_commitment(chain: Chain, market: str, interval_start: int) -> bytes | None:
    """The commitment of the last GateClosed of `interval_start` (the one it settled under: a
    settled interval's gate cannot close again), or None if its gate never closed."""
    abi = load_artifact("EnergyMarket")
    commitment: bytes | None = None
    for log in chain.logs(market, abi.event_topic("GateClosed")):
        decoded = abi.decode_event(log)
        if decoded is not None and decoded[1]["intervalStart"] == interval_start:
            commitment = bytes(decoded[1]["ordersCommitment"])
    return commitment


def verify_interval(
    chain: Chain,
    market: str,
    book: IntervalBook,
    grid: GridData | None = None,
) -> VerificationReport:
    """Check the settlement of `book`'s interval against the book; findings list every problem.
    With `grid` (the network model of whoever holds the grid's data), the limits the book was
    cleared under must also be the grid's at its published base case: a nodal certificate's
    network, or the export caps."""
    settled, settled_fills = settled_interval(chain, market, book.interval_start)
    pricing = Pricing(settled["pricing"])
    price = int(settled["clearingPricePerKWh"])
    by_hash: dict[bytes, BookEntry] = {e.signed.order_hash: e for e in book.entries}
    findings: list[Finding] = []
    if settled["bookHash"] != book.book_hash():
        findings.append(
            Finding("book_mismatch", "the published book is not the one the settlement committed to")
        )
    if gate_closed_commitment(chain, market, book.interval_start) != gate_commitment(book):
        findings.append(
            Finding("gate_mismatch", "the book's orders are not the ones the gate closure committed to")
        )

    certified: tuple[NodalNetwork, NodalPrices] | None = None
    nodal_prices: dict[str, Any] | None = None
    sell_price_at: dict[int, int] = {}  # grid node -> what a sell there earns (NODAL)
    if pricing == Pricing.NODAL:
        certified = _published_certificate(book, findings)
        if certified is not None:
            network, prices = certified
            whole = prices.whole_node_prices(network).tolist()
            sell_price_at = dict(zip(network.node_ids, whole, strict=True))
    onchain_fills: dict[bytes, int] = {}
    welfare = 0
    for fill in settled_fills:
        hash_, filled, paid = fill.order_hash, fill.filled_wh, fill.payment_units
        entry = by_hash.get(hash_)
        if entry is None:
            findings.append(Finding("unknown_order", f"fill of {hash_.hex()} which is not in the book"))
            continue
        if hash_ in book.excluded:
            findings.append(Finding("excluded_order", f"{hash_.hex()} was filled but the book excludes it"))
        order = entry.signed.order
        onchain_fills[hash_] = filled
        unit_price = _unit_price(pricing, price, order, sell_price_at)
        expected = (
            None
            if unit_price is None
            else ceil_payment_units(filled, unit_price)
            if order.side == Side.BUY
            else floor_payment_units(filled, unit_price)
        )
        # Under NODAL a sell trades at its node's price, which its limit must not pass.
        bound = unit_price if pricing == Pricing.NODAL and unit_price is not None else price
        crosses = (
            order.limit_price_per_kwh < bound if order.side == Side.BUY else order.limit_price_per_kwh > bound
        )
        wrong_party = fill.side != order.side or fill.trader.lower() != order.trader.lower()
        limit_wh = book.export_caps_wh.get(hash_, order.energy_wh)
        if filled > limit_wh or crosses or (expected is not None and paid != expected) or wrong_party:
            findings.append(Finding("fill_inconsistent", f"{hash_.hex()}: filled {filled} Wh, paid {paid}"))
        welfare += (1 if order.side == Side.BUY else -1) * order.limit_price_per_kwh * filled

    bid_entries, ask_entries = book.live_entries(Side.BUY), book.live_entries(Side.SELL)
    bids, asks = book.as_arrays(bid_entries), book.as_arrays(ask_entries)
    volume = int(settled["volumeWh"])
    best_volume, best_welfare = volume, welfare
    if pricing != Pricing.NODAL:
        best_volume, best_welfare = _recleared(pricing, price, book, onchain_fills, volume, welfare, findings)
    elif certified is not None:
        network, prices = certified
        if prices.whole_energy_price() != price:
            findings.append(
                Finding(
                    "fill_differs",
                    f"the clearing price is not the certificate's {prices.whole_energy_price()}",
                )
            )
        ask_fill_wh = _aligned(ask_entries, onchain_fills)
        try:
            broken = check_certificate(
                bids, asks, _aligned(bid_entries, onchain_fills), ask_fill_wh, network, prices
            )
            derived = published_prices(network, prices, asks, ask_fill_wh)
        except MarketError as unfit:  # an order at a node the certificate lacks
            broken, derived = [CertificateFinding("incomplete", str(unfit))], None
        findings += [Finding("not_optimal", f"{b.kind}: {b.detail}") for b in broken]
        if derived is not None:
            selling = {e.signed.order.grid_node_id for e in ask_entries}
            nodal_prices = {**derived, "nodes": [n for n in derived["nodes"] if n["gridNodeId"] in selling]}
            assert book.certificate is not None  # it was read back above
            if differ := published_price_differences(book.certificate, derived):
                findings.append(
                    Finding(
                        "prices_differ",
                        "the published prices do not follow from the certificate's duals and the "
                        f"settled fills: {', '.join(differ)}",
                    )
                )
    if grid is not None:
        findings += _grid_findings(book, grid, pricing, certified[0] if certified is not None else None)
    return VerificationReport(
        book.interval_start,
        pricing,
        price,
        volume,
        welfare,
        best_volume,
        best_welfare,
        len(settled_fills),
        findings,
        nodal_prices,
        grid is not None,
    )


def _recleared(
    pricing: Pricing,
    price: int,
    book: IntervalBook,
    onchain_fills: dict[bytes, int],
    volume: int,
    welfare: int,
    findings: list[Finding],
) -> tuple[int, int]:
    """Re-run the documented clearing on the book; its volume and welfare, and a finding where
    the settlement traded less or otherwise."""
    bid_entries, ask_entries = book.live_entries(Side.BUY), book.live_entries(Side.SELL)
    bids, asks = book.as_arrays(bid_entries), book.as_arrays(ask_entries)
    best = UniformClearing(pricing).clear(bids, asks)
    best_welfare = best.welfare(bids, asks)
    if best_welfare > welfare or best.volume_wh > volume:
        findings.append(
            Finding(
                "better_clearing",
                f"the book clears {best.volume_wh} Wh with welfare {best_welfare}; "
                f"the settlement traded {volume} Wh with welfare {welfare}",
            )
        )
    engine_fills = {
        entry.signed.order_hash: int(wh)
        for entries, amounts in ((bid_entries, best.bid_fill_wh), (ask_entries, best.ask_fill_wh))
        for entry, wh in zip(entries, amounts, strict=True)
        if wh > 0
    }
    if engine_fills != onchain_fills or best.price_per_kwh != price:
        findings.append(
            Finding(
                "fill_differs",
                "fills or price differ from the documented rule's (price, then receipt, then hash)",
            )
        )
    return best.volume_wh, best_welfare


class GridData(Protocol):
    """A network model of the grid the book was cleared on (ops/grid_model.py LiveGridModel):
    the limits a published base case gives it. MarketError for a base case it cannot place."""

    def rebuilt_network(
        self, base_case: dict[str, Any], loss_price_per_kwh: float, bids: BookSide, asks: BookSide
    ) -> NodalNetwork: ...

    def rebuilt_caps(self, base_case: dict[str, Any], asks: BookSide) -> npt.NDArray[np.int64]: ...


# A rebuilt export cap may differ from the published one by this much (Wh): the caps are whole
# Wh rounded down from floating-point LPs, which another machine may round the other way.
CAP_TOLERANCE_WH = 1


def _grid_findings(
    book: IntervalBook, grid: GridData, pricing: Pricing, published: NodalNetwork | None
) -> list[Finding]:
    """network_differs where the limits the book was cleared under are not the grid's at its
    base case: a nodal certificate's network (`published`; None if the certificate could not
    be read, which its own finding says), or the export caps."""
    if book.base_case is None:
        return [
            Finding(
                "network_differs", "the book publishes no base case: it was not cleared under a network model"
            )
        ]
    try:
        if pricing == Pricing.NODAL:
            if published is None:
                return []
            # The network of the last AC round is the book's live orders' own: rebuilt from them.
            bids, asks = (book.as_arrays(book.live_entries(side)) for side in (Side.BUY, Side.SELL))
            rebuilt = grid.rebuilt_network(book.base_case, published.loss_price_per_kwh, bids, asks)
            differ = network_differences(published, rebuilt)
        else:
            differ = _cap_differences(book, grid)
    except (MarketError, GridModelError) as cannot:  # a base case it cannot place or power-flow
        differ = [str(cannot)]
    if not differ:
        return []
    more = f" and {len(differ) - 5} more" if len(differ) > 5 else ""
    return [
        Finding(
            "network_differs",
            f"the limits are not the grid's at the book's base case: {', '.join(differ[:5])}{more}",
        )
    ]


def _cap_differences(book: IntervalBook, grid: GridData) -> list[str]:
    """Each live sell whose published export cap (its offer if none) is not the rebuilt one."""
    assert book.base_case is not None
    sells = book.live_entries(Side.SELL)
    rebuilt = grid.rebuilt_caps(book.base_case, book.as_arrays(sells, capped=False))
    differences = []
    for entry, cap_wh in zip(sells, rebuilt.tolist(), strict=True):
        published = book.export_caps_wh.get(entry.signed.order_hash, entry.signed.order.energy_wh)
        if abs(published - cap_wh) > CAP_TOLERANCE_WH:
            differences.append(
                f"order {entry.signed.order_hash.hex()[:16]} capped at {published} Wh, not {cap_wh}"
            )
    return differences


def _published_certificate(
    book: IntervalBook, findings: list[Finding]
) -> tuple[NodalNetwork, NodalPrices] | None:
    """The book's certificate read back; None, with a finding saying why, if it has none or it
    is malformed."""
    if book.certificate is None:
        findings.append(
            Finding("certificate_missing", "a nodal settlement's book must publish its certificate")
        )
        return None
    try:
        return certificate_from_json(book.certificate)
    except MarketError as malformed:
        findings.append(Finding("certificate_malformed", str(malformed)))
        return None


def _unit_price(
    pricing: Pricing, clearing_price: int, order: Order, sell_price_at: dict[int, int]
) -> int | None:
    """What a fill of `order` trades at per kWh under `pricing` (a NODAL sell: its node's price
    in the certificate); None where the certificate cannot say (its own finding says why)."""
    if pricing == Pricing.UNIFORM:
        return clearing_price
    if pricing == Pricing.PAY_AS_BID:
        return order.limit_price_per_kwh
    if order.side == Side.BUY:
        return clearing_price
    return sell_price_at.get(order.grid_node_id)


def _aligned(entries: list[BookEntry], fills: dict[bytes, int]) -> npt.NDArray[np.int64]:
    return np.array([fills.get(e.signed.order_hash, 0) for e in entries], dtype=np.int64)
