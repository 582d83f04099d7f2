"""A live deployment's keys, made once with `gridledger keys new --all-roles`: every role's key
in an encrypted keystore (scrypt is slow, so the keystore is shared by the live-operation
tests, each on its own node)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.cli.main import app

KEY_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def password_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("password") / "password"
    path.write_text(KEY_PASSWORD + "\n")
    return path


@pytest.fixture(scope="session")
def keystore(tmp_path_factory: pytest.TempPathFactory, password_file: Path) -> Path:
    folder = tmp_path_factory.mktemp("keystore")
    made = CliRunner().invoke(
        app, ["keys", "new", "--all-roles", "--keystore", str(folder), "--password-file", str(password_file)]
    )
    assert made.exit_code == 0, made.output
    return folder
