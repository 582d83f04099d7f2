"""Pause matrix: once EMERGENCY pauses a contract, every state-changing function of it is
refused with EnforcedPause, called by whoever may call it otherwise, except an explicit list
of functions meant to work while paused, each shown to work. A grid zone in emergency halts
transfers and settlement in that zone only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hardening_world import OPEN_TO_CALLERS, World, gated_demo_settlement, sample_args, state_changing

from gridledger.carbon.verifier import CarbonVerifier
from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import ADMIN, EMERGENCY, FUNCTION_ROLES, named_account
from gridledger.chain.eip712 import domain_separator, typed_digest
from gridledger.chain.hashing import keccak
from gridledger.cli.demo import FIRMWARE, INTERVAL_S, LOCAL_FEEDER, START_TIME
from gridledger.errors import ContractRevertError
from gridledger.grid.onchain import GridRegistrar, NodeType
from gridledger.market.escrow import PERMIT_TYPEHASH, PERMIT_TYPES
from gridledger.meter.gateway import REJECT_REASONS
from gridledger.meter.signing import FLAG_TAMPER, MeterReading, pack_readings, registry_domain_separator

PAUSABLE = [name for name in FUNCTION_ROLES if "pause" in load_artifact(name).functions]
SUSPENDED = 3  # DeviceStatus.Suspended
OFFERED_GRAMS = 100

Args = Callable[[World], tuple[Any, ...]]


def _permit(world: World) -> tuple[Any, ...]:
    anna, ben = world.participants[:2]
    deadline = world.chain.timestamp + 3_600
    domain = domain_separator("GridLedger Energy", "1", world.chain.chain_id, world.system.token)
    digest = typed_digest(
        domain,
        PERMIT_TYPEHASH,
        PERMIT_TYPES,
        (anna.owner, ben.owner, 1, 0, deadline),
    )
    signature = anna.trader.sign(digest)
    return (anna.owner, ben.owner, 1, deadline, signature[64], signature[:32], signature[32:64])


def _quarantined_carla(world: World) -> tuple[Any, ...]:
    carla = world.participants[2]
    start = world.chain.timestamp - world.chain.timestamp % INTERVAL_S
    world.chain.set_time(start + INTERVAL_S + 10)
    tampered = MeterReading(
        carla.device_id, 5, start, carla.import_wh, carla.export_wh, FLAG_TAMPER, FIRMWARE
    )
    signed = carla.key.sign_reading(
        tampered, registry_domain_separator(world.chain.chain_id, world.system.registry)
    )
    world.send(world.actors["gateway"], "SmartMeterRegistry", "submitReadings", pack_readings([signed]))
    return (carla.device_id, carla.import_wh, carla.export_wh)


def _emergency_on_feeder(world: World) -> tuple[Any, ...]:
    world.send(world.actors["regulator"], "GridManagement", "declareEmergency", LOCAL_FEEDER)
    return (LOCAL_FEEDER,)


def _expired_certificate(world: World) -> tuple[Any, ...]:
    expiry = world.chain.call(load_artifact("CarbonCredit"), world.system.carbon, "certificateExpiry", 1)[0]
    world.chain.set_time(expiry)
    return (1,)


def _fixed(*args: Any) -> Args:
    return lambda _world: args


# Functions meant to work while their contract is paused, and a call that shows it does. The
# arguments are built before the pause, so a builder may prepare state.
EXEMPT: dict[str, dict[str, Args]] = {
    "SmartMeterRegistry": {
        "unpause": _fixed(),
        # Administration of devices and firmware goes on: an emergency is when a compromised
        # device is suspended or a firmware revoked.
        "setDeviceStatus": lambda w: (w.participants[0].device_id, SUSPENDED),
        "resetQuarantine": _quarantined_carla,
        "setFirmwareApproval": _fixed(FIRMWARE, False),
        "setReadingWindow": _fixed(3_600),
        # Taking a device out of service must stay possible in an emergency.
        "decommissionDevice": lambda w: (w.participants[0].device_id,),
        "setLargeDeviceThreshold": _fixed(200_000),
        "approveLargeDevice": lambda w: (w.actors["outsider"], 150_000),
        # Wiring, set once at deployment: it answers GridManagementAlreadySet, paused or not.
        "setGridManagement": lambda w: (w.system.grid,),
    },
    "EnergyToken": {
        "unpause": _fixed(),
        # Verifying participants moves no energy.
        "setParticipant": lambda w: (w.actors["outsider"], True, 276),
        # Allowances move no energy; the transfer that spends them is paused.
        "approve": lambda w: (w.participants[1].owner, 1),
        "permit": _permit,
        # Wiring, set once at deployment: it answers MeterRegistryAlreadySet, paused or not.
        "setMeterRegistry": lambda w: (w.system.registry,),
    },
    "EnergyMarket": {
        "unpause": _fixed(),
        "setGridFee": lambda w: (named_account("dso"), 20_000),
        "setGridGuard": lambda w: (w.system.grid,),
        # Cancelling orders stays open: a trader must be able to withdraw consent in an emergency.
        "invalidateNonces": _fixed(0, 1),
    },
    "GridManagement": {
        "unpause": _fixed(),
        # The grid operator keeps managing the network topology, states and metrics while
        # transfers are stopped; an emergency must be declarable and endable at any time.
        "createZone": _fixed(2, 0, 1_000),
        "setZoneCapacity": _fixed(LOCAL_FEEDER, 2_000_000),
        "assignNode": lambda w: (w.participants[0].grid_node_id, LOCAL_FEEDER, w.participants[0].device_id),
        "reportLosses": lambda w: (LOCAL_FEEDER, w.chain.timestamp - w.chain.timestamp % INTERVAL_S, 10),
        "reportServiceQuality": lambda w: (
            LOCAL_FEEDER,
            w.chain.timestamp - w.chain.timestamp % 86_400,
            (0, 0, 0, 0, 0),
        ),
        "setPeak": _fixed(LOCAL_FEEDER, True),
        "declareEmergency": _fixed(LOCAL_FEEDER),
        "endEmergency": _emergency_on_feeder,
        "setPeakParameters": _fixed(2_500, 20_000, 60_000),
        "setConnectionCapacity": lambda w: (w.participants[0].grid_node_id, 50_000),
    },
    "CarbonCredit": {
        "unpause": _fixed(),
        "setEmissionFactor": _fixed(276, 380),
        "setCreditLifetime": _fixed(365 * 86_400),
        # Approvals move no credits; pruning drops spent queue entries only.
        "setApprovalForAll": lambda w: (w.participants[1].owner, True),
        "pruneQueue": lambda w: (w.participants[0].owner, 10),
        # Recording that time expired credits is bookkeeping of what already happened.
        "recordExpiry": _expired_certificate,
    },
    "CarbonExchange": {
        "unpause": _fixed(),
        # Cancelling returns the seller's own credits.
        "cancel": _fixed(1),
    },
}
# Exempt functions that can no longer succeed after deployment, and what they answer instead.
EXEMPT_OUTCOME = {
    ("EnergyToken", "setMeterRegistry"): "MeterRegistryAlreadySet",
    ("SmartMeterRegistry", "setGridManagement"): "GridManagementAlreadySet",
}
# Paused functions whose generated arguments would be refused before the pause check is
# reached; these are valid calls of the participant (anna), so only the pause refuses them.
PAUSED_ARGS: dict[str, dict[str, Args]] = {
    "EnergyToken": {
        "transferFrom": lambda w: (w.participants[1].owner, w.participants[0].owner, 1),
        "transferEnergyBatch": lambda w: ([w.participants[1].owner], [1]),
    },
    "CarbonCredit": {
        "safeTransferFrom": lambda w: (w.participants[0].owner, w.participants[1].owner, 1, 1, b""),
        "safeBatchTransferFrom": lambda w: (w.participants[0].owner, w.participants[1].owner, [1], [1], b""),
        "retireCertificateCredits": lambda w: (1, 1, w.participants[0].owner, ""),
    },
}
# Reached only from another contract (which pyrevm cannot send from); see the test named.
INDIRECT = {("EnergyToken", "mintEnergy"): "test_submitReadings_while_token_paused_mints_nothing"}


@pytest.fixture(scope="module")
def deployed() -> World:
    """The demo world, with anna holding credits (certificate 1) and offering some (offer 1),
    and ben having allowed anna one Wh."""
    world = World.deploy()
    anna, ben = world.participants[:2]
    verifier = CarbonVerifier(
        world.chain, world.system.carbon, world.system.registry, world.system.token, world.actors["verifier"]
    )
    certification = verifier.pending(anna.device_id, START_TIME - START_TIME % INTERVAL_S)
    assert certification is not None
    certificate = verifier.issue(certification)
    world.send(anna.owner, "CarbonCredit", "setApprovalForAll", world.system.carbon_exchange, True)
    world.send(anna.owner, "CarbonExchange", "offer", certificate, OFFERED_GRAMS, 1_000_000)
    world.send(ben.owner, "EnergyToken", "approve", anna.owner, 1)
    return world


def _call(world: World, contract: str, fn: str, args: tuple[Any, ...]) -> str | None:
    """As the role holder for a restricted function, else as the participant anna."""
    role = FUNCTION_ROLES.get(contract, {}).get(fn)
    if fn == "setAuthority":
        # Only the manager calls it, when ADMIN moves the contract to another authority.
        manager = world.system.manager
        return world.as_role(
            ADMIN, "GridAccessManager", "updateAuthority", world.address_of(contract), manager
        )
    if role is not None:
        return world.as_role(role, contract, fn, *args)
    try:
        world.send(world.actors["participant"], contract, fn, *args)
    except ContractRevertError as refused:
        return refused.error_name
    return None


def _paused(world: World, contract: str) -> None:
    assert world.as_role(EMERGENCY, contract, "pause") is None


PAUSED_CALLS = [
    pytest.param(contract, fn, id=f"{contract}.{fn}")
    for contract in PAUSABLE
    for fn in state_changing(load_artifact(contract))
    if fn not in EXEMPT[contract] and fn != "setAuthority" and (contract, fn) not in INDIRECT
]
EXEMPT_CALLS = [
    pytest.param(contract, fn, id=f"{contract}.{fn}")
    for contract in PAUSABLE
    for fn in [*EXEMPT[contract], "setAuthority"]
]


@pytest.mark.parametrize(("contract", "fn"), PAUSED_CALLS)
def test_paused_contract_refuses_state_changing_function(world: World, contract: str, fn: str) -> None:
    builder = PAUSED_ARGS.get(contract, {}).get(fn)
    args = (
        builder(world) if builder else sample_args(load_artifact(contract), fn, world.participants[1].owner)
    )
    _paused(world, contract)
    assert _call(world, contract, fn, args) == "EnforcedPause"


@pytest.mark.parametrize(("contract", "fn"), EXEMPT_CALLS)
def test_paused_contract_still_runs_exempt_function(world: World, contract: str, fn: str) -> None:
    args = EXEMPT[contract][fn](world) if fn in EXEMPT[contract] else ()
    _paused(world, contract)
    assert _call(world, contract, fn, args) == EXEMPT_OUTCOME.get((contract, fn))


def test_pause_exemptions_name_existing_open_or_restricted_functions() -> None:
    for contract, exempt in EXEMPT.items():
        known = set(FUNCTION_ROLES[contract]) | OPEN_TO_CALLERS[contract]
        assert set(exempt) <= known, contract
    assert set(EXEMPT) == set(PAUSABLE)


def test_submitReadings_while_token_paused_mints_nothing(world: World) -> None:
    """The registry does not revert the batch: the reading is rejected MintRefused, with the
    token's EnforcedPause as the refusal, and nothing is minted."""
    anna = world.participants[0]
    token = load_artifact("EnergyToken")
    before = world.chain.call(token, world.system.token, "balanceOf", anna.owner)[0]
    start = world.chain.timestamp - world.chain.timestamp % INTERVAL_S
    world.chain.set_time(start + INTERVAL_S + 10)
    reading = MeterReading(anna.device_id, 5, start, anna.import_wh, anna.export_wh + 100, 0, FIRMWARE)
    signed = anna.key.sign_reading(
        reading, registry_domain_separator(world.chain.chain_id, world.system.registry)
    )
    _paused(world, "EnergyToken")
    assert _call(world, "SmartMeterRegistry", "submitReadings", (pack_readings([signed]),)) is None
    registry = load_artifact("SmartMeterRegistry")
    events = [decoded for log in world.chain.last_logs if (decoded := registry.decode_event(log))]
    outcomes = [(name, fields) for name, fields in events if name in ("ReadingAccepted", "ReadingRejected")]
    assert outcomes == [
        (
            "ReadingRejected",
            {"deviceId": anna.device_id, "sequence": 5, "reason": REJECT_REASONS.index("MintRefused")},
        )
    ]
    refusals = [fields for name, fields in events if name == "MintRefused"]
    assert refusals == [
        {"deviceId": anna.device_id, "sequence": 5, "refusal": keccak(text="EnforcedPause()")[:4]}
    ]
    assert world.chain.call(token, world.system.token, "balanceOf", anna.owner)[0] == before


# ---------------------------------------------------------------- grid zones


def _second_feeder(world: World) -> tuple[int, int]:
    """Zone 2 with two nodes of its own; returns their ids."""
    grid = GridRegistrar(world.chain, world.system, world.actors["grid-operator"])
    grid.create_zone(2, 0, 1_000_000)
    return (
        grid.register_node(named_account("feeder-2-pv"), NodeType.PROSUMER, 2),
        grid.register_node(named_account("feeder-2-flat"), NodeType.CONSUMER, 2),
    )


def _transfer(world: World, from_node: int, to_node: int) -> str | None:
    return _call(world, "GridManagement", "requestEnergyTransfer", (from_node, to_node, 100))


def test_declareEmergency_refuses_transfers_in_that_zone_only(world: World) -> None:
    anna, _, carla = world.participants
    pv, flat = _second_feeder(world)
    world.send(world.actors["regulator"], "GridManagement", "declareEmergency", LOCAL_FEEDER)
    assert _transfer(world, anna.grid_node_id, carla.grid_node_id) == "ZoneInEmergency"
    assert _transfer(world, pv, flat) is None


def _settle_demo_interval(world: World) -> str | None:
    settlement = gated_demo_settlement(world)
    return _call(world, "EnergyMarket", "settleInterval", (settlement.clearing, settlement.fills))


def test_declareEmergency_refuses_settlement_in_that_zone(world: World) -> None:
    world.send(world.actors["regulator"], "GridManagement", "declareEmergency", LOCAL_FEEDER)
    assert _settle_demo_interval(world) == "ZoneHalted"


def test_declareEmergency_elsewhere_leaves_settlement_running(world: World) -> None:
    _second_feeder(world)
    world.send(world.actors["regulator"], "GridManagement", "declareEmergency", 2)
    assert _settle_demo_interval(world) is None


def test_paused_grid_halts_settlement_in_every_zone(world: World) -> None:
    _paused(world, "GridManagement")
    assert _settle_demo_interval(world) == "ZoneHalted"


# ---------------------------------------------------------------- the carbon pool
# CarbonPool has no owner and so no pause of its own: it stops with CarbonCredit's. Its tokens
# stand for credits, so every state-changing function is refused while the credits are paused,
# except approve (an allowance moves nothing; the transfer that spends it is refused).
POOLED_GRAMS = 500
POOL_OPEN_WHILE_CREDITS_PAUSED = {"approve"}


def _pooled(world: World) -> None:
    anna, ben = world.participants[:2]
    world.send(anna.owner, "CarbonCredit", "setApprovalForAll", world.system.carbon_pool, True)
    world.send(anna.owner, "CarbonPool", "deposit", 1, POOLED_GRAMS)
    world.send(anna.owner, "CarbonPool", "approve", ben.owner, 1)


def _pooled_then_credits_paused(world: World) -> None:
    _pooled(world)
    _paused(world, "CarbonCredit")


# Calls of anna's that pass but for the pause (the control test below runs them unpaused).
POOL_PATHS: dict[str, Args] = {
    "deposit": lambda w: (1, 1),
    "depositWithHint": lambda w: (1, 1, 1),
    "redeem": lambda w: (1,),
    "redeemSelected": lambda w: (1, 1),
    "retireFromPool": lambda w: (1, w.participants[0].owner, ""),
    "transfer": lambda w: (w.participants[1].owner, 1),
    "writeOffExpired": _expired_certificate,
}


def test_pool_paths_cover_every_state_changing_pool_function() -> None:
    functions = set(state_changing(load_artifact("CarbonPool")))
    assert functions == set(POOL_PATHS) | {"transferFrom"} | POOL_OPEN_WHILE_CREDITS_PAUSED


@pytest.mark.parametrize("fn", POOL_PATHS)
def test_unpaused_credits_let_pool_function_pass(world: World, fn: str) -> None:
    _pooled(world)
    assert _call(world, "CarbonPool", fn, POOL_PATHS[fn](world)) is None


@pytest.mark.parametrize("fn", POOL_PATHS)
def test_paused_credits_refuse_pool_function(world: World, fn: str) -> None:
    _pooled_then_credits_paused(world)
    assert _call(world, "CarbonPool", fn, POOL_PATHS[fn](world)) == "EnforcedPause"


def test_paused_credits_refuse_pool_transferFrom_of_an_allowance(world: World) -> None:
    anna, ben, carla = world.participants[:3]
    _pooled_then_credits_paused(world)
    with pytest.raises(ContractRevertError) as refused:
        world.send(ben.owner, "CarbonPool", "transferFrom", anna.owner, carla.owner, 1)
    assert refused.value.error_name == "EnforcedPause"


def test_paused_credits_leave_pool_approve_open(world: World) -> None:
    _pooled_then_credits_paused(world)
    assert _call(world, "CarbonPool", "approve", (world.participants[2].owner, 1)) is None


def test_unpaused_credits_let_pool_tokens_move_again(world: World) -> None:
    _pooled_then_credits_paused(world)
    assert world.as_role(ADMIN, "CarbonCredit", "unpause") is None
    assert _call(world, "CarbonPool", "transfer", (world.participants[1].owner, 1)) is None


def test_unpaused_credits_let_pool_transferFrom_pass(world: World) -> None:
    anna, ben, carla = world.participants[:3]
    _pooled(world)
    world.send(ben.owner, "CarbonPool", "transferFrom", anna.owner, carla.owner, 1)
