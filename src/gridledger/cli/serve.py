"""`gridledger serve`: the read API over an index database, with order intake when given the
operator's inbox, run by uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridledger.errors import InputError
from gridledger.ops.operator import DEFAULT_GATE_DELAY_S


def serve_command(
    db: Annotated[
        str | None, typer.Option("--db", help="The index: a SQLite path or a postgresql:// URL.")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    orders: Annotated[
        Path | None,
        typer.Option("--orders", help="The operator's order inbox (enables POST/DELETE /orders)."),
    ] = None,
    state: Annotated[
        Path | None, typer.Option("--state", help="The operator's state folder (published books).")
    ] = None,
    gate_delay_s: Annotated[
        int,
        typer.Option(
            "--gate-delay", min=0, max=3_600, help="The operator's gate delay (operate --gate-delay), s."
        ),
    ] = DEFAULT_GATE_DELAY_S,
    public_rpc_url: Annotated[
        str | None,
        typer.Option(
            "--public-rpc-url", help="A JSON-RPC URL of the chain that wallets may add (shown in /status)."
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Start anvil, a simulated community trading live on it and the indexer, and serve them.",
        ),
    ] = False,
    prosumers: Annotated[int, typer.Option(min=2, max=200, help="--demo: the community's size.")] = 20,
    seconds_per_interval: Annotated[
        float, typer.Option(min=0.0, max=600.0, help="--demo: wall seconds per 15-minute interval.")
    ] = 3.0,
) -> None:
    """Serve /api/v1 (OpenAPI at /docs) and the web app (/). The index must exist and be migrated:
    run the indexer first — or give --demo for the whole platform on this machine. Ctrl-C or
    SIGTERM stops it."""
    from sqlalchemy.exc import SQLAlchemyError

    from gridledger.api.app import ApiSettings, create_app
    from gridledger.api.server import serve_until_signalled
    from gridledger.indexer.db import is_current, open_database, shown

    if demo:
        if db is not None or orders is not None:
            raise InputError("--demo makes its own chain, index and market: leave out --db and --orders")
        _serve_demo(host, port, prosumers, seconds_per_interval)
        return
    if db is None:
        raise InputError("give the index with --db (or --demo for a demonstration)")
    if public_rpc_url is not None and not public_rpc_url.startswith(("http://", "https://")):
        raise InputError(f"--public-rpc-url must be an http:// or https:// URL, got {public_rpc_url!r}")
    if "://" not in db and not Path(db).is_file():
        raise InputError(f"--db {db} does not exist: run the indexer (gridledger index) first")
    for name, folder in (("--orders", orders), ("--state", state)):
        if folder is not None and not folder.is_dir():
            raise InputError(f"{name} {folder} is not a folder")
    engine = open_database(db)
    try:
        current = is_current(engine)
    except SQLAlchemyError as unreachable:
        raise InputError(
            f"cannot read the index database {shown(db)}: {getattr(unreachable, 'orig', None) or unreachable}"
        ) from unreachable
    if not current:
        raise InputError(f"{shown(db)} is not an index at the newest migration: run the indexer on it first")
    app = create_app(
        engine,
        ApiSettings(
            orders_dir=orders, state_dir=state, gate_delay_s=gate_delay_s, public_rpc_url=public_rpc_url
        ),
    )
    serve_until_signalled(app, host, port, "info")


def _serve_demo(host: str, port: int, prosumers: int, seconds_per_interval: float) -> None:
    import tempfile

    from gridledger.api.app import ApiSettings, create_app
    from gridledger.api.server import serve_until_signalled
    from gridledger.ops.live_demo import live_demo
    from gridledger.sim.run import GATE_DELAY_S

    def say(line: str) -> None:
        typer.echo(f"demo: {line}", err=True)

    with tempfile.TemporaryDirectory(prefix="gridledger-demo-") as folder:
        say(f"starting anvil and a community of {prosumers} prosumers (deploying takes a minute)")
        with live_demo(Path(folder), prosumers, seconds_per_interval, say) as running:
            say(f"chain: {running.rpc_url} (chain id 31337); contracts deployed, indexing")
            via = "over MQTT/TLS to the gateway" if running.transport == "mqtt" else "to the gateway directly"
            say(f"meters: readings {via}")
            say(f"market: the live operator closes every gate; its log is {folder}/operator.log")
            say(
                f"your wallet: anvil's first dev account {running.guest} is a verified participant at grid "
                f"node {running.guest_node} with test dollars; import anvil's first dev key to trade"
            )
            say(f"open http://{host}:{port}/ — look up a participant, e.g. {running.traders[0]}")
            settings = ApiSettings(
                orders_dir=running.orders,
                state_dir=running.state,
                gate_delay_s=GATE_DELAY_S,
                public_rpc_url=running.rpc_url,
            )
            serve_until_signalled(create_app(running.engine, settings), host, port, "warning")
