"""Putting payment and energy into the market's escrow, as traders do before they trade."""

from __future__ import annotations

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain, System


def deposit_payment(chain: Chain, system: System, trader: str, units: int) -> None:
    """Approve the market and escrow `units` of the payment token the trader holds."""
    payment = load_artifact("TestStablecoin")
    chain.transact(trader, payment, system.payment_token, "approve", system.market, units)
    chain.transact(trader, load_artifact("EnergyMarket"), system.market, "depositPayment", units)


def mint_test_dollars(chain: Chain, system: System, minter: str, trader: str, units: int) -> None:
    """Local deployments only: the TestStablecoin owner creates `units` for `trader`."""
    chain.transact(minter, load_artifact("TestStablecoin"), system.payment_token, "mint", trader, units)


def deposit_energy(chain: Chain, system: System, trader: str, energy_wh: int) -> None:
    """Escrow `energy_wh` of the trader's live energy (oldest first) for selling."""
    chain.transact(trader, load_artifact("EnergyMarket"), system.market, "depositEnergy", energy_wh)
