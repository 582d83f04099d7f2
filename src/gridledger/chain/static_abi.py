"""ABI encoding and decoding of the shapes the platform's hot calls use, without eth_abi's overhead.

Every meter reading and order is hashed as an EIP-712 struct of static fields, twice; interval
settlements (`settleInterval`) and zone reservations carry arrays of hundreds of static
structs. eth_abi validates and encodes every field through a tree of encoder objects: about 12
ms for each such settlement here, a third of a simulation's time. These shapes need only the
ABI's simplest rules (a static value is its words; a dynamic array of static elements is its
length and their words, placed after the head at an offset), so they are encoded here; any
other type, or any value that does not fit its type exactly, goes to eth_abi, which also raises
its errors. Return values and event data of the same shapes (every embedded-EVM call's output
is decoded: about 200,000 per simulated day) are decoded here too, and anything outside them,
or any word whose padding is not clean, goes to eth_abi.
`tests/property/test_static_abi.py` checks that both give the same bytes and the same values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import TypeVar

from eth_abi.abi import decode as eth_abi_decode
from eth_abi.abi import encode as eth_abi_encode

# Encodes one value of a static type into its words, or raises _NotStatic.
WordEncoder = Callable[[object], bytes]
# Decodes the static value whose words start at an offset of the data, or raises _NotStatic.
WordDecoder = Callable[[bytes, int], object]
# An encoder or a decoder: both are built by one walk over a type.
Codec = TypeVar("Codec", WordEncoder, WordDecoder)


class _NotStatic(Exception):
    """A type or value outside the fast path: eth_abi takes the call."""


def encode_arguments(abi_types: Sequence[str], values: Sequence[object]) -> bytes:
    """The ABI encoding of `values` as a call's arguments of `abi_types` (eth_abi's `encode`)."""
    plan = _encode_plan(tuple(abi_types))
    if plan is not None and len(values) == len(plan):
        try:
            return _encode_with(plan, values)
        except _NotStatic:
            pass
    return eth_abi_encode(list(abi_types), list(values))


def _encode_with(plan: Sequence[_Item[WordEncoder]], values: Sequence[object]) -> bytes:
    # In the head, a static value takes its words and an array an offset word.
    head_size = sum(32 if is_array else 32 * words for is_array, _, words in plan)
    head: list[bytes] = []
    tail: list[bytes] = []
    tail_size = 0
    for (is_array, encoder, _), value in zip(plan, values, strict=True):
        if not is_array:
            head.append(encoder(value))
            continue
        if not isinstance(value, list | tuple):
            raise _NotStatic
        encoded = b"".join([len(value).to_bytes(32, "big"), *(encoder(item) for item in value)])
        head.append((head_size + tail_size).to_bytes(32, "big"))
        tail.append(encoded)
        tail_size += len(encoded)
    return b"".join(head + tail)


# One top-level value: (is a dynamic array, codec of the value or of each element, words the
# value or each element takes).
_Item = tuple[bool, Codec, int]


def _plan_of(
    abi_types: tuple[str, ...],
    word: Callable[[str], Codec | None],
    combine: Callable[[list[tuple[Codec, int]]], Codec],
) -> tuple[_Item[Codec], ...] | None:
    """How to encode or decode values of these types (a codec per value, built by `word` for
    single-word types and `combine` for tuples from their fields' codecs and word offsets), or
    None when eth_abi must."""
    plan: list[_Item[Codec]] = []
    for abi_type in abi_types:
        is_array = abi_type.endswith("[]")
        found = _static_codec(abi_type[:-2] if is_array else abi_type, word, combine)
        if found is None:
            return None
        codec, words = found
        plan.append((is_array, codec, words))
    return tuple(plan)


def _static_codec(
    abi_type: str, word: Callable[[str], Codec | None], combine: Callable[[list[tuple[Codec, int]]], Codec]
) -> tuple[Codec, int] | None:
    """The codec of a static type and the words it takes, or None outside the fast path."""
    if not abi_type.startswith("("):
        single = word(abi_type)
        return None if single is None else (single, 1)
    fields = _split_tuple(abi_type)
    if fields is None:
        return None
    parts: list[tuple[Codec, int]] = []
    words = 0
    for field in fields:
        static = _static_codec(field, word, combine)
        if static is None:
            return None
        parts.append((static[0], words))
        words += static[1]
    return combine(parts), words


@cache
def _encode_plan(abi_types: tuple[str, ...]) -> tuple[_Item[WordEncoder], ...] | None:
    return _plan_of(abi_types, _word_encoder, _tuple_encoder)


def _split_tuple(abi_type: str) -> list[str] | None:
    """The field types of "(a,b,(c,d))", or None for a tuple array or a malformed type."""
    if not abi_type.endswith(")"):
        return None
    fields: list[str] = []
    depth, start = 0, 1
    for position, char in enumerate(abi_type[1:-1], start=1):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            fields.append(abi_type[start:position])
            start = position + 1
    fields.append(abi_type[start:-1])
    return fields


def _tuple_encoder(fields: list[tuple[WordEncoder, int]]) -> WordEncoder:
    encoders = [encoder for encoder, _ in fields]

    def encode(value: object) -> bytes:
        if not isinstance(value, list | tuple) or len(value) != len(encoders):
            raise _NotStatic
        return b"".join([encoder(item) for encoder, item in zip(encoders, value, strict=True)])

    return encode


_UINT = re.compile(r"uint(\d*)")
_FIXED_BYTES = re.compile(r"bytes(\d+)")


@cache
def _word_encoder(abi_type: str) -> WordEncoder | None:
    if match := _UINT.fullmatch(abi_type):
        return _uint_encoder(int(match.group(1) or 256))
    if match := _FIXED_BYTES.fullmatch(abi_type):
        return _fixed_bytes_encoder(int(match.group(1)))
    if abi_type == "address":
        return _encode_address
    if abi_type == "bool":
        return _encode_bool
    return None


def _uint_encoder(bits: int) -> WordEncoder:
    bound = 1 << bits

    def encode(value: object) -> bytes:
        # `type(...) is int` first: the common case in one check (an int subclass such as an
        # IntEnum takes the longer test; a bool is not an ABI integer).
        if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
            raise _NotStatic
        if not 0 <= value < bound:
            raise _NotStatic
        return value.to_bytes(32, "big")

    return encode


def _fixed_bytes_encoder(size: int) -> WordEncoder:
    def encode(value: object) -> bytes:
        if not isinstance(value, bytes) or len(value) > size:
            raise _NotStatic
        return value.ljust(32, b"\x00")

    return encode


_ADDRESS_PADDING = bytes(12)


def _encode_address(value: object) -> bytes:
    # Like eth_abi, any 40 hex digits; the case (an EIP-55 checksum) is not checked. fromhex
    # skips spaces, so the length of what it gives is checked too.
    if type(value) is not str or len(value) != 42 or not value.startswith("0x"):
        raise _NotStatic
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError as not_hex:
        raise _NotStatic from not_hex
    if len(raw) != 20:
        raise _NotStatic
    return _ADDRESS_PADDING + raw


def _encode_bool(value: object) -> bytes:
    if not isinstance(value, bool):
        raise _NotStatic
    return int(value).to_bytes(32, "big")


# ---------------------------------------------------------------------------- decoding


def decode_values(abi_types: Sequence[str], data: bytes) -> tuple[object, ...]:
    """The values `data` holds as a call's outputs of `abi_types` (eth_abi's `decode`)."""
    plan = _decode_plan(tuple(abi_types))
    if plan is not None:
        try:
            return _decode_with(plan, data)
        except _NotStatic:
            pass
    return tuple(eth_abi_decode(list(abi_types), data))


def _decode_with(plan: Sequence[_Item[WordDecoder]], data: bytes) -> tuple[object, ...]:
    head_size = sum(32 if is_array else 32 * words for is_array, _, words in plan)
    values: list[object] = []
    position = 0
    for is_array, decoder, words in plan:
        size = 32 * words
        if not is_array:
            values.append(decoder(data, position))
            position += size
            continue
        offset = _bounded(data, position, 1 << 32)
        count = _bounded(data, offset, 1 << 32) if offset >= head_size else None
        if count is None or offset + 32 + count * size > len(data):
            raise _NotStatic
        start = offset + 32
        values.append(tuple(decoder(data, start + k * size) for k in range(count)))
        position += 32
    return tuple(values)


def _bounded(data: bytes, position: int, bound: int) -> int:
    if position + 32 > len(data):
        raise _NotStatic
    value = int.from_bytes(data[position : position + 32], "big")
    if value >= bound:
        raise _NotStatic
    return value


@cache
def _decode_plan(abi_types: tuple[str, ...]) -> tuple[_Item[WordDecoder], ...] | None:
    return _plan_of(abi_types, _word_decoder, _tuple_decoder)


def _tuple_decoder(decoders: list[tuple[WordDecoder, int]]) -> WordDecoder:
    def decode(data: bytes, position: int) -> object:
        return tuple(decoder(data, position + 32 * word) for decoder, word in decoders)

    return decode


@cache
def _word_decoder(abi_type: str) -> WordDecoder | None:
    if match := _UINT.fullmatch(abi_type):
        bound = 1 << int(match.group(1) or 256)
        return lambda data, position: _bounded(data, position, bound)
    if match := _FIXED_BYTES.fullmatch(abi_type):
        return _fixed_bytes_decoder(int(match.group(1)))
    if abi_type == "address":
        return _decode_address
    if abi_type == "bool":
        return lambda data, position: _bounded(data, position, 2) == 1
    return None


def _fixed_bytes_decoder(size: int) -> WordDecoder:
    padding = bytes(32 - size)

    def decode(data: bytes, position: int) -> object:
        if position + 32 > len(data) or data[position + size : position + 32] != padding:
            raise _NotStatic
        return data[position : position + size]

    return decode


def _decode_address(data: bytes, position: int) -> object:
    # eth_abi gives addresses as lower-case hex, not EIP-55.
    if position + 32 > len(data) or data[position : position + 12] != _ADDRESS_PADDING:
        raise _NotStatic
    return "0x" + data[position + 12 : position + 32].hex()
