// The participants' web app: hash routes, the wallet bar, and the index poll that refreshes
// the page in view whenever the indexer advances.

import * as api from "./api.js";
import { read } from "./contracts.js";
import { announce, describeError, fill, fmt, h } from "./ui.js";
import {
  availableWallets,
  connect,
  disconnect,
  discover,
  onRightChain,
  onWalletChange,
  switchChain,
  wallet,
} from "./wallet.js";
import carbonPage from "./pages/carbon.js";
import communityPage from "./pages/community.js";
import participantPage from "./pages/participant.js";
import tradePage from "./pages/trade.js";

const PAGES = { participant: participantPage, trade: tradePage, carbon: carbonPage, community: communityPage };
const POLL_MS = 5000;

/** What every page may use: the index status, the payment token, the wallet. */
export const ctx = {
  status: null,
  token: null, // { address, decimals, symbol } once read from the chain
  wallet,
  params: [],
  get deployment() {
    return this.status ? this.status.deployment : {};
  },
  canTransact() {
    return Boolean(onRightChain());
  },
};

let current = null;
let renderSeq = 0;

function route() {
  const [name, ...params] = (window.location.hash.replace(/^#\/?/, "") || "community").split("/");
  return { name: PAGES[name] ? name : "community", params };
}

async function show() {
  const { name, params } = route();
  ctx.params = params;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const main = document.getElementById("main");
  const page = PAGES[name];
  current = page;
  document.title = `${page.title} — GridLedger`;
  const seq = ++renderSeq;
  fill(main, h("h1", {}, page.title));
  const body = h("div", { class: "page" });
  main.append(body);
  try {
    await page.render(body, ctx);
  } catch (error) {
    if (seq === renderSeq) announce(describeError(error), "error");
  }
}

async function refresh() {
  if (!current || !current.refresh) return;
  try {
    await current.refresh(ctx);
  } catch (error) {
    announce(describeError(error), "error");
  }
}

// ------------------------------------------------------------------ status poll
async function poll() {
  let changed = false;
  try {
    const status = await api.get("/status");
    changed = !ctx.status || status.cursor_block !== ctx.status.cursor_block || status.reorgs !== ctx.status.reorgs;
    const first = !ctx.status;
    ctx.status = status;
    wallet.expectedChainId = status.chain_id;
    fill(
      document.getElementById("index-status"),
      `Chain ${status.chain_id} · indexed to block ${fmt.int(status.cursor_block)} of ${fmt.int(status.head_block)}`,
      status.lag_blocks ? ` (${fmt.int(status.lag_blocks)} behind)` : " (up to date)",
    );
    if (first) {
      renderWallet();
      await show();
      return;
    }
  } catch (error) {
    fill(document.getElementById("index-status"), `Index unavailable: ${describeError(error)}`);
  }
  if (changed) await refresh();
}

// ------------------------------------------------------------------ wallet bar
async function loadToken() {
  ctx.token = null;
  if (!ctx.canTransact() || !ctx.deployment.payment_token) return;
  const address = ctx.deployment.payment_token;
  try {
    const [decimals] = await read("TestStablecoin", address, "decimals");
    const [symbol] = await read("TestStablecoin", address, "symbol");
    ctx.token = { address, decimals: Number(decimals), symbol };
  } catch (error) {
    announce(`The payment token could not be read: ${describeError(error)}`, "error");
  }
}

function renderWallet() {
  const area = document.getElementById("wallet-area");
  const banner = document.getElementById("chain-banner");
  if (!wallet.account) {
    fill(area, h("button", { type: "button", id: "connect-wallet", onclick: chooseWallet }, "Connect wallet"));
    banner.hidden = true;
    return;
  }
  fill(
    area,
    h(
      "span",
      { class: "account", "data-testid": "account", title: wallet.account },
      h("span", { class: "visually-hidden" }, "Connected account "),
      fmt.short(wallet.account),
      wallet.info ? ` · ${wallet.info.name}` : "",
    ),
    h("button", { type: "button", class: "secondary", onclick: () => disconnect() }, "Disconnect"),
  );
  if (wallet.expectedChainId !== null && wallet.chainId !== wallet.expectedChainId) {
    banner.hidden = false;
    fill(
      banner,
      h("span", {}, `Wrong network: your wallet is on chain ${wallet.chainId}, and this market runs on chain ${wallet.expectedChainId}. `),
      h("button", { type: "button", id: "switch-chain", onclick: doSwitch }, "Switch network"),
    );
  } else {
    banner.hidden = true;
  }
}

async function doSwitch() {
  try {
    await switchChain(ctx.status && ctx.status.rpc_url);
    announce(`Switched to chain ${wallet.chainId}.`, "ok");
  } catch (error) {
    announce(describeError(error), "error");
  }
}

async function connectTo(uuid) {
  try {
    const account = await connect(uuid);
    announce(account ? `Connected ${account}.` : "The wallet gave no account.", account ? "ok" : "error");
  } catch (error) {
    announce(describeError(error), "error");
  }
}

async function chooseWallet() {
  discover();
  await new Promise((resolve) => setTimeout(resolve, 200)); // announcements arrive synchronously or soon
  const wallets = availableWallets();
  if (!wallets.length) {
    announce("No wallet found. Install a browser wallet (for example MetaMask) and reload.", "error");
    return;
  }
  if (wallets.length === 1) {
    await connectTo(wallets[0].info.uuid);
    return;
  }
  const dialog = document.getElementById("wallet-chooser");
  fill(
    document.getElementById("wallet-list"),
    wallets.map((w) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "wallet-choice",
            onclick: async () => {
              dialog.close();
              await connectTo(w.info.uuid);
            },
          },
          w.info.icon ? h("img", { src: w.info.icon, alt: "", width: "24", height: "24" }) : null,
          w.info.name,
        ),
      ),
    ),
  );
  dialog.showModal();
}

let lastKey = "";
onWalletChange(async () => {
  renderWallet();
  const key = `${wallet.account}|${wallet.chainId}`;
  if (key === lastKey || !ctx.status) return;
  lastKey = key;
  await loadToken();
  await show();
});

window.addEventListener("hashchange", () => {
  show();
  document.getElementById("main").focus({ preventScroll: true });
});

discover();
renderWallet();
poll();
setInterval(poll, POLL_MS);
