"""The report's files hold the run's numbers: one row per interval and fill, totals that add up,
tables that re-running replaces, and a page that survives a run without trades; with a modelled
grid also its power flow per interval, and without one no grid files, not even stale ones."""

from __future__ import annotations

import csv
import html
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from gridledger.chain.embedded import EmbeddedChain
from gridledger.errors import OutputError
from gridledger.grid.network import GridNetwork
from gridledger.market.orders import Side
from gridledger.sim.report import kpis, write_report
from gridledger.sim.run import Simulation, SimulationResult
from gridledger.sim.scenario import build_community, with_pv_scaled

TABLES = ("intervals", "trades", "participants", "gas", "carbon", "retirements")
PRICE_LABEL = "Average clearing price (volume-weighted)"
PEAK_LABEL = "Intervals with a zone in peak"
IMAGE = '<img src="data:image/png;base64,'
GRID_HEADING = "<h2>Grid</h2>"
# A small grid with five times its PV: congested on purpose, so the envelope curtails and
# zones go into peak.
GRID_CODE = "1-LV-rural1--0-sw"


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    community = build_community(prosumers=30)
    return Simulation(EmbeddedChain(int(community.interval_starts[0])), community, seed=0).run()


@pytest.fixture(scope="module")
def report_dir(result: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("report")
    write_report(result, out_dir, reconciliation=[])
    return out_dir


@pytest.fixture(scope="module")
def grid_result() -> SimulationResult:
    community = with_pv_scaled(build_community(GRID_CODE), 5)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    return Simulation(chain, community, network=GridNetwork(GRID_CODE)).run()


@pytest.fixture(scope="module")
def grid_report_dir(grid_result: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("grid-report")
    write_report(grid_result, out_dir, reconciliation=[])
    return out_dir


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _sqlite_counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as connection:
        return {t: connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def _sqlite_tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _no_trades(result: SimulationResult) -> SimulationResult:
    intervals = [
        replace(r, volume_wh=0, exported_to_utility_wh=0, filled_orders=0, clearing_price_per_kwh=None)
        for r in result.intervals
    ]
    return replace(result, trades=[], intervals=intervals)


def test_write_report_embedsFivePlotsAndEveryKpi(result: SimulationResult, report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert page.count(IMAGE) == 5
    assert result.community.grid_code in page
    for label, value in kpis(result):
        assert html.escape(label) in page
        assert html.escape(value) in page
    assert "reconciles with the run and SimBench" in page
    assert "http://" not in page and "https://" not in page  # self-contained
    assert len(list(report_dir.glob("*.png"))) == 5


def test_write_report_returnsThePage(result: SimulationResult, tmp_path: Path) -> None:
    page = write_report(result, tmp_path / "nested" / "out")
    assert page == tmp_path / "nested" / "out" / "report.html"
    assert page.is_file()
    assert "not reconciled" in page.read_text(encoding="utf-8")


def test_write_report_listsReconciliationFindings(result: SimulationResult, tmp_path: Path) -> None:
    findings = ["token supply 5 Wh above minted minus burned", "escrow <mismatch>"]
    page = write_report(result, tmp_path, reconciliation=findings).read_text(encoding="utf-8")
    assert "2 reconciliation finding" in page
    assert html.escape(findings[1]) in page
    assert "reconciles with the run and SimBench" not in page


def test_write_report_intervalsTotalsMatchTheRun(result: SimulationResult, report_dir: Path) -> None:
    rows = _rows(report_dir / "intervals.csv")
    assert len(rows) == len(result.intervals) == result.community.intervals
    for column in ("minted_wh", "volume_wh", "burned_by_consumption_wh", "peer_to_peer_wh"):
        expected = sum(getattr(r, column) for r in result.intervals)
        assert sum(int(row[column]) for row in rows) == expected, column
    assert sum(int(row["minted_wh"]) for row in rows) == int(result.minted_wh.sum())
    assert rows[0]["time_utc"].endswith("Z")
    assert sum(row["clearing_price_per_kwh"] != "" for row in rows) == sum(
        r.clearing_price_per_kwh is not None for r in result.intervals
    )


def test_write_report_tradesOneRowPerFill(result: SimulationResult, report_dir: Path) -> None:
    rows = _rows(report_dir / "trades.csv")
    assert result.trades, "the fixture run should trade"
    assert len(rows) == len(result.trades)
    assert sum(int(row["filled_wh"]) for row in rows) == sum(t.filled_wh for t in result.trades)
    assert Counter(row["side"] for row in rows) == Counter(t.side.name for t in result.trades)
    assert rows[0]["order_hash"] == "0x" + result.trades[0].order_hash.hex()
    known = {p.name for p in result.community.participants} | {"utility"}
    assert {row["participant"] for row in rows} <= known


def test_write_report_participantsSumTheirTrades(result: SimulationResult, report_dir: Path) -> None:
    sold: Counter[str] = Counter()
    bought: Counter[str] = Counter()
    received: Counter[str] = Counter()
    for t in result.trades:
        if t.side == Side.SELL:
            sold[t.trader] += t.filled_wh
            received[t.trader] += t.payment_units
        else:
            bought[t.trader] += t.filled_wh
    rows = _rows(report_dir / "participants.csv")
    assert len(rows) == len(result.traders)
    for row, address in zip(rows, result.traders, strict=True):
        trader = address.lower()
        assert row["address"] == address
        assert int(row["sold_wh"]) == sold[trader]
        assert int(row["bought_wh"]) == bought[trader]
        assert int(row["received_units"]) == received[trader]
    assert any(int(row["bought_wh"]) for row in rows) and any(int(row["sold_wh"]) for row in rows)


def test_write_report_sqliteMatchesCsv(report_dir: Path) -> None:
    counts = _sqlite_counts(report_dir / "simulation.sqlite")
    for table in TABLES:
        assert counts[table] == len(_rows(report_dir / f"{table}.csv")), table


def test_write_report_rerunReplacesTables(result: SimulationResult, tmp_path: Path) -> None:
    write_report(result, tmp_path)
    first = _sqlite_counts(tmp_path / "simulation.sqlite")
    write_report(result, tmp_path)
    assert _sqlite_counts(tmp_path / "simulation.sqlite") == first
    assert first["trades"] == len(result.trades)


def test_kpis_selfSufficiencyIsBurnedOverMetered(result: SimulationResult) -> None:
    values = dict(kpis(result))
    burned = int(result.burned_by_consumption_wh.sum())
    metered = sum(r.metered_consumption_wh for r in result.intervals)
    label = next(k for k in values if k.startswith("Self-sufficiency"))
    assert float(values[label].rstrip("%")) == pytest.approx(100 * burned / metered, abs=0.05)
    assert values[PRICE_LABEL].startswith("$")


def test_kpis_noTradesShowsDash(result: SimulationResult) -> None:
    values = dict(kpis(_no_trades(result)))
    assert values[PRICE_LABEL] == "—"
    assert values["Traded peer-to-peer"] == "0.0 kWh"


def test_write_report_noTrades(result: SimulationResult, tmp_path: Path) -> None:
    page = write_report(_no_trades(result), tmp_path).read_text(encoding="utf-8")
    assert page.count(IMAGE) == 5
    assert len(_rows(tmp_path / "trades.csv")) == 0
    assert _sqlite_counts(tmp_path / "simulation.sqlite")["trades"] == 0


# ----------------------------------------------------------------------------- the grid
def test_write_report_gridOneRowPerIntervalAndCurtailmentAdds(
    grid_result: SimulationResult, grid_report_dir: Path
) -> None:
    grid_rows = _rows(grid_report_dir / "grid.csv")
    interval_rows = _rows(grid_report_dir / "intervals.csv")
    assert len(grid_rows) == len(interval_rows) == grid_result.community.intervals
    curtailed_wh = sum(int(row["curtailed_wh"]) for row in grid_rows)
    assert curtailed_wh > 0, "the congested fixture should curtail"
    assert curtailed_wh == sum(int(row["curtailed_wh"]) for row in interval_rows)
    assert curtailed_wh == sum(r.curtailed_wh for r in grid_result.intervals)
    assert [row["zones_in_peak"] for row in grid_rows] == [
        ";".join(map(str, r.zones_in_peak)) for r in grid_result.grid
    ]
    assert grid_rows[0]["time_utc"] == interval_rows[0]["time_utc"]
    with closing(sqlite3.connect(grid_report_dir / "simulation.sqlite")) as connection:
        assert connection.execute("SELECT COUNT(*) FROM grid").fetchone()[0] == len(grid_rows)
        bus_rows = connection.execute("SELECT COUNT(*) FROM bus_quality").fetchone()[0]
    assert bus_rows == len(_rows(grid_report_dir / "bus_quality.csv")) == len(grid_result.grid_bus_quality)


def test_write_report_participantsCarryTheirTradeLosses(
    grid_result: SimulationResult, grid_report_dir: Path
) -> None:
    rows = _rows(grid_report_dir / "participants.csv")
    assert grid_result.seller_losses_wh, "the fixture's sellers should cause losses"
    for i, row in enumerate(rows):
        assert float(row["trade_losses_wh"]) == pytest.approx(grid_result.seller_losses_wh.get(i, 0.0))


def test_write_report_gridPlotAndSection(grid_result: SimulationResult, grid_report_dir: Path) -> None:
    page = (grid_report_dir / "report.html").read_text(encoding="utf-8")
    assert page.count(IMAGE) == 6
    assert (grid_report_dir / "grid.png").is_file()
    # The grid section follows the community-energy plot.
    assert page.index("<h2>Community energy</h2>") < page.index(GRID_HEADING) < page.index("Energy tokens")
    for name in grid_result.grid_zone_names.values():
        assert f"<td>{html.escape(name)}</td>" in page
    for label, value in kpis(grid_result):
        assert html.escape(label) in page
        assert html.escape(value) in page
    assert "<a href=grid.csv>" in page


def test_kpis_gridCountsPeakIntervals(grid_result: SimulationResult) -> None:
    values = dict(kpis(grid_result))
    in_peak = sum(bool(r.zones_in_peak) for r in grid_result.grid)
    assert in_peak > 0, "the congested fixture should go into peak"
    assert int(values[PEAK_LABEL].split()[0].replace(",", "")) == in_peak
    peak_zones = {z for r in grid_result.grid for z in r.zones_in_peak}
    for zone_id in peak_zones:
        assert grid_result.grid_zone_names[zone_id] in values[PEAK_LABEL]
    assert values["PV curtailed by export envelopes"] != "0.0 kWh"
    assert "Grid" not in values


def test_kpis_withoutGridOneNotModelledRow(result: SimulationResult) -> None:
    values = dict(kpis(result))
    assert values["Grid"] == "not modelled (no network model)"
    assert PEAK_LABEL not in values
    replicated = replace(result, community=replace(result.community, grid_participants=1))
    assert dict(kpis(replicated))["Grid"] == "not modelled (replicated community)"


def test_write_report_withoutGridWritesNoGridFiles(report_dir: Path) -> None:
    assert not (report_dir / "grid.csv").exists()
    assert not (report_dir / "bus_quality.csv").exists()
    assert not (report_dir / "grid.png").exists()
    assert "grid" not in _sqlite_tables(report_dir / "simulation.sqlite")
    assert "curtailed_wh" in _rows(report_dir / "intervals.csv")[0]
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert GRID_HEADING not in page
    assert "grid.csv" not in page


def test_write_report_gridRunThenWithoutLeavesNoStaleGrid(
    grid_result: SimulationResult, result: SimulationResult, tmp_path: Path
) -> None:
    write_report(grid_result, tmp_path)
    assert (tmp_path / "grid.csv").is_file()
    assert "grid" in _sqlite_tables(tmp_path / "simulation.sqlite")
    write_report(result, tmp_path)
    assert not (tmp_path / "grid.csv").exists()
    assert not (tmp_path / "bus_quality.csv").exists()
    assert not (tmp_path / "grid.png").exists()
    assert _sqlite_tables(tmp_path / "simulation.sqlite") == set(TABLES)


def test_write_report_replacesATruncatedSqliteAndKeepsForeignFiles(
    result: SimulationResult, tmp_path: Path
) -> None:
    (tmp_path / "simulation.sqlite").write_bytes(b"SQLite format 3\x00 cut short by a crash")
    (tmp_path / "notes.txt").write_text("the user's own file\n")
    write_report(result, tmp_path)
    assert _sqlite_tables(tmp_path / "simulation.sqlite") == set(TABLES)
    assert (tmp_path / "notes.txt").read_text() == "the user's own file\n"


def test_write_report_failureHalfwayLeavesTheOldFolderWhole(
    result: SimulationResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "report"
    write_report(_no_trades(result), out_dir)
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    # The carbon events are written after the tables, the database and the plots.
    monkeypatch.setattr("gridledger.sim.report.save_logs", disk_full)
    with pytest.raises(OutputError, match="No space left"):
        write_report(result, out_dir)
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # the staging folder is gone


def test_write_report_toAFileIsRefusedBeforeWriting(result: SimulationResult, tmp_path: Path) -> None:
    taken = tmp_path / "report"
    taken.write_text("a file, not a folder\n")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        write_report(result, taken)
    assert taken.read_text() == "a file, not a folder\n"
