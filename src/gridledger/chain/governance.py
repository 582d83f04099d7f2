"""Critical operations through the governance multisig: the signers sign the EIP-712 operation
off-chain, anyone submits it with their signatures (docs/governance.md)."""

from __future__ import annotations

from eth_abi.abi import encode

from gridledger.chain.abi import Artifact, load_artifact
from gridledger.chain.deploy import Chain
from gridledger.chain.eip712 import SigningKey
from gridledger.chain.hashing import keccak
from gridledger.errors import MultisigError


class Governance:
    """`threshold` of the multisig's signer keys, ready to approve operations."""

    def __init__(self, chain: Chain, multisig: str, signers: list[SigningKey], submitter: str) -> None:
        self._chain = chain
        self._multisig = multisig
        self._abi = load_artifact("GovernanceMultisig")
        self._signers = signers
        self._submitter = submitter

    def execute(self, artifact: Artifact, target: str, fn: str, *args: object) -> None:
        """Have the multisig call `fn(*args)` on `target`; raises MultisigError if it refuses."""
        data = artifact.encode_call(fn, args)
        nonce = self._chain.call(self._abi, self._multisig, "nextNonce")[0]
        digest = self._chain.call(self._abi, self._multisig, "operationDigest", target, 0, data, nonce)[0]
        signature = approval_signature(
            [(bytes.fromhex(key.address[2:]), key.sign(digest)) for key in self._signers]
        )
        try:
            self._chain.transact(
                self._submitter, self._abi, self._multisig, "execute", target, 0, data, signature
            )
        except Exception as refused:
            raise MultisigError(f"the multisig did not execute {fn}: {refused}") from refused


def approval_signature(approvals: list[tuple[bytes, bytes]]) -> bytes:
    """The `signature` argument of GovernanceMultisig.execute from (signer, signature) pairs.

    MultiSignerERC7913 reads an EOA signer as its 20 bytes; ordering by the signers' hashes is
    what its duplicate check expects."""
    ordered = sorted(approvals, key=lambda approval: keccak(approval[0]))
    return encode(["bytes[]", "bytes[]"], [[a[0] for a in ordered], [a[1] for a in ordered]])
