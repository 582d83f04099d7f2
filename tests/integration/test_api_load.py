"""The API under load: 50 concurrent clients for a bounded time.

A small simulated day (30 prosumers) is indexed into SQLite; `create_app` over it is served by
uvicorn in a thread on 127.0.0.1, as deployed. 50 client threads, each with its own httpx
connection, ask a mix of read endpoints (participants, a participant's summary and trades, the
day's intervals, status, the audit feed) in a loop until `LOAD_S` is up, half the time sending
back the ETag they last got for the URL. Every answer must be 200 or 304 and no request may
fail; the p99 latency is printed (speed itself is `make bench`'s `api.p99_ms`).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gridledger.api.app import ApiSettings, create_app
from gridledger.api.server import api_server
from gridledger.chain.embedded import EmbeddedChain
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.indexer import Indexer
from gridledger.indexer.source import EmbeddedSource
from gridledger.sim.run import Simulation
from gridledger.sim.scenario import build_community

CLIENTS = 50
LOAD_S = 10.0
DAY_S = 86_400


@dataclass(frozen=True)
class Served:
    api: str  # http://127.0.0.1:<port>/api/v1
    day_start: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    community = build_community(prosumers=30)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    result = Simulation(chain, community, seed=0).run()
    path: Path = tmp_path_factory.mktemp("api-load") / "index.sqlite"
    engine = open_database(str(path))
    migrate(engine)
    Indexer(engine, EmbeddedSource(chain), dataclasses.asdict(result.system), confirmation_depth=0).catch_up()
    try:
        with api_server(create_app(engine, ApiSettings())) as running:
            yield Served(f"{running.url}/api/v1", int(community.interval_starts[0]))
        assert not running.alive(), "the API server did not stop"
    finally:
        engine.dispose()


@dataclass
class Tally:
    latencies_ms: list[float] = dataclasses.field(default_factory=list)
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)
    failures: list[str] = dataclasses.field(default_factory=list)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def test_fifty_clients_get_no_errors(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    listed = httpx.get(f"{served.api}/participants", params={"limit": 500}, timeout=30)
    assert listed.status_code == 200, listed.text
    addresses = [p["address"] for p in listed.json()["items"]]
    assert addresses, "the simulated day has no participants"
    day = {"from": served.day_start, "to": served.day_start + DAY_S}

    def request(rand: random.Random) -> tuple[str, dict[str, object] | None]:
        holder = rand.choice(addresses)
        return rand.choice(
            [
                ("/status", None),
                ("/participants", {"limit": 100}),
                (f"/participants/{holder}", None),
                (f"/participants/{holder}/trades", {"limit": 100}),
                ("/intervals", day),
                ("/events", {"limit": 100}),
            ]
        )

    tallies = [Tally() for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    ends_box: list[float] = []

    def client(number: int) -> None:
        tally, rand = tallies[number], random.Random(number)
        etags: dict[str, str] = {}
        with httpx.Client(base_url=served.api, timeout=30) as http:
            if start.wait() == 0:
                ends_box.append(time.monotonic() + LOAD_S)
            while not ends_box:
                time.sleep(0.001)
            ends = ends_box[0]
            while time.monotonic() < ends:
                path, params = request(rand)
                key = f"{path}?{params}"
                headers = {"If-None-Match": etags[key]} if key in etags and rand.random() < 0.5 else {}
                began = time.perf_counter()
                try:
                    answer = http.get(path, params=params, headers=headers)
                except httpx.HTTPError as failed:
                    tally.failures.append(f"GET {path}: {type(failed).__name__}: {failed}")
                    continue
                tally.latencies_ms.append((time.perf_counter() - began) * 1000)
                tally.statuses[answer.status_code] = tally.statuses.get(answer.status_code, 0) + 1
                if answer.status_code not in (200, 304):
                    tally.failures.append(f"GET {path} {params}: {answer.status_code} {answer.text[:200]}")
                elif "etag" in answer.headers:
                    etags[key] = answer.headers["etag"]

    threads = [threading.Thread(target=client, args=(n,), name=f"load-{n}") for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_S + 120)
    assert not any(thread.is_alive() for thread in threads), "a client did not stop"

    latencies = [ms for tally in tallies for ms in tally.latencies_ms]
    statuses: dict[int, int] = {}
    for tally in tallies:
        for code, count in tally.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    failures = [failure for tally in tallies for failure in tally.failures]
    with capsys.disabled():
        print(
            f"\napi load: {CLIENTS} clients, {LOAD_S:.0f} s: {len(latencies)} requests "
            f"({len(latencies) / LOAD_S:.0f}/s), statuses {dict(sorted(statuses.items()))}, "
            f"p50 {_percentile(latencies, 0.5):.1f} ms, p99 {_percentile(latencies, 0.99):.1f} ms, "
            f"failures {len(failures)}"
        )
    assert not failures, f"{len(failures)} failed requests, e.g. {failures[:5]}"
    assert latencies, "no request was answered"
    assert not any(code >= 500 for code in statuses)
