"""Who takes the simulated community's signed orders at an interval's gate and settles them.

`gridledger simulate` closes the gate in the process (InProcessDesk): the book is frozen from
the orders as the community signed them, in the order it signed them. `gridledger serve --demo`
hands them to the live operator service instead (ops/live_demo.py), through the inbox that
orders from the API reach as well.
"""

from __future__ import annotations

from typing import Protocol

from gridledger.chain.deploy import ENERGY_PAIR_ID
from gridledger.market.book import INTERVAL_SECONDS, IntervalBook
from gridledger.market.clearing import ClearingMechanism
from gridledger.market.orders import SignedOrder
from gridledger.market.settlement import BeforeSubmit, IntervalOutcome, MarketOperator


class MarketDesk(Protocol):
    def settle(
        self,
        interval_start: int,
        orders: list[SignedOrder],
        mechanism: ClearingMechanism,
        before_submit: BeforeSubmit,
    ) -> IntervalOutcome:
        """Close the interval's gate on `orders` (and whatever else the desk takes), clear them
        with `mechanism` and settle; `before_submit` hears the settlement before it is sent."""
        ...


class InProcessDesk:
    """The simulation's own gate closure, on the community's orders alone."""

    def __init__(self, operator: MarketOperator, market_domain: bytes, gate_delay_s: int) -> None:
        self._operator = operator
        self._domain = market_domain
        self._gate_delay_s = gate_delay_s

    def settle(
        self,
        interval_start: int,
        orders: list[SignedOrder],
        mechanism: ClearingMechanism,
        before_submit: BeforeSubmit,
    ) -> IntervalOutcome:
        if not orders:
            return IntervalOutcome(interval_start, False, None, 0)
        book = IntervalBook(ENERGY_PAIR_ID, interval_start, self._domain)
        gate_time = interval_start + INTERVAL_SECONDS + self._gate_delay_s
        for received_ms, signed in enumerate(orders):
            book.add(signed, received_ms, gate_time)
        self._operator.mechanism = mechanism
        settlement = self._operator.settle(book, before_submit)
        return IntervalOutcome(interval_start, settlement is not None, settlement, len(book.excluded))
