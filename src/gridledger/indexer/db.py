"""The index database: SQLite (a file, the default) or PostgreSQL, by URL, migrated by Alembic."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from gridledger.errors import IndexerError

DEFAULT_DATABASE = "index.sqlite"
POOL_SIZE = 10
POOL_OVERFLOW = 50


def database_url(text: str) -> str:
    """`text` as a SQLAlchemy URL: a plain path means a SQLite file; `postgresql://` gets the
    psycopg 3 driver. IndexerError for anything else."""
    if "://" not in text:
        return f"sqlite:///{Path(text)}"
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as bad:
        raise IndexerError(f"--db {text!r} is not a database URL") from bad
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "postgresql+psycopg"):
        raise IndexerError(f"--db must be a SQLite path or a postgresql:// URL, not {url.drivername}://")
    return url.render_as_string(hide_password=False)


def shown(text: str) -> str:
    """A database as messages may name it: a URL without its password."""
    if "://" not in text:
        return text
    try:
        return make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "the given database URL"


def open_database(text: str) -> Engine:
    """An engine on the index database (not migrated: see `migrate`)."""
    url = database_url(text)
    try:
        # More connections than the API's worker threads (40), so a request never waits on the pool.
        if url.startswith("sqlite"):
            engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as bad:
        raise IndexerError(f"cannot open the index database {shown(text)}: {bad}") from bad
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL: the API reads while the indexer writes. synchronous=NORMAL is durable across a
    # process crash; a power cut can lose the last steps, which the indexer then takes again.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("gridledger.indexer") / "migrations"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the database's tables to the newest migration (creating them on first use)."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DBAPIError as unreachable:
        raise IndexerError(f"cannot reach the index database: {unreachable.orig}") from unreachable


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
