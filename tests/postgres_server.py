"""A throwaway PostgreSQL server for the tests, on 127.0.0.1 only.

`with postgres_server() as server:` runs initdb into a fresh temporary directory, starts
`postgres` itself (no systemd, no Debian cluster: nothing outside the temporary directory is
touched) on a free port of 127.0.0.1 with its Unix socket in that directory, and on leaving stops
that one process by its PID and removes the directory. Durability is switched off (fsync,
synchronous_commit, full_page_writes): the data is thrown away, and the tests run faster.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
`postgres` system user (the one Debian's package creates), which then owns the directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from gridledger.chain.rpc import free_port

HOST = "127.0.0.1"
SUPERUSER = "postgres"
# Debian installs each major version side by side; the newest is the one a fresh install brings.
DEBIAN_ROOT = Path("/usr/lib/postgresql")
# The system user the server runs as when the tests run as root.
SYSTEM_USER = "postgres"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
INITDB_TIMEOUT = 120.0
# A connection attempt to a server that is not up yet fails at once; a twentieth of a second
# keeps the start quick without spinning.
POLL_INTERVAL = 0.05
# A port picked free may be taken by someone else before postgres binds it: try a few.
PORT_ATTEMPTS = 3
# Names go into a URL and an SQL identifier: plain lower-case identifiers only, within
# PostgreSQL's 63-byte limit (a longer name would be cut short silently).
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
LOG = "postgres.log"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed, or the server would not start or stop."""


def postgres_bin_dir() -> Path:
    """The directory of initdb and postgres: the newest Debian /usr/lib/postgresql/*/bin with
    initdb (Debian keeps those off the PATH), else the directory of an initdb on the PATH."""
    candidates: list[tuple[int, Path]] = []
    if DEBIAN_ROOT.is_dir():
        for version in DEBIAN_ROOT.iterdir():
            bin_dir = version / "bin"
            # The version directories are named by major version ("15", "16"): newest by number.
            if version.name.isdigit() and os.access(bin_dir / "initdb", os.X_OK):
                candidates.append((int(version.name), bin_dir))
    if candidates:
        return max(candidates)[1]
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).resolve().parent
    raise PostgresUnavailable(
        f"PostgreSQL is not installed (no {DEBIAN_ROOT}/*/bin/initdb, no initdb on the PATH): "
        "apt install postgresql, or `make system-packages`"
    )


@dataclass(frozen=True)
class _Account:
    """Whom the server runs as: the postgres system user under root, else the current user."""

    uid: int
    gid: int
    groups: tuple[int, ...]
    name: str
    drop_privileges: bool

    # The Popen arguments that make a child this account (None each when it is us already): the
    # child's PID is then the server's own, with no runuser or su in between to pass signals on.
    @property
    def popen_user(self) -> int | None:
        return self.uid if self.drop_privileges else None

    @property
    def popen_group(self) -> int | None:
        return self.gid if self.drop_privileges else None

    @property
    def popen_extra_groups(self) -> list[int] | None:
        # Without an explicit list the child would keep root's supplementary groups.
        return list(self.groups) if self.drop_privileges else None


def _server_account() -> _Account:
    if os.geteuid() != 0:
        name = pwd.getpwuid(os.geteuid()).pw_name
        return _Account(os.geteuid(), os.getegid(), (), name, drop_privileges=False)
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError as missing:
        raise PostgresUnavailable(
            f"running as root, and there is no {SYSTEM_USER!r} user to run PostgreSQL as "
            "(Debian's postgresql package creates it)"
        ) from missing
    groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return _Account(entry.pw_uid, entry.pw_gid, groups, entry.pw_name, drop_privileges=True)


def _environment(home: Path) -> dict[str, str]:
    # A minimal environment: no PG* variables of the caller's (PGPORT, PGDATA...) reach the
    # server, and the C locale makes its messages and defaults the same everywhere.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LC_ALL": "C"}


@dataclass
class PostgresServer:
    """A running throwaway server: where it listens, and the databases the tests make in it."""

    host: str
    port: int
    pid: int
    directory: Path
    user: str = SUPERUSER

    @property
    def socket_dir(self) -> Path:
        return self.directory

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of database `dbname` (psycopg 3 driver, trust authentication)."""
        _check_name(dbname)
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A psycopg connection to `dbname` over TCP, autocommit (CREATE/DROP DATABASE need it)."""
        _check_name(dbname)
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=dbname, autocommit=True, connect_timeout=5
        )

    def create_database(self, name: str) -> str:
        """Create the empty database `name`; its SQLAlchemy URL."""
        _check_name(name)
        with self.connect() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, ending its connections first (WITH (FORCE)): a test
        that left an engine or session open must not keep its database, nor fail the next drop."""
        _check_name(name)
        with self.connect() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def databases(self) -> set[str]:
        """The names of the databases that accept connections (not the templates)."""
        with self.connect() as admin:
            rows = admin.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall()
        return {str(row[0]) for row in rows}


def _check_name(name: str) -> None:
    if not DATABASE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r} is not a plain lower-case identifier of at most 63 bytes")


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL server on 127.0.0.1 and yield it; on leaving, stop it by its
    PID (fast shutdown, SIGKILL if it hangs) and remove its temporary directory."""
    bin_dir = postgres_bin_dir()
    account = _server_account()
    directory = Path(tempfile.mkdtemp(prefix="gridledger-pg-"))
    try:
        # The server must own its directory; it reaches it through the temporary root (/tmp).
        os.chown(directory, account.uid, account.gid)
        directory.chmod(0o700)
        data = directory / "data"
        _initdb(bin_dir, data, account, directory)
        process, port = _start(bin_dir, data, account, directory)
        try:
            yield PostgresServer(host=HOST, port=port, pid=process.pid, directory=directory)
        finally:
            _stop(process)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _initdb(bin_dir: Path, data: Path, account: _Account, directory: Path) -> None:
    command = [
        str(bin_dir / "initdb"),
        f"--pgdata={data}",
        f"--username={SUPERUSER}",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        # The cluster is thrown away: no need to wait for its files to reach the disk.
        "--no-sync",
    ]
    done = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_environment(directory),
        cwd=directory,
        timeout=INITDB_TIMEOUT,
        check=False,
        user=account.popen_user,
        group=account.popen_group,
        extra_groups=account.popen_extra_groups,
    )
    if done.returncode != 0:
        raise PostgresUnavailable(
            f"initdb failed with code {done.returncode} (as {account.name}): {done.stderr.strip()[-2000:]}"
        )


def _start(
    bin_dir: Path, data: Path, account: _Account, directory: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """Start postgres on a free port, retrying on another port if one was taken meanwhile; the
    running process (ready for connections) and its port."""
    failures: list[str] = []
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        process = _spawn(bin_dir, data, account, directory, port)
        try:
            _wait_ready(process, port, directory)
        except _ExitedEarly as exited:
            failures.append(str(exited))
            if "could not bind" in str(exited) or "could not create any TCP/IP sockets" in str(exited):
                continue
            raise PostgresUnavailable(str(exited)) from exited
        except BaseException:
            _stop(process)
            raise
        return process, port
    raise PostgresUnavailable(f"postgres did not start on {PORT_ATTEMPTS} ports: {' | '.join(failures)}")


def _spawn(
    bin_dir: Path, data: Path, account: _Account, directory: Path, port: int
) -> subprocess.Popen[bytes]:
    settings = {
        # TCP on the loopback address only; the Unix socket in the private directory, not Debian's
        # shared /var/run/postgresql (where another cluster may live).
        "listen_addresses": HOST,
        "port": str(port),
        "unix_socket_directories": str(directory),
        # Throwaway data: durability costs time and buys nothing.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    command = [str(bin_dir / "postgres"), "-D", str(data)]
    for name, value in settings.items():
        command += ["-c", f"{name}={value}"]
    with (directory / LOG).open("ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=_environment(directory),
            cwd=directory,
            # Its own process group: a Ctrl-C at the terminal reaches pytest, which then stops the
            # server in order, rather than the server on its own.
            start_new_session=True,
            user=account.popen_user,
            group=account.popen_group,
            extra_groups=account.popen_extra_groups,
        )


class _ExitedEarly(Exception):
    """postgres exited before it accepted a connection."""


def _wait_ready(process: subprocess.Popen[bytes], port: int, directory: Path) -> None:
    """Return once postgres accepts a connection on 127.0.0.1:`port`; _ExitedEarly if it exits
    first, PostgresUnavailable if it is not ready by START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    last = "no attempt"
    while True:
        code = process.poll()
        if code is not None:
            raise _ExitedEarly(f"postgres exited with code {code}: {_last_words(directory)}")
        try:
            with psycopg.connect(host=HOST, port=port, user=SUPERUSER, dbname="postgres", connect_timeout=2):
                pass
        except psycopg.OperationalError as failed:
            last = str(failed).strip()
        else:
            # Another server that took the port meanwhile would answer too: ours must be alive.
            if process.poll() is None:
                return
            continue
        if time.monotonic() > deadline:
            _stop(process)
            raise PostgresUnavailable(
                f"postgres did not accept connections on {HOST}:{port} within {START_TIMEOUT:.0f} s "
                f"({last}): {_last_words(directory)}"
            )
        time.sleep(POLL_INTERVAL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (PostgreSQL's fast shutdown: ends the sessions, checkpoints, exits) to the server's
    own PID, and wait; if it has not exited by STOP_TIMEOUT, SIGKILL it and, by their PIDs, the
    processes it started (each of which runs in a session of its own, out of reach of a group
    signal), so none outlives it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        children = child_pids(process.pid)
        process.kill()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)


def child_pids(pid: int) -> list[int]:
    """The PIDs of the live processes whose parent is `pid` (from Linux's /proc; none elsewhere)."""
    if not Path("/proc/self/stat").exists():
        return []
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent is the second field after the command name, which may hold spaces and
        # parentheses itself: split after its last closing parenthesis.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def _last_words(directory: Path) -> str:
    try:
        lines = (directory / LOG).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(lines[-5:]) or "no output"
