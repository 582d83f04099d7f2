"""Signatures and replay: a meter reading, a market order or a multisig approval signed for
one deployment is refused by the same contracts at another address and by the same addresses
on another chain id; malleated (high-s), zero and garbage signatures are refused, a reading's
as a per-reading rejection, never a revert of its batch; an executed multisig operation cannot
run twice, one signer cannot count twice and a removed signer counts no more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi.abi import encode
from hardening_world import ChainWithId, World, gated_demo_settlement

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import governor_keys, named_account
from gridledger.chain.eip712 import SigningKey
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.hashing import keccak
from gridledger.cli.demo import FIRMWARE, INTERVAL_S, START_TIME, Participant
from gridledger.errors import ContractRevertError
from gridledger.market.orders import Order, market_domain_separator, order_hash
from gridledger.meter.signing import (
    MeterReading,
    SignedReadingTuple,
    pack_readings,
    registry_domain_separator,
)

REGISTRY = load_artifact("SmartMeterRegistry")
MULTISIG = load_artifact("GovernanceMultisig")
MARKET = load_artifact("EnergyMarket")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
OTHER_CHAIN_ID = 31_337
BAD_SIGNATURE, STALE_SEQUENCE = 2, 5  # RejectReason


def _shifted_deployment() -> World:
    """The same system on chain 1 at other addresses: the deployer sent one contract first."""
    chain = EmbeddedChain(START_TIME)
    deployer = named_account("deployer")
    chain.deploy("TestStablecoin", (deployer,), deployer)
    return World.deploy(chain)


@pytest.fixture(scope="module")
def deployments() -> dict[str, World]:
    """home: chain 1; twin: the same addresses on another chain id; sibling: chain 1, other
    addresses. All three hold the demo's state (same devices, keys and participants)."""
    return {
        "home": World.deploy(),
        "twin": World.deploy(ChainWithId(START_TIME, OTHER_CHAIN_ID)),
        "sibling": _shifted_deployment(),
    }


@pytest.fixture
def home(deployments: dict[str, World]) -> Iterator[World]:
    with deployments["home"].isolated() as world:
        yield world


@pytest.fixture(params=["twin", "sibling"])
def elsewhere(request: pytest.FixtureRequest, deployments: dict[str, World]) -> Iterator[World]:
    with deployments[request.param].isolated() as world:
        yield world


def test_deployments_differ_only_where_the_replay_tests_say(deployments: dict[str, World]) -> None:
    home, twin, sibling = deployments["home"], deployments["twin"], deployments["sibling"]
    assert (twin.system, twin.chain.chain_id) == (home.system, OTHER_CHAIN_ID)
    assert sibling.chain.chain_id == home.chain.chain_id
    for contract in ("registry", "market", "multisig"):
        assert getattr(sibling.system, contract) != getattr(home.system, contract)


# ---------------------------------------------------------------- meter readings


def _next_reading(world: World, who: Participant, domain: bytes | None = None) -> SignedReadingTuple:
    """`who`'s next reading (sequence 5, 100 Wh more export) signed for `domain`, by default
    the registry of `world`; moves `world` to just after its interval."""
    start = START_TIME - START_TIME % INTERVAL_S + 4 * INTERVAL_S
    world.chain.set_time(start + INTERVAL_S + 30)
    reading = MeterReading(who.device_id, 5, start, who.import_wh, who.export_wh + 100, 0, FIRMWARE)
    domain = domain or registry_domain_separator(world.chain.chain_id, world.system.registry)
    return who.key.sign_reading(reading, domain)


def _relay(world: World, batch: list[SignedReadingTuple]) -> dict[int, int]:
    """Submit as the gateway; returns each device's outcome (0 accepted, else RejectReason)."""
    world.send(world.actors["gateway"], "SmartMeterRegistry", "submitReadings", pack_readings(batch))
    outcomes: dict[int, int] = {}
    for log in world.chain.last_logs:
        decoded = REGISTRY.decode_event(log)
        if decoded and decoded[0] == "ReadingAccepted":
            outcomes[decoded[1]["deviceId"]] = 0
        elif decoded and decoded[0] == "ReadingRejected":
            outcomes[decoded[1]["deviceId"]] = decoded[1]["reason"]
    return outcomes


def _with_signature(signed: SignedReadingTuple, r: bytes, vs: bytes) -> SignedReadingTuple:
    device_id, sequence, interval_start, import_wh, export_wh, flags, firmware, _, _ = signed
    return (device_id, sequence, interval_start, import_wh, export_wh, flags, firmware, r, vs)


def _high_s(r: bytes, vs: bytes) -> tuple[bytes, bytes]:
    """The malleated twin (r, n - s, flipped v) of a compact signature, packed compact again.
    EIP-2098 leaves no room for a high s (its top bit is v), so what arrives is refused."""
    packed = int.from_bytes(vs, "big")
    s, v = packed & ((1 << 255) - 1), packed >> 255
    return r, ((SECP256K1_N - s) | ((v ^ 1) << 255)).to_bytes(32, "big")


FORGED_SIGNATURES = {
    "zero": lambda r, vs: (bytes(32), bytes(32)),
    "garbage": lambda r, vs: (keccak(text="garbage-r"), keccak(text="garbage-vs")),
    "high-s": _high_s,
}


def test_submitReadings_accepts_reading_signed_for_this_registry(home: World) -> None:
    anna = home.participants[0]
    assert _relay(home, [_next_reading(home, anna)]) == {anna.device_id: 0}


def test_submitReadings_rejects_reading_signed_for_another_deployment(home: World, elsewhere: World) -> None:
    anna, ben = elsewhere.participants[:2]
    home_domain = registry_domain_separator(home.chain.chain_id, home.system.registry)
    replayed = _next_reading(elsewhere, anna, home_domain)
    outcomes = _relay(elsewhere, [replayed, _next_reading(elsewhere, ben)])
    assert outcomes == {anna.device_id: BAD_SIGNATURE, ben.device_id: 0}


@pytest.mark.parametrize("forgery", FORGED_SIGNATURES)
def test_submitReadings_rejects_forged_signature_and_keeps_the_batch(home: World, forgery: str) -> None:
    anna, ben = home.participants[:2]
    genuine = _next_reading(home, anna)
    forged = _with_signature(genuine, *FORGED_SIGNATURES[forgery](genuine[7], genuine[8]))
    outcomes = _relay(home, [forged, _next_reading(home, ben)])
    assert outcomes == {anna.device_id: BAD_SIGNATURE, ben.device_id: 0}


def test_submitReadings_rejects_replay_of_an_accepted_reading(home: World) -> None:
    anna = home.participants[0]
    reading = _next_reading(home, anna)
    _relay(home, [reading])
    assert _relay(home, [reading]) == {anna.device_id: STALE_SEQUENCE}


# ---------------------------------------------------------------- market orders


def _fills_for(world: World, fills: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`fills` in the order `world`'s market checks them (sells, then buys, by its order hash),
    so that only the signatures can be wrong."""
    domain = market_domain_separator(world.chain.chain_id, world.system.market)

    def key(fill: tuple[Any, ...]) -> tuple[int, bytes]:
        return fill[0][1], order_hash(Order(*fill[0]), domain)

    return sorted(fills, key=key)


def _settle(world: World, clearing: Any, fills: list[tuple[Any, ...]]) -> str | None:
    try:
        world.send(world.actors["market-operator"], "EnergyMarket", "settleInterval", clearing, fills)
    except ContractRevertError as refused:
        return refused.error_name
    return None


def test_settleInterval_accepts_orders_signed_for_this_market(home: World) -> None:
    settlement = gated_demo_settlement(home)
    assert _settle(home, settlement.clearing, settlement.fills) is None


def test_settleInterval_refuses_replay_of_a_settled_interval(home: World) -> None:
    settlement = gated_demo_settlement(home)
    assert _settle(home, settlement.clearing, settlement.fills) is None
    assert _settle(home, settlement.clearing, settlement.fills) == "IntervalAlreadySettled"


def test_settleInterval_refuses_orders_signed_for_another_deployment(home: World, elsewhere: World) -> None:
    signed_at_home = gated_demo_settlement(home)
    settlement = gated_demo_settlement(elsewhere)  # the same orders and escrow, signed for `elsewhere`
    assert sorted(f[0] for f in settlement.fills) == sorted(f[0] for f in signed_at_home.fills)
    replayed = _fills_for(elsewhere, signed_at_home.fills)
    assert _settle(elsewhere, settlement.clearing, replayed) == "InvalidOrderSignature"
    # The same fills in the same order with `elsewhere`'s own signatures settle.
    assert _settle(elsewhere, settlement.clearing, _fills_for(elsewhere, settlement.fills)) is None


@pytest.mark.parametrize("forgery", FORGED_SIGNATURES)
def test_settleInterval_refuses_forged_order_signature(home: World, forgery: str) -> None:
    settlement = gated_demo_settlement(home)
    order, r, vs, filled_wh, price = settlement.fills[0]
    forged = [(order, *FORGED_SIGNATURES[forgery](r, vs), filled_wh, price), *settlement.fills[1:]]
    with pytest.raises(ContractRevertError) as refused:
        home.send(
            home.actors["market-operator"], "EnergyMarket", "settleInterval", settlement.clearing, forged
        )
    assert (refused.value.error_name, refused.value.error_args) == ("InvalidOrderSignature", (0,))


# ---------------------------------------------------------------- multisig approvals


def _approval(digest: bytes, keys: list[SigningKey], signatures: list[bytes] | None = None) -> bytes:
    """abi.encode(signers, signatures) in the signers' hash order, as MultiSignerERC7913 reads it."""
    signers = [bytes.fromhex(key.address[2:]) for key in keys]
    pairs = sorted(
        zip(signers, signatures or [key.sign(digest) for key in keys], strict=True),
        key=lambda p: keccak(p[0]),
    )
    return encode(["bytes[]", "bytes[]"], [[p[0] for p in pairs], [p[1] for p in pairs]])


def _fee_operation(world: World) -> tuple[str, bytes]:
    """A harmless ADMIN operation: set the grid fee to what it already is."""
    collector, fee = world.chain.call(MARKET, world.system.market, "gridFee")
    return world.system.market, MARKET.encode_call("setGridFee", (collector, fee))


def _digest(world: World, target: str, data: bytes) -> bytes:
    nonce = world.chain.call(MULTISIG, world.system.multisig, "nextNonce")[0]
    return bytes(
        world.chain.call(MULTISIG, world.system.multisig, "operationDigest", target, 0, data, nonce)[0]
    )


def _execute(world: World, target: str, data: bytes, approval: bytes) -> str | None:
    try:
        world.send(world.actors["outsider"], "GovernanceMultisig", "execute", target, 0, data, approval)
    except ContractRevertError as refused:
        return refused.error_name
    return None


def test_execute_runs_operation_approved_by_two_signers(home: World) -> None:
    target, data = _fee_operation(home)
    assert _execute(home, target, data, _approval(_digest(home, target, data), governor_keys()[:2])) is None


def test_execute_refuses_approval_signed_for_another_deployment(home: World, elsewhere: World) -> None:
    target, data = _fee_operation(home)
    approval = _approval(_digest(home, target, data), governor_keys()[:2])
    replay_target = elsewhere.system.market
    assert _execute(elsewhere, replay_target, data, approval) == "MultisigInvalidSignatures"


def test_execute_refuses_replay_of_an_executed_operation(home: World) -> None:
    target, data = _fee_operation(home)
    approval = _approval(_digest(home, target, data), governor_keys()[:2])
    assert _execute(home, target, data, approval) is None
    assert _execute(home, target, data, approval) == "MultisigInvalidSignatures"


def test_execute_refuses_one_signer_counted_twice(home: World) -> None:
    target, data = _fee_operation(home)
    digest = _digest(home, target, data)
    signer = governor_keys()[0]
    assert _execute(home, target, data, _approval(digest, [signer, signer])) == "MultisigInvalidSignatures"


def test_execute_refuses_approval_of_a_removed_signer(home: World) -> None:
    keys = governor_keys()
    removal = MULTISIG.encode_call("removeSigners", ([bytes.fromhex(keys[2].address[2:])],))
    multisig = home.system.multisig
    assert _execute(home, multisig, removal, _approval(_digest(home, multisig, removal), keys[:2])) is None
    target, data = _fee_operation(home)
    digest = _digest(home, target, data)
    assert _execute(home, target, data, _approval(digest, [keys[0], keys[2]])) == "MultisigInvalidSignatures"
    assert _execute(home, target, data, _approval(digest, keys[:2])) is None


def _high_s_65(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])


FORGED_65 = {
    "zero": lambda _signature: bytes(65),
    "garbage": lambda _signature: keccak(text="garbage") * 2 + b"\x1b",
    "high-s": _high_s_65,
}


@pytest.mark.parametrize("forgery", FORGED_65)
def test_execute_refuses_forged_second_signature(home: World, forgery: str) -> None:
    target, data = _fee_operation(home)
    digest = _digest(home, target, data)
    keys = governor_keys()[:2]
    signatures = [keys[0].sign(digest), FORGED_65[forgery](keys[1].sign(digest))]
    assert _execute(home, target, data, _approval(digest, keys, signatures)) == "MultisigInvalidSignatures"
