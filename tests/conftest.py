"""Shared fixtures: a deployed system on the embedded EVM."""

from __future__ import annotations

import pytest

from gridledger.chain.deploy import System
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import START_TIME, Participant, build_demo


@pytest.fixture
def demo_world() -> tuple[EmbeddedChain, System, list[Participant], int]:
    chain = EmbeddedChain(START_TIME)
    system, participants, rejected = build_demo(chain)
    return chain, system, participants, rejected
