"""snapshot/revert brings back storage and block time on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain, deploy_local_system, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.rpc import ANVIL, RpcChain, anvil_node
from gridledger.errors import ChainError

START = 1_750_000_500
NEWCOMER = named_account("prosumer-newcomer")


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    if request.param == "embedded":
        yield EmbeddedChain(START)
        return
    if not ANVIL.exists():
        pytest.skip("anvil comes from `npm ci`")
    with anvil_node(START) as url:
        yield RpcChain(url)


def test_revert_undoesParticipantVerification(chain: Chain) -> None:
    token = load_artifact("EnergyToken")
    system = deploy_local_system(chain, [b"\x01" * 32])
    before = chain.snapshot()
    chain.transact(named_account("regulator"), token, system.token, "setParticipant", NEWCOMER, True, 276)
    assert chain.call(token, system.token, "isVerified", NEWCOMER) == (True,)
    chain.revert(before)
    assert chain.call(token, system.token, "isVerified", NEWCOMER) == (False,)


def test_revert_unknownSnapshot_raisesChainError(chain: Chain) -> None:
    snapshot_id = chain.snapshot()
    chain.revert(snapshot_id)
    with pytest.raises(ChainError):
        chain.revert(snapshot_id + 7)


def test_revert_restoresBlockTime() -> None:
    chain = EmbeddedChain(START)
    mark = chain.snapshot()
    chain.set_time(START + 3600)
    chain.revert(mark)
    assert chain.timestamp == START
