"""`gridledger report ...`: reports built from chain events."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gridledger.carbon.events import collect_logs, load_logs, read_ledger
from gridledger.carbon.report import TABLES, build_report, render_csv, render_json
from gridledger.chain.abi import EventLog
from gridledger.chain.rpc import RpcChain
from gridledger.cli.options import checked_address, require_contract
from gridledger.errors import CarbonError
from gridledger.sim.output import check_output_file, write_text_atomic

report_app = typer.Typer(help="Reports built from chain events.", no_args_is_help=True)


class Format(StrEnum):
    csv = "csv"
    json = "json"


DEFAULT_EVENTS = Path("reports/simulation/carbon-events.json")


@report_app.command("carbon")
def carbon_command(
    from_day: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC), included.")],
    to_day: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included.")],
    output_format: Annotated[
        Format, typer.Option("--format", help="csv (one table) or json (all).")
    ] = Format.csv,
    table: Annotated[str, typer.Option(help=f"CSV table: {', '.join(TABLES)}.")] = "periods",
    events: Annotated[
        Path, typer.Option(help="Carbon events a `gridledger simulate` run saved (without --rpc-url).")
    ] = DEFAULT_EVENTS,
    rpc_url: Annotated[
        str | None, typer.Option(help="Read the events from this JSON-RPC node instead.")
    ] = None,
    carbon: Annotated[str | None, typer.Option(help="CarbonCredit address (with --rpc-url).")] = None,
    pool: Annotated[
        list[str] | None, typer.Option(help="CarbonPool address; repeatable (with --rpc-url).")
    ] = None,
    exchange: Annotated[
        list[str] | None, typer.Option(help="CarbonExchange address; repeatable (with --rpc-url).")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
) -> None:
    """Credits issued, retired (with beneficiaries), expired, pooled and traded per day and region,
    from the events of the carbon contract, pools and exchanges."""
    console = Console(stderr=True)
    first, last = _day(from_day, "--from"), _day(to_day, "--to")
    if output is not None:
        check_output_file(output)
    carbon_address, logs = _events(events, rpc_url, carbon, pool or [], exchange or [])
    report = build_report(read_ledger(logs, carbon_address), first, last)
    text = render_json(report) if output_format is Format.json else render_csv(report, table)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        console.print(f"wrote {output}")


def _events(
    events: Path, rpc_url: str | None, carbon: str | None, pools: list[str], exchanges: list[str]
) -> tuple[str, list[EventLog]]:
    if rpc_url is None:
        if events.is_dir():
            raise CarbonError(f"--events {events} is a folder, not a carbon event file")
        return load_logs(events)
    if carbon is None:
        raise CarbonError("--rpc-url needs --carbon (the CarbonCredit address)")
    carbon = checked_address(carbon, "--carbon")
    pools = [checked_address(p, "--pool") for p in pools]
    exchanges = [checked_address(e, "--exchange") for e in exchanges]
    chain = RpcChain(rpc_url, impersonate=False)
    named = [("--carbon", carbon), *(("--pool", p) for p in pools), *(("--exchange", e) for e in exchanges)]
    for option, address in named:
        require_contract(chain, address, option)
    return carbon, collect_logs(chain, carbon, pools, exchanges)


def _day(text: str, option: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as bad:
        raise CarbonError(f"{option} must be a date YYYY-MM-DD, got {text!r}") from bad
