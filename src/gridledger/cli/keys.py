"""`gridledger keys ...`: the encrypted signing keys of a live deployment, one per role."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gridledger.ops.keys import (
    PASSWORD_ENV,
    ROLE_KEYS,
    Keystore,
    KeystoreError,
    StoredKey,
    checked_key_name,
)

keys_app = typer.Typer(
    help="Encrypted signing keys (Web3 Secret Storage), one per role.", no_args_is_help=True
)

DEFAULT_KEYSTORE = Path("keystore")
KeystoreOption = Annotated[Path, typer.Option("--keystore", help="Folder of the key files.")]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help=f"File whose first line is the password; else ${PASSWORD_ENV}; else a prompt.",
    ),
]


def key_password(password_file: Path | None, confirm: bool = False) -> str:
    """The keystore password: from `password_file`'s first line, else the environment variable,
    else a hidden prompt (asked twice when `confirm`). Never an argument of the command line,
    where other users of the machine and the shell history would see it."""
    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as unreadable:
            raise KeystoreError(
                f"cannot read the password file {password_file}: {unreadable}"
            ) from unreadable
        if not lines or not lines[0]:
            raise KeystoreError(f"the password file {password_file} is empty")
        return lines[0]
    from_environment = os.environ.get(PASSWORD_ENV)
    if from_environment:
        return from_environment
    password: str = typer.prompt("Key password", hide_input=True, confirmation_prompt=confirm)
    return password


@keys_app.command("new")
def new_command(
    names: Annotated[list[str] | None, typer.Argument(help="Names of the keys to create.")] = None,
    all_roles: Annotated[
        bool,
        typer.Option(
            "--all-roles", help=f"Create a key for each role that has none yet: {', '.join(ROLE_KEYS)}."
        ),
    ] = False,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
) -> None:
    """Create new random keys, each encrypted with the password, and print their addresses."""
    named = list(names or [])
    if not named and not all_roles:
        raise KeystoreError("name at least one key, or pass --all-roles")
    if len(set(named)) != len(named):
        raise KeystoreError("a key name is given twice")
    for name in named:
        checked_key_name(name)
    store = Keystore(keystore)
    existing = {key.name for key in store.stored()}
    # --all-roles fills in the roles that have no key yet (an imported deployer, say).
    wanted = named + [name for name in ROLE_KEYS if all_roles and name not in existing and name not in named]
    if not wanted:
        typer.echo(f"every role has a key in {keystore} already")
        return
    taken = existing & set(named)
    if taken:
        # Checked before any key is made, so that a failed run leaves no half of its keys behind.
        raise KeystoreError(f"keys named {', '.join(sorted(taken))} exist already in {keystore}")
    password = key_password(password_file, confirm=True)
    _print_keys([store.create(name, password) for name in wanted])


@keys_app.command("import")
def import_command(
    name: Annotated[str, typer.Argument(help="Name to store the key under.")],
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="File holding the private key (hex); else a hidden prompt."),
    ] = None,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
) -> None:
    """Store an existing private key, encrypted with the password."""
    if key_file is not None:
        try:
            private_key = key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as unreadable:
            raise KeystoreError(f"cannot read the key file {key_file}: {unreadable}") from unreadable
    else:
        private_key = typer.prompt("Private key (hex)", hide_input=True)
    password = key_password(password_file, confirm=True)
    _print_keys([Keystore(keystore).import_key(name, private_key, password)])


@keys_app.command("list")
def list_command(keystore: KeystoreOption = DEFAULT_KEYSTORE) -> None:
    """The keys in the keystore: name, address and file."""
    stored = Keystore(keystore).stored()
    if not stored:
        typer.echo(f"no keys in {keystore}")
        return
    _print_keys(stored)


def _print_keys(stored: list[StoredKey]) -> None:
    table = Table()
    for header in ("name", "address", "file"):
        table.add_column(header)
    for key in stored:
        table.add_row(key.name, key.address, str(key.path))
    Console(width=160).print(table)
