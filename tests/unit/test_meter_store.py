"""Store-and-forward of the simulated meters (iot/meters.py), over an in-memory broker and
gateway: a reading is in the store before it is published, leaves it only with its final
answer, is resent in sequence order, and a restarted fleet resumes from the store."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gridledger.chain.hashing import keccak
from gridledger.iot import topics
from gridledger.iot.meters import (
    ACCEPTED,
    REFUSED,
    REJECTED,
    Answer,
    Connector,
    FleetCounters,
    Link,
    LinkLost,
    MeterDevice,
    MeterError,
    MeterEvent,
    MeterFaults,
    MeterFleet,
    ReadingStore,
    RegisterSeries,
    answer_of,
)
from gridledger.iot.payload import (
    BAD_SIGNATURE,
    MALFORMED,
    REPLAY,
    UNKNOWN_DEVICE,
    WRONG_DEVICE,
    PayloadRefused,
    decode_reading,
    encode_ack,
    encode_error,
)
from gridledger.meter.signing import DeviceKey, registry_domain_separator

T = TypeVar("T")
DOMAIN = registry_domain_separator(31337, "0x" + "11" * 20)
# A day ago, aligned: every interval of a short replay has ended on the real clock.
START_S = (int(time.time()) // 900 - 96) * 900
INTERVAL_SECONDS = 0.01  # a fast replay: the tests wait on the run's end, never on the clock
TIMEOUT_S = 20.0

Policy = Callable[[str, int, bytes], bytes | None]


def ack_all(device: str, sequence: int, payload: bytes) -> bytes | None:
    return encode_ack(sequence, ACCEPTED, None, "0x" + "ab" * 32)


def withhold(device: str, sequence: int, payload: bytes) -> bytes | None:
    return None


class FakeGateway:
    """A broker and gateway in memory: logs every publish as it arrives, answers it on the
    device's answer stream by `policy`, and can cut a device's link."""

    def __init__(self, policy: Policy = ack_all, store: ReadingStore | None = None) -> None:
        self.policy = policy
        self.store = store
        self.log: list[tuple[str, int, bytes]] = []
        self.connections: dict[str, int] = {}
        # Seconds the broker takes to acknowledge a (device, sequence) publish, default none.
        self.slow_acks_s: dict[tuple[str, int], float] = {}
        self._streams: dict[str, asyncio.Queue[bytes | None]] = {}

    def sequences(self, device: str) -> list[int]:
        return [sequence for name, sequence, _ in self.log if name == device]

    def answer(self, device: str, payload: bytes) -> None:
        self._streams[device].put_nowait(payload)

    def cut(self, device: str) -> None:
        """Drop the device's link, as a broker going away does."""
        self._streams[device].put_nowait(None)

    def connector(self) -> Connector:
        gateway = self

        class FakeLink:
            def __init__(self, name: str, stream: asyncio.Queue[bytes | None]) -> None:
                self.name, self.stream, self.open = name, stream, True

            async def publish(self, topic: str, payload: bytes) -> None:
                if not self.open:
                    raise LinkLost("cut")
                assert topic == topics.readings_topic(self.name)
                sequence = decode_reading(payload)[1]
                if gateway.store is not None:
                    # The reading must be on disk before it leaves.
                    assert payload in [p.payload for p in gateway.store.pending(self.name)]
                gateway.log.append((self.name, sequence, payload))
                await asyncio.sleep(gateway.slow_acks_s.get((self.name, sequence), 0.0))
                answer = gateway.policy(self.name, sequence, payload)
                if answer is not None:
                    self.stream.put_nowait(answer)

            async def answers(self) -> AsyncIterator[bytes]:
                while True:
                    payload = await self.stream.get()
                    if payload is None:
                        self.open = False
                        raise LinkLost("cut")
                    yield payload

        @asynccontextmanager
        async def connect(device: MeterDevice) -> AsyncIterator[Link]:
            self.connections[device.name] = self.connections.get(device.name, 0) + 1
            stream = self._streams.setdefault(device.name, asyncio.Queue())
            link = FakeLink(device.name, stream)
            try:
                yield link
            finally:
                link.open = False

        return connect


def make_devices(count: int) -> list[MeterDevice]:
    return [
        MeterDevice(f"m{i}", Path(f"/nowhere/m{i}"), DeviceKey(keccak(text=f"meter {i}")), 10 + i)
        for i in range(count)
    ]


def ramp(intervals: int, step_wh: int = 100) -> RegisterSeries:
    return RegisterSeries(
        [step_wh * (k + 1) for k in range(intervals)], [step_wh // 2 * (k + 1) for k in range(intervals)]
    )


def make_fleet(
    store: ReadingStore,
    gateway: FakeGateway,
    devices: list[MeterDevice],
    intervals: int,
    *,
    faults: MeterFaults | None = None,
    resend_after_s: float = 60.0,
    on_event: Callable[[MeterEvent], None] | None = None,
    **options: Any,
) -> MeterFleet:
    return MeterFleet(
        devices,
        [ramp(intervals) for _ in devices],
        store,
        DOMAIN,
        gateway.connector(),
        start_s=START_S,
        interval_seconds=options.pop("interval_seconds", INTERVAL_SECONDS),
        faults=faults,
        resend_after_s=resend_after_s,
        reconnect_delay_s=0.01,
        on_event=on_event,
        **options,
    )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, TIMEOUT_S)

    return asyncio.run(bounded())


def test_every_reading_is_stored_before_it_is_published_and_leaves_with_its_ack(tmp_path: Path) -> None:
    with ReadingStore(tmp_path / "meters.sqlite") as store:
        gateway = FakeGateway(ack_all, store)
        devices = make_devices(3)
        counters = run(make_fleet(store, gateway, devices, 8).run(8))
        assert counters.produced == counters.published == counters.accepted == 24
        assert counters.resent == counters.rejected == counters.refused == 0
        for device in devices:
            assert gateway.sequences(device.name) == list(range(1, 9))
            assert store.pending(device.name) == []
            assert [a.status for a in store.answers(device.name)] == [ACCEPTED] * 8
        # The payloads carry the profile's registers and the aligned interval starts.
        readings = [decode_reading(payload) for name, _, payload in gateway.log if name == "m0"]
        assert [r[2] for r in readings] == [START_S + 900 * k for k in range(8)]
        assert [r[3] for r in readings] == [100 * (k + 1) for k in range(8)]
        assert [r[4] for r in readings] == [50 * (k + 1) for k in range(8)]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (encode_ack(4, ACCEPTED, None), Answer(4, ACCEPTED, None)),
        (encode_ack(4, REJECTED, "ImpossibleDelta"), Answer(4, REJECTED, "ImpossibleDelta")),
        (encode_error(PayloadRefused(BAD_SIGNATURE, "no", 4)), Answer(4, REFUSED, BAD_SIGNATURE)),
        (encode_error(PayloadRefused(REPLAY, "seen", 4), ACCEPTED), Answer(4, ACCEPTED, REPLAY)),
        (encode_error(PayloadRefused(REPLAY, "seen", 4), REJECTED), Answer(4, REJECTED, REPLAY)),
        # A Replay of a copy whose outcome is not known yet: the ack of the first copy will come.
        (encode_error(PayloadRefused(REPLAY, "seen", 4), "queued"), None),
        (encode_error(PayloadRefused(REPLAY, "seen", 4), None), None),
        # Refusals that pass by themselves (registered or provisioned since): kept and resent.
        (encode_error(PayloadRefused(UNKNOWN_DEVICE, "not yet", 4)), None),
        (encode_error(PayloadRefused(WRONG_DEVICE, "not yet", 4)), None),
        # No sequence, not final, or not an answer at all: nothing to clear.
        (encode_error(PayloadRefused(MALFORMED, "not JSON")), None),
        (encode_ack(4, "queued", None), None),
        (b"not json", None),
        (json.dumps({"schema": "something/1", "sequence": 4}).encode(), None),
    ],
)
def test_answers_are_final_for_acks_and_every_refusal(answer: bytes, expected: Answer | None) -> None:
    assert answer_of(answer) == expected


def test_the_store_clears_a_reading_with_each_final_answer_and_keeps_the_answers(tmp_path: Path) -> None:
    def varied(device: str, sequence: int, payload: bytes) -> bytes | None:
        return {
            1: encode_ack(1, ACCEPTED, None),
            2: encode_ack(2, REJECTED, "IntervalTooOld"),
            3: encode_error(PayloadRefused(BAD_SIGNATURE, "bad", 3)),
            4: encode_error(PayloadRefused(REPLAY, "seen", 4), ACCEPTED),
            5: encode_error(PayloadRefused(REPLAY, "seen", 5), REJECTED),
            6: encode_ack(6, "queued", None),  # not final: stays pending
        }[sequence]

    with ReadingStore(tmp_path / "meters.sqlite") as store:
        gateway = FakeGateway(varied, store)

        async def scenario() -> FleetCounters:
            stop = asyncio.Event()
            seen: list[tuple[str, int | None]] = []

            def on_event(event: MeterEvent) -> None:
                seen.append((event.kind, event.sequence))
                # Five answers in and the sixth reading out: the sixth stays for good.
                if sum(kind == "answered" for kind, _ in seen) == 5 and ("published", 6) in seen:
                    stop.set()

            fleet = make_fleet(store, gateway, make_devices(1), 6, on_event=on_event)
            return await fleet.run(6, stop)

        counters = run(scenario())
        assert (counters.accepted, counters.rejected, counters.refused) == (2, 2, 1)
        assert [(a.sequence, a.status, a.reason) for a in store.answers("m0")] == [
            (1, ACCEPTED, None),
            (2, REJECTED, "IntervalTooOld"),
            (3, REFUSED, BAD_SIGNATURE),
            (4, ACCEPTED, REPLAY),
            (5, REJECTED, REPLAY),
        ]
        assert [p.sequence for p in store.pending("m0")] == [6]
        assert store.pending("m0")[0].attempts == 1


def test_a_reconnect_resends_the_unanswered_readings_in_sequence_order(tmp_path: Path) -> None:
    answering = False

    def later(device: str, sequence: int, payload: bytes) -> bytes | None:
        return encode_ack(sequence, ACCEPTED, None) if answering else None

    with ReadingStore(tmp_path / "meters.sqlite") as store:
        gateway = FakeGateway(later, store)

        async def scenario() -> FleetCounters:
            def on_event(event: MeterEvent) -> None:
                nonlocal answering
                if event.kind == "published" and event.sequence == 5:
                    # All five sent, none answered: the link drops and the gateway recovers.
                    answering = True
                    gateway.cut("m0")

            return await make_fleet(store, gateway, make_devices(1), 5, on_event=on_event).run(5)

        counters = run(scenario())
        assert gateway.sequences("m0") == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
        assert counters.published == 5 and counters.resent == 5 and counters.accepted == 5
        assert gateway.connections["m0"] == 2
        assert store.pending("m0") == []


def test_an_outage_begins_after_the_publish_in_flight_is_acknowledged(tmp_path: Path) -> None:
    events: list[tuple[str, int | None]] = []
    with ReadingStore(tmp_path / "meters.sqlite") as store:
        gateway = FakeGateway(ack_all, store)
        # The broker acknowledges reading 2 twenty replay intervals late; the outage is due at
        # the next interval, while that publish is still in flight.
        gateway.slow_acks_s[("m0", 2)] = 20 * INTERVAL_SECONDS
        faults = MeterFaults.parse(outages=["m0@2+2"])
        fleet = make_fleet(
            store,
            gateway,
            make_devices(1),
            6,
            faults=faults,
            on_event=lambda e: events.append((e.kind, e.sequence)),
        )
        counters = run(fleet.run(6))
    offline, online = events.index(("offline", None)), events.index(("online", None))
    assert ("published", 2) in events[:offline]
    assert not [e for e in events[offline:online] if e[0] in ("published", "resent")]
    # The link was down through the outage, and every reading went out once, in order.
    assert events[offline - 1] == ("disconnected", None)
    assert events.index(("connected", None), online) < events.index(("published", 3))
    assert gateway.sequences("m0") == [1, 2, 3, 4, 5, 6]
    assert counters.published == counters.accepted == 6 and counters.resent == 0


def test_a_reading_unanswered_for_resend_after_s_is_sent_again(tmp_path: Path) -> None:
    copies: dict[int, int] = {}

    def second_copy(device: str, sequence: int, payload: bytes) -> bytes | None:
        # The first copy of each reading is lost on the way to the chain.
        copies[sequence] = copies.get(sequence, 0) + 1
        return encode_ack(sequence, ACCEPTED, None) if copies[sequence] > 1 else None

    with ReadingStore(tmp_path / "meters.sqlite") as store:
        gateway = FakeGateway(second_copy, store)
        counters = run(make_fleet(store, gateway, make_devices(1), 3, resend_after_s=0.05).run(3))
        assert copies == {1: 2, 2: 2, 3: 2}
        assert counters.resent == 3 and counters.accepted == 3
        assert gateway.connections["m0"] == 1  # resent on the same link


def test_a_restarted_fleet_resumes_from_its_store_without_reusing_a_sequence(tmp_path: Path) -> None:
    path = tmp_path / "meters.sqlite"
    devices = make_devices(2)
    # First process: the gateway answers nothing; the process stops after three readings each.
    with ReadingStore(path) as store:
        gateway = FakeGateway(withhold, store)

        stop = asyncio.Event()
        produced: dict[str, int] = {}

        def on_event_of_first(event: MeterEvent) -> None:
            if event.kind == "produced":
                produced[event.device] = produced.get(event.device, 0) + 1
                if min(produced.get(d.name, 0) for d in devices) >= 3:
                    stop.set()

        async def first() -> FleetCounters:
            counters = await fleet.run(10, stop)
            return counters

        fleet = make_fleet(store, gateway, devices, 10, on_event=on_event_of_first)
        before = run(first())
        kept = {d.name: [p.sequence for p in store.pending(d.name)] for d in devices}
        first_log = list(gateway.log)
    assert before.answered == 0
    # The stopped run says where each meter was: every one unfinished, its readings unanswered.
    unfinished = fleet.unfinished()
    assert [line.split(":")[0] for line in unfinished] == [d.name for d in devices]
    assert all(f"{len(kept[d.name])} unanswered" in line for d, line in zip(devices, unfinished, strict=True))
    assert all(len(sequences) >= 3 for sequences in kept.values())

    # Second process on the same file: the kept readings go first, then the run goes on.
    with ReadingStore(path) as store:
        gateway = FakeGateway(ack_all, store)
        after = run(make_fleet(store, gateway, devices, 10).run(10))
        for device in devices:
            sequences = gateway.sequences(device.name)
            assert sequences == list(range(1, 11))
            assert store.pending(device.name) == []
            assert len(store.answers(device.name)) == 10
        assert after.produced == 20 - before.produced
        assert after.resent == sum(len(s) for s in kept.values())
    # No sequence was used for two different readings.
    payload_of: dict[tuple[str, int], bytes] = {}
    for name, sequence, payload in first_log + gateway.log:
        assert payload_of.setdefault((name, sequence), payload) == payload


def test_a_store_refuses_a_meter_of_another_device_id_or_start(tmp_path: Path) -> None:
    with ReadingStore(tmp_path / "meters.sqlite") as store:
        store.bind("m0", 7, START_S)
        assert store.bind("m0", 7, START_S).next_interval == 0
        with pytest.raises(MeterError, match="device 7"):
            store.bind("m0", 8, START_S)
        with pytest.raises(MeterError, match="resume with that start"):
            store.bind("m0", 7, START_S + 900)


def test_a_store_that_cannot_be_opened_is_a_meter_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(MeterError, match="cannot open the meter store"):
        ReadingStore(tmp_path / "file" / "meters.sqlite")


def test_device_ids_come_from_the_registry_and_an_unknown_signer_is_refused(
    demo_world: tuple[Any, Any, list[Any], int],
) -> None:
    from gridledger.iot.meters import DeviceNotRegistered, resolve_device_ids

    chain, system, participants, _ = demo_world
    signers = [p.key.address for p in participants]
    assert resolve_device_ids(chain, system.registry, signers) == {
        p.key.address: p.device_id for p in participants
    }
    stranger = DeviceKey(keccak(text="never registered")).address
    with pytest.raises(DeviceNotRegistered, match=stranger):
        resolve_device_ids(chain, system.registry, [*signers, stranger])
