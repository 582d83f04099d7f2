"""EIP-712 typed-data hashing and secp256k1 signing shared by meters and traders.

Signing uses coincurve directly on the digest (libsecp256k1): thousands of signatures per
second, as a gateway relaying a feeder or a market simulation with many traders needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import coincurve
from eth_abi.abi import encode

from gridledger.chain.hashing import checksum_address, keccak
from gridledger.chain.static_abi import encode_arguments

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
    struct_hash = keccak(typehash + encode_arguments(abi_types, values))
    return keccak(b"\x19\x01" + domain + struct_hash)


class SigningKey:
    """A secp256k1 key known on-chain by its address."""

    def __init__(self, private_key: bytes) -> None:
        self._key = coincurve.PrivateKey(private_key)
        public = self._key.public_key.format(compressed=False)[1:]
        self.address = checksum_address(keccak(public)[-20:])

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
    return checksum_address(keccak(public.format(compressed=False)[1:])[-20:])
