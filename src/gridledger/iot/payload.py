"""The reading payload a meter publishes: a versioned JSON document (docs/iot.md).

It carries the registry's EIP-712 `MeterReading` and the device's EIP-2098 signature of it, with
the two registers named by their OBIS codes as a meter reports them: 1-0:1.8.0 (active energy
imported, Wh) and 1-0:2.8.0 (active energy exported, Wh). JSON, not CBOR: a reading is about
400 bytes either way, and JSON can be read on the broker's log and by any meter firmware.

Decoding is strict: an unknown schema, a missing or extra field, a value of the wrong type or
outside the registry's widths is refused with a `PayloadRefused` naming one of REFUSAL_REASONS;
the gateway sends that reason to the device's error topic.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gridledger.errors import GatewayError
from gridledger.meter.signing import SignedReadingTuple, fits_registry

SCHEMA = "gridledger.reading/1"
ACK_SCHEMA = "gridledger.reading-ack/1"
ERROR_SCHEMA = "gridledger.reading-error/1"
OBIS_IMPORT_WH = "1-0:1.8.0"
OBIS_EXPORT_WH = "1-0:2.8.0"
MAX_PAYLOAD_BYTES = 4096
_WORD = re.compile(r"0x[0-9a-fA-F]{64}")

# Why the gateway refuses a payload, before anything reaches the chain (the registry's own
# reasons, REJECT_REASONS of meter/gateway.py, come back on the ack topic).
MALFORMED = "MalformedPayload"
UNSUPPORTED_SCHEMA = "UnsupportedSchema"
VALUE_OUT_OF_RANGE = "ValueOutOfRange"
UNKNOWN_DEVICE = "UnknownDevice"
BAD_SIGNATURE = "BadSignature"
REPLAY = "Replay"
WRONG_DEVICE = "WrongDevice"
# Refusals that can pass by themselves (a device registered or provisioned since the gateway
# last looked): the meter keeps the reading and sends it again.
RETRYABLE_REFUSALS = (UNKNOWN_DEVICE, WRONG_DEVICE)
REFUSAL_REASONS = (
    MALFORMED, UNSUPPORTED_SCHEMA, VALUE_OUT_OF_RANGE, UNKNOWN_DEVICE, BAD_SIGNATURE, WRONG_DEVICE, REPLAY,
)  # fmt: skip

_FIELDS = {
    "schema",
    "device_id",
    "sequence",
    "interval_start",
    "registers",
    "flags",
    "firmware_hash",
    "signature",
}


class PayloadRefused(GatewayError):
    """A payload the gateway will not queue; `reason` is one of REFUSAL_REASONS."""

    def __init__(self, reason: str, detail: str, sequence: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.sequence = sequence


def encode_reading(reading: SignedReadingTuple) -> bytes:
    """The payload of a signed reading."""
    device_id, sequence, interval_start, import_wh, export_wh, flags, firmware, r, vs = reading
    return json.dumps(
        {
            "schema": SCHEMA,
            "device_id": device_id,
            "sequence": sequence,
            "interval_start": interval_start,
            "registers": {OBIS_IMPORT_WH: import_wh, OBIS_EXPORT_WH: export_wh},
            "flags": flags,
            "firmware_hash": "0x" + firmware.hex(),
            "signature": {"r": "0x" + r.hex(), "vs": "0x" + vs.hex()},
        },
        separators=(",", ":"),
    ).encode()


def decode_reading(payload: bytes) -> SignedReadingTuple:
    """The signed reading of a payload; PayloadRefused if it is not a valid version-1 reading."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRefused(MALFORMED, f"payload of {len(payload)} bytes, more than {MAX_PAYLOAD_BYTES}")
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as bad:
        raise PayloadRefused(MALFORMED, f"not JSON: {bad}") from bad
    except RecursionError as deep:  # "[[[[…": nesting no reading has
        raise PayloadRefused(MALFORMED, "nested too deeply") from deep
    if not isinstance(document, dict):
        raise PayloadRefused(MALFORMED, "not a JSON object")
    sequence = document.get("sequence")
    sequence_hint = sequence if type(sequence) is int and sequence >= 0 else None
    schema = document.get("schema")
    if schema != SCHEMA:
        raise PayloadRefused(UNSUPPORTED_SCHEMA, f"schema {schema!r}, expected {SCHEMA!r}", sequence_hint)
    if set(document) != _FIELDS:
        missing, extra = sorted(_FIELDS - set(document)), sorted(set(document) - _FIELDS)
        raise PayloadRefused(MALFORMED, f"fields missing {missing}, unknown {extra}", sequence_hint)
    registers = _object(document["registers"], "registers", {OBIS_IMPORT_WH, OBIS_EXPORT_WH}, sequence_hint)
    signature = _object(document["signature"], "signature", {"r", "vs"}, sequence_hint)
    reading: SignedReadingTuple = (
        _integer(document, "device_id", sequence_hint),
        _integer(document, "sequence", sequence_hint),
        _integer(document, "interval_start", sequence_hint),
        _integer(registers, OBIS_IMPORT_WH, sequence_hint),
        _integer(registers, OBIS_EXPORT_WH, sequence_hint),
        _integer(document, "flags", sequence_hint),
        _word(document, "firmware_hash", sequence_hint),
        _word(signature, "r", sequence_hint),
        _word(signature, "vs", sequence_hint),
    )
    if not fits_registry(reading):
        raise PayloadRefused(VALUE_OUT_OF_RANGE, "a value is wider than the registry keeps it", sequence_hint)
    return reading


def encode_ack(sequence: int, status: str, reason: str | None, transaction: str | None = None) -> bytes:
    """The acknowledgement of a reading's outcome on the chain: accepted, or rejected with the
    registry's reason."""
    return json.dumps(
        {
            "schema": ACK_SCHEMA,
            "sequence": sequence,
            "status": status,
            "reason": reason,
            "transaction": transaction,
        },
        separators=(",", ":"),
    ).encode()


def encode_error(refused: PayloadRefused, status: str | None = None) -> bytes:
    """The refusal of a payload; `status` is the first copy's outcome when the refusal is a Replay."""
    return json.dumps(
        {
            "schema": ERROR_SCHEMA,
            "sequence": refused.sequence,
            "reason": refused.reason,
            "detail": refused.detail,
            "status": status,
        },
        separators=(",", ":"),
    ).encode()


def decode_answer(payload: bytes) -> dict[str, Any]:
    """An ack or error document as the meter reads it; PayloadRefused if it is neither."""
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as bad:
        raise PayloadRefused(MALFORMED, f"not JSON: {bad}") from bad
    if not isinstance(document, dict) or document.get("schema") not in (ACK_SCHEMA, ERROR_SCHEMA):
        raise PayloadRefused(UNSUPPORTED_SCHEMA, "neither an acknowledgement nor an error")
    return document


def _object(value: Any, name: str, keys: set[str], sequence: int | None) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise PayloadRefused(MALFORMED, f"{name} must be an object of exactly {sorted(keys)}", sequence)
    return value


def _integer(document: dict[str, Any], name: str, sequence: int | None) -> int:
    value = document[name]
    # bool is an int in Python; JSON true is not a number here.
    if type(value) is not int or value < 0:
        raise PayloadRefused(MALFORMED, f"{name} must be a non-negative integer", sequence)
    return value


def _word(document: dict[str, Any], name: str, sequence: int | None) -> bytes:
    value = document[name]
    # A regular expression, not bytes.fromhex alone: fromhex skips whitespace.
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise PayloadRefused(MALFORMED, f"{name} must be 0x and 64 hex digits", sequence)
    return bytes.fromhex(value[2:])
