"""Zero loss under faults: meters publish at thousands of times their normal rate while the
gateway is killed with SIGKILL at each of its named crash points and restarted, the broker is
restarted, and the chain node is stopped for a while. At the end every reading the meters
produced is accepted on-chain exactly once, every meter holds an answer for each, and
`gridledger gateway reconcile` says the window is complete.

Rate: 10 meters x one reading each per 0.4 s of wall time is 25 readings a second, where the
same meters in real time (one reading each per 900 s) send 0.011 a second: about 2,250 times
the normal rate.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from iot_world import IotWorld, iot_world, wait_until
from typer.testing import CliRunner

from gridledger.cli.main import app
from gridledger.iot.broker import mosquitto_binary
from gridledger.iot.failpoints import ENVIRONMENT
from gridledger.iot.meters import ReadingStore
from gridledger.ops.keys import Keystore

GRIDLEDGER = Path(sys.executable).parent / "gridledger"
METERS = 10
INTERVALS = 60
INTERVAL_WALL_S = 0.4
PROCESS_WAIT_S = 180.0
PASSWORD = "gateway test password"

# The gateway crash points, in the order the test visits them, each with the count of times
# it is passed before the kill: submission points first, while the meters still publish.
FAULT_SCHEDULE = (
    ("mid-batch", 1),  # a batch's transaction broadcast, its receipt not read yet
    ("after-submit", 1),  # the batch mined, its outcome not recorded in the outbox
    ("before-ack", 1),  # outcomes recorded, the devices not answered
    ("before-outbox-write", 1),  # readings received and verified, nothing stored, no PUBACK
    ("after-outbox-write", 2),  # readings stored, the broker not acknowledged
)

pytestmark = [pytest.mark.anvil]


def _has_mosquitto() -> bool:
    try:
        mosquitto_binary()
    except Exception:
        return False
    return True


pytestmark.append(pytest.mark.skipif(not _has_mosquitto(), reason="mosquitto is not installed"))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[IotWorld]:
    with iot_world(tmp_path, meters=METERS, gateways=1) as built:
        keystore = tmp_path / "keystore"
        Keystore(keystore).import_key("gateway", built.gateway_accounts[0].key.hex(), PASSWORD)
        (tmp_path / "password").write_text(PASSWORD + "\n")
        yield built


def _start(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this test started, by its own PID, if it still runs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_no_reading_is_lost_or_accepted_twice_through_gateway_broker_and_node_faults(world: IotWorld) -> None:
    tmp = world.tmp
    common = ["--rpc-url", world.url, "--deployments", str(tmp / "deployments")]
    gateway_command = [
        str(GRIDLEDGER), "gateway", "run", "--name", "g1", "--pki", str(world.pki),
        "--broker-port", str(world.broker.port), "--state", str(tmp / "g1-state"),
        "--keystore", str(tmp / "keystore"), "--password-file", str(tmp / "password"),
        "--reorder-window-s", "5", *common,
    ]  # fmt: skip

    def meter_command(intervals: int) -> list[str]:
        return [
            str(GRIDLEDGER), "meter", "run", "--all", "--pki", str(world.pki),
            "--broker-port", str(world.broker.port), "--store", str(tmp / "meters.sqlite"),
            "--start", str(world.first_interval), "--intervals", str(intervals),
            "--interval-seconds", str(INTERVAL_WALL_S), "--resend-after-s", "5", *common,
        ]  # fmt: skip

    gateway_log, meter_log = tmp / "gateway.log", tmp / "meters.log"

    def settled_batches() -> int:
        return gateway_log.read_text().count("batch settled")

    started: list[subprocess.Popen[bytes]] = []
    try:
        # Part 1: the gateway killed at each crash point while the meters send their first half.
        meters = _start(meter_command(INTERVALS // 2), meter_log)
        started.append(meters)
        for point, count in FAULT_SCHEDULE:
            crashing = _start(gateway_command, gateway_log, {**os.environ, ENVIRONMENT: f"{point}={count}"})
            started.append(crashing)
            crashing.wait(timeout=PROCESS_WAIT_S)
            assert crashing.returncode == -signal.SIGKILL, f"{point}: {gateway_log.read_text()}"
        gateway = _start(gateway_command, gateway_log)
        started.append(gateway)
        assert meters.wait(timeout=PROCESS_WAIT_S) == 0, meter_log.read_text()

        # Part 2: the broker restarted, then the node stopped, while the meters send the rest.
        meters = _start(meter_command(INTERVALS), meter_log)
        started.append(meters)
        before = settled_batches()
        wait_until(lambda: settled_batches() > before, "the second half flowing", PROCESS_WAIT_S)
        world.broker.restart()
        assert world.restart_node is not None
        world.restart_node(
            lambda: wait_until(
                lambda: "submission failed" in gateway_log.read_text(), "the gateway to meet the node down"
            )
        )
        assert meters.wait(timeout=PROCESS_WAIT_S) == 0, meter_log.read_text()
        _stop(gateway)
        assert gateway.returncode == 0, gateway_log.read_text()
    finally:
        for process in started:
            _stop(process)

    expected = {(meter.device_id, sequence) for meter in world.meters for sequence in range(1, INTERVALS + 1)}
    accepted = world.accepted_on_chain()
    assert len(accepted) == len(set(accepted)), "a reading accepted twice"
    assert set(accepted) == expected
    with ReadingStore(tmp / "meters.sqlite") as store:
        for meter in world.meters:
            answers = store.answers(meter.name)
            assert sorted(a.sequence for a in answers) == list(range(1, INTERVALS + 1))
            assert {a.status for a in answers} == {"accepted"}, answers
        assert store.pending_count() == 0
    report = tmp / "reconciliation.json"
    reconciled = CliRunner().invoke(
        app,
        [
            "gateway", "reconcile", "--outbox", str(tmp / "g1-state" / "outbox.sqlite"),
            "--from", str(world.first_interval), "--to", str(world.first_interval + INTERVALS * 900),
            "--out", str(report), *common,
        ],
    )  # fmt: skip
    assert reconciled.exit_code == 0, reconciled.output
    assert "complete: every reading accepted exactly once" in reconciled.output
