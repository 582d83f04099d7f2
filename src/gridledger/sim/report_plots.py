"""The report's plots, drawn with matplotlib from the report tables and rendered as PNG.

`PLOTS` lists the plots every run has, in page order, each with its file name and alt text:
energy traded per interval with the clearing price, the community's PV and consumption, energy
minted against burned, gas per operation type, and the top sellers and buyers (`RANKINGS`,
which the page's top-trader tables share). `GRID_PLOT`, the grid's loading and voltage per
interval with its zones' peak and emergency, only a run with a modelled grid has: `plots` gives
a run's. `render` draws one into PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from gridledger.grid.network import MAX_LOADING_PERCENT, VOLTAGE_BAND_PU
from gridledger.sim.report_tables import (
    UNITS_PER_DOLLAR,
    Frame,
    ReportTables,
    gas_kind,
    grid_totals,
    item_name,
    totals,
)
from gridledger.sim.run import SimulationResult
from gridledger.sim.scenario import INTERVAL_S

# The report renders to files only; a display backend would fail on headless machines.
matplotlib.use("Agg")

TOP_TRADERS = 10
_COLORS = {
    "pv": "#f4a300",
    "p2p": "#2a9d8f",
    "utility": "#8d99ae",
    "consumption": "#264653",
    "price": "#e76f51",
    "burn": "#6d597a",
    "expired": "#c9c9c9",
    "line": "#2a9d8f",
    "trafo": "#264653",
    "limit": "#b3261e",
    "peak": "#ffb703",
    "emergency": "#e63946",
}

_FloatArray = npt.NDArray[np.float64]


def _hours(result: SimulationResult) -> _FloatArray:
    """Interval starts as hours since the run's first interval: the x axis of time plots."""
    starts = result.community.interval_starts.astype(np.float64)
    hours: _FloatArray = (starts - starts[0]) / 3600 if len(starts) else starts
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
    _legend_above(ax, twin)
    ax.set_title(title, loc="left", pad=24, fontweight="bold")


def _legend_above(ax: Axes, twin: Axes | None = None) -> None:
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


def _plot_energy_traded(fig: Figure, result: SimulationResult, tables: ReportTables) -> None:
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


def _plot_community_energy(fig: Figure, result: SimulationResult, tables: ReportTables) -> None:
    intervals = tables.intervals
    run_totals = totals(intervals)
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
        f"Community energy — self-consumption {run_totals.self_consumption}, "
        f"self-sufficiency {run_totals.self_sufficiency}",
    )


def _plot_minted_burned(fig: Figure, result: SimulationResult, tables: ReportTables) -> None:
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


def _plot_gas(fig: Figure, result: SimulationResult, tables: ReportTables) -> None:
    gas = tables.gas
    trading = gas[gas["phase"] == "trading"].sort_values("gas_per_item")
    ax = fig.add_subplot()
    _style(ax, "x")
    if trading.empty:
        ax.text(0.5, 0.5, "no trading-phase transactions", ha="center", va="center", transform=ax.transAxes)
    else:
        labels = [f"{f} (per {item_name(f)})" for f in trading["function"]]
        bars = ax.barh(labels, trading["gas_per_item"], color=_COLORS["consumption"])
        ax.bar_label(bars, labels=[f" {v:,.0f}" for v in trading["gas_per_item"]], fontsize="small")
        ax.margins(x=0.15)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
    ax.set_xlabel(f"gas per item — {gas_kind(result)} gas")
    ax.set_title("Gas per operation, trading phase", loc="left", fontweight="bold")


@dataclass(frozen=True)
class Ranking:
    """One side of the top-traders plot and tables: participants.csv columns to rank and show."""

    title: str
    energy: str
    money: str
    money_label: str
    color: str

    def top(self, participants: Frame) -> Frame:
        return participants[participants[self.energy] > 0].nlargest(TOP_TRADERS, self.energy)


RANKINGS = (
    Ranking("Top sellers", "sold_wh", "received_units", "received", _COLORS["pv"]),
    Ranking("Top buyers", "bought_wh", "paid_units", "paid", _COLORS["p2p"]),
)


def _plot_top_traders(fig: Figure, result: SimulationResult, tables: ReportTables) -> None:
    del result
    for ax, ranking in zip(fig.subplots(1, 2), RANKINGS, strict=True):
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


def _spans(hours: _FloatArray, flagged: npt.NDArray[np.bool_]) -> list[tuple[float, float]]:
    """The (start, end) hours of each run of consecutive flagged intervals: one shaded span
    per run rather than one per interval keeps a multi-day plot light."""
    width = INTERVAL_S / 3600
    spans: list[tuple[float, float]] = []
    for start, is_flagged in zip(hours, flagged, strict=True):
        if not is_flagged:
            continue
        if spans and np.isclose(spans[-1][1], start):
            spans[-1] = (spans[-1][0], start + width)
        else:
            spans.append((float(start), float(start + width)))
    return spans


def _shade_zone_states(axes: list[Axes], hours: _FloatArray, grid: Frame) -> None:
    """Shades the intervals with a zone in peak or in emergency in every panel; only the first
    panel labels them, for the one legend."""
    for column, state in (("zones_in_peak", "peak"), ("zones_in_emergency", "emergency")):
        spans = _spans(hours, (grid[column] != "").to_numpy())
        for k, ax in enumerate(axes):
            for n, (start, end) in enumerate(spans):
                label = f"zone in {state}" if k == 0 and n == 0 else None
                ax.axvspan(start, end, color=_COLORS[state], alpha=0.22, linewidth=0, label=label)


def _plot_grid(fig: Figure, result: SimulationResult, tables: ReportTables) -> None:
    grid = tables.grid
    assert grid is not None  # GRID_PLOT is only drawn for a modelled grid
    grid_sums = grid_totals(grid)
    starts = result.community.interval_starts
    hours: _FloatArray = (grid["interval_start"].to_numpy(np.float64) - float(starts[0])) / 3600
    x = hours + INTERVAL_S / 3600 / 2
    loading, voltage = fig.subplots(2, 1, sharex=True)
    for ax in (loading, voltage):
        _style(ax)
    _shade_zone_states([loading, voltage], hours, grid)

    loading.step(x, grid["max_line_loading_percent"], where="mid", color=_COLORS["line"], label="max line")
    loading.step(
        x, grid["max_trafo_loading_percent"], where="mid", color=_COLORS["trafo"], label="max transformer"
    )
    loading.axhline(
        MAX_LOADING_PERCENT,
        color=_COLORS["limit"],
        linestyle="--",
        linewidth=1,
        label=f"limit ({MAX_LOADING_PERCENT:.0f} %)",
    )
    loading.set_ylim(bottom=0)
    loading.set_ylabel("loading (%)")

    low_pu, high_pu = 1 - VOLTAGE_BAND_PU, 1 + VOLTAGE_BAND_PU
    voltage.axhspan(
        low_pu,
        high_pu,
        color=_COLORS["p2p"],
        alpha=0.08,
        linewidth=0,
        label=f"allowed band (±{VOLTAGE_BAND_PU:.0%})",
    )
    for limit_pu in (low_pu, high_pu):
        voltage.axhline(limit_pu, color=_COLORS["limit"], linestyle="--", linewidth=1)
    voltage.step(x, grid["vm_max_pu"], where="mid", color=_COLORS["price"], label="highest bus")
    voltage.step(x, grid["vm_min_pu"], where="mid", color=_COLORS["consumption"], label="lowest bus")
    voltage.set_ylabel("voltage (pu)")
    _legend_above(voltage)

    _time_axis(voltage, result)  # sharex: the bottom panel's time axis serves both
    _title_and_legend(
        loading,
        f"Grid — losses {grid_sums.losses_wh / 1000:,.1f} kWh "
        f"({grid_sums.trade_losses_wh / 1000:,.1f} kWh by trades), "
        f"PV curtailed {grid_sums.curtailed_wh / 1000:,.1f} kWh",
    )


@dataclass(frozen=True)
class Plot:
    """One plot: its PNG file, its alt text on the page, how to draw it and its height."""

    file_name: str
    alt: str
    draw: Callable[[Figure, SimulationResult, ReportTables], None]
    height_in: float = 4.0


PLOTS = (
    Plot("energy_traded.png", "Energy traded per interval", _plot_energy_traded),
    Plot("community_energy.png", "Community PV and consumption", _plot_community_energy),
    Plot("minted_burned.png", "Energy minted and burned", _plot_minted_burned),
    Plot("gas.png", "Gas per operation", _plot_gas, 3.2),
    Plot("top_traders.png", "Top sellers and buyers", _plot_top_traders, 4.2),
)
GRID_PLOT = Plot("grid.png", "Grid loading and voltage per interval", _plot_grid, 6.0)


def plots(tables: ReportTables) -> tuple[Plot, ...]:
    """The plots of a run: `PLOTS`, and `GRID_PLOT` when the grid is modelled."""
    return PLOTS if tables.grid is None else (*PLOTS, GRID_PLOT)


_DPI = 130
_FIGURE_WIDTH_IN = 10.5


def render(plot: Plot, result: SimulationResult, tables: ReportTables) -> bytes:
    """Draws `plot` of the run and returns it as PNG bytes."""
    fig = plt.figure(figsize=(_FIGURE_WIDTH_IN, plot.height_in), layout="constrained")
    try:
        plot.draw(fig, result, tables)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=_DPI)
    finally:
        plt.close(fig)  # pyplot keeps every figure alive until closed
    return buffer.getvalue()
