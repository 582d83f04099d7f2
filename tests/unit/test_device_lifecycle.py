"""Bounded minting power as the Python side deploys and uses it: the registry reads node
capacities from the deployed GridManagement, and the multisig approves large devices."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System, governor_keys
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.governance import Governance
from gridledger.cli.demo import FIRMWARE, LOCAL_FEEDER, Participant, _account
from gridledger.errors import ContractRevertError
from gridledger.grid.onchain import HOUSEHOLD_CONNECTION_W, GridRegistrar, NodeType, connection_capacity_w
from gridledger.meter.signing import DeviceKey, encode_device_data

World = tuple[EmbeddedChain, System, list[Participant], int]
REGISTRY = load_artifact("SmartMeterRegistry")
GRID = load_artifact("GridManagement")
PRODUCER, SOLAR = 0, 0


def _new_node(chain: EmbeddedChain, system: System, account: str, capacity_w: int) -> int:
    registrar = GridRegistrar(chain, system, _account("grid-operator"))
    node = registrar.register_node(account, NodeType.PRODUCER, LOCAL_FEEDER)
    if capacity_w:
        registrar.set_connection_capacity(node, capacity_w)
    return node


def _register(chain: EmbeddedChain, system: System, owner: str, node: int, rated_w: int) -> str:
    key = DeviceKey(keccak(text=f"meter-{node}-{rated_w}")).address
    data = encode_device_data(owner, node, PRODUCER, SOLAR, rated_w, FIRMWARE)
    chain.transact(_account("operator"), REGISTRY, system.registry, "registerDevice", key, data)
    return key


def test_deploySystem_wiresRegistryToGrid(demo_world: World) -> None:
    chain, system, _, _ = demo_world
    assert chain.call(REGISTRY, system.registry, "gridManagement")[0].lower() == system.grid.lower()


def test_buildDemo_householdNodesHaveConnectionCapacity(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    for p in participants:
        assert (
            chain.call(GRID, system.grid, "connectionCapacityW", p.grid_node_id)[0] == HOUSEHOLD_CONNECTION_W
        )


def test_registerDevice_nodeWithoutCapacityRaisesTypedError(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    owner = participants[0].owner
    node = _new_node(chain, system, _account("bare-connection"), 0)
    with pytest.raises(ContractRevertError) as raised:
        _register(chain, system, owner, node, 1_000)
    assert raised.value.error_name == "NoConnectionCapacity"


def test_registerDevice_largeDeviceNeedsTheMultisig(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    owner = participants[0].owner
    node = _new_node(chain, system, _account("solar-farm"), 500_000)
    with pytest.raises(ContractRevertError) as raised:
        _register(chain, system, owner, node, 250_000)
    assert raised.value.error_name == "LargeDeviceNotApproved"
    key = DeviceKey(keccak(text=f"meter-{node}-250000")).address
    governance = Governance(chain, system.multisig, governor_keys()[:2], _account("operator"))
    governance.execute(REGISTRY, system.registry, "approveLargeDevice", key, 250_000)
    _register(chain, system, owner, node, 250_000)
    device_id = chain.call(REGISTRY, system.registry, "deviceIdOf", key)[0]
    assert chain.call(REGISTRY, system.registry, "getDevice", device_id)[0][5] == 250_000


def test_connectionCapacityW_householdOrWhatIsConnected() -> None:
    assert connection_capacity_w(9_000) == HOUSEHOLD_CONNECTION_W
    assert connection_capacity_w(HOUSEHOLD_CONNECTION_W + 1) == HOUSEHOLD_CONNECTION_W + 1
