"""The operator's book of one delivery interval: admitted orders and their receipt times.

Orders stay off-chain and sealed until the interval settles; then the operator publishes the
book (JSON) and the settlement carries its hash, so anyone can re-run the clearing
(`gridledger market verify`) and any trader can check that their order was in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gridledger.chain.hashing import keccak
from gridledger.errors import MarketError, OrderRejected
from gridledger.market.clearing import (
    INT64_MAX,
    MAX_ORDER_ENERGY_WH,
    MAX_ORDERS_PER_SIDE,
    MAX_PRICE_PER_KWH,
    BookSide,
)
from gridledger.market.orders import Order, Pricing, Side, SignedOrder, order_hash

INTERVAL_SECONDS = 900


@dataclass(frozen=True)
class BookEntry:
    signed: SignedOrder
    received_at_ms: int


@dataclass
class IntervalBook:
    """Orders for one (pair, interval), in the order they were received."""

    pair_id: int
    interval_start: int
    domain: bytes
    entries: list[BookEntry] = field(default_factory=list)
    # Orders admitted but left out at gate closure, with the reason (e.g. escrow withdrawn).
    excluded: dict[bytes, str] = field(default_factory=dict)
    # Sells the grid could not take in full: the most each may export (grid-feasible clearing).
    export_caps_wh: dict[bytes, int] = field(default_factory=dict)
    # A certifying clearing's proof of optimality (market/nodal.py), published with the book.
    certificate: dict[str, Any] | None = None
    # The pricing it was cleared under, once cleared: a restart clears it again under that and
    # its own caps or certificate, not new ones.
    cleared_under: Pricing | None = None
    # What the network model's limits were linearised around (the grid's code and each grid
    # node's measured import), when the clearing had one: anyone with the grid's data can
    # rebuild the caps or the certificate's network from it (`market verify --grid`).
    base_case: dict[str, Any] | None = None
    _hashes: set[bytes] = field(default_factory=set, repr=False)
    # First 8 bytes of every admitted hash: the clearing's last tie-breaker must be unique.
    _hash_keys: set[bytes] = field(default_factory=set, repr=False)
    _side_counts: dict[Side, int] = field(default_factory=dict, repr=False)

    def add(self, signed: SignedOrder, received_at_ms: int, now_s: int) -> None:
        """Admit an order, or raise OrderRejected saying why; a rejected order changes nothing."""
        order = signed.order
        if order.pair_id != self.pair_id:
            raise OrderRejected("unknown_pair", f"pair {order.pair_id}, book is {self.pair_id}")
        if order.interval_start != self.interval_start:
            raise OrderRejected("other_interval", f"interval {order.interval_start}")
        if order.side not in (Side.SELL, Side.BUY):
            raise OrderRejected("invalid_side", str(order.side))
        if (
            not 0 < order.energy_wh <= MAX_ORDER_ENERGY_WH
            or not 0 <= order.limit_price_per_kwh <= MAX_PRICE_PER_KWH
        ):
            raise OrderRejected(
                "out_of_range",
                f"energy must be 1..{MAX_ORDER_ENERGY_WH} Wh and the price 0..{MAX_PRICE_PER_KWH} per kWh",
            )
        if order.expiry < now_s:
            raise OrderRejected("expired", f"expired at {order.expiry}")
        if order_hash(order, self.domain) != signed.order_hash:
            raise OrderRejected("hash_mismatch", "order hash is not the EIP-712 digest of the order")
        if signed.signer() != order.trader:
            raise OrderRejected("bad_signature", f"not signed by {order.trader}")
        if signed.order_hash in self._hashes:
            raise OrderRejected("duplicate", signed.order_hash.hex())
        # Two hashes sharing 8 bytes take a trader about 2^32 tries to grind: refused, so that no
        # order can make the book's clearing input invalid.
        if signed.order_hash[:8] in self._hash_keys:
            raise OrderRejected(
                "hash_key_collision", f"another order's hash also starts {signed.order_hash[:8].hex()}"
            )
        if self._side_counts.get(order.side, 0) >= MAX_ORDERS_PER_SIDE:
            raise OrderRejected(
                "book_full", f"the {order.side.name.lower()} side holds {MAX_ORDERS_PER_SIDE} orders"
            )
        if not 0 <= received_at_ms <= INT64_MAX:
            raise MarketError(f"receipt time {received_at_ms} ms outside 0..{INT64_MAX}")
        if self.entries and received_at_ms < self.entries[-1].received_at_ms:
            raise MarketError("receipt times must not go backwards")
        self.entries.append(BookEntry(signed, received_at_ms))
        self._hashes.add(signed.order_hash)
        self._hash_keys.add(signed.order_hash[:8])
        self._side_counts[order.side] = self._side_counts.get(order.side, 0) + 1

    def exclude(self, hash_: bytes, reason: str) -> None:
        if hash_ not in self._hashes:
            raise MarketError(f"order {hash_.hex()} is not in the book")
        self.excluded[hash_] = reason

    def cap_export(self, hash_: bytes, cap_wh: int) -> None:
        """Record that the network lets sell `hash_` export at most `cap_wh` in this interval."""
        entry = next((e for e in self.entries if e.signed.order_hash == hash_), None)
        if entry is None:
            raise MarketError(f"order {hash_.hex()} is not in the book")
        if entry.signed.order.side != Side.SELL:
            raise MarketError(f"order {hash_.hex()} is not a sell: only exports are capped")
        if not 0 <= cap_wh <= entry.signed.order.energy_wh:
            raise MarketError(f"export cap {cap_wh} Wh outside 0..{entry.signed.order.energy_wh}")
        self.export_caps_wh[hash_] = cap_wh

    def live_entries(self, side: Side) -> list[BookEntry]:
        return [
            e
            for e in self.entries
            if e.signed.order.side == side and e.signed.order_hash not in self.excluded
        ]

    def as_arrays(self, entries: list[BookEntry], capped: bool = True) -> BookSide:
        """The entries as clearing input; a capped sell offers only its export cap (unless
        `capped` is False: then every order offers its whole energy)."""
        if not entries:
            return BookSide.empty()
        caps = self.export_caps_wh if capped else {}
        return BookSide(
            np.fromiter((e.signed.order.limit_price_per_kwh for e in entries), np.int64, len(entries)),
            np.fromiter(
                (caps.get(e.signed.order_hash, e.signed.order.energy_wh) for e in entries),
                np.int64,
                len(entries),
            ),
            np.fromiter((e.received_at_ms for e in entries), np.int64, len(entries)),
            np.fromiter(
                (int.from_bytes(e.signed.order_hash[:8], "big") for e in entries), np.uint64, len(entries)
            ),
            np.fromiter((e.signed.order.grid_node_id for e in entries), np.uint64, len(entries)),
        )

    def book_hash(self) -> bytes:
        """Commitment to every admitted order with its receipt time, any exclusion and any export
        cap, in receipt order; then to the certificate and the base case, each if any (the hash
        of its canonical JSON)."""
        no_cap = 2**64 - 1
        parts = [
            e.signed.order_hash
            + e.received_at_ms.to_bytes(8, "big")
            + (b"\x01" if e.signed.order_hash in self.excluded else b"\x00")
            + self.export_caps_wh.get(e.signed.order_hash, no_cap).to_bytes(8, "big")
            for e in self.entries
        ]
        for published in (self.certificate, self.base_case):
            if published is not None:
                parts.append(keccak(canonical_json(published)))
        return keccak(b"".join(parts))

    # ---------------------------------------------------------------- publication
    def to_json(self) -> str:
        return json.dumps(
            {
                "pairId": self.pair_id,
                "intervalStart": self.interval_start,
                "domain": self.domain.hex(),
                "orders": [
                    {
                        **signed_order_json(e.signed),
                        "receivedAtMs": e.received_at_ms,
                        "excluded": self.excluded.get(e.signed.order_hash),
                        "exportCapWh": self.export_caps_wh.get(e.signed.order_hash),
                    }
                    for e in self.entries
                ],
                **({"certificate": self.certificate} if self.certificate is not None else {}),
                **({"baseCase": self.base_case} if self.base_case is not None else {}),
                "clearedUnder": None if self.cleared_under is None else self.cleared_under.name.lower(),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> IntervalBook:
        """Load a published book; every order's hash and signature is checked again."""
        try:
            raw = json.loads(text)
            book = cls(int(raw["pairId"]), int(raw["intervalStart"]), bytes.fromhex(raw["domain"]))
            for item in raw["orders"]:
                signed = signed_order_from_json(item)
                book.add(signed, int(item["receivedAtMs"]), now_s=0)
                if item.get("excluded"):
                    book.exclude(signed.order_hash, str(item["excluded"]))
                if item.get("exportCapWh") is not None:
                    book.cap_export(signed.order_hash, int(item["exportCapWh"]))
            certificate = raw.get("certificate")
            if certificate is not None and not isinstance(certificate, dict):
                raise TypeError("the certificate must be an object")
            book.certificate = certificate
            base_case = raw.get("baseCase")
            if base_case is not None and not isinstance(base_case, dict):
                raise TypeError("the base case must be an object")
            book.base_case = base_case
            cleared_under = raw.get("clearedUnder")
            if cleared_under is not None:
                pricings = {p.name.lower(): p for p in Pricing}
                if cleared_under not in pricings:
                    raise ValueError(f"clearedUnder must be one of {', '.join(pricings)} or null")
                book.cleared_under = pricings[cleared_under]
        except (KeyError, ValueError, TypeError) as malformed:
            raise MarketError(f"malformed book: {malformed}") from malformed
        return book

    def save(self, path: Path) -> None:
        path.write_text(self.to_json())

    @classmethod
    def load(cls, path: Path) -> IntervalBook:
        return cls.from_json(path.read_text())


def canonical_json(value: dict[str, Any]) -> bytes:
    """The UTF-8 JSON a book's hash commits to: keys sorted, no spaces, floats in their shortest
    round-trip form (Python's json)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def signed_order_json(signed: SignedOrder) -> dict[str, object]:
    """A signed order as the published book and an order file hold it."""
    return {
        "order": dict(zip(_FIELD_NAMES, signed.order.fields(), strict=True)),
        "r": signed.r.hex(),
        "vs": signed.vs.hex(),
        "orderHash": signed.order_hash.hex(),
    }


def signed_order_from_json(item: dict[str, Any]) -> SignedOrder:
    """signed_order_json read back (KeyError, ValueError or TypeError if it is not one)."""
    fields = item["order"]
    order = Order(
        str(fields["trader"]),
        Side(int(fields["side"])),
        *(int(fields[name]) for name in _FIELD_NAMES[2:]),
    )
    return SignedOrder(
        order, bytes.fromhex(item["r"]), bytes.fromhex(item["vs"]), bytes.fromhex(item["orderHash"])
    )


_FIELD_NAMES = (
    "trader",
    "side",
    "pairId",
    "intervalStart",
    "energyWh",
    "limitPricePerKWh",
    "gridNodeId",
    "expiry",
    "nonce",
)
