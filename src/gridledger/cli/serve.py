"""`gridledger serve`: the read API over an index database, with order intake when given the
operator's inbox, run by uvicorn."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from gridledger.errors import InputError


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
    from gridledger.indexer.db import is_current, open_database

    if demo:
        if db is not None or orders is not None:
            raise InputError("--demo makes its own chain, index and market: leave out --db and --orders")
        _serve_demo(host, port, prosumers, seconds_per_interval)
        return
    if db is None:
        raise InputError("give the index with --db (or --demo for a demonstration)")
    for name, folder in (("--orders", orders), ("--state", state)):
        if folder is not None and not folder.is_dir():
            raise InputError(f"{name} {folder} is not a folder")
    engine = open_database(db)
    try:
        current = is_current(engine)
    except SQLAlchemyError as unreachable:
        raise InputError(f"cannot read the index database {db}: {unreachable}") from unreachable
    if not current:
        raise InputError(f"{db} is not an index at the newest migration: run the indexer on it first")
    app = create_app(engine, ApiSettings(orders_dir=orders, state_dir=state))
    serve_until_signalled(app, host, port, "info")


def serve_until_signalled(app: Any, host: str, port: int, log_level: str) -> None:
    """Serve `app` until SIGTERM or SIGINT, then return (so the caller's cleanup runs).

    uvicorn.run re-raises the signal it caught once it has shut down, which ends the process
    before a `finally` of the caller runs (the demo's anvil would outlive it); a server in a
    thread of its own takes no signals, and this thread tells it to stop."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(target=server.run, name="api-server")
    thread.start()
    try:
        while thread.is_alive() and not stop.wait(0.5):
            pass
    finally:
        server.should_exit = True
        thread.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        raise InputError(f"cannot serve on {host}:{port} (is the port taken?)")


def _serve_demo(host: str, port: int, prosumers: int, seconds_per_interval: float) -> None:
    import tempfile

    from gridledger.api.app import ApiSettings, create_app
    from gridledger.ops.live_demo import live_demo

    def say(line: str) -> None:
        typer.echo(f"demo: {line}", err=True)

    with tempfile.TemporaryDirectory(prefix="gridledger-demo-") as folder:
        say(f"starting anvil and a community of {prosumers} prosumers (deploying takes a minute)")
        with live_demo(Path(folder), prosumers, seconds_per_interval, say) as running:
            say(f"chain: {running.rpc_url} (chain id 31337); contracts deployed, indexing")
            say(f"open http://{host}:{port}/ — look up a participant, e.g. {running.traders[0]}")
            app = create_app(running.engine, ApiSettings())
            serve_until_signalled(app, host, port, "warning")
