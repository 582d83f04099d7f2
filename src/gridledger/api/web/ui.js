// Small DOM and formatting helpers shared by the pages.

/** Create an element: h("p", {class: "x", onclick: fn}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A labelled form field: label + control (+ hint), ids wired for assistive technology. */
export function field(id, label, control, hint) {
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("small", { id: hintId, class: "hint" }, hint));
  }
  return h("div", { class: "field" }, ...parts);
}

/** A table with a caption; rows are arrays of cells (strings or nodes). */
export function table(caption, headers, rows, empty = "None yet.") {
  if (!rows.length) return h("p", { class: "empty" }, `${caption}: ${empty}`);
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell) => h("td", {}, cell))))),
    ),
  );
}

/** A definition list of figures: [[term, value, testid?], ...]. */
export function figures(items) {
  return h(
    "dl",
    { class: "figures" },
    items.map(([term, value, testid]) =>
      h("div", { class: "figure" }, h("dt", {}, term), h("dd", testid ? { "data-testid": testid } : {}, value)),
    ),
  );
}

const live = () => document.getElementById("status-message");

/** Say something in the aria-live status region (kind: info | ok | error). */
export function announce(message, kind = "info") {
  const region = live();
  if (!region) return;
  region.dataset.kind = kind;
  region.textContent = message;
}

/** An error as words for the participant: API problems, wallet refusals, reverts. */
export function describeError(error) {
  if (!error) return "Something went wrong.";
  if (error.problem) {
    const { title, detail } = error.problem;
    return detail ? `${title}: ${detail}` : title;
  }
  if (error.name === "WalletError") return error.message; // the page's own words
  if (error.code === 4001) return "You rejected the request in your wallet.";
  if (error.code === 4100) return "The wallet has not authorised this site; connect it first.";
  if (error.code === 4902) return "Your wallet does not know this chain.";
  return error.message || String(error);
}

// ------------------------------------------------------------------ formatting
const kwhFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
const intFormat = new Intl.NumberFormat();

/** Whole base units (Number, BigInt or decimal text) as exact decimal text with `decimals`
 *  places, which Intl formats without going through a float; null if not a whole number. */
function decimalText(units, decimals) {
  let n;
  try {
    n = BigInt(units);
  } catch {
    return null;
  }
  const sign = n < 0n ? "-" : "";
  if (n < 0n) n = -n;
  const scale = 10n ** BigInt(decimals);
  const fraction = decimals ? `.${(n % scale).toString().padStart(decimals, "0")}` : "";
  return `${sign}${n / scale}${fraction}`;
}

export const fmt = {
  /** Wh as kWh with three decimals (exact to the Wh). */
  kwh(wh) {
    if (wh === null || wh === undefined) return "unknown";
    return `${kwhFormat.format(decimalText(wh, 3) ?? Number(wh) / 1000)} kWh`;
  },
  int(n) {
    return n === null || n === undefined ? "unknown" : intFormat.format(Number(n));
  },
  grams(g) {
    if (g === null || g === undefined) return "unknown";
    const n = Number(g);
    return n >= 10000 ? `${kwhFormat.format(n / 1e6)} t CO₂e` : `${intFormat.format(n)} g CO₂e`;
  },
  /** Payment-token base units, in the token's decimals once the chain told us them. */
  money(units, token) {
    if (units === null || units === undefined) return "unknown";
    if (!token || token.decimals === undefined) return `${intFormat.format(Number(units))} units`;
    const format = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: Math.max(2, Math.min(token.decimals, 6)) });
    return `${format.format(decimalText(units, token.decimals) ?? Number(units) / 10 ** token.decimals)} ${token.symbol}`;
  },
  pricePerKwh(units, token) {
    return `${fmt.money(units, token)}/kWh`;
  },
  time(seconds) {
    if (!seconds && seconds !== 0) return "unknown";
    return new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  },
  short(address) {
    return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "";
  },
};

export const INTERVAL_SECONDS = 900;
