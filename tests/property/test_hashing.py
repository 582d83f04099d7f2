"""The pysha3 keccak gives eth_utils' hashes, for bytes and for text, and its EIP-55 addresses."""

from __future__ import annotations

import pytest
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak as eth_utils_keccak
from hypothesis import given
from hypothesis import strategies as st

from gridledger.chain.hashing import checksum_address, keccak


@given(st.binary(max_size=300))
def test_keccak_bytes_equalsEthUtils(data: bytes) -> None:
    assert keccak(data) == eth_utils_keccak(data)


@given(st.text(max_size=100))
def test_keccak_text_equalsEthUtils(text: str) -> None:
    assert keccak(text=text) == eth_utils_keccak(text=text)


@given(st.binary(min_size=20, max_size=20))
def test_checksumAddress_equalsEthUtils(raw: bytes) -> None:
    assert checksum_address(raw) == to_checksum_address(raw)


@pytest.mark.parametrize("size", [0, 19, 21, 32])
def test_checksumAddress_notTwentyBytes_raisesValueError(size: int) -> None:
    with pytest.raises(ValueError, match="20 bytes"):
        checksum_address(bytes(size))
