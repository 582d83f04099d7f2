"""`gridledger multisig propose|show|sign|execute`: governance operations as files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridledger.chain.abi import load_artifact
from gridledger.chain.eip712 import SigningKey
from gridledger.cli.keys import DEFAULT_KEYSTORE, KeystoreOption, PasswordFileOption, key_password
from gridledger.cli.live import DEFAULT_DEPLOYMENTS, DeploymentsOption, RpcUrlOption, open_deployment
from gridledger.errors import MultisigError
from gridledger.ops.keys import Keystore
from gridledger.ops.proposals import Approval, Proposal, execute_proposal

multisig_app = typer.Typer(
    help="Governance operations: propose, sign (offline) and execute with the multisig.",
    no_args_is_help=True,
)
ProposalArgument = Annotated[Path, typer.Argument(help="The proposal file.")]


def propose_to_file(
    rpc_url: str, deployments: Path, contract: str, function: str, arguments: list[str], out: Path
) -> Proposal:
    """Write the proposal of `contract.function(*arguments)` at the multisig's next nonce."""
    opened = open_deployment(rpc_url, deployments)
    multisig = load_artifact("GovernanceMultisig")
    nonce = int(opened.chain.call(multisig, opened.system.multisig, "nextNonce")[0])
    proposal = Proposal.make(opened.manifest, contract, function, arguments, nonce)
    on_chain = opened.chain.call(
        multisig, opened.system.multisig, "operationDigest", proposal.target, 0, proposal.calldata, nonce
    )[0]
    if "0x" + bytes(on_chain).hex() != proposal.digest:
        raise MultisigError("the multisig computes another digest: is the manifest its own?")
    if out.exists():
        raise MultisigError(f"{out} exists already: a proposal file is never overwritten")
    proposal.save(out)
    typer.echo(f"proposed {proposal.describe()}")
    typer.echo(f"wrote {out}: each signer runs `gridledger multisig sign {out} --key signer-N`")
    return proposal


@multisig_app.command("propose")
def propose_command(
    contract: Annotated[str, typer.Argument(help="Target contract, e.g. SmartMeterRegistry.")],
    function: Annotated[str, typer.Argument(help="Function to call, e.g. setFirmwareApproval.")],
    arguments: Annotated[list[str] | None, typer.Argument(help="Its arguments, in order.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write the proposal.")] = Path("proposal.json"),
    rpc_url: RpcUrlOption = "http://127.0.0.1:8545",
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
) -> None:
    """Write a proposal: the call, the multisig's next nonce and the EIP-712 digest to sign."""
    propose_to_file(rpc_url, deployments, contract, function, list(arguments or []), out)


@multisig_app.command("show")
def show_command(proposal_file: ProposalArgument) -> None:
    """What a proposal calls and the digest it asks signers to sign (recomputed, not read)."""
    typer.echo(Proposal.load(proposal_file).describe())


@multisig_app.command("sign")
def sign_command(
    proposal_file: ProposalArgument,
    key: Annotated[str, typer.Option("--key", help="The signer's key name in the keystore.")],
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the approval.")] = None,
) -> None:
    """Sign a proposal with a keystore key, without a node; writes <proposal>.<key>.approval.json."""
    proposal = Proposal.load(proposal_file)
    typer.echo(f"signing: {proposal.describe()}", err=True)
    account = Keystore(keystore).unlock(key, key_password(password_file))
    approval = Approval.sign(proposal, SigningKey(bytes(account.key)))
    target = out or proposal_file.with_name(f"{proposal_file.stem}.{key}.approval.json")
    approval.save(target)
    typer.echo(f"{approval.signer} approved; wrote {target}")


@multisig_app.command("execute")
def execute_command(
    proposal_file: ProposalArgument,
    approvals: Annotated[
        list[Path] | None, typer.Argument(help="Approval files (default: <proposal>.*.approval.json).")
    ] = None,
    key: Annotated[str, typer.Option("--key", help="Key that sends and pays for it.")] = "deployer",
    rpc_url: RpcUrlOption = "http://127.0.0.1:8545",
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
) -> None:
    """Have the multisig execute a proposal with its signers' approvals."""
    proposal = Proposal.load(proposal_file)
    files = approvals or sorted(proposal_file.parent.glob(f"{proposal_file.stem}.*.approval.json"))
    if not files:
        raise MultisigError(f"no approvals of {proposal_file}: signers run `gridledger multisig sign` first")
    opened = open_deployment(rpc_url, deployments, key, keystore, password_file)
    if opened.system.multisig != proposal.multisig:
        raise MultisigError(f"the proposal is for the multisig {proposal.multisig}, not this deployment's")
    execute_proposal(opened.chain, proposal, [Approval.load(path) for path in files], opened.sender)
    typer.echo(f"executed {proposal.describe()}")
