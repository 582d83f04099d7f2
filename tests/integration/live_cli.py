"""What the live-operation tests share: the deploy command line and the one-line refusal."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from gridledger.cli.main import app


def deploy_args(url: str, keystore: Path, password_file: Path, deployments: Path, *extra: str) -> list[str]:
    """`gridledger deploy` of a local network (a test dollar to pay with)."""
    return [
        "deploy", "--rpc-url", url, "--keystore", str(keystore), "--password-file", str(password_file),
        "--deployments", str(deployments), "--test-dollar", *extra,
    ]  # fmt: skip


def deploy(url: str, keystore: Path, password_file: Path, deployments: Path) -> None:
    """Deploy, and fail the test with the command's output if it did not succeed."""
    ran = CliRunner().invoke(app, deploy_args(url, keystore, password_file, deployments))
    assert ran.exit_code == 0, ran.output


def one_line_exit_2(ran: Result, *expected: str) -> None:
    """A user's mistake: one line on stderr naming each of `expected`, exit code 2."""
    assert ran.exit_code == 2, ran.output
    line = ran.output.strip()
    assert len(line.splitlines()) == 1, line
    for part in expected:
        assert part in line, line
