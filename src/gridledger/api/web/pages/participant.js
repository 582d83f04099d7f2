// A participant's position: energy (live and expiring), payments, escrow, meters, trades, carbon.

import * as api from "../api.js";
import { read } from "../contracts.js";
import { announce, describeError, figures, fill, fmt, h, table } from "../ui.js";

let root = null;
let content = null;

function who(ctx) {
  const asked = ctx.params[0];
  if (asked && /^0x[0-9a-fA-F]{40}$/.test(asked)) return asked.toLowerCase();
  return ctx.wallet.account;
}

function lookupForm() {
  const input = h("input", { type: "text", name: "address", inputmode: "text", autocomplete: "off", spellcheck: "false", placeholder: "0x…", pattern: "0x[0-9a-fA-F]{40}" });
  return h(
    "form",
    {
      class: "inline-form",
      onsubmit: (event) => {
        event.preventDefault();
        if (!/^0x[0-9a-fA-F]{40}$/.test(input.value.trim())) {
          announce("An address is 0x and 40 hex digits.", "error");
          return;
        }
        window.location.hash = `#/participant/${input.value.trim()}`;
      },
    },
    h("label", { for: "lookup-address" }, "Look up a participant"),
    Object.assign(input, { id: "lookup-address" }),
    h("button", { type: "submit", class: "secondary" }, "Show"),
  );
}

async function chainFigures(ctx, address) {
  if (!ctx.canTransact()) return null;
  const d = ctx.deployment;
  const [[currentWh, previousWh], [epochSeconds], [paymentEscrow, energyEscrow]] = await Promise.all([
    read("EnergyToken", d.token, "liveBuckets", [address]),
    read("EnergyToken", d.token, "epochSeconds"),
    read("EnergyMarket", d.market, "accountOf", [address]),
  ]);
  const [wallet] = await read("TestStablecoin", d.payment_token, "balanceOf", [address]);
  const block = await ctx.wallet.provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] });
  const now = Number.parseInt(block.timestamp, 16);
  const epoch = Number(epochSeconds);
  const epochEnd = (Math.floor(now / epoch) + 1) * epoch;
  return { currentWh, previousWh, epochEnd, wallet, paymentEscrow, energyEscrow };
}

async function draw(ctx) {
  const address = who(ctx);
  const body = h("div", {});
  if (!address) {
    fill(content, h("p", {}, "Connect your wallet to see your energy, or look up any participant's address."));
    return;
  }
  const summary = await api.getOrNull(`/participants/${address}`);
  const title = h("p", { class: "subject" }, "Participant ", h("code", { "data-testid": "participant-address" }, address));
  if (!summary) {
    fill(content, title, h("p", {}, "The index has not seen this address as a participant, trader or meter owner yet."));
    return;
  }
  let chain = null;
  try {
    chain = await chainFigures(ctx, address);
  } catch (error) {
    announce(`Chain figures unavailable: ${describeError(error)}`, "error");
  }
  const token = ctx.token;
  const energy = h("section", { "aria-labelledby": "h-energy" }, h("h2", { id: "h-energy" }, "Energy"));
  const items = [
    ["Verified participant", summary.verified === null ? "not verified yet" : summary.verified ? `yes (jurisdiction ${summary.jurisdiction})` : "no"],
    ["Energy held (index)", fmt.kwh(summary.energy_balance_wh), "energy-indexed"],
  ];
  if (chain) {
    items.push(
      ["Live energy", fmt.kwh(BigInt(chain.currentWh) + BigInt(chain.previousWh)), "energy-live"],
      [`Expiring at ${fmt.time(chain.epochEnd)}`, fmt.kwh(chain.previousWh), "energy-expiring"],
    );
  } else {
    items.push(["Live and expiring energy", "connect your wallet on the market's chain to read them"]);
  }
  energy.append(figures(items));

  const money = h("section", { "aria-labelledby": "h-money" }, h("h2", { id: "h-money" }, "Payments and escrow"));
  const moneyItems = [
    ["Payment escrow (index)", summary.payment_escrow_units === null ? "unknown (peak fees)" : fmt.money(summary.payment_escrow_units, token), "escrow-payment-indexed"],
    ["Energy escrow (index)", fmt.kwh(summary.energy_escrow_wh), "escrow-energy-indexed"],
  ];
  if (chain) {
    moneyItems.unshift(
      ["Payment balance in wallet", fmt.money(chain.wallet, token), "payment-balance"],
      ["Payment escrow", fmt.money(chain.paymentEscrow, token), "escrow-payment"],
      ["Energy escrow", fmt.kwh(chain.energyEscrow), "escrow-energy"],
    );
  }
  money.append(figures(moneyItems));

  const meters = h("section", { "aria-labelledby": "h-meters" }, h("h2", { id: "h-meters" }, "Meters"));
  const devices = await Promise.all(summary.devices.map((d) => api.get(`/devices/${d.device_id}`)));
  meters.append(
    table(
      "Meters and their last readings",
      ["Meter", "Kind", "Status", "Node", "Last accepted interval", "Import register", "Export register", "Readings"],
      devices.map((d) => {
        const readings = d.last_readings || [];
        const last = readings.find((r) => r.outcome === "accepted");
        const newest = readings[0];
        const refused = newest && newest.outcome !== "accepted" ? `; newest refused (${newest.reason || newest.outcome})` : "";
        return [
          h("span", { title: d.device }, `#${d.device_id} ${d.source}`),
          d.kind,
          d.status,
          String(d.grid_node_id),
          last && last.interval_start !== null ? fmt.time(last.interval_start) : "–",
          last && last.import_wh !== null ? fmt.kwh(last.import_wh) : "–",
          last && last.export_wh !== null ? fmt.kwh(last.export_wh) : "–",
          last ? `accepted${refused}` : newest ? `none accepted${refused}` : "no reading yet",
        ];
      }),
      "no meters registered to this participant.",
    ),
  );

  const trades = await api.get(`/participants/${address}/trades`, { limit: 100 });
  const tradeSection = h("section", { "aria-labelledby": "h-trades" }, h("h2", { id: "h-trades" }, `Trades (${summary.trade_count})`));
  const bought = trades.items.filter((t) => t.side === "buy");
  const sold = trades.items.filter((t) => t.side === "sell");
  tradeSection.append(
    figures([
      ["Bought", fmt.kwh(bought.reduce((s, t) => s + t.filled_wh, 0)), "bought"],
      ["Paid (with grid fees)", fmt.money(bought.reduce((s, t) => s + t.payment_units + (t.grid_fee_units || 0), 0), token)],
      ["Sold", fmt.kwh(sold.reduce((s, t) => s + t.filled_wh, 0)), "sold"],
      ["Received", fmt.money(sold.reduce((s, t) => s + t.payment_units, 0), token)],
    ]),
    table(
      "Trades",
      ["Interval", "Side", "Energy", "Price", "Amount", "Grid fee", "Block"],
      trades.items
        .slice()
        .reverse()
        .map((t) => [
          fmt.time(t.interval_start),
          t.side === "buy" ? "bought" : "sold",
          fmt.kwh(t.filled_wh),
          fmt.pricePerKwh(t.clearing_price_per_kwh, token),
          fmt.money(t.payment_units, token),
          t.grid_fee_units === null ? (t.side === "buy" ? "unknown" : "–") : fmt.money(t.grid_fee_units, token),
          `${t.block_number}${t.confirmed ? "" : " (unconfirmed)"}`,
        ]),
      "no trades yet.",
    ),
  );

  const carbon = h("section", { "aria-labelledby": "h-carbon" }, h("h2", { id: "h-carbon" }, "Carbon credits"));
  carbon.append(
    figures([
      ["Credits held", fmt.grams(summary.carbon.held_co2e_grams), "carbon-held"],
      ["Credits retired", fmt.grams(summary.carbon.retired_co2e_grams), "carbon-retired"],
    ]),
    summary.carbon.held.length
      ? table("Credits by certificate", ["Certificate", "Held"], summary.carbon.held.map((c) => [`#${c.certificate_id}`, fmt.grams(c.co2e_grams)]))
      : h("p", {}, "No carbon certificates held."),
  );
  body.append(title, energy, money, meters, tradeSection, carbon);
  fill(content, body);
}

export default {
  title: "My energy",
  async render(container, ctx) {
    root = container;
    content = h("div", {});
    fill(root, lookupForm(), content);
    root.setAttribute("aria-busy", "true");
    try {
      await draw(ctx);
    } finally {
      root.removeAttribute("aria-busy");
    }
  },
  async refresh(ctx) {
    if (root && root.isConnected) await draw(ctx);
  },
};
