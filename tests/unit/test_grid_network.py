"""The grid engine against pandapower run directly on the SimBench grid, and its sensitivities."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest
import simbench

from gridledger.errors import GridModelError
from gridledger.grid.network import GridNetwork, PowerFlow, Violations

GRID = "1-LV-rural2--0-sw"
NOON_JUNE_21 = 96 * 172 + 48


@pytest.fixture(scope="module")
def network() -> GridNetwork:
    return GridNetwork(GRID)


@pytest.fixture(scope="module")
def reference() -> tuple[object, np.ndarray, np.ndarray]:
    """pandapower on SimBench's own load and PV elements at noon of 21 June, and the same
    state as net injections per bus."""
    net = simbench.get_simbench_net(GRID)
    profiles = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    net.load["p_mw"] = profiles[("load", "p_mw")].iloc[NOON_JUNE_21].to_numpy()
    net.load["q_mvar"] = profiles[("load", "q_mvar")].iloc[NOON_JUNE_21].to_numpy()
    net.sgen["p_mw"] = profiles[("sgen", "p_mw")].iloc[NOON_JUNE_21].to_numpy()
    pp.runpp(net, numba=False)
    position = {int(b): i for i, b in enumerate(net.bus.index)}
    p = np.zeros(len(net.bus))
    q = np.zeros(len(net.bus))
    np.add.at(p, [position[int(b)] for b in net.load.bus], -net.load.p_mw.to_numpy())
    np.add.at(q, [position[int(b)] for b in net.load.bus], -net.load.q_mvar.to_numpy())
    np.add.at(p, [position[int(b)] for b in net.sgen.bus], net.sgen.p_mw.to_numpy())
    return net, p, q


def test_power_flow_equals_pandapower_on_simbench_elements(network: GridNetwork, reference: tuple) -> None:
    net, p, q = reference
    flow = network.power_flow(p, q)
    np.testing.assert_allclose(flow.vm_pu, net.res_bus.vm_pu.to_numpy(), atol=1e-8)
    lines, trafos = net.res_line.loading_percent.to_numpy(), net.res_trafo.loading_percent.to_numpy()
    np.testing.assert_allclose(flow.line_loading_percent, lines, atol=1e-5)
    np.testing.assert_allclose(flow.trafo_loading_percent, trafos, atol=1e-5)
    assert flow.losses_mw == pytest.approx(net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum(), rel=1e-6)


@pytest.fixture(scope="module")
def small_step(network: GridNetwork, reference: tuple) -> tuple[PowerFlow, PowerFlow, int]:
    """The noon state, and the same with 1 kW more injected at the first PV unit's bus."""
    net, p, q = reference
    flow = network.power_flow(p, q)
    leaf = network.position(int(net.sgen.bus.iloc[0]))
    stepped = p.copy()
    stepped[leaf] += 0.001
    return flow, network.power_flow(stepped, q), leaf


def test_voltage_sensitivity_matches_a_small_step(small_step: tuple[PowerFlow, PowerFlow, int]) -> None:
    flow, moved, leaf = small_step
    np.testing.assert_allclose((moved.vm_pu - flow.vm_pu) / 0.001, flow.dv_dp_pu_per_mw[:, leaf], atol=2e-3)
    assert flow.dv_dp_pu_per_mw[leaf, leaf] > 0  # injecting raises the voltage where it enters


def test_ptdf_matches_a_small_step(
    network: GridNetwork, small_step: tuple[PowerFlow, PowerFlow, int]
) -> None:
    flow, moved, leaf = small_step
    # DC factors against AC flows: they differ by the losses the step adds.
    step_flows = (moved.branch_p_mw - flow.branch_p_mw) / 0.001
    np.testing.assert_allclose(step_flows, network.ptdf[:, leaf], atol=1e-2)


def test_violations_reports_overload_and_what_the_base_case_lacks(network: GridNetwork) -> None:
    p = np.zeros(network.bus_count)
    q = np.zeros(network.bus_count)
    calm = network.power_flow(p, q)
    assert calm.violations().count == 0
    p[network.position(int(network.line_buses[0][1]))] = 0.4  # 400 kW into a 250 kVA transformer
    stressed = network.power_flow(p, q)
    assert 0 in stressed.violations().trafos
    assert stressed.violations().beyond(calm.violations()) == stressed.violations()
    none = Violations(frozenset(), frozenset(), frozenset())
    assert stressed.violations().beyond(stressed.violations()) == none


def test_grid_network_rejects_bad_input(network: GridNetwork) -> None:
    with pytest.raises(GridModelError, match="could not be loaded"):
        GridNetwork("1-LV-nowhere--0-sw")
    with pytest.raises(GridModelError, match="one value per bus"):
        network.power_flow(np.zeros(3), np.zeros(3))
    with pytest.raises(GridModelError, match="has no bus"):
        network.position(10_000)


@pytest.mark.parametrize(
    "code", ["1-LV-rural1--0-sw", "1-LV-semiurb4--0-sw", "1-LV-urban6--0-sw", "1-MV-semiurb--0-sw"]
)
def test_simbench_grids_load_power_flow_and_split_into_zones(code: str) -> None:
    from gridledger.grid.zones import grid_zones

    network = GridNetwork(code)
    flow = network.power_flow(np.zeros(network.bus_count), np.zeros(network.bus_count))
    assert flow.violations().count == 0
    assert network.ptdf.shape == (len(network.line_buses) + len(network.trafo_buses), network.bus_count)
    zones = grid_zones(network)
    covered = [b for zone in zones for b in zone.bus_positions]
    assert sorted(covered) == list(range(network.bus_count))  # every bus in exactly one zone
    assert all(zone.capacity_wh > 0 for zone in zones)
    assert len(zones) >= 2  # the transformer area and at least one feeder


def test_power_flow_that_cannot_converge_is_a_grid_model_error(network: GridNetwork) -> None:
    p = np.zeros(network.bus_count)
    p[network.position(int(network.line_buses[0][1]))] = -50.0  # 50 MW drawn from a 250 kVA grid
    with pytest.raises(GridModelError, match="did not converge"):
        network.power_flow(p, np.zeros(network.bus_count))


def test_loading_sensitivity_matches_a_small_step(network: GridNetwork, reference: tuple) -> None:
    net, p, q = reference
    leaf = network.position(int(net.sgen.bus.iloc[0]))
    stepped = p.copy()
    # 10 W: a branch carrying next to nothing must not turn round within the step (|I| has a
    # kink at zero).
    stepped[leaf] += 1e-5
    moved = network.power_flow(stepped, q)
    flow = network.power_flow(p, q)  # the sensitivity is the last power flow's
    step_loading = (moved.branch_loading_percent - flow.branch_loading_percent) / 1e-5
    np.testing.assert_allclose(step_loading, network.loading_sensitivity()[:, leaf], rtol=1e-2, atol=1e-2)


def test_a_line_out_of_service_isolates_its_buses_and_has_no_sensitivity() -> None:
    network = GridNetwork(GRID)
    p = np.full(network.bus_count, -0.002)
    q = np.zeros(network.bus_count)
    network.net.line.loc[network.net.line.index[3], "in_service"] = False
    flow = network.power_flow(p, q)
    isolated = np.flatnonzero(np.isnan(flow.vm_pu))
    assert len(isolated) > 0 and np.isnan(flow.line_loading_percent[3])
    assert not flow.dv_dp_pu_per_mw[:, isolated].any() and not flow.dv_dp_pu_per_mw[isolated].any()
    sensitivity = network.loading_sensitivity()
    assert not sensitivity[3].any()
    # The branches still in the power flow keep a sensitivity that matches a small step.
    live = int(np.flatnonzero(~np.isnan(flow.vm_pu) & (np.diag(flow.dv_dp_pu_per_mw) > 0))[-1])
    stepped = p.copy()
    stepped[live] += 0.001
    moved = network.power_flow(stepped, q)
    step_loading = np.nan_to_num(moved.branch_loading_percent - flow.branch_loading_percent) / 0.001
    np.testing.assert_allclose(step_loading, sensitivity[:, live], rtol=1e-2, atol=1e-2)


def test_loading_sensitivity_refuses_a_power_flow_model_it_cannot_map(network: GridNetwork) -> None:
    network.power_flow(np.zeros(network.bus_count), np.zeros(network.bus_count))
    internal = network.net._ppc["internal"]
    internal["branch"] = internal["branch"][1:]
    with pytest.raises(GridModelError, match="branches are not the model's"):
        network.loading_sensitivity()
    network.power_flow(np.zeros(network.bus_count), np.zeros(network.bus_count))  # a whole model again


def test_the_upstream_voltage_is_held_at_the_slack_and_checked() -> None:
    network = GridNetwork(GRID, upstream_vm_pu=1.05)
    flow = network.power_flow(np.zeros(network.bus_count), np.zeros(network.bus_count))
    slack = network.position(next(iter(network.slack_buses)))
    assert flow.vm_pu[slack] == pytest.approx(1.05)
    for wrong in (0.5, 1.2, float("nan")):
        with pytest.raises(GridModelError, match=r"upstream voltage must be from 0\.9 to 1\.1 pu"):
            GridNetwork(GRID, upstream_vm_pu=wrong)
