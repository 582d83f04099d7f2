"""`gridledger serve --demo`: one command brings up anvil, a community trading on it, the
indexer and the API with the web app; SIGTERM stops all of it, anvil included."""

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

GRIDLEDGER = Path(sys.executable).parent / "gridledger"
STARTUP_TIMEOUT_S = 240
SETTLED_TIMEOUT_S = 300


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
            [str(GRIDLEDGER), "serve", "--demo", "--port", str(port), "--seconds-per-interval", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        _until(lambda: _get(f"{api}/status") is not None, STARTUP_TIMEOUT_S, "the API did not answer")
        day = _get(f"{api}/status")
        assert day is not None and day.json()["chain_id"] == 31337
        assert day.json()["rpc_url"].startswith("http://127.0.0.1:")  # anvil, for wallets

        def settled() -> bool:
            answer = _get(f"{api}/intervals?from=1750464000&to=1750550400")
            return answer is not None and any(i["settled"] for i in answer.json()["items"])

        _until(settled, SETTLED_TIMEOUT_S, "no interval was settled and indexed")
        page = _get(f"http://127.0.0.1:{port}/web/")
        assert page is not None and page.status_code == 200
        refused = httpx.post(f"{api}/orders", json={}, timeout=5)
        assert refused.status_code in (422, 503)
    finally:
        demo.send_signal(signal.SIGTERM)
        returncode = demo.wait(timeout=180)
    assert returncode == 0, log.read_text()
    chain = re.search(r"chain: http://127\.0\.0\.1:(\d+)", log.read_text())
    assert chain is not None, log.read_text()
    with socket.socket() as probe:  # the demo's anvil is gone with it
        assert probe.connect_ex(("127.0.0.1", int(chain.group(1)))) != 0


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
