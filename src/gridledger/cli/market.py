"""`gridledger market ...`: check a settled interval against the operator's published book."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gridledger.chain.rpc import RpcChain
from gridledger.cli.options import checked_address, require_contract
from gridledger.errors import InputError, MarketError
from gridledger.grid.network import GridNetwork
from gridledger.market.book import IntervalBook
from gridledger.market.orders import Pricing
from gridledger.market.verify import VerificationReport, verify_interval
from gridledger.ops.grid_model import LiveGridModel, read_bus_map

market_app = typer.Typer(help="The energy market: verify settled intervals.", no_args_is_help=True)


@market_app.command("verify")
def verify_command(
    interval: Annotated[int, typer.Option(help="Start of the delivery interval (unix seconds).")],
    book: Annotated[
        Path,
        typer.Option(help="The book the operator published for it (JSON).", exists=True, dir_okay=False),
    ],
    market: Annotated[str, typer.Option(help="EnergyMarket contract address.")],
    rpc_url: Annotated[str, typer.Option(help="JSON-RPC endpoint of the chain.")] = "http://127.0.0.1:8545",
    grid: Annotated[
        str | None,
        typer.Option(
            help="SimBench grid of the network: rebuild the book's caps or certificate network from it."
        ),
    ] = None,
    grid_buses: Annotated[
        Path | None,
        typer.Option(help="With --grid: CSV grid_node_id,bus placing the chain's nodes on the grid's buses."),
    ] = None,
) -> None:
    """Recompute the interval's clearing from the signed orders and the on-chain trade record (a
    nodal one: check its published certificate of optimality; with --grid, that the caps or the
    certificate's network are the grid's at the book's published base case); exits 1 and lists
    every inconsistent fill or skipped better clearing, 2 if it cannot verify."""
    console = Console()
    market = checked_address(market, "--market")
    if (grid is None) != (grid_buses is None):
        raise InputError("--grid and --grid-buses go together")
    loaded = IntervalBook.load(book)
    if loaded.interval_start != interval:
        raise MarketError(f"the book is for interval {loaded.interval_start}, not {interval}")
    model = None
    if grid is not None and grid_buses is not None:
        network = GridNetwork(grid)
        model = LiveGridModel(network, read_bus_map(grid_buses, network))
    chain = RpcChain(rpc_url, impersonate=False)
    require_contract(chain, market, "--market")
    report = verify_interval(chain, market, loaded, model)
    print_report(console, report)
    if not report.consistent:
        raise typer.Exit(1)


def print_report(console: Console, report: VerificationReport) -> None:
    nodal = report.pricing == Pricing.NODAL
    table = Table(title=f"Interval {report.interval_start} ({report.pricing.name.lower()} pricing)")
    table.add_column("")
    table.add_column("settled", justify="right")
    # A nodal settlement is checked against its certificate, not re-run.
    table.add_column("certified" if nodal else "recomputed", justify="right")
    table.add_row("volume Wh", str(report.settled_volume_wh), str(report.best_volume_wh))
    table.add_row("welfare (units x Wh/kWh)", str(report.settled_welfare), str(report.best_welfare))
    table.add_row("fills", str(report.fills), "")
    console.print(table)
    if report.nodal_prices is not None:
        print_nodal_prices(console, report.nodal_prices)
    for finding in report.findings:
        console.print(f"[red]{finding.kind}[/]: {finding.detail}")
    if report.consistent and nodal:
        console.print("[green]consistent[/]: the settlement is optimal by its book's certificate")

    elif report.consistent:
        console.print("[green]consistent[/]: the settlement is the book's documented clearing")
    if report.consistent and report.grid_rebuilt:
        console.print("[green]consistent[/]: the limits it was cleared under are the grid's at its base case")


def print_nodal_prices(console: Console, prices: dict[str, Any]) -> None:
    """The locational prices of a nodal settlement, as its certificate gives them."""
    table = Table(title=f"Buyers pay {prices['buyPricePerKWh']} per kWh; sellers at each node earn")
    for heading in ("grid node", "per kWh", "loss charge", "congestion", "loss factor"):
        table.add_column(heading, justify="right")
    for node in prices["nodes"]:
        table.add_row(
            str(node["gridNodeId"]),
            str(node["sellPricePerKWh"]),
            f"{node['lossChargePerKWh']:.3f}",
            f"{node['congestionPerKWh']:.3f}",
            f"{node['lossFactor']:.5f}",
        )
    console.print(table)
    console.print(
        f"congestion rent {prices['congestionRentUnits']} and loss charges {prices['lossChargeUnits']} "
        "payment units, to the fee collector"
    )
