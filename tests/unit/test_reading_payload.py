"""A meter's reading payload survives encoding exactly; the gateway refuses every malformed,
unknown or too-wide payload with the reason it sends back, and keeps the sequence it could read.
Device names and topics admit no wildcard, level separator or gateway name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.errors import InputError
from gridledger.iot.payload import (
    ACK_SCHEMA,
    ERROR_SCHEMA,
    MALFORMED,
    MAX_PAYLOAD_BYTES,
    OBIS_EXPORT_WH,
    OBIS_IMPORT_WH,
    SCHEMA,
    UNSUPPORTED_SCHEMA,
    VALUE_OUT_OF_RANGE,
    PayloadRefused,
    decode_answer,
    decode_reading,
    encode_ack,
    encode_error,
    encode_reading,
)
from gridledger.iot.topics import (
    ROOT,
    ack_topic,
    checked_device_name,
    device_name_of,
    error_topic,
    readings_topic,
    shared_readings_filter,
)
from gridledger.meter.signing import (
    REGISTRY_MAX_REGISTER_WH,
    REGISTRY_MAX_SEQUENCE,
    DeviceKey,
    MeterReading,
    SignedReadingTuple,
    fits_registry,
    registry_domain_separator,
)

METER = DeviceKey(bytes.fromhex("11" * 32))
DOMAIN = registry_domain_separator(31337, "0x" + "ab" * 20)
FIRMWARE = bytes.fromhex("f0" * 32)
SEQUENCE = 7
SIGNED = METER.sign_reading(MeterReading(42, SEQUENCE, 1_699_999_200, 12_345, 678, 0, FIRMWARE), DOMAIN)
FIELDS = ("device_id", "sequence", "interval_start", "registers", "flags", "firmware_hash", "signature")
INTEGER_FIELDS = ("device_id", "sequence", "interval_start", "flags")


def _document() -> dict[str, Any]:
    """The JSON document of a valid signed reading, to spoil one field of."""
    document: dict[str, Any] = json.loads(encode_reading(SIGNED))
    return document


def _payload(document: Any) -> bytes:
    return json.dumps(document).encode()


def _refusal(payload: bytes) -> PayloadRefused:
    with pytest.raises(PayloadRefused) as refused:
        decode_reading(payload)
    return refused.value


# ---------------------------------------------------------------- round trip
registry_readings = st.tuples(
    st.integers(0, 2**40 - 1),  # device_id: its record width
    st.integers(0, REGISTRY_MAX_SEQUENCE),
    st.integers(0, 2**40 - 1),  # interval_start
    st.integers(0, REGISTRY_MAX_REGISTER_WH),
    st.integers(0, REGISTRY_MAX_REGISTER_WH),
    st.integers(0, 255),  # flags
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
)


@given(registry_readings)
def test_decodeReading_ofEncodedReading_givesItBackExactly(reading: SignedReadingTuple) -> None:
    assert fits_registry(reading)
    payload = encode_reading(reading)
    assert len(payload) <= MAX_PAYLOAD_BYTES
    assert decode_reading(payload) == reading


def test_encodeReading_namesTheRegistersByObisCode() -> None:
    document = json.loads(encode_reading(SIGNED))
    assert document["schema"] == SCHEMA
    assert document["registers"] == {OBIS_IMPORT_WH: 12_345, OBIS_EXPORT_WH: 678}
    assert document["firmware_hash"] == "0x" + "f0" * 32
    assert document["signature"] == {"r": "0x" + SIGNED[7].hex(), "vs": "0x" + SIGNED[8].hex()}


def test_decodeReading_uppercaseHexDigits_areRead() -> None:
    document = _document()
    document["firmware_hash"] = "0x" + "F0" * 32
    assert decode_reading(_payload(document))[6] == FIRMWARE


def test_decodeReading_payloadOfExactlyTheLimit_isRead() -> None:
    payload = encode_reading(SIGNED)
    padded = payload[:-1] + b" " * (MAX_PAYLOAD_BYTES - len(payload)) + b"}"
    assert len(padded) == MAX_PAYLOAD_BYTES
    assert decode_reading(padded) == SIGNED


# ---------------------------------------------------------------- refusals: the document
def test_decodeReading_notJson_isMalformed() -> None:
    refused = _refusal(b'{"schema": "gridledger.reading/1",')
    assert refused.reason == MALFORMED and "not JSON" in refused.detail
    assert refused.sequence is None


def test_decodeReading_notUtf8_isMalformed() -> None:
    assert _refusal(b"\xff\xfe\xfd").reason == MALFORMED


def test_decodeReading_jsonArray_isMalformedNotAnObject() -> None:
    refused = _refusal(_payload([_document()]))
    assert refused.reason == MALFORMED and "not a JSON object" in refused.detail
    assert refused.sequence is None


def test_decodeReading_jsonNumber_isMalformedNotAnObject() -> None:
    assert _refusal(b"7").reason == MALFORMED


def test_decodeReading_payloadOneByteOverTheLimit_isMalformed() -> None:
    payload = encode_reading(SIGNED)
    padded = payload[:-1] + b" " * (MAX_PAYLOAD_BYTES + 1 - len(payload)) + b"}"
    refused = _refusal(padded)
    assert refused.reason == MALFORMED and f"{MAX_PAYLOAD_BYTES + 1} bytes" in refused.detail


def test_decodeReading_otherSchemaVersion_isUnsupportedSchema() -> None:
    document = _document()
    document["schema"] = "gridledger.reading/2"
    refused = _refusal(_payload(document))
    assert refused.reason == UNSUPPORTED_SCHEMA and "gridledger.reading/2" in refused.detail
    assert refused.sequence == SEQUENCE


def test_decodeReading_absentSchema_isUnsupportedSchema() -> None:
    document = _document()
    del document["schema"]
    assert _refusal(_payload(document)).reason == UNSUPPORTED_SCHEMA


def test_decodeReading_answerSchema_isUnsupportedSchema() -> None:
    document = _document()
    document["schema"] = ACK_SCHEMA
    assert _refusal(_payload(document)).reason == UNSUPPORTED_SCHEMA


@pytest.mark.parametrize("field", FIELDS)
def test_decodeReading_missingField_isMalformedNamingIt(field: str) -> None:
    document = _document()
    del document[field]
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and repr(field) in refused.detail


def test_decodeReading_extraField_isMalformedNamingIt() -> None:
    document = _document()
    document["temperature_c"] = 21
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and "'temperature_c'" in refused.detail
    assert refused.sequence == SEQUENCE


# ---------------------------------------------------------------- refusals: registers and signature
@pytest.mark.parametrize("code", [OBIS_IMPORT_WH, OBIS_EXPORT_WH])
def test_decodeReading_registersMissingAnObisCode_isMalformed(code: str) -> None:
    document = _document()
    del document["registers"][code]
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and "registers" in refused.detail
    assert refused.sequence == SEQUENCE


def test_decodeReading_registersWithAnExtraObisCode_isMalformed() -> None:
    document = _document()
    document["registers"]["1-0:1.8.1"] = 5  # a tariff register the registry does not take
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and "registers" in refused.detail


def test_decodeReading_registersAsList_isMalformed() -> None:
    document = _document()
    document["registers"] = [12_345, 678]
    assert _refusal(_payload(document)).reason == MALFORMED


@pytest.mark.parametrize("part", ["r", "vs"])
def test_decodeReading_signatureMissingAPart_isMalformed(part: str) -> None:
    document = _document()
    del document["signature"][part]
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and "signature" in refused.detail


def test_decodeReading_signatureWithV_isMalformed() -> None:
    document = _document()
    document["signature"]["v"] = 27
    assert _refusal(_payload(document)).reason == MALFORMED


# ---------------------------------------------------------------- refusals: integers
@pytest.mark.parametrize("field", INTEGER_FIELDS)
def test_decodeReading_negativeInteger_isMalformed(field: str) -> None:
    document = _document()
    document[field] = -1
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and field in refused.detail


@pytest.mark.parametrize("code", [OBIS_IMPORT_WH, OBIS_EXPORT_WH])
def test_decodeReading_negativeRegister_isMalformed(code: str) -> None:
    document = _document()
    document["registers"][code] = -5
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and code in refused.detail


@pytest.mark.parametrize("field", INTEGER_FIELDS)
def test_decodeReading_booleanForAnInteger_isMalformed(field: str) -> None:
    document = _document()
    document[field] = True
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and field in refused.detail


def test_decodeReading_booleanRegister_isMalformed() -> None:
    document = _document()
    document["registers"][OBIS_EXPORT_WH] = False
    assert _refusal(_payload(document)).reason == MALFORMED


@pytest.mark.parametrize("field", INTEGER_FIELDS)
def test_decodeReading_floatForAnInteger_isMalformed(field: str) -> None:
    document = _document()
    document[field] = float(document[field])
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and field in refused.detail


def test_decodeReading_floatRegister_isMalformed() -> None:
    document = _document()
    document["registers"][OBIS_IMPORT_WH] = 12_345.0
    assert _refusal(_payload(document)).reason == MALFORMED


def test_decodeReading_integerAsString_isMalformed() -> None:
    document = _document()
    document["device_id"] = "42"
    assert _refusal(_payload(document)).reason == MALFORMED


def test_decodeReading_nullInteger_isMalformed() -> None:
    document = _document()
    document["interval_start"] = None
    assert _refusal(_payload(document)).reason == MALFORMED


# ---------------------------------------------------------------- refusals: 32-byte words
BAD_WORDS = {
    "no 0x": "f0" * 32 + "00",
    "63 hex digits": "0x" + "f" * 63,
    "65 hex digits": "0x" + "f" * 65,
    "not hex": "0x" + "zz" * 32,
    "capital 0X": "0X" + "f0" * 32,
    "20 bytes": "0x" + "ab" * 20,
}


def _with_word(where: str, value: object) -> dict[str, Any]:
    document = _document()
    if where == "firmware_hash":
        document["firmware_hash"] = value
    else:
        document["signature"][where] = value
    return document


@pytest.mark.parametrize("where", ["firmware_hash", "r", "vs"])
@pytest.mark.parametrize("form", sorted(BAD_WORDS))
def test_decodeReading_wordNotOxAnd64HexDigits_isMalformed(where: str, form: str) -> None:
    refused = _refusal(_payload(_with_word(where, BAD_WORDS[form])))
    assert refused.reason == MALFORMED and where in refused.detail
    assert refused.sequence == SEQUENCE


@pytest.mark.parametrize("where", ["firmware_hash", "r", "vs"])
def test_decodeReading_wordAsNumber_isMalformed(where: str) -> None:
    assert _refusal(_payload(_with_word(where, 0))).reason == MALFORMED


def test_decodeReading_wordWithWhitespace_isMalformed() -> None:
    refused = _refusal(_payload(_with_word("firmware_hash", "0x" + "f0" * 31 + "  ")))
    assert refused.reason == MALFORMED


# ---------------------------------------------------------------- refusals: wider than the registry
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sequence", REGISTRY_MAX_SEQUENCE + 1),  # 2**32: the registry keeps 32 bits
        ("device_id", 2**40),
        ("interval_start", 2**40),
        ("flags", 256),
        (OBIS_IMPORT_WH, REGISTRY_MAX_REGISTER_WH + 1),
        (OBIS_EXPORT_WH, REGISTRY_MAX_REGISTER_WH + 1),
    ],
)
def test_decodeReading_valueWiderThanTheRegistryKeeps_isValueOutOfRange(field: str, value: int) -> None:
    document = _document()
    if field in document:
        document[field] = value
    else:
        document["registers"][field] = value
    refused = _refusal(_payload(document))
    assert refused.reason == VALUE_OUT_OF_RANGE
    assert refused.sequence == document["sequence"]


def test_decodeReading_widestValuesTheRegistryKeeps_areRead() -> None:
    document = _document()
    document["sequence"] = REGISTRY_MAX_SEQUENCE
    widest = REGISTRY_MAX_REGISTER_WH
    document["registers"] = {OBIS_IMPORT_WH: widest, OBIS_EXPORT_WH: widest}
    decoded = decode_reading(_payload(document))
    assert decoded[1] == REGISTRY_MAX_SEQUENCE and decoded[3:5] == (REGISTRY_MAX_REGISTER_WH,) * 2


# ---------------------------------------------------------------- the sequence hint
def test_decodeReading_refusalOfAnotherField_carriesTheSequence() -> None:
    document = _document()
    document["flags"] = "tamper"
    assert _refusal(_payload(document)).sequence == SEQUENCE


@pytest.mark.parametrize("unreadable", ["7", True, 7.0, None])
def test_decodeReading_unreadableSequence_carriesNoSequence(unreadable: object) -> None:
    document = _document()
    document["sequence"] = unreadable
    refused = _refusal(_payload(document))
    assert refused.reason == MALFORMED and refused.sequence is None


def test_decodeReading_absentSequence_carriesNoSequence() -> None:
    document = _document()
    del document["sequence"]
    assert _refusal(_payload(document)).sequence is None


# ---------------------------------------------------------------- answers to the meter
def test_encodeAck_accepted_hasEveryField() -> None:
    assert json.loads(encode_ack(7, "accepted", None, "0x" + "aa" * 32)) == {
        "schema": ACK_SCHEMA,
        "sequence": 7,
        "status": "accepted",
        "reason": None,
        "transaction": "0x" + "aa" * 32,
    }


def test_encodeAck_rejected_carriesTheRegistryReason() -> None:
    ack = json.loads(encode_ack(8, "rejected", "TamperFlag"))
    assert (ack["status"], ack["reason"], ack["transaction"]) == ("rejected", "TamperFlag", None)


def test_encodeError_carriesTheRefusal() -> None:
    refused = PayloadRefused(MALFORMED, "flags must be a non-negative integer", 9)
    assert json.loads(encode_error(refused)) == {
        "schema": ERROR_SCHEMA,
        "sequence": 9,
        "reason": MALFORMED,
        "detail": "flags must be a non-negative integer",
        "status": None,
    }


def test_encodeError_replay_carriesTheFirstCopysStatus() -> None:
    replay = PayloadRefused("Replay", "sequence 9 was already received", 9)
    error = json.loads(encode_error(replay, "accepted"))
    assert (error["reason"], error["status"]) == ("Replay", "accepted")


def test_decodeAnswer_readsAnAckAndAnError() -> None:
    assert decode_answer(encode_ack(7, "accepted", None))["status"] == "accepted"
    assert decode_answer(encode_error(PayloadRefused(VALUE_OUT_OF_RANGE, "too wide")))["sequence"] is None


def test_decodeAnswer_notJson_isMalformed() -> None:
    with pytest.raises(PayloadRefused) as refused:
        decode_answer(b"ack")
    assert refused.value.reason == MALFORMED


def test_decodeAnswer_notAnObject_isUnsupportedSchema() -> None:
    with pytest.raises(PayloadRefused) as refused:
        decode_answer(b'["gridledger.reading-ack/1"]')
    assert refused.value.reason == UNSUPPORTED_SCHEMA


def test_decodeAnswer_aReading_isUnsupportedSchema() -> None:
    with pytest.raises(PayloadRefused) as refused:
        decode_answer(encode_reading(SIGNED))
    assert refused.value.reason == UNSUPPORTED_SCHEMA


def test_decodeAnswer_noSchema_isUnsupportedSchema() -> None:
    with pytest.raises(PayloadRefused) as refused:
        decode_answer(b'{"sequence": 7, "status": "accepted"}')
    assert refused.value.reason == UNSUPPORTED_SCHEMA


# ---------------------------------------------------------------- device names and topics
@pytest.mark.parametrize("name", ["a", "7", "meter-001", "Meter_7.b-x", "m" * 64, "my-gateway"])
def test_checkedDeviceName_acceptsLettersDigitsDotDashUnderscore(name: str) -> None:
    assert checked_device_name(name) == name


NOT_NAMES = ["", "+", "#", "meter+", "meter#", "a/b", "m" * 65, "-meter", ".meter", "_meter", "meter 1"]


@pytest.mark.parametrize("name", [*NOT_NAMES, "mété", "a\n"])
def test_checkedDeviceName_refusesWhatCannotNameATopicLevel(name: str) -> None:
    with pytest.raises(InputError, match="1 to 64 letters"):
        checked_device_name(name)


@pytest.mark.parametrize("name", ["gateway", "gateway-1", "Gateway-1", "GATEWAY", "gAtEwAyX"])
def test_checkedDeviceName_refusesTheGatewaysPrefixInAnyCase(name: str) -> None:
    with pytest.raises(InputError, match="gateways'"):
        checked_device_name(name)


def test_deviceNameOf_readingsTopic_isTheDevice() -> None:
    assert device_name_of(readings_topic("meter-001")) == "meter-001"
    assert device_name_of(f"{ROOT}/meter-001/readings") == "meter-001"


@pytest.mark.parametrize(
    "topic",
    [
        ack_topic("meter-001"),
        error_topic("meter-001"),
        f"{ROOT}/meter-001/readings/extra",
        f"{ROOT}/readings",
        f"{ROOT}//readings",
        f"{ROOT}/+/readings",
        f"{ROOT}/#/readings",
        "other/meters/meter-001/readings",
        "gridledger/meter-001/readings",
        shared_readings_filter(),
        "",
    ],
)
def test_deviceNameOf_otherTopic_isNone(topic: str) -> None:
    assert device_name_of(topic) is None


def test_decodeReading_deeplyNestedJson_isMalformedNotACrash() -> None:
    with pytest.raises(PayloadRefused) as refused:
        decode_reading(b"[" * 4000)
    assert refused.value.reason == MALFORMED
