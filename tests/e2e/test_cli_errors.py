"""A new user's bad inputs end in one line on stderr and exit code 2, before any work starts:
no traceback, no run that fails only at its end, and an existing --out folder left as it was."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gridledger.carbon.events import save_logs
from gridledger.chain.deploy import ENERGY_PAIR_ID
from gridledger.chain.rpc import ANVIL, anvil_node
from gridledger.cli.main import app
from gridledger.market.book import IntervalBook

INTERVAL = 1_750_001_400
MARKET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55's own example address
MISTYPED_MARKET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"  # last letter's case flipped
CARBON = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
DEFAULT_RPC = ("127.0.0.1", 8545)


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(address: tuple[str, int]) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(address) == 0


UNREACHABLE = f"http://127.0.0.1:{_closed_port()}"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a valid (empty) book and a malformed one, a valid (empty) carbon event file
    and a plain file."""
    folder = tmp_path_factory.mktemp("inputs")
    book = IntervalBook(ENERGY_PAIR_ID, INTERVAL, bytes(32))
    book.save(folder / "book.json")
    (folder / "book-cleared-yes.json").write_text(
        book.to_json().replace('"clearedUnder": null', '"clearedUnder": "yes"')
    )
    save_logs(folder / "carbon-events.json", CARBON, [], [])
    (folder / "a-file").write_text("not a folder\n")
    (folder / "buses.csv").write_text("grid_node_id,bus\n1,13\n")
    return folder


def _invoke(args: list[str], files: Path) -> Result:
    return CliRunner().invoke(app, [a.replace("{files}", str(files)) for a in args])


def _assert_one_line_exit_2(ran: Result) -> None:
    # CliRunner keeps an uncaught exception in `exception` (a real run prints its traceback).
    assert ran.exception is None or isinstance(ran.exception, SystemExit), repr(ran.exception)
    assert ran.exit_code == 2, ran.output
    assert "Traceback" not in ran.output
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    assert ran.stdout.strip() == ""


SIMULATE = ["simulate", "--out", "{files}/out"]
VERIFY = ["market", "verify", "--interval", str(INTERVAL), "--book", "{files}/book.json"]
CARBON_REPORT = ["report", "carbon", "--from", "2025-06-21", "--to", "2025-06-22"]
CARBON_EVENTS = [*CARBON_REPORT, "--events", "{files}/carbon-events.json"]
OPERATE = ["operate", "--orders", "{files}/orders", "--state", "{files}/out", "--rpc-url", UNREACHABLE]
OPERATE_GRID = [*OPERATE, "--grid", "1-LV-rural1--0-sw", "--grid-buses", "{files}/buses.csv"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param([*SIMULATE, "--pv-scale", "inf"], "--pv-scale", id="pv-scale-inf"),
        pytest.param([*SIMULATE, "--pv-scale", "1e6"], "--pv-scale", id="pv-scale-1e6"),
        pytest.param([*SIMULATE, "--start", "1960-06-21"], "before 2015-07-30", id="start-1960"),
        pytest.param([*SIMULATE, "--seed", "-1"], "--seed", id="seed-negative"),
        pytest.param([*SIMULATE, "--prosumers", "100000000"], "--prosumers", id="prosumers-1e8"),
        pytest.param([*SIMULATE, "--prosumers", "5000", "--days", "30"], "prosumer-days", id="prosumer-days"),
        pytest.param([*SIMULATE, "--grid", "1-MV-rural--0-sw"], "not a low-voltage grid", id="grid-mv"),
        pytest.param(
            [*SIMULATE, "--upstream-voltage", "1.2"], "--upstream-voltage", id="upstream-voltage-high"
        ),
        pytest.param([*SIMULATE, "--branch-outage", "line:2"], "line:N@K+D", id="outage-malformed"),
        pytest.param([*SIMULATE, "--branch-outage", "line:999@40+2"], "positions 0 to", id="outage-no-line"),
        pytest.param(
            [*SIMULATE, "--branch-outage", "line:1@40+2", "--prosumers", "500"],
            "replicated households",
            id="outage-replicas",
        ),
        pytest.param(
            [*SIMULATE, "--upstream-voltage", "1.05", "--prosumers", "500"],
            "replicated households",
            id="upstream-voltage-replicas",
        ),
        pytest.param([*SIMULATE, "--n-1", "--prosumers", "500"], "replicated households", id="n-1-replicas"),
        pytest.param([*SIMULATE, "--rpc-url", UNREACHABLE], "did not answer", id="simulate-rpc-down"),
        pytest.param([*SIMULATE, "--rpc-url", "127.0.0.1:8545"], "http://", id="simulate-rpc-no-scheme"),
        pytest.param(["simulate", "--out", "{files}/a-file"], "is a file", id="out-is-a-file"),
        pytest.param(
            ["simulate", "--out", "{files}/a-file/report"], "which is a file", id="out-under-a-file"
        ),
        pytest.param(
            ["simulate", "--out", "/proc/gridledger-report"], "cannot be written", id="out-unwritable"
        ),
        pytest.param([*VERIFY, "--market", "0x1234"], "--market must be an address", id="market-short"),
        pytest.param([*VERIFY, "--market", MISTYPED_MARKET], "checksum", id="market-checksum"),
        pytest.param(
            [*VERIFY, "--market", MARKET, "--rpc-url", UNREACHABLE], "did not answer", id="verify-rpc-down"
        ),
        pytest.param(
            ["market", "verify", "--interval", "1", "--book", "{files}", "--market", MARKET],
            "is a directory",
            id="verify-book-is-a-folder",
        ),
        pytest.param(
            [*VERIFY[:4], "--book", "{files}/book-cleared-yes.json", "--market", MARKET],
            "malformed book: clearedUnder must be one of uniform",
            id="verify-book-malformed",
        ),
        pytest.param(
            [*VERIFY, "--market", MARKET, "--grid", "1-LV-rural1--0-sw"],
            "--grid and --grid-buses go together",
            id="verify-grid-without-buses",
        ),
        pytest.param([*OPERATE, "--pricing", "nodal"], "need the network model", id="operate-nodal-no-grid"),
        pytest.param([*OPERATE, "--loss-price", "5"], "need the network model", id="operate-loss-no-grid"),
        pytest.param(
            [*OPERATE_GRID, "--loss-price", "5"], "only nodal pricing", id="operate-loss-price-uniform"
        ),
        pytest.param(
            [*OPERATE, "--grid", "1-MV-rural--0-sw", "--grid-buses", "{files}/buses.csv"],
            "not a low-voltage grid",
            id="operate-grid-mv",
        ),
        pytest.param(
            [*VERIFY, "--market", MARKET, "--grid", "1-MV-rural--0-sw", "--grid-buses", "{files}/buses.csv"],
            "not a low-voltage grid",
            id="verify-grid-mv",
        ),
        pytest.param([*CARBON_REPORT, "--events", "{files}"], "is a folder", id="carbon-events-folder"),
        pytest.param(
            [*CARBON_REPORT, "--rpc-url", UNREACHABLE, "--carbon", CARBON],
            "did not answer",
            id="carbon-rpc-down",
        ),
        pytest.param(
            [*CARBON_REPORT, "--rpc-url", UNREACHABLE, "--carbon", "0x12"],
            "--carbon must be",
            id="carbon-short",
        ),
        pytest.param(
            [*CARBON_REPORT, "--rpc-url", UNREACHABLE, "--carbon", CARBON, "--pool", "pool"],
            "--pool must be",
            id="pool-malformed",
        ),
        pytest.param(
            [*CARBON_EVENTS, "--output", "{files}/a-file/report.csv"],
            "which is a file",
            id="carbon-output-under-file",
        ),
        pytest.param([*CARBON_EVENTS, "--output", "{files}"], "is a folder", id="carbon-output-folder"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str], message: str, files: Path) -> None:
    ran = _invoke(args, files)
    _assert_one_line_exit_2(ran)
    assert message in ran.stderr
    assert not (files / "out").exists()


@pytest.mark.skipif(_listening(DEFAULT_RPC), reason="a node listens on the default --rpc-url")
def test_market_verify_default_rpc_url_down_exits_2_with_one_line(files: Path) -> None:
    ran = _invoke([*VERIFY, "--market", MARKET], files)
    _assert_one_line_exit_2(ran)
    assert "http://127.0.0.1:8545" in ran.stderr


def test_simulate_failing_run_leaves_the_old_out_folder_untouched(files: Path, tmp_path: Path) -> None:
    old = tmp_path / "report"
    old.mkdir()
    (old / "report.html").write_text("the previous run\n")
    (old / "simulation.sqlite").write_bytes(b"SQLite format 3\x00 truncated")
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    ran = CliRunner().invoke(app, ["simulate", "--rpc-url", UNREACHABLE, "--out", str(old)])
    _assert_one_line_exit_2(ran)
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging folder left behind


def test_report_carbon_output_is_written_whole(files: Path, tmp_path: Path) -> None:
    target = tmp_path / "new" / "periods.csv"
    ran = _invoke([*CARBON_EVENTS, "--output", str(target)], files)
    assert ran.exit_code == 0, ran.output
    assert target.read_text().startswith("period,region,")
    assert [p.name for p in target.parent.iterdir()] == ["periods.csv"]


def test_cli_error_reaches_a_real_terminal_without_traceback(files: Path) -> None:
    """The console script itself (not CliRunner, which catches exceptions) prints one line."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    script = "from gridledger.cli.main import app; app(prog_name='gridledger')"
    args = [*VERIFY[:4], "--book", str(files / "book.json"), "--market", MARKET, "--rpc-url", UNREACHABLE]
    ran = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 2
    assert "Traceback" not in ran.stderr
    assert ran.stderr.strip().splitlines() == [
        f"gridledger: error: the node at {UNREACHABLE} did not answer eth_chainId: "
        "cannot connect: [Errno 111] Connection refused"
    ]


@pytest.mark.anvil
@pytest.mark.skipif(not ANVIL.exists(), reason="anvil comes from `npm ci` (node_modules/.bin/anvil)")
def test_market_verify_address_without_contract_exits_2_with_one_line(files: Path) -> None:
    with anvil_node(INTERVAL) as url:
        ran = _invoke([*VERIFY, "--market", MARKET, "--rpc-url", url], files)
    _assert_one_line_exit_2(ran)
    assert "no contract there" in ran.stderr
