"""The MQTT gateway against real Mosquitto (mutual TLS) and anvil: readings verified, stored,
submitted once, and answered; forged, replayed and malformed payloads refused with their reason
on the device's error topic; two gateways on one shared subscription never submit a reading twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from iot_world import DeviceClient, IotWorld, iot_world, wait_until

from gridledger.iot.outbox import Outbox
from gridledger.iot.payload import OBIS_EXPORT_WH, encode_reading
from gridledger.meter.signing import DeviceKey, MeterReading

pytestmark = [pytest.mark.anvil, pytest.mark.mosquitto]


@pytest.fixture
def world(tmp_path: Path) -> IotWorld:
    with iot_world(tmp_path, meters=3, gateways=2) as built:
        yield built  # type: ignore[misc]


def _answers(client: DeviceClient) -> list[dict[str, object]]:
    return [json.loads(answer) for answer in client.answers]


def _errors(client: DeviceClient) -> list[dict[str, object]]:
    return [json.loads(error) for error in client.errors]


def test_gateway_accepts_each_meter_reading_once_and_answers_the_device(world: IotWorld) -> None:
    gateway = world.gateway("g1", world.gateway_accounts[0])
    world.start(gateway)
    devices = [DeviceClient(meter.folder, meter.name, world.broker.port) for meter in world.meters]
    for k in range(4):
        for meter, device in zip(world.meters, devices, strict=True):
            device.publish(encode_reading(world.reading(meter, k)))
    wait_until(lambda: len(world.accepted_on_chain()) == 12, "12 readings accepted on-chain")
    wait_until(lambda: all(len(d.answers) == 4 for d in devices), "every device answered 4 times")
    accepted = world.accepted_on_chain()
    assert sorted(accepted) == sorted((m.device_id, k + 1) for m in world.meters for k in range(4))
    for device in devices:
        assert sorted(a["sequence"] for a in _answers(device)) == [1, 2, 3, 4]
        assert {a["status"] for a in _answers(device)} == {"accepted"}
        assert device.errors == []
        device.close()
    world.stop_all()
    outbox = Outbox(world.tmp / "g1.sqlite")
    assert outbox.counts() == {"accepted": 12, "refused": 0}
    assert all(row.answered for row in outbox.readings())


def test_gateway_refuses_forged_replayed_and_malformed_payloads_with_the_reason(world: IotWorld) -> None:
    gateway = world.gateway("g1", world.gateway_accounts[0])
    world.start(gateway)
    meter = world.meters[0]
    device = DeviceClient(meter.folder, meter.name, world.broker.port)
    genuine = world.reading(meter, 0)
    device.publish(encode_reading(genuine))
    wait_until(lambda: len(device.answers) == 1, "the genuine reading's answer")

    impostor = DeviceKey(b"\x07" * 32)
    forged = impostor.sign_reading(
        MeterReading(meter.device_id, 2, genuine[2] + 900, 0, 999, 0, genuine[6]), world.domain
    )
    unknown = meter.key.sign_reading(MeterReading(999, 1, genuine[2], 0, 1, 0, genuine[6]), world.domain)
    other_content = world.reading(meter, 0, export_wh=555)
    document = json.loads(encode_reading(world.reading(meter, 1)))
    document["registers"][OBIS_EXPORT_WH] = -1
    wrong_schema = dict(document, schema="gridledger.reading/9")
    payloads = [
        (encode_reading(forged), "BadSignature"),
        (encode_reading(unknown), "UnknownDevice"),
        # Another meter's genuine reading, published under this meter's certificate.
        (encode_reading(world.reading(world.meters[1], 0)), "WrongDevice"),
        (encode_reading(genuine), "Replay"),  # the same reading again: a replay, answered with its outcome
        (encode_reading(other_content), "Replay"),  # another reading under a sequence already used
        (b"{not json", "MalformedPayload"),
        (json.dumps(document).encode(), "MalformedPayload"),
        (json.dumps(wrong_schema).encode(), "UnsupportedSchema"),
    ]
    for payload, _ in payloads:
        device.publish(payload)
    wait_until(lambda: len(device.errors) == len(payloads), "an error for each refused payload")
    reasons = [error["reason"] for error in _errors(device)]
    assert sorted(reasons) == sorted(reason for _, reason in payloads)
    replays = [error for error in _errors(device) if error["reason"] == "Replay"]
    assert {error["status"] for error in replays} == {"accepted"}
    assert world.accepted_on_chain() == [(meter.device_id, 1)]
    device.close()
    world.stop_all()
    outbox = Outbox(world.tmp / "g1.sqlite")
    assert outbox.counts() == {"accepted": 1, "refused": len(payloads)}
    assert sorted(r.reason for r in outbox.refusals()) == sorted(reason for _, reason in payloads)


def test_two_gateways_on_one_shared_subscription_never_submit_a_reading_twice(world: IotWorld) -> None:
    first = world.gateway("g1", world.gateway_accounts[0])
    second = world.gateway("g2", world.gateway_accounts[1])
    world.start(first)
    world.start(second)
    devices = [DeviceClient(meter.folder, meter.name, world.broker.port) for meter in world.meters]
    readings = 8
    for k in range(readings):
        for meter, device in zip(world.meters, devices, strict=True):
            device.publish(encode_reading(world.reading(meter, k)))
    expected = len(world.meters) * readings
    wait_until(lambda: len(world.accepted_on_chain()) == expected, f"{expected} readings accepted")
    wait_until(lambda: all(len(d.answers) == readings for d in devices), "every reading answered")
    world.stop_all()
    accepted = world.accepted_on_chain()
    assert len(set(accepted)) == len(accepted) == expected
    # A reading sent twice would have come back from the registry as a StaleSequence rejection.
    assert world.rejected_on_chain() == 0
    stored = [Outbox(world.tmp / f"{name}.sqlite").readings() for name in ("g1", "g2")]
    assert all(stored), "the broker shares the subscription: each gateway took some readings"
    keys = [row.key for rows in stored for row in rows]
    assert len(keys) == len(set(keys)) == expected
    assert all(row.submissions == 1 for rows in stored for row in rows)
    for device in devices:
        device.close()
