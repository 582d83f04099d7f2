"""A submitReadings record as pack_readings writes it is the registry's layout: the same bytes as
Solidity's abi.encodePacked of the record's field types (contracts/test/base/ReadingBatch.sol),
here from eth_abi's packed encoder, for every value that fits."""

from __future__ import annotations

import pytest
from eth_abi.packed import encode_packed
from hypothesis import given
from hypothesis import strategies as st

from gridledger.meter.signing import (
    READING_RECORD_BYTES,
    SignedReadingTuple,
    fits_record,
    pack_readings,
    reading_record,
)

RECORD_TYPES = ["uint40", "uint40", "uint40", "uint64", "uint64", "uint8", "bytes32", "bytes32", "bytes32"]
word = st.binary(min_size=32, max_size=32)
fitting = st.tuples(
    st.integers(0, 2**40 - 1),
    st.integers(0, 2**40 - 1),
    st.integers(0, 2**40 - 1),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
    st.integers(0, 255),
    word,
    word,
    word,
)


@given(st.lists(fitting, max_size=4))
def test_packReadings_isAbiEncodePackedOfTheRecordTypes(readings: list[SignedReadingTuple]) -> None:
    packed = pack_readings(readings)
    assert packed == b"".join(encode_packed(RECORD_TYPES, list(reading)) for reading in readings)
    assert len(packed) == READING_RECORD_BYTES * len(readings)


WIDTHS = (40, 40, 40, 64, 64, 8)


@pytest.mark.parametrize("field", range(len(WIDTHS)))
@pytest.mark.parametrize("above", [True, False], ids=["2**width", "negative"])
def test_readingRecord_fieldOutsideItsWidth_isRefused(field: int, above: bool) -> None:
    integers = [0, 1, 0, 0, 0, 0]
    integers[field] = 2 ** WIDTHS[field] if above else -1
    reading: SignedReadingTuple = (*integers, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)  # type: ignore[assignment]
    assert not fits_record(reading)
    with pytest.raises(ValueError, match="wider than its record field"):
        reading_record(reading)


def test_readingRecord_shortSignatureWord_isRefused() -> None:
    reading: SignedReadingTuple = (1, 1, 0, 0, 0, 0, b"\x01" * 32, b"\x02" * 31, b"\x03" * 32)
    assert not fits_record(reading)
