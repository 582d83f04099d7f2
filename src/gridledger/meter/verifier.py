"""Checks a device-signed reading against the key the registry holds for its device.

The registry's EIP-712 domain (from `eip712Domain`) and each device's key and last accepted
sequence (from `getDevice`) are read once and cached; a signature that does not recover to the
cached key makes the device be looked up again, at most once between two `forget_lookups`
calls, so a rotated key is learned and a device sending forged readings cannot make every
reading cost a call to the node.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any, Protocol

from gridledger.chain.abi import Artifact, load_artifact
from gridledger.chain.eip712 import domain_separator
from gridledger.errors import ChainError, ContractRevertError, GatewayError, ReadingRefused
from gridledger.meter.signing import SignedReadingTuple, reading_digest, reading_of, recover_reading_signer


class ReadingChain(Protocol):
    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]: ...


class ReadingVerifier:
    """Verifies readings for the SmartMeterRegistry at `registry` on `chain`."""

    def __init__(self, chain: ReadingChain, registry: str) -> None:
        self._chain = chain
        self._registry = registry
        self._abi = load_artifact("SmartMeterRegistry")
        device_fields = self._abi.function("getDevice")["outputs"][0]["components"]
        self._field = {str(f["name"]): i for i, f in enumerate(device_fields)}
        self._domain: bytes | None = None
        self._signers: dict[int, bytes] = {}  # device id -> key address, 20 bytes
        self._looked_up: set[int] = set()  # devices read from the chain since forget_lookups
        # The device's last sequence the registry had accepted when it was last looked up.
        self.chain_last_sequence: dict[int, int] = {}

    def verify(
        self,
        reading: SignedReadingTuple,
        expected_signer: bytes | None = None,
        other_signers: Container[bytes] = (),
    ) -> bytes:
        """The reading's EIP-712 digest if its device's key signed it; ReadingRefused
        (UnknownDevice, BadSignature) if not, GatewayError if the registry cannot be read.
        With `expected_signer`, a reading another key signed is refused before the registry is
        asked anything (who cannot sign as the device cannot make the node work): WrongDevice
        if one of `other_signers` signed it, BadSignature otherwise."""
        device_id = reading[0]
        try:
            digest = reading_digest(reading_of(reading), self.domain())
            signer = recover_reading_signer(digest, reading[7], reading[8])
            if expected_signer is not None and signer != expected_signer:
                wrong = signer is not None and signer in other_signers
                raise ReadingRefused(device_id, reading[1], "WrongDevice" if wrong else "BadSignature")
            known = self._signers.get(device_id)
            if (known is None or signer != known) and device_id not in self._looked_up:
                # Unknown here, or the key may have been rotated: ask the registry.
                known = self.look_up(device_id)
        except ChainError as failed:
            raise GatewayError(f"device {device_id} not read from the registry: {failed}") from failed
        if known is None:
            raise ReadingRefused(device_id, reading[1], "UnknownDevice")
        if signer is None or signer != known:
            raise ReadingRefused(device_id, reading[1], "BadSignature")
        return digest

    def signer(self, device_id: int) -> bytes | None:
        """The key address the registry held for the device when it was last looked up."""
        return self._signers.get(device_id)

    def forget_lookups(self) -> None:
        """Let every device be looked up again (once) when its signature does not match."""
        self._looked_up.clear()

    def domain(self) -> bytes:
        """The registry's EIP-712 domain separator."""
        if self._domain is None:
            _, name, version, chain_id, contract, *_ = self._chain.call(
                self._abi, self._registry, "eip712Domain"
            )
            self._domain = domain_separator(name, version, chain_id, contract)
        return self._domain

    def device(self, device_id: int) -> tuple[Any, ...] | None:
        """The registry's record of a device (getDevice), or None if it has no such device."""
        try:
            (device,) = self._chain.call(self._abi, self._registry, "getDevice", device_id)
        except ContractRevertError as refused:
            if refused.error_name == "UnknownDevice":
                return None
            raise GatewayError(f"registry refused getDevice({device_id}): {refused}") from refused
        return tuple(device)

    def device_field(self, device: tuple[Any, ...], name: str) -> Any:
        return device[self._field[name]]

    def look_up(self, device_id: int) -> bytes | None:
        """Read a device's key and last sequence from the registry; its key, or None if unknown."""
        self._looked_up.add(device_id)
        device = self.device(device_id)
        if device is None:
            self._signers.pop(device_id, None)
            return None
        signer = bytes.fromhex(str(self.device_field(device, "signer")).removeprefix("0x"))
        self._signers[device_id] = signer
        self.chain_last_sequence[device_id] = int(self.device_field(device, "lastSequence"))
        return signer
