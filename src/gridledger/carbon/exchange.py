"""The carbon/payment pair's price arithmetic, as CarbonExchange does it."""

from __future__ import annotations

GRAMS_PER_TONNE = 1_000_000


def cost_of(co2e_grams: int, price_per_tonne: int) -> int:
    """What `co2e_grams` cost at `price_per_tonne` payment units, rounded up (CarbonExchange.costOf)."""
    return -(-co2e_grams * price_per_tonne // GRAMS_PER_TONNE)
