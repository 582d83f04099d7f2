"""`gridledger operate`: the market operator as a service against a live deployment."""

from __future__ import annotations

import sys
import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

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
from gridledger.grid.network import GridNetwork
from gridledger.market.orders import Pricing
from gridledger.ops.grid_model import LiveGridModel, read_bus_map
from gridledger.ops.operator import DEFAULT_GATE_DELAY_S, JsonLog, MarketService, OperatorConfig


class GridPricing(StrEnum):
    """The pricing rules a network model clears with (market/feasible.py, market/nodal.py)."""

    uniform = "uniform"
    nodal = "nodal"


def operate_command(
    orders: Annotated[Path, typer.Option("--orders", help="Inbox: <orders>/<interval-start>/*.json.")],
    state: Annotated[Path, typer.Option("--state", help="Frozen books, progress and health.")] = Path(
        "operator-state"
    ),
    rpc_url: RpcUrlOption = "http://127.0.0.1:8545",
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: Annotated[str, typer.Option("--key", help="The market operator's key.")] = "market-operator",
    gate_delay: Annotated[
        int, typer.Option(min=0, max=3600, help="Seconds after an interval's end before its gate closes.")
    ] = DEFAULT_GATE_DELAY_S,
    first_interval: Annotated[
        int | None, typer.Option(help="Interval a new operator starts at (unix s; default: the current one).")
    ] = None,
    max_intervals: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many intervals (default: run until stopped).")
    ] = None,
    health_port: HealthPortOption = None,
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between looks at the chain's clock.")] = 1.0,
    confirmations: Annotated[int, typer.Option(min=1, help="Blocks on top of a transaction's.")] = 1,
    grid: Annotated[
        str | None, typer.Option(help="SimBench grid of the network model: clear grid-feasibly.")
    ] = None,
    grid_buses: Annotated[
        Path | None, typer.Option(help="CSV grid_node_id,bus placing the chain's nodes on the grid's buses.")
    ] = None,
    grid_key: Annotated[
        str | None, typer.Option(help="With --grid: post measured loads with this key (e.g. grid-operator).")
    ] = None,
    pricing: Annotated[
        GridPricing,
        typer.Option(help="With --grid: grid-feasible uniform prices, or nodal prices with a certificate."),
    ] = GridPricing.uniform,
    loss_price: Annotated[
        int,
        typer.Option(min=0, help="With --pricing nodal: the price of lost energy, payment units per kWh."),
    ] = 0,
) -> None:
    """Settle every interval at its gate closure, in order, none twice and none skipped; logs one
    JSON line per step on stdout. With --grid, clear grid-feasibly around the interval's measured
    loads (and post them with --grid-key); with --pricing nodal, at nodal prices whose
    certificate the published book carries. SIGTERM or SIGINT stops it between intervals."""
    if (grid is None) != (grid_buses is None) or (grid_key is not None and grid is None):
        raise InputError("--grid and --grid-buses go together, and --grid-key needs them")
    if grid is None and (pricing != GridPricing.uniform or loss_price):
        raise InputError("--pricing nodal and --loss-price need the network model (--grid)")
    model = None
    if grid is not None and grid_buses is not None:
        network = GridNetwork(grid)
        model = LiveGridModel(
            network, read_bus_map(grid_buses, network), Pricing[pricing.upper()], loss_price
        )
    also = (grid_key,) if grid_key is not None else ()
    opened = open_deployment(rpc_url, deployments, key, keystore, password_file, confirmations, also=also)
    log = JsonLog(lambda line: print(line, flush=True))
    config = OperatorConfig(orders, state, gate_delay, poll, first_interval)
    grid_operator = opened.chain.accounts[1] if grid_key is not None else None
    service = MarketService(opened.chain, opened.system, opened.sender, config, log, model, grid_operator)

    def operate(stop: threading.Event) -> None:
        log("started", operator=opened.sender, market=opened.system.market, chain_id=opened.chain.chain_id)
        service.run(stop, max_intervals)

    run_service(log, state, health_port, operate)
    log("stopped", **service.health(opened.chain.timestamp))
    sys.stdout.flush()
