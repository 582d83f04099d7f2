"""Fault injection of the simulated meters (iot/meters.py): the options' parsing and refusals,
and what each fault does to a run over the in-memory gateway of test_meter_store."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from test_meter_store import (
    DOMAIN,
    START_S,
    FakeGateway,
    ack_all,
    make_devices,
    make_fleet,
    ramp,
    run,
)

from gridledger.errors import GridLedgerError, InputError
from gridledger.iot.meters import (
    INTERVAL_S,
    FleetCounters,
    MeterEvent,
    MeterFaults,
    MeterFleet,
    Outage,
    ReadingStore,
    parse_outage,
    parse_skew,
    parse_tamper,
    publish_due_s,
    replay_clock,
)
from gridledger.iot.payload import decode_reading, encode_ack
from gridledger.meter.signing import FLAG_TAMPER


def test_fault_options_parse() -> None:
    faults = MeterFaults.parse(
        skew=["m0=120", "m1=-30.5"],
        jitter_s=2.5,
        outages=["m0@3+4", "m0@10+1", "m2@0+2"],
        tamper=["m1@5"],
        seed=7,
    )
    assert faults.skew_s == {"m0": 120.0, "m1": -30.5}
    assert faults.jitter_s == 2.5 and faults.seed == 7
    assert faults.outages == (Outage("m0", 3, 4), Outage("m0", 10, 1), Outage("m2", 0, 2))
    assert [k for k in range(12) if faults.offline("m0", k)] == [3, 4, 5, 6, 10]
    assert faults.flags("m1", 5) == FLAG_TAMPER and faults.flags("m1", 4) == 0 and faults.flags("m0", 5) == 0
    assert faults.clock_skew_s("m1") == -30.5 and faults.clock_skew_s("m3") == 0.0
    faults.check_devices(["m0", "m1", "m2"])


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_skew, "m0", "is not NAME=SECONDS"),
        (parse_skew, "m0=soon", "is not a number"),
        (parse_skew, "m0=nan", "within"),
        (parse_skew, "m0=1e9", "within"),
        (parse_skew, "gateway-1=5", "are the gateways'"),
        (parse_skew, "no/such=5", "1 to 64 letters"),
        (parse_outage, "m0", "is not NAME@K\\+N"),
        (parse_outage, "m0@3", "is not NAME@K\\+N"),
        (parse_outage, "m0@x+2", "K must be a whole number"),
        (parse_outage, "m0@-1+2", "K must be a whole number"),
        (parse_outage, "m0@3+0", "N must be a whole number of at least 1"),
        (parse_outage, "@3+1", "1 to 64 letters"),
        (parse_tamper, "m0", "is not NAME@K"),
        (parse_tamper, "m0@two", "K must be a whole number"),
    ],
)
def test_malformed_fault_options_are_refused(parse: object, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse(text)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"skew": ["m0=1", "m0=2"]}, "two skews"),
        ({"jitter_s": -1.0}, "--jitter-s"),
        ({"jitter_s": float("inf")}, "--jitter-s"),
        ({"outages": ["m0@2+3", "m0@4+1"]}, "overlap"),
        ({"seed": -1}, "--seed"),
    ],
)
def test_inconsistent_fault_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        MeterFaults.parse(**options)  # type: ignore[arg-type]


def test_faults_naming_a_meter_that_does_not_run_are_refused(tmp_path: Path) -> None:
    faults = MeterFaults.parse(skew=["m9=5"], tamper=["m0@1"])
    with pytest.raises(InputError, match="do not run: m9"):
        faults.check_devices(["m0", "m1"])
    # The fleet checks its faults at construction, before anything runs.
    with ReadingStore(tmp_path / "s.sqlite") as store, pytest.raises(GridLedgerError, match="m9"):
        make_fleet(store, FakeGateway(), make_devices(2), 4, faults=faults)


def test_jitter_is_bounded_and_the_same_for_a_seed() -> None:
    faults = MeterFaults.parse(jitter_s=3.0, seed=1)
    delays = [faults.jitter_of_s("m0", k) for k in range(50)]
    assert all(0 <= d <= 3.0 for d in delays) and len(set(delays)) == 50
    assert delays == [MeterFaults.parse(jitter_s=3.0, seed=1).jitter_of_s("m0", k) for k in range(50)]
    assert delays != [MeterFaults.parse(jitter_s=3.0, seed=2).jitter_of_s("m0", k) for k in range(50)]
    assert MeterFaults().jitter_of_s("m0", 3) == 0.0


def test_a_jittered_meter_publishes_no_sooner_than_its_delay(tmp_path: Path) -> None:
    faults = MeterFaults.parse(jitter_s=0.2, seed=3)
    t0_s = time.time()
    published_at: dict[int, float] = {}

    def on_event(event: MeterEvent) -> None:
        if event.kind == "published" and event.sequence is not None:
            published_at[event.sequence] = time.time()

    with ReadingStore(tmp_path / "s.sqlite") as store:
        fleet = make_fleet(
            store, FakeGateway(), make_devices(1), 5, faults=faults, on_event=on_event, t0_wall_s=t0_s
        )
        run(fleet.run(5))
    for k in range(5):
        due_s = publish_due_s(k, t0_s, fleet.interval_seconds) + faults.jitter_of_s("m0", k)
        assert published_at[k + 1] >= due_s


def test_skew_shifts_the_publish_time_by_the_skew_at_the_replay_rate() -> None:
    assert publish_due_s(3, 1000.0, 900.0) == 1000.0 + 4 * 900
    assert publish_due_s(3, 1000.0, 900.0, skew_s=120.0) == 1000.0 + 4 * 900 - 120
    # At 9 wall seconds per interval, 120 s of skew is 1.2 wall seconds.
    assert publish_due_s(3, 1000.0, 9.0, skew_s=120.0) == pytest.approx(1000.0 + 36 - 1.2)


def test_a_fast_clock_publishes_before_its_interval_ends_and_a_slow_one_after(tmp_path: Path) -> None:
    """On a replayed chain clock: a meter 30 minutes ahead publishes each interval long before
    it ends on the chain (the registry says IntervalInFuture beyond its 60 s of skew), a meter
    5 minutes behind only once the chain is 5 minutes past the end, an exact one right at it."""
    interval_seconds = 0.2
    t0_s = time.time()
    chain_now = replay_clock(START_S, t0_s, interval_seconds)
    faults = MeterFaults.parse(skew=["m0=1800", "m1=-300"])
    arrived: list[tuple[str, int, float]] = []

    def registry_rule(device: str, sequence: int, payload: bytes) -> bytes | None:
        interval_start = decode_reading(payload)[2]
        arrived.append((device, interval_start, chain_now()))
        if interval_start + INTERVAL_S > chain_now() + 60:
            return encode_ack(sequence, "rejected", "IntervalInFuture")
        return encode_ack(sequence, "accepted", None)

    with ReadingStore(tmp_path / "s.sqlite") as store:
        fleet = make_fleet(
            store,
            FakeGateway(registry_rule, store),
            make_devices(3),
            4,
            faults=faults,
            interval_seconds=interval_seconds,
            now=chain_now,
            t0_wall_s=t0_s,
        )
        counters = run(fleet.run(4))
        answers = {name: [a.reason for a in store.answers(name)] for name in ("m0", "m1", "m2")}
    assert answers["m0"] == ["IntervalInFuture"] * 4
    assert answers["m1"] == answers["m2"] == [None] * 4
    assert (counters.accepted, counters.rejected) == (8, 4)
    for device, interval_start, at_s in arrived:
        end_s = interval_start + INTERVAL_S
        if device == "m0":
            assert at_s < end_s - 60
        elif device == "m1":
            assert at_s >= end_s + 300
        else:
            assert at_s >= end_s


def test_tamper_sets_the_flag_on_that_reading_only(tmp_path: Path) -> None:
    gateway = FakeGateway(ack_all)
    faults = MeterFaults.parse(tamper=["m1@2"])
    with ReadingStore(tmp_path / "s.sqlite") as store:
        run(make_fleet(store, gateway, make_devices(2), 4, faults=faults).run(4))
    flags = {
        (name, decode_reading(payload)[1]): decode_reading(payload)[5] for name, _, payload in gateway.log
    }
    assert {key for key, flag in flags.items() if flag} == {("m1", 3)}
    assert flags[("m1", 3)] == FLAG_TAMPER


def test_an_outage_withholds_the_readings_then_forwards_them_in_order(tmp_path: Path) -> None:
    """m0 offline from interval 2 for 3 intervals: it produces readings 3, 4 and 5 into its store
    with no link, then reconnects and sends them, in order, before or with reading 6."""
    gateway = FakeGateway(ack_all)
    faults = MeterFaults.parse(outages=["m0@2+3"])
    events: list[MeterEvent] = []
    with ReadingStore(tmp_path / "s.sqlite") as store:

        def on_event(event: MeterEvent) -> None:
            events.append(event)
            if event.device == "m0" and event.kind == "produced" and event.sequence in (3, 4, 5):
                # Kept, and nothing of it has left.
                assert [p.sequence for p in store.pending("m0")][-1] == event.sequence
                assert event.sequence not in gateway.sequences("m0")

        counters: FleetCounters = run(
            make_fleet(store, gateway, make_devices(2), 7, faults=faults, on_event=on_event).run(7)
        )
        assert store.pending("m0") == []
    assert gateway.sequences("m0") == [1, 2, 3, 4, 5, 6, 7]
    assert gateway.sequences("m1") == [1, 2, 3, 4, 5, 6, 7]
    assert gateway.connections == {"m0": 2, "m1": 1}
    assert counters.published == counters.accepted == 14 and counters.resent == 0
    m0 = [(e.kind, e.sequence) for e in events if e.device == "m0"]
    offline, online = m0.index(("offline", None)), m0.index(("online", None))
    assert [s for kind, s in m0[offline:online] if kind == "produced"] == [3, 4, 5]
    assert not [s for kind, s in m0[offline:online] if kind == "published"]
    assert ("produced", 6) in m0[online:]


def test_an_outage_past_the_last_interval_ends_with_the_run(tmp_path: Path) -> None:
    gateway = FakeGateway(ack_all)
    faults = MeterFaults.parse(outages=["m0@2+10"])
    with ReadingStore(tmp_path / "s.sqlite") as store:
        counters = run(make_fleet(store, gateway, make_devices(1), 4, faults=faults).run(4))
    assert gateway.sequences("m0") == [1, 2, 3, 4] and counters.accepted == 4


def test_a_fleet_checks_its_inputs(tmp_path: Path) -> None:
    with ReadingStore(tmp_path / "s.sqlite") as store:
        devices = make_devices(1)
        with pytest.raises(InputError, match="multiple of 900"):
            MeterFleet(devices, [ramp(4)], store, DOMAIN, FakeGateway().connector(), start_s=START_S + 1)
        with pytest.raises(InputError, match="wall seconds"):
            MeterFleet(
                devices,
                [ramp(4)],
                store,
                DOMAIN,
                FakeGateway().connector(),
                start_s=START_S,
                interval_seconds=0,
            )
        fleet = MeterFleet(devices, [ramp(4)], store, DOMAIN, FakeGateway().connector(), start_s=START_S)
        with pytest.raises(GridLedgerError, match="fewer than 5 intervals"):
            asyncio.run(fleet.run(5))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--all", "--skew", "m0"], "is not NAME=SECONDS"),
        (["--all", "--outage", "m0@1"], "is not NAME@K\\+N"),
        (["--all", "--tamper", "m0@x"], "K must be a whole number"),
        (["--all", "--jitter-s", "-2"], "--jitter-s"),
        (["--all", "--start", "1750000001"], "multiple of 900"),
        (["--all", "--start", "yesterday"], "neither unix seconds nor an ISO 8601"),
        (["--all", "--start", "²"], "neither unix seconds nor an ISO 8601"),
        (["--all", "--outage", "m0@²+1"], "K must be a whole number|is not NAME@K\\+N"),
        (["--all", "--interval-seconds", "0"], "--interval-seconds"),
        (["--all", "--resend-after-s", "0"], "--resend-after-s"),
        (["--all", "--interval-seconds", "1", "--start", "2999-01-01T00:00"], "must be of the past"),
        ([], "--devices NAME ... or --all"),
        (["--all", "--devices", "m0"], "--devices NAME ... or --all"),
        (["--devices", "m0"], "no CA in|no certificate register|cannot read"),
    ],
)
def test_meter_run_refuses_bad_input_in_one_line(tmp_path: Path, arguments: list[str], message: str) -> None:
    import typer
    from typer.testing import CliRunner

    from gridledger.cli.main import GuardedGroup
    from gridledger.cli.meter_run import meter_run_command

    app = typer.Typer(cls=GuardedGroup)
    app.command("run")(meter_run_command)
    app.command("other")(lambda: None)  # a group of two, as `gridledger meter` is
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--broker-port",
            "8883",
            "--pki",
            str(tmp_path / "pki"),
            "--store",
            str(tmp_path / "s"),
            *arguments,
        ],
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert re.search(message, lines[0]), lines[0]
