"""deploy --check's code comparison: runtime code on the chain is the committed artifact's,
up to the immutables the constructor writes into the artifact's zeroed 32-byte slots."""

from __future__ import annotations

from gridledger.chain.abi import load_artifact
from gridledger.ops.deployment import runs_artifact_code

NAME = "EnergyMarket"  # has immutables: token, payment token, pair id, epoch length


def _zero_run_start(code: bytes) -> int:
    """The first byte of the artifact's first run of 32 zero bytes (an immutable's slot)."""
    return code.index(bytes(32))


def test_theArtifactsOwnCode_matches() -> None:
    assert runs_artifact_code(load_artifact(NAME).deployed_bytecode, NAME)


def test_anImmutableWrittenIntoItsZeroSlot_matches() -> None:
    code = bytearray(load_artifact(NAME).deployed_bytecode)
    slot = _zero_run_start(bytes(code))
    code[slot + 12 : slot + 32] = bytes.fromhex("ab" * 20)  # an address, as the constructor writes it
    assert runs_artifact_code(bytes(code), NAME)


def test_oneInstructionByteChanged_doesNotMatch() -> None:
    code = bytearray(load_artifact(NAME).deployed_bytecode)
    first_non_zero = next(i for i, byte in enumerate(code) if byte != 0)
    code[first_non_zero] ^= 0xFF
    assert not runs_artifact_code(bytes(code), NAME)


def test_anotherContractsCode_doesNotMatch() -> None:
    assert not runs_artifact_code(load_artifact("EnergyToken").deployed_bytecode, NAME)
    assert not runs_artifact_code(load_artifact(NAME).deployed_bytecode + b"\x00", NAME)
