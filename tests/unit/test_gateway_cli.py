"""`gridledger gateway run|reconcile` refuse a user's mistake in one line with exit code 2 before
touching a broker or a node, and read a time as unix seconds or ISO 8601 (UTC unless zoned)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gridledger.cli.gateway import parse_time
from gridledger.cli.main import app
from gridledger.errors import InputError
from gridledger.iot.outbox import Outbox

NEW_YEAR_2024 = 1_704_067_200  # 2024-01-01T00:00:00Z


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["gateway", *args])


def one_line_exit_2(ran: Result, *expected: str) -> None:
    """A user's mistake: one line naming each of `expected`, exit code 2 (tests/integration/live_cli.py)."""
    assert ran.exit_code == 2, ran.output
    line = ran.output.strip()
    assert len(line.splitlines()) == 1, line
    for part in expected:
        assert part in line, line


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    path = tmp_path / "outbox.sqlite"
    Outbox(path).close()
    return path


def _reconcile(outbox: Path, start: str, end: str) -> Result:
    # The deployments file does not exist: a refusal that got past the checks would name it instead.
    deployments = outbox.parent / "no-deployments.json"
    return _run(
        "reconcile", "--outbox", str(outbox), "--from", start, "--to", end, "--deployments", str(deployments)
    )


# ---------------------------------------------------------------- run
def test_gatewayRun_pkiWithoutItsCertificate_isOneLineExit2(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    pki.mkdir()
    ran = _run("run", "--name", "x", "--pki", str(pki))
    one_line_exit_2(ran, "no certificate for gateway 'x'", str(pki / "gateways" / "x"), "broker config")


# ---------------------------------------------------------------- reconcile
def test_gatewayReconcile_toBeforeFrom_isOneLineExit2(outbox: Path) -> None:
    one_line_exit_2(_reconcile(outbox, "2024-01-02", "2024-01-01"), "--to (2024-01-01) must be after --from")


def test_gatewayReconcile_toEqualToFrom_isOneLineExit2(outbox: Path) -> None:
    one_line_exit_2(_reconcile(outbox, "1704067200", "2024-01-01T00:00:00Z"), "must be after")


@pytest.mark.parametrize("start", ["yesterday", "2024-13-01", "-5", "1.7e9"])
def test_gatewayReconcile_fromNeitherUnixSecondsNorIso8601_isOneLineExit2(outbox: Path, start: str) -> None:
    ran = _reconcile(outbox, start, "2024-01-02")
    one_line_exit_2(ran, repr(start), "neither unix seconds nor an ISO 8601")


def test_gatewayReconcile_toNeitherUnixSecondsNorIso8601_isOneLineExit2(outbox: Path) -> None:
    one_line_exit_2(_reconcile(outbox, "2024-01-01", "tomorrow"), "'tomorrow'")


def test_gatewayReconcile_missingOutbox_isOneLineExit2(tmp_path: Path) -> None:
    missing = tmp_path / "outbox.sqlite"
    one_line_exit_2(_reconcile(missing, "2024-01-01", "2024-01-02"), f"no outbox at {missing}")
    assert not missing.exists()  # not created by looking


def test_gatewayReconcile_withoutTheWindow_isAUsageError(outbox: Path) -> None:
    one_line_exit_2(_run("reconcile", "--outbox", str(outbox), "--from", "2024-01-01"), "--to")


# ---------------------------------------------------------------- parse_time
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("1704067200", NEW_YEAR_2024),
        ("2024-01-01", NEW_YEAR_2024),
        ("2024-01-01T00:15:00", NEW_YEAR_2024 + 900),  # no zone: UTC
        ("2024-01-01 00:15", NEW_YEAR_2024 + 900),
        ("2024-01-01T00:15:00Z", NEW_YEAR_2024 + 900),
        ("2024-01-01T02:15:00+02:00", NEW_YEAR_2024 + 900),
        ("2023-12-31T19:15:00-05:00", NEW_YEAR_2024 + 900),
    ],
)
def test_parseTime_readsUnixSecondsAndIso8601(text: str, seconds: int) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["", "now", "-1", "1.5", "2024-02-30", "24:00"])
def test_parseTime_otherText_isRefused(text: str) -> None:
    with pytest.raises(InputError, match="neither unix seconds nor an ISO 8601"):
        parse_time(text)


def test_parseTime_superscriptDigit_isRefused() -> None:
    with pytest.raises(InputError):
        parse_time("²")


def test_parseTime_beyondAnyInterval_isRefused() -> None:
    with pytest.raises(InputError, match="beyond any interval"):
        parse_time("9" * 23)
