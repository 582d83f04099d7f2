"""Shared fixtures: a deployed system on the embedded EVM; the `mosquitto` marker; a throwaway
PostgreSQL server (the `postgres` marker, `postgres_server`, `postgres_url`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from gridledger.chain.deploy import System
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import START_TIME, Participant, build_demo
from gridledger.errors import BrokerError
from gridledger.iot.broker import mosquitto_binary
from postgres_server import PostgresServer, PostgresUnavailable, postgres_bin_dir
from postgres_server import postgres_server as start_postgres_server


def _mosquitto_missing() -> bool:
    try:
        mosquitto_binary()
    except BrokerError:
        return True
    return False


def _postgres_missing() -> bool:
    try:
        postgres_bin_dir()
    except PostgresUnavailable:
        return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` installs mosquitto; elsewhere the broker's tests are skipped, saying why."""
    marked = [item for item in items if item.get_closest_marker("mosquitto") is not None]
    if marked and _mosquitto_missing():
        skip = pytest.mark.skip(
            reason="mosquitto is not installed (apt install mosquitto, or `make system-packages`)"
        )
        for item in marked:
            item.add_marker(skip)
    # Likewise `make test` installs PostgreSQL; without its binaries the `postgres` tests skip.
    marked = [item for item in items if item.get_closest_marker("postgres") is not None]
    if marked and _postgres_missing():
        skip = pytest.mark.skip(
            reason="PostgreSQL is not installed (apt install postgresql, or `make system-packages`)"
        )
        for item in marked:
            item.add_marker(skip)


@pytest.fixture
def demo_world() -> tuple[EmbeddedChain, System, list[Participant], int]:
    chain = EmbeddedChain(START_TIME)
    system, participants, rejected = build_demo(chain)
    return chain, system, participants, rejected


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server on 127.0.0.1 for the whole session (starting one takes
    about a second); the tests keep apart by database, through `postgres_url`."""
    with start_postgres_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty database of this test's own, dropped afterwards
    (with any connections the test left open)."""
    name = f"test_{uuid.uuid4().hex}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
