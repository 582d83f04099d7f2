"""Named keys in encrypted key files: created, imported, listed and unlocked; every refusal is one
clear error that names no secret, and a refused command leaves the keystore as it was."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner, Result

from gridledger.cli.main import app
from gridledger.ops.keys import PASSWORD_ENV, ROLE_KEYS, Keystore, KeystoreError

PASSWORD = "correct horse battery"
# A well-known test key (anvil's first account): never a real one.
TEST_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
TEST_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


@pytest.fixture
def store(tmp_path: Path) -> Keystore:
    return Keystore(tmp_path / "keystore")


def _files(store: Keystore) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in store.directory.glob("*")} if store.directory.exists() else {}


def test_create_thenUnlock_givesTheSameAddress_fromAnOwnerOnlyFileWithoutThePlainKey(store: Keystore) -> None:
    created = store.create("gateway", PASSWORD)
    account = store.unlock("gateway", PASSWORD)
    assert account.address == created.address
    mode = stat.S_IMODE(created.path.stat().st_mode)
    assert mode == 0o600 and stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert account.key.hex().removeprefix("0x") not in created.path.read_text()
    assert json.loads(created.path.read_text())["crypto"]["kdf"] == "scrypt"


def test_import_keepsTheKeysAddress(store: Keystore) -> None:
    assert store.import_key("deployer", TEST_KEY, PASSWORD).address == TEST_ADDRESS
    assert store.unlock("deployer", PASSWORD).key.hex().removeprefix("0x") == TEST_KEY.removeprefix("0x")
    assert [(k.name, k.address) for k in store.stored()] == [("deployer", TEST_ADDRESS)]


def test_unlock_wrongPassword_isRefused(store: Keystore) -> None:
    store.create("regulator", PASSWORD)
    with pytest.raises(KeystoreError, match="wrong password for key 'regulator'"):
        store.unlock("regulator", "not the password")


def test_unlock_unknownName_isRefused(store: Keystore) -> None:
    with pytest.raises(KeystoreError, match="no key named 'verifier'"):
        store.unlock("verifier", PASSWORD)


def test_create_existingName_isRefusedAndTheFileKept(store: Keystore) -> None:
    store.create("emergency", PASSWORD)
    before = _files(store)
    with pytest.raises(KeystoreError, match="exists already"):
        store.create("emergency", PASSWORD)
    assert _files(store) == before


def test_import_sameKeyUnderASecondName_isRefused(store: Keystore) -> None:
    store.import_key("signer-1", TEST_KEY, PASSWORD)
    with pytest.raises(KeystoreError, match="stored already, as 'signer-1'"):
        store.import_key("signer-2", TEST_KEY, PASSWORD)
    assert [k.name for k in store.stored()] == ["signer-1"]


@pytest.mark.parametrize(
    "bad_key",
    ["0x1234", "zz" * 32, "00" * 32, "ff" * 32],  # short, not hex, zero, above the curve order
)
def test_import_invalidKey_isRefusedWithoutEchoingIt(store: Keystore, bad_key: str) -> None:
    with pytest.raises(KeystoreError) as refused:
        store.import_key("deployer", bad_key, PASSWORD)
    assert bad_key.removeprefix("0x") not in str(refused.value)
    assert _files(store) == {}


@pytest.mark.parametrize("bad_name", ["", "Gateway", "../deployer", "a b", "1st", "x" * 64])
def test_create_badName_isRefused(store: Keystore, bad_name: str) -> None:
    with pytest.raises(KeystoreError, match="a key name is"):
        store.create(bad_name, PASSWORD)
    assert _files(store) == {}


def test_create_shortPassword_isRefused(store: Keystore) -> None:
    with pytest.raises(KeystoreError, match="at least 8 characters"):
        store.create("gateway", "short")


def test_stored_aFileThatIsNoKeyFile_isRefused(store: Keystore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "notes.json").write_text('{"hello": 1}')
    with pytest.raises(KeystoreError, match="is not a key file"):
        store.stored()


# ---------------------------------------------------------------- the command line
def _run(args: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, args, env=env, input=stdin)


def _assert_one_line_exit_2(ran: Result, *expected: str) -> None:
    assert ran.exception is None or isinstance(ran.exception, SystemExit), repr(ran.exception)
    assert ran.exit_code == 2
    line = ran.output.strip()
    assert len(line.splitlines()) == 1
    for part in expected:
        assert part in line


def test_cli_new_thenList_showsEachRolesOwnAddress(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    keystore = str(tmp_path / "ks")
    created = _run(
        ["keys", "new", "gateway", "verifier", "--keystore", keystore, "--password-file", str(password_file)]
    )
    assert created.exit_code == 0, created.output
    listed = _run(["keys", "list", "--keystore", keystore])
    assert listed.exit_code == 0
    addresses = {k.name: k.address for k in Keystore(Path(keystore)).stored()}
    assert set(addresses) == {"gateway", "verifier"} and len(set(addresses.values())) == 2
    for name, address in addresses.items():
        assert name in listed.output and address in listed.output
    assert PASSWORD not in created.output + listed.output


def test_cli_new_passwordFromEnvironment(tmp_path: Path) -> None:
    keystore = tmp_path / "ks"
    ran = _run(["keys", "new", "emergency", "--keystore", str(keystore)], env={PASSWORD_ENV: PASSWORD})
    assert ran.exit_code == 0, ran.output
    assert (
        Keystore(keystore).unlock("emergency", PASSWORD).address
        == Keystore(keystore).find("emergency").address
    )


def test_cli_new_oneNameTaken_createsNoneOfThem(tmp_path: Path) -> None:
    keystore = tmp_path / "ks"
    Keystore(keystore).create("gateway", PASSWORD)
    ran = _run(
        ["keys", "new", "verifier", "gateway", "--keystore", str(keystore)], env={PASSWORD_ENV: PASSWORD}
    )
    _assert_one_line_exit_2(ran, "gateway", "exist already")
    assert [k.name for k in Keystore(keystore).stored()] == ["gateway"]


def test_cli_new_badNameAmongGood_createsNoneOfThem(tmp_path: Path) -> None:
    keystore = tmp_path / "ks"
    ran = _run(
        ["keys", "new", "verifier", "Bad Name", "--keystore", str(keystore)], env={PASSWORD_ENV: PASSWORD}
    )
    _assert_one_line_exit_2(ran, "a key name is")
    assert Keystore(keystore).stored() == []


def test_cli_new_withoutAName_isRefused(tmp_path: Path) -> None:
    _assert_one_line_exit_2(_run(["keys", "new", "--keystore", str(tmp_path)]), "--all-roles")


def test_cli_import_fromAKeyFile_andAHiddenPrompt(tmp_path: Path) -> None:
    keystore = tmp_path / "ks"
    key_file = tmp_path / "key.hex"
    key_file.write_text(TEST_KEY + "\n")
    from_file = _run(
        ["keys", "import", "deployer", "--key-file", str(key_file), "--keystore", str(keystore)],
        env={PASSWORD_ENV: PASSWORD},
    )
    assert from_file.exit_code == 0, from_file.output
    assert TEST_ADDRESS in from_file.output and TEST_KEY[2:] not in from_file.output
    other = Account.create()
    prompted = _run(
        ["keys", "import", "gateway", "--keystore", str(keystore)],
        env={PASSWORD_ENV: PASSWORD},
        stdin=other.key.hex() + "\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert other.key.hex().removeprefix("0x") not in prompted.output
    assert Keystore(keystore).find("gateway").address == other.address


def test_cli_import_emptyPasswordFile_isRefused(tmp_path: Path) -> None:
    empty = tmp_path / "password"
    empty.write_text("")
    key_file = tmp_path / "key.hex"
    key_file.write_text(TEST_KEY)
    ran = _run(
        [
            "keys",
            "import",
            "deployer",
            "--key-file",
            str(key_file),
            "--keystore",
            str(tmp_path / "ks"),
            "--password-file",
            str(empty),
        ],
    )
    _assert_one_line_exit_2(ran, "is empty")


def test_cli_list_emptyKeystore_saysSo(tmp_path: Path) -> None:
    ran = _run(["keys", "list", "--keystore", str(tmp_path / "none")])
    assert ran.exit_code == 0 and "no keys" in ran.output


def test_cli_allRoles_afterAnImportedDeployer_createsOnlyTheMissingRoles(tmp_path: Path) -> None:
    keystore = tmp_path / "ks"
    key_file = tmp_path / "key.hex"
    key_file.write_text(TEST_KEY)
    env = {PASSWORD_ENV: PASSWORD}
    assert (
        _run(
            ["keys", "import", "deployer", "--key-file", str(key_file), "--keystore", str(keystore)], env
        ).exit_code
        == 0
    )
    created = _run(["keys", "new", "--all-roles", "--keystore", str(keystore)], env)
    assert created.exit_code == 0, created.output
    stored = {key.name: key.address for key in Keystore(keystore).stored()}
    assert set(stored) == set(ROLE_KEYS) and stored["deployer"] == TEST_ADDRESS
    again = _run(["keys", "new", "--all-roles", "--keystore", str(keystore)], env)
    assert again.exit_code == 0 and "every role has a key" in again.output
    assert {key.name: key.address for key in Keystore(keystore).stored()} == stored
