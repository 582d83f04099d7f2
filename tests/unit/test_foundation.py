"""The foundation end to end on the embedded EVM: signing, readings, balances, errors."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import FIRMWARE, INTERVAL_S, Participant, _account
from gridledger.errors import ArtifactError, ContractRevertError
from gridledger.meter.gateway import REJECT_REASONS
from gridledger.meter.signing import (
    READING_RECORD_BYTES,
    DeviceKey,
    MeterReading,
    SignedReadingTuple,
    pack_readings,
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


FORTY_BITS = 2**40 - 1


# Rejected readings change no state, so one demo world serves every example.
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(
        st.tuples(
            st.integers(10**6, FORTY_BITS),  # device ids the demo world never registered
            st.integers(0, FORTY_BITS),
            st.integers(0, FORTY_BITS),
            st.integers(0, 2**64 - 1),
            st.integers(0, 2**64 - 1),
            st.integers(0, 255),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_submitReadings_packedRecords_reachTheRegistryWithTheirOwnIds(
    demo_world: World, records: list[tuple[int, int, int, int, int, int]]
) -> None:
    chain, system, _, _ = demo_world
    key = DeviceKey(keccak(text="stray meter"))
    domain = registry_domain_separator(chain.chain_id, system.registry)
    batch = [key.sign_reading(MeterReading(*fields, FIRMWARE), domain) for fields in records]
    assert chain.transact(
        _account("gateway"), REGISTRY, system.registry, "submitReadings", pack_readings(batch)
    ) == (0,)
    rejected = [
        (fields["deviceId"], fields["sequence"], REJECT_REASONS[fields["reason"]])
        for log in chain.last_logs
        if (decoded := REGISTRY.decode_event(log)) and decoded[0] == "ReadingRejected"
        for fields in [decoded[1]]
    ]
    assert rejected == [(device_id, sequence, "UnknownDevice") for device_id, sequence, *_ in records]


@pytest.mark.parametrize("length_bytes", [1, READING_RECORD_BYTES - 1, READING_RECORD_BYTES + 32])
def test_submitReadings_partialRecord_revertsMalformedBatch(demo_world: World, length_bytes: int) -> None:
    chain, system, participants, _ = demo_world
    batch = pack_readings(_next_readings(chain, system, participants))[:length_bytes]
    with pytest.raises(ContractRevertError) as raised:
        chain.transact(_account("gateway"), REGISTRY, system.registry, "submitReadings", batch)
    assert raised.value.error_name == "MalformedBatch"
    assert raised.value.error_args == (length_bytes,)


def _next_readings(
    chain: EmbeddedChain, system: System, participants: list[Participant]
) -> list[SignedReadingTuple]:
    start = chain.timestamp - chain.timestamp % INTERVAL_S
    domain = registry_domain_separator(chain.chain_id, system.registry)
    return [
        p.key.sign_reading(MeterReading(p.device_id, 5, start, p.import_wh, p.export_wh, 0, FIRMWARE), domain)
        for p in participants
    ]


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
        chain.transact(intruder, REGISTRY, system.registry, "submitReadings", b"")
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
    accepted = chain.transact(gateway, REGISTRY, system.registry, "submitReadings", pack_readings([signed]))
    assert accepted == (0,)
    status = chain.call(REGISTRY, system.registry, "getDevice", anna.device_id)[0][6]
    assert status == 4  # Quarantined


def test_load_artifact_unknownRaises() -> None:
    with pytest.raises(ArtifactError):
        load_artifact("NoSuchContract")


def test_encodeCall_unknownFunction_raisesArtifactError() -> None:
    with pytest.raises(ArtifactError, match="has no function"):
        load_artifact("EnergyToken").encode_call("noSuchFunction", ())
