"""Grid-feasible clearing: the uniform double auction under the network's limits.

In the market's physical model (docs/grid.md) consumption is fixed and PV that is not sold is
curtailed, so trading changes the grid only through what sellers export. The clearing runs in
two steps:

1. An LP (HiGHS, through scipy) finds how much each seller may export in the interval: as much
   energy as possible such that, linearised around the interval's base case (no exports), no
   line or transformer exceeds its thermal limit (PTDFs) and no bus rises above the voltage band
   (dV/dP from the power flow's Jacobian). A limit the base case already breaks may not get worse.
2. The ordinary uniform clearing (`clear_uniform`) runs on the book with every ask capped at its
   seller's export limit, so prices, priorities and rounding stay those of the market.

In a radial grid, flows and voltage rise are monotone in each export, so any fills at or below
the caps are feasible too. The LP is written here because the clearing needs the network's
sensitivities; the solver is HiGHS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

from gridledger.errors import MarketError
from gridledger.grid.network import VOLTAGE_BAND_PU, PowerFlow
from gridledger.market.clearing import BookSide, ClearingResult, clear_uniform
from gridledger.market.orders import Pricing

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]

# Wh delivered in a 15-minute interval, as average MW over it.
MW_PER_WH_IN_INTERVAL = 4e-6
# The same as average watts: a connection's measured load from its Wh in the interval.
WATTS_PER_WH_IN_INTERVAL = MW_PER_WH_IN_INTERVAL * 1e6
# Headroom for what the linear model leaves out (reactive power at lower voltage, losses).
LIMIT_MARGIN = 0.03


@dataclass(frozen=True)
class NetworkLimits:
    """The network of one interval, linearised around its base case."""

    branch_p_mw: FloatArray  # base flows, lines then transformers
    branch_limit_mw: FloatArray  # active power each branch may carry given its base reactive flow
    ptdf: FloatArray  # (branches, buses)
    vm_pu: FloatArray  # base voltages per bus
    dv_dp_pu_per_mw: FloatArray  # (buses, buses)
    vm_max_pu: float

    @classmethod
    def around(
        cls, base: PowerFlow, ptdf: FloatArray, branch_limit_mva: FloatArray, margin: float = LIMIT_MARGIN
    ) -> NetworkLimits:
        apparent = branch_limit_mva * (1 - margin)
        active = np.sqrt(np.maximum(apparent**2 - base.branch_q_mvar**2, 0.0))
        return cls(
            base.branch_p_mw,
            active,
            ptdf,
            base.vm_pu,
            base.dv_dp_pu_per_mw,
            1 + VOLTAGE_BAND_PU - margin * VOLTAGE_BAND_PU,
        )


def export_limits_wh(limits: NetworkLimits, seller_bus: Int64Array, offered_wh: Int64Array) -> Int64Array:
    """The most each seller (at bus position `seller_bus[i]`, offering `offered_wh[i]`) may export
    together in the interval without breaking a limit, in whole Wh."""
    count = len(offered_wh)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    flow_per_wh = limits.ptdf[:, seller_bus] * MW_PER_WH_IN_INTERVAL
    rise_per_wh = limits.dv_dp_pu_per_mw[:, seller_bus] * MW_PER_WH_IN_INTERVAL
    # A limit the base case already breaks gets a zero budget: exports may not make it worse.
    up = np.maximum(limits.branch_limit_mw - limits.branch_p_mw, 0.0)
    down = np.maximum(limits.branch_limit_mw + limits.branch_p_mw, 0.0)
    rise = np.maximum(limits.vm_max_pu - limits.vm_pu, 0.0)
    try:
        solved = linprog(
            c=-np.ones(count),
            A_ub=np.vstack([flow_per_wh, -flow_per_wh, rise_per_wh]),
            b_ub=np.concatenate([up, down, rise]),
            bounds=np.column_stack([np.zeros(count), offered_wh.astype(np.float64)]),
            method="highs",
        )
    except ValueError as invalid:  # scipy refuses non-finite sensitivities or limits
        raise MarketError(f"the export limits could not be computed: {invalid}") from invalid
    # Exporting nothing is always feasible (limits the base case breaks get a zero budget), so
    # only a solver failure ends here.
    if solved.status != 0:
        raise MarketError(f"the export limits could not be computed: {solved.message}")
    # Rounded down so that the whole-Wh fills stay within what the LP allowed.
    caps: Int64Array = np.minimum(np.floor(solved.x + 1e-6).astype(np.int64), offered_wh)
    return caps


@dataclass(frozen=True)
class GridFeasibleClearing:
    """The uniform clearing with every ask capped at its seller's export limit in this interval.
    `bus_of_node` maps the orders' grid node ids to bus positions of the network."""

    limits: NetworkLimits
    bus_of_node: Mapping[int, int]
    pricing: Pricing = Pricing.UNIFORM

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult:
        return clear_uniform(bids, self.capped(asks), self.pricing)

    def capped(self, asks: BookSide) -> BookSide:
        """The asks with their energy cut to what the network takes."""
        if len(asks) == 0:
            return asks
        if asks.grid_node_id is None:
            raise MarketError("grid-feasible clearing needs the asks' grid nodes")
        try:
            buses = np.array([self.bus_of_node[int(n)] for n in asks.grid_node_id], dtype=np.int64)
        except KeyError as unknown:
            raise MarketError(f"ask at grid node {unknown} which is not in the network") from unknown
        caps = export_limits_wh(self.limits, buses, asks.energy_wh)
        return replace(asks, energy_wh=caps)
