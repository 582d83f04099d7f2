"""`gridledger simulate`: a SimBench grid trading on the platform end to end, with a report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridledger.chain.deploy import ClockedChain
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.rpc import RpcChain
from gridledger.errors import ScenarioError
from gridledger.grid.network import UPSTREAM_VM_RANGE_PU, GridNetwork
from gridledger.grid.outages import BranchOutage, check_outages
from gridledger.indexer.db import migrate, open_database
from gridledger.iot.broker import mosquitto_binary
from gridledger.sim.indexed import index_run
from gridledger.sim.output import check_output_dir
from gridledger.sim.reconcile import reconcile
from gridledger.sim.report import kpis, write_report
from gridledger.sim.run import TRANSPORTS, Simulation
from gridledger.sim.scenario import (
    DEFAULT_GRID,
    EARLIEST_START,
    MAX_PROSUMERS,
    PROFILE_DAYS,
    PV_SCALE_RANGE,
    SEED_RANGE,
    build_community,
    check_grid_code,
    check_period,
    check_pv_scale,
    check_seed,
    check_size,
    with_pv_scaled,
)

DEFAULT_START = "2025-06-21"
RECONCILED = (
    "minted energy matches the SimBench PV profiles; energy, payments, trades and carbon credits "
    "agree with chain state"
)


def simulate_command(
    grid: Annotated[
        str, typer.Option(help="SimBench grid code (a low-voltage grid with PV).")
    ] = DEFAULT_GRID,
    start: Annotated[
        str,
        typer.Option(
            help=f"First day (YYYY-MM-DD, UTC, from {EARLIEST_START}); "
            "profiles of the same month and day of 2016."
        ),
    ] = DEFAULT_START,
    days: Annotated[
        int, typer.Option(min=1, max=PROFILE_DAYS, help="Days to simulate (96 intervals each).")
    ] = 1,
    prosumers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_PROSUMERS,
            help="Participants; more than the grid has replicates its households.",
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(min=SEED_RANGE[0], max=SEED_RANGE[1], help="Seed of keys, bids and replica scaling."),
    ] = 0,
    pv_scale: Annotated[
        float,
        typer.Option(
            min=PV_SCALE_RANGE[0],
            max=PV_SCALE_RANGE[1],
            help="Scale every PV system (a higher-penetration scenario).",
        ),
    ] = 1.0,
    upstream_voltage: Annotated[
        float | None,
        typer.Option(
            min=UPSTREAM_VM_RANGE_PU[0],
            max=UPSTREAM_VM_RANGE_PU[1],
            help="Voltage (pu) the upstream grid holds at the transformer; default SimBench's. A high "
            "one (1.05) leaves the feeders less room, so voltage rather than loading limits exports.",
        ),
    ] = None,
    branch_outage: Annotated[
        list[str] | None,
        typer.Option(
            help="Take a branch out of service for some intervals: line:N@K+D or trafo:N@K+D (table "
            "position N, from interval K, for D intervals); repeatable. Its zones halt, the rest trade.",
        ),
    ] = None,
    n_minus_1: Annotated[
        bool,
        typer.Option(
            "--n-1",
            help="N-1 secure export envelopes: every line and transformer within its rating even "
            "after any single branch outage (thermal limits, DC transfer factors).",
        ),
    ] = False,
    transport: Annotated[
        str,
        typer.Option(
            help="How readings reach the gateway: in-process (fast) or mqtt (meters → Mosquitto with "
            "mutual TLS → the gateway's durable outbox; needs the mosquitto binary)."
        ),
    ] = "in-process",
    rpc_url: Annotated[
        str | None,
        typer.Option(
            help="JSON-RPC node that allows impersonation and setting time (anvil); default: embedded EVM."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Directory for report.html and the raw data (written when the run ends).")
    ] = Path("reports/simulation"),
    index: Annotated[
        str | None,
        typer.Option(
            help="Also index the run's chain into this database (a SQLite path or a postgresql:// URL), "
            "the tables `gridledger serve` reads, and check it against the run."
        ),
    ] = None,
) -> None:
    """Run the community of a SimBench grid for whole days: signed meter readings, minting and
    burning, a market cleared within the grid's limits and settled every 15 minutes, the grid
    operator's power flow, zone states and reservations; write an HTML report and raw data.
    Exits 1 if the run does not reconcile with chain state, 2 if it cannot run."""
    console = Console()
    # Every input is checked before the grid loads or the chain starts: a bad one fails in
    # a second, not after the run.
    first_day = _parse_day(start)
    check_period(first_day, days)
    check_seed(seed)
    check_pv_scale(pv_scale)
    if prosumers is not None:
        check_size(prosumers, days)
    check_grid_code(grid)
    outages = [BranchOutage.parse(text) for text in branch_outage or []]
    if transport not in TRANSPORTS:
        raise ScenarioError(f"--transport {transport!r}: one of {', '.join(TRANSPORTS)}")
    if transport == "mqtt":
        mosquitto_binary()  # a missing broker is told now, not after the grid is loaded
    check_output_dir(out)
    if index is not None:
        migrate(open_database(index))  # a bad or unreachable database is told now, not after the run
    first_second = int(datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC).timestamp())
    chain: ClockedChain
    if rpc_url is None:
        chain = EmbeddedChain(first_second)
    else:
        chain = RpcChain(rpc_url)
        if chain.timestamp >= first_second:
            raise ScenarioError(
                f"the node's time is already past {first_day}: start the node earlier "
                "(anvil --timestamp) or choose a later --start"
            )
    with console.status(f"loading SimBench grid {grid}"):
        community = build_community(grid, first_day, days, prosumers, seed)
        if pv_scale != 1.0:
            community = with_pv_scaled(community, pv_scale)
        # Replicas have no place in the real grid: their run trades without a network model.
        for option, given in (
            ("--upstream-voltage", upstream_voltage is not None),
            ("--branch-outage", outages),
            ("--n-1", n_minus_1),
        ):
            if community.replicated and given:
                raise ScenarioError(f"{option}: a run with replicated households has no network model")
        network = None if community.replicated else GridNetwork(grid, upstream_voltage)
        if network is not None:
            check_outages(outages, network, community.intervals)
    simulation = Simulation(
        chain,
        community,
        seed=seed,
        network=network,
        transport=transport,
        outages=outages,
        n_minus_1=n_minus_1,
    )
    with Progress(
        TextColumn("[bold]simulating[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("intervals"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(
            f"{grid}, {len(community.participants)} participants", total=community.intervals
        )
        result = simulation.run(on_interval=lambda _: progress.advance(task))
    findings = reconcile(chain, result)
    indexed = None
    if index is not None:
        with console.status(f"indexing the run into {index}"):
            indexed = index_run(simulation.chain, result, index)
        findings += indexed.findings
    report = write_report(result, out, findings, indexed)

    table = Table(title=f"gridledger simulate: {grid} from {first_day}, seed {seed}")
    table.add_column("")
    table.add_column("", justify="right")
    for label, value in kpis(result):
        table.add_row(label, value)
    console.print(table)
    if findings:
        console.print("[red]the run does not reconcile with chain state:[/]")
        for finding in findings:
            console.print(f"  - {finding}")
    else:
        console.print(f"[green]reconciled:[/] {RECONCILED}")
    console.print(f"report: {report.resolve()}  (raw data beside it: CSV and simulation.sqlite)")
    if findings:
        raise typer.Exit(1)


def _parse_day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as bad:
        raise ScenarioError(f"--start must be a date YYYY-MM-DD, got {text!r}") from bad
