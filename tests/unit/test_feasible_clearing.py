"""Grid-feasible clearing: export limits from the linearised network, then the uniform clearing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gridledger.errors import GridModelError, MarketError
from gridledger.grid.acopf import acopf_exports_wh
from gridledger.grid.network import MAX_LOADING_PERCENT, GridNetwork
from gridledger.market.clearing import BookSide, clear_uniform
from gridledger.market.feasible import (
    LIMIT_MARGIN,
    LOADING_SLACK_PERCENT,
    MW_PER_WH_IN_INTERVAL,
    AcBaseCase,
    GridFeasibleClearing,
    LinearLimits,
    NetworkLimits,
    ac_export_limits_wh,
    export_limits_wh,
)

GRID = "1-LV-rural1--0-sw"  # 15 buses, one transformer of 160 kVA


@pytest.fixture(scope="module")
def network() -> GridNetwork:
    return GridNetwork(GRID)


def _limits(network: GridNetwork, load_mw: float = 0.0) -> NetworkLimits:
    p = np.full(network.bus_count, -load_mw / network.bus_count)
    base = network.power_flow(p, np.zeros(network.bus_count))
    return NetworkLimits.around(base, network.ptdf, network.branch_limit_mva)


def _asks(energy_wh: list[int], nodes: list[int]) -> BookSide:
    n = len(energy_wh)
    return BookSide(
        np.full(n, 82_000, dtype=np.int64),
        np.array(energy_wh, dtype=np.int64),
        np.arange(n, dtype=np.int64),
        np.arange(n, dtype=np.uint64),
        np.array(nodes, dtype=np.uint64),
    )


def _bids(energy_wh: int) -> BookSide:
    return BookSide(
        np.array([200_000], dtype=np.int64),
        np.array([energy_wh], dtype=np.int64),
        np.array([100], dtype=np.int64),
        np.array([100], dtype=np.uint64),
        np.array([0], dtype=np.uint64),
    )


def _leaf(network: GridNetwork) -> int:
    """The bus farthest from the transformer: largest voltage rise per MW injected."""
    return int(np.argmax(np.diag(_limits(network).dv_dp_pu_per_mw)))


def test_export_limits_keep_small_offers_whole(network: GridNetwork) -> None:
    caps = export_limits_wh(_limits(network), np.array([_leaf(network)]), np.array([1_000]))
    assert caps.tolist() == [1_000]


def test_export_limits_cap_what_the_network_cannot_carry_and_ac_agrees(network: GridNetwork) -> None:
    leaf = _leaf(network)
    limits = _limits(network)
    offered = np.array([200_000], dtype=np.int64)  # 800 kW for 15 minutes at one bus
    caps = export_limits_wh(limits, np.array([leaf]), offered)
    assert 0 < caps[0] < offered[0]
    p = np.zeros(network.bus_count)
    p[leaf] = caps[0] * MW_PER_WH_IN_INTERVAL
    at_cap = network.power_flow(p, np.zeros(network.bus_count))
    assert at_cap.violations().count == 0
    p[leaf] = offered[0] * MW_PER_WH_IN_INTERVAL
    assert network.power_flow(p, np.zeros(network.bus_count)).violations().count > 0


def test_export_limits_share_a_common_bottleneck(network: GridNetwork) -> None:
    leaf = _leaf(network)
    limits = _limits(network)
    alone = export_limits_wh(limits, np.array([leaf]), np.array([200_000]))[0]
    together = export_limits_wh(limits, np.array([leaf, leaf]), np.array([200_000, 200_000]))
    assert together.sum() <= alone + 1


def test_export_limits_do_not_worsen_a_limit_the_base_case_breaks(network: GridNetwork) -> None:
    limits = _limits(network)
    broken = dataclasses.replace(limits, vm_pu=np.full_like(limits.vm_pu, 1.2))  # every bus above the band
    caps = export_limits_wh(broken, np.array([_leaf(network)]), np.array([5_000]))
    assert caps.tolist() == [0]


def test_grid_feasible_clearing_caps_asks_then_clears_uniformly(network: GridNetwork) -> None:
    leaf = _leaf(network)
    clearing = GridFeasibleClearing({7: leaf}, limits=_limits(network))
    asks = _asks([200_000], [7])
    result = clearing.clear(_bids(300_000), asks)
    capped = clearing.capped(asks)
    assert result.volume_wh == capped.energy_wh[0] < 200_000
    assert result.price_per_kwh == clear_uniform(_bids(300_000), capped).price_per_kwh


def test_grid_feasible_clearing_refuses_asks_without_or_outside_the_network(network: GridNetwork) -> None:
    clearing = GridFeasibleClearing({7: _leaf(network)}, limits=_limits(network))
    no_nodes = dataclasses.replace(_asks([100], [7]), grid_node_id=None)
    with pytest.raises(MarketError, match="needs the asks' grid nodes"):
        clearing.clear(_bids(100), no_nodes)
    with pytest.raises(MarketError, match="not in the network"):
        clearing.clear(_bids(100), _asks([100], [8]))


def test_export_limits_report_an_lp_the_solver_cannot_solve(network: GridNetwork) -> None:
    limits = _limits(network)
    broken = dataclasses.replace(limits, ptdf=np.full_like(limits.ptdf, np.nan))
    with pytest.raises(MarketError, match="export limits could not be computed"):
        export_limits_wh(broken, np.array([_leaf(network)]), np.array([1_000]))


def test_grid_feasible_clearing_needs_either_limits_or_an_ac_base_case(network: GridNetwork) -> None:
    zero = np.zeros(network.bus_count)
    case = AcBaseCase.solve(network, zero, zero)
    with pytest.raises(MarketError, match="either network limits or an AC base case"):
        GridFeasibleClearing({7: 0})
    with pytest.raises(MarketError, match="either network limits or an AC base case"):
        GridFeasibleClearing({7: 0}, limits=_limits(network), ac=case)


def _base_case(network: GridNetwork) -> AcBaseCase:
    p = np.full(network.bus_count, -0.001)  # 1 kW drawn at every bus
    return AcBaseCase.solve(network, p, np.zeros(network.bus_count))


def test_ac_caps_keep_an_offer_that_fits_whole(network: GridNetwork) -> None:
    envelope = ac_export_limits_wh(_base_case(network), np.array([_leaf(network)]), np.array([1_000]))
    assert envelope.caps_wh.tolist() == [1_000] and envelope.rounds == 0


def test_ac_caps_allow_more_than_the_base_case_lp_within_the_ac_limits(network: GridNetwork) -> None:
    case, leaf = _base_case(network), _leaf(network)
    buses, offered = np.array([leaf, leaf - 1]), np.array([200_000, 200_000], dtype=np.int64)
    envelope = ac_export_limits_wh(case, buses, offered)
    base_lp = export_limits_wh(
        NetworkLimits.around(case.flow, network.ptdf, network.branch_limit_mva), buses, offered
    )
    assert base_lp.sum() < envelope.caps_wh.sum() < offered.sum()
    most = MAX_LOADING_PERCENT * (1 - LIMIT_MARGIN) + LOADING_SLACK_PERCENT
    assert envelope.flow.max_loading_percent <= most and envelope.flow.violations().count == 0
    # Close to the margin, not short of it: the linearisation follows the AC grid.
    assert envelope.flow.max_loading_percent > most - 1.0 or envelope.flow.vm_pu.max() > 1.09
    # What the caps allow, offered again, is kept whole.
    again = ac_export_limits_wh(case, buses, envelope.caps_wh)
    assert again.caps_wh.tolist() == envelope.caps_wh.tolist() and again.rounds == 0


def test_the_ac_opf_that_cannot_converge_is_a_grid_model_error(network: GridNetwork) -> None:
    p = np.zeros(network.bus_count)
    leaf = _leaf(network)
    p[leaf] = 0.4  # 400 kW into a 160 kVA grid before any trade: no export keeps its limits
    with pytest.raises(GridModelError, match="AC OPF did not converge"):
        acopf_exports_wh(network, p, np.zeros(network.bus_count), np.array([leaf]), np.array([1_000]))


def test_a_limit_without_a_value_limits_nothing() -> None:
    """A branch out of service or a bus cut off has no value in the power flow (NaN): its row
    drops out instead of making the LP's input invalid; the other limits still hold."""
    limits = LinearLimits(
        np.array([np.nan, 0.0]),
        np.full(2, -np.inf),
        np.array([1.0, 0.004]),
        np.array([[5.0, 5.0], [1.0, 1.0]]),
    )
    caps = export_limits_wh(limits, np.array([0, 1], dtype=np.int64), np.array([600, 600], dtype=np.int64))
    # 0.004 MW of room over the interval is 1,000 Wh, shared by the two sellers.
    assert int(caps.sum()) == 1_000
