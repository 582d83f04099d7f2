"""The throwaway PostgreSQL server of the tests (tests/postgres_server.py) and its fixtures:
a working SQLAlchemy URL, a database of each test's own, 127.0.0.1 only, and nothing left
running or listening once it stops."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, inspect, select

import postgres_server as server_module
from postgres_server import HOST, PostgresServer, PostgresUnavailable, child_pids, postgres_server

needs_postgres = pytest.mark.postgres
# The listening-socket and process checks read Linux's /proc.
needs_proc = pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")

# The databases the parametrised isolation test has seen, whichever of its runs goes first.
_seen_databases: set[str] = set()


def _table(metadata: MetaData) -> Table:
    return Table(
        "meters",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(64), nullable=False),
    )


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return inspect(connection).get_table_names()
    finally:
        engine.dispose()


def _decode_address(hex_address: str) -> str:
    """An address of /proc/net/tcp{,6}: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    ordered = b"".join(raw[index : index + 4][::-1] for index in range(0, len(raw), 4))
    family = socket.AF_INET if len(ordered) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, ordered)


def _listening(pid: int) -> set[tuple[str, int]]:
    """The (address, port) of every listening TCP socket, IPv4 or IPv6, that process `pid` holds."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: TCP_LISTEN
                address, port = local.split(":")
                found.add((_decode_address(address), int(port, 16)))
    return found


def _alive(pid: int) -> bool:
    """Whether process `pid` runs: a zombie (dead, not yet reaped by whoever adopted it) is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@needs_postgres
def test_url_works_with_sqlalchemy(postgres_url: str) -> None:
    assert postgres_url.startswith(f"postgresql+psycopg://postgres@{HOST}:")
    metadata = MetaData()
    meters = _table(metadata)
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            metadata.create_all(connection)
            connection.execute(meters.insert(), [{"name": "meter-1"}, {"name": "meter-2"}])
        with engine.connect() as connection:
            rows = connection.execute(select(meters.c.id, meters.c.name).order_by(meters.c.id)).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(1, "meter-1"), (2, "meter-2")]


@needs_postgres
@pytest.mark.parametrize("run", ["first", "second"])
def test_each_test_gets_a_fresh_database_of_its_own(postgres_url: str, run: str) -> None:
    # Whichever run goes second finds a different, empty database: not the other run's one,
    # nor one holding the other run's table.
    name = postgres_url.rsplit("/", 1)[1]
    assert name not in _seen_databases
    _seen_databases.add(name)
    assert _tables(postgres_url) == []
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            _table(MetaData()).create(connection)
    finally:
        engine.dispose()
    assert _tables(postgres_url) == ["meters"]


@needs_postgres
def test_a_table_in_one_database_is_absent_from_another(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            _table(MetaData()).create(connection)
    finally:
        engine.dispose()
    other = postgres_server.create_database("isolation_probe")
    try:
        assert other != postgres_url
        assert _tables(other) == []
        assert _tables(postgres_url) == ["meters"]
    finally:
        postgres_server.drop_database("isolation_probe")


@needs_postgres
def test_drop_database_ends_connections_left_open(postgres_server: PostgresServer) -> None:
    # The fixture's teardown relies on this: a test that leaves a connection open must not keep
    # its database.
    postgres_server.create_database("left_open")
    left_open = psycopg.connect(postgres_server.url("left_open").replace("+psycopg", ""))
    try:
        assert "left_open" in postgres_server.databases()
        postgres_server.drop_database("left_open")
        assert "left_open" not in postgres_server.databases()
        with pytest.raises(psycopg.OperationalError):
            left_open.execute("SELECT 1")
    finally:
        left_open.close()


@needs_postgres
def test_listens_on_127_0_0_1_only(postgres_server: PostgresServer) -> None:
    with postgres_server.connect() as connection:
        settings = {
            name: connection.execute(f"SHOW {name}").fetchone()
            for name in ("listen_addresses", "port", "unix_socket_directories")
        }
    assert settings == {
        "listen_addresses": ("127.0.0.1",),
        "port": (str(postgres_server.port),),
        "unix_socket_directories": (str(postgres_server.socket_dir),),
    }


@needs_postgres
@needs_proc
def test_no_socket_listens_beyond_127_0_0_1(postgres_server: PostgresServer) -> None:
    assert _listening(postgres_server.pid) == {(HOST, postgres_server.port)}


@needs_postgres
@needs_proc
def test_the_server_does_not_run_as_root(postgres_server: PostgresServer) -> None:
    status = Path(f"/proc/{postgres_server.pid}/status").read_text().splitlines()
    uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
    assert "0" not in uids


@needs_postgres
@needs_proc
def test_leaving_stops_the_server_and_frees_the_port() -> None:
    with postgres_server() as server:
        with server.connect() as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        pid, port, directory = server.pid, server.port, server.directory
        helpers = child_pids(pid)  # checkpointer, WAL writer, ...
        assert helpers
        assert all(_alive(process) for process in [pid, *helpers])
    assert [process for process in [pid, *helpers] if _alive(process)] == []
    assert not directory.exists()
    with pytest.raises(ConnectionRefusedError), socket.create_connection((HOST, port), timeout=2):
        pass


def test_url_takes_plain_database_names_only() -> None:
    server = PostgresServer(host=HOST, port=5432, pid=0, directory=Path("/nonexistent"))
    assert server.url("test_abc") == f"postgresql+psycopg://postgres@{HOST}:5432/test_abc"
    for name in ("", "Upper", "a-b", "a/b", "x;drop", "a" * 64):
        with pytest.raises(ValueError):
            server.url(name)


def test_bin_dir_is_the_newest_debian_version_with_initdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version, has_initdb in (("9", True), ("15", True), ("16", False)):
        bin_dir = tmp_path / version / "bin"
        bin_dir.mkdir(parents=True)
        if has_initdb:
            (bin_dir / "initdb").write_text("#!/bin/sh\n")
            (bin_dir / "initdb").chmod(0o755)
    monkeypatch.setattr(server_module, "DEBIAN_ROOT", tmp_path)
    assert server_module.postgres_bin_dir() == tmp_path / "15" / "bin"


def test_bin_dir_missing_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "DEBIAN_ROOT", tmp_path / "absent")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PostgresUnavailable, match="make system-packages"):
        server_module.postgres_bin_dir()


# A stand-in for a server that ignores the fast-shutdown signal and has a helper process.
_STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
time.sleep(60)
"""


@needs_proc
def test_stop_kills_a_server_that_ignores_sigint_and_its_children(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "STOP_TIMEOUT", 0.5)
    process = subprocess.Popen([sys.executable, "-c", _STUBBORN])
    try:
        deadline = time.monotonic() + 10
        while not (children := child_pids(process.pid)):
            assert time.monotonic() < deadline, "the stand-in never started its child"
            time.sleep(0.02)
        server_module._stop(process)
        assert process.returncode is not None
        deadline = time.monotonic() + 5
        while any(_alive(child) for child in children):
            assert time.monotonic() < deadline, f"children {children} outlived the SIGKILL"
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
