"""The foundation end to end on the embedded EVM: signing, readings, balances, errors."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import FIRMWARE, INTERVAL_S, Participant, _account
from gridledger.errors import ArtifactError, ContractRevertError
from gridledger.meter.signing import (
    DeviceKey,
    MeterReading,
    reading_digest,
    registry_domain_separator,
)

World = tuple[EmbeddedChain, System, list[Participant], int]
REGISTRY = load_artifact("SmartMeterRegistry")
TOKEN = load_artifact("EnergyToken")


def test_submitReadings_mintsExportMinusImportToOwners(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    for p in participants:
        held = chain.call(TOKEN, system.token, "balanceOf", p.owner)[0]
        # Each interval mints the export delta and burns the import delta from what is held.
        assert held == max(0, p.export_wh - p.import_wh)


def test_submitReadings_forgedReadingsRejected(demo_world: World) -> None:
    chain, system, participants, rejected = demo_world
    assert rejected == 4
    device = chain.call(REGISTRY, system.registry, "getDevice", participants[0].device_id)[0]
    assert device[8] == 4  # lastSequence: only the genuine readings were accepted


def test_totalSupply_equalsSumOfBalances(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    balances = sum(chain.call(TOKEN, system.token, "balanceOf", p.owner)[0] for p in participants)
    assert chain.call(TOKEN, system.token, "totalSupply")[0] == balances


@settings(max_examples=25, deadline=None)
@given(
    sequence=st.integers(1, 2**40 - 1),
    import_wh=st.integers(0, 2**64 - 1),
    export_wh=st.integers(0, 2**64 - 1),
    flags=st.integers(0, 3),
)
def test_readingDigest_pythonMatchesContract(
    sequence: int, import_wh: int, export_wh: int, flags: int
) -> None:
    chain = EmbeddedChain(1_750_000_500)
    deployer = _account("deployer")
    manager = chain.deploy("GridAccessManager", (deployer,), deployer)
    token = chain.deploy("EnergyToken", (manager, 86_400), deployer)
    registry = chain.deploy("SmartMeterRegistry", (manager, token, 86_400), deployer)
    reading = MeterReading(7, sequence, 1_749_999_600, import_wh, export_wh, flags, FIRMWARE)
    signed = DeviceKey(keccak(text="meter")).sign_reading(reading, registry_domain_separator(1, registry))
    on_chain = chain.call(REGISTRY, registry, "readingDigest", signed)[0]
    assert on_chain == reading_digest(reading, registry_domain_separator(1, registry))


def test_transferEnergy_toUnverifiedRaisesTypedError(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    stranger = _account("stranger")
    with pytest.raises(ContractRevertError) as raised:
        chain.transact(participants[1].owner, TOKEN, system.token, "transferEnergy", stranger, 1)
    assert raised.value.error_name == "ParticipantNotVerified"
    assert raised.value.error_args == (stranger.lower(),)


def test_submitReadings_byNonGatewayRaisesUnauthorized(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    intruder = participants[2].owner
    with pytest.raises(ContractRevertError) as raised:
        chain.transact(intruder, REGISTRY, system.registry, "submitReadings", [])
    assert raised.value.error_name == "AccessManagedUnauthorized"


def test_submitReading_tamperFlagQuarantinesDevice(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    anna = participants[0]
    start = chain.timestamp - chain.timestamp % INTERVAL_S
    chain.set_time(start + INTERVAL_S + 10)
    tampered = MeterReading(anna.device_id, 5, start, anna.import_wh, anna.export_wh + 10, 1, FIRMWARE)
    domain = registry_domain_separator(chain.chain_id, system.registry)
    gateway = _account("gateway")
    signed = anna.key.sign_reading(tampered, domain)
    accepted = chain.transact(gateway, REGISTRY, system.registry, "submitReadings", [signed])
    assert accepted == (0,)
    status = chain.call(REGISTRY, system.registry, "getDevice", anna.device_id)[0][6]
    assert status == 4  # Quarantined


def test_load_artifact_unknownRaises() -> None:
    with pytest.raises(ArtifactError):
        load_artifact("NoSuchContract")


def test_encodeCall_unknownFunction_raisesArtifactError() -> None:
    with pytest.raises(ArtifactError, match="has no function"):
        load_artifact("EnergyToken").encode_call("noSuchFunction", ())
