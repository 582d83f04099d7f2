"""The world the web app's browser tests run in: anvil with the demo community deployed (meters
reporting, a carbon certificate issued to the prosumer), the indexer over it in SQLite, the API
with the web app mounted, served by uvicorn on 127.0.0.1, and a Chromium page whose injected
test wallet signs with the prosumer's key in Python and forwards everything else to anvil.

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
from eth_utils import to_checksum_address
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

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
            self.chain.set_time(gate)
            self.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        lines: list[dict[str, object]] = []
        service = MarketService(
            self.chain,  # type: ignore[arg-type]  # RpcChain serves what the service calls
            self.system,
            named_account("market-operator"),
            OperatorConfig(self.orders, self.state, GATE_DELAY_S, 0.05, interval),
            JsonLog(lambda line: lines.append(json.loads(line))),
        )
        service.process(interval)
        self.operator_log.extend(lines)
        self.index()
        return lines

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
        chain.w3.provider.make_request("anvil_setBalance", [anna.owner, hex(10**20)])  # type: ignore[arg-type]
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
            ApiSettings(orders_dir=orders, state_dir=state, gate_delay_s=GATE_DELAY_S, cache_max_age_s=0),
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
class TestWalletBridge:
    """What the injected wallet asks Python: accounts and chain id, typed-data signatures and
    signed transactions with the test key; anything else goes to anvil as it is."""

    def __init__(self, world: WebWorld) -> None:
        self.world = world
        self.account = Account.from_key(world.wallet_key)
        self.requests: list[str] = []

    def _rpc(self, method: str, params: list[Any]) -> Any:
        answer = httpx.post(
            self.world.rpc_url,
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
            result = self._answer(method, params)
        except _RpcError as failed:
            return json.dumps({"error": failed.error})
        except Exception as failed:  # any failure is the wallet's error to the page
            return json.dumps({"error": {"code": -32603, "message": str(failed)}})
        return json.dumps({"result": result})

    def _answer(self, method: str, params: list[Any]) -> Any:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.account.address]
        if method == "eth_chainId":
            return hex(self.world.chain.chain_id)
        if method == "wallet_switchEthereumChain":
            if int(params[0]["chainId"], 16) != self.world.chain.chain_id:
                raise _RpcError({"code": 4902, "message": "unrecognised chain"})
            return None
        if method == "eth_signTypedData_v4":
            assert params[0].lower() == self.account.address.lower(), "asked to sign for another account"
            typed = json.loads(params[1])
            _integers(typed)
            signed = Account.sign_typed_data(self.account.key, full_message=typed)
            return "0x" + bytes(signed.signature).hex()
        if method == "eth_sendTransaction":
            return self._send(params[0])
        return self._rpc(method, params)

    def _send(self, tx: dict[str, Any]) -> str:
        assert tx["from"].lower() == self.account.address.lower(), "asked to send for another account"
        sender = self.account.address
        gas = int(self._rpc("eth_estimateGas", [{**tx, "from": sender}]), 16)
        base_fee = int(self._rpc("eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
        signed = self.account.sign_transaction(
            {
                "chainId": self.world.chain.chain_id,
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


def wallet_context(
    browser: Browser, world: WebWorld, viewport: dict[str, int] | None = None
) -> tuple[BrowserContext, Page, TestWalletBridge]:
    """A fresh browser context with the test wallet injected, and its first page."""
    context = browser.new_context(
        viewport=viewport or {"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC"
    )
    bridge = TestWalletBridge(world)
    context.expose_function("__gridledgerWalletRequest", bridge)
    context.add_init_script(path=str(WALLET_JS))
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page, bridge
