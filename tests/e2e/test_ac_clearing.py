"""The market's AC-accurate export caps against pandapower: on SimBench LV feeders at PV x1 to
x10, the AC power flow at the caps breaks no limit the base case keeps and stays within the
margin, and the caps curtail at most 1 % more than pandapower's AC OPF with the same margins
(`pp.runopp`), never more than the base-case LP alone."""

from __future__ import annotations

import dataclasses
import random
from datetime import date

import pytest

from gridledger.grid.network import GridNetwork
from gridledger.market.feasible import LIMIT_MARGIN
from gridledger.sim.grid_study import AcopfComparison, compare_with_acopf
from gridledger.sim.scenario import build_community

SUMMER_DAY = date(2025, 6, 21)
# Random intervals of the day's sunny hours, the same on every run.
INTERVALS = sorted(random.Random(17).sample(range(38, 66), 3))
# The OPF's interior-point solution leaves a little curtailment even where none is needed.
OPF_TOLERANCE_SHARE = 0.001


@pytest.fixture(scope="module", params=["1-LV-rural1--0-sw", "1-LV-rural2--0-sw", "1-LV-semiurb4--0-sw"])
def network(request: pytest.FixtureRequest) -> GridNetwork:
    return GridNetwork(str(request.param))


@pytest.mark.parametrize("pv_scale", [1.0, 3.0, 5.0, 10.0])
def test_acCaps_feasibleAndWithinOnePercentOfTheAcopf(network: GridNetwork, pv_scale: float) -> None:
    community = build_community(network.code, start=SUMMER_DAY, days=1)
    community = dataclasses.replace(community, pv_wh=community.pv_wh * pv_scale)
    comparisons = compare_with_acopf(community, network, INTERVALS)
    assert comparisons, "the sunny hours have a surplus to export"
    for compared in comparisons:
        _check(compared)


def _check(compared: AcopfComparison) -> None:
    assert compared.new_violations == 0
    assert compared.max_loading_percent <= 100 * (1 - LIMIT_MARGIN) + 0.05 or compared.curtailed_wh == 0
    assert compared.curtailed_wh <= compared.base_lp_curtailed_wh
    allowed_excess = 0.01 * compared.acopf_curtailed_wh + OPF_TOLERANCE_SHARE * compared.offered_wh
    assert compared.excess_wh <= allowed_excess, compared
