"""`gridledger simulate` against anvil: the same day as on the embedded EVM, and the CLI's short run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import ClockedChain
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.rpc import ANVIL, RpcChain, anvil_node
from gridledger.cli.main import app
from gridledger.sim.reconcile import reconcile
from gridledger.sim.run import Simulation, SimulationResult
from gridledger.sim.scenario import build_community

pytestmark = [
    pytest.mark.anvil,
    pytest.mark.skipif(not ANVIL.exists(), reason="anvil comes from `npm ci` (node_modules/.bin/anvil)"),
]

SMALL_GRID = "1-LV-rural1--0-sw"


def _holdings(chain: ClockedChain, result: SimulationResult) -> list[tuple[int, ...]]:
    token, market, dollar = (load_artifact(n) for n in ("EnergyToken", "EnergyMarket", "TestStablecoin"))
    system = result.system
    return [
        (
            chain.call(token, system.token, "balanceOf", holder)[0],
            *chain.call(market, system.market, "accountOf", holder),
            chain.call(dollar, system.payment_token, "balanceOf", holder)[0],
        )
        for holder in [*result.traders, result.utility, result.dso]
    ]


def test_simulate_embedded_and_anvil_agree_on_balances() -> None:
    community = build_community(SMALL_GRID, seed=4)
    start = int(community.interval_starts[0])
    embedded = EmbeddedChain(start)
    on_embedded = Simulation(embedded, community, seed=4).run()
    with anvil_node(start - 3_600) as url:
        rpc = RpcChain(url)
        on_anvil = Simulation(rpc, community, seed=4).run()
        assert reconcile(rpc, on_anvil) == []
        assert _holdings(rpc, on_anvil) == _holdings(embedded, on_embedded)
    # Signatures bind the chain id, so order hashes (and the fills' order) differ; the rest agrees.
    assert on_anvil.intervals == on_embedded.intervals
    assert sorted(
        (t.interval_start, t.trader, t.side, t.filled_wh, t.payment_units) for t in on_anvil.trades
    ) == sorted(
        (t.interval_start, t.trader, t.side, t.filled_wh, t.payment_units) for t in on_embedded.trades
    )
    # Receipt gas on anvil is what a user pays; the embedded EVM's warm-state gas is lower.
    batch = ("trading", "SmartMeterRegistry.submitReadings")
    assert on_anvil.gas[batch].gas > on_embedded.gas[batch].gas


def test_simulate_cli_short_run_on_anvil(tmp_path: Path) -> None:
    start = build_community(SMALL_GRID).interval_starts[0]
    with anvil_node(int(start) - 3_600) as url:
        ran = CliRunner().invoke(
            app, ["simulate", "--grid", SMALL_GRID, "--rpc-url", url, "--out", str(tmp_path)]
        )
        assert ran.exit_code == 0, ran.output
        # The carbon report from the node's events is the one from the events the run saved.
        saved = json.loads((tmp_path / "carbon-events.json").read_text())
        days = ["report", "carbon", "--from", "2025-06-21", "--to", "2025-06-22", "--format", "json"]
        from_node = CliRunner().invoke(
            app,
            [
                *days,
                *("--rpc-url", url, "--carbon", saved["carbon"]),
                *("--pool", saved["pools"][0], "--exchange", saved["exchanges"][0]),
            ],
        )
    from_file = CliRunner().invoke(app, [*days, "--events", str(tmp_path / "carbon-events.json")])
    assert from_node.exit_code == 0, from_node.output
    assert json.loads(from_node.stdout) == json.loads(from_file.stdout)
    assert json.loads(from_file.stdout)["totals"]["issued_g"] > 0
    assert "reconciled" in ran.output
    assert (tmp_path / "report.html").exists()
    assert "receipt" in (tmp_path / "gas.csv").read_text()


def test_simulate_cli_refuses_a_node_whose_time_is_past_the_start(tmp_path: Path) -> None:
    with anvil_node(2_000_000_000) as url:
        ran = CliRunner().invoke(
            app, ["simulate", "--grid", SMALL_GRID, "--rpc-url", url, "--out", str(tmp_path)]
        )
    assert ran.exit_code == 2
    assert "already past" in ran.output
    assert not (tmp_path / "report.html").exists()
