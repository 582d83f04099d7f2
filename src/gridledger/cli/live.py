"""What every command against a live deployment shares: its options and how it opens the
deployment (the node, the manifest of the node's chain, the one key the command signs with)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from eth_account.signers.local import LocalAccount

from gridledger.chain.deploy import System
from gridledger.chain.live import LiveChain
from gridledger.chain.sender import GWEI, JsonRpc, SenderPolicy
from gridledger.cli.keys import DEFAULT_KEYSTORE, key_password
from gridledger.ops.deployment import Manifest, manifest_path
from gridledger.ops.keys import Keystore
from gridledger.ops.operator import JsonLog, serve_health

DEFAULT_DEPLOYMENTS = Path("deployments")

RpcUrlOption = Annotated[str, typer.Option("--rpc-url", help="JSON-RPC endpoint of the network.")]
DeploymentsOption = Annotated[
    Path, typer.Option("--deployments", help="Folder of the deployment manifests, <chain-id>.json.")
]
ConfirmationsOption = Annotated[int, typer.Option(min=1, help="Blocks on top of a transaction's.")]
HealthPortOption = Annotated[
    int | None, typer.Option(min=1, max=65535, help="Serve GET /health on 127.0.0.1 at this port.")
]
MaxFeeOption = Annotated[int, typer.Option(min=1, help="Cap of the fee per gas, in gwei.")]


@dataclass
class Deployment:
    """A deployment opened for a command: its chain (signing with `account`), manifest, system."""

    chain: LiveChain
    manifest: Manifest
    system: System
    account: LocalAccount | None

    @property
    def sender(self) -> str:
        assert self.account is not None, "opened without a key"
        return str(self.account.address)


def open_deployment(
    rpc_url: str,
    deployments: Path,
    key: str | None = None,
    keystore: Path = DEFAULT_KEYSTORE,
    password_file: Path | None = None,
    confirmations: int = 1,
    max_fee_gwei: int = 500,
    also: tuple[str, ...] = (),
) -> Deployment:
    """The deployment on the node at `rpc_url`, signing with keystore key `key` (if given);
    the keys named in `also` are unlocked with the same password for the same chain."""
    rpc = JsonRpc(rpc_url)
    chain_id = int(rpc.request("eth_chainId", []), 16)
    manifest = Manifest.load(manifest_path(deployments, chain_id))
    accounts = []
    if key is not None:
        password = key_password(password_file)
        accounts = [Keystore(keystore).unlock(name, password) for name in (key, *also)]
    policy = SenderPolicy(confirmations=confirmations, max_fee_per_gas_wei=max_fee_gwei * GWEI)
    chain = LiveChain(rpc, accounts, policy)
    return Deployment(chain, manifest, manifest.system(), accounts[0] if accounts else None)


def run_service(
    log: JsonLog, state: Path, health_port: int | None, run: Callable[[threading.Event], None]
) -> None:
    """Run a long-running service, `run(stop)`: SIGTERM or SIGINT set `stop` (the service ends
    at its next safe point), and GET /health is served on 127.0.0.1:`health_port` meanwhile."""
    stop = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        log("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server = serve_health(state, health_port) if health_port is not None else None
    try:
        run(stop)
    finally:
        if server is not None:
            server.shutdown()
