"""The gateway queues only verified readings, delivers each once, learns outcomes from chain
state, keeps tamper evidence and rejections with reasons, reports gaps, and sizes batches by gas."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_utils.crypto import keccak

from gridledger.chain.abi import Artifact, EventLog, load_artifact
from gridledger.chain.deploy import System
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import FIRMWARE, INTERVAL_S, Participant, _account
from gridledger.errors import ChainError, GatewayError, ReadingRefused
from gridledger.meter.gateway import (
    EIP7825_TX_GAS_CAP,
    FIRST_GAS_PER_READING,
    REGISTRY_MAX_BATCH,
    Gateway,
    SequenceGap,
)
from gridledger.meter.signing import (
    FLAG_TAMPER,
    READING_RECORD_BYTES,
    SECP256K1_HALF_ORDER,
    DeviceKey,
    MeterReading,
    SignedReadingTuple,
    pack_readings,
    reading_of,
    registry_domain_separator,
)

World = tuple[EmbeddedChain, System, list[Participant], int]
QUARANTINED = 4
REGISTRY = load_artifact("SmartMeterRegistry")


def _readings(
    chain: EmbeddedChain, system: System, participants: list[Participant], sequence: int, flags: int = 0
) -> list[SignedReadingTuple]:
    """Each participant's next reading (the demo world holds sequences 1..4), signed by its meter."""
    start = chain.timestamp - chain.timestamp % INTERVAL_S
    chain.set_time(start + INTERVAL_S + 10)
    domain = registry_domain_separator(chain.chain_id, system.registry)
    signed = []
    for p in participants:
        p.export_wh += p.export_per_interval_wh
        reading = MeterReading(p.device_id, sequence, start, p.import_wh, p.export_wh, flags, FIRMWARE)
        signed.append(p.key.sign_reading(reading, domain))
    return signed


def _resigned(
    chain: EmbeddedChain, system: System, key: DeviceKey, reading: SignedReadingTuple, **change: int
) -> SignedReadingTuple:
    changed = replace(reading_of(reading), **change)
    return key.sign_reading(changed, registry_domain_separator(chain.chain_id, system.registry))


def _status(chain: EmbeddedChain, system: System, device_id: int) -> int:
    (device,) = chain.call(REGISTRY, system.registry, "getDevice", device_id)
    return int(device[6])


def test_flush_acceptsAndNeverResends(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"), max_batch=2)
    readings = _readings(chain, system, participants, 5)
    assert all(gateway.enqueue(r) for r in readings)
    report = gateway.flush()
    assert sorted(report.accepted) == sorted((p.device_id, 5) for p in participants)
    assert not any(gateway.enqueue(r) for r in readings)  # delivered: never queued again
    assert gateway.pending == 0 and report.gaps == []


# ---------------------------------------------------------------- verification before queueing
def test_enqueue_forgedReading_isRefusedAndNeverShadowsTheGenuine(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    genuine = _readings(chain, system, participants[:1], 5)[0]
    attacker = DeviceKey(keccak(text="attacker"))
    forged = _resigned(chain, system, attacker, genuine, export_wh=genuine[4] + 10**6)
    with pytest.raises(ReadingRefused) as refused:
        gateway.enqueue(forged)
    assert refused.value.reason == "BadSignature" and gateway.pending == 0
    assert gateway.enqueue(genuine)
    assert gateway.flush().accepted == [(participants[0].device_id, 5)]


def test_enqueue_highSSignature_isRefused(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    genuine = _readings(chain, system, participants[:1], 5)[0]
    packed = int.from_bytes(genuine[8], "big")
    s, v = packed & ((1 << 255) - 1), packed >> 255
    high_s = 2 * SECP256K1_HALF_ORDER + 1 - s  # the same signature, malleated: n - s, other v
    malleated = (*genuine[:8], (high_s | ((1 - v) << 255)).to_bytes(32, "big"))
    with pytest.raises(ReadingRefused) as refused:
        gateway.enqueue(malleated)
    assert refused.value.reason == "BadSignature"


def test_enqueue_unknownDevice_isRefused(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    genuine = _readings(chain, system, participants[:1], 5)[0]
    stray = _resigned(chain, system, participants[0].key, genuine, device_id=999)
    with pytest.raises(ReadingRefused) as refused:
        gateway.enqueue(stray)
    assert refused.value.reason == "UnknownDevice"


@pytest.mark.parametrize(
    ("wide_field", "value"),
    [
        ("device_id", 2**40),  # wider than its record field
        ("interval_start", 2**40),
        ("sequence", 2**32),  # wider than the registry's device word keeps it
        ("import_wh", 2**48),
        ("export_wh", 2**48),
    ],
)
def test_enqueue_valueWiderThanTheRegistryTakes_isRefusedValueOutOfRange(
    demo_world: World, wide_field: str, value: int
) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    genuine = _readings(chain, system, participants[:1], 5)[0]
    wide = _resigned(chain, system, participants[0].key, genuine, **{wide_field: value})
    with pytest.raises(ReadingRefused) as refused:
        gateway.enqueue(wide)
    assert refused.value.reason == "ValueOutOfRange" and gateway.pending == 0


# ---------------------------------------------------------------- tamper evidence and conflicts
def test_enqueue_tamperFlaggedReadingOfAQueuedSequence_isSubmitted(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    meter = participants[0]
    clean = _readings(chain, system, [meter], 5)[0]
    tampered = _resigned(chain, system, meter.key, clean, flags=FLAG_TAMPER)
    assert gateway.enqueue(clean)
    assert gateway.enqueue(tampered)
    report = gateway.flush()
    assert report.rejected == {(meter.device_id, 5): "TamperFlag"}
    assert _status(chain, system, meter.device_id) == QUARANTINED
    assert gateway.conflicts == {(meter.device_id, 5): [clean]}


def test_enqueue_secondCleanReadingOfASequence_isKeptAsConflict(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    meter = participants[0]
    first = _readings(chain, system, [meter], 5)[0]
    second = _resigned(chain, system, meter.key, first, export_wh=first[4] + 1)
    assert gateway.enqueue(first)
    assert not gateway.enqueue(second)
    assert gateway.conflicts == {(meter.device_id, 5): [second]} and gateway.pending == 1


def test_enqueue_sequenceGap_isReported(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    meter = participants[0]
    gateway.enqueue(_readings(chain, system, [meter], 8)[0])  # the registry holds 1..4
    report = gateway.flush()
    assert report.gaps == gateway.gaps == [SequenceGap(meter.device_id, 5, 7)]
    assert report.accepted == [(meter.device_id, 8)]
    assert gateway.flush().gaps == []  # each gap is reported once


# ---------------------------------------------------------------- rejections and refusals
def test_flush_reportsRejectionReasonAndRequeues(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    meter = participants[0]
    late = _readings(chain, system, [meter], 5)[0]
    chain.set_time(chain.timestamp + 10 * 86_400)
    gateway.enqueue(late)
    assert gateway.flush().rejected == {(meter.device_id, 5): "IntervalTooOld"}
    gateway.requeue((meter.device_id, 5))
    assert gateway.pending == 1


def test_flush_pausedRegistryKeepsReadingsQueued(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    chain.transact(_account("regulator"), REGISTRY, system.registry, "pause")
    gateway = Gateway(chain, system.registry, _account("gateway"))
    for reading in _readings(chain, system, participants, 5):
        gateway.enqueue(reading)
    with pytest.raises(GatewayError):
        gateway.flush()
    assert gateway.pending == len(participants)


# ---------------------------------------------------------------- transport failures, lost acks
class _FlakyChain:
    """Fails `failures` submissions, before sending (`lose_ack=False`) or after the chain
    committed them (`lose_ack=True`: the acknowledgement is lost); otherwise the real chain."""

    def __init__(self, chain: EmbeddedChain, failures: int, lose_ack: bool = False) -> None:
        self._chain = chain
        self.failures_left = failures
        self.lose_ack = lose_ack

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chain, name)

    def transact(self, *args: Any) -> object:
        if self.failures_left:
            self.failures_left -= 1
            if self.lose_ack:
                self._chain.transact(*args)
            raise ChainError("connection reset")
        return self._chain.transact(*args)


def test_flush_retriesTransportFailures(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(_FlakyChain(chain, 2), system.registry, _account("gateway"), max_attempts=3)
    for reading in _readings(chain, system, participants, 5):
        gateway.enqueue(reading)
    assert len(gateway.flush().accepted) == len(participants)


def test_flush_givesUpAfterMaxAttemptsWithoutLosingReadings(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(_FlakyChain(chain, 2), system.registry, _account("gateway"), max_attempts=2)
    for reading in _readings(chain, system, participants, 5):
        gateway.enqueue(reading)
    with pytest.raises(GatewayError):
        gateway.flush()
    assert gateway.pending == len(participants)


def test_flush_lostAcknowledgementThenRetry_reportsAccepted(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(_FlakyChain(chain, 1, lose_ack=True), system.registry, _account("gateway"))
    for reading in _readings(chain, system, participants, 5):
        gateway.enqueue(reading)
    report = gateway.flush()
    assert sorted(report.accepted) == sorted((p.device_id, 5) for p in participants)
    assert report.rejected == {}


def test_flush_lostAcknowledgementThenResubmitted_reportsAcceptedNotStale(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    flaky = _FlakyChain(chain, 1, lose_ack=True)
    gateway = Gateway(flaky, system.registry, _account("gateway"), max_attempts=1)
    readings = _readings(chain, system, participants, 5)
    for reading in readings:
        gateway.enqueue(reading)
    with pytest.raises(GatewayError):
        gateway.flush()  # committed, but the gateway never heard
    report = gateway.flush()  # resubmitted: the registry answers StaleSequence
    assert sorted(report.accepted) == sorted((p.device_id, 5) for p in participants)
    assert report.rejected == {}


def test_flush_staleReadingTheChainDoesNotHold_staysRejected(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    meter = participants[0]
    held = _readings(chain, system, [meter], 5)[0]
    chain.transact(_account("gateway"), REGISTRY, system.registry, "submitReadings", pack_readings([held]))
    other = _resigned(chain, system, meter.key, held, export_wh=held[4] + 1)
    gateway.enqueue(other)
    assert gateway.flush().rejected == {(meter.device_id, 5): "StaleSequence"}


# ---------------------------------------------------------------- batch sizing by gas
class _GasChain:
    """A registry that accepts everything and reports `gas_per_reading` for each reading."""

    REGISTRY = "0x" + "11" * 20

    def __init__(self, device: DeviceKey, gas_per_reading: int) -> None:
        self.device = device
        self.gas_per_reading = gas_per_reading
        self.batches: list[int] = []
        self.last_gas_used = 0
        self.last_logs: list[EventLog] = []

    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        if fn == "eip712Domain":
            return (b"\x0f", "GridLedger SmartMeterRegistry", "1", 1, self.REGISTRY, b"\x00" * 32, ())
        assert fn == "getDevice"
        signer, owner = self.device.address, "0x" + "22" * 20
        return ((signer, owner, 1, 0, 0, 5000, 1, FIRMWARE, 0, 0, 0, 0),)

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: Any) -> object:
        readings = len(args[0]) // READING_RECORD_BYTES
        self.batches.append(readings)
        self.last_gas_used = self.gas_per_reading * readings
        return ()

    def logs(self, address: str, topic0: bytes) -> list[EventLog]:
        return []


def _queue_readings(gateway: Gateway, device: DeviceKey, count: int, first: int = 1) -> None:
    domain = registry_domain_separator(1, _GasChain.REGISTRY)
    for sequence in range(first, first + count):
        reading = MeterReading(1, sequence, 900 * sequence, 0, sequence, 0, FIRMWARE)
        gateway.enqueue(device.sign_reading(reading, domain))


def test_flush_sizesBatchesByMeasuredGas() -> None:
    meter = DeviceKey(keccak(text="meter"))
    chain = _GasChain(meter, gas_per_reading=200_000)
    gateway = Gateway(chain, chain.REGISTRY, _account("gateway"), max_batch=128, gas_budget=8_000_000)
    _queue_readings(gateway, meter, 200)
    gateway.flush()
    first = 8_000_000 // FIRST_GAS_PER_READING
    assert chain.batches[0] == first  # before any receipt: the prior estimate
    assert set(chain.batches[1:]) <= {8_000_000 // 200_000}  # then the measured gas
    assert sum(chain.batches) == 200
    assert all(size * 200_000 <= 8_000_000 for size in chain.batches[1:])


def test_flush_cheapReadings_neverAboveMaxBatch() -> None:
    meter = DeviceKey(keccak(text="meter"))
    chain = _GasChain(meter, gas_per_reading=1_000)
    gateway = Gateway(chain, chain.REGISTRY, _account("gateway"), max_batch=50)
    _queue_readings(gateway, meter, 180)
    gateway.flush()
    assert max(chain.batches) == 50 and sum(chain.batches) == 180


def test_flush_readingDearerThanBudget_goesAlone() -> None:
    meter = DeviceKey(keccak(text="meter"))
    chain = _GasChain(meter, gas_per_reading=3_000_000)
    gateway = Gateway(chain, chain.REGISTRY, _account("gateway"), gas_budget=2_000_000)
    _queue_readings(gateway, meter, 25)
    gateway.flush()
    assert chain.batches == [2_000_000 // FIRST_GAS_PER_READING] + [1] * 5
    assert gateway.batch_size == 1


@pytest.mark.parametrize("budget", [0, EIP7825_TX_GAS_CAP + 1])
def test_Gateway_gasBudgetOutsideTheTransactionCap_isRefused(budget: int) -> None:
    with pytest.raises(GatewayError):
        Gateway(
            _GasChain(DeviceKey(keccak(text="meter")), 1),
            _GasChain.REGISTRY,
            "0x" + "33" * 20,
            gas_budget=budget,
        )


# ---------------------------------------------------------------- the device-key cache
def test_enqueue_afterKeyRotation_learnsTheNewKey() -> None:
    old_key, new_key = DeviceKey(keccak(text="meter")), DeviceKey(keccak(text="meter rotated"))
    chain = _GasChain(old_key, gas_per_reading=1_000)
    gateway = Gateway(chain, chain.REGISTRY, _account("gateway"))
    _queue_readings(gateway, old_key, 1)
    gateway.flush()
    chain.device = new_key  # the operator rotated the device's key in the registry
    _queue_readings(gateway, new_key, 1, first=2)
    assert gateway.pending == 1
    domain = registry_domain_separator(1, _GasChain.REGISTRY)
    with pytest.raises(ReadingRefused):  # the old key is no longer the device's
        gateway.enqueue(old_key.sign_reading(MeterReading(1, 3, 2700, 0, 3, 0, FIRMWARE), domain))


class _DownChain(_GasChain):
    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        raise ChainError("connection refused")


def test_enqueue_registryUnreachable_raisesGatewayError() -> None:
    meter = DeviceKey(keccak(text="meter"))
    gateway = Gateway(_DownChain(meter, 1), _GasChain.REGISTRY, _account("gateway"))
    with pytest.raises(GatewayError):
        _queue_readings(gateway, meter, 1)
    assert gateway.pending == 0


@pytest.mark.parametrize("max_batch", [0, REGISTRY_MAX_BATCH + 1])
def test_gateway_refusesABatchSizeTheRegistryRefuses(max_batch: int) -> None:
    meter = DeviceKey(keccak(text="meter"))
    with pytest.raises(GatewayError, match=f"max_batch must be 1..{REGISTRY_MAX_BATCH}"):
        Gateway(
            _GasChain(meter, gas_per_reading=1_000),
            "0x" + "11" * 20,
            _account("gateway"),
            max_batch=max_batch,
        )
