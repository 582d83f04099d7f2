"""The report of a `gridledger simulate` run: headline numbers, one HTML page and the raw data.

`kpis` gives the headline numbers (energy, self-consumption and self-sufficiency, prices,
money, savings against buying everything from the utility, throughput) for the terminal
summary and the page. `write_report` writes into one directory:

- report.html: a self-contained page (no scripts, no external resources): the KPIs, the
  reconciliation of chain state against the run, and five plots embedded as PNG: energy
  traded per interval with the clearing price, the community's PV and consumption, energy
  minted against burned, gas per operation type, and the top sellers and buyers;
- the same plots as PNG files, for documents that show one;
- intervals.csv, trades.csv, participants.csv and gas.csv, and the same four tables in
  simulation.sqlite.

Energy is in Wh, money in payment units (6-decimal test dollars); prices in units per kWh.
"""

from __future__ import annotations

import base64
import html
import io
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from gridledger.market.orders import Side
from gridledger.sim.run import IntervalRecord, SimulationResult
from gridledger.sim.scenario import INTERVAL_S

# The report renders to files only; a display backend would fail on headless machines.
matplotlib.use("Agg")

UNITS_PER_DOLLAR = 1_000_000
DASH = "—"
TOP_TRADERS = 10
_DAY_S = 86_400
_COLORS = {
    "pv": "#f4a300",
    "p2p": "#2a9d8f",
    "utility": "#8d99ae",
    "consumption": "#264653",
    "price": "#e76f51",
    "burn": "#6d597a",
    "expired": "#c9c9c9",
}

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Frame = Any  # pandas has no type information here


# ----------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class _Tables:
    intervals: Frame
    trades: Frame
    participants: Frame
    gas: Frame


def _gas_kind(result: SimulationResult) -> str:
    return "execution (embedded EVM)" if result.backend == "EmbeddedChain" else "receipt"


def _iso_utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _intervals_frame(result: SimulationResult) -> Frame:
    records = [vars(record) for record in result.intervals]
    frame = pd.DataFrame.from_records(records, columns=[f.name for f in fields(IntervalRecord)])
    frame.insert(0, "time_utc", [_iso_utc(int(s)) for s in frame["interval_start"]])
    frame["peer_to_peer_wh"] = frame["volume_wh"] - frame["exported_to_utility_wh"]
    # Intervals that did not clear have no price: keep the column integer, with gaps.
    frame["clearing_price_per_kwh"] = frame["clearing_price_per_kwh"].astype("Int64")
    return frame


def _trades_frame(result: SimulationResult) -> Frame:
    columns = ["interval_start", "order_hash", "trader", "side", "filled_wh", "payment_units"]
    rows = [
        (t.interval_start, t.order_hash, t.trader, int(t.side), t.filled_wh, t.payment_units)
        for t in result.trades
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


def _grid_fee_units(trades: Frame, fee_per_kwh: int) -> Frame:
    """The grid fee of every fill: buyers pay it per fill, rounded up as the contract does."""
    fee = (trades["filled_wh"] * fee_per_kwh + 999) // 1000
    return fee.where(trades["side"] == "BUY", 0)


def _participants_frame(result: SimulationResult, trades: Frame) -> Frame:
    count = len(result.traders)
    people = result.community.participants
    fee_units = _grid_fee_units(trades, result.tariffs.grid_fee_per_kwh)
    ours = trades["participant_index"].to_numpy() >= 0
    index = trades["participant_index"].to_numpy()[ours]
    is_buy = (trades["side"] == "BUY").to_numpy()[ours]

    def per_participant(values: Frame, buys: bool) -> IntArray:
        picked = values.to_numpy(np.int64)[ours] * (is_buy == buys)
        total: IntArray = np.bincount(index, weights=picked, minlength=count).astype(np.int64)
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
        }
    )


def _gas_frame(result: SimulationResult) -> Frame:
    rows = [(phase, function, e.transactions, e.gas, e.items) for (phase, function), e in result.gas.items()]
    frame = pd.DataFrame.from_records(rows, columns=["phase", "function", "transactions", "gas", "items"])
    frame["gas_per_tx"] = (frame["gas"] / frame["transactions"].where(frame["transactions"] > 0)).round(1)
    frame["gas_per_item"] = (frame["gas"] / frame["items"].where(frame["items"] > 0)).round(1)
    frame["gas_kind"] = _gas_kind(result)
    return frame


def _tables(result: SimulationResult) -> _Tables:
    trades = _trades_frame(result)
    return _Tables(_intervals_frame(result), trades, _participants_frame(result, trades), _gas_frame(result))


# ----------------------------------------------------------------------------- KPIs
def _kwh(wh: float) -> str:
    return f"{wh / 1000:,.1f} kWh"


def _dollars(units: float) -> str:
    return f"${units / UNITS_PER_DOLLAR:,.2f}"


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole > 0 else DASH


def _price(units_per_kwh: float | None) -> str:
    return DASH if units_per_kwh is None else f"${units_per_kwh / UNITS_PER_DOLLAR:.4f}/kWh"


@dataclass(frozen=True)
class _Totals:
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


def _totals(intervals: Frame) -> _Totals:
    return _Totals(
        int(intervals["minted_wh"].sum()),
        int(intervals["metered_consumption_wh"].sum()),
        int(intervals["burned_by_consumption_wh"].sum()),
    )


def _period(result: SimulationResult) -> tuple[str, int]:
    """The run's dates ("first to last", or its one date) and its whole days."""
    starts = result.community.interval_starts
    if len(starts) == 0:
        return result.community.start.isoformat(), 0
    first = datetime.fromtimestamp(int(starts[0]), UTC).date()
    last = datetime.fromtimestamp(int(starts[-1]), UTC).date()
    days = (int(starts[-1]) + INTERVAL_S - int(starts[0])) // _DAY_S
    dates = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    return dates, days


def _kpis(result: SimulationResult, tables: _Tables) -> list[tuple[str, str]]:
    intervals, trades = tables.intervals, tables.trades
    tariffs = result.tariffs
    totals = _totals(intervals)
    people = result.community.participants
    with_pv = sum(p.has_pv for p in people)
    with_load = sum(p.has_load for p in people)
    dates, days = _period(result)

    priced = intervals[intervals["clearing_price_per_kwh"].notna() & (intervals["volume_wh"] > 0)]
    volume_wh = int(priced["volume_wh"].sum())
    average_price = (
        float((priced["clearing_price_per_kwh"].astype(np.float64) * priced["volume_wh"]).sum()) / volume_wh
        if volume_wh > 0
        else None
    )

    buys = trades["side"] == "BUY"
    fee_units = _grid_fee_units(trades, tariffs.grid_fee_per_kwh)
    # Savings against a utility-only world: a household would have bought at retail, a
    # prosumer would have exported at the feed-in tariff. The utility's own fills save nobody.
    peer_buys = buys & (trades["participant_index"] >= 0)
    buyer_savings = (
        trades["filled_wh"][peer_buys] * tariffs.retail_per_kwh / 1000
        - trades["payment_units"][peer_buys]
        - fee_units[peer_buys]
    ).sum()
    sells = ~buys & (trades["participant_index"] >= 0)
    seller_savings = (
        trades["payment_units"][sells] - trades["filled_wh"][sells] * tariffs.feed_in_per_kwh / 1000
    ).sum()
    metered = totals.metered_consumption_wh
    burned = totals.burned_by_consumption_wh
    wall_s = result.setup_seconds + result.trading_seconds
    return [
        ("Grid", result.community.grid_code),
        ("Period", f"{dates} · {days} day{'s' * (days != 1)} · {len(intervals)} intervals"),
        ("Participants", f"{len(people):,} ({with_pv:,} with PV)"),
        ("Meters", f"{with_pv + with_load:,} ({with_pv:,} PV, {with_load:,} consumption)"),
        (
            "Readings accepted / rejected",
            f"{int(intervals['readings_accepted'].sum()):,} / {int(intervals['readings_rejected'].sum()):,}",
        ),
        (
            "PV energy: profiles / minted",
            f"{intervals['pv_profile_wh'].sum() / 1000:,.1f} / {_kwh(totals.minted_wh)}",
        ),
        ("Consumption metered", _kwh(metered)),
        ("Burned by consumption", _kwh(burned)),
        ("Traded peer-to-peer", _kwh(int(intervals["peer_to_peer_wh"].sum()))),
        ("Exported to utility", _kwh(int(intervals["exported_to_utility_wh"].sum()))),
        ("Imported from utility", _kwh(metered - burned)),
        ("Self-consumption (burned by consumption / minted)", totals.self_consumption),
        ("Self-sufficiency (burned by consumption / metered consumption)", totals.self_sufficiency),
        ("Average clearing price (volume-weighted)", _price(average_price)),
        ("Paid by buyers (excl. grid fees)", _dollars(int(trades["payment_units"][buys].sum()))),
        ("Received by sellers", _dollars(int(trades["payment_units"][~buys].sum()))),
        ("Grid fees to the DSO", _dollars(int(fee_units.sum()))),
        (
            "Community savings vs utility only",
            f"{_dollars(buyer_savings + seller_savings)} "
            f"(buyers {_dollars(buyer_savings)}, sellers {_dollars(seller_savings)})",
        ),
        (
            "Trades (fills) / settled intervals",
            f"{len(trades):,} / {int(intervals['clearing_price_per_kwh'].notna().sum()):,}",
        ),
        ("Chain backend", f"{result.backend}, gas: {_gas_kind(result)}"),
        ("Wall time", f"{wall_s:,.1f} s (setup {result.setup_seconds:,.1f} s)"),
    ]


def kpis(result: SimulationResult) -> list[tuple[str, str]]:
    """The run's headline numbers as (label, formatted value), in reading order."""
    return _kpis(result, _tables(result))


# ----------------------------------------------------------------------------- plots
def _hours(result: SimulationResult) -> FloatArray:
    """Interval starts as hours since the run's first interval: the x axis of time plots."""
    starts = result.community.interval_starts.astype(np.float64)
    hours: FloatArray = (starts - starts[0]) / 3600 if len(starts) else starts
    return hours


def _time_axis(ax: Axes, result: SimulationResult) -> None:
    """UTC time of day for a one-day run, dates for a longer one."""
    starts = result.community.interval_starts
    if len(starts) == 0:
        return
    t0 = int(starts[0])
    span_h = (int(starts[-1]) + INTERVAL_S - t0) / 3600
    if span_h <= 24:
        step_h, fmt = 3.0, "%H:%M"
    else:
        step_h, fmt = 24.0 * max(1, round(span_h / 24 / 10)), "%b %d"
    ax.set_xticks(np.arange(0, span_h + 1e-9, step_h))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda x, _pos: datetime.fromtimestamp(t0 + x * 3600, UTC).strftime(fmt))
    )
    ax.set_xlim(0, span_h)
    ax.set_xlabel("UTC" if span_h <= 24 else "date (UTC)")


def _style(ax: Axes, grid_axis: Literal["x", "y"] = "y") -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid_axis, color="#e6e9ed", linewidth=0.8)
    ax.set_axisbelow(True)


def _title_and_legend(ax: Axes, title: str, twin: Axes | None = None) -> None:
    """Title, then the legend in one row between it and the plot: over the data, a legend
    hides the price line or the daytime peak of some run."""
    handles = ax.get_legend_handles_labels()[0]
    if twin is not None:
        handles += twin.get_legend_handles_labels()[0]
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0, 1),
        ncols=len(handles),
        frameon=False,
        fontsize="small",
        borderaxespad=0.2,
    )
    ax.set_title(title, loc="left", pad=24, fontweight="bold")


def _plot_energy_traded(fig: Figure, result: SimulationResult, tables: _Tables) -> None:
    intervals = tables.intervals
    x, width = _hours(result), INTERVAL_S / 3600
    p2p_kwh = intervals["peer_to_peer_wh"].to_numpy(np.float64) / 1000
    utility_kwh = intervals["exported_to_utility_wh"].to_numpy(np.float64) / 1000
    ax = fig.add_subplot()
    _style(ax)
    ax.bar(x, p2p_kwh, width, align="edge", color=_COLORS["p2p"], label="peer-to-peer")
    ax.bar(x, utility_kwh, width, bottom=p2p_kwh, align="edge", color=_COLORS["utility"], label="to utility")
    ax.set_ylabel("energy traded (kWh)")
    price = intervals["clearing_price_per_kwh"].astype("Float64").to_numpy(np.float64, na_value=np.nan)
    twin = ax.twinx()
    twin.spines[["top"]].set_visible(False)
    twin.plot(
        x + width / 2,
        price / UNITS_PER_DOLLAR,
        color=_COLORS["price"],
        marker=".",
        markersize=4,
        linewidth=1.4,
        label="clearing price",
    )
    twin.set_ylabel("clearing price ($/kWh)")
    twin.set_ylim(bottom=0)
    _time_axis(ax, result)
    _title_and_legend(ax, "Energy traded per interval and clearing price", twin)


def _plot_community_energy(fig: Figure, result: SimulationResult, tables: _Tables) -> None:
    intervals = tables.intervals
    totals = _totals(intervals)
    x = _hours(result) + INTERVAL_S / 3600 / 2
    ax = fig.add_subplot()
    _style(ax)
    covered = intervals["burned_by_consumption_wh"].to_numpy(np.float64) / 1000
    ax.fill_between(
        x, covered, step="mid", color=_COLORS["p2p"], alpha=0.35, label="consumption covered by community PV"
    )
    ax.step(
        x, intervals["minted_wh"] / 1000, where="mid", color=_COLORS["pv"], label="PV generation (minted)"
    )
    ax.step(
        x,
        intervals["metered_consumption_wh"] / 1000,
        where="mid",
        color=_COLORS["consumption"],
        label="consumption (metered)",
    )
    ax.set_ylabel("energy per interval (kWh)")
    _time_axis(ax, result)
    _title_and_legend(
        ax,
        f"Community energy — self-consumption {totals.self_consumption}, "
        f"self-sufficiency {totals.self_sufficiency}",
    )


def _plot_minted_burned(fig: Figure, result: SimulationResult, tables: _Tables) -> None:
    intervals = tables.intervals
    x, width = _hours(result), INTERVAL_S / 3600
    minted = intervals["minted_wh"].to_numpy(np.float64) / 1000
    burns = {
        "burned by consumption": (intervals["burned_by_consumption_wh"], _COLORS["consumption"]),
        "exported to utility": (intervals["exported_to_utility_wh"], _COLORS["utility"]),
        "expired": (intervals["expired_wh"], _COLORS["expired"]),
    }
    ax = fig.add_subplot()
    _style(ax)
    ax.bar(x, minted, width, align="edge", color=_COLORS["pv"], label="minted")
    bottom = np.zeros(len(x))
    burned_total = np.zeros(len(x))
    for label, (values, color) in burns.items():
        kwh = values.to_numpy(np.float64) / 1000
        if label == "expired" and not kwh.any():
            continue  # expiry is rare: no empty legend entry for it
        ax.bar(x, -kwh, width, bottom=bottom, align="edge", color=color, label=label)
        bottom -= kwh
        burned_total += kwh
    ax.axhline(0, color="#555", linewidth=0.6)
    ax.set_ylabel("per interval (kWh): minted ↑ burned ↓")
    twin = ax.twinx()
    twin.spines[["top"]].set_visible(False)
    twin.plot(x + width, np.cumsum(minted), color=_COLORS["pv"], linewidth=2, label="cumulative minted")
    twin.plot(
        x + width,
        np.cumsum(burned_total),
        color=_COLORS["burn"],
        linewidth=2,
        linestyle="--",
        label="cumulative burned",
    )
    twin.set_ylabel("cumulative (kWh)")
    twin.set_ylim(bottom=0)
    _time_axis(ax, result)
    _title_and_legend(ax, "Energy tokens minted and burned", twin)


_ITEM_NAMES = {"submitReadings": "reading", "settleInterval": "fill"}


def _item_name(function: str) -> str:
    return _ITEM_NAMES.get(function.rsplit(".", 1)[-1], "tx")


def _plot_gas(fig: Figure, result: SimulationResult, tables: _Tables) -> None:
    gas = tables.gas
    trading = gas[gas["phase"] == "trading"].sort_values("gas_per_item")
    ax = fig.add_subplot()
    _style(ax, "x")
    if trading.empty:
        ax.text(0.5, 0.5, "no trading-phase transactions", ha="center", va="center", transform=ax.transAxes)
    else:
        labels = [f"{f} (per {_item_name(f)})" for f in trading["function"]]
        bars = ax.barh(labels, trading["gas_per_item"], color=_COLORS["consumption"])
        ax.bar_label(bars, labels=[f" {v:,.0f}" for v in trading["gas_per_item"]], fontsize="small")
        ax.margins(x=0.15)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
    ax.set_xlabel(f"gas per item — {_gas_kind(result)} gas")
    ax.set_title("Gas per operation, trading phase", loc="left", fontweight="bold")


@dataclass(frozen=True)
class _Ranking:
    """One side of the top-traders plot and tables: participants.csv columns to rank and show."""

    title: str
    energy: str
    money: str
    money_label: str
    color: str

    def top(self, participants: Frame) -> Frame:
        return participants[participants[self.energy] > 0].nlargest(TOP_TRADERS, self.energy)


_RANKINGS = (
    _Ranking("Top sellers", "sold_wh", "received_units", "received", _COLORS["pv"]),
    _Ranking("Top buyers", "bought_wh", "paid_units", "paid", _COLORS["p2p"]),
)


def _plot_top_traders(fig: Figure, result: SimulationResult, tables: _Tables) -> None:
    del result
    for ax, ranking in zip(fig.subplots(1, 2), _RANKINGS, strict=True):
        _style(ax, "x")
        ax.set_title(f"{ranking.title} (kWh)")
        top = ranking.top(tables.participants)
        if top.empty:
            ax.text(0.5, 0.5, "no trades", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        rows = top.iloc[::-1]  # barh draws bottom-up: the largest goes last, on top
        bars = ax.barh(rows["name"], rows[ranking.energy] / 1000, color=ranking.color)
        ax.bar_label(bars, labels=[f" {v / 1000:,.1f}" for v in rows[ranking.energy]], fontsize="small")
        ax.tick_params(axis="y", labelsize="small")
        ax.margins(x=0.18)


@dataclass(frozen=True)
class _Plot:
    file_name: str
    alt: str
    draw: Callable[[Figure, SimulationResult, _Tables], None]
    height_in: float = 4.0


_PLOTS = (
    _Plot("energy_traded.png", "Energy traded per interval", _plot_energy_traded),
    _Plot("community_energy.png", "Community PV and consumption", _plot_community_energy),
    _Plot("minted_burned.png", "Energy minted and burned", _plot_minted_burned),
    _Plot("gas.png", "Gas per operation", _plot_gas, 3.2),
    _Plot("top_traders.png", "Top sellers and buyers", _plot_top_traders, 4.2),
)
_DPI = 130
_FIGURE_WIDTH_IN = 10.5


def _render(plot: _Plot, result: SimulationResult, tables: _Tables) -> bytes:
    fig = plt.figure(figsize=(_FIGURE_WIDTH_IN, plot.height_in), layout="constrained")
    try:
        plot.draw(fig, result, tables)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=_DPI)
    finally:
        plt.close(fig)  # pyplot keeps every figure alive until closed
    return buffer.getvalue()


# ----------------------------------------------------------------------------- HTML
def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def _html_table(headers: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    """A table whose columns from `numeric_from` on hold numbers (right-aligned)."""

    def cells(tag: str, values: list[str]) -> str:
        return "".join(
            f"<{tag}{' class=num' if i >= numeric_from else ''}>{html.escape(v)}</{tag}>"
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{cells('th', headers)}</tr></thead><tbody>{body}</tbody></table>"


def _gas_table(gas: Frame) -> str:
    rows = [
        [
            f"{r.function} ({r.phase})",
            f"{r.transactions:,}",
            f"{r.gas:,}",
            f"{r.items:,}",
            f"{r.gas_per_tx:,.0f}",
            f"{r.gas_per_item:,.0f} / {_item_name(r.function)}",
        ]
        for r in gas.itertuples()
    ]
    return _html_table(["function (phase)", "transactions", "gas", "items", "gas / tx", "gas / item"], rows)


def _traders_table(ranking: _Ranking, participants: Frame) -> str:
    rows = [
        [
            row["name"],
            _short(row["address"]),
            f"{row[ranking.energy] / 1000:,.2f}",
            _dollars(row[ranking.money]),
        ]
        for row in ranking.top(participants).to_dict("records")
    ]
    table = _html_table(["name", "address", "kWh", ranking.money_label], rows, 2) if rows else ""
    return f"<div><h3>{html.escape(ranking.title)}</h3>{table or '<p class=muted>no trades</p>'}</div>"


def _reconciliation_html(findings: list[str] | None) -> str:
    if findings is None:
        return "<p class=muted>Chain state was not reconciled for this report.</p>"
    if not findings:
        return "<p class=ok>✓ Chain state reconciles with the run and SimBench.</p>"
    items = "".join(f"<li>{html.escape(f)}</li>" for f in findings)
    return f"<p class=bad>✗ {len(findings)} reconciliation finding(s):</p><ul>{items}</ul>"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1d2733; background: #fff; max-width: 1100px; margin: 2rem auto; padding: 0 1.25rem;
  line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #e3e7ec; padding-bottom: .3rem; }
h3 { font-size: 1rem; margin: .8rem 0 .4rem; }
.subtitle, .muted { color: #5c6b7a; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: .6rem; }
.kpi { border: 1px solid #e3e7ec; border-radius: 8px; padding: .55rem .8rem; background: #f7f9fb; }
.kpi .label { font-size: .78rem; color: #5c6b7a; }
.kpi .value { font-size: 1.08rem; font-weight: 600; font-variant-numeric: tabular-nums; }
img { width: 100%; height: auto; display: block; margin: .5rem 0; }
table { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; }
th, td { padding: .25rem .7rem; border-bottom: 1px solid #edf0f3; text-align: left; }
th { color: #5c6b7a; font-weight: 600; }
.num { text-align: right; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }
.ok { color: #1b7f3b; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
footer { margin: 2.5rem 0 1rem; font-size: .8rem; color: #5c6b7a; }
"""


def _page(
    result: SimulationResult,
    tables: _Tables,
    headline: list[tuple[str, str]],
    images: dict[str, bytes],
    reconciliation: list[str] | None,
) -> str:
    grid = html.escape(result.community.grid_code)
    dates = html.escape(_period(result)[0])
    backend = html.escape(result.backend)

    def img(plot: _Plot) -> str:
        data = base64.b64encode(images[plot.file_name]).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{html.escape(plot.alt)}">'

    cards = "".join(
        f"<div class=kpi><div class=label>{html.escape(label)}</div>"
        f"<div class=value>{html.escape(value)}</div></div>"
        for label, value in headline
    )
    energy_traded, community, minted, gas, traders = (img(p) for p in _PLOTS)
    contracts = _html_table(
        ["contract", "address"], [[name, address] for name, address in vars(result.system).items()], 2
    )
    data_files = ", ".join(f"<a href={name}>{name}</a>" for name in _DATA_FILES)
    return f"""<!DOCTYPE html>
<html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1">
<title>gridledger simulation — {grid}, {dates}</title>
<style>{_CSS}</style></head>
<body>
<h1>gridledger simulation — {grid}</h1>
<p class=subtitle>{dates} · {len(result.traders):,} participants · seed {result.seed} · {backend}</p>
<div class=kpis>{cards}</div>
<h2>Reconciliation</h2>
{_reconciliation_html(reconciliation)}
<h2>Energy traded</h2>
{energy_traded}
<h2>Community energy</h2>
{community}
<h2>Energy tokens</h2>
{minted}
<h2>Gas</h2>
{gas}
<p class=muted>{html.escape(_gas_note(result))}</p>
{_gas_table(tables.gas)}
<h2>Top traders</h2>
{traders}
<div class=pair>
{"".join(_traders_table(ranking, tables.participants) for ranking in _RANKINGS)}
</div>
<p class=muted>The utility's feed-in purchases are not ranked: it is not a member of the community.</p>
<h2>Contracts</h2>
{contracts}
<footer>Raw data: {data_files}.</footer>
</body></html>
"""


def _gas_note(result: SimulationResult) -> str:
    if result.backend == "EmbeddedChain":
        return (
            "Execution gas measured in the embedded EVM (pyrevm) with warm state: lower than the gasUsed "
            "of a receipt on a live chain, which adds intrinsic and cold-access costs."
        )
    return "Receipt gasUsed as reported by the node."


# ----------------------------------------------------------------------------- files
_DATA_FILES = ("intervals.csv", "trades.csv", "participants.csv", "gas.csv", "simulation.sqlite")


def write_report(result: SimulationResult, out_dir: Path, reconciliation: list[str] | None = None) -> Path:
    """Writes report.html, the plots as PNG, the CSV tables and simulation.sqlite into `out_dir`.

    `reconciliation` lists the differences found between chain state and the run: empty when
    everything reconciles, None when nobody checked. Returns the path of report.html.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = _tables(result)
    named = {
        "intervals": tables.intervals,
        "trades": tables.trades,
        "participants": tables.participants,
        "gas": tables.gas,
    }
    for name, frame in named.items():
        frame.to_csv(out_dir / f"{name}.csv", index=False)
    with closing(sqlite3.connect(out_dir / "simulation.sqlite")) as connection, connection:
        for name, frame in named.items():
            frame.to_sql(name, connection, if_exists="replace", index=False)

    images = {plot.file_name: _render(plot, result, tables) for plot in _PLOTS}
    for file_name, png in images.items():
        (out_dir / file_name).write_bytes(png)
    page = out_dir / "report.html"
    page.write_text(_page(result, tables, _kpis(result, tables), images, reconciliation), encoding="utf-8")
    return page
