"""Device keys and EIP-712 signing of meter readings, byte-identical to SmartMeterRegistry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import coincurve
from eth_abi.abi import encode

from gridledger.chain.eip712 import SigningKey, domain_separator, typed_digest
from gridledger.chain.hashing import keccak

READING_TYPEHASH = keccak(
    text="MeterReading(uint64 deviceId,uint64 sequence,uint64 intervalStart,uint64 importWh,"
    "uint64 exportWh,uint8 flags,bytes32 firmwareHash)"
)
READING_TYPES = ("uint64", "uint64", "uint64", "uint64", "uint64", "uint8", "bytes32")
FLAG_TAMPER = 1
FLAG_POWER_LOSS = 2
# OpenZeppelin's ECDSA refuses s above half the curve order (malleable signatures): so does the gateway.
SECP256K1_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


@dataclass(frozen=True)
class MeterReading:
    """One 15-minute reading as the device signs it (cumulative registers in Wh)."""

    device_id: int
    sequence: int
    interval_start: int
    import_wh: int
    export_wh: int
    flags: int
    firmware_hash: bytes

    def fields(self) -> tuple[int, int, int, int, int, int, bytes]:
        """The signed fields in the order of the EIP-712 type and the SignedReading struct."""
        return (
            self.device_id,
            self.sequence,
            self.interval_start,
            self.import_wh,
            self.export_wh,
            self.flags,
            self.firmware_hash,
        )


SignedReadingTuple = tuple[int, int, int, int, int, int, bytes, bytes, bytes]

# A submitReadings batch is its readings' records back to back (contracts/libraries/
# ReadingRecords.sol): a word of the packed fields, then firmwareHash, r and vs.
READING_RECORD_BYTES = 128
# (bit width, shift) of each packed field in the record's first word, in SignedReading order.
_RECORD_FIELDS = ((40, 216), (40, 176), (40, 136), (64, 72), (64, 8), (8, 0))


def fits_record(reading: SignedReadingTuple) -> bool:
    """Whether every field fits its record width. Sequence and intervalStart take 40 bits
    there, the width the registry keeps them in; deviceId takes 40 bits too: the registry numbers
    devices from 1, and 2^40 ids are a thousand times any utility's meter count."""
    return all(
        0 <= value < 1 << width for value, (width, _) in zip(reading[:6], _RECORD_FIELDS, strict=True)
    ) and all(len(word) == 32 for word in reading[6:])


# The registry keeps a device's last sequence in 32 bits and its registers in 48 (its device
# word, contracts/libraries/DeviceRecords.sol): it refuses wider values as ValueOutOfRange.
REGISTRY_MAX_SEQUENCE = 2**32 - 1
REGISTRY_MAX_REGISTER_WH = 2**48 - 1


def fits_registry(reading: SignedReadingTuple) -> bool:
    """Whether the registry can take the reading's values: its record's widths and the device
    word's (sequence below 2^32, registers below 2^48 Wh, 281 TWh)."""
    return (
        fits_record(reading)
        and reading[1] <= REGISTRY_MAX_SEQUENCE
        and reading[3] <= REGISTRY_MAX_REGISTER_WH
        and reading[4] <= REGISTRY_MAX_REGISTER_WH
    )


def reading_record(reading: SignedReadingTuple) -> bytes:
    """One reading as submitReadings takes it; ValueError if a field exceeds its record width."""
    if not fits_record(reading):
        raise ValueError(f"reading {reading[:2]} has a field wider than its record field")
    fields = 0
    for value, (_, shift) in zip(reading[:6], _RECORD_FIELDS, strict=True):
        fields |= value << shift
    return fields.to_bytes(32, "big") + reading[6] + reading[7] + reading[8]


def pack_readings(readings: Sequence[SignedReadingTuple]) -> bytes:
    """The submitReadings batch of `readings`, in order."""
    return b"".join(reading_record(reading) for reading in readings)


class DeviceKind(IntEnum):
    """ISmartMeter.DeviceKind."""

    PRODUCER = 0
    CONSUMER = 1
    PROSUMER = 2
    STORAGE = 3


class EnergySource(IntEnum):
    """ISmartMeter.EnergySource: the renewable ones, then the grid mix (never certifiable)."""

    SOLAR = 0
    WIND = 1
    HYDRO = 2
    BIOMASS = 3
    GEOTHERMAL = 4
    GRID_MIX = 5


def registry_domain_separator(chain_id: int, registry: str) -> bytes:
    return domain_separator("GridLedger SmartMeterRegistry", "1", chain_id, registry)


def reading_digest(reading: MeterReading, domain: bytes) -> bytes:
    return typed_digest(domain, READING_TYPEHASH, READING_TYPES, reading.fields())


def reading_of(signed: SignedReadingTuple) -> MeterReading:
    device_id, sequence, interval_start, import_wh, export_wh, flags, firmware_hash = signed[:7]
    return MeterReading(device_id, sequence, interval_start, import_wh, export_wh, flags, firmware_hash)


def recover_reading_signer(digest: bytes, r: bytes, vs: bytes) -> bytes | None:
    """The 20-byte address that signed `digest` as the registry's ECDSA.tryRecover sees it, or
    None where the registry finds no signer (zero r or s, s in the upper half, no point).
    Raw bytes: a checksummed string would double the cost of a check the gateway runs per reading."""
    packed = int.from_bytes(vs, "big")
    s = packed & ((1 << 255) - 1)
    if len(r) != 32 or len(vs) != 32 or not int.from_bytes(r, "big") or not 0 < s <= SECP256K1_HALF_ORDER:
        return None
    signature = r + s.to_bytes(32, "big") + bytes([packed >> 255])
    try:
        public = coincurve.PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except ValueError:
        return None
    return keccak(public.format(compressed=False)[1:])[-20:]


class DeviceKey(SigningKey):
    """A meter's secp256k1 key; its address is what the registry knows the device by."""

    def sign_reading(self, reading: MeterReading, domain: bytes) -> SignedReadingTuple:
        """The signed reading (SignedReading's fields) with an EIP-2098 compact signature."""
        r, vs = self.sign_compact(reading_digest(reading, domain))
        return (*reading.fields(), r, vs)


def encode_device_data(
    owner: str, grid_node_id: int, kind: int, source: int, rated_power_w: int, firmware_hash: bytes
) -> bytes:
    """deviceData of registerDevice."""
    return encode(
        ["address", "uint64", "uint8", "uint8", "uint32", "bytes32"],
        [owner, grid_node_id, kind, source, rated_power_w, firmware_hash],
    )
