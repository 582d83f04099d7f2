"""The world the web app's browser tests run in: anvil with the demo community deployed (meters
reporting, a carbon certificate issued to the prosumer), the indexer over it in SQLite, the API
with the web app mounted, served by uvicorn on 127.0.0.1, and a Chromium page whose injected
test wallet signs with the prosumer's key in Python and forwards everything else to anvil
(or several wallets, each with its own key, and on a chain of its own if told). Also what the
page shows as text (kWh, payment units) and its measured text contrast (WCAG 2.x).

Every process and thread started here is stopped when its fixture ends.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright
from web3.types import RPCEndpoint

from gridledger.api.app import ApiSettings, create_app
from gridledger.api.core.orders import Inbox
from gridledger.api.server import api_server
from gridledger.carbon.verifier import CarbonVerifier
from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System, named_account
from gridledger.chain.hashing import keccak
from gridledger.chain.rpc import RpcChain, anvil_node
from gridledger.cli.demo import INTERVAL_S, START_TIME, Participant, build_demo
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.indexer import Indexer
from gridledger.indexer.source import RpcSource
from gridledger.market.escrow import deposit_payment, mint_test_dollars
from gridledger.ops.operator import JsonLog, MarketService, OperatorConfig

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WALLET_JS = Path(__file__).with_name("test_wallet.js")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "screenshots"
GATE_DELAY_S = 60
ANVIL_GENESIS = START_TIME - 500  # before the demo's first block
DOLLARS = 10**6  # TestStablecoin base units per dollar (6 decimals)


@dataclass
class WebWorld:
    api_url: str  # the API
    app_url: str  # the web app it serves (`/` leads there)
    rpc_url: str
    chain: RpcChain
    system: System
    participants: list[Participant]
    indexer: Indexer
    orders: Path
    state: Path
    wallet_key: bytes  # the prosumer's (anna's) trader key, held by the injected wallet
    certificate_id: int | None
    operator_log: list[dict[str, object]] = field(default_factory=list)

    @property
    def wallet_address(self) -> str:
        return str(Account.from_key(self.wallet_key).address)

    def index(self) -> None:
        self.indexer.catch_up()

    def chain_time(self) -> int:
        return self.chain.timestamp

    def settle(self, interval: int) -> list[dict[str, object]]:
        """The market operator's service processes `interval` once the chain's clock has passed
        its gate (as `gridledger operate` does), then the indexer catches up."""
        gate = interval + INTERVAL_S + GATE_DELAY_S
        if self.chain.timestamp < gate:
            self.mine_at(gate)
        lines: list[dict[str, object]] = []
        service = MarketService(
            self.chain,  # RpcChain serves what the service calls
            self.system,
            named_account("market-operator"),
            OperatorConfig(self.orders, self.state, GATE_DELAY_S, 0.05, interval),
            JsonLog(lambda line: lines.append(json.loads(line))),
        )
        service.process(interval)
        self.operator_log.extend(lines)
        self.index()
        return lines

    def mine_at(self, timestamp: int) -> None:
        """A block at `timestamp`: the chain's clock (and so the market's) moves there."""
        self.chain.set_time(timestamp)
        self.chain.w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    def call(self, contract: str, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        return self.chain.call(load_artifact(contract), address, fn, *args)

    def post_order(self, document: dict[str, object]) -> httpx.Response:
        return httpx.post(f"{self.api_url}/api/v1/orders", json=document, timeout=30)


@pytest.fixture(scope="module")
def web_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebWorld]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium")
    tmp = tmp_path_factory.mktemp("web")
    with anvil_node(ANVIL_GENESIS) as rpc_url:
        chain = RpcChain(rpc_url)
        system, participants, _ = build_demo(chain)
        anna, _ben, carla = participants
        deployer = named_account("deployer")
        mint_test_dollars(chain, system, deployer, anna.owner, 50 * DOLLARS)
        mint_test_dollars(chain, system, deployer, carla.owner, 20 * DOLLARS)
        deposit_payment(chain, system, carla.owner, 20 * DOLLARS)
        # Ether for the wallet's gas, from the node's dev faucet (a live network: a faucet).
        chain.w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [anna.owner, hex(10**20)])
        first_interval = START_TIME - START_TIME % INTERVAL_S
        verifier = CarbonVerifier(
            chain, system.carbon, system.registry, system.token, named_account("verifier")
        )
        pending = verifier.pending(anna.device_id, first_interval)
        certificate_id = None if pending is None else verifier.issue(pending)
        engine = open_database(f"sqlite:///{tmp / 'index.db'}")
        migrate(engine)
        indexer = Indexer(engine, RpcSource(rpc_url), dataclasses.asdict(system), confirmation_depth=0)
        indexer.catch_up()
        orders, state = tmp / "orders", tmp / "state"
        orders.mkdir()
        state.mkdir()
        app = create_app(
            engine,
            ApiSettings(
                orders_dir=orders,
                state_dir=state,
                gate_delay_s=GATE_DELAY_S,
                cache_max_age_s=0,
                public_rpc_url=rpc_url,  # what the page offers a wallet that lacks the chain
            ),
            inbox=Inbox(orders, GATE_DELAY_S, clock=lambda: float(chain.timestamp)),  # the chain's clock
        )
        with api_server(app) as running:
            yield WebWorld(
                running.url,
                f"{running.url}/web",
                rpc_url,
                chain,
                system,
                participants,
                indexer,
                orders,
                state,
                keccak(text="anna"),
                certificate_id,
            )
        engine.dispose()


# ------------------------------------------------------------------ the browser and its wallet
@dataclass(frozen=True)
class WalletInfo:
    """What a test wallet announces of itself by EIP-6963."""

    uuid: str
    name: str
    rdns: str


TEST_WALLET = WalletInfo(
    "5b3b4c1e-7f7e-4a52-9d38-6f9d0c0e7a11", "GridLedger Test Wallet", "dev.gridledger.testwallet"
)


class TestWalletBridge:
    """What an injected wallet asks Python: accounts and chain id, typed-data signatures and
    signed transactions with its test key; anything else goes to anvil as it is.

    The wallet is on one chain at a time (`chain_id`, the world's unless told) and knows the
    chains in `known_chains`: wallet_switchEthereumChain to another answers 4902 (EIP-3326)
    until wallet_addEthereumChain (EIP-3085) adds it. On a chain other than the world's it has
    no node: reads, transactions and signatures for the world's chain are refused."""

    __test__ = False  # not a test class

    def __init__(
        self,
        world: WebWorld,
        key: bytes | None = None,
        info: WalletInfo = TEST_WALLET,
        chain_id: int | None = None,
        known_chains: tuple[int, ...] = (),
    ) -> None:
        self.world = world
        self.info = info
        self.account = Account.from_key(world.wallet_key if key is None else key)
        self.chain_id = world.chain.chain_id if chain_id is None else chain_id
        self.known_chains = {self.chain_id, *known_chains}
        self.requests: list[str] = []
        self.typed_data: list[dict[str, Any]] = []  # what the page asked it to sign, as sent
        self.added_chains: list[dict[str, Any]] = []  # wallet_addEthereumChain parameters
        self._events: list[tuple[str, object]] = []  # EIP-1193 events the wallet emits next

    @property
    def address(self) -> str:
        return str(self.account.address)

    def _rpc(self, method: str, params: list[Any], url: str | None = None) -> Any:
        answer = httpx.post(
            url or self.world.rpc_url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            timeout=60,
        ).json()
        if "error" in answer:
            raise _RpcError(answer["error"])
        return answer["result"]

    def __call__(self, method: str, params_json: str) -> str:
        self.requests.append(method)
        params = json.loads(params_json)
        try:
            answer: dict[str, Any] = {"result": self._answer(method, params)}
        except _RpcError as failed:
            answer = {"error": failed.error}
        except Exception as failed:  # any failure is the wallet's error to the page
            answer = {"error": {"code": -32603, "message": str(failed)}}
        answer["events"], self._events = self._events, []
        return json.dumps(answer)

    def _on_worlds_chain(self) -> None:
        if self.chain_id != self.world.chain.chain_id:
            raise _RpcError(
                {"code": 4901, "message": f"the test wallet has no node for chain {self.chain_id}"}
            )

    def _answer(self, method: str, params: list[Any]) -> Any:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.account.address]
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "wallet_switchEthereumChain":
            target = int(params[0]["chainId"], 16)
            if target not in self.known_chains:
                raise _RpcError(
                    {"code": 4902, "message": f"Unrecognized chain ID {params[0]['chainId']}: add it first"}
                )
            if target != self.chain_id:
                self.chain_id = target
                self._events.append(("chainChanged", hex(target)))
            return None
        if method == "wallet_addEthereumChain":
            return self._add_chain(params[0])
        if method == "eth_signTypedData_v4":
            assert params[0].lower() == self.account.address.lower(), "asked to sign for another account"
            typed = json.loads(params[1])
            self.typed_data.append(json.loads(params[1]))
            if int(typed["domain"]["chainId"]) != self.chain_id:
                raise _RpcError({"code": -32602, "message": f"the domain's chain is not {self.chain_id}"})
            _integers(typed)
            signed = Account.sign_typed_data(self.account.key, full_message=typed)
            return "0x" + bytes(signed.signature).hex()
        self._on_worlds_chain()
        if method == "eth_sendTransaction":
            return self._send(params[0])
        return self._rpc(method, params)

    def _add_chain(self, spec: dict[str, Any]) -> None:
        """EIP-3085: the chain's node must answer its chain id; the wallet knows it afterwards
        (and stays on its chain: the page switches)."""
        self.added_chains.append(spec)
        chain_id = int(spec["chainId"], 16)
        if not spec.get("chainName") or spec.get("nativeCurrency", {}).get("decimals") != 18:
            raise _RpcError({"code": -32602, "message": "chainName and an 18-decimal nativeCurrency needed"})
        urls = spec.get("rpcUrls") or []
        if not urls or int(self._rpc("eth_chainId", [], urls[0]), 16) != chain_id:
            raise _RpcError({"code": -32602, "message": f"no node for chain {chain_id} at {urls}"})
        self.known_chains.add(chain_id)

    def _send(self, tx: dict[str, Any]) -> str:
        assert tx["from"].lower() == self.account.address.lower(), "asked to send for another account"
        sender = self.account.address
        gas = int(self._rpc("eth_estimateGas", [{**tx, "from": sender}]), 16)
        base_fee = int(self._rpc("eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
        signed = self.account.sign_transaction(
            {
                "chainId": self.chain_id,
                "nonce": int(self._rpc("eth_getTransactionCount", [sender, "pending"]), 16),
                "to": to_checksum_address(tx["to"]),
                "data": tx.get("data", "0x"),
                "value": int(tx.get("value", "0x0"), 16),
                "gas": gas * 12 // 10,
                "maxFeePerGas": 2 * base_fee + 10**9,
                "maxPriorityFeePerGas": 10**9,
                "type": 2,
            }
        )
        return str(self._rpc("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()]))


class _RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


def _integers(typed: dict[str, Any]) -> None:
    """Decimal strings of the message's integer fields as ints (the page sends uint64 as text)."""
    for entry in typed["types"][typed["primaryType"]]:
        value = typed["message"].get(entry["name"])
        if entry["type"].startswith(("uint", "int")) and isinstance(value, str):
            typed["message"][entry["name"]] = int(value, 0)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def wallets_context(
    browser: Browser, bridges: list[TestWalletBridge], viewport: ViewportSize | None = None
) -> tuple[BrowserContext, Page]:
    """A fresh browser context with one injected wallet for each bridge (announced in that
    order), and its first page."""
    context = browser.new_context(
        viewport=viewport or {"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC"
    )
    configs = []
    for n, bridge in enumerate(bridges):
        name = "__gridledgerWalletRequest" + (str(n) if n else "")
        context.expose_function(name, bridge)
        configs.append({**dataclasses.asdict(bridge.info), "bridge": name})
    context.add_init_script(script=f"window.__gridledgerTestWallets = {json.dumps(configs)};")
    context.add_init_script(path=str(WALLET_JS))
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def wallet_context(
    browser: Browser, world: WebWorld, viewport: ViewportSize | None = None
) -> tuple[BrowserContext, Page, TestWalletBridge]:
    """A fresh browser context with the test wallet (the prosumer's key) injected, and its first page."""
    bridge = TestWalletBridge(world)
    context, page = wallets_context(browser, [bridge], viewport)
    return context, page, bridge


# ------------------------------------------------------------------ what the page shows
def kwh_text(wh: int) -> str:
    """Wh as the page shows energy: kWh with three decimals, exact."""
    return f"{wh // 1000:,}.{wh % 1000:03d} kWh"


def usd_text(units: int, symbol: str = "tUSD") -> str:
    """Payment base units as the page shows them: the token's 6 decimals, at least two shown, exact."""
    decimals = f"{units % 10**6:06d}".rstrip("0").ljust(2, "0")
    return f"{units // 10**6:,}.{decimals} {symbol}"


def units_input(units: int, decimals: int) -> str:
    """Base units as a participant types them: exact decimal text."""
    return f"{units // 10**decimals}.{units % 10**decimals:0{decimals}d}"


# The WCAG 2.x contrast of every visible text of the page against its effective background:
# the text's colour (its alpha and the elements' opacity composited) over the nearest
# non-transparent backgrounds up the ancestors, down to the white canvas. Text of 24px or more,
# or bold and 18.66px or more, is large (3:1), the rest needs 4.5:1. Inputs and selects count
# with their value, or their placeholder when empty; disabled controls are exempt (1.4.3).
CONTRAST_JS = """
() => {
  const parse = (text) => {
    const m = /^rgba?\\(([^)]*)\\)$/.exec(text.trim());
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, bottom) => {
    const a = top.a + bottom.a * (1 - top.a);
    const mix = (k) => (top[k] * top.a + bottom[k] * bottom.a * (1 - top.a)) / a;
    return { r: mix("r"), g: mix("g"), b: mix("b"), a };
  };
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour === null) return null;
      if (colour.a > 0) layers.push(colour);
      if (colour.a >= 1) break;
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), { r: 255, g: 255, b: 255, a: 1 });
  };
  const opacity = (el) => {
    let o = 1;
    for (let node = el; node; node = node.parentElement) o *= Number(getComputedStyle(node).opacity);
    return o;
  };
  const luminance = ({ r, g, b }) => {
    const f = (v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (x, y) => {
    const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const rgb = (c) => `rgb(${Math.round(c.r)}, ${Math.round(c.g)}, ${Math.round(c.b)})`;
  const out = { measured: 0, failures: [] };
  const check = (el, style, colourText, text) => {
    const bg = background(el);
    const fg = parse(colourText);
    const classes = typeof el.className === "string" ? el.className.trim().split(/\\s+/).filter(Boolean) : [];
    const where = [el.tagName.toLowerCase() + (el.id ? "#" + el.id : ""), ...classes].join(".");
    if (bg === null || fg === null) {
      out.failures.push({ text, where, colour: colourText, background: "unreadable", ratio: 0, needed: 4.5 });
      return;
    }
    const seen = over({ ...fg, a: fg.a * opacity(el) }, bg);
    const size = Number.parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    const needed = large ? 3 : 4.5;
    const measured = ratio(seen, bg);
    out.measured += 1;
    if (measured < needed) {
      const rounded = Math.round(measured * 100) / 100;
      const colours = { colour: rgb(seen), background: rgb(bg) };
      out.failures.push({ text: text.slice(0, 60), where, ...colours, ratio: rounded, needed });
    }
  };
  for (const el of document.body.querySelectorAll("*")) {
    if (["SCRIPT", "STYLE", "NOSCRIPT", "CANVAS", "OPTION"].includes(el.tagName)) continue;
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    if (el.closest(":disabled")) continue;
    const box = el.getBoundingClientRect();
    // Clipped to nothing (visually hidden) or off-screen (the skip link until focused).
    if (box.width <= 1 || box.height <= 1 || box.right <= 0 || box.bottom <= 0) continue;
    const style = getComputedStyle(el);
    const texts = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE);
    const own = texts.map((n) => n.textContent).join("").trim();
    if (own) check(el, style, style.color, own);
    const valueless = ["checkbox", "radio", "hidden", "range", "color"];
    const typed = el.tagName === "INPUT" && !valueless.includes(el.type);
    if (!typed && el.tagName !== "SELECT") continue;
    const chosen = el.tagName === "SELECT" ? el.selectedOptions[0] : null;
    const value = typed ? el.value : chosen ? chosen.text : "";
    if (value) check(el, style, style.color, value);
    else if (el.placeholder) {
      const placeholder = getComputedStyle(el, "::placeholder");
      check(el, placeholder, placeholder.color, el.placeholder);
    }
  }
  return out;
}
"""


def contrast(page: Page) -> tuple[int, list[dict[str, object]]]:
    """How many texts of the page were measured, and those below WCAG AA (CONTRAST_JS)."""
    found = page.evaluate(CONTRAST_JS)
    return int(found["measured"]), list(found["failures"])
