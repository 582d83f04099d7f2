"""The `gridledger` console script.

Every command runs under one guard: an error gridledger raises on purpose (a `GridLedgerError`)
and a usage error of the command line both end as one line on standard error and exit code 2;
exit code 1 stays a check that ran and failed (a run that does not reconcile, an inconsistent
settlement). Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer

# typer 0.29 vendors click: its context, usage errors and no-arguments help live in typer._click.
from typer._click.core import Context
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from gridledger.cli.admin import device_app, firmware_app, node_app, participant_app, pause_command, zone_app
from gridledger.cli.broker import broker_app
from gridledger.cli.capacity import capacity_command
from gridledger.cli.demo import demo_command
from gridledger.cli.deploy import deploy_command
from gridledger.cli.gateway import gateway_app
from gridledger.cli.index import index_command
from gridledger.cli.keys import keys_app
from gridledger.cli.market import market_app
from gridledger.cli.meter import meter_app
from gridledger.cli.multisig import multisig_app
from gridledger.cli.operate import operate_command
from gridledger.cli.report import report_app
from gridledger.cli.serve import serve_command
from gridledger.cli.simulate import simulate_command
from gridledger.errors import GridLedgerError

USAGE_EXIT = 2


def one_line(text: str) -> str:
    """`text` with its line breaks and runs of spaces folded, for a one-line error."""
    return " ".join(text.split())


class GuardedGroup(TyperGroup):
    """The root command group: turns expected failures into one line and exit code 2."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise  # a group called without a command shows its help
        except UsageError as bad:
            where = bad.ctx.command_path if bad.ctx is not None else ctx.command_path
            typer.echo(f"{where}: {one_line(bad.format_message())} (see '{where} --help')", err=True)
            raise typer.Exit(USAGE_EXIT) from bad
        except GridLedgerError as failed:
            typer.echo(f"{ctx.command_path}: error: {one_line(str(failed))}", err=True)
            raise typer.Exit(USAGE_EXIT) from failed


app = typer.Typer(
    cls=GuardedGroup,
    help="gridledger: peer-to-peer renewable energy trading on an EVM chain.",
    no_args_is_help=True,
)
app.command("simulate")(simulate_command)
app.command("demo")(demo_command)
app.command("capacity")(capacity_command)
app.command("deploy")(deploy_command)
app.command("operate")(operate_command)
app.command("serve")(serve_command)
app.command("index")(index_command)
app.add_typer(gateway_app, name="gateway")
app.add_typer(market_app, name="market")
app.add_typer(report_app, name="report")
app.add_typer(keys_app, name="keys")
app.add_typer(multisig_app, name="multisig")
app.add_typer(participant_app, name="participant")
app.add_typer(device_app, name="device")
app.add_typer(zone_app, name="zone")
app.add_typer(node_app, name="node")
app.add_typer(firmware_app, name="firmware")
app.add_typer(meter_app, name="meter")
app.add_typer(broker_app, name="broker")
app.command("pause")(pause_command)


@app.callback()
def _root() -> None:
    """Simulation: simulate, demo, capacity, market, report. Live: keys, deploy, operate, multisig,
    participant, device, zone, node, firmware, pause, meter, broker, index."""
