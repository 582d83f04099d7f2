"""`simulate --index`: the run's chain in the indexer's tables, agreeing with the run; a run
whose record differs from its chain is caught."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.main import app
from gridledger.indexer.db import open_database
from gridledger.indexer.schema import market_fills
from gridledger.sim.indexed import index_run
from gridledger.sim.report import write_report
from gridledger.sim.run import Simulation, SimulationResult
from gridledger.sim.scenario import build_community


@pytest.fixture(scope="module")
def run() -> tuple[Simulation, SimulationResult]:
    community = build_community(prosumers=12)
    simulation = Simulation(EmbeddedChain(int(community.interval_starts[0])), community, seed=3)
    return simulation, simulation.run()


def test_indexRun_theIndexHoldsTheRunsTrades(
    run: tuple[Simulation, SimulationResult], tmp_path: Path
) -> None:
    simulation, result = run
    db = str(tmp_path / "index.sqlite")
    indexed = index_run(simulation.chain, result, db)
    assert indexed.findings == []
    assert indexed.trades == result.trades  # the same fills, in the same (chain) order
    assert sum(e.minted_wh for e in indexed.energy.values()) == sum(r.minted_wh for r in result.intervals)
    with open_database(db).connect() as connection:
        assert connection.execute(select(func.count()).select_from(market_fills)).scalar_one() == len(
            result.trades
        )
    assert result.trades


def test_indexRun_aRunRecordMissingATrade_isFound(
    run: tuple[Simulation, SimulationResult], tmp_path: Path
) -> None:
    simulation, result = run
    short = dataclasses.replace(result, trades=result.trades[1:])
    findings = index_run(simulation.chain, short, str(tmp_path / "index.sqlite")).findings
    assert any("fills" in finding for finding in findings)


def test_simulate_withIndex_reportsTheIndexsFillsAndReadings(
    run: tuple[Simulation, SimulationResult], tmp_path: Path
) -> None:
    simulation, result = run
    indexed = index_run(simulation.chain, result, str(tmp_path / "index.sqlite"))
    # A report given the index shows its rows, not the run's own record of them.
    halved = [dataclasses.replace(t, filled_wh=t.filled_wh // 2) for t in indexed.trades]
    noon = result.intervals[48].interval_start
    energy = {**indexed.energy, noon: dataclasses.replace(indexed.energy[noon], minted_wh=1)}
    write_report(result, tmp_path / "out", [], dataclasses.replace(indexed, trades=halved, energy=energy))
    shown = pd.read_csv(tmp_path / "out" / "trades.csv")
    assert shown["filled_wh"].sum() == sum(t.filled_wh for t in halved)
    assert sum(t.filled_wh for t in halved) != sum(t.filled_wh for t in result.trades)
    intervals = pd.read_csv(tmp_path / "out" / "intervals.csv").set_index("interval_start")
    assert intervals.loc[noon, "minted_wh"] == 1 != result.intervals[48].minted_wh


def test_indexRun_aRunRecordMissingAReading_isFound(
    run: tuple[Simulation, SimulationResult], tmp_path: Path
) -> None:
    simulation, result = run
    noon = result.intervals[48]
    changed = dataclasses.replace(noon, readings_accepted=noon.readings_accepted - 1)
    short = dataclasses.replace(result, intervals=[*result.intervals[:48], changed, *result.intervals[49:]])
    findings = index_run(simulation.chain, short, str(tmp_path / "index.sqlite")).findings
    assert any(f"interval {changed.interval_start}" in finding for finding in findings)


def test_simulate_badIndexUrl_refusedBeforeTheRun(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--prosumers", "4", "--out", str(tmp_path / "out"), "--index", "mysql://x/y"]
    )
    assert result.exit_code == 2 and "postgresql" in result.output and "Traceback" not in result.output
