"""Order intake: POST a signed order into the operator's inbox, DELETE it before the gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from gridledger.api.core import orders
from gridledger.api.core.common import hash32
from gridledger.api.deps import Db
from gridledger.api.models import CancelRequest, OrderAccepted, Problem, SignedOrderIn
from gridledger.errors import ApiError

router = APIRouter(prefix="/orders", tags=["orders"])

PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (403, 404, 409, 422, 503)
}


def _inbox(request: Request) -> orders.Inbox:
    inbox: orders.Inbox | None = request.app.state.inbox
    if inbox is None:
        raise ApiError(503, "no-inbox", "No order inbox", "this server was started without --orders")
    return inbox


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderAccepted, responses=PROBLEMS)
def submit_order(request: Request, db: Db, signed: SignedOrderIn) -> OrderAccepted:
    """Check a signed order exactly as the interval's book will (422 with `reason`, 409 for a
    duplicate or a closed gate) and write it into the operator's inbox."""
    inbox = _inbox(request)
    document = signed.model_dump()
    for name in ("r", "vs", "orderHash"):
        document[name] = document[name].removeprefix("0x")
    order_hash = orders.submit(db, inbox, document)
    return OrderAccepted(order_hash=order_hash, interval_start=signed.order.intervalStart)


@router.delete("/{order_hash}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
def cancel_order(request: Request, db: Db, order_hash: Annotated[str, Path()], body: CancelRequest) -> None:
    """Withdraw an order before its gate, on the trader's EIP-712 CancelOrder signature; after
    the gate the book is frozen (409: invalidate the nonce on-chain)."""
    inbox = _inbox(request)
    orders.cancel(db, inbox, hash32(order_hash, "order_hash"), body.signature)
