"""EIP-712 orders of the EnergyMarket, byte-identical to the contract's hashing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from gridledger.chain.eip712 import SigningKey, domain_separator, recover_compact, typed_digest
from gridledger.chain.hashing import keccak

ORDER_TYPEHASH = keccak(
    text="Order(address trader,uint8 side,uint16 pairId,uint64 intervalStart,uint64 energyWh,"
    "uint64 limitPricePerKWh,uint64 gridNodeId,uint64 expiry,uint64 nonce)"
)
ORDER_TYPES = ("address", "uint8", "uint16", "uint64", "uint64", "uint64", "uint64", "uint64", "uint64")


class Side(IntEnum):
    SELL = 0
    BUY = 1


class Pricing(IntEnum):
    """UNIFORM: every fill at the clearing price. PAY_AS_BID: every fill at its own limit.
    NODAL: every buy at the clearing price (the energy price), every sell at its node's price
    (market/nodal.py)."""

    UNIFORM = 0
    PAY_AS_BID = 1
    NODAL = 2


@dataclass(frozen=True)
class Order:
    """What a trader signs. Prices are payment-token base units per kWh."""

    trader: str
    side: Side
    pair_id: int
    interval_start: int
    energy_wh: int
    limit_price_per_kwh: int
    grid_node_id: int
    expiry: int
    nonce: int

    def fields(self) -> tuple[str, int, int, int, int, int, int, int, int]:
        """The signed fields in the order of the EIP-712 type and the Order struct."""
        return (
            self.trader,
            int(self.side),
            self.pair_id,
            self.interval_start,
            self.energy_wh,
            self.limit_price_per_kwh,
            self.grid_node_id,
            self.expiry,
            self.nonce,
        )


@dataclass(frozen=True)
class SignedOrder:
    order: Order
    r: bytes
    vs: bytes
    order_hash: bytes  # the EIP-712 digest; the contract's order hash in events

    def signer(self) -> str | None:
        """Who signed the order hash, or None for a signature that recovers to nobody."""
        try:
            return recover_compact(self.order_hash, self.r, self.vs)
        except ValueError:
            return None


def market_domain_separator(chain_id: int, market: str) -> bytes:
    return domain_separator("GridLedger EnergyMarket", "1", chain_id, market)


def order_hash(order: Order, domain: bytes) -> bytes:
    return typed_digest(domain, ORDER_TYPEHASH, ORDER_TYPES, order.fields())


class TraderKey(SigningKey):
    """A trader's key; orders are signed off-chain and stay sealed until settlement."""

    def sign_order(self, order: Order, domain: bytes) -> SignedOrder:
        digest = order_hash(order, domain)
        r, vs = self.sign_compact(digest)
        return SignedOrder(order, r, vs, digest)
