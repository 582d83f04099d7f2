"""The capacity model: what one chain carries of meters, orders and certificates, from bench gas."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.chain.abi import load_artifact
from gridledger.chain.capacity import (
    CERTIFICATE_GAS,
    ETHEREUM_L1,
    MATCHED_ORDER_GAS,
    MAX_BATCH_READINGS,
    READING_GAS,
    BenchFigures,
    ChainThroughput,
    capacity,
    l2,
)
from gridledger.chain.deploy import System
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.main import app
from gridledger.errors import InputError

BENCH_OUTPUT = [
    "BENCH gas.meter.per_reading_batch100 10000 gas",
    "BENCH gas.meter.single_reading 40000 gas",
    "BENCH gas.market.per_matched_order_batch100 15000 gas",
    "BENCH gas.carbon.issue 120000 gas",
    "BENCH sim.prosumer_intervals_per_s 1600 prosumer-intervals/s",
]


def test_parse_readsTheThreeFiguresAndIgnoresTheRest() -> None:
    figures = BenchFigures.parse(BENCH_OUTPUT)
    assert (figures.reading_gas, figures.matched_order_gas, figures.certificate_gas) == (
        10_000,
        15_000,
        120_000,
    )


@pytest.mark.parametrize("missing", [READING_GAS, MATCHED_ORDER_GAS, CERTIFICATE_GAS])
def test_parse_missingLine_raisesInputErrorNamingIt(missing: str) -> None:
    with pytest.raises(InputError, match=missing.replace(".", r"\.")):
        BenchFigures.parse([line for line in BENCH_OUTPUT if missing not in line])


@pytest.mark.parametrize("value", ["12.5", "abc", "0", "-3"])
def test_parse_notAPositiveWholeGasFigure_raisesInputError(value: str) -> None:
    lines = [*BENCH_OUTPUT[1:], f"BENCH {READING_GAS} {value} gas"]
    with pytest.raises(InputError, match=READING_GAS.replace(".", r"\.")):
        BenchFigures.parse(lines)


def test_capacity_l1_carriesItsGasPerIntervalOverTheGasPerReading() -> None:
    # 60M gas every 12 s is 4.5G gas per 15-minute interval.
    result = capacity(ETHEREUM_L1, BenchFigures(10_000, 15_000, 120_000), gas_price_gwei=2.0)
    assert result.meters == 4_500_000_000 // 10_000
    assert result.matched_orders_per_interval == 4_500_000_000 // 15_000
    assert result.certificates_per_day == 5_000_000 * 86_400 // 120_000
    assert result.meter_gas_per_day == 96 * 10_000
    assert result.meter_cost_per_day_gwei == 96 * 10_000 * 2.0


def test_capacity_readingsPerTransaction_boundByTheCapAndTheRegistry() -> None:
    dear, cheap = BenchFigures(200_000, 1, 1), BenchFigures(10_000, 1, 1)
    assert capacity(ETHEREUM_L1, dear, 1.0).readings_per_transaction == (1 << 24) // 200_000
    assert capacity(ETHEREUM_L1, cheap, 1.0).readings_per_transaction == MAX_BATCH_READINGS


def test_capacity_doublingTheL2Rate_doublesWhatItCarries() -> None:
    figures = BenchFigures(12_345, 6_789, 100_001)
    slow, fast = capacity(l2(10_000_000), figures, 0.01), capacity(l2(20_000_000), figures, 0.01)
    assert fast.meters in (2 * slow.meters, 2 * slow.meters + 1)
    assert fast.meter_cost_per_day_gwei == slow.meter_cost_per_day_gwei


@pytest.mark.parametrize("price", [-1.0, float("inf"), float("nan")])
def test_capacity_badGasPrice_raisesInputError(price: float) -> None:
    with pytest.raises(InputError, match="gas price"):
        capacity(ETHEREUM_L1, BenchFigures(1, 1, 1), price)


def test_chainThroughput_nonPositive_raisesInputError() -> None:
    with pytest.raises(InputError, match="positive"):
        ChainThroughput("broken", 0, 12.0, 1 << 24)


def test_maxBatchReadings_isTheDeployedRegistrysBound(
    demo_world: tuple[EmbeddedChain, System, list[object], int],
) -> None:
    chain, system, _, _ = demo_world
    (bound,) = chain.call(load_artifact("SmartMeterRegistry"), system.registry, "MAX_BATCH_READINGS")
    assert bound == MAX_BATCH_READINGS


def test_capacityCommand_printsBothChains(tmp_path: Path) -> None:
    bench = tmp_path / "bench.txt"
    bench.write_text("\n".join(BENCH_OUTPUT) + "\n")
    ran = CliRunner().invoke(app, ["capacity", "--bench", str(bench), "--format", "markdown"])
    assert ran.exit_code == 0, ran.output
    assert "| Ethereum L1 | 450,000 |" in ran.output
    assert "| L2 at 20 Mgas/s |" in ran.output


@pytest.mark.parametrize("content", [None, "no bench lines here\n", b"\xff\xfe"])
def test_capacityCommand_unusableBenchOutput_oneLineExit2(
    tmp_path: Path, content: str | bytes | None
) -> None:
    bench = tmp_path / "bench.txt"
    if isinstance(content, bytes):
        bench.write_bytes(content)
    elif content is not None:
        bench.write_text(content)
    ran = CliRunner().invoke(app, ["capacity", "--bench", str(bench)])
    assert ran.exit_code == 2
    assert ran.exception is None or isinstance(ran.exception, SystemExit)
    assert len(ran.output.strip().splitlines()) == 1


def test_scaleDoc_tableIsTheCommandsOutputForTheReadmesBenchFigures(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    bench = tmp_path / "bench.txt"
    bench.write_text("\n".join(line for line in readme.splitlines() if line.startswith("BENCH ")) + "\n")
    ran = CliRunner().invoke(app, ["capacity", "--bench", str(bench), "--format", "markdown"])
    assert ran.exit_code == 0, ran.output
    assert ran.output.strip() in (root / "docs" / "scale.md").read_text(encoding="utf-8")
