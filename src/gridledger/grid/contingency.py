"""N-1: the network's thermal limits after any single line or transformer outage, as linear
limits on exports, so that an export envelope keeps every branch within its rating even if
one branch trips (`gridledger simulate --n-1`).

For each contingency (one branch in service taken out, on top of any outage already in force)
the DC transfer factors of the network without it give every remaining branch's flow:
the base case's injections and the exports, each through the factors. Buses the outage cuts off
from the upstream grid have none (their households are without supply, so their exports
vanish with them). In a radial grid, as every SimBench low-voltage grid is, an outage cuts off
everything below the branch, and a branch above it then carries its flow without the cut-off
part: more export where the part cut off was drawing power. Every remaining branch must stay
within its thermal limit less the clearing's margin, in both directions.

Only thermal limits: voltage after a contingency is not checked. The factors of a topology
depend on it alone, so each contingency's are computed once, on a network of the model's own
(switching branches on the simulation's network would change its power flow state).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gridledger.grid.network import GridNetwork
from gridledger.market.feasible import LIMIT_MARGIN, LinearLimits, active_limit_mw

FloatArray = npt.NDArray[np.float64]

Topology = tuple[frozenset[int], frozenset[int]]  # lines, transformers out of service


@dataclass
class ContingencyModel:
    """The N-1 limits of one grid; `network` is the model's own instance of it."""

    network: GridNetwork
    margin: float = LIMIT_MARGIN
    _ptdf: dict[Topology, FloatArray] = field(default_factory=dict, repr=False)
    _stacked: dict[Topology, FloatArray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, network: GridNetwork) -> ContingencyModel:
        """A model of `network`'s grid, with the same upstream voltage, on an instance of its own."""
        upstream = float(network.net.ext_grid["vm_pu"].iloc[0])
        return cls(GridNetwork(network.code, upstream_vm_pu=upstream))

    def contingencies(self, out: Topology = (frozenset(), frozenset())) -> list[Topology]:
        """Every single outage of a branch in service, on top of the outages `out`."""
        lines_out, trafos_out = out
        in_service_lines = np.flatnonzero(self.network.net.line["in_service"].to_numpy(bool))
        in_service_trafos = np.flatnonzero(self.network.net.trafo["in_service"].to_numpy(bool))
        return [
            *((lines_out | {int(line)}, trafos_out) for line in in_service_lines if line not in lines_out),
            *((lines_out, trafos_out | {int(t)}) for t in in_service_trafos if t not in trafos_out),
        ]

    def ptdf_after(self, topology: Topology) -> FloatArray:
        """Transfer factors of the network with the branches of `topology` out of service (zero
        for branches out and buses cut off)."""
        if topology not in self._ptdf:
            self.network.set_out_of_service(*topology)
            self._ptdf[topology] = self.network.ptdf.copy()
            self.network.set_out_of_service()
        return self._ptdf[topology]

    def limits(
        self,
        p_base_mw: FloatArray,
        branch_q_mvar: FloatArray,
        out: Topology = (frozenset(), frozenset()),
    ) -> LinearLimits:
        """Every remaining branch's flow after each single outage, as a linear function of the
        injections per bus position: base case `p_base_mw`, plus exports. Within ± the active
        power its thermal limit less the margin leaves beside `branch_q_mvar`, the reactive
        power it carries in the base case (the DC model knows none after an outage)."""
        limit_mw = active_limit_mw(self.network.branch_limit_mva, branch_q_mvar, self.margin)
        per_mw = self._stacked_factors(out)
        stacked_limit = np.tile(limit_mw, per_mw.shape[0] // max(len(limit_mw), 1))
        return LinearLimits(per_mw @ p_base_mw, -stacked_limit, stacked_limit, per_mw)

    def _stacked_factors(self, out: Topology) -> FloatArray:
        """Every contingency's factors on top of `out`, one block of branch rows each; kept, as
        they depend on the topology alone and every interval asks for them."""
        if out not in self._stacked:
            factors = [self.ptdf_after(topology) for topology in self.contingencies(out)]
            self._stacked[out] = np.vstack(factors) if factors else np.zeros((0, self.network.bus_count))
        return self._stacked[out]
