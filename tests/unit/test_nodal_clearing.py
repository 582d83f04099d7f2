"""Nodal clearing: welfare-maximising fills under network limits and losses, prices from the
duals, and a certificate that proves optimality without solving anything."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.errors import MarketError
from gridledger.grid.network import GridNetwork
from gridledger.market.clearing import BookSide, clear_uniform
from gridledger.market.feasible import MW_PER_WH_IN_INTERVAL, LinearLimits, NetworkLimits
from gridledger.market.nodal import (
    NodalClearing,
    NodalNetwork,
    NodalPrices,
    certificate_from_json,
    certificate_json,
    check_certificate,
    clear_nodal,
    network_differences,
    published_price_differences,
    published_prices,
)

GRID = "1-LV-rural1--0-sw"


def _side(prices: list[int], energy_wh: list[int], nodes: list[int], first_key: int = 0) -> BookSide:
    n = len(prices)
    return BookSide(
        np.array(prices, dtype=np.int64),
        np.array(energy_wh, dtype=np.int64),
        np.arange(n, dtype=np.int64),
        np.arange(first_key, first_key + n, dtype=np.uint64),
        np.array(nodes, dtype=np.uint64),
    )


def _network(
    rows: list[list[float]], budget: list[float], loss: list[float] | None = None, tau: float = 0.0
) -> NodalNetwork:
    width = len(rows[0]) if rows else len(loss or [])
    return NodalNetwork(
        tuple(range(1, width + 1)),
        np.array(rows, dtype=np.float64).reshape(len(budget), width),
        np.array(budget, dtype=np.float64),
        np.array(loss if loss is not None else [0.0] * width, dtype=np.float64),
        tau,
    )


def _findings(bids: BookSide, asks: BookSide, cleared: NodalClearing, **changes: object) -> list[str]:
    """The certificate's findings after replacing some of the published values."""
    network = changes.get("network", cleared.network)
    prices = changes.get("prices", cleared.prices)
    bid_fill = changes.get("bid_fill", cleared.bid_fill_wh)
    ask_fill = changes.get("ask_fill", cleared.ask_fill_wh)
    assert isinstance(network, NodalNetwork) and isinstance(prices, NodalPrices)
    assert isinstance(bid_fill, np.ndarray) and isinstance(ask_fill, np.ndarray)
    return [f.kind for f in check_certificate(bids, asks, bid_fill, ask_fill, network, prices)]


# A feeder of two nodes behind one limit: node 2 sits at its far end (a Wh there moves the limit
# twice as much as a Wh at node 1), and the limit takes 3,000 "node-1 Wh".
FEEDER = _network([[0.5, 1.0]], [1_500.0])
BUYERS = _side([300, 250], [4_000, 2_000], [1, 2])
SELLERS = _side([100, 120, 200], [2_000, 2_000, 2_000], [1, 2, 1], first_key=100)


def test_congested_feeder_pays_sellers_behind_the_limit_less_and_keeps_the_welfare_optimum() -> None:
    cleared = clear_nodal(BUYERS, SELLERS, FEEDER)
    # Volume: the cheap sellers at node 1 first (2,000 + 2,000 Wh use the whole limit of 1,500 x 2).
    assert cleared.ask_fill_wh.tolist() == [2_000, 0, 1_000]
    assert cleared.volume_wh == int(cleared.bid_fill_wh.sum()) == 3_000
    node_1, node_2 = cleared.prices.node_prices_per_kwh(FEEDER)
    # The first buyer is filled in part: it sets the energy price. The dear seller at node 1, filled
    # in part, sets node 1's price; node 2 uses the limit twice as much per Wh, so it earns less
    # by the limit's price again: 300 - 0.5 mu = 200, 300 - 1.0 mu = 100, below the 120 asked there.
    assert cleared.prices.energy_price_per_kwh == pytest.approx(300)
    assert cleared.prices.limit_prices[0] == pytest.approx(200)
    assert (node_1, node_2) == (pytest.approx(200), pytest.approx(100))
    assert cleared.congestion_rent_units(SELLERS) > 0
    assert (
        check_certificate(BUYERS, SELLERS, cleared.bid_fill_wh, cleared.ask_fill_wh, FEEDER, cleared.prices)
        == []
    )


def test_without_binding_limits_or_losses_it_trades_what_the_uniform_auction_trades() -> None:
    loose = _network([[1.0, 1.0]], [1e9])
    cleared = clear_nodal(BUYERS, SELLERS, loose)
    uniform = clear_uniform(BUYERS, SELLERS)
    assert cleared.volume_wh == uniform.volume_wh
    welfare = int(BUYERS.price_per_kwh @ cleared.bid_fill_wh - SELLERS.price_per_kwh @ cleared.ask_fill_wh)
    assert welfare == uniform.welfare(BUYERS, SELLERS)
    assert cleared.prices.limit_prices.tolist() == [0.0]
    assert cleared.congestion_rent_units(SELLERS) == 0


def test_a_seller_whose_export_adds_losses_earns_less_and_one_that_relieves_the_feeder_more() -> None:
    lossy = _network([[1.0, 1.0]], [1e9], loss=[0.08, -0.04], tau=250.0)
    sellers = _side([100, 100], [1_000, 1_000], [1, 2], first_key=100)
    cleared = clear_nodal(_side([300], [5_000], [1]), sellers, lossy)
    node_1, node_2 = cleared.prices.node_prices_per_kwh(lossy)
    assert node_1 == pytest.approx(cleared.prices.energy_price_per_kwh - 0.08 * 250)
    assert node_2 == pytest.approx(cleared.prices.energy_price_per_kwh + 0.04 * 250)
    assert cleared.loss_charge_units(sellers) == pytest.approx((0.08 - 0.04) * 250 * 1_000 / 1000)


def test_a_loss_charge_can_price_a_seller_out() -> None:
    # At node 1 every kWh exported loses 0.2 kWh worth 250: the seller asking 100 costs 150, more
    # than the buyer's 140; the same ask at node 2 (no losses) trades.
    lossy = _network([[1.0, 1.0]], [1e9], loss=[0.2, 0.0], tau=250.0)
    cleared = clear_nodal(_side([140], [1_000], [1]), _side([100, 130], [1_000, 500], [1, 2], 10), lossy)
    assert cleared.ask_fill_wh.tolist() == [0, 500]


orders = st.lists(
    st.tuples(st.integers(0, 500), st.integers(1, 5_000), st.integers(1, 4)), min_size=0, max_size=12
)
# Rows as `NodalNetwork.linearised` makes them: largest coefficient 1, none tinier than 1e-6.
limit_rows = st.lists(
    st.lists(st.just(0.0) | st.floats(1e-6, 1.0), min_size=4, max_size=4), min_size=1, max_size=4
)
budgets = st.lists(st.floats(0.0, 20_000.0), min_size=4, max_size=4)


def _book(raw: list[tuple[int, int, int]], first_key: int = 0) -> BookSide:
    """A side from (price, energy, node) triples."""
    prices, energy, nodes = (list(column) for column in zip(*raw, strict=True)) if raw else ([], [], [])
    return _side(prices, energy, nodes, first_key)


@settings(max_examples=150, deadline=None)
@given(
    orders,
    orders,
    limit_rows,
    budgets,
    st.lists(st.floats(-0.1, 0.1), min_size=4, max_size=4),
    st.floats(0.0, 400.0),
)
def test_every_clearing_carries_a_certificate_that_holds(
    bids_raw: list[tuple[int, int, int]],
    asks_raw: list[tuple[int, int, int]],
    rows: list[list[float]],
    budget: list[float],
    loss: list[float],
    tau: float,
) -> None:
    bids, asks = _book(bids_raw), _book(asks_raw, first_key=1_000)
    network = _network(rows, budget[: len(rows)], loss, tau)
    cleared = clear_nodal(bids, asks, network)
    assert _findings(bids, asks, cleared) == []
    assert int(cleared.bid_fill_wh.sum()) == int(cleared.ask_fill_wh.sum())
    # Trading nothing is feasible, so the optimum's welfare (losses priced) is never below zero,
    # but for the whole-Wh rounding: at most 1 Wh per order at its price.
    columns = network.columns(asks)
    ask_cost = asks.price_per_kwh + tau * network.loss_factor[columns]
    welfare = bids.price_per_kwh @ cleared.bid_fill_wh - ask_cost @ cleared.ask_fill_wh
    assert welfare >= -(bids.price_per_kwh.sum() + np.abs(ask_cost).sum())


@settings(max_examples=150, deadline=None)
@given(orders, orders, limit_rows, budgets)
def test_no_settlement_with_less_welfare_passes_the_certificate(
    bids_raw: list[tuple[int, int, int]],
    asks_raw: list[tuple[int, int, int]],
    rows: list[list[float]],
    budget: list[float],
) -> None:
    """Half of every optimal fill is still feasible (budgets are not negative) but trades half
    the welfare: the same prices must refuse it wherever the welfare lost is more than rounding."""
    bids, asks = _book(bids_raw), _book(asks_raw, first_key=1_000)
    network = _network(rows, budget[: len(rows)])
    cleared = clear_nodal(bids, asks, network)
    halved_bids, halved_asks = cleared.bid_fill_wh // 2, cleared.ask_fill_wh // 2
    surplus = int(halved_bids.sum() - halved_asks.sum())
    # Whole Wh: keep buys equal to sells by taking the difference off the largest fill.
    if surplus > 0:
        halved_bids[np.argmax(halved_bids)] -= surplus
    elif surplus < 0:
        halved_asks[np.argmax(halved_asks)] += surplus
    welfare = int(bids.price_per_kwh @ cleared.bid_fill_wh - asks.price_per_kwh @ cleared.ask_fill_wh)
    lost = welfare - int(bids.price_per_kwh @ halved_bids - asks.price_per_kwh @ halved_asks)
    rounding = 8 * (int(bids.price_per_kwh.sum()) + int(asks.price_per_kwh.sum()))
    findings = _findings(bids, asks, cleared, bid_fill=halved_bids, ask_fill=halved_asks)
    if lost > rounding:
        assert findings, f"a settlement {lost} worse passed"


# ---------------------------------------------------------------- tampering
@pytest.fixture
def congested() -> NodalClearing:
    return clear_nodal(BUYERS, SELLERS, FEEDER)


def test_tampering_with_a_limit_price_is_found(congested: NodalClearing) -> None:
    raised = NodalPrices(congested.prices.energy_price_per_kwh, congested.prices.limit_prices * 1.5)
    assert "not_complementary" in _findings(BUYERS, SELLERS, congested, prices=raised)
    dropped = NodalPrices(congested.prices.energy_price_per_kwh, np.zeros(1))
    assert "not_complementary" in _findings(BUYERS, SELLERS, congested, prices=dropped)
    negative = NodalPrices(congested.prices.energy_price_per_kwh, -congested.prices.limit_prices)
    assert "dual_infeasible" in _findings(BUYERS, SELLERS, congested, prices=negative)


def test_tampering_with_the_energy_price_is_found(congested: NodalClearing) -> None:
    for moved in (+10.0, -10.0):
        shifted = dataclasses.replace(
            congested.prices, energy_price_per_kwh=congested.prices.energy_price_per_kwh + moved
        )
        assert "not_complementary" in _findings(BUYERS, SELLERS, congested, prices=shifted)


def test_tampering_with_a_cap_is_found(congested: NodalClearing) -> None:
    tighter = dataclasses.replace(FEEDER, budget=FEEDER.budget * 0.9)
    assert "primal_infeasible" in _findings(BUYERS, SELLERS, congested, network=tighter)
    looser = dataclasses.replace(FEEDER, budget=FEEDER.budget * 1.1)
    assert "not_complementary" in _findings(BUYERS, SELLERS, congested, network=looser)


def test_tampering_with_a_fill_is_found(congested: NodalClearing) -> None:
    # The dear seller at node 1 filled instead of the cheap one: balanced and within the limit.
    swapped = congested.ask_fill_wh.copy()
    swapped[0], swapped[2] = swapped[2], swapped[0]
    assert _findings(BUYERS, SELLERS, congested, ask_fill=swapped) == ["not_complementary"]
    more = congested.bid_fill_wh.copy()
    more[1] += 1
    assert "primal_infeasible" in _findings(BUYERS, SELLERS, congested, bid_fill=more)
    beyond = congested.ask_fill_wh.copy()
    beyond[2] += 600
    more_bids = congested.bid_fill_wh.copy()
    more_bids[np.argmin(more_bids)] += 600
    assert "primal_infeasible" in _findings(BUYERS, SELLERS, congested, ask_fill=beyond, bid_fill=more_bids)


def test_a_network_blind_clearing_fails_the_certificate() -> None:
    """The certificate catches the planted bug of clearing as if the grid had no limits."""
    blind = clear_uniform(BUYERS, SELLERS)
    cleared = clear_nodal(BUYERS, SELLERS, FEEDER)
    assert "primal_infeasible" in _findings(
        BUYERS, SELLERS, cleared, bid_fill=blind.bid_fill_wh, ask_fill=blind.ask_fill_wh
    )


# ---------------------------------------------------------------- publication and refusals
def test_the_certificate_reads_back_as_published(congested: NodalClearing) -> None:
    raw = json.loads(json.dumps(certificate_json(congested, SELLERS)))
    network, prices = certificate_from_json(raw)
    assert network.node_ids == FEEDER.node_ids
    assert np.array_equal(network.rows, FEEDER.rows) and np.array_equal(network.budget, FEEDER.budget)
    assert prices.energy_price_per_kwh == congested.prices.energy_price_per_kwh
    assert (
        check_certificate(BUYERS, SELLERS, congested.bid_fill_wh, congested.ask_fill_wh, network, prices)
        == []
    )


def test_the_book_publishes_each_nodes_price_and_the_congestion_rent_the_fills_pay(
    congested: NodalClearing,
) -> None:
    raw = json.loads(json.dumps(certificate_json(congested, SELLERS)))
    assert raw["buyPricePerKWh"] == 300
    assert [(n["gridNodeId"], n["sellPricePerKWh"], n["congestionPerKWh"]) for n in raw["nodes"]] == [
        (1, 200, 100.0),
        (2, 100, 200.0),
    ]
    # Buyers pay 300 for 3,000 Wh; the sellers at node 1 earn 200 for theirs: the rest is the rent.
    assert raw["congestionRentUnits"] == 3_000 * 300 // 1000 - 3_000 * 200 // 1000
    assert raw["lossChargeUnits"] == 0


def test_published_loss_charges_are_what_each_node_pays_for_its_losses() -> None:
    lossy = _network([[1.0, 1.0]], [1e9], loss=[0.08, 0.0], tau=250.0)
    sellers = _side([100, 100], [1_000, 1_000], [1, 2], first_key=100)
    cleared = clear_nodal(_side([300], [5_000], [1]), sellers, lossy)
    raw = certificate_json(cleared, sellers)
    assert [n["lossChargePerKWh"] for n in raw["nodes"]] == [20.0, 0.0]
    assert raw["lossChargeUnits"] == 20  # 1,000 Wh at node 1, 0.08 x 250 per kWh
    assert [n["sellPricePerKWh"] for n in raw["nodes"]] == [
        raw["buyPricePerKWh"] - 20,
        raw["buyPricePerKWh"],
    ]


@pytest.mark.parametrize(
    ("field", "tampered", "named"),
    [
        ("buyPricePerKWh", 301, "buyPricePerKWh"),
        ("congestionRentUnits", 10, "congestionRentUnits"),
        ("lossChargeUnits", 5, "lossChargeUnits"),
        ("nodes", [], "nodes"),
        ("sellPricePerKWh", 250, "nodes[1].sellPricePerKWh"),
        ("congestionPerKWh", 0.0, "nodes[1].congestionPerKWh"),
        ("lossChargePerKWh", 1.0, "nodes[1].lossChargePerKWh"),
    ],
)
def test_a_published_price_that_does_not_follow_from_the_duals_is_named(
    congested: NodalClearing, field: str, tampered: object, named: str
) -> None:
    raw = json.loads(json.dumps(certificate_json(congested, SELLERS)))
    derived = published_prices(congested.network, congested.prices, SELLERS, congested.ask_fill_wh)
    assert published_price_differences(raw, derived) == []
    if field in raw:
        raw[field] = tampered
    else:
        raw["nodes"][0][field] = tampered
    assert published_price_differences(raw, derived) == [named]


def test_the_rent_published_for_other_fills_is_named(congested: NodalClearing) -> None:
    """The prices published at clearing, checked against fills that trade less over the feeder."""
    raw = certificate_json(congested, SELLERS)
    fewer = np.array([1_000, 0, 0], dtype=np.int64)
    derived = published_prices(congested.network, congested.prices, SELLERS, fewer)
    assert published_price_differences(raw, derived) == ["congestionRentUnits"]


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"nodes": [], "limits": [], "lossPricePerKWh": 0},
        {
            "nodes": [{"gridNodeId": 1, "lossFactor": 0}],
            "limits": [{"columns": [0, 1], "coefficients": [1, 2], "budget": 1, "price": 0}],
            "lossPricePerKWh": 0,
            "energyPricePerKWh": 1,
        },
        {
            "nodes": [{"gridNodeId": 1, "lossFactor": 0}],
            "limits": [{"columns": [0], "coefficients": [1], "budget": -1, "price": 0}],
            "lossPricePerKWh": 0,
            "energyPricePerKWh": 1,
        },
        {
            "nodes": [{"gridNodeId": 1, "lossFactor": "x"}],
            "limits": [],
            "lossPricePerKWh": 0,
            "energyPricePerKWh": 1,
        },
        {
            "nodes": [{"gridNodeId": 1, "lossFactor": 0}],
            "limits": [],
            "lossPricePerKWh": 0,
            "energyPricePerKWh": "nan",
        },
        {
            "nodes": [{"gridNodeId": 1, "lossFactor": 0}, {"gridNodeId": 1, "lossFactor": 0}],
            "limits": [],
            "lossPricePerKWh": 0,
            "energyPricePerKWh": 1,
        },
        {
            "nodes": [{"gridNodeId": 1, "lossFactor": 0}, {"gridNodeId": 2, "lossFactor": 0}],
            "limits": [{"columns": [0, 0], "coefficients": [1, 1], "budget": 1, "price": 0}],
            "lossPricePerKWh": 0,
            "energyPricePerKWh": 1,
        },
        {
            "nodes": [{"gridNodeId": 1, "lossFactor": 0}, {"gridNodeId": 2, "lossFactor": 0}],
            "limits": [{"columns": [0, 1], "coefficients": [1], "budget": 1, "price": 0}],
            "lossPricePerKWh": 0,
            "energyPricePerKWh": 1,
        },
        {
            "nodes": [{"gridNodeId": 1, "lossFactor": 0}, {"gridNodeId": 2, "lossFactor": 0}],
            "limits": [{"columns": [0, 2], "coefficients": [1, 1], "budget": 1, "price": 0}],
            "lossPricePerKWh": 0,
            "energyPricePerKWh": 1,
        },
        {
            "nodes": [{"gridNodeId": 1, "lossFactor": 0}, {"gridNodeId": 2, "lossFactor": 0}],
            "limits": [{"columns": [0.7], "coefficients": [1], "budget": 1, "price": 0}],
            "lossPricePerKWh": 0,
            "energyPricePerKWh": 1,
        },
    ],
    ids=[
        "empty",
        "no-energy-price",
        "row-too-wide",
        "negative-budget",
        "text-factor",
        "nan-price",
        "node-twice",
        "column-twice",
        "coefficient-missing",
        "column-outside",
        "column-not-whole",
    ],
)
def test_a_malformed_certificate_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(MarketError):
        certificate_from_json(broken)


def test_an_interval_without_sells_or_without_buys_clears_nothing_with_a_certificate_that_holds() -> None:
    for bids, asks in (
        (BUYERS, BookSide.empty()),
        (BookSide.empty(), SELLERS),
        (BookSide.empty(), BookSide.empty()),
    ):
        cleared = clear_nodal(bids, asks, FEEDER)
        assert cleared.volume_wh == 0
        assert _findings(bids, asks, cleared) == []
        assert cleared.as_result(asks).volume_wh == 0


def test_a_limit_no_export_moves_is_left_out_of_the_network() -> None:
    """A limit already at its bound that no node's export moves (a zero row, zero budget) binds
    nothing: it is dropped rather than scaled by zero."""
    limits = LinearLimits(
        np.array([0.0, 0.0]), np.full(2, -np.inf), np.array([0.0, 1.0]), np.array([[0.0, 0.0], [0.0, 0.3]])
    )
    network = NodalNetwork.linearised(limits, {7: 0, 8: 1}, np.array([0.02, 0.01]), 100.0)
    assert network.rows.shape == (1, 2) and np.all(np.isfinite(network.rows))
    assert network.loss_factor.tolist() == [pytest.approx(0.01), 0.0]  # relative to the best-placed node


@pytest.mark.parametrize(
    ("node_ids", "rows", "budget", "loss_factor", "loss_price", "reason"),
    [
        ((1, 2), [[1.0, 1.0]], [1.0], [0.0], 0.0, "one loss factor per node"),
        ((1, 1), [[1.0, 1.0]], [1.0], [0.0, 0.0], 0.0, "twice"),
        ((1, 2), [[1.0]], [1.0], [0.0, 0.0], 0.0, "limit rows must be"),
        ((1, 2), [[1.0, np.inf]], [1.0], [0.0, 0.0], 0.0, "finite"),
        ((1, 2), [[1.0, 1.0]], [-1.0], [0.0, 0.0], 0.0, "negative"),
        ((1, 2), [[1.0, 1.0]], [1.0], [0.0, 0.0], -1.0, "negative"),
    ],
    ids=["loss-factors", "node-twice", "row-width", "infinite", "negative-budget", "negative-loss-price"],
)
def test_a_malformed_nodal_network_is_refused(
    node_ids: tuple[int, ...],
    rows: list[list[float]],
    budget: list[float],
    loss_factor: list[float],
    loss_price: float,
    reason: str,
) -> None:
    with pytest.raises(MarketError, match=reason):
        NodalNetwork(node_ids, np.array(rows), np.array(budget), np.array(loss_factor), loss_price)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"node_ids": (1, 3)}, "the grid nodes differ"),
        (
            {"rows": np.array([[0.5, 1.0], [1.0, 0.0]]), "budget": np.array([1.0, 1.0])},
            "2 limits published, 1 in the network",
        ),
        ({"rows": np.array([[0.5, 0.99]])}, "limit row 0"),
        ({"budget": np.array([1_499.0])}, "limit budget 0"),
        ({"loss_factor": np.array([0.0, 1e-6])}, "loss factor 1"),
        ({"loss_price_per_kwh": 1.0}, "the price of lost energy"),
    ],
    ids=["nodes", "limit-count", "row", "budget", "loss-factor", "loss-price"],
)
def test_a_published_network_that_is_not_the_rebuilt_one_is_named(
    change: dict[str, object], named: str
) -> None:
    published = dataclasses.replace(FEEDER, **change)  # type: ignore[arg-type]
    assert network_differences(published, FEEDER) == [named]


def test_a_rebuilt_network_within_one_rounding_step_is_the_published_one() -> None:
    nudged = dataclasses.replace(FEEDER, rows=FEEDER.rows + 1e-6, budget=FEEDER.budget - 1e-3)
    assert network_differences(nudged, FEEDER) == []


def test_an_order_at_a_node_the_network_lacks_is_refused() -> None:
    with pytest.raises(MarketError, match="grid node 9"):
        clear_nodal(BUYERS, _side([100], [10], [9], 100), FEEDER)


# ---------------------------------------------------------------- from a real grid
def test_marginal_loss_factors_match_the_ac_power_flow() -> None:
    network = GridNetwork(GRID)
    load = np.full(network.bus_count, -0.004)
    base = network.power_flow(load, np.zeros(network.bus_count))
    factors = network.marginal_loss_factors(base)
    step_mw = 0.0002
    for bus in range(network.bus_count):
        losses = []
        for direction in (1, -1):
            pushed = load.copy()
            pushed[bus] += direction * step_mw
            losses.append(network.power_flow(pushed, np.zeros(network.bus_count)).losses_mw)
        measured = (losses[0] - losses[1]) / (2 * step_mw)
        # The model keeps voltage fixed: within 10 % of the AC power flow's own.
        assert factors[bus] == pytest.approx(measured, rel=0.1, abs=1e-4)
    # Injecting along a loaded feeder relieves it: losses fall.
    assert factors.min() < 0


def test_a_nodal_network_from_the_grid_clears_within_its_linearised_limits() -> None:
    network = GridNetwork(GRID)
    base = network.power_flow(np.zeros(network.bus_count), np.zeros(network.bus_count))
    limits = NetworkLimits.around(base, network.ptdf, network.branch_limit_mva).linear()
    slack = {network.position(b) for b in network.slack_buses}
    bus_of_node = {1000 + b: b for b in range(network.bus_count) if b not in slack}
    nodal = NodalNetwork.linearised(limits, bus_of_node, network.marginal_loss_factors(base), 250.0)
    nodes = list(bus_of_node)
    # Far more export offered than a 160 kVA transformer carries.
    asks = _side([50 + i for i in range(len(nodes))], [60_000] * len(nodes), nodes, 100)
    bids = _side([300], [10**7], [nodes[0]])
    cleared = clear_nodal(bids, asks, nodal)
    assert (
        check_certificate(bids, asks, cleared.bid_fill_wh, cleared.ask_fill_wh, nodal, cleared.prices) == []
    )
    exported_mw = np.bincount(
        [bus_of_node[n] for n in nodes],
        weights=cleared.ask_fill_wh * MW_PER_WH_IN_INTERVAL,
        minlength=network.bus_count,
    )
    assert 0 < cleared.volume_wh < 60_000 * len(nodes)
    assert np.all(limits.per_mw @ exported_mw + limits.value <= limits.highest + 1e-6)
    assert cleared.prices.limit_prices.max() > 0
