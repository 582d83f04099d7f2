"""Putting payment and energy into the market's escrow, as traders do before they trade."""

from __future__ import annotations

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain, System
from gridledger.chain.eip712 import SigningKey, typed_digest
from gridledger.chain.hashing import keccak

# EIP-2612's permit struct (OpenZeppelin ERC20Permit, USDC); DAI's older permit differs.
PERMIT_TYPEHASH = keccak(
    text="Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)
PERMIT_TYPES = ("address", "address", "uint256", "uint256", "uint256")


def deposit_payment(chain: Chain, system: System, trader: str, units: int) -> None:
    """Approve the market and escrow `units` of the payment token the trader holds."""
    payment = load_artifact("TestStablecoin")
    chain.transact(trader, payment, system.payment_token, "approve", system.market, units)
    chain.transact(trader, load_artifact("EnergyMarket"), system.market, "depositPayment", units)


def deposit_payment_with_permit(
    chain: Chain, system: System, trader: SigningKey, units: int, deadline: int
) -> None:
    """Escrow `units` in one transaction: the trader signs an EIP-2612 permit for the market
    (valid until `deadline`, unix seconds) instead of sending an approve first."""
    payment = load_artifact("TestStablecoin")
    (nonce,) = chain.call(payment, system.payment_token, "nonces", trader.address)
    # The token's own separator: a real stablecoin's name and version are its own.
    (domain,) = chain.call(payment, system.payment_token, "DOMAIN_SEPARATOR")
    digest = typed_digest(
        bytes(domain), PERMIT_TYPEHASH, PERMIT_TYPES, (trader.address, system.market, units, nonce, deadline)
    )
    signature = trader.sign(digest)
    chain.transact(
        trader.address,
        load_artifact("EnergyMarket"),
        system.market,
        "depositPaymentWithPermit",
        units,
        deadline,
        signature[64],
        signature[:32],
        signature[32:64],
    )


def mint_test_dollars(chain: Chain, system: System, minter: str, trader: str, units: int) -> None:
    """Local deployments only: the TestStablecoin owner creates `units` for `trader`."""
    chain.transact(minter, load_artifact("TestStablecoin"), system.payment_token, "mint", trader, units)


def deposit_energy(chain: Chain, system: System, trader: str, energy_wh: int) -> None:
    """Escrow `energy_wh` of the trader's live energy (oldest first) for selling."""
    chain.transact(trader, load_artifact("EnergyMarket"), system.market, "depositEnergy", energy_wh)
