"""Access-control matrix generated from FUNCTION_ROLES and the artifacts' ABIs: every gated
function refuses every named actor without its role, lets its role holder past the gate, and
no state-changing function of any deployed contract is left out of the map."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hardening_world import (
    ACCESS_ERRORS,
    ACTOR_ROLES,
    MANAGED,
    MANAGER_ADMIN_FUNCTIONS,
    MULTISIG_SELF_FUNCTIONS,
    OPEN_TO_CALLERS,
    OTHER_GATES,
    OWNERS,
    ROLES,
    World,
    sample_args,
    state_changing,
)

from gridledger.chain import deploy
from gridledger.chain.abi import DEPLOYABLE, load_artifact
from gridledger.chain.deploy import ADMIN, FUNCTION_ROLES
from gridledger.errors import ContractRevertError

MANAGER = load_artifact("GridAccessManager")
ROLE_IDS = {
    name: getattr(deploy, name)
    for name in (
        "ADMIN",
        "METER_OPERATOR",
        "GATEWAY",
        "GRID_OPERATOR",
        "MARKET_OPERATOR",
        "VERIFIER",
        "REGULATOR",
        "EMERGENCY",
        "MARKET_ESCROW",
    )
}

RESTRICTED = [
    (contract, fn, role) for contract, roles in FUNCTION_ROLES.items() for fn, role in roles.items()
]
REFUSALS = [
    pytest.param(contract, fn, actor, "AccessManagedUnauthorized", id=f"{contract}.{fn}-{actor}")
    for contract, fn, role in RESTRICTED
    for actor, held in ACTOR_ROLES.items()
    if role not in held
] + [
    pytest.param(contract, fn, actor, error, id=f"{contract}.{fn}-{actor}")
    for contract, gates in OTHER_GATES.items()
    for fn, error in gates.items()
    for actor in ACTOR_ROLES
    if OWNERS.get(contract) != actor
]
# What the role holder of each gate is: the role map's, ADMIN (multisig) for the manager's own
# administration, the multisig itself (through its execute, as ADMIN does) for its signer set.
HOLDER_CALLS = (
    [pytest.param(contract, fn, role, id=f"{contract}.{fn}") for contract, fn, role in RESTRICTED]
    + [
        pytest.param("GridAccessManager", fn, ADMIN, id=f"GridAccessManager.{fn}")
        for fn in MANAGER_ADMIN_FUNCTIONS
    ]
    + [
        pytest.param("GovernanceMultisig", fn, ADMIN, id=f"GovernanceMultisig.{fn}")
        for fn in MULTISIG_SELF_FUNCTIONS
    ]
)


def test_roles_of_named_actors_match_the_chain(world: World) -> None:
    held = {
        name: frozenset(
            role
            for role in ROLES
            if world.chain.call(MANAGER, world.system.manager, "hasRole", role, address)[0]
        )
        for name, address in world.actors.items()
    }
    assert held == ACTOR_ROLES


@pytest.mark.parametrize(("contract", "fn", "actor", "error"), REFUSALS)
def test_gated_function_refuses_actor_without_the_role(
    world: World, contract: str, fn: str, actor: str, error: str
) -> None:
    args = sample_args(load_artifact(contract), fn, world.actors["outsider"])
    assert world.refusal(world.actors[actor], contract, fn, *args) == error


@pytest.mark.parametrize(("contract", "fn", "role"), HOLDER_CALLS)
def test_gated_function_lets_its_role_holder_past_the_gate(
    world: World, contract: str, fn: str, role: int
) -> None:
    # Generated arguments may still be refused by the function's own checks; only the access
    # errors mean the gate itself stopped the holder.
    args = sample_args(load_artifact(contract), fn, world.actors["outsider"])
    assert world.as_role(role, contract, fn, *args) not in ACCESS_ERRORS


@pytest.mark.parametrize(("contract", "fn"), [(c, f) for c in OWNERS for f in OTHER_GATES[c]])
def test_owner_gated_function_lets_its_owner_past_the_gate(world: World, contract: str, fn: str) -> None:
    owner = world.actors[OWNERS[contract]]
    world.send(owner, contract, fn, *sample_args(load_artifact(contract), fn, world.actors["outsider"]))


@pytest.mark.parametrize(("contract", "fn", "role"), RESTRICTED, ids=[f"{c}.{f}" for c, f, _ in RESTRICTED])
def test_manager_execute_refuses_outsider_relaying_a_restricted_call(
    world: World, contract: str, fn: str, role: int
) -> None:
    artifact = load_artifact(contract)
    data = artifact.encode_call(fn, sample_args(artifact, fn, world.actors["outsider"]))
    refused = world.refusal(
        world.actors["outsider"], "GridAccessManager", "execute", world.address_of(contract), data
    )
    assert refused == "AccessManagerUnauthorizedCall"


@pytest.mark.parametrize(("contract", "fn", "role"), RESTRICTED, ids=[f"{c}.{f}" for c, f, _ in RESTRICTED])
def test_role_map_is_what_the_manager_enforces(world: World, contract: str, fn: str, role: int) -> None:
    artifact = load_artifact(contract)
    on_chain = world.chain.call(
        MANAGER,
        world.system.manager,
        "getTargetFunctionRole",
        world.address_of(contract),
        artifact.selector(fn),
    )
    assert on_chain == (role,)


OPEN = [(contract, fn) for contract, fns in OPEN_TO_CALLERS.items() for fn in sorted(fns)]


@pytest.mark.parametrize(("contract", "fn"), OPEN, ids=[f"{c}.{f}" for c, f in OPEN])
def test_open_function_lets_a_participant_past_every_gate(world: World, contract: str, fn: str) -> None:
    # A function that gained `restricted` without a FUNCTION_ROLES entry defaults to ADMIN and
    # would refuse the participant here.
    participant = world.actors["participant"]
    try:
        world.send(
            participant, contract, fn, *sample_args(load_artifact(contract), fn, world.actors["outsider"])
        )
    except ContractRevertError as refused:
        assert refused.error_name not in ACCESS_ERRORS


@pytest.mark.parametrize("contract", DEPLOYABLE)
def test_every_state_changing_function_is_gated_or_declared_open(contract: str) -> None:
    gated = set(FUNCTION_ROLES.get(contract, {})) | set(OTHER_GATES.get(contract, {}))
    declared = gated | OPEN_TO_CALLERS[contract]
    assert gated.isdisjoint(OPEN_TO_CALLERS[contract])
    assert set(state_changing(load_artifact(contract))) == declared


def test_every_managed_contract_is_in_the_role_map() -> None:
    managed = {name for name in DEPLOYABLE if "setAuthority" in load_artifact(name).functions}
    assert managed == set(MANAGED)


DOC_CONTRACTS = {
    "registry": "SmartMeterRegistry",
    "token": "EnergyToken",
    "market": "EnergyMarket",
    "grid": "GridManagement",
    "carbon": "CarbonCredit",
    "carbon exchange": "CarbonExchange",
}


def _documented_roles() -> set[tuple[str, str, int]]:
    """(contract, function, role) of each row of docs/governance.md's role table that names functions."""
    text = (Path(__file__).parents[2] / "docs" / "governance.md").read_text()
    documented = set()
    for row in re.findall(r"^\| ([^|`]+)(`[^|]+)\| (\w+)[^|]* \|$", text, flags=re.MULTILINE):
        labels, functions, role = row
        for label in re.split(r", | and ", labels.strip()):
            for fn in re.findall(r"`(\w+)`", functions):
                documented.add((DOC_CONTRACTS[label], fn, ROLE_IDS[role]))
    return documented


def test_role_table_of_the_docs_is_the_role_map() -> None:
    assert _documented_roles() == set(RESTRICTED)
