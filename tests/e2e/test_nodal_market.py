"""Nodal pricing end to end on the embedded EVM: the operator clears with the nodal LP, settles
each fill at its price, publishes the certificate with the book, and anyone verifies that the
settlement is optimal without solving anything."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from grid_world import CARLA_IMPORT_WH, GRID, demo_grid_model, measured, settled_under

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import Participant, open_market_interval
from gridledger.errors import ContractRevertError, MarketError
from gridledger.market.book import IntervalBook
from gridledger.market.clearing import ClearingResult
from gridledger.market.nodal import NodalMechanism, NodalNetwork
from gridledger.market.nodal_ac import AcNodalMechanism, base_case_network
from gridledger.market.orders import Pricing, Side
from gridledger.market.settlement import MarketOperator, Settlement, build_settlement
from gridledger.market.verify import verify_interval
from gridledger.ops.grid_model import LiveGridModel

MARKET = load_artifact("EnergyMarket")
OPERATOR = named_account("market-operator")
World = tuple[EmbeddedChain, System, list[Participant]]


@pytest.fixture
def world(demo_world: tuple[EmbeddedChain, System, list[Participant], int]) -> World:
    chain, system, participants, _ = demo_world
    return chain, system, participants


def _feeder(participants: list[Participant]) -> NodalNetwork:
    """anna sits behind a feeder that takes 1,500 Wh of export in the interval; ben's node has no
    limit. No losses."""
    anna, ben, _ = participants
    return NodalNetwork(
        (anna.grid_node_id, ben.grid_node_id),
        np.array([[1.0, 0.0]]),
        np.array([1_500.0]),
        np.zeros(2),
        0.0,
    )


def _cleared_not_sent(world: World) -> tuple[IntervalBook, MarketOperator, Settlement]:
    """The operator's gate closure and nodal clearing of the demo's interval, not yet settled."""
    chain, system, participants = world
    book = open_market_interval(chain, system, participants)
    operator = MarketOperator(chain, system.market, OPERATOR, NodalMechanism(_feeder(participants)))
    operator.close_gate(book)
    operator.exclude_unfunded(book)
    return book, operator, operator.clear(book)


def _payment(chain: EmbeddedChain, system: System, account: str) -> int:
    return int(chain.call(MARKET, system.market, "accountOf", account)[0])


def test_nodal_settlement_pays_each_seller_its_node_price_and_verifies_as_optimal(world: World) -> None:
    chain, system, participants = world
    anna, ben, carla = participants
    book = open_market_interval(chain, system, participants)
    dso_before = _payment(chain, system, named_account("dso"))
    settlement = MarketOperator(chain, system.market, OPERATOR, NodalMechanism(_feeder(participants))).settle(
        book
    )
    assert settlement is not None and settlement.result.pricing == Pricing.NODAL
    # anna (180,000 per kWh) is held to 1,500 Wh by the feeder, so ben (210,000) sells the rest and
    # sets the energy price; anna's node earns the energy price less the feeder's price: her own.
    assert settlement.result.volume_wh == 3_000
    assert settlement.result.price_per_kwh == 210_000
    assert _payment(chain, system, anna.owner) == 1_500 * 180_000 // 1000
    assert _payment(chain, system, ben.owner) == 1_500 * 210_000 // 1000
    fee = settlement.buy_fee_per_kwh[next(iter(settlement.buy_fee_per_kwh))]
    assert _payment(chain, system, carla.owner) == 5_000_000 - 3_000 * (210_000 + fee) // 1000
    congestion_rent = 1_500 * (210_000 - 180_000) // 1000
    assert _payment(chain, system, named_account("dso")) - dso_before == congestion_rent + 3_000 * fee // 1000

    published = IntervalBook.from_json(book.to_json())
    assert published.certificate == book.certificate is not None
    # The book publishes each node's price and the rent the fee collector received.
    assert published.certificate["congestionRentUnits"] == congestion_rent
    node_prices = {n["gridNodeId"]: n["sellPricePerKWh"] for n in published.certificate["nodes"]}
    assert node_prices == {anna.grid_node_id: 180_000, ben.grid_node_id: 210_000}
    report = verify_interval(chain, system.market, published)
    assert report.consistent, report.findings
    assert report.pricing == Pricing.NODAL
    assert report.nodal_prices is not None and report.nodal_prices["congestionRentUnits"] == congestion_rent


def test_a_book_cleared_again_after_a_restart_keeps_the_certificate_it_published(world: World) -> None:
    """Restarted with another network model (here: no limits at all), the operator clears the
    reloaded book under the network its certificate published, to the same fills."""
    chain, system, participants = world
    book, _, first = _cleared_not_sent(world)
    reloaded = IntervalBook.from_json(book.to_json())
    unlimited = NodalNetwork(_feeder(participants).node_ids, np.zeros((0, 2)), np.zeros(0), np.zeros(2), 0.0)
    after_restart = MarketOperator(chain, system.market, OPERATOR, NodalMechanism(unlimited))
    after_restart.exclude_unfunded(reloaded)
    settlement = after_restart.clear(reloaded)
    assert reloaded.certificate == book.certificate
    assert settlement.fills == first.fills and settlement.result.volume_wh == 3_000
    after_restart.submit(settlement)
    assert verify_interval(chain, system.market, IntervalBook.from_json(reloaded.to_json())).consistent


def test_a_tampered_certificate_is_found(world: World) -> None:
    chain, system, participants = world
    book = open_market_interval(chain, system, participants)
    MarketOperator(chain, system.market, OPERATOR, NodalMechanism(_feeder(participants))).settle(book)
    published = IntervalBook.from_json(book.to_json())
    assert published.certificate is not None
    published.certificate["limits"][0]["price"] *= 2
    kinds = {f.kind for f in verify_interval(chain, system.market, published).findings}
    assert {"book_mismatch", "not_optimal"} <= kinds
    published = IntervalBook.from_json(book.to_json())
    assert published.certificate is not None
    published.certificate["nodes"][0]["sellPricePerKWh"] += 1
    kinds = {f.kind for f in verify_interval(chain, system.market, published).findings}
    assert kinds == {"book_mismatch", "prices_differ"}
    published.certificate = None
    kinds = {f.kind for f in verify_interval(chain, system.market, published).findings}
    assert kinds == {"book_mismatch", "certificate_missing"}
    published.certificate = {"nodes": "not a list"}
    findings = verify_interval(chain, system.market, published).findings
    assert {f.kind for f in findings} == {"book_mismatch", "certificate_malformed"}
    assert any("malformed clearing certificate" in f.detail for f in findings)


def test_fills_that_are_not_optimal_fail_the_published_certificate(world: World) -> None:
    """A settlement the contract accepts (every fill within its limit, at a price the certificate
    names) but which leaves the feeder unused and the buyer short: verify names it."""
    chain, system, participants = world
    _, ben, carla = participants
    book, operator, honest = _cleared_not_sent(world)
    asks, bids = book.live_entries(Side.SELL), book.live_entries(Side.BUY)
    only_ben = ClearingResult(
        Pricing.NODAL,
        honest.result.price_per_kwh,
        2_000,
        np.array([2_000 if e.signed.order.trader == carla.owner else 0 for e in bids]),
        np.array([2_000 if e.signed.order.trader == ben.owner else 0 for e in asks]),
        honest.result.ask_price_per_kwh,
    )
    worse = build_settlement(book, only_ben)
    operator.submit(worse)
    findings = verify_interval(chain, system.market, IntervalBook.from_json(book.to_json())).findings
    assert {f.kind for f in findings} == {"not_optimal", "prices_differ"}
    assert any("limit 0" in f.detail for f in findings)
    # The rent published at clearing is not what these fills pay over the feeder.
    assert any("congestionRentUnits" in f.detail for f in findings if f.kind == "prices_differ")


def test_the_contract_refuses_a_buy_at_another_price_than_the_energy_price(world: World) -> None:
    chain, system, _ = world
    _, _, settlement = _cleared_not_sent(world)
    cheaper = [(*fill[:4], fill[4] - 1) if fill[0][1] == Side.BUY else fill for fill in settlement.fills]
    with pytest.raises(ContractRevertError, match="FillPriceInvalid"):
        chain.transact(OPERATOR, MARKET, system.market, "settleInterval", settlement.clearing, cheaper)


def test_a_nodal_result_without_the_asks_prices_is_refused(world: World) -> None:
    book, _, settlement = _cleared_not_sent(world)
    without = dataclasses.replace(settlement.result, ask_price_per_kwh=None)
    with pytest.raises(MarketError, match="each ask's price"):
        build_settlement(book, without)


# ---------------------------------------------------------------- the network, rebuilt from the grid
def _nodal_model(participants: list[Participant]) -> LiveGridModel:
    return demo_grid_model(participants, Pricing.NODAL, loss_price_per_kwh=350_000)


def test_a_certificates_network_rebuilt_from_the_grid_and_its_base_case_is_the_one_published(
    world: World,
) -> None:
    chain, system, participants = world
    model = _nodal_model(participants)
    published = settled_under(chain, system, participants, model.clearing(measured(participants)))
    carla = participants[2]
    assert published.base_case == {"grid": GRID, "importWh": {str(carla.grid_node_id): CARLA_IMPORT_WH}}
    report = verify_interval(chain, system.market, published, model)
    assert report.consistent, report.findings
    assert report.grid_rebuilt


def test_an_operator_that_clears_under_tighter_limits_than_the_grids_is_found(world: World) -> None:
    """The certificate holds for the network it publishes, but with the grid's data anyone finds
    that network is not the grid's: the budgets were halved."""
    chain, system, participants = world
    model = _nodal_model(participants)
    honest = model.clearing(measured(participants))
    assert isinstance(honest, AcNodalMechanism)
    # The demo's exports do not congest the feeder: the honest clearing is its first round's.
    first_round = base_case_network(honest.case, honest.bus_of_node, honest.loss_price_per_kwh)
    tight = dataclasses.replace(first_round, budget=first_round.budget / 2)
    lying = NodalMechanism(tight, base_case=honest.base_case)
    published = settled_under(chain, system, participants, lying)
    assert verify_interval(chain, system.market, published).consistent
    findings = verify_interval(chain, system.market, published, model).findings
    assert [f.kind for f in findings] == ["network_differs"]
    assert "limit budget 0" in findings[0].detail


def test_a_book_without_a_base_case_cannot_be_checked_against_the_grid(world: World) -> None:
    chain, system, participants = world
    model = _nodal_model(participants)
    published = settled_under(chain, system, participants, NodalMechanism(_feeder(participants)))
    findings = verify_interval(chain, system.market, published, model).findings
    assert [f.kind for f in findings] == ["network_differs"]
    assert "publishes no base case" in findings[0].detail
    # The base case is committed in the book's hash like the certificate.
    published.base_case = {"grid": GRID, "importWh": {}}
    assert "book_mismatch" in {
        f.kind for f in verify_interval(chain, system.market, published, model).findings
    }


def test_a_book_cleared_again_after_a_restart_keeps_its_base_case(world: World) -> None:
    chain, system, participants = world
    model = _nodal_model(participants)
    book = open_market_interval(chain, system, participants)
    first = MarketOperator(chain, system.market, OPERATOR, model.clearing(measured(participants)))
    first.close_gate(book)
    first.exclude_unfunded(book)
    first.clear(book)
    reloaded = IntervalBook.from_json(book.to_json())
    after_restart = MarketOperator(chain, system.market, OPERATOR, NodalMechanism(_feeder(participants)))
    after_restart.exclude_unfunded(reloaded)
    after_restart.submit(after_restart.clear(reloaded))
    assert reloaded.base_case == book.base_case is not None
    report = verify_interval(chain, system.market, IntervalBook.from_json(reloaded.to_json()), model)
    assert report.consistent, report.findings


def test_a_base_case_the_grid_cannot_carry_is_a_finding_not_a_failure(world: World) -> None:
    chain, system, participants = world
    model = _nodal_model(participants)
    published = settled_under(chain, system, participants, model.clearing(measured(participants)))
    published.base_case = {"grid": GRID, "importWh": {str(participants[2].grid_node_id): 10**9}}
    findings = verify_interval(chain, system.market, published, model).findings
    assert {f.kind for f in findings} == {"book_mismatch", "network_differs"}
    assert any("did not converge" in f.detail for f in findings)
