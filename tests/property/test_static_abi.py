"""The static-ABI fast path gives eth_abi's bytes and values, and leaves to eth_abi what it does not cover."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode as eth_abi_decode
from eth_abi.abi import encode as eth_abi_encode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.chain.abi import DEPLOYABLE, load_artifact
from gridledger.chain.static_abi import decode_values, encode_arguments

raw_addresses = st.binary(min_size=20, max_size=20)
addresses = st.one_of(
    raw_addresses.map(lambda raw: to_checksum_address(raw)),
    raw_addresses.map(lambda raw: "0x" + raw.hex()),
    raw_addresses.map(lambda raw: "0x" + raw.hex().upper()),
)


def uint(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << bits) - 1)


# A static tuple of nine words (the shape of ISmartMeter.SignedReading) for the decoder.
static_tuple = st.tuples(
    uint(64), uint(64), uint(64), uint(64), uint(64), uint(8),
    st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
)  # fmt: skip
order = st.tuples(addresses, uint(8), uint(16), uint(64), uint(64), uint(64), uint(64), uint(64), uint(64))
fill = st.tuples(
    order, st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32), uint(64), uint(64)
)
interval = st.tuples(uint(16), uint(64), uint(8), uint(64), st.binary(min_size=32, max_size=32))


@settings(max_examples=200)
@given(interval, st.lists(fill, max_size=5))
def test_encodeArguments_settlement_equalsEthAbi(
    header: tuple[object, ...], fills: list[tuple[object, ...]]
) -> None:
    types = load_artifact("EnergyMarket").input_types("settleInterval")
    assert encode_arguments(types, [header, fills]) == eth_abi_encode(types, [header, fills])


@settings(max_examples=200)
@given(
    addresses,
    st.booleans(),
    st.binary(max_size=32),
    uint(256),
    st.lists(uint(256), max_size=4),
    st.lists(addresses, max_size=4),
)
def test_encodeArguments_mixedStaticAndArrays_equalsEthAbi(
    account: str, flag: bool, short_bytes: bytes, amount: int, amounts: list[int], accounts: list[str]
) -> None:
    types = ["address", "bool", "bytes32", "uint256", "uint256[]", "address[]"]
    values = [account, flag, short_bytes, amount, amounts, accounts]
    assert encode_arguments(types, values) == eth_abi_encode(types, values)


def test_encodeArguments_dynamicBytes_goesToEthAbi() -> None:
    types = ["address", "address", "uint256[]", "uint256[]", "bytes"]
    values = ["0x" + "11" * 20, "0x" + "22" * 20, [1, 2], [3, 4], b"receipt"]
    assert encode_arguments(types, values) == eth_abi_encode(types, values)


@pytest.mark.parametrize(
    ("abi_type", "bad_value"),
    [
        ("uint8", 256),
        ("uint64", -1),
        ("uint256", True),
        ("bytes32", b"\x01" * 33),
        ("bool", 1),
        ("address", "0x" + "ab" * 19),
        ("address", "0x" + "zz" * 20),
        ("address", "0x" + "ab" * 19 + "  "),  # hex with spaces: 19 bytes
        ("(uint8,uint8)", (1,)),
        ("uint64[]", 5),
    ],
)
def test_encodeArguments_valueNotOfItsType_raisesEthAbisError(abi_type: str, bad_value: object) -> None:
    with pytest.raises(EncodingError):
        encode_arguments([abi_type], [bad_value])


def test_encodeArguments_hotShapes_encodedWithoutEthAbi(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(types: object, values: object) -> bytes:
        raise AssertionError("eth_abi was asked")

    monkeypatch.setattr("gridledger.chain.static_abi.eth_abi_encode", refuse)
    header = (1, 2, 3, 4, b"\x05" * 32)
    fills = [(("0x" + "ab" * 20, 1, 2, 3, 4, 5, 6, 7, 8), b"\x01" * 32, b"\x02" * 32, 9, 10)]
    settle_types = load_artifact("EnergyMarket").input_types("settleInterval")
    assert len(encode_arguments(settle_types, [header, fills])) == 32 * (5 + 1 + 1 + 13)


def test_encodeArguments_wrongArgumentCount_raisesEthAbisError() -> None:
    with pytest.raises(EncodingError):
        encode_arguments(["uint64", "uint64"], [1])


# ---------------------------------------------------------------------------- decoding
def _output_types() -> list[list[str]]:
    """The output types of every function of every artifact: the shapes decode_values meets."""
    shapes: list[list[str]] = []
    for name in DEPLOYABLE:
        artifact = load_artifact(name)
        shapes.extend(artifact._call_shapes[fn][2] for fn in artifact.functions)
    return [types for types in shapes if types]


@settings(max_examples=200)
@given(st.lists(static_tuple, max_size=6), addresses, st.booleans(), st.binary(max_size=4), uint(256))
def test_decodeValues_staticShapes_equalEthAbi(
    readings: list[tuple[object, ...]], account: str, flag: bool, short: bytes, amount: int
) -> None:
    types = [
        "(uint64,uint64,uint64,uint64,uint64,uint8,bytes32,bytes32,bytes32)[]",
        "address",
        "bool",
        "bytes4",
        "uint256",
    ]
    data = eth_abi_encode(types, [readings, account, flag, short, amount])
    assert decode_values(types, data) == tuple(eth_abi_decode(types, data))


@settings(max_examples=300)
@given(st.sampled_from(_output_types()), st.data())
def test_decodeValues_everyArtifactOutput_equalsEthAbiOnAnyWords(
    types: list[str], data: st.DataObject
) -> None:
    # Random words: most have padding or lengths eth_abi refuses (with whichever exception it
    # raises), and then both must refuse alike.
    words = data.draw(
        st.lists(st.sampled_from([0, 1, 2, 255, 1 << 64, 1 << 160, (1 << 256) - 1]), max_size=24)
    )
    raw = b"".join(word.to_bytes(32, "big") for word in words)
    try:
        expected: object = tuple(eth_abi_decode(types, raw))
    except Exception as refused:  # any refusal of eth_abi's, compared by type
        expected = type(refused)
    try:
        got: object = decode_values(types, raw)
    except Exception as refused:
        got = type(refused)
    assert got == expected


@pytest.mark.parametrize(
    ("abi_type", "word"),
    [("uint8", 256), ("bool", 2), ("address", 1 << 160), ("bytes4", 1)],
)
def test_decodeValues_dirtyPadding_raisesEthAbisError(abi_type: str, word: int) -> None:
    with pytest.raises(DecodingError):
        decode_values([abi_type], word.to_bytes(32, "big"))


def test_decodeValues_truncatedArray_raisesEthAbisError() -> None:
    data = eth_abi_encode(["uint256[]"], [[1, 2, 3]])
    with pytest.raises(DecodingError):
        decode_values(["uint256[]"], data[:-32])
