// Trading: the interval in hand, escrow deposits and withdrawals, signed orders, cancellation.

import * as api from "../api.js";
import { getAddress } from "../vendor/ethers.min.js";
import { chainTime, marketDomain, read, send, signCancel, signOrder } from "../contracts.js";
import { announce, describeError, field, figures, fill, fmt, h, INTERVAL_SECONDS, table } from "../ui.js";

const PAIR_ID = 1; // the market's only pair, energy against the payment token (EnergyMarket.PAIR_ID)
// The book's range (gridledger.market.clearing): the API refuses an order outside it, so the
// page refuses it before the wallet is asked to sign.
const MAX_ORDER_ENERGY_WH = 10n ** 9n;
const MAX_PRICE_PER_KWH = 10n ** 9n; // payment-token base units per kWh
const UINT64_MAX = 2n ** 64n - 1n;
let panels = null;

function storeKey(ctx) {
  return `gridledger.orders.${ctx.status.chain_id}.${ctx.wallet.account}`;
}

function myOrders(ctx) {
  try {
    return JSON.parse(localStorage.getItem(storeKey(ctx)) || "[]");
  } catch {
    return [];
  }
}

function saveOrders(ctx, orders) {
  localStorage.setItem(storeKey(ctx), JSON.stringify(orders.slice(-50)));
}

async function now(ctx) {
  // The market's clock is the chain's: the wallet's newest block, else the newest indexed one.
  if (ctx.canTransact()) return chainTime();
  const indexed = ctx.status && ctx.status.cursor_block_time;
  return indexed ?? Math.floor(Date.now() / 1000);
}

/** Decimal text in token units → base units (BigInt); throws on bad input. */
function parseUnits(text, decimals) {
  const clean = String(text).trim();
  if (!/^\d+(\.\d+)?$/.test(clean)) throw new Error(`"${text}" is not an amount`);
  const [whole, frac = ""] = clean.split(".");
  if (frac.length > decimals) throw new Error(`at most ${decimals} decimals`);
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
}

function parseWh(kwhText) {
  const wh = parseUnits(kwhText, 3);
  if (wh <= 0n) throw new Error("the energy must be more than 0 kWh");
  return wh;
}

async function intervalState(start) {
  const interval = await api.getOrNull(`/intervals/${start}`);
  if (!interval) return { label: "open for orders", interval: null };
  if (interval.settled) {
    const s = interval.settlement;
    return { label: `settled: ${fmt.kwh(s.volume_wh)}`, interval };
  }
  if (interval.gate_released.length) return { label: "gate released, not settled", interval };
  if (interval.gate_closed.length) return { label: "gate closed, settling", interval };
  return { label: "open for orders", interval };
}

async function drawInterval(ctx) {
  const t = await now(ctx);
  const current = t - (t % INTERVAL_SECONDS);
  const recent = await api.get("/intervals", { from: current - 4 * 3600, to: current + INTERVAL_SECONDS, limit: 32 });
  const state = await intervalState(current);
  fill(
    panels.interval,
    h("h2", { id: "h-interval" }, "The market now"),
    figures([
      ["Market clock", fmt.time(t), "market-clock"],
      ["Interval in delivery", `${fmt.time(current)} – ${fmt.time(current + INTERVAL_SECONDS).slice(11)}`, "current-interval"],
      ["Its state", state.label, "current-interval-state"],
      ["Next interval taking orders", fmt.time(current + INTERVAL_SECONDS), "next-interval"],
    ]),
    table(
      "Recent intervals",
      ["Interval", "Gate", "Clearing price", "Volume", "Fills"],
      recent.items
        .slice()
        .reverse()
        .map((i) => [
          fmt.time(i.interval_start),
          i.settled ? "settled" : i.gate_released.length ? "released" : i.gate_closed.length ? "closed" : "open",
          i.settlement ? fmt.pricePerKwh(i.settlement.clearing_price_per_kwh, ctx.token) : "–",
          i.settlement ? fmt.kwh(i.settlement.volume_wh) : "–",
          String(i.fill_count),
        ]),
      "no interval closed in the last four hours.",
    ),
  );
  return current;
}

async function drawOrders(ctx) {
  const orders = myOrders(ctx);
  const rows = [];
  for (const saved of orders.slice().reverse()) {
    const state = await intervalState(saved.order.intervalStart);
    const fills = state.interval ? state.interval.fills.filter((f) => f.order_hash.toLowerCase() === saved.orderHash.toLowerCase()) : [];
    const filled = fills.reduce((s, f) => s + f.filled_wh, 0);
    const open = !state.interval || (!state.interval.gate_closed.length && !state.interval.settled);
    let status = saved.cancelled ? "cancelled" : state.interval && state.interval.settled ? (filled ? `filled ${fmt.kwh(filled)}` : "not filled") : state.label;
    rows.push([
      fmt.time(saved.order.intervalStart),
      Number(saved.order.side) === 1 ? "buy" : "sell",
      fmt.kwh(saved.order.energyWh),
      fmt.pricePerKwh(saved.order.limitPricePerKWh, ctx.token),
      h("code", { title: saved.orderHash }, fmt.short(saved.orderHash)),
      h("span", { "data-testid": `order-status-${saved.orderHash}` }, status),
      open && !saved.cancelled
        ? h("button", { type: "button", class: "secondary", onclick: () => cancelOrder(ctx, saved) }, `Cancel order ${fmt.short(saved.orderHash)}`)
        : "–",
    ]);
  }
  fill(panels.orders, h("h2", { id: "h-orders" }, "My orders"), table("Orders placed from this browser", ["Interval", "Side", "Energy", "Limit", "Order", "Status", ""], rows, "none placed from this browser yet."));
}

async function cancelOrder(ctx, saved) {
  try {
    announce("Sign the cancellation in your wallet…");
    const domain = marketDomain(ctx.status.chain_id, ctx.deployment.market);
    const signature = await signCancel(domain, saved.orderHash);
    await api.del(`/orders/${saved.orderHash}`, { signature });
    saveOrders(ctx, myOrders(ctx).map((o) => (o.orderHash === saved.orderHash ? { ...o, cancelled: true } : o)));
    announce(`Order ${fmt.short(saved.orderHash)} cancelled.`, "ok");
    await drawOrders(ctx);
  } catch (error) {
    announce(`The order was not cancelled. ${describeError(error)}`, "error");
  }
}

function orderForm(ctx, nodeId) {
  const side = h("select", { name: "side" }, h("option", { value: "1" }, "Buy energy"), h("option", { value: "0" }, "Sell energy"));
  const interval = h("select", { name: "interval", required: true });
  const energy = h("input", { type: "text", inputmode: "decimal", name: "energy", required: true, value: "1.000" });
  const price = h("input", { type: "text", inputmode: "decimal", name: "price", required: true, value: "0.20" });
  const node = h("input", { type: "text", inputmode: "numeric", name: "node", required: true, value: nodeId ? String(nodeId) : "" });
  const validity = h("input", { type: "number", min: "1", max: "1440", step: "1", name: "validity", required: true, value: "60" });
  const submit = h("button", { type: "submit", id: "place-order" }, "Sign and place order");
  const form = h(
    "form",
    { id: "order-form", "aria-labelledby": "h-order", onsubmit: (e) => placeOrder(e, ctx) },
    h("h2", { id: "h-order" }, "Place an order"),
    field("order-side", "Side", side),
    field("order-interval", "Delivery interval", interval),
    field("order-energy", "Energy (kWh)", energy, "Up to three decimals (1 Wh)."),
    field("order-price", `Limit price (${ctx.token ? ctx.token.symbol : "token"} per kWh)`, price, "Most you pay when buying, least you take when selling."),
    field("order-node", "Grid node", node, "Your connection point in the grid (from your meter)."),
    field("order-validity", "Valid for (minutes after the interval ends)", validity),
    submit,
  );
  return form;
}

async function fillIntervals(current) {
  const select = document.getElementById("order-interval");
  if (!select) return;
  const chosen = select.value;
  fill(
    select,
    [1, 2, 3, 4].map((k) => {
      const start = current + k * INTERVAL_SECONDS;
      return h("option", { value: String(start), selected: String(start) === chosen }, fmt.time(start));
    }),
  );
}

/** A whole number in 1..max (BigInt) from decimal text; throws saying what `what` must be. */
function parseWhole(text, what, max) {
  const clean = String(text).trim();
  if (!/^\d+$/.test(clean) || BigInt(clean) < 1n || BigInt(clean) > max) {
    throw new Error(`${what} is a whole number from 1 to ${max}`);
  }
  return BigInt(clean);
}

/** A random uint64 nonce (one bit of the market's nonce bitmap), exact as a BigInt. */
function randomNonce() {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return (BigInt(high) << 32n) | BigInt(low);
}

async function placeOrder(event, ctx) {
  event.preventDefault();
  if (!ctx.canTransact()) {
    announce("Connect your wallet on the market's chain to sign an order.", "error");
    return;
  }
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const data = new FormData(form);
    const decimals = ctx.token ? ctx.token.decimals : 0;
    // Every uint64 of the order is a BigInt here and decimal text to the wallet and the API:
    // a Number would round anything above 2^53 and the wallet would sign another order.
    const intervalStart = BigInt(data.get("interval"));
    const energyWh = parseWh(data.get("energy"));
    if (energyWh > MAX_ORDER_ENERGY_WH) {
      throw new Error(`${fmt.kwh(energyWh)} is more than the market takes in one order, ${fmt.kwh(MAX_ORDER_ENERGY_WH)}`);
    }
    const limit = parseUnits(data.get("price"), decimals);
    if (limit > MAX_PRICE_PER_KWH) {
      throw new Error(
        `a limit price of ${fmt.pricePerKwh(limit, ctx.token)} is above the market's highest, ${fmt.pricePerKwh(MAX_PRICE_PER_KWH, ctx.token)}`,
      );
    }
    const nodeId = parseWhole(data.get("node"), "the grid node", UINT64_MAX);
    const validity = parseWhole(data.get("validity"), "the validity in minutes", 1440n);
    const order = {
      trader: getAddress(ctx.wallet.account), // checksummed: the order's trader as the book compares it
      side: Number(data.get("side")),
      pairId: PAIR_ID,
      intervalStart: intervalStart.toString(),
      energyWh: energyWh.toString(),
      limitPricePerKWh: limit.toString(),
      gridNodeId: nodeId.toString(),
      expiry: (intervalStart + BigInt(INTERVAL_SECONDS) + 60n * validity).toString(),
      nonce: randomNonce().toString(),
    };
    announce("Sign the order in your wallet…");
    const domain = marketDomain(ctx.status.chain_id, ctx.deployment.market);
    const signed = await signOrder(domain, order);
    const accepted = await api.post("/orders", signed);
    saveOrders(ctx, [...myOrders(ctx), { ...signed, orderHash: accepted.order_hash }]);
    announce(`Order placed for ${fmt.time(intervalStart)}: ${accepted.order_hash}`, "ok");
    await drawOrders(ctx);
  } catch (error) {
    announce(`The order was not placed. ${describeError(error)}`, "error");
  } finally {
    button.disabled = false;
  }
}

function escrowForm(ctx) {
  const amount = h("input", { type: "text", inputmode: "decimal", name: "amount", required: true });
  const what = h("select", { name: "what" }, h("option", { value: "payment" }, `Payment (${ctx.token ? ctx.token.symbol : "token"})`), h("option", { value: "energy" }, "Energy (kWh)"));
  const action = async (event, direction) => {
    event.preventDefault();
    const form = event.target.form;
    if (!form.reportValidity()) return;
    if (!ctx.canTransact()) {
      announce("Connect your wallet on the market's chain first.", "error");
      return;
    }
    const buttons = [...form.querySelectorAll("button")];
    buttons.forEach((b) => (b.disabled = true));
    const d = ctx.deployment;
    const noun = direction === "deposit" ? "deposit" : "withdrawal";
    try {
      const escrow = async () => read("EnergyMarket", d.market, "accountOf", [ctx.wallet.account]);
      const refuseMoreThan = (held, asked, format) => {
        if (asked > BigInt(held)) {
          throw new Error(`Only ${format(held)} is in escrow, less than the ${format(asked)} asked; nothing was withdrawn.`);
        }
      };
      if (what.value === "energy") {
        const wh = parseWh(amount.value);
        if (direction === "withdraw") refuseMoreThan((await escrow())[1], wh, fmt.kwh);
        announce(`Confirm the ${noun} of ${fmt.kwh(wh)} in your wallet…`);
        await send("EnergyMarket", d.market, direction === "deposit" ? "depositEnergy" : "withdrawEnergy", [wh]);
        announce(`${direction === "deposit" ? "Deposited" : "Withdrew"} ${fmt.kwh(wh)}.`, "ok");
      } else {
        const units = parseUnits(amount.value, ctx.token.decimals);
        if (units <= 0n) throw new Error("the amount must be more than 0");
        if (direction === "deposit") {
          const [allowance] = await read("TestStablecoin", d.payment_token, "allowance", [ctx.wallet.account, d.market]);
          if (BigInt(allowance) < units) {
            announce("Approve the market to take the payment, in your wallet (1 of 2)…");
            await send("TestStablecoin", d.payment_token, "approve", [d.market, units]);
          }
          announce("Confirm the deposit in your wallet…");
          await send("EnergyMarket", d.market, "depositPayment", [units]);
        } else {
          refuseMoreThan((await escrow())[0], units, (u) => fmt.money(u, ctx.token));
          announce("Confirm the withdrawal in your wallet…");
          await send("EnergyMarket", d.market, "withdrawPayment", [units]);
        }
        announce(`${direction === "deposit" ? "Deposited" : "Withdrew"} ${fmt.money(units, ctx.token)}.`, "ok");
      }
      await drawEscrow(ctx);
    } catch (error) {
      announce(`The ${noun} failed. ${describeError(error)}`, "error");
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  };
  return h(
    "form",
    { id: "escrow-form", "aria-labelledby": "h-escrow-form", onsubmit: (e) => e.preventDefault() },
    h("h2", { id: "h-escrow-form" }, "Escrow"),
    h("div", { id: "escrow-figures" }),
    field("escrow-what", "Asset", what),
    field("escrow-amount", "Amount", amount),
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", id: "escrow-deposit", onclick: (e) => action(e, "deposit") }, "Deposit"),
      h("button", { type: "submit", id: "escrow-withdraw", class: "secondary", onclick: (e) => action(e, "withdraw") }, "Withdraw"),
    ),
  );
}

async function drawEscrow(ctx) {
  const box = document.getElementById("escrow-figures");
  if (!box || !ctx.canTransact()) return;
  const d = ctx.deployment;
  const [[payment, energy], [held], [balance]] = await Promise.all([
    read("EnergyMarket", d.market, "accountOf", [ctx.wallet.account]),
    read("TestStablecoin", d.payment_token, "balanceOf", [ctx.wallet.account]),
    read("EnergyToken", d.token, "balanceOf", [ctx.wallet.account]),
  ]);
  fill(
    box,
    figures([
      ["Payment in escrow", fmt.money(payment, ctx.token), "trade-escrow-payment"],
      ["Energy in escrow", fmt.kwh(energy), "trade-escrow-energy"],
      ["Payment in wallet", fmt.money(held, ctx.token), "trade-wallet-payment"],
      ["Energy in wallet", fmt.kwh(balance), "trade-wallet-energy"],
    ]),
  );
}

async function defaultNode(ctx) {
  const summary = await api.getOrNull(`/participants/${ctx.wallet.account}`);
  return summary && summary.devices.length ? summary.devices[0].grid_node_id : null;
}

export default {
  title: "Trade",
  async render(container, ctx) {
    panels = {
      interval: h("section", { "aria-labelledby": "h-interval" }),
      orders: h("section", { "aria-labelledby": "h-orders" }),
    };
    if (!ctx.canTransact()) {
      container.append(h("p", { class: "notice" }, "Connect your wallet on the market's chain to trade. The market's state is shown below."));
      container.append(panels.interval);
      await drawInterval(ctx);
      return;
    }
    const node = await defaultNode(ctx);
    container.append(h("div", { class: "columns" }, orderForm(ctx, node), escrowForm(ctx)), panels.orders, panels.interval);
    const current = await drawInterval(ctx);
    await fillIntervals(current);
    await Promise.all([drawOrders(ctx), drawEscrow(ctx)]);
  },
  async refresh(ctx) {
    if (!panels || !panels.interval.isConnected) return;
    const current = await drawInterval(ctx);
    if (ctx.canTransact()) {
      await fillIntervals(current);
      await Promise.all([drawOrders(ctx), drawEscrow(ctx)]);
    }
  },
};
