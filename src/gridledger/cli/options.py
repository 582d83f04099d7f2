"""Checks of command-line values that typer's types cannot express: addresses and contracts."""

from __future__ import annotations

from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address

from gridledger.chain.rpc import RpcChain
from gridledger.errors import InputError


def checked_address(text: str, option: str) -> str:
    """`text` as a checksummed address, or InputError naming `option`.

    A mixed-case address must match its EIP-55 checksum (a mistyped digit is caught); an
    all-lower-case or all-upper-case one carries no checksum and is taken as it is."""
    if not is_hex_address(text) or not text.startswith("0x"):
        raise InputError(f"{option} must be an address, 0x and 40 hex digits, got {text!r}")
    digits = text[2:]
    if digits not in (digits.lower(), digits.upper()) and not is_checksum_address(text):
        # Its correct checksum is not shown: it would be that of the mistyped address.
        raise InputError(f"{option} {text} does not match its EIP-55 checksum: is a character mistyped?")
    return str(to_checksum_address(text))


def require_contract(chain: RpcChain, address: str, option: str) -> None:
    """InputError if no contract is deployed at `address` on `chain` (a wrong address or node)."""
    if not chain.w3.eth.get_code(to_checksum_address(address)):
        raise InputError(f"{option} {address}: no contract there on the chain with id {chain.chain_id}")
