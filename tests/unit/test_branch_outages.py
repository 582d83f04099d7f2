"""Branch outages (grid/outages.py): how they are written and checked, what they cut off and
which zones they fault, and the network back as shipped afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from gridledger.chain.embedded import EmbeddedChain
from gridledger.errors import ScenarioError, SimulationError
from gridledger.grid.network import GridNetwork
from gridledger.grid.outages import BranchOutage, check_outages, outage_states
from gridledger.grid.zones import grid_zones
from gridledger.sim.run import Simulation
from gridledger.sim.scenario import build_community, with_interruptions

GRID = "1-LV-rural1--0-sw"  # 13 lines, one transformer


@pytest.fixture(scope="module")
def network() -> GridNetwork:
    return GridNetwork(GRID)


def test_an_outage_is_written_kind_position_first_interval_and_length() -> None:
    assert BranchOutage.parse("line:2@44+8") == BranchOutage("line", 2, 44, 8)
    assert BranchOutage.parse(" trafo:0@0+1 ") == BranchOutage("trafo", 0, 0, 1)
    assert str(BranchOutage("line", 2, 44, 8)) == "line:2@44+8"


@pytest.mark.parametrize(
    "text", ["line:2@44", "cable:2@44+8", "line:-1@4+8", "line:2@44+0", "", "line:x@1+1"]
)
def test_a_malformed_outage_is_refused(text: str) -> None:
    with pytest.raises(ScenarioError, match="--branch-outage"):
        BranchOutage.parse(text)


def test_an_outage_of_a_branch_the_grid_lacks_or_beyond_the_run_is_refused(network: GridNetwork) -> None:
    with pytest.raises(ScenarioError, match="has 13 lines"):
        check_outages([BranchOutage("line", 13, 0, 1)], network, 96)
    with pytest.raises(ScenarioError, match="has 1 trafos"):
        check_outages([BranchOutage("trafo", 1, 0, 1)], network, 96)
    with pytest.raises(ScenarioError, match="the run has 96 intervals"):
        check_outages([BranchOutage("line", 0, 96, 1)], network, 96)
    check_outages([BranchOutage("line", 12, 95, 4)], network, 96)  # may run past the end


def test_a_line_outage_cuts_off_its_downstream_buses_and_faults_its_feeder(network: GridNetwork) -> None:
    zones = grid_zones(network)
    states = outage_states(network, zones, [BranchOutage("line", 2, 10, 3)], 96)
    assert sorted(states) == [10, 11, 12]
    state = states[10]
    assert state.lines == {2} and not state.trafos and state.unsupplied_buses
    (faulted,) = state.faulted_zones
    feeder = next(z for z in zones if z.zone_id == faulted)
    assert 2 in feeder.lines and state.unsupplied_buses <= feeder.bus_positions
    # The network is back as shipped: every bus supplied, and power flows see every branch.
    assert network.unsupplied_bus_positions() == frozenset()
    flow = network.power_flow(np.zeros(network.bus_count), np.zeros(network.bus_count))
    assert not np.isnan(flow.vm_pu).any()


def test_a_transformer_outage_faults_every_zone(network: GridNetwork) -> None:
    zones = grid_zones(network)
    state = outage_states(network, zones, [BranchOutage("trafo", 0, 0, 1)], 4)[0]
    assert state.faulted_zones == {z.zone_id for z in zones}
    slack = network.position(next(iter(network.slack_buses)))
    assert state.unsupplied_buses == frozenset(range(network.bus_count)) - {slack}


def test_overlapping_outages_cut_off_what_each_does(network: GridNetwork) -> None:
    zones = grid_zones(network)
    first, second = BranchOutage("line", 2, 0, 4), BranchOutage("line", 0, 2, 4)
    states = outage_states(network, zones, [first, second], 8)
    alone = outage_states(network, zones, [first], 1)[0]
    other = outage_states(network, zones, [second], 3)[2]
    assert states[0] == alone and states[5] == outage_states(network, zones, [second], 6)[5]
    assert states[2].unsupplied_buses == alone.unsupplied_buses | other.unsupplied_buses
    assert states[2].faulted_zones == alone.faulted_zones | other.faulted_zones


def test_an_interruption_mask_of_another_shape_is_refused() -> None:
    community = build_community(GRID)
    with pytest.raises(ScenarioError, match="interruption mask of shape"):
        with_interruptions(community, np.zeros((1, community.intervals), dtype=bool))


def test_outages_without_a_network_model_are_refused() -> None:
    community = build_community(GRID)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    with pytest.raises(SimulationError, match="branch outages need the grid's network model"):
        Simulation(chain, community, outages=[BranchOutage("line", 2, 0, 1)])
