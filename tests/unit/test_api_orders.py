"""POST and DELETE /orders: the operator's inbox takes exactly what the interval's book admits."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gridledger.api.app import ApiSettings, create_app
from gridledger.api.core.orders import Inbox, cancel_digest
from gridledger.chain.deploy import ENERGY_PAIR_ID, System
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.hashing import keccak
from gridledger.cli.demo import START_TIME, Participant
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.indexer import Indexer
from gridledger.indexer.source import EmbeddedSource
from gridledger.market.book import INTERVAL_SECONDS, IntervalBook, signed_order_from_json, signed_order_json
from gridledger.market.orders import Order, Side, TraderKey, market_domain_separator
from gridledger.ops.inbox import frozen_book_path

API = "/api/v1"
INTERVAL = START_TIME - START_TIME % INTERVAL_SECONDS + 10 * INTERVAL_SECONDS
BEFORE_GATE = INTERVAL + 100.0
AFTER_GATE = INTERVAL + INTERVAL_SECONDS + 61.0


@dataclasses.dataclass
class Market:
    engine: object
    domain: bytes
    orders: Path

    def client(self, now: float, orders: bool = True) -> TestClient:
        inbox = Inbox(self.orders, 60, clock=lambda: now) if orders else None
        return TestClient(create_app(self.engine, ApiSettings(), inbox=inbox))  # type: ignore[arg-type]

    def client_on_chain_clock(self, state: Path | None = None) -> TestClient:
        """As `gridledger serve` makes it: the market's clock is the indexed chain's."""
        settings = ApiSettings(orders_dir=self.orders, state_dir=state)
        return TestClient(create_app(self.engine, settings))  # type: ignore[arg-type]


@pytest.fixture
def market(demo_world: tuple[EmbeddedChain, System, list[Participant], int], tmp_path: Path) -> Market:
    chain, system, _, _ = demo_world
    engine = open_database(str(tmp_path / "index.sqlite"))
    migrate(engine)
    Indexer(engine, EmbeddedSource(chain), dataclasses.asdict(system), confirmation_depth=0).catch_up()
    return Market(engine, market_domain_separator(chain.chain_id, system.market), tmp_path / "orders")


# Verified participants of the demo world (build_demo), and a key the regulator never verified.
seller = TraderKey(keccak(text="anna"))
buyer = TraderKey(keccak(text="carla"))
outsider = TraderKey(bytes.fromhex("33" * 32))


def _order(key: TraderKey, nonce: int = 1, **changes: int) -> Order:
    fields = {
        "trader": key.address,
        "side": Side.SELL,
        "pair_id": ENERGY_PAIR_ID,
        "interval_start": INTERVAL,
        "energy_wh": 500,
        "limit_price_per_kwh": 90_000,
        "grid_node_id": 1,
        "expiry": INTERVAL + 2 * INTERVAL_SECONDS,
        "nonce": nonce,
        **changes,
    }
    return Order(**fields)  # type: ignore[arg-type]


def _signed(key: TraderKey, domain: bytes, **changes: int) -> dict[str, object]:
    return signed_order_json(key.sign_order(_order(key, **changes), domain))


def _cancel_body(key: TraderKey, domain: bytes, order_hash: str) -> dict[str, str]:
    return {"signature": key.sign(cancel_digest(domain, bytes.fromhex(order_hash[2:]))).hex()}


def test_post_orders_accepts_and_writes_inbox(market: Market) -> None:
    response = market.client(BEFORE_GATE).post(f"{API}/orders", json=_signed(seller, market.domain))
    assert response.status_code == 201
    order_hash = response.json()["order_hash"]
    written = market.orders / str(INTERVAL) / f"{order_hash[2:]}.json"
    assert json.loads(written.read_text())["orderHash"] == order_hash[2:]


def test_post_orders_inbox_is_what_the_book_admits(market: Market) -> None:
    client = market.client(BEFORE_GATE)
    client.post(f"{API}/orders", json=_signed(seller, market.domain))
    client.post(f"{API}/orders", json=_signed(buyer, market.domain, side=Side.BUY))
    book = IntervalBook(ENERGY_PAIR_ID, INTERVAL, market.domain)
    for index, path in enumerate(sorted((market.orders / str(INTERVAL)).glob("*.json"))):
        book.add(signed_order_from_json(json.loads(path.read_text())), index, int(BEFORE_GATE))
    assert len(book.entries) == 2


def test_post_orders_bad_signature_is_422(market: Market) -> None:
    document = _signed(seller, market.domain)
    document["order"]["trader"] = buyer.address  # type: ignore[index]
    response = market.client(BEFORE_GATE).post(f"{API}/orders", json=document)
    assert response.status_code == 422
    assert response.json()["reason"] in ("hash_mismatch", "bad_signature")


def test_post_orders_signed_by_another_is_bad_signature(market: Market) -> None:
    order = _order(seller)
    signed = buyer.sign_order(order, market.domain)
    response = market.client(BEFORE_GATE).post(f"{API}/orders", json=signed_order_json(signed))
    assert response.status_code == 422
    assert response.json()["reason"] == "bad_signature"


def test_post_orders_wrong_domain_is_422(market: Market) -> None:
    other = market_domain_separator(31337, "0x" + "ab" * 20)
    response = market.client(BEFORE_GATE).post(f"{API}/orders", json=_signed(seller, other))
    assert response.status_code == 422
    assert response.json()["reason"] == "hash_mismatch"


def test_post_orders_expiringBeforeTheGate_is422(market: Market) -> None:
    for expiry in (INTERVAL, INTERVAL + INTERVAL_SECONDS + 59):  # the gate delay is 60 s
        response = market.client(BEFORE_GATE).post(
            f"{API}/orders", json=_signed(seller, market.domain, expiry=expiry)
        )
        assert response.status_code == 422
        assert response.json()["reason"] == "expires_before_gate"


def test_post_orders_byATraderTheRegulatorNeverVerified_is422(market: Market) -> None:
    response = market.client(BEFORE_GATE).post(f"{API}/orders", json=_signed(outsider, market.domain))
    assert response.status_code == 422
    assert response.json()["reason"] == "trader_not_verified"
    assert not (market.orders / str(INTERVAL)).exists()


def test_post_orders_farAhead_is422AndMakesNoFolder(market: Market) -> None:
    far = INTERVAL + 30 * 86_400
    response = market.client(BEFORE_GATE).post(
        f"{API}/orders", json=_signed(seller, market.domain, interval_start=far, expiry=far + 3_600)
    )
    assert response.status_code == 422
    assert response.json()["reason"] == "too_far_ahead"
    assert not (market.orders / str(far)).exists()


def test_post_orders_lowerCaseTrader_isTaken(market: Market) -> None:
    document = _signed(seller, market.domain)
    document["order"]["trader"] = str(document["order"]["trader"]).lower()  # type: ignore[index]
    assert market.client(BEFORE_GATE).post(f"{API}/orders", json=document).status_code == 201


def test_post_orders_expired_interval_is_409(market: Market) -> None:
    response = market.client(AFTER_GATE).post(f"{API}/orders", json=_signed(seller, market.domain))
    assert response.status_code == 409
    assert response.json()["type"].endswith("gate-closed")


def test_post_orders_gate_follows_the_indexed_chains_clock_not_the_servers(market: Market) -> None:
    client = market.client_on_chain_clock()
    market.orders.mkdir()
    chain_now = int(client.get(f"{API}/status").json()["cursor_block_time"])
    assert chain_now < BEFORE_GATE < time.time()  # the server's clock is long past this gate
    assert client.post(f"{API}/orders", json=_signed(seller, market.domain)).status_code == 201
    passed = chain_now - chain_now % INTERVAL_SECONDS - 2 * INTERVAL_SECONDS  # its gate is behind the chain
    late = _signed(
        seller, market.domain, nonce=2, interval_start=passed, expiry=passed + 2 * INTERVAL_SECONDS
    )
    response = client.post(f"{API}/orders", json=late)
    assert response.status_code == 409
    assert response.json()["type"].endswith("gate-closed")


def test_post_orders_after_the_operator_froze_the_book_is_409(market: Market, tmp_path: Path) -> None:
    state = tmp_path / "state"
    frozen_book_path(state, INTERVAL).parent.mkdir(parents=True)
    frozen_book_path(state, INTERVAL).write_text("{}")  # the operator published the interval's book
    response = market.client_on_chain_clock(state).post(f"{API}/orders", json=_signed(seller, market.domain))
    assert response.status_code == 409
    assert not (market.orders / str(INTERVAL)).exists()


def test_post_orders_duplicate_is_409(market: Market) -> None:
    client = market.client(BEFORE_GATE)
    assert client.post(f"{API}/orders", json=_signed(seller, market.domain)).status_code == 201
    response = client.post(f"{API}/orders", json=_signed(seller, market.domain))
    assert response.status_code == 409
    assert response.json()["reason"] == "duplicate"


def test_post_orders_out_of_range_is_422(market: Market) -> None:
    response = market.client(BEFORE_GATE).post(
        f"{API}/orders", json=_signed(seller, market.domain, energy_wh=0)
    )
    assert response.status_code == 422
    assert response.json()["reason"] == "out_of_range"


def test_post_orders_malformed_lists_fields(market: Market) -> None:
    document = _signed(seller, market.domain)
    document["r"] = "zz"
    response = market.client(BEFORE_GATE).post(f"{API}/orders", json=document)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["r"]


def test_post_orders_without_inbox_is_503(market: Market) -> None:
    response = market.client(BEFORE_GATE, orders=False).post(
        f"{API}/orders", json=_signed(seller, market.domain)
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


def _submit(market: Market) -> str:
    response = market.client(BEFORE_GATE).post(f"{API}/orders", json=_signed(seller, market.domain))
    return str(response.json()["order_hash"])


def _delete(client: TestClient, order_hash: str, body: dict[str, str]) -> httpx.Response:
    return client.request("DELETE", f"{API}/orders/{order_hash}", json=body)


def test_delete_orders_by_trader_removes_file(market: Market) -> None:
    order_hash = _submit(market)
    response = _delete(
        market.client(BEFORE_GATE), order_hash, _cancel_body(seller, market.domain, order_hash)
    )
    assert response.status_code == 204
    assert not list((market.orders / str(INTERVAL)).glob("*.json"))


def test_delete_orders_by_someone_else_is_403(market: Market) -> None:
    order_hash = _submit(market)
    response = _delete(market.client(BEFORE_GATE), order_hash, _cancel_body(buyer, market.domain, order_hash))
    assert response.status_code == 403
    assert list((market.orders / str(INTERVAL)).glob("*.json"))


def test_delete_orders_after_gate_is_409(market: Market) -> None:
    order_hash = _submit(market)
    response = _delete(market.client(AFTER_GATE), order_hash, _cancel_body(seller, market.domain, order_hash))
    assert response.status_code == 409
    assert "invalidateNonces" in response.json()["detail"]


def test_delete_orders_unknown_is_404(market: Market) -> None:
    order_hash = "0x" + "ab" * 32
    response = _delete(
        market.client(BEFORE_GATE), order_hash, _cancel_body(seller, market.domain, order_hash)
    )
    assert response.status_code == 404


def test_delete_orders_bad_hash_is_422(market: Market) -> None:
    response = _delete(market.client(BEFORE_GATE), "0x12", {"signature": "00" * 65})
    assert response.status_code == 422
