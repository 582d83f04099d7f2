"""Multisig operations as files: proposed once, signed by each signer on their own machine
(offline: a signer needs the proposal file and their key, no node), executed by anyone.

A proposal names the call (contract, function, arguments as typed) and carries the EIP-712
digest the multisig checks. Nothing in the file is trusted: `sign` recomputes the digest from
the call it shows and refuses a file whose digest does not match, and `execute` recovers every
approval's signer and asks the multisig whether it is one of its signers.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import coincurve
from eth_utils.address import to_checksum_address

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain
from gridledger.chain.eip712 import SigningKey, domain_separator, typed_digest
from gridledger.chain.governance import approval_signature
from gridledger.chain.hashing import checksum_address, keccak
from gridledger.errors import InputError, MultisigError
from gridledger.ops.deployment import CONTRACT_ARTIFACTS, Manifest
from gridledger.ops.files import read_json_object, write_json_atomically

PROPOSAL_VERSION = 1
OPERATION_TYPEHASH = keccak(text="Operation(address target,uint256 value,bytes data,uint256 nonce)")
MULTISIG_DOMAIN = ("GridLedger Governance", "1")


def operation_digest(chain_id: int, multisig: str, target: str, data: bytes, nonce: int) -> bytes:
    """GovernanceMultisig.operationDigest, computed here so that a signer needs no node."""
    domain = domain_separator(*MULTISIG_DOMAIN, chain_id, multisig)
    fields = ("address", "uint256", "bytes32", "uint256")
    return typed_digest(domain, OPERATION_TYPEHASH, fields, (target, 0, keccak(data), nonce))


def parse_argument(abi_type: str, text: str, name: str) -> object:
    """A command-line string as a value of `abi_type`; InputError naming the argument."""
    try:
        if abi_type.startswith(("uint", "int")):
            bits = int(re.sub(r"^u?int", "", abi_type) or 256)
            value = int(text, 0)
            low, high = (0, 2**bits) if abi_type.startswith("uint") else (-(2 ** (bits - 1)), 2 ** (bits - 1))
            if not low <= value < high:
                raise ValueError(f"out of the range of {abi_type}")
            return value
        if abi_type == "address":
            if not text.startswith("0x") or len(text) != 42:
                raise ValueError("not 0x and 40 hex digits")
            return to_checksum_address(text)
        if abi_type == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError("not true or false")
            return text.lower() == "true"
        if abi_type == "string":
            return text
        if abi_type.startswith("bytes"):
            raw = bytes.fromhex(text.removeprefix("0x"))
            width = abi_type.removeprefix("bytes")
            if width and len(raw) != int(width):
                raise ValueError(f"{len(raw)} bytes, not {width}")
            return raw
    except ValueError as bad:
        raise InputError(f"argument {name} ({abi_type}): {text!r} is {bad}") from bad
    raise InputError(f"argument {name} is a {abi_type}, which the command line cannot give")


def _shown(value: object) -> str:
    """A parsed argument as the proposal file shows it (and parse_argument reads it back)."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def encoded_call(contract: str, function: str, texts: list[str]) -> tuple[bytes, list[str]]:
    """The calldata of `contract.function(*texts)` and its arguments as shown."""
    artifact = load_artifact(contract)
    if function not in artifact.functions:
        raise InputError(f"{contract} has no function {function}")
    inputs = artifact.function(function)["inputs"]
    if len(texts) != len(inputs):
        wanted = ", ".join(f"{p['name']} ({p['type']})" for p in inputs) or "none"
        raise InputError(f"{contract}.{function} takes {len(inputs)} argument(s): {wanted}")
    types = artifact.input_types(function)
    values = [parse_argument(t, text, p["name"]) for t, text, p in zip(types, texts, inputs, strict=True)]
    return artifact.encode_call(function, tuple(values)), [_shown(value) for value in values]


@dataclass(frozen=True)
class Proposal:
    """One multisig operation, as the file holds it."""

    chain_id: int
    multisig: str
    contract: str  # artifact name of the target
    target: str
    function: str
    arguments: list[str]  # as typed, normalised
    data: str  # hex calldata
    nonce: int
    digest: str

    @classmethod
    def make(cls, manifest: Manifest, contract: str, function: str, texts: list[str], nonce: int) -> Proposal:
        """The operation calling `contract.function(*texts)` at the multisig's `nonce`."""
        field = {artifact: name for name, artifact in CONTRACT_ARTIFACTS.items()}.get(contract)
        if field is None:
            known = ", ".join(sorted(CONTRACT_ARTIFACTS.values()))
            raise InputError(f"no contract named {contract}; one of {known}")
        data, shown = encoded_call(contract, function, texts)
        multisig = manifest.address("multisig")
        target = manifest.address(field)
        digest = operation_digest(manifest.chain_id, multisig, target, data, nonce)
        return cls(
            manifest.chain_id,
            multisig,
            contract,
            target,
            function,
            shown,
            "0x" + data.hex(),
            nonce,
            "0x" + digest.hex(),
        )

    @property
    def calldata(self) -> bytes:
        return bytes.fromhex(self.data.removeprefix("0x"))

    def checked(self) -> Proposal:
        """Self, after recomputing the calldata from the shown call and the digest from both;
        MultisigError if the file says one thing and signs another."""
        if encoded_call(self.contract, self.function, self.arguments)[0] != self.calldata:
            raise MultisigError("the proposal's calldata is not the call it shows: refusing it")
        digest = operation_digest(self.chain_id, self.multisig, self.target, self.calldata, self.nonce)
        if "0x" + digest.hex() != self.digest:
            raise MultisigError("the proposal's digest is not that of its call: refusing it")
        return self

    def describe(self) -> str:
        call = f"{self.contract}.{self.function}({', '.join(self.arguments)})"
        return (
            f"{call} at {self.target}, by the multisig {self.multisig} on chain {self.chain_id}, "
            f"nonce {self.nonce}; EIP-712 digest {self.digest}"
        )

    def save(self, path: Path) -> None:
        write_json_atomically(path, {"version": PROPOSAL_VERSION, **asdict(self)})

    @classmethod
    def load(cls, path: Path) -> Proposal:
        document = read_json_object(path, "multisig proposal", MultisigError)
        try:
            if document.pop("version") != PROPOSAL_VERSION:
                raise MultisigError(f"{path} is a proposal of another version")
            return cls(**document).checked()
        except (TypeError, KeyError, ValueError) as malformed:
            raise MultisigError(f"{path} is not a multisig proposal ({malformed})") from malformed


@dataclass(frozen=True)
class Approval:
    """One signer's signature of a proposal's digest."""

    digest: str
    signer: str
    signature: str

    @classmethod
    def sign(cls, proposal: Proposal, key: SigningKey) -> Approval:
        signature = key.sign(bytes.fromhex(proposal.checked().digest[2:]))
        return cls(proposal.digest, key.address, "0x" + signature.hex())

    def recovered_signer(self) -> str:
        """The address whose key made the signature (not the file's word for it)."""
        raw = bytes.fromhex(self.signature.removeprefix("0x"))
        if len(raw) != 65 or raw[64] not in (27, 28):
            raise MultisigError(f"the approval of {self.signer} is not a 65-byte signature")
        try:
            public = coincurve.PublicKey.from_signature_and_message(
                raw[:64] + bytes([raw[64] - 27]), bytes.fromhex(self.digest[2:]), hasher=None
            )
        except ValueError as bad:
            raise MultisigError(f"the approval of {self.signer} holds no valid signature") from bad
        return checksum_address(keccak(public.format(compressed=False)[1:])[-20:])

    def save(self, path: Path) -> None:
        write_json_atomically(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> Approval:
        try:
            return cls(**read_json_object(path, "multisig approval", MultisigError))
        except TypeError as malformed:
            raise MultisigError(f"{path} is not an approval ({malformed})") from malformed


def execute_proposal(chain: Chain, proposal: Proposal, approvals: list[Approval], submitter: str) -> None:
    """Send the operation with the approvals that sign it; MultisigError, naming the reason,
    if they cannot pass (wrong digest, a non-signer, too few, a stale nonce)."""
    proposal.checked()
    if chain.chain_id != proposal.chain_id:
        raise MultisigError(f"the proposal is for chain {proposal.chain_id}, the node of {chain.chain_id}")
    multisig = load_artifact("GovernanceMultisig")
    next_nonce = int(chain.call(multisig, proposal.multisig, "nextNonce")[0])
    if next_nonce != proposal.nonce:
        raise MultisigError(
            f"the proposal was made for the multisig's nonce {proposal.nonce}, its next is {next_nonce}: "
            "propose it again and sign the new file"
        )
    signers: dict[str, bytes] = {}
    for approval in approvals:
        if approval.digest != proposal.digest:
            raise MultisigError(f"the approval of {approval.signer} signs another operation")
        signer = approval.recovered_signer()
        if not chain.call(multisig, proposal.multisig, "isSigner", bytes.fromhex(signer[2:]))[0]:
            raise MultisigError(f"{signer} is not a signer of the multisig {proposal.multisig}")
        signers[signer] = bytes.fromhex(approval.signature[2:])
    threshold = int(chain.call(multisig, proposal.multisig, "threshold")[0])
    if len(signers) < threshold:
        raise MultisigError(f"{len(signers)} distinct signer(s) approved; the multisig needs {threshold}")
    signature = approval_signature([(bytes.fromhex(s[2:]), sig) for s, sig in signers.items()])
    operation = (proposal.target, 0, proposal.calldata, signature)
    chain.transact(submitter, multisig, proposal.multisig, "execute", *operation)
