"""The same scenario on the embedded EVM and on anvil ends in the same state."""

from __future__ import annotations

import pytest

from gridledger.chain.abi import load_artifact
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.rpc import ANVIL, RpcChain, anvil_node
from gridledger.cli.demo import START_TIME, build_demo

pytestmark = pytest.mark.anvil


@pytest.mark.skipif(not ANVIL.exists(), reason="anvil comes from `npm ci` (node_modules/.bin/anvil)")
def test_build_demo_embeddedAndAnvilAgree() -> None:
    token, registry = load_artifact("EnergyToken"), load_artifact("SmartMeterRegistry")
    embedded = EmbeddedChain(START_TIME)
    system_embedded, participants_embedded, rejected_embedded = build_demo(embedded)
    with anvil_node(START_TIME) as url:
        rpc = RpcChain(url)
        system_rpc, participants_rpc, rejected_rpc = build_demo(rpc)
        assert system_rpc.token.lower() == system_embedded.token.lower()
        assert rejected_rpc == rejected_embedded
        assert [p.device_id for p in participants_rpc] == [p.device_id for p in participants_embedded]
        for on_rpc in participants_rpc:
            for fn, arg, contract, chain_rpc, chain_emb in (
                ("balanceOf", on_rpc.owner, token, system_rpc.token, system_embedded.token),
                ("getDevice", on_rpc.device_id, registry, system_rpc.registry, system_embedded.registry),
            ):
                state_rpc = rpc.call(contract, chain_rpc, fn, arg)
                state_embedded = embedded.call(contract, chain_emb, fn, arg)
                assert repr(state_rpc).lower() == repr(state_embedded).lower()
        assert rpc.call(token, system_rpc.token, "totalSupply") == embedded.call(
            token, system_embedded.token, "totalSupply"
        )
