"""`gridledger market verify` against a settlement on anvil."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.chain.rpc import ANVIL, RpcChain, anvil_node
from gridledger.cli.demo import START_TIME, build_demo, trade_one_interval
from gridledger.cli.main import app
from gridledger.market.book import IntervalBook

pytestmark = pytest.mark.anvil


@pytest.mark.skipif(not ANVIL.exists(), reason="anvil comes from `npm ci` (node_modules/.bin/anvil)")
def test_market_verify_honestAndAlteredBook(tmp_path: Path) -> None:
    with anvil_node(START_TIME) as url:
        chain = RpcChain(url)
        system, participants, _ = build_demo(chain)
        book, settlement = trade_one_interval(chain, system, participants)
        assert settlement is not None
        published = tmp_path / "book.json"
        book.save(published)
        args = ["market", "verify", "--interval", str(book.interval_start), "--market", system.market]
        honest = CliRunner().invoke(app, [*args, "--book", str(published), "--rpc-url", url])
        assert honest.exit_code == 0, honest.output
        assert "consistent" in honest.output

        altered = IntervalBook(book.pair_id, book.interval_start, book.domain)
        for entry in book.entries[1:]:
            altered.add(entry.signed, entry.received_at_ms, 0)
        altered_path = tmp_path / "altered.json"
        altered.save(altered_path)
        caught = CliRunner().invoke(app, [*args, "--book", str(altered_path), "--rpc-url", url])
        assert caught.exit_code == 1
        assert "book_mismatch" in caught.output

        wrong_interval = CliRunner().invoke(
            app,
            ["market", "verify", "--interval", "900", "--market", system.market, "--book", str(published)],
        )
        assert wrong_interval.exit_code == 2
