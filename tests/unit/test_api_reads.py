"""The read API against a simulated day's index, checked against the chain's own views and the
simulation result, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gridledger.api.app import ApiSettings, create_app
from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.indexer import Indexer
from gridledger.indexer.source import EmbeddedSource
from gridledger.sim.run import Simulation, SimulationResult
from gridledger.sim.scenario import build_community

API = "/api/v1"


@dataclasses.dataclass
class World:
    chain: EmbeddedChain
    result: SimulationResult


# After the day, the meter operator takes device 1 into maintenance and back this many times:
# more changes than the device's page shows, so the rest are paged.
MAINTENANCE_VISITS = 13
MAINTENANCE, ACTIVE = 2, 1  # DeviceStatus
# And the grid operator adds a zone, peaks it, raises its capacity and reports its losses.
EXTRA_ZONE, EXTRA_ZONE_CAPACITY_WH = 77, 5_000_000
EXTRA_ZONE_LOSSES_WH = (120, 80, 45)
# Its day's quality of service, then a correction of it.
EXTRA_ZONE_QUALITY = ((90, 15, 1, 120, 840), (90, 15, 2, 135, 900))


@pytest.fixture(scope="session")
def world() -> World:
    community = build_community(prosumers=30)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    # Seed 2: its prosumers retire, pool and sell their credits, so every carbon listing has rows.
    result = Simulation(chain, community, seed=2).run()
    registry = load_artifact("SmartMeterRegistry")
    for _ in range(MAINTENANCE_VISITS):
        for status in (MAINTENANCE, ACTIVE):
            chain.transact(
                named_account("operator"), registry, result.system.registry, "setDeviceStatus", 1, status
            )
    grid, operator = load_artifact("GridManagement"), named_account("grid-operator")
    start = int(community.interval_starts[0])
    chain.transact(operator, grid, result.system.grid, "createZone", EXTRA_ZONE, 0, 1_000_000)
    chain.transact(operator, grid, result.system.grid, "setPeak", EXTRA_ZONE, True)
    chain.transact(operator, grid, result.system.grid, "setZoneCapacity", EXTRA_ZONE, EXTRA_ZONE_CAPACITY_WH)
    chain.transact(operator, grid, result.system.grid, "setPeak", EXTRA_ZONE, False)
    for k, losses_wh in enumerate(EXTRA_ZONE_LOSSES_WH):
        chain.transact(
            operator, grid, result.system.grid, "reportLosses", EXTRA_ZONE, start + 900 * k, losses_wh
        )
    day = start - start % 86_400
    for quality in EXTRA_ZONE_QUALITY:
        chain.transact(operator, grid, result.system.grid, "reportServiceQuality", EXTRA_ZONE, day, quality)
    return World(chain, result)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def client(
    request: pytest.FixtureRequest, world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("index") / "index.sqlite")
    else:
        url = request.getfixturevalue("postgres_server").create_database(f"api_{uuid.uuid4().hex}")
    engine = open_database(url)
    migrate(engine)
    Indexer(
        engine, EmbeddedSource(world.chain), dataclasses.asdict(world.result.system), confirmation_depth=0
    ).catch_up()
    with TestClient(create_app(engine, ApiSettings())) as opened:
        yield opened
    engine.dispose()


def _all(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"{API}{path}", params=query).json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def _call(world: World, artifact: str, contract: str, fn: str, *args: Any) -> Any:
    return world.chain.call(load_artifact(artifact), getattr(world.result.system, contract), fn, *args)


def test_status_reports_the_indexed_deployment(client: TestClient, world: World) -> None:
    body = client.get(f"{API}/status").json()
    assert body["deployment"]["market"] == world.result.system.market.lower()
    assert body["cursor_block"] == body["head_block"]
    assert body["lag_blocks"] == 0
    assert body["cursor_block_time"] == world.chain.timestamp  # the chain's clock, as indexed
    assert body["rpc_url"] is None  # the server was given no public node


def test_participants_list_has_every_trader(client: TestClient, world: World) -> None:
    listed = {p["address"] for p in _all(client, "/participants")}
    assert {t.lower() for t in world.result.traders} <= listed


def test_participants_list_pages_without_overlap(client: TestClient) -> None:
    first = client.get(f"{API}/participants", params={"limit": 5}).json()
    second = client.get(f"{API}/participants", params={"limit": 5, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 5
    assert first["items"][-1]["address"] < second["items"][0]["address"]


def test_participant_balances_match_the_chain(client: TestClient, world: World) -> None:
    for trader in world.result.traders:
        body = client.get(f"{API}/participants/{trader}").json()
        balance = _call(world, "EnergyToken", "token", "balanceOf", trader)[0]
        payment, energy = _call(world, "EnergyMarket", "market", "accountOf", trader)
        assert body["energy_balance_wh"] == balance
        assert body["payment_escrow_units"] == payment
        assert body["energy_escrow_wh"] == energy


def test_participant_trades_match_the_simulation(client: TestClient, world: World) -> None:
    trader = world.result.traders[0]
    expected = sorted(
        (t.interval_start, "0x" + t.order_hash.hex(), t.side.name.lower(), t.filled_wh, t.payment_units)
        for t in world.result.trades
        if t.trader.lower() == trader.lower()
    )
    got = sorted(
        (t["interval_start"], t["order_hash"], t["side"], t["filled_wh"], t["payment_units"])
        for t in _all(client, f"/participants/{trader}/trades")
    )
    assert got == expected


def test_participant_trades_fees_match_the_simulation(client: TestClient, world: World) -> None:
    fees = {"0x" + h.hex(): units for h, units in world.result.buy_fee_units.items()}
    buys = [t for trader in world.result.traders[:5] for t in _all(client, f"/participants/{trader}/trades")]
    checked = [t for t in buys if t["side"] == "buy" and t["order_hash"] in fees]
    assert checked
    assert all(t["grid_fee_units"] == fees[t["order_hash"]] for t in checked)


def test_participant_carbon_matches_the_chain(client: TestClient, world: World) -> None:
    certificates = _all(client, "/carbon/certificates")
    assert certificates
    for certificate in certificates:
        owner = certificate["generator"]
        body = client.get(f"{API}/participants/{owner}").json()
        held = {h["certificate_id"]: h["co2e_grams"] for h in body["carbon"]["held"]}
        on_chain = _call(
            world, "CarbonCredit", "carbon", "balanceOf", owner, int(certificate["certificate_id"])
        )[0]
        assert held.get(certificate["certificate_id"], 0) == on_chain


def test_participant_unknown_address_is_404(client: TestClient) -> None:
    response = client.get(f"{API}/participants/0x{'12' * 20}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_devices_list_matches_registrations(client: TestClient, world: World) -> None:
    devices = _all(client, "/devices")
    assert len(devices) == len({d["device_id"] for d in devices})
    assert all(d["status"] == "Active" for d in devices)


def test_device_readings_count_matches_the_simulation(client: TestClient, world: World) -> None:
    readings = [
        r for d in _all(client, "/devices") for r in _all(client, f"/devices/{d['device_id']}/readings")
    ]
    accepted = sum(r["outcome"] == "accepted" for r in readings)
    assert accepted == sum(i.readings_accepted for i in world.result.intervals)
    rejected = sum(r["outcome"] == "rejected" for r in readings)
    assert rejected == sum(i.readings_rejected for i in world.result.intervals)


def test_device_detail_shows_last_readings(client: TestClient) -> None:
    body = client.get(f"{API}/devices/1").json()
    assert body["device_id"] == "1"
    assert 0 < len(body["last_readings"]) <= 10


def test_device_history_pages_every_change_in_chain_order(client: TestClient) -> None:
    changes = _all(client, "/devices/1/history")
    assert [(c["from"], c["to"]) for c in changes] == [
        ("Active", "Maintenance"),
        ("Maintenance", "Active"),
    ] * (MAINTENANCE_VISITS)
    keys = [(c["block_number"], c["log_index"]) for c in changes]
    assert keys == sorted(keys)
    page = client.get(f"{API}/devices/1/history", params={"limit": 5}).json()
    assert page["items"] == changes[:5] and page["next_cursor"] is not None
    detail = client.get(f"{API}/devices/1").json()
    assert detail["history"] == changes[-20:]  # the latest changes, oldest of them first
    assert detail["status"] == "Active"


def test_device_history_of_an_unknown_device_is_404(client: TestClient) -> None:
    response = client.get(f"{API}/devices/999999/history")
    assert response.status_code == 404 and response.json()["type"].endswith("unknown-device")


def test_energy_lots_sum_to_minted(client: TestClient, world: World) -> None:
    total = sum(
        lot["energy_wh"]
        for trader in world.result.traders
        for lot in _all(client, f"/participants/{trader}/lots")
    )
    assert total == int(world.result.minted_wh.sum())
    lots = [lot for trader in world.result.traders for lot in _all(client, f"/participants/{trader}/lots")]
    assert all(isinstance(lot["lot_id"], str) for lot in lots)


def test_energy_burns_sum_to_consumption(client: TestClient, world: World) -> None:
    burned = sum(
        b["energy_wh"]
        for trader in world.result.traders
        for b in _all(client, f"/participants/{trader}/burns")
        if b["cause"] == "Consumption"
    )
    assert burned == int(world.result.burned_by_consumption_wh.sum())


def test_intervals_match_the_simulation(client: TestClient, world: World) -> None:
    settled = {i["interval_start"]: i for i in _all(client, "/intervals") if i["settled"]}
    expected = {r.interval_start: r for r in world.result.intervals if r.filled_orders}
    assert settled.keys() == expected.keys()
    for start, record in expected.items():
        assert settled[start]["settlement"]["volume_wh"] == record.volume_wh
        assert settled[start]["settlement"]["clearing_price_per_kwh"] == record.clearing_price_per_kwh
        assert settled[start]["fill_count"] == record.filled_orders


def test_interval_detail_lists_its_fills(client: TestClient, world: World) -> None:
    start = next(r.interval_start for r in world.result.intervals if r.filled_orders)
    body = client.get(f"{API}/intervals/{start}").json()
    assert len(body["fills"]) == body["fill_count"]
    assert body["book"] is None


def test_interval_unknown_is_404(client: TestClient) -> None:
    assert client.get(f"{API}/intervals/900").status_code == 404


def test_grid_zones_lists_created_zones(client: TestClient, world: World) -> None:
    zones = _all(client, "/grid/zones")
    assert [z["zone_id"] for z in zones] == sorted(z["zone_id"] for z in zones)
    for zone in zones:
        parent, _, state, capacity_wh, _, _ = _call(
            world, "GridManagement", "grid", "zoneOf", zone["zone_id"]
        )[0]
        assert (zone["parent_zone_id"], zone["capacity_wh"]) == (parent, capacity_wh)
        assert zone["state"] == ("Normal", "Peak", "Emergency")[state]
    extra = next(z for z in zones if z["zone_id"] == EXTRA_ZONE)
    assert extra["capacity_wh"] == EXTRA_ZONE_CAPACITY_WH and extra["state"] == "Normal"
    assert (extra["losses_reported"], extra["losses_wh_total"]) == (3, sum(EXTRA_ZONE_LOSSES_WH))


def test_grid_zone_history_is_its_changes_in_chain_order(client: TestClient) -> None:
    changes = _all(client, f"/grid/zones/{EXTRA_ZONE}/history")
    assert [(c["change"], c.get("to"), c.get("capacity_wh")) for c in changes] == [
        ("state", "Peak", None),
        ("capacity", None, EXTRA_ZONE_CAPACITY_WH),
        ("state", "Normal", None),
    ]


def test_grid_zone_losses_page_by_interval(client: TestClient, world: World) -> None:
    start = int(world.result.community.interval_starts[0])
    span = {"from": start, "to": start + 3600}
    losses = _all(client, f"/grid/zones/{EXTRA_ZONE}/losses", **span)
    assert [entry["losses_wh"] for entry in losses] == list(EXTRA_ZONE_LOSSES_WH)
    first = client.get(f"{API}/grid/zones/{EXTRA_ZONE}/losses", params={**span, "limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"] is not None


def test_grid_zone_quality_lists_each_day_s_reports_in_chain_order(client: TestClient, world: World) -> None:
    start = int(world.result.community.interval_starts[0])
    day = start - start % 86_400
    reports = _all(client, f"/grid/zones/{EXTRA_ZONE}/quality", **{"from": day, "to": day + 86_400})
    assert [r["day_start"] for r in reports] == [day, day]
    fields = [
        "bus_minutes_outside5_percent",
        "bus_minutes_outside10_percent",
        "interruptions",
        "interruption_minutes",
        "customer_minutes_interrupted",
    ]
    assert [tuple(r[f] for f in fields) for r in reports] == list(EXTRA_ZONE_QUALITY)
    later = _all(
        client, f"/grid/zones/{EXTRA_ZONE}/quality", **{"from": day + 86_400, "to": day + 2 * 86_400}
    )
    assert later == []


def test_grid_zone_unknown_is_404(client: TestClient) -> None:
    for path in ("history", "losses", "quality"):
        response = client.get(f"{API}/grid/zones/4000/{path}")
        assert response.status_code == 404 and response.json()["type"].endswith("unknown-zone")


def test_carbon_retirements_match_the_chain(client: TestClient, world: World) -> None:
    retirements = _all(client, "/carbon/retirements")
    assert len(retirements) == _call(world, "CarbonCredit", "carbon", "retirementCount")[0]
    assert all(r["purpose"] for r in retirements)


def test_carbon_pools_balance_matches_the_chain(client: TestClient, world: World) -> None:
    pool = client.get(f"{API}/carbon/pools").json()["items"][0]
    assert pool["balance_co2e_grams"] == _call(world, "CarbonPool", "carbon_pool", "liveGrams")[0]


def test_carbon_pool_activity_pages_what_the_pool_summary_totals(client: TestClient, world: World) -> None:
    pool = client.get(f"{API}/carbon/pools").json()["items"][0]
    activity = _all(client, "/carbon/pools/activity")
    keys = [(a["block_number"], a["log_index"]) for a in activity]
    assert keys == sorted(keys)
    pool_abi = load_artifact("CarbonPool")
    for kind, event in (
        ("deposit", "Deposited"),
        ("redemption", "Redeemed"),
        ("retirement", "RetiredFromPool"),
    ):
        of_kind = [a for a in activity if a["kind"] == kind]
        on_chain = world.chain.logs(world.result.system.carbon_pool, pool_abi.event_topic(event))
        assert len(of_kind) == pool[f"{kind}s"] == len(on_chain)
        assert sum(a["co2e_grams"] for a in of_kind) == pool[f"{kind}_co2e_grams"]
    assert pool["deposits"] > 0 and pool["retirements"] > 0  # the simulated prosumers pool credits
    fees = sum(a["fee_grams"] for a in activity if a["kind"] == "redemption")
    assert fees == pool["redemption_fee_grams"]


def test_regulator_report_matches_the_simulation(client: TestClient, world: World) -> None:
    body = client.get(f"{API}/reports/regulator").json()
    result = world.result
    assert body["energy_minted_wh"] == int(result.minted_wh.sum())
    assert body["traded_wh"] == sum(i.volume_wh for i in result.intervals)
    assert body["fees_to_collector_units"] == sum(i.collector_units for i in result.intervals)
    assert body["readings_accepted"] == sum(i.readings_accepted for i in result.intervals)
    issued = _all(client, "/carbon/certificates")
    assert body["certificates_issued_co2e_grams"] == sum(c["co2e_grams"] for c in issued)


def test_events_filters_by_contract_and_event(client: TestClient, world: World) -> None:
    settled = _all(client, "/events", contract="market", event="IntervalSettled")
    assert len(settled) == sum(1 for r in world.result.intervals if r.filled_orders)
    assert all(e["contract"] == "market" for e in settled)


def test_events_block_range_is_inclusive(client: TestClient) -> None:
    items = _all(client, "/events", from_block=4, to_block=5)
    assert {e["block_number"] for e in items} == {4, 5}


def test_get_etag_answers_304_when_unchanged(client: TestClient) -> None:
    first = client.get(f"{API}/status")
    assert "max-age" in first.headers["cache-control"]
    again = client.get(f"{API}/status", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_get_etag_differs_by_request(client: TestClient) -> None:
    one = client.get(f"{API}/events", params={"limit": 1}).headers["etag"]
    two = client.get(f"{API}/events", params={"limit": 2}).headers["etag"]
    assert one != two


def test_interval_detail_includes_published_book(client: TestClient, world: World, tmp_path: Path) -> None:
    start = next(r.interval_start for r in world.result.intervals if r.filled_orders)
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / f"{start}.json").write_text(json.dumps({"intervalStart": start, "orders": []}))
    app = create_app(client.app.state.engine, ApiSettings(state_dir=tmp_path))  # type: ignore[attr-defined]
    body = TestClient(app).get(f"{API}/intervals/{start}").json()
    assert body["book"]["intervalStart"] == start


def test_communityEnergy_theRunsMintedConsumedAndTradedPerInterval(client: TestClient, world: World) -> None:
    first = world.result.intervals[0].interval_start
    answer = client.get(f"{API}/community/energy", params={"from": first, "to": first + 86_400})
    assert answer.status_code == 200
    items = {item["interval_start"]: item for item in answer.json()["items"]}
    minted = {r.interval_start: r.minted_wh for r in world.result.intervals if r.minted_wh}
    assert {start: item["generated_wh"] for start, item in items.items() if item["generated_wh"]} == minted
    traded = {r.interval_start: r.volume_wh for r in world.result.intervals if r.volume_wh}
    assert {start: item["traded_wh"] for start, item in items.items() if item["traded_wh"]} == traded
    assert sum(item["consumed_wh"] for item in items.values()) > 0


def test_participantTrades_newestFirstAcrossPages(client: TestClient, world: World) -> None:
    trader = max(
        world.result.traders, key=lambda t: sum(1 for x in world.result.trades if x.trader == t.lower())
    )
    first = client.get(f"{API}/participants/{trader}/trades", params={"limit": 3}).json()
    assert first["next_cursor"] is not None
    second = client.get(
        f"{API}/participants/{trader}/trades", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    places = [(t["block_number"], t["fill_index"]) for t in first["items"] + second["items"]]
    assert places == sorted(places, reverse=True) and len(set(places)) == len(places)
