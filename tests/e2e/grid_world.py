"""The demo community placed on a SimBench feeder, as a live operator's network model sees it,
and one interval settled under that model: for the tests of `market verify --grid`."""

from __future__ import annotations

from gridledger.chain.deploy import System, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.cli.demo import Participant, open_market_interval
from gridledger.grid.network import GridNetwork
from gridledger.market.book import IntervalBook
from gridledger.market.clearing import ClearingMechanism
from gridledger.market.orders import Pricing
from gridledger.market.settlement import MarketOperator
from gridledger.ops.grid_model import LiveGridModel, MeasuredInterval

GRID = "1-LV-rural1--0-sw"
# anna at the far end of the feeder, ben next to her, carla (the buyer) one bus nearer.
DEMO_BUSES = (13, 12, 11)
# What carla's meter measured in the interval: the base case's only load.
CARLA_IMPORT_WH = 1_200


def demo_grid_model(
    participants: list[Participant], pricing: Pricing = Pricing.UNIFORM, loss_price_per_kwh: int = 0
) -> LiveGridModel:
    network = GridNetwork(GRID)
    placed = {p.grid_node_id: network.position(bus) for p, bus in zip(participants, DEMO_BUSES, strict=True)}
    return LiveGridModel(network, placed, pricing, loss_price_per_kwh)


def measured(participants: list[Participant]) -> MeasuredInterval:
    return MeasuredInterval({participants[2].grid_node_id: CARLA_IMPORT_WH}, {})


def settled_under(
    chain: EmbeddedChain, system: System, participants: list[Participant], mechanism: ClearingMechanism
) -> IntervalBook:
    """The demo's interval settled by the operator under `mechanism`; the book as published."""
    book = open_market_interval(chain, system, participants)
    MarketOperator(chain, system.market, named_account("market-operator"), mechanism).settle(book)
    return IntervalBook.from_json(book.to_json())
