"""N-1 secure export limits: after any single line or transformer outage every remaining branch
stays within its rating, checked with AC power flows of every contingency."""

from __future__ import annotations

import numpy as np
import pytest

from gridledger.grid.contingency import ContingencyModel
from gridledger.grid.network import MAX_LOADING_PERCENT, GridNetwork
from gridledger.market.feasible import (
    MW_PER_WH_IN_INTERVAL,
    AcBaseCase,
    ac_export_limits_wh,
    export_limits_wh,
)

GRID = "1-LV-rural1--0-sw"  # radial: every outage cuts off what lies below it


@pytest.fixture(scope="module")
def model() -> ContingencyModel:
    return ContingencyModel.of(GridNetwork(GRID))


def _worst_loading_after_any_outage(
    model: ContingencyModel, checker: GridNetwork, p_mw: np.ndarray, q_mvar: np.ndarray
) -> float:
    """The highest branch loading over the AC power flows of every single outage; buses an
    outage cuts off neither draw nor export. An outage that cuts off every household (the
    transformer's) leaves nothing to load."""
    worst = 0.0
    households = {checker.position(int(b)) for b in checker.line_buses.ravel()}
    for topology in model.contingencies():
        checker.set_out_of_service(*topology)
        cut = checker.unsupplied_bus_positions()
        if households <= cut:
            continue
        p, q = p_mw.copy(), q_mvar.copy()
        p[list(cut)] = q[list(cut)] = 0.0
        flow = checker.power_flow(p, q)
        worst = max(worst, float(np.nan_to_num(flow.branch_loading_percent).max()))
    checker.set_out_of_service()
    return worst


def test_n_minus_1_limits_keep_every_branch_within_its_rating_after_any_single_outage(
    model: ContingencyModel,
) -> None:
    network = GridNetwork(GRID)
    upstream = {network.position(int(b)) for b in network.trafo_buses[:, 0]} | {
        network.position(b) for b in network.slack_buses
    }
    homes = np.array([b for b in range(network.bus_count) if b not in upstream], dtype=np.int64)
    p_base = np.zeros(network.bus_count)
    p_base[homes] = -0.01  # 10 kW drawn at every household bus
    q_base = p_base * 0.33
    case = AcBaseCase.solve(network, p_base, q_base)
    offered = np.full(len(homes), 20_000, dtype=np.int64)  # 80 kW offered at every bus
    intact = ac_export_limits_wh(case, homes, offered).caps_wh
    secure = export_limits_wh(model.limits(p_base, case.flow.branch_q_mvar), homes, intact)
    assert np.all(secure <= intact) and secure.sum() < intact.sum()

    def injections(caps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        exported = np.bincount(homes, weights=caps * MW_PER_WH_IN_INTERVAL, minlength=network.bus_count)
        return p_base + exported, q_base

    checker = GridNetwork(GRID)
    # The intact grid's caps overload a branch when a loaded part trips (its load no longer
    # takes up exports); the N-1 caps keep every branch within its rating.
    assert _worst_loading_after_any_outage(model, checker, *injections(intact)) > MAX_LOADING_PERCENT
    assert _worst_loading_after_any_outage(model, checker, *injections(secure)) <= MAX_LOADING_PERCENT


def test_contingencies_are_every_branch_in_service_on_top_of_the_outages_in_force(
    model: ContingencyModel,
) -> None:
    network = model.network
    lines, trafos = len(network.net.line), len(network.net.trafo)
    assert len(model.contingencies()) == lines + trafos
    out = (frozenset({3}), frozenset())
    after = model.contingencies(out)
    assert len(after) == lines + trafos - 1
    assert all(3 in lines_out for lines_out, _ in after)
    # A line out of service carries nothing in any contingency on top of it.
    limits = model.limits(np.zeros(network.bus_count), np.zeros(lines + trafos), out)
    branches = lines + trafos
    assert not limits.per_mw.reshape(len(after), branches, -1)[:, 3].any()
