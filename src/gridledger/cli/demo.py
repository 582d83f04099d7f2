"""`gridledger demo`: the platform at work on the embedded EVM.

Deploys the system with its multisig, verifies participants, registers smart meters,
relays a gateway batch of signed readings per interval (one of them forged), then lets the
prosumers sell their surplus to their neighbour in one market interval, settles it on-chain,
verifies the settlement against the published book and prints what each participant holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import ENERGY_PAIR_ID, Chain, System, deploy_local_system, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.hashing import keccak
from gridledger.grid.onchain import HOUSEHOLD_CONNECTION_W, GridRegistrar, NodeType
from gridledger.market.book import IntervalBook
from gridledger.market.escrow import deposit_energy, deposit_payment, mint_test_dollars
from gridledger.market.orders import Order, Side, TraderKey, market_domain_separator
from gridledger.market.settlement import MarketOperator, Settlement
from gridledger.market.verify import VerificationReport, verify_interval
from gridledger.meter.signing import (
    DeviceKey,
    DeviceKind,
    EnergySource,
    MeterReading,
    encode_device_data,
    pack_readings,
    registry_domain_separator,
)

START_TIME = 1_750_000_500  # 2025-06-15, inside an interval
INTERVAL_S = 900
FIRMWARE = keccak(text="gridledger-meter-fw-1.0")
# The demo's participants share one feeder; its capacity is far above what they trade.
LOCAL_FEEDER = 1
LOCAL_FEEDER_CAPACITY_WH = 1_000_000


_account = named_account


@dataclass
class Participant:
    name: str
    trader: TraderKey
    key: DeviceKey
    kind: int
    source: int
    rated_power_w: int
    export_per_interval_wh: int
    import_per_interval_wh: int
    device_id: int = 0
    grid_node_id: int = 0
    import_wh: int = 0
    export_wh: int = 0

    @property
    def owner(self) -> str:
        return self.trader.address


def build_demo(chain: Chain) -> tuple[System, list[Participant], int]:
    """Deploy, register and relay four intervals; returns the system, participants and rejections seen."""
    gateway, operator, regulator = (_account(n) for n in ("gateway", "operator", "regulator"))
    system = deploy_local_system(chain, [FIRMWARE])
    token, registry = load_artifact("EnergyToken"), load_artifact("SmartMeterRegistry")
    participants = [
        Participant(
            "rooftop-pv-anna",
            TraderKey(keccak(text="anna")),
            DeviceKey(keccak(text="meter-anna")),
            DeviceKind.PROSUMER,
            EnergySource.SOLAR,
            5_000,
            900,
            150,
        ),
        Participant(
            "rooftop-pv-ben",
            TraderKey(keccak(text="ben")),
            DeviceKey(keccak(text="meter-ben")),
            DeviceKind.PROSUMER,
            EnergySource.SOLAR,
            8_000,
            1_500,
            300,
        ),
        Participant(
            "flat-carla",
            TraderKey(keccak(text="carla")),
            DeviceKey(keccak(text="meter-carla")),
            DeviceKind.CONSUMER,
            EnergySource.GRID_MIX,
            6_000,
            0,
            400,
        ),
    ]
    grid = GridRegistrar(chain, system, _account("grid-operator"))
    grid.create_zone(LOCAL_FEEDER, 0, LOCAL_FEEDER_CAPACITY_WH)
    for p in participants:
        chain.transact(regulator, token, system.token, "setParticipant", p.owner, True, 276)
        node_type = NodeType.PROSUMER if p.kind == DeviceKind.PROSUMER else NodeType.CONSUMER
        p.grid_node_id = grid.register_node(p.owner, node_type, LOCAL_FEEDER)
        grid.set_connection_capacity(p.grid_node_id, HOUSEHOLD_CONNECTION_W)
        data = encode_device_data(p.owner, p.grid_node_id, p.kind, p.source, p.rated_power_w, FIRMWARE)
        chain.transact(operator, registry, system.registry, "registerDevice", p.key.address, data)
        p.device_id = chain.call(registry, system.registry, "deviceIdOf", p.key.address)[0]

    domain = registry_domain_separator(chain.chain_id, system.registry)
    first_interval = START_TIME - START_TIME % INTERVAL_S
    forger = DeviceKey(keccak(text="not-a-registered-meter"))
    rejected = 0
    for k in range(4):
        interval_start = first_interval + k * INTERVAL_S
        chain.set_time(interval_start + INTERVAL_S + 30)
        batch = []
        for p in participants:
            p.export_wh += p.export_per_interval_wh
            p.import_wh += p.import_per_interval_wh
            reading = MeterReading(p.device_id, k + 1, interval_start, p.import_wh, p.export_wh, 0, FIRMWARE)
            batch.append(p.key.sign_reading(reading, domain))
        # A forged reading for anna's meter: signed by the wrong key, skipped by the registry.
        forged = MeterReading(participants[0].device_id, 100 + k, interval_start, 0, 10**6, 0, FIRMWARE)
        batch.append(forger.sign_reading(forged, domain))
        chain.transact(gateway, registry, system.registry, "submitReadings", pack_readings(batch))
        # Count acceptances from chain state, which every backend can read back.
        accepted = sum(
            chain.call(registry, system.registry, "getDevice", p.device_id)[0][8] == k + 1
            for p in participants
        )
        rejected += len(batch) - accepted
    return system, participants, rejected


def open_market_interval(chain: Chain, system: System, participants: list[Participant]) -> IntervalBook:
    """The prosumers escrow energy and offer it, the consumer escrows dollars and bids, for
    the next delivery interval; returns the operator's book, not yet settled."""
    anna, ben, carla = participants
    interval = chain.call(load_artifact("EnergyMarket"), system.market, "INTERVAL_SECONDS")[0]
    now = START_TIME + 5 * INTERVAL_S
    chain.set_time(now)
    delivery = now - now % interval + interval
    for seller in (anna, ben):
        deposit_energy(chain, system, seller.owner, 2_000)
    mint_test_dollars(chain, system, _account("deployer"), carla.owner, 5_000_000)
    deposit_payment(chain, system, carla.owner, 5_000_000)
    domain = market_domain_separator(chain.chain_id, system.market)
    book = IntervalBook(ENERGY_PAIR_ID, delivery, domain)
    offers = [
        (anna, Side.SELL, 2_000, 180_000),  # 2 kWh at 0.18 $/kWh at least
        (ben, Side.SELL, 2_000, 210_000),
        (carla, Side.BUY, 3_000, 300_000),  # 3 kWh at 0.30 $/kWh at most
    ]
    for received_ms, (who, side, energy_wh, price) in enumerate(offers):
        order = Order(
            who.owner, side, ENERGY_PAIR_ID, delivery, energy_wh, price, who.grid_node_id, delivery, 1
        )
        book.add(who.trader.sign_order(order, domain), received_ms, now)
    return book


def trade_one_interval(
    chain: Chain, system: System, participants: list[Participant]
) -> tuple[IntervalBook, Settlement | None]:
    """open_market_interval, then the market operator clears and settles it on-chain."""
    book = open_market_interval(chain, system, participants)
    return book, MarketOperator(chain, system.market, _account("market-operator")).settle(book)


def demo_command() -> None:
    """Deploy on the embedded EVM, register meters, relay signed readings, print balances."""
    console = Console()
    chain = EmbeddedChain(START_TIME)
    system, participants, rejected = build_demo(chain)
    token, market = load_artifact("EnergyToken"), load_artifact("EnergyMarket")
    book, settlement = trade_one_interval(chain, system, participants)
    report = verify_interval(chain, system.market, book)
    console.print(
        f"[bold]gridledger[/] deployed on the embedded EVM: registry {system.registry}, "
        f"token {system.token}, multisig {system.multisig} (2 of 3)"
    )
    table = Table(title="After four metered intervals and one market interval")
    columns = (
        "participant",
        "device",
        "exported kWh",
        "imported kWh",
        "wallet kWh",
        "escrow kWh",
        "escrow $",
    )
    for column in columns:
        table.add_column(column, justify="right" if column != "participant" else "left")
    for p in participants:
        held = chain.call(token, system.token, "balanceOf", p.owner)[0]
        dollars, escrowed_wh = chain.call(market, system.market, "accountOf", p.owner)
        table.add_row(
            p.name,
            str(p.device_id),
            f"{p.export_wh / 1000:.3f}",
            f"{p.import_wh / 1000:.3f}",
            f"{held / 1000:.3f}",
            f"{escrowed_wh / 1000:.3f}",
            f"{dollars / 1e6:.2f}",
        )
    console.print(table)
    _print_market(console, settlement, report)
    supply = chain.call(token, system.token, "totalSupply")[0]
    console.print(f"total live energy {supply / 1000:.3f} kWh; forged readings rejected: {rejected}")


def _print_market(console: Console, settlement: Settlement | None, report: VerificationReport) -> None:
    if settlement is None:
        console.print("the market interval did not trade")
        return
    result = settlement.result
    console.print(
        f"market interval {report.interval_start}: {result.volume_wh / 1000:.3f} kWh traded at "
        f"{result.price_per_kwh / 1e6:.4f} $/kWh uniform price, {settlement.matched_orders} orders filled; "
        f"verification against the published book: "
        + ("consistent" if report.consistent else ", ".join(f.kind for f in report.findings))
    )
