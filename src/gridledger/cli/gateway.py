"""`gridledger gateway run|reconcile`: the meter gateway as a service, and its reconciliation."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gridledger.chain.live import LiveChain
from gridledger.cli.keys import DEFAULT_KEYSTORE, KeystoreOption, PasswordFileOption
from gridledger.cli.live import (
    DEFAULT_DEPLOYMENTS,
    DeploymentsOption,
    HealthPortOption,
    RpcUrlOption,
    open_deployment,
    run_service,
)
from gridledger.errors import InputError
from gridledger.iot.broker import client_tls_context
from gridledger.iot.mqtt_gateway import GatewayConfig, MqttGateway
from gridledger.iot.outbox import Outbox
from gridledger.iot.pki import device_signers, gateway_folder
from gridledger.iot.reconcile import reconcile
from gridledger.meter.gateway import REGISTRY_MAX_BATCH
from gridledger.ops.files import write_json_atomically
from gridledger.ops.operator import JsonLog

gateway_app = typer.Typer(
    help="The meter gateway: MQTT/TLS → durable outbox → registry.", no_args_is_help=True
)

PkiOption = Annotated[Path, typer.Option("--pki", help="The PKI folder (iot: CA, devices, gateways).")]
OutboxOption = Annotated[Path, typer.Option("--outbox", help="The gateway's outbox (SQLite).")]


@gateway_app.command("run")
def run_command(
    name: Annotated[str, typer.Option("--name", help="This gateway's name (its certificate gateway-NAME).")],
    pki: PkiOption = Path("pki"),
    broker_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Mosquitto's TLS port on 127.0.0.1.")
    ] = 8883,
    outbox: Annotated[Path | None, typer.Option("--outbox", help="Default: <state>/outbox.sqlite.")] = None,
    state: Annotated[Path, typer.Option("--state", help="Health and outbox folder.")] = Path("gateway-state"),
    rpc_url: RpcUrlOption = "http://127.0.0.1:8545",
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: Annotated[str, typer.Option("--key", help="The key holding the GATEWAY role.")] = "gateway",
    max_batch: Annotated[
        int, typer.Option(min=1, max=REGISTRY_MAX_BATCH, help="Readings per transaction at most.")
    ] = 100,
    reorder_window_s: Annotated[
        float, typer.Option(min=0.0, help="Seconds a reading waits for its device's missing predecessor.")
    ] = 180.0,
    reconcile_every_s: Annotated[
        float, typer.Option(min=1.0, help="Seconds between reconciliations.")
    ] = 300.0,
    health_port: HealthPortOption = None,
    intake_only: Annotated[bool, typer.Option(help="Store readings but send nothing to the chain.")] = False,
    confirmations: Annotated[int, typer.Option(min=1, help="Blocks on top of a transaction's.")] = 1,
) -> None:
    """Receive readings from the gateways' shared subscription, store each durably before the
    broker is acknowledged, send them to the registry in batches and answer each device. Logs
    one JSON line per event on stdout; SIGTERM or SIGINT stops it cleanly."""
    folder = gateway_folder(pki, name)
    if not (folder / "tls.crt").is_file():
        raise InputError(f"no certificate for gateway {name!r} in {folder}: run 'gridledger broker config'")
    opened = open_deployment(
        rpc_url, deployments, None if intake_only else key, keystore, password_file, confirmations
    )
    reader = LiveChain(opened.chain.rpc, [])
    config = GatewayConfig(
        name=name,
        broker_port=broker_port,
        tls=client_tls_context(folder),
        outbox=outbox or state / "outbox.sqlite",
        state=state,
        max_batch=max_batch,
        reorder_window_s=reorder_window_s,
        submit=not intake_only,
        reconcile_every_s=reconcile_every_s,
    )
    log = JsonLog(lambda line: print(line, flush=True))
    submitter, sender = (None, None) if intake_only else (opened.chain, opened.sender)
    gateway = MqttGateway(
        config,
        reader,
        submitter,
        sender,
        opened.system.registry,
        log,
        device_signers=lambda: device_signers(pki),
    )
    run_service(log, state, health_port, gateway.run)
    sys.stdout.flush()


MAX_TIME_S = 2**40 - 1  # the registry's interval field is 40 bits wide


def parse_time(text: str) -> int:
    """Unix seconds, or an ISO 8601 date or date-time (UTC unless it says otherwise)."""
    if text.isascii() and text.isdigit():
        if int(text) > MAX_TIME_S:
            raise InputError(f"{text} is beyond any interval (unix seconds up to {MAX_TIME_S})")
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as bad:
        raise InputError(f"{text!r} is neither unix seconds nor an ISO 8601 date or time") from bad
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp())


@gateway_app.command("reconcile")
def reconcile_command(
    outbox: OutboxOption,
    start: Annotated[str, typer.Option("--from", help="First interval (unix s or ISO 8601, UTC).")],
    end: Annotated[str, typer.Option("--to", help="End of the window, exclusive (unix s or ISO 8601).")],
    rpc_url: RpcUrlOption = "http://127.0.0.1:8545",
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report as JSON here.")] = None,
    resubmit: Annotated[
        bool, typer.Option(help="Requeue what the chain lacks; record what it holds.")
    ] = True,
    silent_intervals: Annotated[
        int, typer.Option(min=1, help="A device with no reading in this many last intervals is silent.")
    ] = 4,
) -> None:
    """Compare the outbox with the registry's accepted readings over [--from, --to): readings the
    chain lacks (requeued), answers lost after commit, sequence gaps, silent devices, late
    readings and rejects. Exits 1 unless every reading is accepted exactly once with no gap."""
    interval_from, interval_to = parse_time(start), parse_time(end)
    if interval_to <= interval_from:
        raise InputError(f"--to ({end}) must be after --from ({start})")
    if not outbox.is_file():
        raise InputError(f"no outbox at {outbox}")
    opened = open_deployment(rpc_url, deployments)
    store = Outbox(outbox)
    try:
        report = reconcile(
            store,
            opened.chain,
            opened.system.registry,
            interval_from,
            interval_to,
            resubmit,
            silent_intervals,
        )
    finally:
        store.close()
    if out is not None:
        write_json_atomically(out, report.as_json())
    table = Table(title=f"reconciliation {interval_from} .. {interval_to}")
    table.add_column("check")
    table.add_column("count", justify="right")
    rows = {
        "readings in the outbox": report.readings_in_outbox,
        "accepted on-chain": report.accepted_on_chain,
        "accepted through another gateway": report.accepted_elsewhere,
        "accepted twice": len(report.accepted_twice),
        "requeued (chain lacks them)": len(report.resubmitted),
        "still queued": report.still_queued,
        "answers lost, learned from the chain": len(report.learned_accepted),
        "sequence gaps": len(report.gaps),
        "silent devices": len(report.silent_devices),
        "late readings": len(report.late_readings),
        "rejected by the registry": sum(report.rejected.values()),
        "refused by the gateway": sum(report.refused.values()),
    }
    for check, count in rows.items():
        table.add_row(check, str(count))
    Console().print(table)
    typer.echo("complete: every reading accepted exactly once" if report.complete else "incomplete")
    if not report.complete:
        raise typer.Exit(1)
