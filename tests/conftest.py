"""Shared fixtures: a deployed system on the embedded EVM; the markers of tests that need a
system package (`mosquitto`, `postgres`, `browser`); a throwaway PostgreSQL server
(`postgres_server`, `postgres_url`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

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


CHROMIUM = Path("/usr/bin/chromium")

# marker → (is its system package missing?, why the marked tests skip). `make test` installs
# each package; elsewhere the marked tests skip, saying why.
SYSTEM_PACKAGE_MARKERS: dict[str, tuple[Callable[[], bool], str]] = {
    "mosquitto": (_mosquitto_missing, "mosquitto is not installed"),
    "postgres": (_postgres_missing, "PostgreSQL is not installed"),
    "browser": (lambda: not CHROMIUM.exists(), "Debian's chromium is not installed"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for marker, (missing, reason) in SYSTEM_PACKAGE_MARKERS.items():
        marked = [item for item in items if item.get_closest_marker(marker) is not None]
        if marked and missing():
            skip = pytest.mark.skip(reason=f"{reason} (apt install it, or `make system-packages`)")
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes empty databases by name, of the kind the test is parametrized with."""
    if request.param == "sqlite":
        yield lambda name: str(tmp_path / f"{name}.sqlite")
        return
    server = request.getfixturevalue("postgres_server")
    made: list[str] = []

    def make(name: str) -> str:
        unique = f"{name}_{uuid.uuid4().hex[:12]}"
        made.append(unique)
        return str(server.create_database(unique))

    yield make
    for name in made:
        server.drop_database(name)
