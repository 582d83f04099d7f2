"""The day loop of `gridledger simulate`: a community trading on the platform, interval by interval.

Setup: the system is deployed with its multisig; the regulator verifies every participant;
the grid operator registers zones and one node per participant; the meter operator registers
one consumption meter per household and one generation meter per PV unit (keys, grid node,
source, rated power from the grid data); everyone escrows test
dollars for the run's purchases, the utility for its standing feed-in bid.

Each 15-minute interval, one minute after it ends (docs/simulation.md):
1. generation meters sign their cumulative registers; the gateway batches and submits them;
   the registry mints the PV energy to its owners;
2. if the community generated anything, the market clears the interval on metered energy:
   prosumers escrow their surplus and offer it, households bid for what their own PV did not
   cover, the utility bids the feed-in tariff for the rest (sim/strategy.py); the operator
   clears and settles on-chain; buyers withdraw what they bought and the utility burns what
   it took (exported upstream);
3. consumption meters sign their registers; the registry burns consumption against each
   household's live energy: own PV kept back and energy bought from neighbours.

After each day's last interval the verifier certifies the day's PV generation as carbon credits
and the prosumers retire, pool or keep them (sim/carbon_activity.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gridledger.carbon.events import collect_logs
from gridledger.chain.abi import EventLog, event_topic, load_artifact
from gridledger.chain.deploy import (
    ENERGY_PAIR_ID,
    ClockedChain,
    System,
    deploy_local_system,
    governor_keys,
    named_account,
)
from gridledger.chain.governance import Governance
from gridledger.chain.hashing import keccak
from gridledger.errors import SimulationError
from gridledger.grid.network import GridNetwork
from gridledger.grid.outages import BranchOutage, OutageState, outage_states
from gridledger.grid.quality import BUS_QUALITY_DTYPE, ZoneDayQuality
from gridledger.grid.zones import grid_zones
from gridledger.iot.sim_transport import MAX_MQTT_METERS, MqttTransport
from gridledger.market.orders import Order, Side, SignedOrder, TraderKey, market_domain_separator
from gridledger.market.settlement import MarketOperator, ceil_payment_units
from gridledger.market.verify import SettledFill
from gridledger.meter.gateway import ACCEPTED_TOPIC, REJECTED_TOPIC, Gateway
from gridledger.meter.signing import (
    DeviceKey,
    DeviceKind,
    EnergySource,
    MeterReading,
    SignedReadingTuple,
    encode_device_data,
    registry_domain_separator,
)
from gridledger.sim.carbon_activity import CarbonActivity, CarbonDayRecord
from gridledger.sim.grid_operation import GridIntervalRecord, GridOperation
from gridledger.sim.injections import InjectionModel
from gridledger.sim.market_desk import InProcessDesk, MarketDesk
from gridledger.sim.metered import GasEntry, MeteredChain
from gridledger.sim.scenario import (
    INTERVAL_S,
    INTERVALS_PER_DAY,
    Community,
    register_deltas,
    with_interruptions,
)
from gridledger.sim.strategy import Tariffs, bid_limits, own_use_split

FIRMWARE = keccak(text="gridledger-meter-fw-1.0")
# How the readings reach the gateway: handed over in the process, or through Mosquitto.
TRANSPORTS = ("in-process", "mqtt")
JURISDICTION = 276  # ISO 3166 numeric code of the regulator's jurisdiction (Germany)
# Readings and the market of an interval run this long after the interval ends.
GATE_DELAY_S = 60
# Escrowed dollars cover the run's consumption at the retail tariff times this margin.
FUNDING_MARGIN = 2
# A trader from outside the community gets this many test dollars (in payment units) in escrow,
# and as many again in its wallet.
OUTSIDE_TRADER_UNITS = 500_000_000

# Makes the desk that takes the community's orders at each gate, once the system is deployed.
DeskFactory = Callable[[MeteredChain, System], MarketDesk]

# The token's mints, burns and expiries, as the run and the reconciliation read them from logs.
TRANSFER_TOPIC = event_topic("Transfer(address,address,uint256)")
EXPIRED_TOPIC = event_topic("EnergyExpired(address,uint256,uint256)")
MINTED_TOPIC = event_topic("EnergyMinted(uint256,address,uint256,uint256,uint256)")
BURNED_TOPIC = event_topic("EnergyBurned(address,uint256,uint8)")
BURN_BY_HOLDER, BURN_OF_CONSUMPTION = 0, 1  # IEnergyToken.BurnCause
ZERO_WORD = bytes(32)  # the zero address as an indexed topic

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass
class IntervalRecord:
    """What happened in one interval, from the chain's events (energy in Wh, money in payment units)."""

    interval_start: int
    pv_profile_wh: float
    consumption_profile_wh: float
    minted_wh: int = 0
    metered_consumption_wh: int = 0
    burned_by_consumption_wh: int = 0
    exported_to_utility_wh: int = 0
    expired_wh: int = 0
    curtailed_wh: int = 0  # PV the export envelope held back (halted zone, network limits)
    readings_accepted: int = 0
    readings_rejected: int = 0
    sell_orders: int = 0
    buy_orders: int = 0
    orders_excluded: int = 0
    filled_orders: int = 0
    volume_wh: int = 0
    clearing_price_per_kwh: int | None = None
    collector_units: int = 0  # grid fees (the peak fee in peak zones) and rounding, to the DSO

    @property
    def peer_to_peer_wh(self) -> int:
        """Energy households bought from neighbours (the rest of the volume went to the utility)."""
        return self.volume_wh - self.exported_to_utility_wh


@dataclass(frozen=True)
class Trade:
    """One fill of an IntervalSettled trade record."""

    interval_start: int
    order_hash: bytes
    trader: str
    side: Side
    filled_wh: int
    payment_units: int  # what a buyer paid without the grid fee, or what a seller received


def trades_of_settlement(event: dict[str, Any]) -> list[Trade]:
    """The fills of a decoded IntervalSettled event as trades."""
    start = int(event["intervalStart"])
    trades = []
    for order_hash, trader, packed in zip(
        event["orderHashes"], event["traders"], event["fills"], strict=True
    ):
        fill = SettledFill.unpack(bytes(order_hash), str(trader).lower(), packed)
        trades.append(
            Trade(start, fill.order_hash, fill.trader, fill.side, fill.filled_wh, fill.payment_units)
        )
    return trades


@dataclass
class SimulationResult:
    community: Community
    system: System
    backend: str
    seed: int
    tariffs: Tariffs
    utility: str
    dso: str
    traders: list[str]  # address of participant i
    intervals: list[IntervalRecord] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    gas: dict[tuple[str, str], GasEntry] = field(default_factory=dict)
    setup_seconds: float = 0.0
    trading_seconds: float = 0.0
    dollars_minted: int = 0
    # Per participant over the run, from the chain's events.
    minted_wh: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    burned_by_consumption_wh: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    # The grid, when it is modelled: one record per interval, losses caused by trades per seller.
    grid: list[GridIntervalRecord] = field(default_factory=list)
    seller_losses_wh: dict[int, float] = field(default_factory=dict)
    grid_zone_names: dict[int, str] = field(default_factory=dict)
    grid_quality: list[ZoneDayQuality] = field(default_factory=list)  # posted per zone and day
    # Each bus and interval outside ±5 % or unsupplied (grid/quality.py BUS_QUALITY_DTYPE rows).
    grid_bus_quality: npt.NDArray[np.void] = field(default_factory=lambda: np.zeros(0, BUS_QUALITY_DTYPE))
    # The grid fee each buy paid (the peak fee in a peak zone), by order hash.
    buy_fee_units: dict[bytes, int] = field(default_factory=dict)
    # Carbon: one record per day, each owner's choice, and the carbon contracts' logs.
    carbon: list[CarbonDayRecord] = field(default_factory=list)
    carbon_choice: dict[str, str] = field(default_factory=dict)
    carbon_logs: list[EventLog] = field(default_factory=list)
    carbon_buyer: str = ""  # the business that buys credits on the exchange and retires them

    @property
    def participants(self) -> int:
        return len(self.traders)


@dataclass
class _Meter:
    participant: int
    key: DeviceKey
    kind: str  # "pv" or "load"
    device_id: int = 0

    @property
    def name(self) -> str:
        """The meter's device name (its certificate's, with --transport mqtt)."""
        return f"{self.kind}-{self.participant:04d}"


class Simulation:
    """Runs a community on a chain (embedded or JSON-RPC); one instance, one run."""

    def __init__(
        self,
        chain: ClockedChain,
        community: Community,
        seed: int = 0,
        tariffs: Tariffs | None = None,
        gateway_batch: int = 100,
        network: GridNetwork | None = None,
        transport: str = "in-process",
        market_desk: DeskFactory | None = None,
        outside_traders: Sequence[str] = (),
        outages: Sequence[BranchOutage] = (),
        n_minus_1: bool = False,
    ) -> None:
        """`transport` "mqtt" sends the readings through Mosquitto and the gateway's outbox
        (iot/sim_transport.py); "in-process" hands them to the gateway directly (faster).
        `market_desk` takes the community's orders at each gate (default: the simulation's own
        gate closure). `outside_traders` are wallets that trade by hand beside the community:
        each is verified, given a node and test dollars (`outside_nodes` says which node).
        `outages` take branches of `network` out of service (grid/outages.py): the households
        they cut off have no power then, and the zones they fault halt trading. `n_minus_1` makes
        the export envelopes N-1 secure (thermal limits after any single branch outage)."""
        if transport not in TRANSPORTS:
            raise SimulationError(f"transport {transport!r}: one of {', '.join(TRANSPORTS)}")
        self._outage_states: dict[int, OutageState] = {}
        if n_minus_1 and network is None:
            raise SimulationError("N-1 secure envelopes need the grid's network model")
        self._n_minus_1 = n_minus_1
        if outages:
            if network is None:
                raise SimulationError("branch outages need the grid's network model")
            self._outage_states = outage_states(network, grid_zones(network), outages, community.intervals)
            bus = InjectionModel(community, network).bus_position
            unsupplied = np.zeros(community.pv_wh.shape, dtype=bool)
            for k, state in self._outage_states.items():
                unsupplied[:, k] = np.isin(bus, list(state.unsupplied_buses))
            community = with_interruptions(community, unsupplied)
        self._transport_kind = transport
        self._desk_factory = market_desk
        self._outside_traders = [address.lower() for address in outside_traders]
        self.outside_nodes: dict[str, int] = {}
        self._transport: MqttTransport | None = None
        self.chain = MeteredChain(chain)
        self.community = community
        self.seed = seed
        self.tariffs = tariffs or Tariffs()
        self._gateway_batch = gateway_batch
        self._token = load_artifact("EnergyToken")
        self._registry = load_artifact("SmartMeterRegistry")
        self._market = load_artifact("EnergyMarket")
        self._dollar = load_artifact("TestStablecoin")
        self._imports = register_deltas(community.import_register_wh())
        self._import_registers = community.import_register_wh()
        # PV the panels could give in each interval; what the meters see is that less curtailment,
        # so the generation registers run along with the simulation.
        self._available_pv = register_deltas(community.export_register_wh())
        self._export_registers = np.zeros(len(community.participants), dtype=np.int64)
        self._network = network
        prefix = f"gridledger-sim:{seed}"
        count = len(community.participants)
        self._traders = [TraderKey(keccak(text=f"{prefix}:{i}:trader")) for i in range(count)]
        self._pv_meters = [
            _Meter(i, DeviceKey(keccak(text=f"{prefix}:{i}:pv-meter")), "pv")
            for i, p in enumerate(community.participants)
            if p.has_pv
        ]
        self._load_meters = [
            _Meter(i, DeviceKey(keccak(text=f"{prefix}:{i}:load-meter")), "load")
            for i, p in enumerate(community.participants)
            if p.has_load
        ]
        meters = len(self._pv_meters) + len(self._load_meters)
        if transport == "mqtt" and meters > MAX_MQTT_METERS:
            raise SimulationError(
                f"--transport mqtt keeps one TLS connection per meter: at most {MAX_MQTT_METERS} meters, "
                f"this community has {meters}"
            )
        self._index_of = {key.address.lower(): i for i, key in enumerate(self._traders)}
        self._owner_of_device: dict[int, int] = {}
        # The utility signs its standing bid, so it has a key of its own.
        self._utility_key = TraderKey(keccak(text=f"{prefix}:utility"))
        self.utility = self._utility_key.address.lower()
        self.dso = named_account("dso")

    @property
    def traders(self) -> list[str]:
        """The participants' trading addresses, participant i at i."""
        return [key.address for key in self._traders]

    # ---------------------------------------------------------------- the run
    def run(
        self,
        on_interval: Callable[[int], None] | None = None,
        on_deployed: Callable[[System], None] | None = None,
    ) -> SimulationResult:
        """Deploy, then trade every interval; `on_deployed` hears the system's addresses before
        the first interval, `on_interval` the index of each interval done."""
        began = time.perf_counter()
        system = self._setup()
        if on_deployed is not None:
            on_deployed(system)
        result = SimulationResult(
            self.community,
            system,
            type(self.chain.inner).__name__,
            self.seed,
            self.tariffs,
            self.utility,
            self.dso,
            [key.address for key in self._traders],
            dollars_minted=self._dollars_minted,
            minted_wh=np.zeros(len(self._traders), np.int64),
            burned_by_consumption_wh=np.zeros(len(self._traders), np.int64),
        )
        result.setup_seconds = time.perf_counter() - began
        self.chain.phase = "trading"
        self.chain.take_logs()
        began = time.perf_counter()
        try:
            if self._transport_kind == "mqtt":
                self._transport = self._connect_meters(system)
            self._days(system, result, on_interval)
        finally:
            if self._transport is not None:
                self._transport.close()
        result.trading_seconds = time.perf_counter() - began
        result.carbon_choice = dict(self._carbon.choice_of)
        result.carbon_logs = collect_logs(
            self.chain, system.carbon, [system.carbon_pool], [system.carbon_exchange]
        )
        result.carbon_buyer = self._carbon.business
        result.gas = self.chain.gas
        result.grid = self.grid.records
        result.seller_losses_wh = self.grid.seller_losses_wh
        result.grid_zone_names = {z.zone_id: z.name for z in self.grid.zones}
        result.grid_quality = self.grid.quality_reports
        if self.grid.bus_quality:
            result.grid_bus_quality = np.concatenate(self.grid.bus_quality)
        return result

    def _days(
        self, system: System, result: SimulationResult, on_interval: Callable[[int], None] | None
    ) -> None:
        for k in range(self.community.intervals):
            self._interval(k, system, result)
            if (k + 1) % INTERVALS_PER_DAY == 0 or k + 1 == self.community.intervals:
                day_start = int(self.community.interval_starts[k - k % INTERVALS_PER_DAY])
                result.carbon.append(self._carbon.end_of_day(day_start))
                self.chain.take_logs()
            if on_interval is not None:
                on_interval(k)

    def _connect_meters(self, system: System) -> MqttTransport:
        """Mosquitto, the gateway and one MQTT/TLS connection per meter."""
        transport = MqttTransport(self.chain, system.registry, named_account("gateway"), self._gateway_batch)
        try:
            for meter in [*self._pv_meters, *self._load_meters]:
                transport.add_meter(meter.name)
        except BaseException:
            transport.close()
            raise
        return transport

    def _setup(self) -> System:
        chain = self.chain
        chain.set_time(int(self.community.interval_starts[0]))
        system = deploy_local_system(chain, [FIRMWARE])
        operator, regulator = named_account("operator"), named_account("regulator")
        deployer = named_account("deployer")
        self._gateway = Gateway(
            chain, system.registry, named_account("gateway"), max_batch=self._gateway_batch
        )
        self._market_domain = market_domain_separator(chain.chain_id, system.market)
        if self._desk_factory is None:
            market_operator = MarketOperator(chain, system.market, named_account("market-operator"))
            self._desk: MarketDesk = InProcessDesk(market_operator, self._market_domain, GATE_DELAY_S)
        else:
            self._desk = self._desk_factory(chain, system)
        self._registry_domain = registry_domain_separator(chain.chain_id, system.registry)
        self._system = system

        for key in self._traders:
            chain.transact(
                regulator, self._token, system.token, "setParticipant", key.address, True, JURISDICTION
            )
        chain.transact(
            regulator, self._token, system.token, "setParticipant", self.utility, True, JURISDICTION
        )
        self.grid = GridOperation(
            chain,
            system,
            self.community,
            self._network,
            outages=self._outage_states,
            n_minus_1=self._n_minus_1,
        )
        self.grid.register([key.address for key in self._traders], self.utility)
        for outside in self._outside_traders:
            chain.transact(
                regulator, self._token, system.token, "setParticipant", outside, True, JURISDICTION
            )
            self.outside_nodes[outside] = self.grid.register_outside_trader(outside)
        participants = self.community.participants
        # Meters above the governance threshold need the multisig's approval of key and rating.
        large_w = int(chain.call(self._registry, system.registry, "largeDeviceThresholdW")[0])
        governance = Governance(chain, system.multisig, governor_keys()[:2], operator)
        for meter, kind, source, rated in [
            *(
                (m, DeviceKind.PRODUCER, EnergySource.SOLAR, participants[m.participant].pv_rated_w)
                for m in self._pv_meters
            ),
            *(
                (m, DeviceKind.CONSUMER, EnergySource.GRID_MIX, participants[m.participant].load_rated_w)
                for m in self._load_meters
            ),
        ]:
            owner = self._traders[meter.participant].address
            node = self.grid.node_of[meter.participant]
            data = encode_device_data(owner, node, kind, source, rated, FIRMWARE)
            if rated > large_w:
                governance.execute(
                    self._registry, system.registry, "approveLargeDevice", meter.key.address, rated
                )
            chain.transact(
                operator, self._registry, system.registry, "registerDevice", meter.key.address, data
            )
            meter.device_id = int(
                chain.call(self._registry, system.registry, "deviceIdOf", meter.key.address)[0]
            )
            self._owner_of_device[meter.device_id] = meter.participant
        self._carbon = CarbonActivity(
            chain,
            system,
            {m.device_id: self._traders[m.participant].address for m in self._pv_meters},
            {m.device_id: participants[m.participant].pv_rated_w for m in self._pv_meters},
            self.seed,
        )
        # Each node is linked to the meter at its connection: the consumption meter, or the
        # generation meter of a producer without load.
        for meter in [*self._pv_meters, *self._load_meters]:
            self.grid.link_meter(meter.participant, meter.device_id)

        # Escrowed dollars: each household's consumption at the retail tariff (plus the grid
        # fee), the utility's standing bid for the community's peak PV in every interval.
        fee, retail = self.tariffs.grid_fee_per_kwh, self.tariffs.retail_per_kwh
        self._dollars_minted = 0
        need = self._imports.sum(axis=1)
        for i, key in enumerate(self._traders):
            units = FUNDING_MARGIN * ceil_payment_units(int(need[i]), retail + fee) + 1_000_000
            self._fund(key.address, units, deployer)
        self._utility_bid_wh = sum(p.pv_rated_w for p in participants) * INTERVAL_S // 3600 + 1
        per_interval = ceil_payment_units(self._utility_bid_wh, self.tariffs.feed_in_per_kwh + fee)
        self._fund(self.utility, per_interval * (self.community.intervals + 1), deployer)
        days = -(-self.community.intervals // INTERVALS_PER_DAY)
        self._dollars_minted += self._carbon.fund_business(deployer, days)
        for outside in self._outside_traders:
            self._fund(outside, OUTSIDE_TRADER_UNITS, deployer)
            chain.transact(
                deployer, self._dollar, system.payment_token, "mint", outside, OUTSIDE_TRADER_UNITS
            )
            self._dollars_minted += OUTSIDE_TRADER_UNITS
        return system

    def _fund(self, holder: str, units: int, minter: str) -> None:
        system = self._system
        self.chain.transact(minter, self._dollar, system.payment_token, "mint", holder, units)
        self.chain.transact(holder, self._dollar, system.payment_token, "approve", system.market, units)
        self.chain.transact(holder, self._market, system.market, "depositPayment", units)
        self._dollars_minted += units

    def _interval(self, k: int, system: System, result: SimulationResult) -> None:
        community = self.community
        start = int(community.interval_starts[k])
        record = IntervalRecord(
            start, float(community.pv_wh[:, k].sum()), float(community.consumption_wh[:, k].sum())
        )
        self.chain.set_time(start + INTERVAL_S + GATE_DELAY_S)
        available = self._available_pv[:, k]
        surplus, uncovered = own_use_split(available, self._imports[:, k])
        self.grid.start_interval(k)
        curtailed = surplus - self.grid.export_envelope(surplus)
        record.curtailed_wh = int(curtailed.sum())
        self._export_registers += available - curtailed
        self._relay(self._pv_meters, k, start)
        self._account(self.chain.take_logs(), record, result)
        exported = self._trade(k, start, uncovered, record, result)
        self._account(self.chain.take_logs(), record, result)
        self._relay(self._load_meters, k, start)
        self._account(self.chain.take_logs(), record, result)
        self.grid.end_interval(start, exported, uncovered, record.curtailed_wh)
        self.chain.take_logs()  # the grid operator's posts: nothing the record counts
        result.intervals.append(record)

    def _relay(self, meters: list[_Meter], k: int, start: int) -> None:
        """Every meter signs its registers for interval k; the gateway delivers them."""
        generation = meters is self._pv_meters
        signed: list[tuple[str, SignedReadingTuple]] = []
        for meter in meters:
            i = meter.participant
            register = int(self._export_registers[i] if generation else self._import_registers[i, k])
            reading = MeterReading(
                meter.device_id,
                k + 1,
                start,
                0 if generation else register,
                register if generation else 0,
                0,
                FIRMWARE,
            )
            signed.append((meter.name, meter.key.sign_reading(reading, self._registry_domain)))
        if self._transport is not None:
            self._transport.deliver(signed)
            return
        for _, reading_signed in signed:
            self._gateway.enqueue(reading_signed)
        self._gateway.flush()

    def _trade(
        self, k: int, start: int, uncovered: IntArray, record: IntervalRecord, result: SimulationResult
    ) -> FloatArray:
        """Gate closure of interval k on metered energy: escrow, orders, clearing, settlement.
        Returns what each participant exported (sold), in Wh."""
        exported = np.zeros(len(self._traders))
        signed = self._orders(k, start, uncovered, record) if record.minted_wh > 0 else []
        outcome = self._desk.settle(start, signed, self.grid.mechanism(), self.grid.reserve)
        record.orders_excluded = outcome.excluded_orders
        settlement = outcome.settlement
        if settlement is None:
            return exported
        record.clearing_price_per_kwh = settlement.result.price_per_kwh
        record.volume_wh = settlement.result.volume_wh
        record.filled_orders = settlement.matched_orders
        trades, record.collector_units = self._settled_trades(start, self.chain.step_logs)
        result.trades.extend(trades)
        utility_bought = 0
        market, token = self._system.market, self._system.token
        for trade in trades:
            participant = self._index_of.get(trade.trader)
            if trade.side == Side.SELL:
                if participant is not None:
                    exported[participant] += trade.filled_wh
                continue
            fee = settlement.buy_fee_per_kwh[trade.order_hash]
            result.buy_fee_units[trade.order_hash] = ceil_payment_units(trade.filled_wh, fee)
            if trade.trader == self.utility:
                utility_bought += trade.filled_wh
            elif participant is not None:  # an outside trader withdraws by hand
                self.chain.transact(trade.trader, self._market, market, "withdrawEnergy", trade.filled_wh)
        if utility_bought:
            # The utility takes the energy out of the community: it is exported, so burned.
            self.chain.transact(self.utility, self._market, market, "withdrawEnergy", utility_bought)
            self.chain.transact(self.utility, self._token, token, "burnEnergy", utility_bought)
        return exported

    def _orders(self, k: int, start: int, uncovered: IntArray, record: IntervalRecord) -> list[SignedOrder]:
        """The community's signed orders for interval k: prosumers escrow and offer their
        surplus; if anyone offers, households bid for what their PV did not cover and the
        utility bids the feed-in tariff for the rest."""
        chain, system = self.chain, self._system
        signed: list[SignedOrder] = []
        expiry = start + 2 * INTERVAL_S

        def order(i: int, side: Side, energy_wh: int, limit: int, trader: TraderKey) -> None:
            # The utility trades at its transformer node.
            node = self.grid.node_of[i] if i >= 0 else self.grid.transformer_node
            o = Order(trader.address, side, ENERGY_PAIR_ID, start, energy_wh, limit, node, expiry, k)
            signed.append(trader.sign_order(o, self._market_domain))

        for meter in self._pv_meters:
            i = meter.participant
            if self.grid.halted(i):
                continue  # its zone is in emergency: no trading there
            trader = self._traders[i]
            # Keep back what the household consumed in the interval; escrow the rest.
            wallet = int(chain.call(self._token, system.token, "balanceOf", trader.address)[0])
            deposit = wallet - int(self._imports[i, k])
            if deposit > 0:
                chain.transact(trader.address, self._market, system.market, "depositEnergy", deposit)
            escrowed = int(chain.call(self._market, system.market, "accountOf", trader.address)[1])
            if escrowed > 0:
                order(i, Side.SELL, escrowed, self.tariffs.feed_in_per_kwh, trader)
        record.sell_orders = len(signed)
        if not signed:
            return signed
        buyers = [i for i in np.flatnonzero(uncovered > 0) if not self.grid.halted(int(i))]
        limits = bid_limits(self.tariffs, self.seed, k, len(self._traders))
        for i in buyers:
            order(int(i), Side.BUY, int(uncovered[i]), int(limits[i]), self._traders[i])
        order(-1, Side.BUY, self._utility_bid_wh, self.tariffs.feed_in_per_kwh, self._utility_key)
        record.buy_orders = len(signed) - record.sell_orders
        return signed

    def _settled_trades(self, start: int, logs: list[EventLog]) -> tuple[list[Trade], int]:
        """The interval's fills and what the collector (the DSO) got: grid fees and rounding."""
        topic = self._market.event_topic("IntervalSettled")
        for log in logs:
            decoded = self._market.decode_event(log) if log.topics and log.topics[0] == topic else None
            if decoded is not None:
                return trades_of_settlement(decoded[1]), int(decoded[1]["collectorUnits"])
        raise SimulationError(f"the settlement of interval {start} left no IntervalSettled event")

    def _account(self, logs: list[EventLog], record: IntervalRecord, result: SimulationResult) -> None:
        """Adds what the logs say happened to the interval's record and the participants' sums.

        Each burn says what it was for (EnergyBurned's cause): consumption a reading validated,
        or the holder's own burn, which for the utility is energy exported out of the community.
        """
        registry, token = self._system.registry.lower(), self._system.token.lower()
        for log in logs:
            address, topic = log.address.lower(), log.topics[0] if log.topics else b""
            if address == registry and topic == ACCEPTED_TOPIC:
                words = log_words(log.data)
                record.readings_accepted += 1
                record.minted_wh += words[4]
                record.metered_consumption_wh += words[5]
                if words[4]:
                    owner = self._owner_of_device[int.from_bytes(log.topics[1], "big")]
                    result.minted_wh[owner] += words[4]
            elif address == registry and topic == REJECTED_TOPIC:
                record.readings_rejected += 1
            elif address == token and topic == EXPIRED_TOPIC:
                record.expired_wh += log_words(log.data)[0]
            elif address == token and topic == BURNED_TOPIC:
                amount, cause = log_words(log.data)
                holder = "0x" + log.topics[1][12:].hex()
                if cause == BURN_OF_CONSUMPTION:
                    record.burned_by_consumption_wh += amount
                    result.burned_by_consumption_wh[self._index_of[holder]] += amount
                elif holder == self.utility:
                    record.exported_to_utility_wh += amount


def log_words(data: bytes) -> list[int]:
    """The 32-byte words of a log's data: the events read here have static fields only, and
    this is many times faster than a general ABI decoder over a run's hundreds of thousands."""
    return [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]
