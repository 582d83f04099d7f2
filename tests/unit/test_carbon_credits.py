"""Carbon credits through the Python verifier on the embedded EVM: certificates rest on the
energy the registry minted, each lot is certified once, factors change only through the
multisig, and the retirement events replay to the contract's retirement log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.carbon.events import Retirement, collect_logs, read_ledger, retirement_log_head
from gridledger.carbon.report import build_report
from gridledger.carbon.verifier import CarbonVerifier
from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System, governor_keys, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.governance import Governance
from gridledger.cli.demo import FIRMWARE, INTERVAL_S, START_TIME, Participant
from gridledger.errors import CarbonError, ContractRevertError
from gridledger.meter.signing import MeterReading, pack_readings, registry_domain_separator

CARBON = load_artifact("CarbonCredit")
POOL = load_artifact("CarbonPool")
REGISTRY = load_artifact("SmartMeterRegistry")
TOKEN = load_artifact("EnergyToken")
GERMANY, GERMAN_FACTOR = 276, 380
FIRST_INTERVAL = START_TIME - START_TIME % INTERVAL_S
World = tuple[EmbeddedChain, System, list[Participant], int]


def _verifier(chain: EmbeddedChain, system: System) -> CarbonVerifier:
    return CarbonVerifier(chain, system.carbon, system.registry, system.token, named_account("verifier"))


def _certificate(chain: EmbeddedChain, system: System, certificate_id: int) -> tuple[object, ...]:
    return tuple(chain.call(CARBON, system.carbon, "getEmissionReductions", certificate_id)[0])


def _read_more(
    chain: EmbeddedChain, system: System, anna: Participant, intervals: int, after_interval: int = 3
) -> None:
    """Anna's meter reports `intervals` more intervals after interval `after_interval` (the demo's
    last is 3), one sequence number per interval."""
    domain = registry_domain_separator(chain.chain_id, system.registry)
    for k in range(after_interval + 1, after_interval + 1 + intervals):
        start = FIRST_INTERVAL + k * INTERVAL_S
        chain.set_time(start + INTERVAL_S + 30)
        anna.export_wh += anna.export_per_interval_wh
        reading = MeterReading(anna.device_id, k + 1, start, anna.import_wh, anna.export_wh, 0, FIRMWARE)
        chain.transact(
            named_account("gateway"),
            REGISTRY,
            system.registry,
            "submitReadings",
            pack_readings([anna.key.sign_reading(reading, domain)]),
        )


def test_pending_prosumer_pv_credits_are_energy_times_region_factor(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    anna = participants[0]
    certification = _verifier(chain, system).pending(anna.device_id, FIRST_INTERVAL)
    assert certification is not None
    assert certification.energy_wh == anna.export_wh == 4 * anna.export_per_interval_wh
    assert certification.region == GERMANY
    assert certification.emission_factor_g_per_kwh == GERMAN_FACTOR
    assert certification.co2e_grams == anna.export_wh * GERMAN_FACTOR // 1000
    assert (certification.previous_sequence, certification.last_sequence) == (0, 4)
    assert certification.vintage_end == FIRST_INTERVAL + 4 * INTERVAL_S


def test_issue_certificate_records_generation_and_credits(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    anna = participants[0]
    verifier = _verifier(chain, system)
    certification = verifier.pending(anna.device_id, FIRST_INTERVAL)
    assert certification is not None
    certificate_id = verifier.issue(certification)
    record = _certificate(chain, system, certificate_id)
    assert record[1].lower() == anna.owner.lower()
    assert record[2] == anna.device_id
    assert record[10] == certification.energy_wh
    assert record[12] == certification.co2e_grams
    assert (
        chain.call(CARBON, system.carbon, "balanceOf", anna.owner, certificate_id)[0]
        == certification.co2e_grams
    )
    assert verifier.pending(anna.device_id, certification.vintage_end) is None


def test_issue_same_lots_twice_is_refused_as_double_use(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    verifier = _verifier(chain, system)
    certification = verifier.pending(participants[0].device_id, FIRST_INTERVAL)
    assert certification is not None
    verifier.issue(certification)
    with pytest.raises(ContractRevertError) as refused:
        verifier.issue(certification)
    assert refused.value.error_name == "LotRangeNotNext"
    assert chain.call(CARBON, system.carbon, "certificateCount")[0] == 1


def test_pending_after_more_readings_covers_only_new_energy(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    anna = participants[0]
    verifier = _verifier(chain, system)
    first = verifier.pending(anna.device_id, FIRST_INTERVAL)
    assert first is not None
    verifier.issue(first)
    _read_more(chain, system, anna, 3)
    second = verifier.pending(anna.device_id, first.vintage_end)
    assert second is not None
    assert second.energy_wh == 3 * anna.export_per_interval_wh
    assert (second.previous_sequence, second.last_sequence) == (4, 7)
    assert second.co2e_grams == second.energy_wh * GERMAN_FACTOR // 1000


def test_pending_grid_mix_meter_is_refused(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    carla = participants[2]
    with pytest.raises(CarbonError, match="renewable"):
        _verifier(chain, system).pending(carla.device_id, FIRST_INTERVAL)


def test_pending_region_without_factor_is_refused(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    anna = participants[0]
    chain.transact(named_account("regulator"), TOKEN, system.token, "setParticipant", anna.owner, True, 250)
    with pytest.raises(CarbonError, match="region 250"):
        _verifier(chain, system).pending(anna.device_id, FIRST_INTERVAL)


def test_issue_by_someone_without_verifier_role_is_refused(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    certification = _verifier(chain, system).pending(participants[0].device_id, FIRST_INTERVAL)
    assert certification is not None
    impostor = CarbonVerifier(chain, system.carbon, system.registry, system.token, named_account("regulator"))
    with pytest.raises(ContractRevertError) as refused:
        impostor.issue(certification)
    assert refused.value.error_name == "AccessManagedUnauthorized"


def test_set_emission_factor_needs_the_multisig(demo_world: World) -> None:
    chain, system, _, _ = demo_world
    with pytest.raises(ContractRevertError) as refused:
        chain.transact(named_account("regulator"), CARBON, system.carbon, "setEmissionFactor", GERMANY, 1)
    assert refused.value.error_name == "AccessManagedUnauthorized"
    governance = Governance(chain, system.multisig, governor_keys()[:2], named_account("regulator"))
    governance.execute(CARBON, system.carbon, "setEmissionFactor", GERMANY, 363)
    assert chain.call(CARBON, system.carbon, "emissionFactorOf", GERMANY)[0] == 363


def test_retirement_events_replay_to_the_contract_log(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    verifier = _verifier(chain, system)
    for anna_or_ben in participants[:2]:
        certification = verifier.pending(anna_or_ben.device_id, FIRST_INTERVAL)
        assert certification is not None
        certificate_id = verifier.issue(certification)
        chain.transact(
            anna_or_ben.owner,
            CARBON,
            system.carbon,
            "retireCertificateCredits",
            certificate_id,
            certification.co2e_grams // 3,
            named_account("bakery"),
            f"scope 2 of {anna_or_ben.name}",
        )
        chain.transact(anna_or_ben.owner, CARBON, system.carbon, "retireCredits", 7)
    ledger = read_ledger(collect_logs(chain, system.carbon, [system.carbon_pool]), system.carbon)
    assert len(ledger.retirements) == 4
    on_chain = tuple(int(v) for v in chain.call(CARBON, system.carbon, "retirementLog"))
    assert retirement_log_head(ledger.retirements) == on_chain
    altered = [ledger.retirements[0].__class__(**{**ledger.retirements[0].__dict__, "co2e_grams": 1})]
    assert retirement_log_head(altered + ledger.retirements[1:]) != on_chain


def test_retirement_log_head_missing_retirement_is_refused() -> None:
    gap = [Retirement(2, 1, "0x" + "11" * 20, "0x" + "22" * 20, 5, 1, "")]
    with pytest.raises(CarbonError, match="retirement 1 is missing"):
        retirement_log_head(gap)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 2**96 - 1), st.integers(0, 2**40), st.text(max_size=40), st.integers(1, 2**64)
        ),
        min_size=1,
        max_size=4,
    )
)
def test_retirement_log_head_matches_the_contract_step(records: list[tuple[int, int, str, int]]) -> None:
    chain = EmbeddedChain(START_TIME)
    carbon = chain.deploy(
        "CarbonCredit",
        (named_account("manager"), named_account("registry"), named_account("token"), 86_400, ""),
        named_account("deployer"),
    )
    retirements = [
        Retirement(
            i + 1, certificate, named_account(f"holder-{i}"), named_account("beneficiary"), grams, at, purpose
        )
        for i, (grams, at, purpose, certificate) in enumerate(records)
    ]
    head = 0
    for r in retirements:
        record = (r.retiree, r.beneficiary, r.certificate_id, r.co2e_grams, r.retired_at, r.purpose)
        head = int(chain.call(CARBON, carbon, "retirementLogStep", head, r.retirement_id, record)[0])
    assert retirement_log_head(retirements) == (len(records), head)


def test_pending_waits_for_a_reading_after_a_quarantine_reset(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    anna = participants[0]
    domain = registry_domain_separator(chain.chain_id, system.registry)
    start = FIRST_INTERVAL + 4 * INTERVAL_S
    chain.set_time(start + INTERVAL_S + 30)
    tampered = MeterReading(anna.device_id, 5, start, anna.import_wh, anna.export_wh + 100, 1, FIRMWARE)
    gateway = named_account("gateway")
    chain.transact(
        gateway,
        REGISTRY,
        system.registry,
        "submitReadings",
        pack_readings([anna.key.sign_reading(tampered, domain)]),
    )
    governance = Governance(chain, system.multisig, governor_keys()[:2], gateway)
    governance.execute(
        REGISTRY, system.registry, "resetQuarantine", anna.device_id, anna.import_wh, anna.export_wh
    )
    verifier = _verifier(chain, system)
    assert verifier.pending(anna.device_id, FIRST_INTERVAL) is None
    # The reset's baseline is the tampered interval (4): readings go on from interval 5.
    _read_more(chain, system, anna, 2, after_interval=4)
    certification = verifier.pending(anna.device_id, FIRST_INTERVAL)
    assert certification is not None
    assert certification.energy_wh == anna.export_wh == 6 * anna.export_per_interval_wh


def test_expired_credits_are_reported_and_cannot_be_retired(demo_world: World) -> None:
    chain, system, participants, _ = demo_world
    anna = participants[0]
    governance = Governance(chain, system.multisig, governor_keys()[:2], named_account("regulator"))
    one_day = 86_400
    governance.execute(CARBON, system.carbon, "setCreditLifetime", one_day)
    verifier = _verifier(chain, system)
    certification = verifier.pending(anna.device_id, FIRST_INTERVAL)
    assert certification is not None
    certificate_id = verifier.issue(certification)
    retired = certification.co2e_grams // 4
    chain.transact(anna.owner, CARBON, system.carbon, "retireCredits", retired)
    expires_at = certification.vintage_end + one_day
    chain.set_time(expires_at)
    with pytest.raises(ContractRevertError) as refused:
        chain.transact(
            anna.owner, CARBON, system.carbon, "retireCertificateCredits", certificate_id, 1, anna.owner, ""
        )
    assert refused.value.error_name == "CertificateExpired"
    chain.transact(named_account("regulator"), CARBON, system.carbon, "recordExpiry", certificate_id)

    ledger = read_ledger(collect_logs(chain, system.carbon, [system.carbon_pool]), system.carbon)
    expiry_day = datetime.fromtimestamp(expires_at, UTC).date()
    report = build_report(ledger, expiry_day, expiry_day)
    assert report.totals()["expired_g"] == certification.co2e_grams - retired
    assert report.totals()["issued_g"] == 0  # issued on an earlier day
