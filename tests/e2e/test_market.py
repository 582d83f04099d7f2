"""The market end to end on the embedded EVM: admission, clearing, settlement, verification."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
from eth_utils.crypto import keccak
from grid_world import demo_grid_model, measured, settled_under
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import (
    DEFAULT_PEAK_FEE_PER_KWH,
    ENERGY_PAIR_ID,
    System,
    deploy_local_system,
    named_account,
)
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import START_TIME, Participant, build_demo, open_market_interval, trade_one_interval
from gridledger.errors import ContractRevertError, MarketError, OrderRejected
from gridledger.market.book import IntervalBook
from gridledger.market.clearing import BookSide, ClearingResult, UniformClearing
from gridledger.market.orders import Order, Pricing, Side, TraderKey, market_domain_separator, order_hash
from gridledger.market.settlement import MarketOperator, build_settlement, gate_commitment
from gridledger.market.verify import gate_closed_commitment, verify_interval

MARKET, TOKEN, DOLLAR = (load_artifact(n) for n in ("EnergyMarket", "EnergyToken", "TestStablecoin"))
OPERATOR = named_account("market-operator")

World = tuple[EmbeddedChain, System, list[Participant]]


@pytest.fixture
def world() -> World:
    chain = EmbeddedChain(START_TIME)
    system, participants, _ = build_demo(chain)
    return chain, system, participants


def _escrow_totals(chain: EmbeddedChain, system: System, accounts: list[str]) -> tuple[int, int]:
    payments, energy = zip(
        *(chain.call(MARKET, system.market, "accountOf", a) for a in accounts), strict=True
    )
    return sum(payments), sum(energy)


def test_settle_interval_conservesPaymentAndEnergy(world: World) -> None:
    chain, system, participants = world
    book, settlement = trade_one_interval(chain, system, participants)
    assert settlement is not None and settlement.result.volume_wh == 3_000
    accounts = [p.owner for p in participants] + [named_account("dso")]
    payment_total, energy_total = _escrow_totals(chain, system, accounts)
    assert payment_total == chain.call(DOLLAR, system.payment_token, "balanceOf", system.market)[0]
    assert energy_total == chain.call(TOKEN, system.token, "balanceOf", system.market)[0]
    anna, _, carla = participants
    price = settlement.result.price_per_kwh
    assert chain.call(MARKET, system.market, "accountOf", anna.owner) == (2_000 * price // 1000, 0)
    assert chain.call(MARKET, system.market, "accountOf", carla.owner)[1] == 3_000
    assert chain.call(MARKET, system.market, "isSettled", book.interval_start) == (True,)


def test_verify_interval_honestSettlement_isConsistent(world: World) -> None:
    chain, system, participants = world
    book, _ = trade_one_interval(chain, system, participants)
    report = verify_interval(chain, system.market, IntervalBook.from_json(book.to_json()))
    assert report.consistent, report.findings
    assert report.settled_volume_wh == report.best_volume_wh == 3_000


def test_verify_interval_operatorSkippedBetterClearing_isReported(world: World) -> None:
    chain, system, participants = world
    book = open_market_interval(chain, system, participants)
    # The operator fills only anna -> carla (2 kWh) and leaves ben's cheaper-than-bid offer out.
    asks, bids = book.live_entries(Side.SELL), book.live_entries(Side.BUY)
    worse = ClearingResult(
        Pricing.UNIFORM,
        240_000,
        2_000,
        np.array([2_000 if e.signed.order.trader == participants[2].owner else 0 for e in bids]),
        np.array([2_000 if e.signed.order.trader == participants[0].owner else 0 for e in asks]),
    )
    settlement = build_settlement(book, worse)
    MarketOperator(chain, system.market, OPERATOR).close_gate(book)
    chain.transact(OPERATOR, MARKET, system.market, "settleInterval", settlement.clearing, settlement.fills)
    kinds = {f.kind for f in verify_interval(chain, system.market, book).findings}
    assert {"better_clearing", "fill_differs"} <= kinds


def test_verify_interval_alteredPublishedBook_isReported(world: World) -> None:
    chain, system, participants = world
    book, _ = trade_one_interval(chain, system, participants)
    altered = IntervalBook(book.pair_id, book.interval_start, book.domain)
    for entry in book.entries[:-1]:
        altered.add(entry.signed, entry.received_at_ms, 0)
    kinds = {f.kind for f in verify_interval(chain, system.market, altered).findings}
    assert {"book_mismatch", "gate_mismatch", "unknown_order"} <= kinds


def test_settle_interval_twice_revertsWithIntervalAlreadySettled(world: World) -> None:
    chain, system, participants = world
    _, settlement = trade_one_interval(chain, system, participants)
    assert settlement is not None
    with pytest.raises(ContractRevertError) as refused:
        chain.transact(
            OPERATOR, MARKET, system.market, "settleInterval", settlement.clearing, settlement.fills
        )
    assert refused.value.error_name == "IntervalAlreadySettled"


def test_operator_excludesUnfundedOrder_andSettlesTheRest(world: World) -> None:
    chain, system, participants = world
    book = open_market_interval(chain, system, participants)
    now = chain.timestamp
    stranger = TraderKey(keccak(text="unfunded-buyer"))
    order = Order(
        stranger.address, Side.BUY, ENERGY_PAIR_ID, book.interval_start, 500, 400_000, 1, now + 900, 1
    )
    book.add(stranger.sign_order(order, book.domain), 10, now)
    settlement = MarketOperator(chain, system.market, OPERATOR).settle(book)
    assert settlement is not None
    assert list(book.excluded.values()) == ["escrow does not cover the order at gate closure"]
    assert verify_interval(chain, system.market, book).consistent


# ---------------------------------------------------------------- the on-chain gate closure
def test_operator_settle_commitsTheBookOrdersAtGateClosure(world: World) -> None:
    chain, system, participants = world
    book, settlement = trade_one_interval(chain, system, participants)
    assert settlement is not None
    assert gate_closed_commitment(chain, system.market, book.interval_start) == gate_commitment(book)
    assert chain.call(MARKET, system.market, "pendingGate") == (0, 0, 0)


def test_withdraw_afterGateClosure_isRefused_andTheIntervalSettles(world: World) -> None:
    chain, system, participants = world
    anna, _, carla = participants
    book = open_market_interval(chain, system, participants)
    operator = MarketOperator(chain, system.market, OPERATOR)
    operator.close_gate(book)
    for who, fn in ((anna.owner, "withdrawEnergy"), (carla.owner, "withdrawPayment")):
        with pytest.raises(ContractRevertError) as refused:
            chain.transact(who, MARKET, system.market, fn, 1)
        assert refused.value.error_name == "SettlementPending"
    with pytest.raises(ContractRevertError) as refused:
        chain.transact(carla.owner, MARKET, system.market, "invalidateNonces", 0, 1 << 1)
    assert refused.value.error_name == "SettlementPending"
    operator.exclude_unfunded(book)
    operator.submit(operator.clear(book))
    assert chain.call(MARKET, system.market, "isSettled", book.interval_start) == (True,)
    assert book.excluded == {}


def test_operator_excludesOrderCancelledBeforeGateClosure_andSettlesTheRest(world: World) -> None:
    chain, system, participants = world
    anna = participants[0]
    book = open_market_interval(chain, system, participants)
    chain.transact(anna.owner, MARKET, system.market, "invalidateNonces", 0, 1 << 1)  # her order's nonce
    settlement = MarketOperator(chain, system.market, OPERATOR).settle(book)
    assert settlement is not None and settlement.result.volume_wh == 2_000
    assert list(book.excluded.values()) == ["cancelled before gate closure"]
    assert verify_interval(chain, system.market, book).consistent


def test_operator_excludesOrderExpiringBeforeTheGateDeadline_andSettlesTheRest(world: World) -> None:
    chain, system, participants = world
    carla = participants[2]
    book = open_market_interval(chain, system, participants)
    now = chain.timestamp
    # Valid when received, but it could expire while the settlement is pending: a veto.
    order = Order(carla.owner, Side.BUY, ENERGY_PAIR_ID, book.interval_start, 500, 400_000, 1, now + 60, 2)
    book.add(carla.trader.sign_order(order, book.domain), 10, now)
    settlement = MarketOperator(chain, system.market, OPERATOR).settle(book)
    assert settlement is not None and settlement.result.volume_wh == 3_000
    assert list(book.excluded.values()) == ["expires before the settlement deadline"]


def test_operator_nothingTrades_releasesTheGate(world: World) -> None:
    chain, system, participants = world
    chain.transact(named_account("regulator"), GRID, system.grid, "declareEmergency", 1)
    book = open_market_interval(chain, system, participants)
    assert MarketOperator(chain, system.market, OPERATOR).settle(book) is None
    assert chain.call(MARKET, system.market, "pendingGate") == (0, 0, 0)
    chain.transact(participants[2].owner, MARKET, system.market, "withdrawPayment", 1)


# ---------------------------------------------------------------- admission to the book
@pytest.fixture
def empty_book(world: World) -> tuple[IntervalBook, TraderKey, Order]:
    chain, system, _ = world
    domain = market_domain_separator(chain.chain_id, system.market)
    start = START_TIME - START_TIME % 900 + 9_000
    trader = TraderKey(keccak(text="prosumer-admission"))
    order = Order(trader.address, Side.SELL, ENERGY_PAIR_ID, start, 1_000, 100_000, 1, start, 1)
    return IntervalBook(ENERGY_PAIR_ID, start, domain), trader, order


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"pair_id": 2}, "unknown_pair"),
        ({"interval_start": 0}, "other_interval"),
        ({"energy_wh": 0}, "out_of_range"),
        ({"expiry": 5}, "expired"),
    ],
)
def test_book_add_badOrder_isRejectedWithReason(
    empty_book: tuple[IntervalBook, TraderKey, Order], change: dict[str, int], reason: str
) -> None:
    book, trader, order = empty_book
    bad = replace(order, **change)
    with pytest.raises(OrderRejected) as rejected:
        book.add(trader.sign_order(bad, book.domain), 0, now_s=10)
    assert rejected.value.reason == reason and book.entries == []


def test_book_add_forgedSignature_isRejected(empty_book: tuple[IntervalBook, TraderKey, Order]) -> None:
    book, _, order = empty_book
    forger = TraderKey(keccak(text="forger"))
    with pytest.raises(OrderRejected) as rejected:
        book.add(forger.sign_order(order, book.domain), 0, now_s=10)
    assert rejected.value.reason == "bad_signature"


def test_book_add_sameOrderTwice_isRejectedAsDuplicate(
    empty_book: tuple[IntervalBook, TraderKey, Order],
) -> None:
    book, trader, order = empty_book
    signed = trader.sign_order(order, book.domain)
    book.add(signed, 0, now_s=10)
    with pytest.raises(OrderRejected) as rejected:
        book.add(signed, 1, now_s=10)
    assert rejected.value.reason == "duplicate" and len(book.entries) == 1


def test_book_add_hashOfAnotherOrder_isRejected(empty_book: tuple[IntervalBook, TraderKey, Order]) -> None:
    book, trader, order = empty_book
    signed = trader.sign_order(order, book.domain)
    with pytest.raises(OrderRejected) as rejected:
        book.add(replace(signed, order=replace(order, energy_wh=999)), 0, now_s=10)
    assert rejected.value.reason == "hash_mismatch"


def test_book_json_roundTrip_keepsBookHash(empty_book: tuple[IntervalBook, TraderKey, Order]) -> None:
    book, trader, order = empty_book
    book.add(trader.sign_order(order, book.domain), 3, now_s=10)
    assert IntervalBook.from_json(book.to_json()).book_hash() == book.book_hash()


@pytest.fixture(scope="module")
def hash_world() -> tuple[EmbeddedChain, System]:
    chain = EmbeddedChain(START_TIME)
    return chain, deploy_local_system(chain, [])


@settings(max_examples=25, deadline=None)
@given(
    side=st.sampled_from(list(Side)),
    energy_wh=st.integers(1, 2**64 - 1),
    price=st.integers(0, 2**64 - 1),
    nonce=st.integers(0, 2**64 - 1),
)
def test_order_hash_pythonEqualsContract(
    hash_world: tuple[EmbeddedChain, System], side: Side, energy_wh: int, price: int, nonce: int
) -> None:
    chain, system = hash_world
    domain = market_domain_separator(chain.chain_id, system.market)
    order = Order(
        named_account("prosumer-hash"), side, ENERGY_PAIR_ID, 1_750_005_900, energy_wh, price, 7, 2**40, nonce
    )
    assert chain.call(MARKET, system.market, "orderHash", order.fields()) == (order_hash(order, domain),)


# ---------------------------------------------------------------- export caps (grid-feasible clearing)
@dataclass(frozen=True)
class _HalvingCaps:
    """A capping clearing as the grid-feasible one is: here every seller may export half."""

    pricing: Pricing = Pricing.UNIFORM
    base_case: dict[str, Any] | None = None  # what it claims the caps follow from

    def capped(self, asks: BookSide) -> BookSide:
        return replace(asks, energy_wh=asks.energy_wh // 2)

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult:
        raise AssertionError("the operator clears capped books with the uniform rule")


def test_capped_settlement_publishes_its_caps_and_verifies(world: World) -> None:
    chain, system, participants = world
    book = open_market_interval(chain, system, participants)
    operator = MarketOperator(chain, system.market, OPERATOR, _HalvingCaps())
    settlement = operator.settle(book)
    assert settlement is not None and settlement.result.volume_wh == 2_000  # two sells of 2 kWh, halved
    assert sorted(book.export_caps_wh.values()) == [1_000, 1_000]
    published = IntervalBook.from_json(book.to_json())
    assert published.export_caps_wh == book.export_caps_wh
    assert verify_interval(chain, system.market, published).consistent


def test_a_book_cleared_again_after_a_restart_keeps_the_caps_it_published(world: World) -> None:
    """An operator that stopped after publishing the cleared book but before settling clears the
    reloaded book again: under its published caps, not halved once more."""
    chain, system, participants = world
    book = open_market_interval(chain, system, participants)
    first = MarketOperator(chain, system.market, OPERATOR, _HalvingCaps())
    first.close_gate(book)
    first.exclude_unfunded(book)
    cleared_first = first.clear(book)
    reloaded = IntervalBook.from_json(book.to_json())
    assert reloaded.cleared_under == Pricing.UNIFORM
    # Restarted with another rule: the book still clears as it was cleared, uniformly.
    after_restart = MarketOperator(chain, system.market, OPERATOR, UniformClearing(Pricing.PAY_AS_BID))
    after_restart.exclude_unfunded(reloaded)
    settlement = after_restart.clear(reloaded)
    assert reloaded.export_caps_wh == book.export_caps_wh
    assert settlement.fills == cleared_first.fills
    assert settlement.result.pricing == Pricing.UNIFORM
    after_restart.submit(settlement)
    assert verify_interval(chain, system.market, IntervalBook.from_json(reloaded.to_json())).consistent


def test_capped_settlement_rebuilt_from_the_grid_and_its_base_case_is_consistent(world: World) -> None:
    chain, system, participants = world
    model = demo_grid_model(participants)
    mechanism = model.clearing(measured(participants))
    published = settled_under(chain, system, participants, mechanism)
    assert published.base_case == mechanism.base_case is not None
    report = verify_interval(chain, system.market, published, model)
    assert report.consistent, report.findings
    assert report.grid_rebuilt


def test_caps_tighter_than_the_grids_are_found_with_the_grids_data(world: World) -> None:
    """An operator that halves every export the grid could take, and publishes the honest base
    case: the book re-clears to its fills, but not to the grid's caps."""
    chain, system, participants = world
    model = demo_grid_model(participants)
    honest = model.clearing(measured(participants))
    published = settled_under(chain, system, participants, _HalvingCaps(base_case=honest.base_case))
    assert verify_interval(chain, system.market, published).consistent
    findings = verify_interval(chain, system.market, published, model).findings
    assert [f.kind for f in findings] == ["network_differs"]
    assert "capped at 1000 Wh, not 2000" in findings[0].detail


def test_capped_settlement_verified_against_a_book_without_caps_is_a_mismatch(world: World) -> None:
    chain, system, participants = world
    book = open_market_interval(chain, system, participants)
    MarketOperator(chain, system.market, OPERATOR, _HalvingCaps()).settle(book)
    uncapped = IntervalBook.from_json(book.to_json())
    uncapped.export_caps_wh.clear()
    kinds = {f.kind for f in verify_interval(chain, system.market, uncapped).findings}
    assert "book_mismatch" in kinds and "better_clearing" in kinds


def test_cap_export_rejects_unknown_orders_buys_and_caps_beyond_the_order(world: World) -> None:
    chain, system, participants = world
    book = open_market_interval(chain, system, participants)
    sell = next(e for e in book.entries if e.signed.order.side == Side.SELL).signed
    buy = next(e for e in book.entries if e.signed.order.side == Side.BUY).signed
    with pytest.raises(MarketError, match="not in the book"):
        book.cap_export(b"\x01" * 32, 1)
    with pytest.raises(MarketError, match="not a sell"):
        book.cap_export(buy.order_hash, 1)
    with pytest.raises(MarketError, match="outside"):
        book.cap_export(sell.order_hash, sell.order.energy_wh + 1)
    assert book.export_caps_wh == {}


# ---------------------------------------------------------------- the grid at gate closure
GRID = load_artifact("GridManagement")


def test_operator_excludes_orders_of_a_halted_zone(world: World) -> None:
    chain, system, participants = world
    chain.transact(named_account("regulator"), GRID, system.grid, "declareEmergency", 1)
    book = open_market_interval(chain, system, participants)
    assert MarketOperator(chain, system.market, OPERATOR).settle(book) is None
    assert set(book.excluded.values()) == {"its grid zone is halted at gate closure"}
    assert chain.call(MARKET, system.market, "isSettled", book.interval_start) == (False,)


def test_operator_charges_buyers_in_a_peak_zone_the_peak_fee(world: World) -> None:
    chain, system, participants = world
    chain.transact(named_account("grid-operator"), GRID, system.grid, "setPeak", 1, True)
    carla = participants[2]
    book = open_market_interval(chain, system, participants)
    before = chain.call(MARKET, system.market, "accountOf", carla.owner)[0]
    settlement = MarketOperator(chain, system.market, OPERATOR).settle(book)
    assert settlement is not None
    bid = next(e.signed.order_hash for e in book.entries if e.signed.order.trader == carla.owner)
    assert settlement.buy_fee_per_kwh[bid] == DEFAULT_PEAK_FEE_PER_KWH
    paid = before - chain.call(MARKET, system.market, "accountOf", carla.owner)[0]
    volume = settlement.result.volume_wh
    price = settlement.result.price_per_kwh
    assert paid == (volume * price + 999) // 1000 + (volume * DEFAULT_PEAK_FEE_PER_KWH + 999) // 1000
