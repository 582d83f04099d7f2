"""A whole simulated day on the embedded EVM reconciles with chain state and with SimBench."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gridledger.chain.abi import load_artifact
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.main import app
from gridledger.market.orders import Side
from gridledger.sim.reconcile import reconcile
from gridledger.sim.run import Simulation, SimulationResult
from gridledger.sim.scenario import build_community, register_deltas

SMALL_GRID = "1-LV-rural1--0-sw"  # 13 households, 4 with PV: more PV than load on a summer day
SEMI_URBAN = "1-LV-rural2--0-sw"  # 99 households, 8 with PV: less PV than load


def _run(grid: str, seed: int = 0, prosumers: int | None = None) -> tuple[EmbeddedChain, SimulationResult]:
    community = build_community(grid, prosumers=prosumers, seed=seed)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    return chain, Simulation(chain, community, seed=seed).run()


@pytest.fixture(scope="module")
def surplus_day() -> tuple[EmbeddedChain, SimulationResult]:
    return _run(SMALL_GRID)


@pytest.fixture(scope="module")
def deficit_day() -> tuple[EmbeddedChain, SimulationResult]:
    return _run(SEMI_URBAN, prosumers=60)


@pytest.mark.parametrize("day", ["surplus_day", "deficit_day"])
def test_run_reconciles_with_chain_state(day: str, request: pytest.FixtureRequest) -> None:
    chain, result = request.getfixturevalue(day)
    assert reconcile(chain, result) == []
    assert sum(r.readings_rejected for r in result.intervals) == 0
    assert len(result.trades) > 0


@pytest.mark.parametrize("day", ["surplus_day", "deficit_day"])
def test_energy_minted_equals_pv_in_the_profiles(day: str, request: pytest.FixtureRequest) -> None:
    _, result = request.getfixturevalue(day)
    minted = sum(r.minted_wh for r in result.intervals)
    pv_meters = sum(p.has_pv for p in result.community.participants)
    assert abs(minted - result.community.pv_wh.sum()) <= 0.5 * pv_meters
    assert minted == int(result.minted_wh.sum())


@pytest.mark.parametrize("day", ["surplus_day", "deficit_day"])
def test_community_covers_exactly_what_physics_allows(day: str, request: pytest.FixtureRequest) -> None:
    """Consumption covered by community PV in each interval is min(generation, consumption) of
    the meters: every household bid above the feed-in tariff is served before the utility."""
    _, result = request.getfixturevalue(day)
    generation = register_deltas(result.community.export_register_wh()).sum(axis=0)
    consumption = register_deltas(result.community.import_register_wh()).sum(axis=0)
    covered = np.array([r.burned_by_consumption_wh for r in result.intervals])
    np.testing.assert_array_equal(covered, np.minimum(generation, consumption))
    exported = np.array([r.exported_to_utility_wh for r in result.intervals])
    np.testing.assert_array_equal(exported, generation - np.minimum(generation, consumption))


def test_surplus_goes_to_the_utility_at_the_feed_in_tariff(
    surplus_day: tuple[EmbeddedChain, SimulationResult],
) -> None:
    _, result = surplus_day
    oversupplied = [r for r in result.intervals if r.exported_to_utility_wh > 0]
    assert oversupplied
    assert {r.clearing_price_per_kwh for r in oversupplied} == {result.tariffs.feed_in_per_kwh}


def test_scarce_supply_clears_above_the_feed_in_tariff(
    deficit_day: tuple[EmbeddedChain, SimulationResult],
) -> None:
    _, result = deficit_day
    traded = [r for r in result.intervals if r.volume_wh > 0]
    assert traded and all(r.exported_to_utility_wh == 0 for r in traded)
    assert all(r.clearing_price_per_kwh > result.tariffs.feed_in_per_kwh for r in traded)  # type: ignore[operator]


def test_households_end_with_no_energy_and_sellers_with_their_proceeds(
    surplus_day: tuple[EmbeddedChain, SimulationResult],
) -> None:
    chain, result = surplus_day
    token, market = load_artifact("EnergyToken"), load_artifact("EnergyMarket")
    for trader in result.traders:
        assert chain.call(token, result.system.token, "balanceOf", trader)[0] == 0
        assert chain.call(market, result.system.market, "accountOf", trader)[1] == 0
    received = {t.trader: 0 for t in result.trades}
    for t in result.trades:
        if t.side == Side.SELL:
            received[t.trader] += t.payment_units
    assert sum(received.values()) > 0


def test_same_seed_gives_the_same_run_and_another_seed_other_prices() -> None:
    _, first = _run(SMALL_GRID, seed=5, prosumers=20)
    _, again = _run(SMALL_GRID, seed=5, prosumers=20)
    _, other = _run(SMALL_GRID, seed=6, prosumers=20)
    assert first.intervals == again.intervals
    assert first.trades == again.trades
    assert [t.payment_units for t in first.trades] != [t.payment_units for t in other.trades]


def test_reconcile_finds_a_trade_missing_from_the_chain(
    surplus_day: tuple[EmbeddedChain, SimulationResult],
) -> None:
    chain, result = surplus_day
    forged = dataclasses.replace(result.trades[0], filled_wh=result.trades[0].filled_wh + 1)
    tampered = dataclasses.replace(result, trades=[forged, *result.trades[1:]])
    findings = reconcile(chain, tampered)
    assert any("trade not on chain" in f for f in findings)
    assert any("chain fill missing from the run" in f for f in findings)


def test_reconcile_finds_minting_the_run_did_not_record(
    surplus_day: tuple[EmbeddedChain, SimulationResult],
) -> None:
    chain, result = surplus_day
    records = [dataclasses.replace(r) for r in result.intervals]
    records[50].minted_wh += 1
    findings = reconcile(chain, dataclasses.replace(result, intervals=records))
    assert any("the run recorded" in f for f in findings)


def test_reconcile_finds_dollars_that_left_the_system(
    surplus_day: tuple[EmbeddedChain, SimulationResult],
) -> None:
    chain, result = surplus_day
    findings = reconcile(chain, dataclasses.replace(result, dollars_minted=result.dollars_minted + 1))
    assert any("dollar units were minted" in f for f in findings)


def test_simulate_cli_writes_the_report_and_reconciles(tmp_path: Path) -> None:
    ran = CliRunner().invoke(app, ["simulate", "--grid", SMALL_GRID, "--seed", "2", "--out", str(tmp_path)])
    assert ran.exit_code == 0, ran.output
    assert "reconciled" in ran.output
    assert "Self-sufficiency" in ran.output
    for name in (
        "report.html",
        "intervals.csv",
        "trades.csv",
        "participants.csv",
        "gas.csv",
        "simulation.sqlite",
    ):
        assert (tmp_path / name).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "21.06.2025"], "must be a date"),
        (["--grid", "1-LV-nowhere--0-sw"], "could not be loaded"),
        (["--start", "2025-12-31", "--days", "3"], "past the end"),
    ],
)
def test_simulate_cli_rejects_bad_options_without_writing(
    args: list[str], message: str, tmp_path: Path
) -> None:
    ran = CliRunner().invoke(app, ["simulate", *args, "--out", str(tmp_path / "out")])
    assert ran.exit_code == 2
    assert message in ran.output
    assert not (tmp_path / "out").exists()
