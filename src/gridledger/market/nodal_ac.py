"""Nodal clearing made AC-accurate: successive nodal LPs around the AC power flow.

The nodal LP of market/nodal.py prices the network's limits as the base case's DC transfer
factors see them, which stop short of what the AC grid carries (market/feasible.py says why).
Here that LP is only the first round. Each round's fills are power-flowed (AC), and the next
round's LP is the same welfare LP with the limits linearised at that power flow in the AC model's
own terms: each branch's loading and each bus's voltage with their derivatives per Wh exported
at each node (from the Jacobian), and the marginal loss factors there. Rounds stop when the fills
move by at most a Wh per order, or after MAX_ROUNDS.

Every round's fills are checked by their AC power flow, and the clearing is the round with the
most welfare among those whose power flow keeps every limit within its margin: it is AC-feasible
by that check, and it is the optimum of its own LP, whose network and duals the book publishes as
the certificate, as for any nodal clearing. If no round is kept (not even the first), the first
round is the clearing, as without the AC rounds.

Rounds take no trust region: its bounds would be constraints of the published LP that the
network does not have. Where the rounds do not settle, the best round kept may stop short of
the targets (by 0.6 points of loading in one of tests/unit/test_nodal_ac.py's books).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gridledger.grid.network import PowerFlow
from gridledger.market.clearing import BookSide, ClearingResult
from gridledger.market.feasible import (
    LIMIT_MARGIN,
    MAX_ROUNDS,
    AcBaseCase,
    AcTargets,
    NetworkLimits,
)
from gridledger.market.nodal import NodalClearing, NodalNetwork, certificate_json, clear_nodal
from gridledger.market.orders import Pricing


def base_case_network(
    case: AcBaseCase, bus_of_node: Mapping[int, int], loss_price_per_kwh: float
) -> NodalNetwork:
    """The first round's network: the base case's DC limits and marginal loss factors. One LP,
    so DC limits: flows within ± their limits stay valid whichever way exports turn them (the
    AC loading, |current|, is not linear through zero)."""
    network = case.network
    limits = NetworkLimits.around(case.flow, network.ptdf, network.branch_limit_mva).linear()
    return NodalNetwork.linearised(
        limits, bus_of_node, network.marginal_loss_factors(case.flow), loss_price_per_kwh
    )


def clear_nodal_ac(
    case: AcBaseCase,
    bus_of_node: Mapping[int, int],
    loss_price_per_kwh: float,
    bids: BookSide,
    asks: BookSide,
    margin: float = LIMIT_MARGIN,
    max_rounds: int = MAX_ROUNDS,
) -> NodalClearing:
    """The interval's nodal clearing with AC rounds (module docstring)."""
    grid = case.network
    targets = AcTargets.of(case.flow, margin)
    node_buses = np.array([bus_of_node[n] for n in sorted(bus_of_node)], dtype=np.int64)
    best: NodalClearing | None = None
    best_welfare = 0

    def checked(cleared: NodalClearing, exported_wh: npt.NDArray[np.float64]) -> PowerFlow | None:
        """The AC power flow of these fills (None if it does not converge), kept as the best
        clearing so far if it keeps every limit with more welfare."""
        nonlocal best, best_welfare
        flow = case.flow_with_exports(node_buses, exported_wh)
        if flow is not None and targets.kept_by(flow):
            welfare = cleared.as_result(asks).welfare(bids, asks)
            if best is None or welfare > best_welfare:
                best, best_welfare = cleared, welfare
        return flow

    first = cleared = clear_nodal(bids, asks, base_case_network(case, bus_of_node, loss_price_per_kwh))
    exported_wh = cleared.exported_wh(asks)
    flow = checked(cleared, exported_wh)
    for _ in range(max_rounds):
        if flow is None:
            break  # beyond what the power flow solves: no point to linearise at
        # The network's power flow state is `flow`'s (the last one run): its Jacobian is at these exports.
        limits = targets.around(flow, grid.loading_sensitivity())
        loss_factors = grid.marginal_loss_factors(flow)
        network = NodalNetwork.linearised(limits, bus_of_node, loss_factors, loss_price_per_kwh, exported_wh)
        previous, cleared = cleared, clear_nodal(bids, asks, network)
        exported_wh = cleared.exported_wh(asks)
        flow = checked(cleared, exported_wh)
        moved_wh = max(
            int(np.abs(cleared.ask_fill_wh - previous.ask_fill_wh).max(initial=0)),
            int(np.abs(cleared.bid_fill_wh - previous.bid_fill_wh).max(initial=0)),
        )
        if moved_wh <= 1:
            break
    return first if best is None else best


@dataclass(frozen=True)
class AcNodalMechanism:
    """The AC-accurate nodal clearing as the market operator's mechanism (a `Certifying` one)."""

    case: AcBaseCase
    bus_of_node: Mapping[int, int]
    loss_price_per_kwh: float
    # What `case` was solved from, for the book to publish (ops/grid_model.py).
    base_case: dict[str, Any] | None = None
    pricing: Pricing = Pricing.NODAL

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult:
        return self.certified(bids, asks)[0]

    def certified(self, bids: BookSide, asks: BookSide) -> tuple[ClearingResult, dict[str, Any]]:
        cleared = clear_nodal_ac(self.case, self.bus_of_node, self.loss_price_per_kwh, bids, asks)
        return cleared.as_result(asks), certificate_json(cleared, asks)
