"""GET /health of the long-running services (operate, gateway run): the service's last health
record from its state folder, on 127.0.0.1 only."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridledger.errors import InputError
from gridledger.ops.operator import HEALTH_FILE, serve_health


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    port = _free_port()
    server = serve_health(tmp_path, port)
    try:
        yield tmp_path, port
    finally:
        server.shutdown()
        server.server_close()


def test_health_answers_the_last_record_written(served: tuple[Path, int]) -> None:
    state, port = served
    (state / HEALTH_FILE).write_text(json.dumps({"gateway": "g1", "stored": 7}))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "application/json"
        assert json.loads(answer.read()) == {"gateway": "g1", "stored": 7}


def test_health_before_any_record_and_other_paths_are_not_found(served: tuple[Path, int]) -> None:
    state, port = served
    for path in ("/health", "/"):
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
        assert missing.value.code == 404
    (state / HEALTH_FILE).write_text("{}")
    with pytest.raises(urllib.error.HTTPError) as other:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert other.value.code == 404


def test_health_on_a_port_in_use_is_an_input_error(served: tuple[Path, int]) -> None:
    state, port = served
    with pytest.raises(InputError, match=f"cannot serve health on 127.0.0.1:{port}"):
        serve_health(state, port)
