"""A first-time buyer escrows payment in one transaction, signing an EIP-2612 permit."""

from __future__ import annotations

import pytest
from hardening_world import World

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import named_account
from gridledger.errors import ContractRevertError
from gridledger.market.escrow import deposit_payment_with_permit, mint_test_dollars

UNITS = 2_500_000


def _escrowed_units(world: World, trader: str) -> int:
    market = load_artifact("EnergyMarket")
    return int(world.chain.call(market, world.system.market, "accountOf", trader)[0])


def _wallet_units(world: World, trader: str) -> int:
    dollar = load_artifact("TestStablecoin")
    return int(world.chain.call(dollar, world.system.payment_token, "balanceOf", trader)[0])


def _fund(world: World) -> tuple[str, int, int]:
    buyer = world.participants[0]
    mint_test_dollars(world.chain, world.system, named_account("deployer"), buyer.owner, UNITS)
    return buyer.owner, _escrowed_units(world, buyer.owner), _wallet_units(world, buyer.owner)


def test_permit_deposit_escrows_without_an_approve(world: World) -> None:
    trader, escrowed, wallet = _fund(world)
    deadline = world.chain.timestamp + 600
    deposit_payment_with_permit(world.chain, world.system, world.participants[0].trader, UNITS, deadline)
    assert _escrowed_units(world, trader) == escrowed + UNITS
    assert _wallet_units(world, trader) == wallet - UNITS
    dollar = load_artifact("TestStablecoin")
    allowance = world.chain.call(dollar, world.system.payment_token, "allowance", trader, world.system.market)
    assert allowance == (0,)


def test_permit_deposit_past_its_deadline_is_refused_and_moves_nothing(world: World) -> None:
    trader, escrowed, wallet = _fund(world)
    deadline = world.chain.timestamp - 1
    with pytest.raises(ContractRevertError) as refused:
        deposit_payment_with_permit(world.chain, world.system, world.participants[0].trader, UNITS, deadline)
    assert refused.value.error_name == "PaymentPermitRefused"
    assert (_escrowed_units(world, trader), _wallet_units(world, trader)) == (escrowed, wallet)
