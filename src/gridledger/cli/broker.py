"""`gridledger broker ...`: Mosquitto's configuration from the PKI, and Mosquitto itself."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from gridledger.cli.meter import DEFAULT_PKI, PkiOption, ensure_ca
from gridledger.errors import BrokerError
from gridledger.iot import pki as pki_files
from gridledger.iot.broker import (
    CONFIG,
    DEFAULT_PORT,
    HOST,
    MosquittoBroker,
    mosquitto_binary,
    write_broker_config,
)

broker_app = typer.Typer(help="The MQTT broker (Mosquitto) for meters and gateways.", no_args_is_help=True)

DEFAULT_FOLDER = Path("broker")
FolderOption = Annotated[
    Path, typer.Option("--out", help="Folder of the broker's configuration, ACL, persistence and log.")
]
PortOption = Annotated[int, typer.Option("--port", help=f"TCP port of the TLS listener on {HOST}.")]


@broker_app.command("config")
def config_command(
    pki: PkiOption = DEFAULT_PKI,
    out: FolderOption = DEFAULT_FOLDER,
    port: PortOption = DEFAULT_PORT,
    gateways: Annotated[
        list[str] | None,
        typer.Option("--gateway", help="A gateway to issue a certificate for if it has none (repeatable)."),
    ] = None,
) -> None:
    """Write mosquitto.conf and its ACL, issuing the broker's certificate and the named gateways'
    if missing; print the command that runs the broker."""
    named = list(gateways or [])
    common_names = [pki_files.gateway_common_name(name) for name in named]
    ensure_ca(pki)
    active = set(pki_files.active_gateways(pki))
    for name, common_name in zip(named, common_names, strict=True):
        if common_name in active:
            continue
        gateway = pki_files.provision_gateway(pki, name)
        typer.echo(
            f"gateway {gateway.name}: user {gateway.common_name}, certificate SHA256 {gateway.fingerprint}"
        )
        typer.echo(f"  folder {gateway.folder}")
    config = write_broker_config(pki, out, port)
    try:
        binary = str(mosquitto_binary())
    except BrokerError:
        binary = "mosquitto"  # the configuration is good for a machine that has it
    typer.echo(f"wrote {config} and its ACL; gateways: {', '.join(pki_files.active_gateways(pki)) or 'none'}")
    typer.echo(f"run: {binary} -c {config.resolve()}")


@broker_app.command("run")
def run_command(
    pki: PkiOption = DEFAULT_PKI,
    out: FolderOption = DEFAULT_FOLDER,
    port: PortOption = DEFAULT_PORT,
) -> None:
    """Run Mosquitto in the foreground with the configuration of `--out` (rewritten from the PKI)
    until SIGINT or SIGTERM."""
    broker = MosquittoBroker(pki, out, port)

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # A service manager stops the command with SIGTERM: the broker must then save its store too.
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        broker.start()
        typer.echo(f"mosquitto (PID {broker.pid}) on {HOST}:{port}, log {broker.log_path}; Ctrl-C stops it")
        code = broker.wait()
    except KeyboardInterrupt:
        broker.stop()
        typer.echo("mosquitto stopped")
        return
    finally:
        broker.stop()
        signal.signal(signal.SIGTERM, previous)
    if code != 0:
        raise BrokerError(f"mosquitto exited with code {code} (see {out / CONFIG} and {broker.log_path})")
    typer.echo("mosquitto exited")
