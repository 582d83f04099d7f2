"""Device keys and EIP-712 signing of meter readings, byte-identical to SmartMeterRegistry.

Signing uses coincurve directly on the digest (libsecp256k1): thousands of readings per
second, as a gateway relaying a whole feeder needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
READING_TYPEHASH = keccak(
    text="MeterReading(uint64 deviceId,uint64 sequence,uint64 intervalStart,uint64 importWh,"
    "uint64 exportWh,uint8 flags,bytes32 firmwareHash)"
)
REGISTRY_NAME = b"GridLedger SmartMeterRegistry"
REGISTRY_VERSION = b"1"
FLAG_TAMPER = 1
FLAG_POWER_LOSS = 2


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


def registry_domain_separator(chain_id: int, registry: str) -> bytes:
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [DOMAIN_TYPEHASH, keccak(REGISTRY_NAME), keccak(REGISTRY_VERSION), chain_id, registry],
        )
    )


def reading_digest(reading: MeterReading, domain_separator: bytes) -> bytes:
    struct_hash = keccak(
        encode(
            ["bytes32", "uint64", "uint64", "uint64", "uint64", "uint64", "uint8", "bytes32"],
            [READING_TYPEHASH, *reading.fields()],
        )
    )
    return keccak(b"\x19\x01" + domain_separator + struct_hash)


class DeviceKey:
    """A meter's secp256k1 key; its address is what the registry knows the device by."""

    def __init__(self, private_key: bytes) -> None:
        self._key = coincurve.PrivateKey(private_key)
        public = self._key.public_key.format(compressed=False)[1:]
        self.address = to_checksum_address(keccak(public)[-20:])

    def sign_reading(self, reading: MeterReading, domain_separator: bytes) -> SignedReadingTuple:
        """The SignedReading struct for submitReadings, with an EIP-2098 compact signature."""
        signature = self._key.sign_recoverable(reading_digest(reading, domain_separator), hasher=None)
        r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
        vs = (s | (v << 255)).to_bytes(32, "big")
        return (*reading.fields(), r, vs)


def encode_device_data(
    owner: str, grid_node_id: int, kind: int, source: int, rated_power_w: int, firmware_hash: bytes
) -> bytes:
    """deviceData of registerDevice."""
    return encode(
        ["address", "uint64", "uint8", "uint8", "uint32", "bytes32"],
        [owner, grid_node_id, kind, source, rated_power_w, firmware_hash],
    )
