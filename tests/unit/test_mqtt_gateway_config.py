"""The gateway service refuses a configuration it cannot run."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from gridledger.errors import GatewayError
from gridledger.iot.mqtt_gateway import GatewayConfig, MqttGateway
from gridledger.ops.operator import JsonLog


class _NoChain:
    def call(self, *_: object) -> tuple[object, ...]:
        raise AssertionError("a refused gateway asks the chain nothing")


def test_a_submitting_gateway_without_a_chain_or_a_key_is_refused(tmp_path: Path) -> None:
    config = GatewayConfig(
        name="g1",
        broker_port=8883,
        tls=ssl.create_default_context(),
        outbox=tmp_path / "o.sqlite",
        state=tmp_path,
    )
    for submitter, sender in ((None, "0x" + "11" * 20), (_NoChain(), None)):
        with pytest.raises(GatewayError, match="needs a chain and the gateway's key"):
            MqttGateway(config, _NoChain(), submitter, sender, "0x" + "22" * 20, JsonLog(lambda _: None))  # type: ignore[arg-type]
