// The community dashboard: prices, volumes and self-sufficiency of a chosen day (uPlot charts;
// drag to zoom, double-click to zoom out), the day's totals and the grid zones' state.

import * as api from "../api.js";
import { timeChart } from "../charts.js";
import { announce, describeError, field, figures, fill, fmt, h, table } from "../ui.js";

const DAY = 86_400;
let panels = null;
let day = null; // unix seconds of the chosen day's 00:00 UTC

function dayOf(seconds) {
  return seconds - (seconds % DAY);
}

function isoDay(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

async function newestDay() {
  const report = await api.get("/reports/regulator");
  return dayOf(Math.max(0, report.to - 1));
}

async function selfSufficiency(from, to) {
  const { items } = await api.get("/community/energy", { from, to });
  return {
    starts: items.map((i) => i.interval_start),
    generated: items.map((i) => i.generated_wh),
    consumed: items.map((i) => i.consumed_wh),
  };
}

async function drawDay(ctx) {
  const from = day;
  const to = day + DAY;
  const [intervals, report, own] = await Promise.all([
    api.all("/intervals", { from, to }, 2),
    api.get("/reports/regulator", { from, to }),
    selfSufficiency(from, to),
  ]);
  const settled = intervals.items.filter((i) => i.settled);
  const x = settled.map((i) => i.interval_start);
  const token = ctx.token;
  const priceScale = token ? 10 ** token.decimals : 1;
  const priceUnit = token ? `${token.symbol}/kWh` : "units/kWh";
  const totalGenerated = own.generated.reduce((a, b) => a + b, 0);
  const totalConsumed = own.consumed.reduce((a, b) => a + b, 0);
  const covered = own.starts.reduce((s, _, i) => s + Math.min(own.generated[i], own.consumed[i]), 0);
  fill(
    panels.totals,
    h("h2", { id: "h-totals" }, `The day ${isoDay(day)} (UTC)`),
    figures([
      ["Energy generated (minted)", fmt.kwh(report.energy_minted_wh), "day-minted"],
      ["Energy traded", fmt.kwh(report.traded_wh), "day-traded"],
      ["Intervals settled", fmt.int(report.intervals_settled), "day-intervals"],
      ["Self-sufficiency", totalConsumed ? `${((100 * covered) / totalConsumed).toFixed(1)} %` : "no consumption metered", "day-self-sufficiency"],
      ["Readings accepted / rejected", `${fmt.int(report.readings_accepted)} / ${fmt.int(report.readings_rejected)}`],
      ["Carbon credits issued / retired", `${fmt.grams(report.certificates_issued_co2e_grams)} / ${fmt.grams(report.credits_retired_co2e_grams)}`],
    ]),
    totalGenerated || totalConsumed ? null : h("p", {}, "No metered generation or consumption on this day."),
  );
  fill(panels.charts);
  timeChart(panels.charts, "Clearing price", x, [
    { label: "Clearing price", unit: priceUnit, values: settled.map((i) => i.settlement.clearing_price_per_kwh / priceScale), format: (v) => `${Number(v).toFixed(token ? 4 : 0)} ${priceUnit}` },
  ], [from, to]);
  timeChart(panels.charts, "Traded volume", x, [
    { label: "Volume", unit: "kWh", values: settled.map((i) => i.settlement.volume_wh / 1000), format: (v) => `${Number(v).toFixed(3)} kWh` },
  ], [from, to]);
  timeChart(panels.charts, "Generation, consumption and self-sufficiency", own.starts, [
    { label: "Generated", unit: "kWh", values: own.generated.map((w) => w / 1000), format: (v) => `${Number(v).toFixed(3)} kWh` },
    { label: "Consumed", unit: "kWh", values: own.consumed.map((w) => w / 1000), format: (v) => `${Number(v).toFixed(3)} kWh` },
    {
      label: "Self-sufficiency",
      unit: "%",
      values: own.starts.map((_, i) => (own.consumed[i] ? (100 * Math.min(own.generated[i], own.consumed[i])) / own.consumed[i] : null)),
      format: (v) => (v === null ? "–" : `${Number(v).toFixed(1)} %`),
    },
  ]);
}

async function drawZones() {
  const zones = (await api.get("/grid/zones")).items;
  fill(
    panels.zones,
    h("h2", { id: "h-zones" }, "Grid zones"),
    table(
      "Zones and their state",
      ["Zone", "Parent", "State", "Capacity", "Losses reported"],
      zones.map((z) => [
        `#${z.zone_id}`,
        z.parent_zone_id ? `#${z.parent_zone_id}` : "–",
        h("span", { class: `zone-state zone-${String(z.state).toLowerCase()}` }, z.state),
        fmt.kwh(z.capacity_wh),
        fmt.kwh(z.losses_wh_total),
      ]),
      "no zones created yet.",
    ),
  );
}

function dayPicker(ctx) {
  const input = h("input", { type: "date", value: isoDay(day), required: true });
  const go = async (delta) => {
    day += delta * DAY;
    input.value = isoDay(day);
    await redraw(ctx);
  };
  input.addEventListener("change", async () => {
    if (!input.value) return;
    day = Date.parse(`${input.value}T00:00:00Z`) / 1000;
    await redraw(ctx);
  });
  return h(
    "div",
    { class: "day-picker" },
    h("button", { type: "button", class: "secondary", onclick: () => go(-1) }, "Previous day"),
    field("dashboard-day", "Day (UTC)", input),
    h("button", { type: "button", class: "secondary", onclick: () => go(1) }, "Next day"),
  );
}

async function redraw(ctx) {
  try {
    await drawDay(ctx);
  } catch (error) {
    announce(describeError(error), "error");
  }
}

export default {
  title: "Community",
  async render(container, ctx) {
    if (day === null) day = await newestDay();
    panels = {
      totals: h("section", { "aria-labelledby": "h-totals" }),
      charts: h("section", { class: "charts", "aria-label": "Charts of the day" }),
      zones: h("section", { "aria-labelledby": "h-zones" }),
    };
    container.append(
      h("p", {}, "Drag across a chart to zoom into a span; double-click it to zoom out. The page follows the index as it grows."),
      dayPicker(ctx),
      panels.totals,
      panels.charts,
      panels.zones,
    );
    await Promise.all([drawDay(ctx), drawZones()]);
  },
  async refresh(ctx) {
    if (!panels || !panels.totals.isConnected) return;
    await Promise.all([drawDay(ctx), drawZones()]);
  },
};

