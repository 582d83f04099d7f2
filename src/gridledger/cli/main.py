"""The `gridledger` console script."""

from __future__ import annotations

import typer

from gridledger.cli.demo import demo_command
from gridledger.cli.market import market_app
from gridledger.cli.report import report_app
from gridledger.cli.simulate import simulate_command

app = typer.Typer(
    help="gridledger: peer-to-peer renewable energy trading on an EVM chain.", no_args_is_help=True
)
app.command("simulate")(simulate_command)
app.command("demo")(demo_command)
app.add_typer(market_app, name="market")
app.add_typer(report_app, name="report")


@app.callback()
def _root() -> None:
    """Subcommands: simulate, demo, market, report."""
