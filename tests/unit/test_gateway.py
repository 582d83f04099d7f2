"""The gateway delivers each reading once, keeps rejections with reasons, and loses nothing."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak

from gridledger.chain.deploy import System
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import FIRMWARE, INTERVAL_S, Participant, _account
from gridledger.errors import ChainError, GatewayError
from gridledger.meter.gateway import Gateway
from gridledger.meter.signing import DeviceKey, MeterReading, registry_domain_separator

World = tuple[EmbeddedChain, System, list[Participant], int]


def _next_readings(
    chain: EmbeddedChain, system: System, participants: list[Participant], sequence: int
) -> list:
    start = chain.timestamp - chain.timestamp % INTERVAL_S
    chain.set_time(start + INTERVAL_S + 10)
    domain = registry_domain_separator(chain.chain_id, system.registry)
    signed = []
    for p in participants:
        p.export_wh += p.export_per_interval_wh
        reading = MeterReading(p.device_id, sequence, start, p.import_wh, p.export_wh, 0, FIRMWARE)
        signed.append(p.key.sign_reading(reading, domain))
    return signed


def test_flush_acceptsAndNeverResends(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"), max_batch=2)
    readings = _next_readings(chain, system, participants, 5)
    assert all(gateway.enqueue(r) for r in readings)
    report = gateway.flush()
    assert sorted(report.accepted) == sorted((p.device_id, 5) for p in participants)
    assert not any(gateway.enqueue(r) for r in readings)  # delivered: never queued again
    assert gateway.pending == 0


def test_flush_reportsRejectionReasonAndRequeues(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    gateway = Gateway(chain, system.registry, _account("gateway"))
    readings = _next_readings(chain, system, participants, 5)
    forged = DeviceKey(keccak(text="impostor")).sign_reading(
        MeterReading(participants[0].device_id, 6, readings[0][2], 0, 10**6, 0, FIRMWARE),
        registry_domain_separator(chain.chain_id, system.registry),
    )
    gateway.enqueue(forged)
    report = gateway.flush()
    assert report.rejected == {(participants[0].device_id, 6): "BadSignature"}
    gateway.requeue((participants[0].device_id, 6))
    assert gateway.pending == 1


def test_flush_pausedRegistryKeepsReadingsQueued(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    from gridledger.chain.abi import load_artifact

    chain.transact(_account("regulator"), load_artifact("SmartMeterRegistry"), system.registry, "pause")
    gateway = Gateway(chain, system.registry, _account("gateway"))
    for reading in _next_readings(chain, system, participants, 5):
        gateway.enqueue(reading)
    with pytest.raises(GatewayError):
        gateway.flush()
    assert gateway.pending == len(participants)


class _FlakyChain:
    """Fails transport twice, then delivers through the real chain."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self._chain = chain
        self.failures_left = 2
        self.last_logs = chain.last_logs

    def transact(self, *args: object) -> object:
        if self.failures_left:
            self.failures_left -= 1
            raise ChainError("connection reset")
        result = self._chain.transact(*args)  # type: ignore[arg-type]
        self.last_logs = self._chain.last_logs
        return result


def test_flush_retriesTransportFailures(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    flaky = _FlakyChain(chain)
    gateway = Gateway(flaky, system.registry, _account("gateway"), max_attempts=3)
    for reading in _next_readings(chain, system, participants, 5):
        gateway.enqueue(reading)
    assert len(gateway.flush().accepted) == len(participants)


def test_flush_givesUpAfterMaxAttemptsWithoutLosingReadings(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    flaky = _FlakyChain(chain)
    gateway = Gateway(flaky, system.registry, _account("gateway"), max_attempts=2)
    for reading in _next_readings(chain, system, participants, 5):
        gateway.enqueue(reading)
    with pytest.raises(GatewayError):
        gateway.flush()
    assert gateway.pending == len(participants)
