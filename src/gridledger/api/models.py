"""Pydantic shapes of the API: requests validated field by field, responses documented in the
OpenAPI schema. Ids that can pass 2^53 (lot, certificate, device ids, hashes) are strings;
Wh, payment units and grams are integers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

ADDRESS = r"^0x[0-9a-fA-F]{40}$"
HEX32 = r"^(0x)?[0-9a-fA-F]{64}$"
UINT64_MAX = 2**64 - 1


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str


class Status(BaseModel):
    chain_id: int
    deployment: dict[str, str]
    start_block: int
    cursor_block: int
    cursor_block_time: int | None  # unix seconds of the newest indexed block (None: nothing yet)
    head_block: int
    confirmed_block: int
    confirmation_depth: int
    lag_blocks: int
    reorgs: int
    deepest_reorg: int
    rpc_url: str | None  # for wallet_addEthereumChain; None: the server was given none


class ItemPage(BaseModel):
    """One page of a listing; pass `next_cursor` as `cursor` for the next (null: last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class OrderFields(BaseModel):
    trader: str = Field(pattern=ADDRESS)
    side: int = Field(ge=0, le=1)
    pairId: int = Field(ge=0, le=2**16 - 1)
    intervalStart: int = Field(ge=0, le=UINT64_MAX)
    energyWh: int = Field(ge=0, le=UINT64_MAX)
    limitPricePerKWh: int = Field(ge=0, le=UINT64_MAX)
    gridNodeId: int = Field(ge=0, le=UINT64_MAX)
    expiry: int = Field(ge=0, le=UINT64_MAX)
    nonce: int = Field(ge=0, le=UINT64_MAX)


class SignedOrderIn(BaseModel):
    """A signed order as `signed_order_json` writes it (the published book's order shape)."""

    order: OrderFields
    r: str = Field(pattern=HEX32)
    vs: str = Field(pattern=HEX32)
    orderHash: str = Field(pattern=HEX32)


class OrderAccepted(BaseModel):
    order_hash: str
    interval_start: int


class CancelRequest(BaseModel):
    """The trader's EIP-712 signature over CancelOrder(bytes32 orderHash) in the market's domain:
    65 bytes r, s, v in hex."""

    signature: str = Field(pattern=r"^(0x)?[0-9a-fA-F]{130}$")
