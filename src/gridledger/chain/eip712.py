"""EIP-712 typed-data hashing and secp256k1 signing shared by meters and traders.

Signing uses coincurve directly on the digest (libsecp256k1): thousands of signatures per
second, as a gateway relaying a feeder or a market simulation with many traders needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import coincurve
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


def domain_separator(name: str, version: str, chain_id: int, contract: str) -> bytes:
    """The domain separator of OpenZeppelin's EIP712 for (name, version) at `contract`."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [DOMAIN_TYPEHASH, keccak(text=name), keccak(text=version), chain_id, contract],
        )
    )


def typed_digest(domain: bytes, typehash: bytes, abi_types: Sequence[str], values: Sequence[object]) -> bytes:
    """keccak("\\x19\\x01" ‖ domain ‖ hashStruct) for a struct of static fields."""
    struct_hash = keccak(
        typehash + b"".join(_static_word(t, v) for t, v in zip(abi_types, values, strict=True))
    )
    return keccak(b"\x19\x01" + domain + struct_hash)


def _static_word(abi_type: str, value: object) -> bytes:
    """One ABI word of a uintN, address or bytes32 value. Every meter reading and order is hashed
    twice (signing, then admission), and eth_abi's general encoder with its validation took
    most of a simulation's time; these three types are all the typed structs here use. Anything
    else falls back to eth_abi."""
    if abi_type.startswith("uint") and isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < 1 << int(abi_type[4:] or 256):
            raise ValueError(f"{value} does not fit {abi_type}")
        return value.to_bytes(32, "big")
    if abi_type == "address" and isinstance(value, str):
        raw = bytes.fromhex(value.removeprefix("0x"))
        if len(raw) != 20:
            raise ValueError(f"{value!r} is not an address")
        return raw.rjust(32, b"\x00")
    if abi_type == "bytes32" and isinstance(value, bytes) and len(value) == 32:
        return value
    return encode([abi_type], [value])


class SigningKey:
    """A secp256k1 key known on-chain by its address."""

    def __init__(self, private_key: bytes) -> None:
        self._key = coincurve.PrivateKey(private_key)
        public = self._key.public_key.format(compressed=False)[1:]
        self.address = to_checksum_address(keccak(public)[-20:])

    def sign(self, digest: bytes) -> bytes:
        """A 65-byte r ‖ s ‖ v signature of a 32-byte digest (v = 27 or 28), as ECDSA.recover takes it."""
        signature = self._key.sign_recoverable(digest, hasher=None)
        return signature[:64] + bytes([27 + signature[64]])

    def sign_compact(self, digest: bytes) -> tuple[bytes, bytes]:
        """(r, vs): an EIP-2098 compact signature of a 32-byte digest."""
        signature = self._key.sign_recoverable(digest, hasher=None)
        r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
        return r, (s | (v << 255)).to_bytes(32, "big")


def recover_compact(digest: bytes, r: bytes, vs: bytes) -> str:
    """The address whose key made (r, vs) over `digest`; raises ValueError if none."""
    packed = int.from_bytes(vs, "big")
    s = packed & ((1 << 255) - 1)
    signature = r + s.to_bytes(32, "big") + bytes([packed >> 255])
    public = coincurve.PublicKey.from_signature_and_message(signature, digest, hasher=None)
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:])
