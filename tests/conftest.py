"""Shared fixtures: a deployed system on the embedded EVM; the `mosquitto` marker."""

from __future__ import annotations

import pytest

from gridledger.chain.deploy import System
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import START_TIME, Participant, build_demo
from gridledger.errors import BrokerError
from gridledger.iot.broker import mosquitto_binary


def _mosquitto_missing() -> bool:
    try:
        mosquitto_binary()
    except BrokerError:
        return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` installs mosquitto; elsewhere the broker's tests are skipped, saying why."""
    marked = [item for item in items if item.get_closest_marker("mosquitto") is not None]
    if marked and _mosquitto_missing():
        skip = pytest.mark.skip(
            reason="mosquitto is not installed (apt install mosquitto, or `make mosquitto`)"
        )
        for item in marked:
            item.add_marker(skip)


@pytest.fixture
def demo_world() -> tuple[EmbeddedChain, System, list[Participant], int]:
    chain = EmbeddedChain(START_TIME)
    system, participants, rejected = build_demo(chain)
    return chain, system, participants, rejected
