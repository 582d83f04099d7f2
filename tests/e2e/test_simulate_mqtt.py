"""`simulate --transport mqtt`: the day's readings go meters → Mosquitto (mutual TLS) → the
gateway's durable outbox → the registry, and the day ends on the chain exactly as the
in-process path ends it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.main import app
from gridledger.errors import SimulationError
from gridledger.iot.sim_transport import MAX_MQTT_METERS
from gridledger.sim.reconcile import reconcile
from gridledger.sim.run import Simulation, SimulationResult
from gridledger.sim.scenario import build_community

SMALL_GRID = "1-LV-rural1--0-sw"


def _day(transport: str) -> tuple[EmbeddedChain, SimulationResult]:
    community = build_community(SMALL_GRID)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    return chain, Simulation(chain, community, transport=transport).run()


@pytest.mark.mosquitto
def test_simulate_over_mqtt_ends_the_day_as_the_in_process_path_does() -> None:
    mqtt_chain, over_mqtt = _day("mqtt")
    _, in_process = _day("in-process")
    assert reconcile(mqtt_chain, over_mqtt) == []
    assert sum(r.readings_rejected for r in over_mqtt.intervals) == 0
    assert [r.minted_wh for r in over_mqtt.intervals] == [r.minted_wh for r in in_process.intervals]
    assert over_mqtt.trades == in_process.trades
    submitted = over_mqtt.gas[("trading", "SmartMeterRegistry.submitReadings")].items
    assert submitted == in_process.gas[("trading", "SmartMeterRegistry.submitReadings")].items > 0


def test_simulate_refuses_an_unknown_transport(tmp_path: Path) -> None:
    ran = CliRunner().invoke(app, ["simulate", "--transport", "carrier-pigeon", "--out", str(tmp_path)])
    assert ran.exit_code == 2
    assert "--transport 'carrier-pigeon': one of in-process, mqtt" in ran.output
    assert len(ran.output.strip().splitlines()) == 1


def test_simulate_over_mqtt_refuses_more_meters_than_connections_it_keeps() -> None:
    community = build_community(SMALL_GRID, prosumers=MAX_MQTT_METERS + 1)
    with pytest.raises(SimulationError, match=f"at most {MAX_MQTT_METERS} meters"):
        Simulation(EmbeddedChain(int(community.interval_starts[0])), community, transport="mqtt")
