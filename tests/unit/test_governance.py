"""Operations that need the multisig: ending a grid emergency with two of three governors."""

from __future__ import annotations

import pytest

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System, deploy_local_system, governor_keys, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.governance import Governance
from gridledger.errors import ContractRevertError, MultisigError
from gridledger.grid.onchain import GridRegistrar, ZoneState

START = 1_750_000_500
GRID = load_artifact("GridManagement")
FEEDER = 1


@pytest.fixture
def feeder_in_emergency() -> tuple[EmbeddedChain, System]:
    chain = EmbeddedChain(START)
    system = deploy_local_system(chain, [])
    GridRegistrar(chain, system, named_account("grid-operator")).create_zone(FEEDER, 0, 10_000)
    chain.transact(named_account("regulator"), GRID, system.grid, "declareEmergency", FEEDER)
    return chain, system


def _state(chain: EmbeddedChain, system: System) -> ZoneState:
    return ZoneState(chain.call(GRID, system.grid, "zoneOf", FEEDER)[0][2])


def test_execute_two_of_three_governors_end_the_emergency(
    feeder_in_emergency: tuple[EmbeddedChain, System],
) -> None:
    chain, system = feeder_in_emergency
    governance = Governance(chain, system.multisig, governor_keys()[1:], named_account("grid-operator"))
    governance.execute(GRID, system.grid, "endEmergency", FEEDER)
    assert _state(chain, system) == ZoneState.NORMAL


def test_execute_one_governor_is_refused(feeder_in_emergency: tuple[EmbeddedChain, System]) -> None:
    chain, system = feeder_in_emergency
    governance = Governance(chain, system.multisig, governor_keys()[:1], named_account("grid-operator"))
    with pytest.raises(MultisigError, match="MultisigInvalidSignatures"):
        governance.execute(GRID, system.grid, "endEmergency", FEEDER)
    assert _state(chain, system) == ZoneState.EMERGENCY


def test_end_emergency_directly_is_refused_to_the_grid_operator(
    feeder_in_emergency: tuple[EmbeddedChain, System],
) -> None:
    chain, system = feeder_in_emergency
    with pytest.raises(ContractRevertError) as refused:
        chain.transact(named_account("grid-operator"), GRID, system.grid, "endEmergency", FEEDER)
    assert refused.value.error_name == "AccessManagedUnauthorized"
