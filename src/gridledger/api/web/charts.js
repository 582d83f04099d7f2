// uPlot charts: drag across a chart to zoom into a span, double-click to zoom out. Each chart
// also offers its numbers as a table for screen readers and keyboard users.

import uPlot from "./vendor/uPlot.esm.js";
import { h, table } from "./ui.js";

const COLOURS = ["#005a9c", "#b3360b", "#1b6e20", "#6a1b9a"];

/**
 * A time-series chart into `container`: `x` unix seconds, `series` [{label, values, unit, format}].
 * Returns the uPlot instance (destroyed when the container is emptied by the next render).
 */
export function timeChart(container, title, x, series, span = null) {
  const figure = h("figure", { class: "chart" });
  const plotBox = h("div", { class: "plot", role: "img", "aria-label": `${title}: chart of ${x.length} intervals` });
  figure.append(h("figcaption", {}, title), plotBox);
  const rows = x.map((t, i) => [new Date(t * 1000).toISOString().slice(11, 16), ...series.map((s) => s.format(s.values[i]))]);
  figure.append(
    h(
      "details",
      {},
      h("summary", {}, `${title} as a table`),
      table(title, ["UTC", ...series.map((s) => s.label)], rows),
    ),
  );
  container.append(figure);
  if (!x.length) {
    plotBox.append(h("p", { class: "empty" }, "No data for this day."));
    return null;
  }
  const width = () => Math.max(280, plotBox.clientWidth || container.clientWidth || 320);
  const plot = new uPlot(
    {
      width: width(),
      height: 220,
      cursor: { drag: { x: true, y: false } },
      scales: { x: span ? { time: true, range: () => span } : { time: true } },
      series: [
        { label: "time" },
        ...series.map((s, i) => ({
          label: `${s.label}`,
          stroke: COLOURS[i % COLOURS.length],
          width: 2,
          value: (_, v) => (v === null || v === undefined ? "–" : s.format(v)),
          scale: s.unit,
        })),
      ],
      axes: [
        { stroke: "#222" },
        ...series.slice(0, 2).map((s, i) => ({
          scale: s.unit,
          side: i === 0 ? 3 : 1,
          stroke: "#222",
          grid: { show: i === 0 },
          label: s.unit,
          size: 64,
        })),
      ],
    },
    [x, ...series.map((s) => s.values)],
    plotBox,
  );
  const observer = new ResizeObserver(() => {
    if (!plotBox.isConnected) {
      observer.disconnect();
      plot.destroy();
      return;
    }
    plot.setSize({ width: width(), height: 220 });
  });
  observer.observe(plotBox);
  return plot;
}
