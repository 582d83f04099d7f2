"""ABI encoding of the argument shapes the platform's hot calls use, without eth_abi's overhead.

Every meter reading and order is hashed as an EIP-712 struct of static fields, twice; meter
batches (`submitReadings`), interval settlements (`settleInterval`) and zone reservations carry
arrays of hundreds of static structs. eth_abi validates and encodes every field through a tree
of encoder objects: about 12 ms for each such batch or settlement here, a third of a
simulation's time. These shapes need only the ABI's simplest rules (a static value is its words; a dynamic
array of static elements is its length and their words, placed after the head at an offset),
so they are encoded here; any other type, or any value that does not fit its type exactly,
goes to eth_abi, which also raises its errors. `tests/property/test_static_abi.py` checks that
both give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

from eth_abi.abi import encode as eth_abi_encode

# Encodes one value of a static type into its words, or raises _NotStatic.
WordEncoder = Callable[[object], bytes]


class _NotStatic(Exception):
    """A type or value outside the fast path: eth_abi takes the call."""


def encode_arguments(abi_types: Sequence[str], values: Sequence[object]) -> bytes:
    """The ABI encoding of `values` as a call's arguments of `abi_types` (eth_abi's `encode`)."""
    plan = _plan(tuple(abi_types))
    if plan is not None and len(values) == len(plan):
        try:
            return _encode_with(plan, values)
        except _NotStatic:
            pass
    return eth_abi_encode(list(abi_types), list(values))


# One top-level argument: (is a dynamic array, encoder of the value or of each element, bytes
# it takes in the head: its words if static, an offset word if an array).
_Argument = tuple[bool, WordEncoder, int]


def _encode_with(plan: Sequence[_Argument], values: Sequence[object]) -> bytes:
    head_size = sum(size for _, _, size in plan)
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


@cache
def _plan(abi_types: tuple[str, ...]) -> tuple[_Argument, ...] | None:
    """How to encode arguments of these types, or None when eth_abi must."""
    plan: list[_Argument] = []
    for abi_type in abi_types:
        is_array = abi_type.endswith("[]")
        static = _static_encoder(abi_type[:-2] if is_array else abi_type)
        if static is None:
            return None
        encoder, words = static
        plan.append((is_array, encoder, 32 if is_array else 32 * words))
    return tuple(plan)


def _static_encoder(abi_type: str) -> tuple[WordEncoder, int] | None:
    """The encoder of a static type and the words it writes, or None outside the fast path."""
    if not abi_type.startswith("("):
        word = _word_encoder(abi_type)
        return None if word is None else (word, 1)
    fields = _split_tuple(abi_type)
    if fields is None:
        return None
    encoders: list[WordEncoder] = []
    words = 0
    for field in fields:
        static = _static_encoder(field)
        if static is None:
            return None
        encoders.append(static[0])
        words += static[1]
    return _tuple_encoder(encoders), words


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


def _tuple_encoder(encoders: list[WordEncoder]) -> WordEncoder:
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
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < bound:
            raise _NotStatic
        return value.to_bytes(32, "big")

    return encode


def _fixed_bytes_encoder(size: int) -> WordEncoder:
    def encode(value: object) -> bytes:
        if not isinstance(value, bytes) or len(value) > size:
            raise _NotStatic
        return value.ljust(32, b"\x00")

    return encode


_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _encode_address(value: object) -> bytes:
    # Like eth_abi, any 40 hex digits; the case (an EIP-55 checksum) is not checked.
    if not isinstance(value, str) or not _HEX_ADDRESS.fullmatch(value):
        raise _NotStatic
    return bytes.fromhex(value[2:]).rjust(32, b"\x00")


def _encode_bool(value: object) -> bytes:
    if not isinstance(value, bool):
        raise _NotStatic
    return int(value).to_bytes(32, "big")
