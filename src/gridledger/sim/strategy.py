"""The participants' trading strategy: simple, documented, between the two utility tariffs.

Each interval clears after delivery on the metered energy (as the Quartierstrom and Brooklyn
Microgrid pilots did), so nobody trades on a forecast:

- A prosumer keeps what its own consumption of the interval needs and offers the rest at the
  feed-in tariff: any neighbour paying more beats exporting to the utility.
- A household bids for its metered consumption not covered by its own PV, at a limit drawn
  uniformly (from the seed) between just above the feed-in tariff and the retail tariff less
  the grid fee: buying from a neighbour must beat the utility's retail price.
- The utility, as supplier of last resort, bids the feed-in tariff for whatever is left, so
  surplus nobody else wants is exported at the feed-in tariff; consumption no token covers is
  imported from the utility at the retail tariff (off-chain, on the household's bill).

Because every household bid is above the feed-in tariff, neighbours are served before the
utility, and the clearing price is the feed-in tariff whenever the community has surplus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridledger.chain.deploy import DEFAULT_GRID_FEE_PER_KWH
from gridledger.errors import ScenarioError

# Payment units: the 6-decimal test dollar, per kWh.
FEED_IN_TARIFF_PER_KWH = 82_000  # 0.082 $/kWh
RETAIL_TARIFF_PER_KWH = 350_000  # 0.35 $/kWh


@dataclass(frozen=True)
class Tariffs:
    feed_in_per_kwh: int = FEED_IN_TARIFF_PER_KWH
    retail_per_kwh: int = RETAIL_TARIFF_PER_KWH
    grid_fee_per_kwh: int = DEFAULT_GRID_FEE_PER_KWH

    def __post_init__(self) -> None:
        if not 0 < self.feed_in_per_kwh < self.retail_per_kwh - self.grid_fee_per_kwh - 1:
            raise ScenarioError(
                "the feed-in tariff must lie below the retail tariff less the grid fee, "
                f"got {self.feed_in_per_kwh}, {self.retail_per_kwh}, {self.grid_fee_per_kwh}"
            )

    @property
    def lowest_bid_per_kwh(self) -> int:
        return self.feed_in_per_kwh + 1

    @property
    def highest_bid_per_kwh(self) -> int:
        return self.retail_per_kwh - self.grid_fee_per_kwh


def bid_limits(tariffs: Tariffs, seed: int, interval_index: int, count: int) -> npt.NDArray[np.int64]:
    """The limit price of each of `count` households for one interval, reproducible from the seed."""
    rng = np.random.default_rng((seed, interval_index))
    span = tariffs.highest_bid_per_kwh - tariffs.lowest_bid_per_kwh + 1
    limits: npt.NDArray[np.int64] = tariffs.lowest_bid_per_kwh + np.floor(rng.random(count) * span).astype(
        np.int64
    )
    return limits


def own_use_split(
    pv_wh: npt.NDArray[np.int64], consumption_wh: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(surplus to offer, consumption to buy) per participant once own PV covers own use."""
    own_use = np.minimum(pv_wh, consumption_wh)
    return pv_wh - own_use, consumption_wh - own_use
