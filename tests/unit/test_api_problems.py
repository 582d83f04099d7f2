"""Errors as RFC 9457 problem bodies: whatever a client sends, a 4xx problem, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gridledger.api.app import create_app
from gridledger.api.core.common import encode_cursor, listing_tag
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.schema import EVENT_TABLES, events

API = "/api/v1"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """An API over a migrated but never indexed database."""
    engine = open_database(str(tmp_path / "index.sqlite"))
    migrate(engine)
    with TestClient(create_app(engine)) as opened:
        yield opened


def _problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    return body


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    body = _problem(client.get(f"{API}/nowhere"), 404)
    assert body["instance"] == f"{API}/nowhere"


def test_status_on_empty_index_is_503_problem(client: TestClient) -> None:
    _problem(client.get(f"{API}/status"), 503)


def test_participant_bad_address_is_422_problem(client: TestClient) -> None:
    body = _problem(client.get(f"{API}/participants/0x1234"), 422)
    assert body["field"] == "address"


def test_limit_out_of_range_lists_the_field(client: TestClient) -> None:
    body = _problem(client.get(f"{API}/participants", params={"limit": 501}), 422)
    assert [e["field"] for e in body["errors"]] == ["query.limit"]  # type: ignore[attr-defined]


def test_bad_cursor_is_400_problem(client: TestClient) -> None:
    _problem(client.get(f"{API}/participants", params={"cursor": "not-a-cursor!"}), 400)


def test_cursor_of_another_listing_is_400_problem(client: TestClient) -> None:
    lots = EVENT_TABLES[("token", "EnergyMinted")].table
    same_shape = encode_cursor(["5", "0"], listing_tag([lots.c.block_number, lots.c.log_index]))
    _problem(client.get(f"{API}/events", params={"cursor": same_shape}), 400)


def test_readings_range_reversed_is_400_problem(client: TestClient) -> None:
    body = _problem(client.get(f"{API}/devices/1/readings", params={"from": 100, "to": 50}), 400)
    assert str(body["type"]).endswith("invalid-range")


def test_readings_range_too_long_is_400_problem(client: TestClient) -> None:
    body = _problem(client.get(f"{API}/reports/regulator", params={"from": 0, "to": 40 * 86_400}), 400)
    assert str(body["type"]).endswith("range-too-long")


def test_unknown_device_is_404_problem(client: TestClient) -> None:
    _problem(client.get(f"{API}/devices/7"), 404)


def test_device_id_not_a_number_is_422_problem(client: TestClient) -> None:
    _problem(client.get(f"{API}/devices/seven"), 422)


def test_huge_device_id_is_422_problem(client: TestClient) -> None:
    _problem(client.get(f"{API}/devices/{2**256}"), 422)


def test_unknown_interval_is_404_problem(client: TestClient) -> None:
    _problem(client.get(f"{API}/intervals/900"), 404)


def test_post_orders_not_json_is_422_problem(client: TestClient) -> None:
    response = client.post(f"{API}/orders", content=b"{", headers={"content-type": "application/json"})
    _problem(response, 422)


def test_wrong_method_is_405_problem(client: TestClient) -> None:
    _problem(client.put(f"{API}/status"), 405)


def test_forged_cursor_beyond_the_columns_is_400_problem(client: TestClient) -> None:
    listing = listing_tag([events.c.block_number, events.c.log_index])
    for key in ([str(2**63), "0"], [str(-(2**70)), "0"], [["nested"], "0"]):
        _problem(client.get(f"{API}/events", params={"cursor": encode_cursor(key, listing)}), 400)
