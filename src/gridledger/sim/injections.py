"""The community as the grid sees it: net injections per bus from who sits at which bus, what
it draws and what it exports. The grid study and the simulated grid operator both use it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gridledger.grid.network import GridNetwork
from gridledger.market.feasible import MW_PER_WH_IN_INTERVAL
from gridledger.sim.scenario import Community, register_deltas
from gridledger.sim.strategy import own_use_split

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class InjectionModel:
    """Per-bus injections of a community on its grid, interval by interval."""

    def __init__(self, community: Community, network: GridNetwork) -> None:
        self.bus_position = np.array(
            [network.position(p.bus) for p in community.participants], dtype=np.int64
        )
        self._buses = network.bus_count
        # What the PV could give and what the loads drew, per interval (meter register deltas).
        self.exports = register_deltas(community.export_register_wh())
        self.imports = register_deltas(community.import_register_wh())
        self.varh = community.consumption_varh

    def base(self, k: int) -> tuple[FloatArray, FloatArray]:
        """(P, Q) per bus in the base case: own PV covers own use, nothing is exported."""
        _, uncovered = own_use_split(self.exports[:, k], self.imports[:, k])
        return -self.per_bus_mw(uncovered.astype(np.float64)), -self.per_bus_mw(self.varh[:, k])

    def with_exports(self, p_base: FloatArray, exported_wh: FloatArray) -> FloatArray:
        """`p_base` plus every participant's export (Wh in the interval)."""
        return p_base + self.per_bus_mw(exported_wh)

    def per_bus_mw(self, energy_wh: FloatArray) -> FloatArray:
        """Each participant's energy in the interval (Wh) summed per bus, as average MW."""
        per_bus: FloatArray = np.bincount(self.bus_position, weights=energy_wh, minlength=self._buses).astype(
            np.float64
        )
        return per_bus * MW_PER_WH_IN_INTERVAL
