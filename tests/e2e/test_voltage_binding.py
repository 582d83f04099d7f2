"""A scenario where voltage, not loading, limits the exports: `1-LV-semiurb5--0-sw` with PV x10
and the upstream grid holding 1.05 pu at the transformer. The market's caps keep every bus
within the band less the margin in the AC power flow, with the branches well below theirs; the
LP's voltage rows are what does it (without them the AC grid leaves the band); and the caps
curtail at most 1 % more than pandapower's AC OPF."""

from __future__ import annotations

import dataclasses
import random
from datetime import date

import numpy as np
import pytest

from gridledger.grid.network import VOLTAGE_BAND_PU, GridNetwork
from gridledger.market.feasible import (
    LIMIT_MARGIN,
    MW_PER_WH_IN_INTERVAL,
    VOLTAGE_SLACK_PU,
    AcBaseCase,
    NetworkLimits,
    export_limits_wh,
)
from gridledger.sim.grid_study import compare_with_acopf
from gridledger.sim.injections import InjectionModel
from gridledger.sim.scenario import Community, build_community
from gridledger.sim.strategy import own_use_split

GRID = "1-LV-semiurb5--0-sw"
UPSTREAM_VM_PU = 1.05
PV_SCALE = 10.0
INTERVALS = sorted(random.Random(5).sample(range(42, 60), 3))  # sunny hours of 21 June
VM_TARGET_PU = 1 + VOLTAGE_BAND_PU - LIMIT_MARGIN * VOLTAGE_BAND_PU
OPF_TOLERANCE_SHARE = 0.001


@pytest.fixture(scope="module")
def network() -> GridNetwork:
    return GridNetwork(GRID, upstream_vm_pu=UPSTREAM_VM_PU)


@pytest.fixture(scope="module")
def community() -> Community:
    community = build_community(GRID, start=date(2025, 6, 21), days=1)
    return dataclasses.replace(community, pv_wh=community.pv_wh * PV_SCALE)


def test_voltage_binds_and_the_caps_keep_it_within_the_band_less_the_margin(
    network: GridNetwork, community: Community
) -> None:
    comparisons = compare_with_acopf(community, network, INTERVALS)
    assert len(comparisons) == len(INTERVALS)
    for compared in comparisons:
        assert compared.curtailed_wh > 0 and compared.new_violations == 0
        # Voltage is the limit: a bus sits at the target, every branch well below its margin.
        assert VM_TARGET_PU - 0.001 <= compared.max_vm_pu <= VM_TARGET_PU + VOLTAGE_SLACK_PU
        assert compared.max_loading_percent < 100 * (1 - LIMIT_MARGIN) - 5
        allowed_excess = 0.01 * compared.acopf_curtailed_wh + OPF_TOLERANCE_SHARE * compared.offered_wh
        assert compared.excess_wh <= allowed_excess, compared


def test_without_the_voltage_rows_the_lp_lets_the_ac_grid_leave_the_band(
    network: GridNetwork, community: Community
) -> None:
    model = InjectionModel(community, network)
    for k in INTERVALS:
        surplus, _ = own_use_split(model.exports[:, k], model.imports[:, k])
        sellers = np.flatnonzero(surplus > 0)
        buses, offered = model.bus_position[sellers], surplus[sellers].astype(np.int64)
        case = AcBaseCase.solve(network, *model.base(k))
        limits = NetworkLimits.around(case.flow, network.ptdf, network.branch_limit_mva)
        blind = export_limits_wh(dataclasses.replace(limits, vm_max_pu=np.inf), buses, offered)
        per_bus_mw = np.bincount(buses, weights=blind.astype(np.float64), minlength=network.bus_count)
        flow = network.power_flow(case.p_base_mw + per_bus_mw * MW_PER_WH_IN_INTERVAL, case.q_mvar)
        assert flow.violations().buses, f"interval {k}: no bus left the band"
        assert flow.max_loading_percent < 100  # the branches would have carried it
