"""The grid operator in a simulated day: zones and nodes on-chain, the grid-feasible clearing,
capacity reservations for what the market settles, and after every interval the measured state
posted on-chain with the zone states that follow from it; after every day each zone's quality
of service (grid/quality.py). Branch outages (grid/outages.py) halt the zones they fault from
their first interval.

Each interval the base case (no exports) is power-flowed first; from it the export envelope:
what each participant may export, by the grid-feasible clearing's LP (dynamic operating
envelopes, as distribution operators publish them). Inverters hold exports to it and the
generation meters measure what was generated; the market then clears grid-feasibly.

Zone states after each interval's power flow of the real (cleared) state:
- a zone with a thermal overload or a bus outside ±10 % goes into emergency (EMERGENCY role);
  while it is in emergency its participants do not trade (orders from it would not settle);
- a zone in emergency whose state is within limits again returns to normal through the
  governance multisig (2 of 3 governors);
- otherwise a zone is in peak while one of its limits (a line or transformer, or a bus's
  voltage) held the interval's export envelope below what was offered: one at its target at the
  envelope's power flow (`binding_limits`). Buyers there pay the peak grid fee. The envelope alone caps
  exports: the grid operator lifts the per-transfer peak cap at setup (through governance),
  because a flat cap per transfer would curtail far more than the network needs.

With `n_minus_1` the envelope also keeps every branch within its rating after any single line
or transformer outage (grid/contingency.py): the N-1 LP runs below the AC caps. Peak still
follows the intact grid's limits that held the AC caps, not the contingencies'.

Without a network model (a replicated community has no physical grid) only the nodes are
registered, in one zone, and every interval clears without network limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System, governor_keys, named_account
from gridledger.chain.governance import Governance
from gridledger.errors import SimulationError
from gridledger.grid.contingency import ContingencyModel
from gridledger.grid.network import GridNetwork, PowerFlow
from gridledger.grid.onchain import GridRegistrar, NodeType, ZoneState, connection_capacity_w
from gridledger.grid.outages import NO_OUTAGE, OutageState
from gridledger.grid.quality import QualityTally, ZoneDayQuality, bus_quality_rows
from gridledger.grid.zones import TRANSFORMER_ZONE, GridZone, grid_zones
from gridledger.market.clearing import ClearingMechanism, UniformClearing
from gridledger.market.feasible import (
    MW_PER_WH_IN_INTERVAL,
    WATTS_PER_WH_IN_INTERVAL,
    AcBaseCase,
    GridFeasibleClearing,
    ac_export_limits_wh,
    binding_limits,
    export_limits_wh,
)
from gridledger.market.orders import Side
from gridledger.market.settlement import Settlement
from gridledger.sim.injections import InjectionModel
from gridledger.sim.metered import MeteredChain
from gridledger.sim.scenario import INTERVAL_S, INTERVALS_PER_DAY, Community

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Without a network model all participants share one zone of this capacity per interval.
UNMODELLED_ZONE_WH = 2**63
UINT64_MAX = 2**64 - 1
DAY_S = INTERVAL_S * INTERVALS_PER_DAY


@dataclass
class GridIntervalRecord:
    """The grid in one interval, from the power flow of its real state (after trades)."""

    interval_start: int
    max_line_loading_percent: float
    max_trafo_loading_percent: float
    vm_min_pu: float
    vm_max_pu: float
    losses_wh: float
    trade_losses_wh: float  # losses beyond the no-trade base case, allocated to sellers
    curtailed_wh: int  # PV held back by the export envelope (halted zone or network limits)
    violations: int
    # Zones in these states during the interval (changes after it apply from the next one).
    zones_in_emergency: tuple[int, ...] = ()
    zones_in_peak: tuple[int, ...] = ()
    # A branch outage in the interval: the zones it faulted and the participants it cut off.
    zones_faulted: tuple[int, ...] = ()
    participants_unsupplied: int = 0


@dataclass
class GridOperation:
    """Everything the grid operator does in a run; `network` None when the grid is not modelled."""

    chain: MeteredChain
    system: System
    community: Community
    network: GridNetwork | None
    zones: list[GridZone] = field(default_factory=list)
    node_of: list[int] = field(default_factory=list)  # participant -> node id
    zone_of: list[int] = field(default_factory=list)  # participant -> zone id
    states: dict[int, ZoneState] = field(default_factory=dict)
    records: list[GridIntervalRecord] = field(default_factory=list)
    seller_losses_wh: dict[int, float] = field(default_factory=dict)
    outages: Mapping[int, OutageState] = field(default_factory=dict)  # interval -> its outages
    quality_reports: list[ZoneDayQuality] = field(default_factory=list)  # posted, day by day
    # What the reports add up, per bus and interval (BUS_QUALITY_DTYPE rows, an array an interval).
    bus_quality: list[npt.NDArray[np.void]] = field(default_factory=list)
    n_minus_1: bool = False  # envelopes that keep every branch within its rating after any one outage

    def __post_init__(self) -> None:
        self._abi = load_artifact("GridManagement")
        self._rejected_topic = self._abi.event_topic("EnergyTransferRejected")
        self._operator = named_account("grid-operator")
        self._market_operator = named_account("market-operator")  # reserves for what it settles
        self._emergency = named_account("regulator")  # holds EMERGENCY in local deployments
        self._governance = Governance(self.chain, self.system.multisig, governor_keys()[:2], self._operator)
        self._registrar = GridRegistrar(self.chain, self.system, self._operator)
        if self.network is not None:
            self.zones = grid_zones(self.network)
            self._injections = InjectionModel(self.community, self.network)
            self._bus = self._injections.bus_position
            self._bus_of_node: dict[int, int] = {}
            customers_per_bus = np.bincount(self._bus, minlength=self.network.bus_count).astype(np.int64)
            self._quality = QualityTally(self.zones, customers_per_bus)
        self._contingency = (
            ContingencyModel.of(self.network) if self.network is not None and self.n_minus_1 else None
        )
        self._case: AcBaseCase | None = None
        self._binding_zones: frozenset[int] = frozenset()  # zones whose limits held the envelope
        self._k = 0

    # ---------------------------------------------------------------- setup
    def register(self, traders: list[str], utility: str) -> None:
        """Zones, the transformer (the utility trades there) and one node per participant."""
        registrar = self._registrar
        if self.network is None:
            registrar.create_zone(TRANSFORMER_ZONE, 0, UNMODELLED_ZONE_WH)
            zone_of_bus: dict[int, int] = {}
        else:
            for zone in self.zones:
                registrar.create_zone(zone.zone_id, zone.parent_zone_id, zone.capacity_wh)
            zone_of_bus = {b: z.zone_id for z in self.zones for b in z.bus_positions}
            # The envelopes cap exports where the network needs it; no flat cap per transfer.
            fees = [
                self.chain.call(self._abi, self.system.grid, f)[0]
                for f in ("normalFeePerKWh", "peakFeeRatePerKWh")
            ]
            self._governance.execute(self._abi, self.system.grid, "setPeakParameters", UINT64_MAX, *fees)
        self.states = {zone_id: ZoneState.NORMAL for zone_id in self._zone_ids()}
        self._transformer_node = registrar.register_node(utility, NodeType.TRANSFORMER, TRANSFORMER_ZONE)
        self._zone_node = {TRANSFORMER_ZONE: self._transformer_node}
        self._zone_of_node = {self._transformer_node: TRANSFORMER_ZONE}
        for i, (trader, participant) in enumerate(zip(traders, self.community.participants, strict=True)):
            zone_id = TRANSFORMER_ZONE if self.network is None else zone_of_bus[int(self._bus[i])]
            node_type = (
                NodeType.PROSUMER
                if participant.has_pv and participant.has_load
                else (NodeType.PRODUCER if participant.has_pv else NodeType.CONSUMER)
            )
            node = registrar.register_node(trader, node_type, zone_id)
            registrar.set_connection_capacity(
                node, connection_capacity_w(participant.pv_rated_w + participant.load_rated_w)
            )
            self.node_of.append(node)
            self.zone_of.append(zone_id)
            self._zone_of_node[node] = zone_id
            self._zone_node.setdefault(zone_id, node)
            if self.network is not None:
                self._bus_of_node[node] = int(self._bus[i])

    def register_outside_trader(self, trader: str) -> int:
        """A consumer node in the transformer's zone for a trader from outside the simulated
        community (a wallet trading by hand in the demo); its id. Only without a network model,
        which has no bus for it."""
        if self.network is not None:
            raise SimulationError("a trader from outside the community has no bus in the network model")
        node = self._registrar.register_node(trader, NodeType.CONSUMER, TRANSFORMER_ZONE)
        self._registrar.set_connection_capacity(node, connection_capacity_w(0))
        self._zone_of_node[node] = TRANSFORMER_ZONE
        return node

    def link_meter(self, participant: int, device_id: int) -> None:
        """Link a participant's node to its smart meter once the meter is registered (its device
        data names the node, so the node comes first)."""
        self._registrar.assign_node(self.node_of[participant], self.zone_of[participant], device_id)

    @property
    def transformer_node(self) -> int:
        """The utility's node, at the transformer: where it buys what the community exports."""
        return self._transformer_node

    def _zone_ids(self) -> list[int]:
        return [z.zone_id for z in self.zones] or [TRANSFORMER_ZONE]

    # ---------------------------------------------------------------- each interval
    def _zone_in(self, participant: int, state: ZoneState) -> bool:
        """Whether the participant's zone or the transformer area above it is in `state`."""
        return state in (self.states[self.zone_of[participant]], self.states[TRANSFORMER_ZONE])

    def halted(self, participant: int) -> bool:
        """Whether the participant's zone (or the transformer area) is in emergency."""
        return self._zone_in(participant, ZoneState.EMERGENCY)

    def start_interval(self, k: int) -> None:
        """Power flow of interval k's base case: own PV covers own use, nothing is exported."""
        if self.network is None:
            return
        self._k = k
        outage = self.outages.get(k, NO_OUTAGE)
        self.network.set_out_of_service(outage.lines, outage.trafos)
        # A fault halts its zones at once; they return through governance once it is cleared.
        for zone_id in sorted(outage.faulted_zones):
            if self.states[zone_id] != ZoneState.EMERGENCY:
                self._declare_emergency(zone_id)
        self._case = AcBaseCase.solve(self.network, *self._injections.base(k))

    def export_envelope(self, surplus_wh: IntArray) -> IntArray:
        """What each participant may export this interval: nothing from a halted zone, and with
        network limits on, at most its share of what the grid can carry (the LP of the
        grid-feasible clearing, AC-accurate). Inverters hold exports to it; the rest of the PV is
        curtailed."""
        allowed = surplus_wh.copy()
        allowed[[i for i in range(len(allowed)) if self.halted(i)]] = 0
        self._binding_zones = frozenset()
        if self.network is None or self._case is None:
            return allowed
        sellers = np.flatnonzero(allowed > 0)
        envelope = ac_export_limits_wh(self._case, self._bus[sellers], allowed[sellers])
        if np.any(envelope.caps_wh < allowed[sellers]):
            self._binding_zones = self._zones_holding(envelope.flow)
        caps = envelope.caps_wh
        if self._contingency is not None:
            # Below the intact grid's caps, so the intact grid keeps its limits too (radial).
            outage = self.outages.get(self._k, NO_OUTAGE)
            after_one_more = self._contingency.limits(
                self._case.p_base_mw, self._case.flow.branch_q_mvar, (outage.lines, outage.trafos)
            )
            caps = export_limits_wh(after_one_more, self._bus[sellers], caps)
        allowed[sellers] = caps
        return allowed

    def _zones_holding(self, flow: PowerFlow) -> frozenset[int]:
        """The zones with a limit that holds exports at `flow` (the envelope's power flow)."""
        assert self._case is not None
        branches, buses = binding_limits(self._case, flow)
        line_count = len(flow.line_loading_percent)
        held_lines = frozenset(np.flatnonzero(branches[:line_count]).tolist())
        held_trafos = frozenset(np.flatnonzero(branches[line_count:]).tolist())
        held_buses = frozenset(np.flatnonzero(buses).tolist())
        return frozenset(
            zone.zone_id
            for zone in self.zones
            if zone.lines & held_lines or zone.trafos & held_trafos or zone.bus_positions & held_buses
        )

    def mechanism(self) -> ClearingMechanism:
        """The market's clearing: grid-feasible with network limits on (it also guards against
        offers beyond the envelope), else the plain uniform auction."""
        if self._case is None:
            return UniformClearing()
        # Offers within the envelope's caps: the clearing confirms them with one power flow.
        return GridFeasibleClearing(self._bus_of_node, ac=self._case)

    def reserve(self, interval_start: int, settlement: Settlement) -> None:
        """The market operator reserves zone capacity for what the settlement moves between
        zones, before it sends the settlement: what settles has been checked against the zones
        on-chain, and a transfer the zones refuse stops the settlement.

        Trades inside a zone cross no zone connection. A zone's net export (sold minus bought
        there; the utility buys at the transformer) goes to the importing zones in proportion to
        their net import; each seller carries its share of its zone's net export, one transfer
        per importing zone, from its node to that zone's first node (the transformer's node for
        the transformer area)."""
        sold_wh: dict[int, int] = {}
        net_wh: dict[int, int] = {}
        sellers: list[tuple[int, int, int]] = []  # (node, zone, Wh)
        for order, _, _, filled, _ in settlement.fills:
            node = int(order[6])
            zone = self._zone_of_node.get(node, TRANSFORMER_ZONE)
            if order[1] == int(Side.SELL):
                sellers.append((node, zone, filled))
                sold_wh[zone] = sold_wh.get(zone, 0) + filled
                net_wh[zone] = net_wh.get(zone, 0) + filled
            else:
                net_wh[zone] = net_wh.get(zone, 0) - filled
        importers = {z: -wh for z, wh in net_wh.items() if wh < 0}
        imported = sum(importers.values())
        transfers = []
        for node, zone, filled in sellers:
            leaving = filled * max(net_wh[zone], 0) // sold_wh[zone]
            for importer, in_wh in sorted(importers.items()):
                amount = leaving * in_wh // imported
                if amount:
                    transfers.append((node, self._zone_node[importer], amount))
        if not transfers:
            return
        self.chain.transact(
            self._market_operator,
            self._abi,
            self.system.grid,
            "requestEnergyTransfers",
            interval_start,
            transfers,
        )
        rejected = [
            log for log in self.chain.last_logs if log.topics and log.topics[0] == self._rejected_topic
        ]
        if rejected:
            raise SimulationError(f"zones refused {len(rejected)} transfers of interval {interval_start}")

    def end_interval(
        self, interval_start: int, exported_wh: FloatArray, uncovered_wh: IntArray, curtailed_wh: int
    ) -> None:
        """Power flow of the real state; post loads, losses and zone states on-chain.
        `curtailed_wh` is the PV the export envelope held back."""
        if self.network is None:
            return
        case = self._case
        assert case is not None
        flow = self.network.power_flow(
            self._injections.with_exports(case.p_base_mw, exported_wh), case.q_mvar
        )
        trade_losses_wh = (flow.losses_mw - case.flow.losses_mw) / MW_PER_WH_IN_INTERVAL
        sold = exported_wh.sum()
        if sold > 0:
            for i in np.flatnonzero(exported_wh):
                share = float(exported_wh[i] / sold)
                self.seller_losses_wh[int(i)] = (
                    self.seller_losses_wh.get(int(i), 0.0) + share * trade_losses_wh
                )
        self._post_loads(exported_wh, uncovered_wh)
        self._post_losses(interval_start, flow)
        outage = self.outages.get(self._k, NO_OUTAGE)
        buses = self._quality.add_interval(flow, outage.unsupplied_buses)
        if buses:
            self.bus_quality.append(bus_quality_rows(interval_start, self.network.bus_ids, buses))
        if (interval_start + INTERVAL_S) % DAY_S == 0 or self._k == self.community.intervals - 1:
            self._post_quality(interval_start - interval_start % DAY_S)
        violations = flow.violations()
        # The record shows the states the interval ran under; the update applies from the next.
        in_emergency = tuple(z for z, s in self.states.items() if s == ZoneState.EMERGENCY)
        in_peak = tuple(z for z, s in self.states.items() if s == ZoneState.PEAK)
        self._update_states(flow)
        self.records.append(
            GridIntervalRecord(
                interval_start,
                float(np.nan_to_num(flow.line_loading_percent).max(initial=0)),
                float(np.nan_to_num(flow.trafo_loading_percent).max(initial=0)),
                # Buses an outage left without supply have no voltage (NaN).
                float(np.nanmin(flow.vm_pu)),
                float(np.nanmax(flow.vm_pu)),
                flow.losses_mw / MW_PER_WH_IN_INTERVAL,
                trade_losses_wh,
                curtailed_wh,
                violations.count,
                in_emergency,
                in_peak,
                tuple(sorted(outage.faulted_zones)),
                int(np.isin(self._bus, list(outage.unsupplied_buses)).sum()),
            )
        )

    def _post_loads(self, exported_wh: FloatArray, uncovered_wh: IntArray) -> None:
        # Measured power at each connection point, watts either way.
        watts = np.abs(exported_wh - uncovered_wh) * WATTS_PER_WH_IN_INTERVAL
        for node, load_w in zip(self.node_of, np.rint(watts).astype(np.int64), strict=True):
            self.chain.transact(
                self._operator, self._abi, self.system.grid, "updateLoadBalance", node, int(load_w)
            )

    def _post_losses(self, interval_start: int, flow: PowerFlow) -> None:
        for zone in self.zones:
            # NaN for a branch out of service: it loses nothing.
            losses_mw = float(
                np.nansum(flow.line_losses_mw[list(zone.lines)])
                + np.nansum(flow.trafo_losses_mw[list(zone.trafos)])
            )
            losses_wh = round(losses_mw / MW_PER_WH_IN_INTERVAL)
            if losses_wh > 0:
                self.chain.transact(
                    self._operator,
                    self._abi,
                    self.system.grid,
                    "reportLosses",
                    zone.zone_id,
                    interval_start,
                    losses_wh,
                )

    def _post_quality(self, day_start: int) -> None:
        """Post every zone's quality of service of the day (or of the run's part of it)."""
        for report in self._quality.day(day_start):
            self.chain.transact(
                self._operator,
                self._abi,
                self.system.grid,
                "reportServiceQuality",
                report.zone_id,
                report.day_start,
                report.quality.as_call_argument(),
            )
            self.quality_reports.append(report)
        self._quality.reset()

    def _update_states(self, flow: PowerFlow) -> None:
        """Zone states from the interval's real state; peak where a limit of the zone held the
        interval's export envelope."""
        assert self.network is not None
        violations = flow.violations()
        faulted_next = self.outages.get(self._k + 1, NO_OUTAGE).faulted_zones
        for zone in self.zones:
            violated = bool(
                violations.lines & zone.lines
                or violations.trafos & zone.trafos
                or violations.buses & zone.bus_positions
                or zone.zone_id in faulted_next
            )
            held = zone.zone_id in self._binding_zones
            state = self.states[zone.zone_id]
            if violated and state != ZoneState.EMERGENCY:
                self._declare_emergency(zone.zone_id)
            elif state == ZoneState.EMERGENCY and not violated:
                self._governance.execute(self._abi, self.system.grid, "endEmergency", zone.zone_id)
                self.states[zone.zone_id] = ZoneState.NORMAL
            elif state == ZoneState.NORMAL and held:
                self._set_peak(zone.zone_id, True)
            elif state == ZoneState.PEAK and not held:
                self._set_peak(zone.zone_id, False)

    def _declare_emergency(self, zone_id: int) -> None:
        self.chain.transact(self._emergency, self._abi, self.system.grid, "declareEmergency", zone_id)
        self.states[zone_id] = ZoneState.EMERGENCY

    def _set_peak(self, zone_id: int, peak: bool) -> None:
        self.chain.transact(self._operator, self._abi, self.system.grid, "setPeak", zone_id, peak)
        self.states[zone_id] = ZoneState.PEAK if peak else ZoneState.NORMAL
