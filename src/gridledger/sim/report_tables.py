"""The data tables of a `gridledger simulate` report, as pandas frames, and the run's totals.

`report_tables` builds the tables that the report writes as CSV and into SQLite, and that its
KPIs, plots and page read: one row per interval, per fill (trades), per participant, per
(phase, function) of gas, per day and region of carbon credits and per retirement, and, when
the grid is modelled, per interval of the grid's power flow.
`totals` sums a run's energy for self-consumption and self-sufficiency, `grid_totals` its grid
losses and curtailment, `zone_intervals` counts the intervals each zone spent in peak and in
emergency; `gas_kind` names the gas the chain backend measures.

Energy is in Wh, money in payment units (`UNITS_PER_DOLLAR` per test dollar); prices in units
per kWh.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridledger.carbon.events import read_ledger
from gridledger.carbon.report import CarbonReport, PeriodRegionRow, RetirementRow, build_report
from gridledger.grid.quality import ServiceQuality
from gridledger.market.orders import Side
from gridledger.sim.grid_operation import GridIntervalRecord
from gridledger.sim.indexed import IndexedEnergy, IndexedRun
from gridledger.sim.run import IntervalRecord, SimulationResult, Trade

UNITS_PER_DOLLAR = 1_000_000
DASH = "—"

Frame = Any  # pandas has no type information here
_IntArray = npt.NDArray[np.int64]


GRID_TABLE = "grid"
BUS_QUALITY_TABLE = "bus_quality"


@dataclass(frozen=True)
class ReportTables:
    """The tables of a run; their columns are the CSV files' columns. `grid` is None when the
    grid is not modelled (a replicated community has no physical grid)."""

    intervals: Frame
    trades: Frame
    participants: Frame
    gas: Frame
    carbon: Frame
    retirements: Frame
    grid: Frame | None = None
    bus_quality: Frame | None = None  # with `grid`

    def by_name(self) -> dict[str, Frame]:
        """The tables the run has, by file and SQLite table name."""
        named = {
            "intervals": self.intervals,
            "trades": self.trades,
            "participants": self.participants,
            "gas": self.gas,
            "carbon": self.carbon,
            "retirements": self.retirements,
        }
        if self.grid is not None:
            named[GRID_TABLE] = self.grid
        if self.bus_quality is not None:
            named[BUS_QUALITY_TABLE] = self.bus_quality
        return named


def gas_kind(result: SimulationResult) -> str:
    """The gas the backend measures: pyrevm's on warm in-process state, or a receipt's gasUsed."""
    return "warm-state (embedded EVM)" if result.backend == "EmbeddedChain" else "receipt"


def _iso_utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _intervals_frame(result: SimulationResult, indexed: IndexedRun | None) -> Frame:
    records = [vars(record) for record in result.intervals]
    frame = pd.DataFrame.from_records(records, columns=[f.name for f in fields(IntervalRecord)])
    if indexed is not None:  # the accepted readings as the index holds them
        none = IndexedEnergy(0, 0, 0)
        energy = [indexed.energy.get(int(start), none) for start in frame["interval_start"]]
        for column in ("readings_accepted", "minted_wh", "metered_consumption_wh"):
            frame[column] = [getattr(e, column) for e in energy]
    frame.insert(0, "time_utc", [_iso_utc(int(s)) for s in frame["interval_start"]])
    frame["peer_to_peer_wh"] = frame["volume_wh"] - frame["exported_to_utility_wh"]
    # Intervals that did not clear have no price: keep the column integer, with gaps.
    frame["clearing_price_per_kwh"] = frame["clearing_price_per_kwh"].astype("Int64")
    return frame


def _trades_frame(result: SimulationResult, trades: list[Trade]) -> Frame:
    columns = ["interval_start", "order_hash", "trader", "side", "filled_wh", "payment_units"]
    rows = [
        (t.interval_start, t.order_hash, t.trader, int(t.side), t.filled_wh, t.payment_units) for t in trades
    ]
    raw = pd.DataFrame.from_records(rows, columns=columns)
    names = {
        address.lower(): p.name
        for address, p in zip(result.traders, result.community.participants, strict=True)
    }
    names[result.utility.lower()] = "utility"
    index = {address.lower(): i for i, address in enumerate(result.traders)}
    times = {int(s): _iso_utc(int(s)) for s in result.community.interval_starts}
    filled_wh = raw["filled_wh"].astype(np.int64)
    payment_units = raw["payment_units"].astype(np.int64)
    return pd.DataFrame(
        {
            "time_utc": raw["interval_start"].map(times),
            "interval_start": raw["interval_start"].astype(np.int64),
            "order_hash": ["0x" + h.hex() for h in raw["order_hash"]],
            "trader": raw["trader"],
            "participant": raw["trader"].map(names).fillna("unknown"),
            # -1: not a participant (the utility)
            "participant_index": raw["trader"].map(index).fillna(-1).astype(np.int64),
            "side": np.where(raw["side"] == int(Side.BUY), "BUY", "SELL"),
            "filled_wh": filled_wh,
            "payment_units": payment_units,
            # Effective price of the fill: the clearing price, or the limit under pay-as-bid.
            "price_per_kwh": (payment_units * 1000 / filled_wh.where(filled_wh > 0)).round(3),
        }
    )


def grid_fee_units(result: SimulationResult, trades: Frame) -> Frame:
    """The grid fee of every fill, as the run recorded it for each buy (the peak fee in a peak
    zone); sells pay none."""
    fees = trades["order_hash"].map({"0x" + h.hex(): units for h, units in result.buy_fee_units.items()})
    return fees.fillna(0).astype(np.int64).where(trades["side"] == "BUY", 0)


def _participants_frame(result: SimulationResult, trades: Frame) -> Frame:
    count = len(result.traders)
    people = result.community.participants
    fee_units = grid_fee_units(result, trades)
    ours = trades["participant_index"].to_numpy() >= 0
    index = trades["participant_index"].to_numpy()[ours]
    is_buy = (trades["side"] == "BUY").to_numpy()[ours]

    def per_participant(values: Frame, buys: bool) -> _IntArray:
        picked = values.to_numpy(np.int64)[ours] * (is_buy == buys)
        total: _IntArray = np.bincount(index, weights=picked, minlength=count).astype(np.int64)
        return total

    return pd.DataFrame(
        {
            "index": np.arange(count),
            "name": [p.name for p in people],
            "address": result.traders,
            "bus": [p.bus for p in people],
            "pv_rated_w": [p.pv_rated_w for p in people],
            "load_rated_w": [p.load_rated_w for p in people],
            "minted_wh": result.minted_wh,
            "burned_by_consumption_wh": result.burned_by_consumption_wh,
            "sold_wh": per_participant(trades["filled_wh"], buys=False),
            "bought_wh": per_participant(trades["filled_wh"], buys=True),
            "received_units": per_participant(trades["payment_units"], buys=False),
            "paid_units": per_participant(trades["payment_units"], buys=True),
            "grid_fee_units": per_participant(fee_units, buys=True),
            # Grid losses beyond the no-trade base case, allocated to sellers by their exports;
            # negative where exports relieved the grid.
            "trade_losses_wh": [result.seller_losses_wh.get(i, 0.0) for i in range(count)],
        }
    )


def _gas_frame(result: SimulationResult) -> Frame:
    rows = [(phase, function, e.transactions, e.gas, e.items) for (phase, function), e in result.gas.items()]
    frame = pd.DataFrame.from_records(rows, columns=["phase", "function", "transactions", "gas", "items"])
    frame["gas_per_tx"] = (frame["gas"] / frame["transactions"].where(frame["transactions"] > 0)).round(1)
    frame["gas_per_item"] = (frame["gas"] / frame["items"].where(frame["items"] > 0)).round(1)
    frame["gas_kind"] = gas_kind(result)
    return frame


def _zones_text(zones: tuple[int, ...]) -> str:
    # One text column instead of a column per zone: the number of zones differs between grids.
    return ";".join(str(z) for z in zones)


def _grid_frame(result: SimulationResult) -> Frame | None:
    if not result.grid:
        return None
    records = [vars(record) for record in result.grid]
    frame = pd.DataFrame.from_records(records, columns=[f.name for f in fields(GridIntervalRecord)])
    frame.insert(0, "time_utc", [_iso_utc(int(s)) for s in frame["interval_start"]])
    for column in ("zones_in_emergency", "zones_in_peak", "zones_faulted"):
        frame[column] = frame[column].map(_zones_text)
    return frame


def _bus_quality_frame(result: SimulationResult) -> Frame | None:
    """One row per bus and interval outside ±5 % of nominal or without supply: its zone, voltage
    (empty without supply) and the minutes it adds to its zone's day (grid/quality.py)."""
    if not result.grid:
        return None
    frame = pd.DataFrame(result.grid_bus_quality)
    frame.insert(0, "time_utc", [_iso_utc(int(s)) for s in frame["interval_start"]])
    return frame


def carbon_report(result: SimulationResult) -> CarbonReport:
    """The carbon report of the run's days and the day after: the verifier certifies a day's
    generation just after it ends, so the last day's credits are issued on the next."""
    first = datetime.fromtimestamp(int(result.community.interval_starts[0]), UTC).date()
    last = datetime.fromtimestamp(int(result.community.interval_starts[-1]) + 86_400, UTC).date()
    return build_report(read_ledger(result.carbon_logs, result.system.carbon), first, last)


def _carbon_frames(result: SimulationResult) -> tuple[Frame, Frame]:
    report = carbon_report(result)
    periods = pd.DataFrame(
        [vars(row) for row in report.periods], columns=[f.name for f in fields(PeriodRegionRow)]
    )
    retirements = pd.DataFrame(
        [vars(row) for row in report.retirements], columns=[f.name for f in fields(RetirementRow)]
    )
    return periods, retirements


def report_tables(result: SimulationResult, indexed: IndexedRun | None = None) -> ReportTables:
    """The run's tables: intervals, trades (one row per fill), participants, gas, carbon (per day
    and region), retirements and the grid. Given the run's index (`simulate --index`), the
    trades are the index's fills and each interval's accepted readings, minted and consumed Wh
    the index's; otherwise the run's own record of the same events."""
    trades = _trades_frame(result, result.trades if indexed is None else indexed.trades)
    carbon, retirements = _carbon_frames(result)
    return ReportTables(
        _intervals_frame(result, indexed),
        trades,
        _participants_frame(result, trades),
        _gas_frame(result),
        carbon,
        retirements,
        _grid_frame(result),
        _bus_quality_frame(result),
    )


_ITEM_NAMES = {"submitReadings": "reading", "settleInterval": "fill"}


def item_name(function: str) -> str:
    """What one item of the gas table's `items` column is for `function`: a reading, a fill."""
    return _ITEM_NAMES.get(function.rsplit(".", 1)[-1], "tx")


# ----------------------------------------------------------------------------- totals
def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole > 0 else DASH


@dataclass(frozen=True)
class Totals:
    """Sums over a run that both the KPIs and the plots' titles use."""

    minted_wh: int
    metered_consumption_wh: int
    burned_by_consumption_wh: int

    @property
    def self_consumption(self) -> str:
        return _share(self.burned_by_consumption_wh, self.minted_wh)

    @property
    def self_sufficiency(self) -> str:
        return _share(self.burned_by_consumption_wh, self.metered_consumption_wh)


def totals(intervals: Frame) -> Totals:
    """The totals of an intervals table."""
    return Totals(
        int(intervals["minted_wh"].sum()),
        int(intervals["metered_consumption_wh"].sum()),
        int(intervals["burned_by_consumption_wh"].sum()),
    )


@dataclass(frozen=True)
class GridTotals:
    """Sums over a modelled grid that both the KPIs and the grid plot's title use."""

    losses_wh: float
    trade_losses_wh: float
    curtailed_wh: int


def grid_totals(grid: Frame) -> GridTotals:
    """The totals of a grid table."""
    return GridTotals(
        float(grid["losses_wh"].sum()), float(grid["trade_losses_wh"].sum()), int(grid["curtailed_wh"].sum())
    )


def zone_intervals(result: SimulationResult) -> Frame:
    """One row per zone of the grid: zone_id, name, the intervals it spent in peak and in
    emergency, and its quality of service summed over the days as posted on-chain
    (grid/quality.py): bus-minutes outside ±5 % and ±10 %, interruptions, their minutes and
    customer-minutes. Empty when the grid is not modelled."""
    peak: Counter[int] = Counter(z for r in result.grid for z in r.zones_in_peak)
    emergency: Counter[int] = Counter(z for r in result.grid for z in r.zones_in_emergency)
    quality: dict[int, Counter[str]] = {}
    for report in result.grid_quality:
        quality.setdefault(report.zone_id, Counter()).update(vars(report.quality))
    # Zones come from the run's names; a state of a zone without one still gets its row.
    zone_ids = sorted(set(result.grid_zone_names) | set(peak) | set(emergency) | set(quality))
    columns: dict[str, list[Any]] = {
        "zone_id": zone_ids,
        "name": [result.grid_zone_names.get(z, f"zone {z}") for z in zone_ids],
        "intervals_in_peak": [peak[z] for z in zone_ids],
        "intervals_in_emergency": [emergency[z] for z in zone_ids],
    }
    for measure in (f.name for f in fields(ServiceQuality)):
        columns[measure] = [quality.get(z, Counter())[measure] for z in zone_ids]
    return pd.DataFrame(columns, columns=list(columns))
