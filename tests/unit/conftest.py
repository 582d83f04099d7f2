"""The demo world shared by the unit tests that act on a deployment: deployed once per module,
each test isolated by a chain snapshot. A module that needs more set up defines its own
`deployed`; `world` then isolates that one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hardening_world import World


@pytest.fixture(scope="module")
def deployed() -> World:
    return World.deploy()


@pytest.fixture
def world(deployed: World) -> Iterator[World]:
    with deployed.isolated() as isolated:
        yield isolated
