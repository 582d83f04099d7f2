"""Named signing keys in encrypted key files (Web3 Secret Storage, through eth-account).

Each role of a live deployment signs with its own key: the deployer, the multisig's signers,
the gateway, the operators, the verifier, the regulator and the emergency key. A keystore is
a folder with one `<name>.json` per key, readable only by its owner; a key leaves it only
decrypted in memory, never in a command line, a log or an error message.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from gridledger.errors import GridLedgerError
from gridledger.ops.files import read_json_object

KEY_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
# The keys a live deployment hands its roles to (gridledger deploy reads them by these names).
ROLE_KEYS = (
    "deployer",
    "signer-1",
    "signer-2",
    "signer-3",
    "meter-operator",
    "gateway",
    "market-operator",
    "grid-operator",
    "verifier",
    "regulator",
    "emergency",
)
MIN_PASSWORD_CHARS = 8
PASSWORD_ENV = "GRIDLEDGER_KEY_PASSWORD"


class KeystoreError(GridLedgerError):
    """A key cannot be created, imported, found or unlocked."""


def checked_key_name(name: str) -> str:
    """`name` if it can name a key file; KeystoreError otherwise."""
    if not KEY_NAME.fullmatch(name):
        raise KeystoreError(
            f"a key name is lower-case letters, digits and '-', starting with a letter: got {name!r}"
        )
    return name


@dataclass(frozen=True)
class StoredKey:
    """A key file: its name, the address it holds the key of, and where it is."""

    name: str
    address: str
    path: Path


class Keystore:
    """The key files in `directory` (created, owner-only, when the first key is stored)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def create(self, name: str, password: str) -> StoredKey:
        """A new random key under `name`."""
        return self._store(name, Account.create(), password)

    def import_key(self, name: str, private_key_hex: str, password: str) -> StoredKey:
        """The key `private_key_hex` (64 hex digits, 0x optional) under `name`."""
        digits = private_key_hex.strip().removeprefix("0x")
        if not re.fullmatch(r"[0-9a-fA-F]{64}", digits):
            raise KeystoreError("a private key is 64 hex digits (0x optional)")
        try:
            account = Account.from_key(bytes.fromhex(digits))
        except (ValueError, TypeError) as invalid:
            # The digits are not echoed: they are the secret.
            raise KeystoreError("that is not a valid secp256k1 private key") from invalid
        return self._store(name, account, password)

    def stored(self) -> list[StoredKey]:
        """Every key file, by name."""
        if not self.directory.is_dir():
            return []
        return [self._stored(path) for path in sorted(self.directory.glob("*.json"))]

    def find(self, name: str) -> StoredKey:
        """The key file of `name`; KeystoreError if there is none."""
        path = self._path(name)
        if not path.is_file():
            raise KeystoreError(f"no key named {name!r} in {self.directory}")
        return self._stored(path)

    def unlock(self, name: str, password: str) -> LocalAccount:
        """The decrypted key of `name`; KeystoreError for a wrong password."""
        stored = self.find(name)
        try:
            key = Account.decrypt(self._read(stored.path), password)
        except ValueError as refused:
            raise KeystoreError(f"wrong password for key {name!r} ({stored.path})") from refused
        account: LocalAccount = Account.from_key(key)
        return account

    def _store(self, name: str, account: LocalAccount, password: str) -> StoredKey:
        path = self._path(name)
        if len(password) < MIN_PASSWORD_CHARS:
            raise KeystoreError(f"a key password has at least {MIN_PASSWORD_CHARS} characters")
        for existing in self.stored():
            if existing.address == account.address:
                raise KeystoreError(
                    f"the key of {account.address} is stored already, as {existing.name!r}: "
                    "every role needs a key of its own"
                )
        encrypted = Account.encrypt(account.key, password)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            # O_EXCL: an existing key file is never overwritten, even by a concurrent run.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as taken:
            raise KeystoreError(f"a key named {name!r} exists already ({path})") from taken
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(encrypted, out)
        return StoredKey(name, account.address, path)

    def _path(self, name: str) -> Path:
        return self.directory / f"{checked_key_name(name)}.json"

    def _stored(self, path: Path) -> StoredKey:
        document = self._read(path)
        address = document.get("address")
        if not isinstance(address, str) or not re.fullmatch(r"(0x)?[0-9a-fA-F]{40}", address):
            raise KeystoreError(f"{path} is not a key file (no address)")
        return StoredKey(path.stem, to_checksum_address("0x" + address.removeprefix("0x")), path)

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        document = read_json_object(path, "key file", KeystoreError)
        if "crypto" not in document:
            raise KeystoreError(f"{path} is not a key file (Web3 Secret Storage)")
        return document
