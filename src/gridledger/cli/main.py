"""The `gridledger` console script."""

from __future__ import annotations

import typer

from gridledger.cli.demo import demo_command

app = typer.Typer(
    help="gridledger: peer-to-peer renewable energy trading on an EVM chain.", no_args_is_help=True
)
app.command("demo")(demo_command)


@app.callback()
def _root() -> None:
    """Keep subcommands explicit even while there is only one."""
