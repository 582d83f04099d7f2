"""Nodal clearing: one interval's welfare-maximising LP under the network's limits and losses,
its prices from the LP's duals, and a certificate of optimality anyone can check without
solving anything.

The physical model is feasible.py's: consumption is fixed, so only what sellers export moves
the grid. Over fills b (bids) and a (asks), in Wh:

    maximise    sum p_b b  -  sum (p_s + tau * LF_s) a
    subject to  sum b = sum a            lambda: the energy price, what every buyer pays
                R a <= d                 mu_k >= 0: the shadow price of network limit k
                0 <= b <= B, 0 <= a <= A

R and d are the network's limits (each branch's loading, each bus's voltage) linearised at the
interval's operating point, per Wh exported at each grid node (`limit_rows`), each row scaled so
that its largest coefficient is 1. LF_n is node n's marginal loss factor (MW of losses per MW
exported there) and tau the price of lost energy: an export pays for the losses it adds,
compared with the best-placed node's (`NodalNetwork.linearised`). That is the brief's loss
minimisation as a price: among equal asks, the one whose export loses least trades first.

A seller at node n earns pi_n = lambda - tau * LF_n - sum_k mu_k R_kn per kWh. The gap between
what buyers pay and sellers earn is the loss charges, sum_n tau LF_n a_n, and the congestion
rent, sum_k mu_k (R a)_k. The book publishes all of it (`published_prices`) with the certificate.

Certificate (the LP's Karush-Kuhn-Tucker conditions; `check_certificate`):
- primal feasibility: every fill within 0..its order, buys equal sells, R a <= d;
- dual feasibility: every mu_k >= 0;
- complementary slackness: a limit with mu_k > 0 is met; a buy below lambda is not filled, one
  above it is filled whole; a sell asking more than pi_n is not filled, one asking less is filled
  whole (in between, the order's price is its node's).
Together they prove the fills maximise welfare: no other feasible fills do better.

Fills are whole Wh: the LP's fills are rounded so that buys still equal sells, so the checks
allow each fill ROUNDING_WH of rounding and the limits the rounding of every seller.

The LP is written here because the market's clearing needs its duals in its own terms; the
solver is HiGHS (through scipy), which returns them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

from gridledger.errors import MarketError
from gridledger.market.clearing import MAX_ORDER_ENERGY_WH, MAX_ORDERS_PER_SIDE, BookSide, ClearingResult
from gridledger.market.feasible import LinearLimits, limit_rows
from gridledger.market.orders import Pricing

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]

# Each fill may be this far from the LP's (whole Wh, buys equal to sells).
ROUNDING_WH = 1
# Prices (payment base units per kWh) that agree within this are equal: far below a base unit,
# far above the solver's own tolerance on prices of up to MAX_PRICE_PER_KWH.
PRICE_TOLERANCE_PER_KWH = 1e-3
# A limit row scaled to a largest coefficient of 1 keeps this many decimals (smaller
# coefficients are rounding noise), its budget this many, rounded down, and a loss factor this
# many: the LP is solved with the data exactly as published, so the certificate needs no
# tolerance for the rounding, and a book's certificate stays short.
COEFFICIENT_DECIMALS = 6
BUDGET_DECIMALS = 3
LOSS_FACTOR_DECIMALS = 9


@dataclass(frozen=True)
class NodalNetwork:
    """The network data the clearing and its certificate use: for each limit k, row k of R (per
    Wh exported at each grid node in `node_ids`, scaled to a largest coefficient of 1) and its
    budget d_k; each node's marginal loss factor; the price of lost energy."""

    node_ids: tuple[int, ...]
    rows: FloatArray  # (limits, nodes)
    budget: FloatArray  # (limits,)
    loss_factor: FloatArray  # (nodes,)
    loss_price_per_kwh: float

    def __post_init__(self) -> None:
        nodes = len(self.node_ids)
        if len(set(self.node_ids)) != nodes:
            raise MarketError("a nodal network lists a grid node twice")
        if self.rows.ndim != 2 or self.rows.shape != (len(self.budget), nodes):
            raise MarketError(f"limit rows must be ({len(self.budget)}, {nodes}), not {self.rows.shape}")
        if self.loss_factor.shape != (nodes,):
            raise MarketError(f"a nodal network needs one loss factor per node ({nodes})")
        values = np.concatenate([self.rows.ravel(), self.budget, self.loss_factor, [self.loss_price_per_kwh]])
        if not np.all(np.isfinite(values)):
            raise MarketError("a nodal network's rows, budgets, loss factors and loss price must be finite")
        if np.any(self.budget < 0) or self.loss_price_per_kwh < 0:
            raise MarketError("a nodal network's budgets and loss price must not be negative")

    @classmethod
    def linearised(
        cls,
        limits: LinearLimits,
        bus_of_node: Mapping[int, int],
        loss_factor_of_bus: FloatArray,
        loss_price_per_kwh: float,
        at_wh: FloatArray | None = None,
    ) -> NodalNetwork:
        """The limits `limits` over every grid node of `bus_of_node`, linearised at the exports
        `at_wh` per node (in `node_ids` order; default: nothing exported, the base case)."""
        node_ids = tuple(sorted(bus_of_node))
        buses = np.array([bus_of_node[n] for n in node_ids], dtype=np.int64)
        at = np.zeros(len(buses)) if at_wh is None else at_wh
        rows, budget = limit_rows(limits, buses, at)
        loss_factor = loss_factor_of_bus[buses].astype(np.float64)
        # Scaled rows keep the LP well conditioned (a Wh moves a loading by about 1e-4 %).
        scale = np.abs(rows).max(axis=1, initial=0.0)
        # A limit no book can reach binds nothing: one that exports move by too little.
        kept = (scale > 0) & (scale * MAX_ORDERS_PER_SIDE * MAX_ORDER_ENERGY_WH >= budget)
        rows, budget, scale = rows[kept] / scale[kept, None], budget[kept], scale[kept]
        budget_step = 10.0**-BUDGET_DECIMALS
        return cls(
            node_ids,
            np.round(rows, COEFFICIENT_DECIMALS) + 0.0,  # + 0.0: no -0.0 in the published rows
            np.floor(budget / scale / budget_step) * budget_step,
            # Relative to the best-placed node (its factor is zero): a loss charge prices where
            # an export adds more losses than the best one would, and is never negative.
            np.round(loss_factor - loss_factor.min(initial=np.inf), LOSS_FACTOR_DECIMALS),
            float(loss_price_per_kwh),
        )

    def columns(self, asks: BookSide) -> Int64Array:
        """Each ask's column (its node's position in `node_ids`); MarketError for asks without
        grid nodes or at a node the network does not have."""
        if len(asks) == 0:
            return np.zeros(0, dtype=np.int64)
        if asks.grid_node_id is None:
            raise MarketError("nodal clearing needs the asks' grid nodes")
        position = {node: i for i, node in enumerate(self.node_ids)}
        try:
            return np.array([position[int(n)] for n in asks.grid_node_id], dtype=np.int64)
        except KeyError as unknown:
            raise MarketError(f"order at grid node {unknown} which is not in the network") from unknown


@dataclass(frozen=True)
class NodalPrices:
    """The clearing's duals: the energy price, each limit's shadow price; and what follows."""

    energy_price_per_kwh: float  # lambda
    limit_prices: FloatArray  # mu, one per limit row

    def node_prices_per_kwh(self, network: NodalNetwork) -> FloatArray:
        """pi_n: what a seller at each node earns per kWh."""
        prices: FloatArray = (
            self.energy_price_per_kwh
            - network.loss_price_per_kwh * network.loss_factor
            - self.limit_prices @ network.rows
        )
        return prices

    def whole_energy_price(self) -> int:
        """The energy price in whole payment units per kWh, rounded up: what buyers pay."""
        return max(math.ceil(self.energy_price_per_kwh - PRICE_TOLERANCE_PER_KWH), 0)

    def whole_node_prices(self, network: NodalNetwork) -> Int64Array:
        """Each node's price in whole payment units per kWh, rounded down: what sellers earn.
        The rounding keeps every fill within its limit. At most the energy price, as the contract
        requires: a node price above it (an export that relieves a limit) is paid at it."""
        whole: Int64Array = np.clip(
            np.floor(self.node_prices_per_kwh(network) + PRICE_TOLERANCE_PER_KWH),
            0,
            self.whole_energy_price(),
        ).astype(np.int64)
        return whole


@dataclass(frozen=True)
class NodalClearing:
    """Fills aligned with the input arrays, the prices, and the money they move."""

    bid_fill_wh: Int64Array
    ask_fill_wh: Int64Array
    prices: NodalPrices
    network: NodalNetwork

    @property
    def volume_wh(self) -> int:
        return int(self.bid_fill_wh.sum())

    def exported_wh(self, asks: BookSide) -> FloatArray:
        """What the fills export at each node of the network (Wh, in `node_ids` order)."""
        return node_exports_wh(self.network, asks, self.ask_fill_wh)

    def seller_prices_per_kwh(self, asks: BookSide) -> FloatArray:
        """What each ask earns per kWh: its node's price."""
        node_price: FloatArray = self.prices.node_prices_per_kwh(self.network)[self.network.columns(asks)]
        return node_price

    def congestion_rent_units(self, asks: BookSide) -> float:
        """Payment units buyers pay beyond what sellers earn and the losses cost: the network's
        limits' value, sum_k mu_k (R a)_k."""
        return congestion_rent_units(self.network, self.prices, asks, self.ask_fill_wh)

    def loss_charge_units(self, asks: BookSide) -> float:
        """Payment units sellers pay for the losses their exports add (negative: earn for relief)."""
        return loss_charge_units(self.network, asks, self.ask_fill_wh)

    def as_result(self, asks: BookSide) -> ClearingResult:
        """The clearing in the market's terms: the prices in whole payment units per kWh."""
        seller_price = self.prices.whole_node_prices(self.network)[self.network.columns(asks)]
        return ClearingResult(
            Pricing.NODAL,
            self.prices.whole_energy_price(),
            self.volume_wh,
            self.bid_fill_wh,
            self.ask_fill_wh,
            seller_price,
        )


@dataclass(frozen=True)
class NodalMechanism:
    """The nodal clearing as the market operator's mechanism (a `Certifying` one): fills and
    prices under NODAL pricing, and the certificate the book publishes."""

    network: NodalNetwork
    # What the network was linearised around, for the book to publish (ops/grid_model.py), so
    # that anyone holding the grid's data can rebuild the network.
    base_case: dict[str, Any] | None = None
    pricing: Pricing = Pricing.NODAL

    def clear(self, bids: BookSide, asks: BookSide) -> ClearingResult:
        return self.certified(bids, asks)[0]

    def certified(self, bids: BookSide, asks: BookSide) -> tuple[ClearingResult, dict[str, Any]]:
        cleared = clear_nodal(bids, asks, self.network)
        return cleared.as_result(asks), certificate_json(cleared, asks)


def congestion_rent_units(
    network: NodalNetwork, prices: NodalPrices, asks: BookSide, ask_fill_wh: Int64Array
) -> float:
    """What the network's limits are worth to the interval, sum_k mu_k (R a)_k, in payment units."""
    exported = node_exports_wh(network, asks, ask_fill_wh)
    return float(prices.limit_prices @ (network.rows @ exported)) / 1000


def node_exports_wh(network: NodalNetwork, asks: BookSide, ask_fill_wh: Int64Array) -> FloatArray:
    """What fills of `asks` export at each node of `network` (Wh, in `node_ids` order)."""
    weights = ask_fill_wh.astype(np.float64)
    exported = np.bincount(network.columns(asks), weights=weights, minlength=len(network.node_ids))
    return exported.astype(np.float64)


def loss_charge_units(network: NodalNetwork, asks: BookSide, ask_fill_wh: Int64Array) -> float:
    """What sellers pay for the losses their exports add, in payment units (negative: earned for
    relieving them)."""
    factors = network.loss_factor[network.columns(asks)]
    return float(network.loss_price_per_kwh * (factors @ ask_fill_wh.astype(np.float64))) / 1000


def clear_nodal(bids: BookSide, asks: BookSide, network: NodalNetwork) -> NodalClearing:
    """The welfare-maximising fills of one interval under `network`, with their prices."""
    columns = network.columns(asks)
    if len(bids) + len(asks) == 0:
        return NodalClearing(
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            NodalPrices(0.0, np.zeros(len(network.budget))),
            network,
        )
    # Per Wh, prices per kWh: the objective is in payment units x 1000, as ClearingResult.welfare.
    ask_cost = asks.price_per_kwh + network.loss_price_per_kwh * network.loss_factor[columns]
    try:
        solved = linprog(
            c=np.concatenate([-bids.price_per_kwh.astype(np.float64), ask_cost]),
            A_ub=np.hstack([np.zeros((len(network.budget), len(bids))), network.rows[:, columns]]),
            b_ub=network.budget,
            A_eq=np.concatenate([np.ones(len(bids)), -np.ones(len(asks))])[None, :],
            b_eq=np.zeros(1),
            bounds=np.column_stack(
                [np.zeros(len(bids) + len(asks)), np.concatenate([bids.energy_wh, asks.energy_wh])]
            ),
            method="highs",
        )
    except ValueError as invalid:
        raise MarketError(f"the nodal clearing could not be solved: {invalid}") from invalid
    # Trading nothing is always feasible (budgets are not negative): only a solver failure is left.
    if solved.status != 0:
        raise MarketError(f"the nodal clearing could not be solved: {solved.message}")
    # HiGHS's marginals are d(objective)/d(right-hand side) of the minimisation; the energy price
    # is what one more Wh of sells (the equality's right-hand side moving down) is worth.
    prices = NodalPrices(-float(solved.eqlin.marginals[0]), np.maximum(-solved.ineqlin.marginals, 0.0))
    bid_fill, ask_fill = _whole_wh(solved.x[: len(bids)], solved.x[len(bids) :])
    return NodalClearing(bid_fill, ask_fill, prices, network)


def _whole_wh(bid_wh: FloatArray, ask_wh: FloatArray) -> tuple[Int64Array, Int64Array]:
    """The LP's fills in whole Wh, buys still equal to sells: each side rounded down, then the
    Wh left of the shared volume go to the largest remainders (each fill moves by under 1 Wh)."""
    volume = int(np.floor(min(bid_wh.sum(), ask_wh.sum()) + 1e-6))

    def side(fills: FloatArray) -> Int64Array:
        whole = np.floor(fills + 1e-6).astype(np.int64)
        short = volume - int(whole.sum())
        if short > 0:
            whole[np.argsort(-(fills - whole), kind="stable")[:short]] += 1
        elif short < 0:
            # Rounding noise above the volume: take it back from the largest fills.
            for i in np.argsort(-whole, kind="stable")[:-short]:
                whole[i] -= 1
        return whole

    return side(bid_wh), side(ask_wh)


# ---------------------------------------------------------------- the certificate
@dataclass(frozen=True)
class CertificateFinding:
    """primal_infeasible, dual_infeasible or not_complementary, and where."""

    kind: str
    detail: str


def check_certificate(
    bids: BookSide,
    asks: BookSide,
    bid_fill_wh: Int64Array,
    ask_fill_wh: Int64Array,
    network: NodalNetwork,
    prices: NodalPrices,
) -> list[CertificateFinding]:
    """Whether fills and prices prove an optimal clearing of the book under `network` (module
    docstring); each finding names a broken condition. No LP is solved."""
    findings: list[CertificateFinding] = []
    if bid_fill_wh.shape != (len(bids),) or ask_fill_wh.shape != (len(asks),):
        raise MarketError("one fill per order is needed")
    if prices.limit_prices.shape != network.budget.shape:
        raise MarketError(f"one limit price per limit is needed ({len(network.budget)})")
    columns = network.columns(asks)

    # Primal feasibility.
    for name, side, fills in (("bid", bids, bid_fill_wh), ("ask", asks, ask_fill_wh)):
        for i in np.flatnonzero((fills < 0) | (fills > side.energy_wh)).tolist():
            findings.append(
                CertificateFinding(
                    "primal_infeasible", f"{name} {i} filled {fills[i]} Wh of {side.energy_wh[i]}"
                )
            )
    if int(bid_fill_wh.sum()) != int(ask_fill_wh.sum()):
        findings.append(
            CertificateFinding(
                "primal_infeasible", f"buys {int(bid_fill_wh.sum())} Wh, sells {int(ask_fill_wh.sum())} Wh"
            )
        )
    rows = network.rows[:, columns]
    used = rows @ ask_fill_wh.astype(np.float64)
    # Each seller that trades may be ROUNDING_WH from the LP's fill; those rounded down to
    # nothing lost less than ROUNDING_WH together (whole-Wh rounding keeps the volume).
    trading = ask_fill_wh > 0
    rounding = (
        np.abs(rows[:, trading]).sum(axis=1) + np.abs(rows[:, ~trading]).max(axis=1, initial=0.0)
    ) * ROUNDING_WH
    for k in np.flatnonzero(used > network.budget + rounding).tolist():
        findings.append(
            CertificateFinding(
                "primal_infeasible", f"limit {k}: {used[k]:.6g} beyond its budget {network.budget[k]:.6g}"
            )
        )

    # Dual feasibility.
    for k in np.flatnonzero(prices.limit_prices < 0).tolist():
        findings.append(CertificateFinding("dual_infeasible", f"limit {k} has a negative price"))

    # Complementary slackness: a priced limit is met (to within the sellers' rounding).
    priced = prices.limit_prices > PRICE_TOLERANCE_PER_KWH
    for k in np.flatnonzero(priced & (used < network.budget - rounding)).tolist():
        findings.append(
            CertificateFinding(
                "not_complementary",
                f"limit {k} has price {prices.limit_prices[k]:.6g} "
                f"but {used[k]:.6g} of {network.budget[k]:.6g} is used",
            )
        )
    node_price = prices.node_prices_per_kwh(network)[columns]
    # Each order's gain per kWh at the prices: a buy's limit above lambda, a sell's node price above its ask.
    for name, gain, fills, energy in (
        ("bid", bids.price_per_kwh - prices.energy_price_per_kwh, bid_fill_wh, bids.energy_wh),
        ("ask", node_price - asks.price_per_kwh, ask_fill_wh, asks.energy_wh),
    ):
        left_out = (gain > PRICE_TOLERANCE_PER_KWH) & (fills < energy - ROUNDING_WH)
        taken = (gain < -PRICE_TOLERANCE_PER_KWH) & (fills > ROUNDING_WH)
        for i in np.flatnonzero(left_out | taken).tolist():
            findings.append(
                CertificateFinding(
                    "not_complementary",
                    f"{name} {i} gains {gain[i]:.6g} per kWh at the prices "
                    f"but is filled {fills[i]} of {energy[i]} Wh",
                )
            )
    return findings


# ---------------------------------------------------------------- publication
def certificate_json(clearing: NodalClearing, asks: BookSide) -> dict[str, Any]:
    """What a book publishes with a nodal clearing: the network data and duals of the certificate,
    and what they mean for traders (`published_prices`)."""
    network, prices = clearing.network, clearing.prices
    return {
        "energyPricePerKWh": prices.energy_price_per_kwh,
        "lossPricePerKWh": network.loss_price_per_kwh,
        "limits": [
            # Sparse: most exports move only the limits upstream of them.
            {
                "columns": np.flatnonzero(row).tolist(),
                "coefficients": row[row != 0].tolist(),
                "budget": budget,
                "price": price,
            }
            for row, budget, price in zip(
                network.rows, network.budget.tolist(), prices.limit_prices.tolist(), strict=True
            )
        ],
        **published_prices(network, prices, asks, clearing.ask_fill_wh),
    }


# Published per-kWh parts are rounded to this many decimals of a payment unit (PRICE_TOLERANCE).
PUBLISHED_PRICE_DECIMALS = 3


def published_prices(
    network: NodalNetwork, prices: NodalPrices, asks: BookSide, ask_fill_wh: Int64Array
) -> dict[str, Any]:
    """The clearing's locational prices as the book publishes them: the whole price buyers pay;
    per grid node its loss factor and the whole price a sell there trades at, with what it is
    below the energy price for losses (tau LF_n) and for congestion (sum_k mu_k R_kn); and the
    interval's congestion rent and loss charges in whole payment units. Both go to the fee
    collector, with the payment rounding (what buyers pay beyond what sellers receive)."""

    def part(per_kwh: FloatArray) -> list[float]:
        # + 0.0 makes a rounded -0.0 plain 0.0.
        return [round(v, PUBLISHED_PRICE_DECIMALS) + 0.0 for v in per_kwh.tolist()]

    nodes = zip(
        network.node_ids,
        network.loss_factor.tolist(),
        prices.whole_node_prices(network).tolist(),
        part(network.loss_price_per_kwh * network.loss_factor),
        part(prices.limit_prices @ network.rows),
        strict=True,
    )
    return {
        "buyPricePerKWh": prices.whole_energy_price(),
        "congestionRentUnits": round(congestion_rent_units(network, prices, asks, ask_fill_wh)),
        "lossChargeUnits": round(loss_charge_units(network, asks, ask_fill_wh)),
        "nodes": [
            {
                "gridNodeId": node,
                "lossFactor": factor,
                "sellPricePerKWh": sell,
                "lossChargePerKWh": loss,
                "congestionPerKWh": congestion,
            }
            for node, factor, sell, loss, congestion in nodes
        ],
    }


def published_price_differences(raw: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Where a certificate's published prices (`raw`) are not `expected` (published_prices of its
    own duals and the settled fills): each a field name, within a tolerance of the rounding."""
    differences = [
        name
        for name in ("buyPricePerKWh", "congestionRentUnits", "lossChargeUnits")
        if not _close(raw.get(name), expected[name], 1.0 if name.endswith("Units") else 0.0)
    ]
    published_nodes = raw.get("nodes")
    if not isinstance(published_nodes, list) or len(published_nodes) != len(expected["nodes"]):
        return [*differences, "nodes"]
    # The loss and congestion parts are rounded; the rest is exact.
    tolerance = {"lossChargePerKWh": PRICE_TOLERANCE_PER_KWH, "congestionPerKWh": PRICE_TOLERANCE_PER_KWH}
    for published, node in zip(published_nodes, expected["nodes"], strict=True):
        for name, value in node.items():
            if not isinstance(published, dict) or not _close(
                published.get(name), value, tolerance.get(name, 0.0)
            ):
                differences.append(f"nodes[{node['gridNodeId']}].{name}")
    return differences


def _close(published: object, expected: float, tolerance: float) -> bool:
    return (
        isinstance(published, int | float)
        and not isinstance(published, bool)
        and abs(published - expected) <= tolerance
    )


def certificate_from_json(raw: dict[str, Any]) -> tuple[NodalNetwork, NodalPrices]:
    """certificate_json read back; MarketError if it is not one."""
    try:
        nodes, limits = raw["nodes"], raw["limits"]
        network = NodalNetwork(
            tuple(int(n["gridNodeId"]) for n in nodes),
            _dense_rows(limits, len(nodes)),
            np.array([float(limit["budget"]) for limit in limits], dtype=np.float64),
            np.array([float(n["lossFactor"]) for n in nodes], dtype=np.float64),
            float(raw["lossPricePerKWh"]),
        )
        prices = NodalPrices(
            float(raw["energyPricePerKWh"]),
            np.array([float(limit["price"]) for limit in limits], dtype=np.float64),
        )
    except (KeyError, ValueError, TypeError) as malformed:
        raise MarketError(f"malformed clearing certificate: {malformed}") from malformed
    if not np.isfinite(prices.energy_price_per_kwh) or not np.all(np.isfinite(prices.limit_prices)):
        raise MarketError("malformed clearing certificate: prices must be finite")
    return network, prices


def network_differences(published: NodalNetwork, rebuilt: NodalNetwork) -> list[str]:
    """Where a certificate's network is not the one its base case gives (`rebuilt`), allowing
    one step of the published rounding for arithmetic that differs in its last bits."""
    if published.node_ids != rebuilt.node_ids:
        return ["the grid nodes differ"]
    if published.rows.shape != rebuilt.rows.shape:
        return [f"{len(published.budget)} limits published, {len(rebuilt.budget)} in the network"]
    differences = []
    for name, mine, theirs, step in (
        ("limit row", published.rows, rebuilt.rows, 10.0**-COEFFICIENT_DECIMALS),
        ("limit budget", published.budget, rebuilt.budget, 10.0**-BUDGET_DECIMALS),
        ("loss factor", published.loss_factor, rebuilt.loss_factor, 10.0**-LOSS_FACTOR_DECIMALS),
    ):
        beyond = np.abs(mine - theirs) > 1.5 * step
        at = np.flatnonzero(beyond.any(axis=1) if beyond.ndim == 2 else beyond)
        differences += [f"{name} {i}" for i in at.tolist()]
    if published.loss_price_per_kwh != rebuilt.loss_price_per_kwh:
        differences.append("the price of lost energy")
    return differences


def _dense_rows(limits: list[dict[str, Any]], width: int) -> FloatArray:
    """The published sparse limit rows as a (limits, width) matrix; ValueError if a row names a
    column twice or outside 0..width-1, or has not one coefficient per column."""
    rows = np.zeros((len(limits), width))
    for k, limit in enumerate(limits):
        columns = limit["columns"]
        coefficients = [float(v) for v in limit["coefficients"]]
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in columns):
            raise ValueError(f"limit {k} has a column that is not a whole number")
        if len(columns) != len(coefficients):
            raise ValueError(f"limit {k} has {len(columns)} columns and {len(coefficients)} coefficients")
        if len(set(columns)) != len(columns) or any(not 0 <= c < width for c in columns):
            raise ValueError(f"limit {k} names a column twice or outside 0..{width - 1}")
        rows[k, columns] = coefficients
    return rows
