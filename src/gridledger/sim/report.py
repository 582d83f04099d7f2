"""The report of a `gridledger simulate` run: headline numbers, one HTML page and the raw data.

`kpis` gives the headline numbers (energy, self-consumption and self-sufficiency, prices,
money, savings against buying everything from the utility, the grid's loading, voltage, losses
and curtailment, throughput) for the terminal summary and the page. `write_report` writes into
one directory:

- report.html: a self-contained page (no scripts, no external resources): the KPIs, the
  reconciliation of chain state against the run, and five plots embedded as PNG: energy
  traded per interval with the clearing price, the community's PV and consumption, energy
  minted against burned, gas per operation type, and the top sellers and buyers; with a
  modelled grid a sixth, its loading and voltage per interval, and a table of its zones;
- the same plots as PNG files, for documents that show one;
- a carbon section: credits issued, retired, pooled per day, and every retirement;
- carbon-events.json: the carbon contracts' events, which `gridledger report carbon` reads;
- intervals.csv, trades.csv, participants.csv, gas.csv, carbon.csv, retirements.csv and, with
  a modelled grid, grid.csv and bus_quality.csv (each bus and interval outside ±5 % of nominal
  or without supply: the voltage quality per bus and interval the zones' daily reports add up);
  the same tables in simulation.sqlite. A run without a modelled grid removes the grid files
  an earlier run left in the directory, so that none of them describes another run.
  The files are written into a staging folder beside the directory and moved into it at the
  end, so a failed run leaves the directory as it was (`output.staged_dir`).

Energy is in Wh, money in payment units (6-decimal test dollars); prices in units per kWh.

The tables come from `report_tables` and the plots from `report_plots`; this module holds the
KPIs, the page and the files.
"""

from __future__ import annotations

import base64
import html
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from gridledger.carbon.events import save_logs
from gridledger.sim.indexed import IndexedRun
from gridledger.sim.output import staged_dir
from gridledger.sim.report_plots import GRID_PLOT, PLOTS, RANKINGS, Plot, Ranking, plots, render
from gridledger.sim.report_tables import (
    BUS_QUALITY_TABLE,
    DASH,
    GRID_TABLE,
    UNITS_PER_DOLLAR,
    Frame,
    ReportTables,
    gas_kind,
    grid_fee_units,
    grid_totals,
    item_name,
    report_tables,
    totals,
    zone_intervals,
)
from gridledger.sim.run import SimulationResult
from gridledger.sim.scenario import INTERVAL_S

_DAY_S = 86_400


# ----------------------------------------------------------------------------- KPIs
def _kwh(wh: float) -> str:
    return f"{wh / 1000:,.1f} kWh"


def _dollars(units: float) -> str:
    return f"${units / UNITS_PER_DOLLAR:,.2f}"


def _price(units_per_kwh: float | None) -> str:
    return DASH if units_per_kwh is None else f"${units_per_kwh / UNITS_PER_DOLLAR:.4f}/kWh"


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


def _zone_list(result: SimulationResult, column: str) -> str:
    """The names of the zones that spent an interval in a state (`column` of `zone_intervals`)."""
    zones = zone_intervals(result)
    return ", ".join(zones["name"][zones[column] > 0])


def _intervals_with(result: SimulationResult, grid: Frame, state: str) -> str:
    """How many intervals had a zone in `state` ("peak", "emergency"), and which zones."""
    count = int((grid[f"zones_in_{state}"] != "").sum())
    names = _zone_list(result, f"intervals_in_{state}")
    return f"{count:,} ({names})" if names else f"{count:,}"


def _grid_kpis(result: SimulationResult, grid: Frame | None) -> list[tuple[str, str]]:
    if grid is None:
        # The CLI models no grid for a replicated community: its replicas have no place in it.
        why = "replicated community" if result.community.replicated else "no network model"
        return [("Grid", f"not modelled ({why})")]
    grid_sums = grid_totals(grid)
    return [
        ("Max line loading", f"{grid['max_line_loading_percent'].max():.1f} %"),
        ("Max transformer loading", f"{grid['max_trafo_loading_percent'].max():.1f} %"),
        ("Voltage range", f"{grid['vm_min_pu'].min():.3f} to {grid['vm_max_pu'].max():.3f} pu"),
        (
            "Grid losses / of which caused by trades",
            f"{_kwh(grid_sums.losses_wh)} / {_kwh(grid_sums.trade_losses_wh)}",
        ),
        ("PV curtailed by export envelopes", _kwh(grid_sums.curtailed_wh)),
        ("Intervals with a limit violation", f"{int((grid['violations'] > 0).sum()):,}"),
        ("Intervals with a zone in peak", _intervals_with(result, grid, "peak")),
        ("Intervals with a zone in emergency", _intervals_with(result, grid, "emergency")),
    ]


def _kpis(result: SimulationResult, tables: ReportTables) -> list[tuple[str, str]]:
    intervals, trades = tables.intervals, tables.trades
    tariffs = result.tariffs
    run_totals = totals(intervals)
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
    fee_units = grid_fee_units(result, trades)
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
    metered = run_totals.metered_consumption_wh
    burned = run_totals.burned_by_consumption_wh
    wall_s = result.setup_seconds + result.trading_seconds
    return [
        ("SimBench grid", result.community.grid_code),
        ("Period", f"{dates} · {days} day{'s' * (days != 1)} · {len(intervals)} intervals"),
        ("Participants", f"{len(people):,} ({with_pv:,} with PV)"),
        ("Meters", f"{with_pv + with_load:,} ({with_pv:,} PV, {with_load:,} consumption)"),
        (
            "Readings accepted / rejected",
            f"{int(intervals['readings_accepted'].sum()):,} / {int(intervals['readings_rejected'].sum()):,}",
        ),
        (
            "PV energy: profiles / minted",
            f"{intervals['pv_profile_wh'].sum() / 1000:,.1f} / {_kwh(run_totals.minted_wh)}",
        ),
        ("Consumption metered", _kwh(metered)),
        ("Burned by consumption", _kwh(burned)),
        ("Traded peer-to-peer", _kwh(int(intervals["peer_to_peer_wh"].sum()))),
        ("Exported to utility", _kwh(int(intervals["exported_to_utility_wh"].sum()))),
        ("Imported from utility", _kwh(metered - burned)),
        ("Self-consumption (burned by consumption / minted)", run_totals.self_consumption),
        ("Self-sufficiency (burned by consumption / metered consumption)", run_totals.self_sufficiency),
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
        *_grid_kpis(result, tables.grid),
        *_carbon_kpis(tables.carbon),
        ("Chain backend", f"{result.backend}, gas: {gas_kind(result)}"),
        ("Wall time", f"{wall_s:,.1f} s (setup {result.setup_seconds:,.1f} s)"),
    ]


def _kg(grams: float) -> str:
    return f"{grams / 1000:,.1f} kg CO2e"


def _carbon_kpis(carbon: Frame) -> list[tuple[str, str]]:
    issued = int(carbon["issued_g"].sum())
    return [
        (
            "Carbon credits issued (certificates)",
            f"{_kg(issued)} ({int(carbon['certificates_issued'].sum()):,})",
        ),
        (
            "Credits retired: by holders / from the pool",
            f"{_kg(int(carbon['retired_g'].sum()) - int(carbon['retired_from_pool_g'].sum()))} / "
            f"{_kg(int(carbon['retired_from_pool_g'].sum()))}",
        ),
        ("Credits pooled", _kg(int(carbon["pooled_g"].sum()))),
        (
            "Credits traded on the exchange",
            f"{_kg(int(carbon['traded_g'].sum()))} for {_dollars(int(carbon['traded_payment_units'].sum()))}",
        ),
    ]


def kpis(result: SimulationResult) -> list[tuple[str, str]]:
    """The run's headline numbers as (label, formatted value), in reading order."""
    return _kpis(result, report_tables(result))


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
            f"{r.gas_per_item:,.0f} / {item_name(r.function)}",
        ]
        for r in gas.itertuples()
    ]
    return _html_table(["function (phase)", "transactions", "gas", "items", "gas / tx", "gas / item"], rows)


def _traders_table(ranking: Ranking, participants: Frame) -> str:
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


_GRID_NOTE = (
    "Each interval the grid operator power-flows the interval without exports and publishes an "
    "export envelope: what each participant may export without overloading a line or transformer "
    "or raising a voltage beyond its band; inverters hold exports to it and curtail the rest of "
    "the PV. After the interval a zone with a limit violation goes into emergency (its "
    "participants do not trade until governance ends it); otherwise a zone is in peak for the "
    "next interval while one of its limits held the envelope below what was offered (buyers there "
    "pay the higher peak grid fee)."
)


def _grid_html(result: SimulationResult, image: str) -> str:
    """The page's grid section: what the operator does, the grid plot and the zones' states."""
    rows = [
        [
            str(r.zone_id),
            r.name,
            f"{r.intervals_in_peak:,}",
            f"{r.intervals_in_emergency:,}",
            f"{r.bus_minutes_outside_5_percent:,}",
            f"{r.bus_minutes_outside_10_percent:,}",
            f"{r.interruptions:,}",
            f"{r.interruption_minutes:,}",
            f"{r.customer_minutes_interrupted:,}",
        ]
        for r in zone_intervals(result).itertuples()
    ]
    headers = [
        "zone",
        "name",
        "intervals in peak",
        "intervals in emergency",
        "bus-minutes outside ±5 %",
        "outside ±10 %",
        "interruptions",
        "minutes",
        "customer-minutes",
    ]
    zones = _html_table(headers, rows, 2)
    return f"<h2>Grid</h2>\n<p class=muted>{html.escape(_GRID_NOTE)}</p>\n{image}\n{zones}\n"


_CARBON_NOTE = (
    "Just after each day ends the verifier certifies every PV meter's energy minted that day: "
    "credits (1 g = 1 g CO2e avoided) = energy x the region's emission factor, each lot used once. "
    "Prosumers then retire their credits, deposit them in the platform's pool (and retire half of "
    "the pool tokens for the municipality), or offer them on the carbon/payment exchange, where a "
    "local business buys what is within its limit price and retires it."
)


def _carbon_html(tables: ReportTables) -> str:
    """The page's carbon section: credits per day and region, and the retirements."""
    columns = [
        *("certificates_issued", "energy_wh", "issued_g", "retired_g"),
        *("pooled_g", "retired_from_pool_g", "traded_g"),
    ]
    periods = _html_table(
        [
            "day",
            "region",
            "certificates",
            "energy Wh",
            "issued g",
            "retired g",
            "pooled g",
            "retired from pool g",
        ],
        [
            [str(row["period"]), str(row["region"]), *(f"{int(row[c]):,}" for c in columns)]
            for row in tables.carbon.to_dict("records")
        ],
        2,
    )
    retirements = tables.retirements
    by_beneficiary = (
        retirements.groupby(["beneficiary", "purpose"], as_index=False)["co2e_g"].agg(["count", "sum"])
        if len(retirements)
        else retirements
    )
    beneficiaries = _html_table(
        ["beneficiary", "purpose", "retirements", "g CO2e"],
        [
            [
                _short(str(row["beneficiary"])),
                str(row["purpose"]),
                f"{int(row['count']):,}",
                f"{int(row['sum']):,}",
            ]
            for row in by_beneficiary.to_dict("records")
        ][:12],
        2,
    )
    return (
        f"<h2>Carbon credits</h2>\n<p class=muted>{html.escape(_CARBON_NOTE)}</p>\n{periods}\n"
        f"<h3>Retirements by beneficiary</h3>\n{beneficiaries}\n"
    )


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
    tables: ReportTables,
    headline: list[tuple[str, str]],
    images: dict[str, bytes],
    reconciliation: list[str] | None,
) -> str:
    grid = html.escape(result.community.grid_code)
    dates = html.escape(_period(result)[0])
    backend = html.escape(result.backend)

    def img(plot: Plot) -> str:
        data = base64.b64encode(images[plot.file_name]).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{html.escape(plot.alt)}">'

    cards = "".join(
        f"<div class=kpi><div class=label>{html.escape(label)}</div>"
        f"<div class=value>{html.escape(value)}</div></div>"
        for label, value in headline
    )
    energy_traded, community, minted, gas, traders = (img(p) for p in PLOTS)
    # Without a modelled grid the page has no grid section: its KPI row says why.
    grid_section = "" if tables.grid is None else _grid_html(result, img(GRID_PLOT))
    contracts = _html_table(
        ["contract", "address"], [[name, address] for name, address in vars(result.system).items()], 2
    )
    data_files = ", ".join(
        f"<a href={name}>{name}</a>" for name in [*(f"{t}.csv" for t in tables.by_name()), _SQLITE]
    )
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
{grid_section}<h2>Energy tokens</h2>
{minted}
{_carbon_html(tables)}<h2>Gas</h2>
{gas}
<p class=muted>{html.escape(_gas_note(result))}</p>
{_gas_table(tables.gas)}
<h2>Top traders</h2>
{traders}
<div class=pair>
{"".join(_traders_table(ranking, tables.participants) for ranking in RANKINGS)}
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
_SQLITE = "simulation.sqlite"
REPORT_PAGE = "report.html"
CARBON_EVENTS_FILE = "carbon-events.json"


def write_report(
    result: SimulationResult,
    out_dir: Path,
    reconciliation: list[str] | None = None,
    indexed: IndexedRun | None = None,
) -> Path:
    """Writes report.html, the plots as PNG, the CSV tables and simulation.sqlite into `out_dir`.

    `reconciliation` lists the differences found between chain state and the run: empty when
    everything reconciles, None when nobody checked. `indexed`: the run as its index holds it
    (`simulate --index`), whose fills and interval readings the report then shows. Returns the
    path of report.html.

    The files are staged beside `out_dir` and moved in at the end (`output.staged_dir`): a
    failure leaves `out_dir` as it was, and the old files, broken or not, are never read.
    """
    tables = report_tables(result, indexed)
    named = tables.by_name()
    # A grid run written here before would otherwise leave its grid beside this run's data.
    superseded = (f"{GRID_TABLE}.csv", f"{BUS_QUALITY_TABLE}.csv", GRID_PLOT.file_name)
    with staged_dir(out_dir, superseded) as staging:
        for name, frame in named.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
        with closing(sqlite3.connect(staging / _SQLITE)) as connection, connection:
            for name, frame in named.items():
                frame.to_sql(name, connection, index=False)
        images = {plot.file_name: render(plot, result, tables) for plot in plots(tables)}
        for file_name, png in images.items():
            (staging / file_name).write_bytes(png)
        save_logs(
            staging / CARBON_EVENTS_FILE,
            result.system.carbon,
            [result.system.carbon_pool],
            result.carbon_logs,
            [result.system.carbon_exchange],
        )
        page = _page(result, tables, _kpis(result, tables), images, reconciliation)
        (staging / REPORT_PAGE).write_text(page, encoding="utf-8")
    return out_dir / REPORT_PAGE
