"""A live deployment's keys, made once: every role's key in an encrypted keystore (scrypt is
slow, so the keystore is shared by the live-operation tests, each on its own anvil)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridledger.ops.keys import ROLE_KEYS, Keystore

KEY_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def keystore(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keystore")
    store = Keystore(folder)
    for name in ROLE_KEYS:
        store.create(name, KEY_PASSWORD)
    return folder


@pytest.fixture(scope="session")
def password_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("password") / "password"
    path.write_text(KEY_PASSWORD + "\n")
    return path
