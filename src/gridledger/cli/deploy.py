"""`gridledger deploy`: the whole system on a live network, each role to its own key, the admin
role to the multisig; `--check` reads a deployment's manifest back against the chain."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gridledger.chain.live import LiveChain
from gridledger.chain.sender import GWEI, JsonRpc, SenderPolicy
from gridledger.cli.keys import DEFAULT_KEYSTORE, KeystoreOption, PasswordFileOption, key_password
from gridledger.cli.live import DEFAULT_DEPLOYMENTS, DeploymentsOption, RpcUrlOption
from gridledger.cli.options import checked_address
from gridledger.errors import InputError
from gridledger.ops.deployment import (
    ROLE_OF_KEY,
    DeploymentError,
    DeploymentPlan,
    Manifest,
    check_deployment,
    deploy_live,
    fund_role_keys,
    manifest_path,
)
from gridledger.ops.keys import Keystore, KeystoreError

SIGNER_KEY_PREFIX = "signer-"


def deploy_command(
    rpc_url: RpcUrlOption,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    check: Annotated[
        bool,
        typer.Option("--check", help="Check the chain's deployment against its manifest; deploy nothing."),
    ] = False,
    payment_token: Annotated[
        str | None, typer.Option("--payment-token", help="The stablecoin participants pay with.")
    ] = None,
    test_dollar: Annotated[
        bool, typer.Option("--test-dollar", help="Deploy a test dollar to pay with (local networks).")
    ] = False,
    firmware: Annotated[
        list[str] | None, typer.Option("--firmware", help="Approved meter firmware hash (repeatable).")
    ] = None,
    threshold: Annotated[int, typer.Option(help="Multisig signatures an operation needs.")] = 2,
    grid_fee_collector: Annotated[
        str | None, typer.Option(help="Who receives grid fees (default: the grid-operator key).")
    ] = None,
    fund_roles: Annotated[
        str | None,
        typer.Option(help="Ether the deployer tops each operator's key up to (gas money), e.g. 0.5."),
    ] = None,
    confirmations: Annotated[int, typer.Option(min=1, help="Blocks on top of a transaction's.")] = 1,
    max_fee_gwei: Annotated[int, typer.Option(min=1, help="Cap of the fee per gas, in gwei.")] = 500,
) -> None:
    """Deploy and wire every contract (or resume a deployment that stopped part way), hand each
    role to its key in the keystore and the admin role to the multisig of the signer-* keys,
    and write deployments/<chain-id>.json. Only the deployer key is unlocked."""
    rpc = JsonRpc(rpc_url)
    if check:
        chain_id = int(rpc.request("eth_chainId", []), 16)
        manifest = Manifest.load(manifest_path(deployments, chain_id))
        findings = check_deployment(LiveChain(rpc, []), manifest)
        table = Table(title=f"Deployment on chain {chain_id} ({manifest.path})")
        for header in ("check", "", "detail"):
            table.add_column(header)
        for finding in findings:
            table.add_row(finding.what, "[green]ok[/]" if finding.ok else "[red]FAILED[/]", finding.detail)
        Console(width=160).print(table)
        if not all(finding.ok for finding in findings):
            raise typer.Exit(1)
        return
    if (payment_token is None) == (not test_dollar):
        raise InputError(
            "give --payment-token ADDRESS (the stablecoin participants pay with) or --test-dollar"
        )
    top_up_wei = _ether_as_wei(fund_roles, "--fund-roles") if fund_roles is not None else 0
    store = Keystore(keystore)
    stored = {key.name: key.address for key in store.stored()}
    needed = ["deployer", *ROLE_OF_KEY]
    missing = [name for name in needed if name not in stored]
    signers = sorted(name for name in stored if name.startswith(SIGNER_KEY_PREFIX))
    if missing or not signers:
        absent = ", ".join(missing + ([] if signers else ["signer-1 (at least one)"]))
        raise KeystoreError(f"{keystore} has no key for {absent}: create them with gridledger keys new")
    plan = DeploymentPlan(
        deployer=stored["deployer"],
        role_holders={name: stored[name] for name in ROLE_OF_KEY},
        multisig_signers=[stored[name] for name in signers],
        threshold=threshold,
        firmware_hashes=[_firmware_hash(text) for text in firmware or []],
        grid_fee_collector=checked_address(grid_fee_collector, "--grid-fee-collector")
        if grid_fee_collector
        else stored["grid-operator"],
        payment_token=checked_address(payment_token, "--payment-token") if payment_token else None,
    )
    deployer = store.unlock("deployer", key_password(password_file))
    policy = SenderPolicy(confirmations=confirmations, max_fee_per_gas_wei=max_fee_gwei * GWEI)
    chain = LiveChain(rpc, [deployer], policy)
    if plan.payment_token is not None and not chain.code(plan.payment_token):
        raise DeploymentError(
            f"--payment-token {plan.payment_token}: no contract there on chain {chain.chain_id}"
        )
    manifest = deploy_live(chain, plan, deployments, log=_progress)
    if top_up_wei:
        fund_role_keys(chain, plan, top_up_wei, log=_progress)
    _progress(f"deployed on chain {chain.chain_id} from block {manifest.deploy_block}: {manifest.path}")
    for name, entry in manifest.contracts.items():
        typer.echo(f"{name} {entry['address']}")


def _progress(line: str) -> None:
    """A deployment's progress, one line each on stderr (stdout keeps the addresses)."""
    typer.echo(line, err=True)


def _ether_as_wei(text: str, option: str) -> int:
    try:
        wei = Decimal(text) * 10**18
    except InvalidOperation as bad:
        raise InputError(f"{option} is an amount of ether such as 0.5, got {text!r}") from bad
    if not wei.is_finite() or wei <= 0 or wei != wei.to_integral_value():
        raise InputError(f"{option} is a positive amount of ether of at most 18 decimals, got {text!r}")
    return int(wei)


def _firmware_hash(text: str) -> bytes:
    digits = text.removeprefix("0x")
    if len(digits) != 64:
        raise InputError(f"--firmware must be 32 bytes in hex (64 digits), got {text!r}")
    try:
        return bytes.fromhex(digits)
    except ValueError as bad:
        raise InputError(f"--firmware must be 32 bytes in hex (64 digits), got {text!r}") from bad
