"""The index database: SQLite (a file, the default) or PostgreSQL, by URL, migrated by Alembic."""

from __future__ import annotations

import fcntl
from importlib import resources
from pathlib import Path
from typing import IO, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from gridledger.errors import IndexerError

DEFAULT_DATABASE = "index.sqlite"
# PostgreSQL advisory lock key of the index's one writer (any fixed 64-bit number).
WRITER_LOCK_KEY = 0x6772_6964_6C65_6467  # "gridledg"
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


class WriterLock:
    """Makes one indexer the index's only writer: two followers of one database would undo each
    other's steps. On SQLite an exclusive flock on `<file>.lock` (the kernel drops it with the
    process, even after SIGKILL); on PostgreSQL a session advisory lock on a connection of its
    own (the server drops it with the session). `hold()` takes it, or takes it again after the
    database was away; IndexerError when another indexer holds it."""

    def __init__(self, engine: Engine, db: str) -> None:
        self._engine = engine
        self._db = db
        self._file: IO[str] | None = None
        self._session: Connection | None = None

    def hold(self) -> None:
        if self._engine.dialect.name == "sqlite":
            self._hold_file()
        else:
            self._hold_session()

    def _refused(self) -> IndexerError:
        return IndexerError(f"another indexer is writing to {shown(self._db)}: one writer per index")

    def _hold_file(self) -> None:
        if self._file is not None:
            return
        database = self._engine.url.database
        if not database or database == ":memory:":
            return  # a memory database has one process by nature
        # Held open for as long as the lock is: closing it is what releases the flock.
        opened = Path(f"{database}.lock").open("a", encoding="utf-8")  # noqa: SIM115
        try:
            fcntl.flock(opened, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as held:
            opened.close()
            raise self._refused() from held
        self._file = opened

    def _hold_session(self) -> None:
        if self._session is not None:
            try:
                self._session.execute(select(1))
                return
            except DBAPIError:  # the database was away: the server dropped the lock with the session
                self._session.invalidate()
                self._session = None
        session = self._engine.connect()
        taken = session.execute(select(func.pg_try_advisory_lock(WRITER_LOCK_KEY))).scalar()
        session.commit()
        if not taken:
            session.close()
            raise self._refused()
        self._session = session

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None
        if self._session is not None:
            try:
                self._session.execute(select(func.pg_advisory_unlock(WRITER_LOCK_KEY)))
                self._session.commit()
            except DBAPIError:
                pass  # gone with the session already
            self._session.close()
            self._session = None
