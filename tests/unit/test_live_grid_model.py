"""The live operator's network model: the chain's grid nodes placed on a SimBench grid's buses,
a clearing around the interval's measured loads that caps what the feeder cannot carry, and
every refusal of a bad bus map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridledger.errors import GridModelError, InputError, MarketError
from gridledger.grid.network import GridNetwork
from gridledger.market.clearing import BookSide
from gridledger.market.nodal import (
    certificate_from_json,
    check_certificate,
    network_differences,
)
from gridledger.market.nodal_ac import AcNodalMechanism
from gridledger.market.orders import Pricing
from gridledger.ops.grid_model import LiveGridModel, MeasuredInterval, read_bus_map

GRID = "1-LV-rural1--0-sw"
FAR_BUS, NEAR_BUS = 13, 1  # pandapower bus indices of the grid


@pytest.fixture(scope="module")
def model() -> LiveGridModel:
    network = GridNetwork(GRID)
    return LiveGridModel(network, {1: network.position(FAR_BUS), 2: network.position(NEAR_BUS)})


def _asks(energy_wh: list[int], nodes: list[int]) -> BookSide:
    count = len(energy_wh)
    return BookSide(
        np.full(count, 100_000, dtype=np.int64),
        np.array(energy_wh, dtype=np.int64),
        np.arange(count, dtype=np.int64),
        np.arange(1, count + 1, dtype=np.uint64),
        np.array(nodes, dtype=np.uint64),
    )


def test_clearing_aHouseholdsExport_isNotCapped(model: LiveGridModel) -> None:
    measured = MeasuredInterval(import_wh={1: 300, 2: 500}, export_wh={})
    capped = model.clearing(measured).capped(_asks([1_000, 1_000], [1, 2]))
    assert capped.energy_wh.tolist() == [1_000, 1_000]


def test_clearing_anExportTheFeederCannotCarry_isCappedBelowItsOffer(model: LiveGridModel) -> None:
    measured = MeasuredInterval(import_wh={1: 300, 2: 500}, export_wh={})
    offered = 5_000_000  # 5 MWh in 15 minutes: 20 MW into a low-voltage feeder
    capped = model.clearing(measured).capped(_asks([offered], [1]))
    assert 0 <= capped.energy_wh[0] < offered


def test_clearing_moreMeasuredLoad_leavesMoreRoomForExports(model: LiveGridModel) -> None:
    """Load at the exporter's bus takes up part of its export locally: the cap grows."""
    offered = 5_000_000
    light = model.clearing(MeasuredInterval({1: 0}, {})).capped(_asks([offered], [1]))
    heavy = model.clearing(MeasuredInterval({1: 20_000}, {})).capped(_asks([offered], [1]))
    assert heavy.energy_wh[0] > light.energy_wh[0]


OFFERED_WH = 200_000  # 800 kW from each end for 15 minutes: far beyond a 160 kVA transformer
CONGESTING_ASKS = _asks([OFFERED_WH, OFFERED_WH], [1, 2])
ONE_BIG_BUYER = BookSide(
    np.array([300_000], dtype=np.int64),
    np.array([10 * OFFERED_WH], dtype=np.int64),
    np.array([9], dtype=np.int64),
    np.array([99], dtype=np.uint64),
    np.array([2], dtype=np.uint64),
)


def test_nodal_clearing_prices_the_feeder_and_carries_a_certificate_that_holds(model: LiveGridModel) -> None:
    """With nodal pricing the same export the transformer cannot carry is cut by price: both
    sellers load the transformer alike, but at the interval's loads an export near the
    transformer relieves the feeder's losses less than one at its far end, so the near seller's
    node earns the loss charge less and its equal ask does not trade. The certificate holds."""
    nodal = LiveGridModel(model.network, model.bus_of_node, Pricing.NODAL, loss_price_per_kwh=350_000)
    mechanism = nodal.clearing(MeasuredInterval(import_wh={1: 300, 2: 500}, export_wh={}))
    assert isinstance(mechanism, AcNodalMechanism)
    bids, asks = ONE_BIG_BUYER, CONGESTING_ASKS
    result, certificate = mechanism.certified(bids, asks)
    assert result.pricing == Pricing.NODAL and 0 < result.volume_wh < 2 * OFFERED_WH
    network, prices = certificate_from_json(certificate)
    assert check_certificate(bids, asks, result.bid_fill_wh, result.ask_fill_wh, network, prices) == []
    assert result.ask_price_per_kwh is not None
    far, near = result.ask_price_per_kwh.tolist()
    assert near < far == 100_000 < result.price_per_kwh  # the far seller, filled in part, sets its price
    assert result.ask_fill_wh[1] == 0 < result.ask_fill_wh[0]
    assert prices.limit_prices.max() > 0  # the transformer's limit is priced


def test_a_live_model_refuses_pay_as_bid_and_a_loss_price_without_nodal_pricing(model: LiveGridModel) -> None:
    with pytest.raises(InputError, match="uniformly"):
        LiveGridModel(model.network, model.bus_of_node, Pricing.PAY_AS_BID)
    with pytest.raises(InputError, match="only nodal pricing"):
        LiveGridModel(model.network, model.bus_of_node, Pricing.UNIFORM, loss_price_per_kwh=1)
    with pytest.raises(InputError, match="at least 0"):
        LiveGridModel(model.network, model.bus_of_node, Pricing.NODAL, loss_price_per_kwh=-1)


def test_clearing_anAskAtANodeOffTheMap_isRefused(model: LiveGridModel) -> None:
    with pytest.raises(MarketError, match="not in the network"):
        model.clearing(MeasuredInterval({}, {})).capped(_asks([1_000], [7]))


@pytest.mark.parametrize(
    ("text", "refusal", "error"),
    [
        ("node,bus\n1,13\n", "header must name", InputError),
        ("grid_node_id,bus\n1,13\n1,12\n", "mapped twice", InputError),
        ("grid_node_id,bus\n1,thirteen\n", "line 2", InputError),
        ("grid_node_id,bus\n", "maps no grid node", InputError),
        ("grid_node_id,bus\n1,9999\n", "has no bus 9999", GridModelError),
    ],
)
def test_readBusMap_badFile_isRefusedNamingWhy(
    model: LiveGridModel, tmp_path: Path, text: str, refusal: str, error: type[Exception]
) -> None:
    path = tmp_path / "buses.csv"
    path.write_text(text)
    with pytest.raises(error, match=refusal):
        read_bus_map(path, model.network)


def test_readBusMap_placesEachNodeAtItsBusPosition(model: LiveGridModel, tmp_path: Path) -> None:
    path = tmp_path / "buses.csv"
    path.write_text(f"grid_node_id,bus\n1,{FAR_BUS}\n2,{NEAR_BUS}\n")
    assert read_bus_map(path, model.network) == model.bus_of_node


@pytest.fixture(scope="module")
def nodal(model: LiveGridModel) -> LiveGridModel:
    return LiveGridModel(model.network, model.bus_of_node, Pricing.NODAL, loss_price_per_kwh=350_000)


def test_a_clearing_carries_the_base_case_its_network_is_rebuilt_from(nodal: LiveGridModel) -> None:
    measured = MeasuredInterval(import_wh={1: 300, 2: 500, 7: 900}, export_wh={1: 50})
    mechanism = nodal.clearing(measured)
    assert isinstance(mechanism, AcNodalMechanism)
    # Only mapped nodes' imports shape the base case (node 7 is off the map).
    assert mechanism.base_case == {"grid": GRID, "importWh": {"1": 300, "2": 500}}
    published, _ = certificate_from_json(mechanism.certified(ONE_BIG_BUYER, CONGESTING_ASKS)[1])
    rebuilt = nodal.rebuilt_network(mechanism.base_case, 350_000, ONE_BIG_BUYER, CONGESTING_ASKS)
    assert network_differences(published, rebuilt) == []


def test_a_network_around_other_loads_differs_from_the_published_one(nodal: LiveGridModel) -> None:
    light = nodal.clearing(MeasuredInterval(import_wh={1: 300, 2: 500}, export_wh={}))
    heavy = nodal.clearing(MeasuredInterval(import_wh={1: 30_000, 2: 500}, export_wh={}))
    assert isinstance(light, AcNodalMechanism) and heavy.base_case is not None
    published, _ = certificate_from_json(light.certified(ONE_BIG_BUYER, CONGESTING_ASKS)[1])
    rebuilt = nodal.rebuilt_network(heavy.base_case, 350_000, ONE_BIG_BUYER, CONGESTING_ASKS)
    assert network_differences(published, rebuilt) != []


def test_a_grid_feasible_clearings_caps_are_rebuilt_from_its_base_case(model: LiveGridModel) -> None:
    mechanism = model.clearing(MeasuredInterval(import_wh={1: 300, 2: 500}, export_wh={}))
    asks = _asks([5_000_000, 1_000], [1, 2])
    assert mechanism.base_case == {"grid": GRID, "importWh": {"1": 300, "2": 500}}
    caps = model.rebuilt_caps(mechanism.base_case, asks)
    assert caps.tolist() == mechanism.capped(asks).energy_wh.tolist()
    assert caps[0] < 5_000_000  # the far end cannot take 20 MW


@pytest.mark.parametrize(
    ("base_case", "reason"),
    [
        ({"grid": GRID}, "malformed base case"),
        ({"grid": GRID, "importWh": {"1": "x"}}, "malformed base case"),
        ({"grid": GRID, "importWh": []}, "malformed base case"),
        ({"grid": "1-LV-urban6--0-sw", "importWh": {}}, "on grid 1-LV-urban6--0-sw"),
        ({"grid": GRID, "importWh": {"7": 100}}, "grid node 7"),
        ({"grid": GRID, "importWh": {"1": -5}}, "never negative"),
    ],
    ids=[
        "no-imports",
        "import-not-a-number",
        "imports-not-an-object",
        "other-grid",
        "unplaced-node",
        "negative-import",
    ],
)
def test_a_base_case_that_cannot_be_rebuilt_is_refused(
    nodal: LiveGridModel, base_case: dict[str, object], reason: str
) -> None:
    with pytest.raises(MarketError, match=reason):
        nodal.rebuilt_network(base_case, 0.0, ONE_BIG_BUYER, CONGESTING_ASKS)
    with pytest.raises(MarketError, match=reason):
        nodal.rebuilt_caps(base_case, _asks([1_000], [1]))
