"""Congestion forced on purpose: PV scaled by 5 on a small rural feeder for two summer days.
Unconstrained clearing overloads the grid; grid-feasible clearing curtails instead."""

from __future__ import annotations

import dataclasses
import statistics
from datetime import date

import pytest

from gridledger.grid.network import GridNetwork
from gridledger.sim.grid_study import GridStudy, study_grid
from gridledger.sim.scenario import build_community

GRID = "1-LV-rural1--0-sw"


@pytest.fixture(scope="module")
def congested() -> GridStudy:
    community = build_community(GRID, start=date(2025, 6, 19), days=2)
    community = dataclasses.replace(community, pv_wh=community.pv_wh * 5)
    return study_grid(community, GridNetwork(GRID))


def test_unconstrained_clearing_causes_violations_feasible_clearing_none(congested: GridStudy) -> None:
    assert congested.unconstrained_violations > 0
    assert congested.violations_caused_by_trades == 0
    assert max(o.unconstrained_max_loading_percent for o in congested.outcomes) > 100
    assert max(o.feasible_max_loading_percent for o in congested.outcomes) <= 100


def test_feasible_clearing_curtails_only_when_the_grid_is_congested(congested: GridStudy) -> None:
    for outcome in congested.outcomes:
        if outcome.unconstrained_new_violations == 0 and outcome.unconstrained_max_loading_percent < 90:
            assert outcome.feasible_volume_wh == outcome.unconstrained_volume_wh
    assert sum(o.curtailed_wh for o in congested.outcomes) > 0


def test_trade_losses_are_allocated_to_sellers_in_full(congested: GridStudy) -> None:
    total = sum(o.trade_losses_wh for o in congested.outcomes if o.feasible_volume_wh > 0)
    assert total > 0
    assert sum(congested.seller_losses_wh.values()) == pytest.approx(total)


def test_grid_as_it_is_has_no_violations_either_way() -> None:
    study = study_grid(build_community(GRID, start=date(2025, 6, 19)), GridNetwork(GRID))
    assert study.unconstrained_violations == 0 == study.violations_caused_by_trades


def test_the_constrained_clearing_time_counts_only_intervals_the_network_constrains(
    congested: GridStudy,
) -> None:
    constrained = sorted(o.clearing_ms for o in congested.outcomes if o.unconstrained_new_violations > 0)
    assert constrained, "the congested week has constrained intervals"
    assert congested.constrained_clearing_ms(50) == statistics.median(constrained)
    assert constrained[0] <= congested.constrained_clearing_ms(95) <= constrained[-1]
    unconstrained = [o for o in congested.outcomes if o.unconstrained_new_violations == 0]
    quiet = GridStudy(congested.grid_code, unconstrained)
    assert quiet.constrained_clearing_ms(50) == 0.0
