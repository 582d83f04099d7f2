"""`gridledger meter run`: simulated meters over MQTT/TLS, each with its PKI identity, publishing
signed readings of a SimBench profile with store-and-forward and optional injected faults."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gridledger.cli.live import DEFAULT_DEPLOYMENTS, DeploymentsOption, RpcUrlOption, open_deployment
from gridledger.errors import InputError
from gridledger.iot.meters import (
    DEFAULT_RESEND_AFTER_S,
    INTERVAL_S,
    FleetCounters,
    MeterDevice,
    MeterFaults,
    MeterFleet,
    ReadingStore,
    checked_start_s,
    community_registers,
    load_device_key,
    mqtt_connector,
    pki_device_names,
    resolve_device_ids,
)
from gridledger.meter.signing import registry_domain_separator
from gridledger.sim.scenario import DEFAULT_GRID

DEFAULT_INTERVALS = 96  # a day
# The registry takes a reading up to 60 s ahead of its clock; a replay must not outrun that.
CHAIN_FUTURE_SKEW_S = 60
# The registry's default reading window (setReadingWindow changes it).
REGISTRY_MAX_AGE_S = 86_400


def parse_start(text: str) -> int:
    """Unix seconds, or an ISO 8601 date or date-time (UTC unless it says otherwise), aligned to 900 s."""
    if text.isascii() and text.isdigit():
        return checked_start_s(int(text))
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--start {text!r} is neither unix seconds nor an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return checked_start_s(int(moment.timestamp()))


def default_start_s(interval_seconds: float, intervals: int, now_s: float) -> int:
    """Real time: the current interval, so the first reading comes when it ends. A replay: the
    last `intervals` intervals that have ended, so every one can be published at once."""
    current = int(now_s) // INTERVAL_S * INTERVAL_S
    return current if interval_seconds == INTERVAL_S else current - intervals * INTERVAL_S


def chosen_devices(pki: Path, devices: list[str] | None, all_devices: bool) -> list[str]:
    """The names of `--devices` (repeated or comma-separated) or, with `--all`, every device in
    force in the PKI register; InputError unless exactly one of the two is given."""
    if all_devices == bool(devices):
        raise InputError("give the meters to run: --devices NAME ... or --all")
    active = pki_device_names(pki)
    if all_devices:
        if not active:
            raise InputError(f"the PKI {pki} has no device with a certificate in force")
        return active
    names = [name.strip() for text in devices or [] for name in text.split(",") if name.strip()]
    if len(set(names)) != len(names):
        raise InputError("--devices names a meter twice")
    not_in_force = [name for name in names if name not in active]
    if not_in_force:
        raise InputError(f"no certificate in force in {pki} for: {', '.join(not_in_force)}")
    return names


def meter_run_command(
    broker_port: Annotated[
        int, typer.Option("--broker-port", min=1, max=65535, help="Mosquitto's TLS port on 127.0.0.1.")
    ],
    pki: Annotated[Path, typer.Option("--pki", help="The PKI folder (CA, devices/<name>/).")] = Path("pki"),
    rpc_url: RpcUrlOption = "http://127.0.0.1:8545",
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    devices: Annotated[
        list[str] | None, typer.Option("--devices", help="Meters to run (repeat, or comma-separated).")
    ] = None,
    all_devices: Annotated[bool, typer.Option("--all", help="Run every device of the PKI register.")] = False,
    store: Annotated[
        Path, typer.Option("--store", help="Store-and-forward file (SQLite); a restart resumes from it.")
    ] = Path("meters.sqlite"),
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="First interval's start, unix s or ISO 8601 (UTC), a multiple of 900 s. "
            "Default: the current interval (real time) or the last --intervals ended ones (a replay).",
        ),
    ] = None,
    interval_seconds: Annotated[
        float,
        typer.Option("--interval-seconds", help="Wall seconds per 15-minute interval (900: real time)."),
    ] = float(INTERVAL_S),
    intervals: Annotated[
        int, typer.Option("--intervals", min=1, help="Intervals to run.")
    ] = DEFAULT_INTERVALS,
    grid: Annotated[str, typer.Option("--grid", help="SimBench LV grid of the profiles.")] = DEFAULT_GRID,
    resend_after_s: Annotated[
        float, typer.Option("--resend-after-s", help="Resend a reading unanswered this long.")
    ] = DEFAULT_RESEND_AFTER_S,
    skew: Annotated[
        list[str] | None, typer.Option("--skew", help="NAME=SECONDS: a meter's clock is off by so much.")
    ] = None,
    jitter_s: Annotated[
        float, typer.Option("--jitter-s", help="Delay each publish by 0..J s at random.")
    ] = 0.0,
    outage: Annotated[
        list[str] | None, typer.Option("--outage", help="NAME@K+N: offline from interval K for N intervals.")
    ] = None,
    tamper: Annotated[
        list[str] | None, typer.Option("--tamper", help="NAME@K: set the tamper flag on interval K.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the jitter and the profile replicas.")] = 0,
) -> None:
    """Run simulated meters: each signs its SimBench registers once per interval and publishes them
    over MQTT/TLS with its own certificate, keeping every reading in --store until the gateway
    answers it. Ends when every reading is answered; SIGINT or SIGTERM stops it (a restart
    resumes from the store)."""
    faults = MeterFaults.parse(skew or [], jitter_s, outage or [], tamper or [], seed)
    if not (math.isfinite(interval_seconds) and 0 < interval_seconds <= INTERVAL_S):
        raise InputError(
            f"--interval-seconds must be above 0 and at most {INTERVAL_S}, got {interval_seconds}"
        )
    if not (math.isfinite(resend_after_s) and resend_after_s > 0):
        raise InputError(f"--resend-after-s must be positive, got {resend_after_s}")
    now_s = time.time()
    start_s = parse_start(start) if start is not None else default_start_s(interval_seconds, intervals, now_s)
    last_end_s = start_s + intervals * INTERVAL_S
    if interval_seconds < INTERVAL_S and last_end_s > now_s + CHAIN_FUTURE_SKEW_S:
        # Faster than real time, the replay would reach intervals the chain has not lived yet.
        raise InputError(
            f"a replay faster than real time must be of the past: its last interval ends at {last_end_s}, "
            f"after now ({int(now_s)}); choose an earlier --start or fewer --intervals"
        )
    names = chosen_devices(pki, devices, all_devices)
    faults.check_devices(names)
    keys = {name: load_device_key(pki, name) for name in names}

    deployment = open_deployment(rpc_url, deployments)
    registry = deployment.system.registry
    ids = resolve_device_ids(deployment.chain, registry, [key.address for _, key in keys.values()])
    domain = registry_domain_separator(deployment.chain.chain_id, registry)
    fleet_devices = [MeterDevice(name, folder, key, ids[key.address]) for name, (folder, key) in keys.items()]
    registers = community_registers(grid, start_s, intervals, len(names), seed)

    console = Console()
    if start_s < now_s - REGISTRY_MAX_AGE_S:
        console.print(
            f"note: intervals starting before {int(now_s - REGISTRY_MAX_AGE_S)} are older than the "
            "registry's default reading window (1 day): expect IntervalTooOld rejections for them"
        )
    console.print(
        f"{len(names)} meters, {intervals} intervals from {start_s} "
        f"({datetime.datetime.fromtimestamp(start_s, datetime.UTC):%Y-%m-%d %H:%M} UTC), "
        f"{interval_seconds:g} s each, broker 127.0.0.1:{broker_port}, store {store}"
    )
    with ReadingStore(store) as reading_store:
        fleet = MeterFleet(
            fleet_devices,
            registers,
            reading_store,
            domain,
            mqtt_connector(broker_port),
            start_s=start_s,
            interval_seconds=interval_seconds,
            faults=faults,
            resend_after_s=resend_after_s,
        )
        counters, stopped = asyncio.run(_run_until_signalled(fleet, intervals))
        unanswered = reading_store.pending_count()
    for line in fleet.unfinished() if stopped else []:
        console.print(f"unfinished: {line}", highlight=False)
    console.print(summary_table(counters, unanswered, stopped))


async def _run_until_signalled(fleet: MeterFleet, intervals: int) -> tuple[FleetCounters, bool]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        counters = await fleet.run(intervals, stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signum)
    return counters, stop.is_set()


def summary_table(counters: FleetCounters, unanswered: int, stopped: bool) -> Table:
    """The run's counts, as the command prints them at the end."""
    table = Table(title="meters: stopped, the store keeps what is unanswered" if stopped else "meters: done")
    table.add_column("readings")
    table.add_column("count", justify="right")
    for label, value in (
        ("produced", counters.produced),
        ("published", counters.published),
        ("resent", counters.resent),
        ("accepted", counters.accepted),
        ("rejected", counters.rejected),
        ("refused", counters.refused),
        ("unanswered (in the store)", unanswered),
        ("connections", counters.connections),
        ("connections lost", counters.disconnections),
    ):
        table.add_row(label, f"{value:,}")
    return table
