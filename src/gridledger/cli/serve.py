"""`gridledger serve`: the read API over an index database, with order intake when given the
operator's inbox, run by uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridledger.errors import InputError


def serve_command(
    db: Annotated[str, typer.Option("--db", help="The index: a SQLite path or a postgresql:// URL.")],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    orders: Annotated[
        Path | None,
        typer.Option("--orders", help="The operator's order inbox (enables POST/DELETE /orders)."),
    ] = None,
    state: Annotated[
        Path | None, typer.Option("--state", help="The operator's state folder (published books).")
    ] = None,
) -> None:
    """Serve /api/v1 (OpenAPI at /docs). The index must exist and be migrated: run the indexer
    first. Ctrl-C or SIGTERM stops it."""
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from gridledger.api.app import ApiSettings, create_app
    from gridledger.indexer.db import is_current, open_database

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
    uvicorn.run(app, host=host, port=port, log_level="info")
