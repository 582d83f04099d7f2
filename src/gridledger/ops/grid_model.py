"""The network model of a live operator (`gridledger operate --grid CODE --grid-buses FILE`).

At each gate the operator knows what every meter measured in the interval: the registry's
`ReadingAccepted` events carry each device's cumulative registers, so consecutive readings give
the energy each connection drew and fed in. The model turns that into the grid's state:

- the base case of the clearing is every mapped node's measured import (its load after its own
  generation) as a net withdrawal at its bus, with the reactive power of a 0.95 power factor;
  an AC power flow of that case, linearised (PTDFs and voltage sensitivities), bounds how much
  the interval's sellers may export together: the grid-feasible clearing of the simulation;
  with nodal pricing (`--pricing nodal`) the limits and each node's marginal loss factor go
  into the nodal clearing with AC rounds (market/nodal_ac.py) instead: congestion and losses
  become prices, published with the book as a certificate of optimality; the book publishes
  the base case (the measured imports), from which anyone with the grid's data rebuilds the
  caps or the network;
- after settlement, the grid operator posts each node's measured load (watts, either way) to
  GridManagement, as the simulated grid operator does.

`--grid-buses` maps the chain's grid node ids to the network's buses (pandapower bus indices
of the SimBench grid): `grid_node_id,bus`. A sell at a node outside the map cannot be checked
against the network: the operator leaves it out of the book (`order_excluded`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain, System
from gridledger.errors import InputError, MarketError
from gridledger.grid.network import GridNetwork, not_low_voltage
from gridledger.market.clearing import BookSide
from gridledger.market.feasible import (
    MW_PER_WH_IN_INTERVAL,
    WATTS_PER_WH_IN_INTERVAL,
    AcBaseCase,
    GridFeasibleClearing,
)
from gridledger.market.nodal import NodalNetwork
from gridledger.market.nodal_ac import AcNodalMechanism, clear_nodal_ac
from gridledger.market.orders import Pricing

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]
# Households' loads, when only active energy is metered: cos φ = 0.95, inductive.
LOAD_TAN_PHI = math.tan(math.acos(0.95))


@dataclass(frozen=True)
class MeasuredInterval:
    """What the meters at each grid node measured in one interval (Wh)."""

    import_wh: dict[int, int]
    export_wh: dict[int, int]


def read_bus_map(path: Path, network: GridNetwork) -> dict[int, int]:
    """grid node id -> bus position, from a `grid_node_id,bus` CSV; InputError naming the line."""
    mapping: dict[int, int] = {}
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            if reader.fieldnames is None or not {"grid_node_id", "bus"} <= set(reader.fieldnames):
                raise InputError(f"{path}: the header must name grid_node_id and bus")
            for record in reader:
                where = f"{path} line {reader.line_num}"
                try:
                    node, bus = int(record["grid_node_id"]), int(record["bus"])
                except ValueError as bad:
                    raise InputError(f"{where}: {bad}") from bad
                if node in mapping:
                    raise InputError(f"{where}: grid node {node} is mapped twice")
                mapping[node] = network.position(bus)
    except (OSError, UnicodeDecodeError, csv.Error) as unreadable:
        raise InputError(f"cannot read {path}: {unreadable}") from unreadable
    if not mapping:
        raise InputError(f"{path} maps no grid node")
    return mapping


class LiveGridModel:
    """A SimBench network, the chain's grid nodes on its buses, and the meters' measurements."""

    def __init__(
        self,
        network: GridNetwork,
        bus_of_node: dict[int, int],
        pricing: Pricing = Pricing.UNIFORM,
        loss_price_per_kwh: int = 0,
    ) -> None:
        if (refused := not_low_voltage(network.code)) is not None:
            raise InputError(refused)
        if pricing == Pricing.PAY_AS_BID:
            raise InputError("a network model clears uniformly (grid-feasible) or nodally")
        if loss_price_per_kwh < 0 or (loss_price_per_kwh and pricing != Pricing.NODAL):
            raise InputError("a price of lost energy is at least 0, and only nodal pricing uses one")
        self.network = network
        self.bus_of_node = bus_of_node
        self.pricing = pricing
        self.loss_price_per_kwh = loss_price_per_kwh
        self._registry_abi = load_artifact("SmartMeterRegistry")
        self._node_of_device: dict[int, int] = {}

    def measured(self, chain: Chain, system: System, interval_start: int) -> MeasuredInterval:
        """Each node's import and export in the interval, from the registers of its meters'
        accepted readings of that interval and of the reading before each."""
        topic = self._registry_abi.event_topic("ReadingAccepted")
        last: dict[int, tuple[int, int]] = {}
        imports: dict[int, int] = {}
        exports: dict[int, int] = {}
        for log in chain.logs(system.registry, topic):
            decoded = self._registry_abi.decode_event(log)
            if decoded is None:
                continue
            fields = decoded[1]
            device = int(fields["deviceId"])
            registers = (int(fields["importWh"]), int(fields["exportWh"]))
            before = last.get(device, (0, 0))
            last[device] = registers
            if int(fields["intervalStart"]) != interval_start:
                continue
            node = self._node(chain, system, device)
            imports[node] = imports.get(node, 0) + registers[0] - before[0]
            exports[node] = exports.get(node, 0) + registers[1] - before[1]
        return MeasuredInterval(imports, exports)

    def clearing(self, measured: MeasuredInterval) -> GridFeasibleClearing | AcNodalMechanism:
        """The interval's clearing around its measured loads: grid-feasible, or nodal, both with
        AC rounds. Either carries its base case for the book to publish, so anyone holding the
        grid's data can rebuild its caps or its network (`rebuilt_caps`, `rebuilt_network`)."""
        imports = {node: wh for node, wh in sorted(measured.import_wh.items()) if node in self.bus_of_node}
        base_case = {"grid": self.network.code, "importWh": {str(node): wh for node, wh in imports.items()}}
        case = self._base_case(imports)
        if self.pricing != Pricing.NODAL:
            return GridFeasibleClearing(self.bus_of_node, ac=case, base_case=base_case)
        return AcNodalMechanism(case, self.bus_of_node, float(self.loss_price_per_kwh), base_case)

    def rebuilt_network(
        self, base_case: dict[str, Any], loss_price_per_kwh: float, bids: BookSide, asks: BookSide
    ) -> NodalNetwork:
        """The network of the nodal clearing of `bids` and `asks` (the book's live orders) around
        a book's published base case on this model, AC rounds included (for `market verify
        --grid`); MarketError for a base case that is malformed, of another grid, or with a node
        the bus map does not place; GridModelError if its power flow does not converge."""
        case = self._base_case(self._published_imports(base_case))
        return clear_nodal_ac(case, self.bus_of_node, loss_price_per_kwh, bids, asks).network

    def rebuilt_caps(self, base_case: dict[str, Any], asks: BookSide) -> Int64Array:
        """The export caps a book's published base case gives the asks (their full offers) on this
        model (for `market verify --grid`); MarketError as `rebuilt_network`."""
        case = self._base_case(self._published_imports(base_case))
        capped: Int64Array = GridFeasibleClearing(self.bus_of_node, ac=case).capped(asks).energy_wh
        return capped

    def _published_imports(self, base_case: dict[str, Any]) -> dict[int, int]:
        try:
            grid = str(base_case["grid"])
            imports = {int(node): int(wh) for node, wh in base_case["importWh"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as malformed:
            raise MarketError(f"malformed base case: {malformed}") from malformed
        if any(wh < 0 for wh in imports.values()):
            raise MarketError("malformed base case: a measured import is never negative")
        if grid != self.network.code:
            raise MarketError(f"the base case is on grid {grid}, not {self.network.code}")
        if unplaced := sorted(set(imports) - set(self.bus_of_node)):
            raise MarketError(f"the base case has grid node {unplaced[0]}, which the bus map does not place")
        return imports

    def _base_case(self, import_wh: dict[int, int]) -> AcBaseCase:
        """The AC power flow of each mapped node's import as a net withdrawal at its bus."""
        withdrawn_wh = np.zeros(self.network.bus_count)
        for node, energy_wh in import_wh.items():
            if node in self.bus_of_node:
                withdrawn_wh[self.bus_of_node[node]] += energy_wh
        p_mw: FloatArray = -withdrawn_wh * MW_PER_WH_IN_INTERVAL
        return AcBaseCase.solve(self.network, p_mw, p_mw * LOAD_TAN_PHI)

    def post_loads(self, chain: Chain, system: System, grid_operator: str, measured: MeasuredInterval) -> int:
        """Post each measured node's load (average watts in the interval, either direction) to
        GridManagement; returns how many nodes were posted."""
        grid = load_artifact("GridManagement")
        nodes = sorted(set(measured.import_wh) | set(measured.export_wh))
        for node in nodes:
            net_wh = measured.export_wh.get(node, 0) - measured.import_wh.get(node, 0)
            watts = round(abs(net_wh) * WATTS_PER_WH_IN_INTERVAL)
            chain.transact(grid_operator, grid, system.grid, "updateLoadBalance", node, watts)
        return len(nodes)

    def _node(self, chain: Chain, system: System, device: int) -> int:
        if device not in self._node_of_device:
            record = chain.call(self._registry_abi, system.registry, "getDevice", device)[0]
            self._node_of_device[device] = int(record[2])  # ISmartMeter.Device.gridNodeId
        return self._node_of_device[device]
