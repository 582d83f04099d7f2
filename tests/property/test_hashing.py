"""The pysha3 keccak gives eth_utils' hashes, for bytes and for text."""

from __future__ import annotations

from eth_utils.crypto import keccak as eth_utils_keccak
from hypothesis import given
from hypothesis import strategies as st

from gridledger.chain.hashing import keccak


@given(st.binary(max_size=300))
def test_keccak_bytes_equalsEthUtils(data: bytes) -> None:
    assert keccak(data) == eth_utils_keccak(data)


@given(st.text(max_size=100))
def test_keccak_text_equalsEthUtils(text: str) -> None:
    assert keccak(text=text) == eth_utils_keccak(text=text)
