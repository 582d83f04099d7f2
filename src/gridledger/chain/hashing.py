"""keccak256 through pysha3's C implementation, and EIP-55 addresses from it.

eth_utils' keccak goes through eth_hash, which takes pycryptodome whenever it is installed (web3
installs it): about 18 µs a call on this machine against pysha3's 2.6 µs. Every meter reading
and every order is hashed when signed and again when admitted, so hashing was a sixth of a
simulation's time. The signature is eth_utils' (bytes, or `text=` hashed as UTF-8), so the two
are interchangeable. eth_utils' `to_checksum_address` hashes through eth_hash too and validates
its input on the way (about 150 µs a call here); a market recovers every order's signer to an
address, so the EIP-55 rule is applied here to raw 20-byte addresses.
"""

from __future__ import annotations

import sha3


def keccak(data: bytes = b"", *, text: str | None = None) -> bytes:
    """keccak256 of `data`, or of `text` encoded as UTF-8."""
    if text is not None:
        data = text.encode()
    return bytes(sha3.keccak_256(data).digest())


def checksum_address(raw: bytes) -> str:
    """The EIP-55 mixed-case hex of a 20-byte address (eth_utils' `to_checksum_address`)."""
    if len(raw) != 20:
        raise ValueError(f"an address has 20 bytes, not {len(raw)}")
    lower = raw.hex()
    hashed = keccak(lower.encode()).hex()
    # A letter is upper case where the hash's nibble at its position is 8 or more.
    return "0x" + "".join(c.upper() if h >= "8" else c for c, h in zip(lower, hashed, strict=False))
