"""The regulator's carbon report and `gridledger report carbon`, built from a simulated day's
chain events: totals that match the run, days that bound what counts, both formats, clear
errors; and a reconciliation that notices altered carbon records."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.carbon.events import load_logs, read_ledger, save_logs
from gridledger.carbon.report import build_report, render_csv, render_json
from gridledger.chain.abi import EventLog, load_artifact
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.main import app
from gridledger.errors import CarbonError
from gridledger.sim.reconcile import reconcile
from gridledger.sim.run import Simulation, SimulationResult
from gridledger.sim.scenario import build_community

CARBON = load_artifact("CarbonCredit")
RUN_DAY = date(2025, 6, 21)
ISSUE_DAY = date(2025, 6, 22)  # the verifier certifies a day just after it ends


@pytest.fixture(scope="module")
def simulated() -> tuple[EmbeddedChain, SimulationResult]:
    community = build_community(prosumers=30)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    # Seed 5: some prosumers retire, some pool, some sell; one offer stays above the buyer's limit.
    return chain, Simulation(chain, community, seed=5).run()


@pytest.fixture(scope="module")
def events_file(
    simulated: tuple[EmbeddedChain, SimulationResult], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    _, result = simulated
    path = tmp_path_factory.mktemp("carbon") / "carbon-events.json"
    save_logs(path, result.system.carbon, [result.system.carbon_pool], result.carbon_logs)
    return path


def test_build_report_totals_match_the_runs_daily_record(
    simulated: tuple[EmbeddedChain, SimulationResult],
) -> None:
    _, result = simulated
    report = build_report(read_ledger(result.carbon_logs, result.system.carbon), RUN_DAY, ISSUE_DAY)
    day = result.carbon[0]
    totals = report.totals()
    assert day.certificates > 0 and day.issued_g > 0
    assert day.pooled_g > 0 and 0 < day.bought_g < day.offered_g
    assert totals["certificates_issued"] == day.certificates
    assert totals["energy_wh"] == day.energy_wh == int(result.minted_wh.sum())
    assert totals["issued_g"] == day.issued_g
    assert totals["pooled_g"] == day.pooled_g
    assert totals["retired_from_pool_g"] == day.retired_from_pool_g
    assert totals["retired_g"] == day.retired_by_holders_g + day.retired_from_pool_g
    assert totals["traded_g"] == day.bought_g
    assert totals["traded_payment_units"] == day.paid_units
    assert sum(r.co2e_g for r in report.retirements) == totals["retired_g"]


def test_build_report_counts_only_the_days_asked(simulated: tuple[EmbeddedChain, SimulationResult]) -> None:
    _, result = simulated
    ledger = read_ledger(result.carbon_logs, result.system.carbon)
    assert build_report(ledger, RUN_DAY, RUN_DAY).totals()["issued_g"] == 0
    assert [row.period for row in build_report(ledger, ISSUE_DAY, ISSUE_DAY).periods] == [
        ISSUE_DAY.isoformat()
    ]


def test_build_report_end_before_start_is_refused(simulated: tuple[EmbeddedChain, SimulationResult]) -> None:
    _, result = simulated
    with pytest.raises(CarbonError, match="before it starts"):
        build_report(read_ledger(result.carbon_logs, result.system.carbon), ISSUE_DAY, RUN_DAY)


def test_read_ledger_retirement_of_unknown_certificate_is_refused(
    simulated: tuple[EmbeddedChain, SimulationResult],
) -> None:
    _, result = simulated
    issued, terms = (CARBON.event_topic(name) for name in ("CertificateIssued", "CertificateTerms"))
    without_terms = [log for log in result.carbon_logs if log.topics[0] != terms]
    without_issuance = [log for log in without_terms if log.topics[0] != issued]
    ledger = read_ledger(without_issuance, result.system.carbon)
    with pytest.raises(CarbonError, match="never issued"):
        build_report(ledger, RUN_DAY, ISSUE_DAY)
    terms_alone = [log for log in result.carbon_logs if log.topics[0] != issued]
    with pytest.raises(CarbonError, match="without its issuance event"):
        read_ledger(terms_alone, result.system.carbon)


def test_render_csv_tables_have_their_rows(simulated: tuple[EmbeddedChain, SimulationResult]) -> None:
    _, result = simulated
    report = build_report(read_ledger(result.carbon_logs, result.system.carbon), RUN_DAY, ISSUE_DAY)
    periods = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert sum(int(row["issued_g"]) for row in periods) == report.totals()["issued_g"]
    retirements = list(csv.DictReader(io.StringIO(render_csv(report, "retirements"))))
    assert {row["beneficiary"] for row in retirements} == {r.beneficiary for r in report.retirements}
    certificates = list(csv.DictReader(io.StringIO(render_csv(report, "certificates"))))
    assert len(certificates) == report.totals()["certificates_issued"]
    with pytest.raises(CarbonError, match="unknown table"):
        render_csv(report, "owners")


def test_render_json_has_totals_and_every_retirement(
    simulated: tuple[EmbeddedChain, SimulationResult],
) -> None:
    _, result = simulated
    report = build_report(read_ledger(result.carbon_logs, result.system.carbon), RUN_DAY, ISSUE_DAY)
    document = json.loads(render_json(report))
    assert document["totals"] == report.totals()
    assert len(document["retirements"]) == len(report.retirements) > 0
    assert all(
        c["energy_source"] == "solar" and c["methodology"] == "ACM0002" for c in document["certificates"]
    )


def test_save_and_load_logs_round_trip(
    events_file: Path, simulated: tuple[EmbeddedChain, SimulationResult]
) -> None:
    _, result = simulated
    carbon, logs = load_logs(events_file)
    assert carbon == result.system.carbon
    assert logs == result.carbon_logs


def test_load_logs_missing_or_malformed_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CarbonError, match="gridledger simulate"):
        load_logs(tmp_path / "absent.json")
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"carbon": "0x0"}')
    with pytest.raises(CarbonError, match="not a carbon event file"):
        load_logs(malformed)


def test_cli_report_carbon_csv_and_json(
    events_file: Path, simulated: tuple[EmbeddedChain, SimulationResult]
) -> None:
    _, result = simulated
    runner = CliRunner()
    args = ["report", "carbon", "--from", "2025-06-21", "--to", "2025-06-22", "--events", str(events_file)]
    as_csv = runner.invoke(app, args)
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert sum(int(r["issued_g"]) for r in rows) == result.carbon[0].issued_g
    as_json = runner.invoke(app, [*args, "--format", "json"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["totals"]["issued_g"] == result.carbon[0].issued_g


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "21.06.2025", "--to", "2025-06-22"], "--from must be a date"),
        (["--from", "2025-06-22", "--to", "2025-06-21"], "before it starts"),
        (["--from", "2025-06-21", "--to", "2025-06-22", "--table", "owners"], "unknown table"),
        (["--from", "2025-06-21", "--to", "2025-06-22", "--rpc-url", "http://127.0.0.1:9"], "--carbon"),
    ],
)
def test_cli_report_carbon_bad_input_exits_2(events_file: Path, arguments: list[str], message: str) -> None:
    outcome = CliRunner().invoke(app, ["report", "carbon", *arguments, "--events", str(events_file)])
    assert outcome.exit_code == 2
    assert message in outcome.stderr


def test_reconcile_altered_daily_record_is_found(simulated: tuple[EmbeddedChain, SimulationResult]) -> None:
    chain, result = simulated
    assert reconcile(chain, result) == []
    day = result.carbon[0]
    altered = replace(result, carbon=[replace(day, issued_g=day.issued_g + 1)])
    assert any("credits issued" in finding for finding in reconcile(chain, altered))


def test_reconcile_altered_retirement_event_is_found(
    simulated: tuple[EmbeddedChain, SimulationResult],
) -> None:
    chain, result = simulated
    retired = next(log for log in result.carbon_logs if log.topics[0] == CARBON.event_topic("CreditsRetired"))
    # The retired amount is the event's second data word: claim one gram more.
    amount_word = 32
    grams = int.from_bytes(retired.data[amount_word : amount_word + 32], "big")
    tampered = retired.data[:amount_word] + (grams + 1).to_bytes(32, "big") + retired.data[amount_word + 32 :]
    logs = [
        EventLog(log.address, log.topics, tampered, log.transaction, log.timestamp) if log is retired else log
        for log in result.carbon_logs
    ]
    findings = reconcile(chain, replace(result, carbon_logs=logs))
    assert any("retirement log" in finding for finding in findings)


def test_reconcile_altered_carbon_payment_is_found(simulated: tuple[EmbeddedChain, SimulationResult]) -> None:
    chain, result = simulated
    day = result.carbon[0]
    altered = replace(result, carbon=[replace(day, paid_units=day.paid_units + 1)])
    assert any("carbon buyers paid" in finding for finding in reconcile(chain, altered))
