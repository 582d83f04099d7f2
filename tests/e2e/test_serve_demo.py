"""`gridledger serve --demo`: one command brings up anvil, a community trading on it through the
live market operator, the indexer and the API with the web app; a newcomer's order from the
demo's wallet settles beside the community's; SIGTERM stops all of it, anvil included."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gridledger.chain.rpc import ANVIL, free_port
from gridledger.cli.main import app
from gridledger.market.book import INTERVAL_SECONDS, signed_order_json
from gridledger.market.orders import Order, Side, TraderKey, market_domain_separator

GRIDLEDGER = Path(sys.executable).parent / "gridledger"
STARTUP_TIMEOUT_S = 240
SETTLED_TIMEOUT_S = 300
# anvil's first dev account: the demo's wallet for a newcomer (its key is anvil's, public).
NEWCOMER = TraderKey(bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"))
DAY_START = 1_750_464_000  # the demo community's day, 2025-06-21
NEWCOMER_WH, NEWCOMER_LIMIT = 100, 900_000  # a small buy at a price no one in the community bids


def _until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout_s} s")


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None


@pytest.mark.anvil
@pytest.mark.skipif(not ANVIL.exists(), reason="anvil comes from `npm ci`")
def test_serveDemo_tradesLiveAndStopsEverythingOnSigterm(tmp_path: Path) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api/v1"
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen(
            [str(GRIDLEDGER), "serve", "--demo", "--port", str(port), "--seconds-per-interval", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        _until(lambda: _get(f"{api}/status") is not None, STARTUP_TIMEOUT_S, "the API did not answer")
        day = _get(f"{api}/status")
        assert day is not None and day.json()["chain_id"] == 31337
        assert day.json()["rpc_url"].startswith("http://127.0.0.1:")  # anvil, for wallets

        def daytime_trading() -> bool:
            answer = _get(f"{api}/intervals?from={DAY_START}&to={DAY_START + 86_400}&limit=100")
            return answer is not None and any(
                i["settled"] and int(i["settlement"]["volume_wh"]) > NEWCOMER_WH
                for i in answer.json()["items"]
            )

        _until(daytime_trading, SETTLED_TIMEOUT_S, "no interval was settled and indexed")
        page = _get(f"http://127.0.0.1:{port}/web/")
        assert page is not None and page.status_code == 200
        refused = httpx.post(f"{api}/orders", json={}, timeout=5)
        assert refused.status_code == 422
        told = re.search(
            rf"{NEWCOMER.address.lower()} is a verified participant at grid node (\d+)", log.read_text()
        )
        assert told is not None, log.read_text()  # the demo tells the newcomer their wallet and node
        order_hash, interval = _newcomer_buys(api, int(told.group(1)))

        def newcomer_filled() -> bool:
            trades = _get(f"{api}/participants/{NEWCOMER.address}/trades")
            return trades is not None and any(t["order_hash"] == order_hash for t in trades.json()["items"])

        _until(newcomer_filled, SETTLED_TIMEOUT_S, f"the newcomer's order for {interval} was not filled")
        answer = _get(f"{api}/intervals/{interval}")
        assert answer is not None
        book_hashes = [entry["orderHash"] for entry in answer.json()["book"]["orders"]]
        assert order_hash[2:] in book_hashes  # the live operator froze and published it
        assert len(book_hashes) > 1  # beside the community's own orders
    finally:
        demo.send_signal(signal.SIGTERM)
        returncode = demo.wait(timeout=180)
    assert returncode == 0, log.read_text()
    chain = re.search(r"chain: http://127\.0\.0\.1:(\d+)", log.read_text())
    assert chain is not None, log.read_text()
    with socket.socket() as probe:  # the demo's anvil is gone with it
        assert probe.connect_ex(("127.0.0.1", int(chain.group(1)))) != 0


def _newcomer_buys(api: str, node: int) -> tuple[str, int]:
    """The demo's wallet places a buy for an interval still open (the next one whose gate the
    chain has not reached); its order hash and interval."""
    status = httpx.get(f"{api}/status", timeout=5).json()
    domain = market_domain_separator(status["chain_id"], status["deployment"]["market"])
    for attempt in range(5):  # the community's clock may pass a gate while the order is signed
        now = int(httpx.get(f"{api}/status", timeout=5).json()["cursor_block_time"])
        interval = now - now % INTERVAL_SECONDS + 2 * INTERVAL_SECONDS
        order = Order(
            NEWCOMER.address, Side.BUY, 1, interval, NEWCOMER_WH, NEWCOMER_LIMIT,
            node, interval + 4 * INTERVAL_SECONDS, attempt,
        )  # fmt: skip
        placed = httpx.post(
            f"{api}/orders", json=signed_order_json(NEWCOMER.sign_order(order, domain)), timeout=5
        )
        if placed.status_code == 201:
            return str(placed.json()["order_hash"]), interval
        assert placed.status_code == 409, placed.text
    raise AssertionError("every gate closed before the newcomer's order reached it")


def test_serve_withoutAnIndex_refused() -> None:
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2 and "--db" in result.output and "Traceback" not in result.output


def test_serveDemo_withADatabase_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--demo", "--db", str(tmp_path / "i.sqlite")])
    assert result.exit_code == 2 and "leave out --db" in result.output


def test_serve_publicRpcUrlNotHttp_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--db", str(tmp_path / "i.sqlite"), "--public-rpc-url", "ftp://node"]
    )
    assert result.exit_code == 2 and "--public-rpc-url" in result.output and "Traceback" not in result.output


def test_serve_anIndexThatDoesNotExist_refusedAndNotCreated(tmp_path: Path) -> None:
    missing = tmp_path / "typo.sqlite"
    result = CliRunner().invoke(app, ["serve", "--db", str(missing)])
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not missing.exists()


def test_serve_unreachableDatabase_refusedWithoutItsPassword() -> None:
    result = CliRunner().invoke(app, ["serve", "--db", "postgresql://operator:s3cret@127.0.0.1:9/index"])
    assert result.exit_code == 2 and "s3cret" not in result.output and "***" in result.output
