"""Zero loss under faults (iot/drill.py): meters publish at thousands of times their normal
rate while the gateway is killed with SIGKILL at each of its named crash points and restarted,
the broker is restarted, and the chain node is stopped for a while. At the end every reading
the meters produced is accepted on-chain exactly once, every meter holds an accepted answer for
each, and the reconciliation of the window is complete.

Rate: 10 meters x one reading each per 0.4 s of wall time is 25 readings a second, where the
same meters in real time (one reading each per 900 s) send 0.011 a second: about 2,250 times
the normal rate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.cli.main import app
from gridledger.iot.drill import FAULT_SCHEDULE, MeterWorld, fault_drill, meter_world

METERS = 10
INTERVALS = 60


pytestmark = [
    pytest.mark.anvil,
    pytest.mark.mosquitto,
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[MeterWorld]:
    with meter_world(tmp_path, meters=METERS, gateways=1) as built:
        yield built


def test_no_reading_is_lost_or_accepted_twice_through_gateway_broker_and_node_faults(
    world: MeterWorld,
) -> None:
    result = fault_drill(world, intervals=INTERVALS, interval_wall_s=0.4)
    assert result.crashes == tuple(point for point, _ in FAULT_SCHEDULE)
    assert result.produced == METERS * INTERVALS
    assert result.lost == 0
    assert result.accepted_twice == 0
    assert result.accepted_once == result.produced
    assert result.meters_answered_accepted == result.produced
    assert result.reconciliation_complete
    report = world.folder / "reconciliation.json"
    reconciled = CliRunner().invoke(
        app,
        [
            "gateway", "reconcile", "--outbox", str(world.folder / "g1-state" / "outbox.sqlite"),
            "--from", str(world.first_interval), "--to", str(world.first_interval + INTERVALS * 900),
            "--out", str(report), "--rpc-url", world.url, "--deployments", str(world.deployments),
        ],
    )  # fmt: skip
    assert reconciled.exit_code == 0, reconciled.output
    assert "complete: every reading accepted exactly once" in reconciled.output
    assert json.loads(report.read_text())["accepted_on_chain"] == METERS * INTERVALS
