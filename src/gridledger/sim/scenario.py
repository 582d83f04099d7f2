"""A trading community built from a SimBench low-voltage grid and its own 15-minute profiles.

Every load of the grid is a household with a consumption meter; every PV unit (SimBench
`sgen`) is a generation meter owned by the household at its bus (a prosumer), or by a
producer of its own where no load shares the bus. `prosumers` larger than the grid
replicates its participants; each replica's load and PV are scaled by a factor drawn from
`seed`, so a large community is not a pile of identical copies.

Meter registers are cumulative whole watt-hours: the register at the end of an interval is
the profile energy up to then, rounded. Rounding never accumulates, so the energy a run mints
differs from the profiles by less than 1 Wh per meter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from gridledger.errors import ScenarioError
from gridledger.grid.network import not_low_voltage

INTERVAL_S = 900
INTERVALS_PER_DAY = 96
PROFILE_YEAR = 2016  # SimBench profiles are one year of 15-minute steps of 2016
DEFAULT_GRID = "1-LV-rural2--0-sw"
# Replicas scale load and PV by a factor in this range (the original participants keep 1.0).
REPLICA_SCALE = (0.8, 1.2)
# No EVM chain has a block before Ethereum's genesis (2015-07-30); a run before it would start
# its chain near time 0, where "never" and "now" look alike.
EARLIEST_START = date(2015, 7, 30)
PROFILE_DAYS = 366  # 2016 is a leap year
# Bounds of a scenario: PV from 1 % to 100 times the grid's own; a community of at most
# MAX_PROSUMERS and MAX_PROSUMER_DAYS (the run holds every interval's profiles in memory,
# about 2.3 kB per prosumer-day, and trades on one chain).
PV_SCALE_RANGE = (0.01, 100.0)
MAX_PROSUMERS = 10_000
MAX_PROSUMER_DAYS = 100_000
SEED_RANGE = (0, 2**32 - 1)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Participant:
    """A household (or a PV producer without load) and its meters' nameplate data."""

    name: str
    bus: int  # grid bus of the connection point (pandapower's bus index)
    load_rated_w: int  # 0: no consumption meter
    pv_rated_w: int  # 0: no generation meter

    @property
    def has_pv(self) -> bool:
        return self.pv_rated_w > 0

    @property
    def has_load(self) -> bool:
        return self.load_rated_w > 0


@dataclass(frozen=True)
class Community:
    """Participants and their meters' cumulative registers for every interval of the run."""

    grid_code: str
    start: date
    interval_starts: IntArray  # unix seconds, (T,)
    participants: tuple[Participant, ...]
    # Energy per interval from the profiles (Wh, unrounded), (P, T).
    consumption_wh: FloatArray
    pv_wh: FloatArray
    # Reactive energy the loads draw per interval (varh), for the grid's power flow, (P, T).
    consumption_varh: FloatArray
    # How many participants the grid itself has; beyond them the community is replicated.
    grid_participants: int = 0

    @property
    def replicated(self) -> bool:
        """Whether participants were replicated beyond the grid's own (then no physical grid fits)."""
        return len(self.participants) > self.grid_participants

    @property
    def intervals(self) -> int:
        return int(self.interval_starts.shape[0])

    def import_register_wh(self) -> IntArray:
        """Consumption meters' cumulative import register at each interval's end, (P, T)."""
        return _registers(self.consumption_wh)

    def export_register_wh(self) -> IntArray:
        """Generation meters' cumulative export register at each interval's end, (P, T)."""
        return _registers(self.pv_wh)


def with_interruptions(community: Community, unsupplied: npt.NDArray[np.bool_]) -> Community:
    """The community with no consumption and no PV where `unsupplied[i, k]`: a household cut
    off from the grid has no power, and its inverter disconnects (anti-islanding)."""
    if unsupplied.shape != community.pv_wh.shape:
        raise ScenarioError(
            f"an interruption mask of shape {unsupplied.shape}, the run's is {community.pv_wh.shape}"
        )
    kept = ~unsupplied
    return replace(
        community,
        consumption_wh=community.consumption_wh * kept,
        pv_wh=community.pv_wh * kept,
        consumption_varh=community.consumption_varh * kept,
    )


def _registers(energy_wh: FloatArray) -> IntArray:
    registers: IntArray = np.rint(np.cumsum(energy_wh, axis=1)).astype(np.int64)
    return registers


def register_deltas(registers: IntArray) -> IntArray:
    """What each interval adds to the register (the energy a reading mints or burns), (P, T)."""
    deltas: IntArray = np.diff(registers, axis=1, prepend=0)
    return deltas


@dataclass(frozen=True)
class _Grid:
    """What a community needs of a SimBench grid: elements, their buses and profiles."""

    load_bus: IntArray
    load_names: list[str]
    load_p_mw: FloatArray  # (steps, loads)
    load_q_mvar: FloatArray  # (steps, loads)
    pv_bus: IntArray
    pv_sn_w: FloatArray
    pv_p_mw: FloatArray  # (steps, pvs)
    step_labels: list[str]


@cache
def _load_grid(code: str) -> _Grid:
    import simbench

    try:
        net = simbench.get_simbench_net(code)
    except Exception as failed:  # simbench raises plain exceptions for unknown codes
        raise ScenarioError(f"SimBench grid {code!r} could not be loaded: {failed}") from failed
    profiles: dict[tuple[str, str], Any] = simbench.get_absolute_values(
        net, profiles_instead_of_study_cases=True
    )
    pvs = net.sgen[net.sgen["type"].astype(str).str.contains("PV")]
    if len(net.load) == 0 or len(pvs) == 0:
        raise ScenarioError(f"SimBench grid {code!r} has no loads or no PV units to trade")
    return _Grid(
        load_bus=net.load["bus"].to_numpy(np.int64),
        load_names=[str(n) for n in net.load["name"]],
        load_p_mw=profiles[("load", "p_mw")][net.load.index].to_numpy(np.float64),
        load_q_mvar=profiles[("load", "q_mvar")][net.load.index].to_numpy(np.float64),
        pv_bus=pvs["bus"].to_numpy(np.int64),
        pv_sn_w=pvs["sn_mva"].to_numpy(np.float64) * 1e6,
        pv_p_mw=profiles[("sgen", "p_mw")][pvs.index].to_numpy(np.float64),
        step_labels=[str(t) for t in net.profiles["load"]["time"]],
    )


def _first_step(grid: _Grid, start: date) -> int:
    """Profile step of local midnight of `start`'s month and day in SimBench's year."""
    try:
        label = date(PROFILE_YEAR, start.month, start.day).strftime("%d.%m.%Y 00:00")
    except ValueError as bad:
        raise ScenarioError(f"no profile day for {start}") from bad
    try:
        return grid.step_labels.index(label)
    except ValueError as missing:
        raise ScenarioError(f"SimBench profiles have no step {label}") from missing


def check_grid_code(code: str) -> None:
    """Refuse a code that is not a SimBench low-voltage grid, before anything is loaded.

    A SimBench code is version-voltage level-grid types-scenario-switches, e.g.
    1-LV-rural1--0-sw. Only an LV grid's generators are all PV; a medium- or high-voltage grid
    (1-MV-rural--0-sw) adds wind, biomass and hydro plants and whole LV grids aggregated into
    one load, which a community of households would silently ignore."""
    fields = code.split("-")
    if len(fields) != 6 or not fields[0].isdigit():
        raise ScenarioError(f"{code!r} is not a SimBench grid code (like {DEFAULT_GRID})")
    if (refused := not_low_voltage(code)) is not None:
        raise ScenarioError(f"{refused}; choose an LV code, like {DEFAULT_GRID}")


def check_period(start: date, days: int) -> None:
    """Refuse a run before EARLIEST_START or past the end of the profile year, before loading."""
    if start < EARLIEST_START:
        raise ScenarioError(f"the start {start} is before {EARLIEST_START}, the first block of any EVM chain")
    if days < 1:
        raise ScenarioError("days must be at least 1")
    first_day = date(PROFILE_YEAR, start.month, start.day).timetuple().tm_yday
    if first_day - 1 + days > PROFILE_DAYS:
        raise ScenarioError(f"{days} days from {start} run past the end of the profile year")


def check_size(prosumers: int, days: int) -> None:
    """Refuse a community larger than MAX_PROSUMERS or MAX_PROSUMER_DAYS."""
    if prosumers < 1:
        raise ScenarioError("prosumers must be at least 1")
    if prosumers > MAX_PROSUMERS:
        raise ScenarioError(f"at most {MAX_PROSUMERS:,} prosumers, got {prosumers:,}")
    if prosumers * days > MAX_PROSUMER_DAYS:
        raise ScenarioError(
            f"{prosumers:,} prosumers for {days:,} days exceed {MAX_PROSUMER_DAYS:,} prosumer-days "
            "(every interval's profiles are held in memory)"
        )


def check_seed(seed: int) -> None:
    low, high = SEED_RANGE
    if not low <= seed <= high:
        raise ScenarioError(f"the seed must be from {low} to {high}, got {seed}")


def check_pv_scale(factor: float) -> None:
    low, high = PV_SCALE_RANGE
    if not (math.isfinite(factor) and low <= factor <= high):
        raise ScenarioError(f"the PV scale must be from {low} to {high:g}, got {factor}")


def build_community(
    grid_code: str = DEFAULT_GRID,
    start: date = date(2025, 6, 21),
    days: int = 1,
    prosumers: int | None = None,
    seed: int = 0,
) -> Community:
    """The community of `grid_code` over `days` from `start` (profiles of the same month and
    day), with `prosumers` participants (default: the grid's own)."""
    check_grid_code(grid_code)
    check_period(start, days)
    check_seed(seed)
    if prosumers is not None:
        check_size(prosumers, days)
    grid = _load_grid(grid_code)
    first = _first_step(grid, start)
    steps = days * INTERVALS_PER_DAY
    if first + steps > len(grid.step_labels):
        raise ScenarioError(f"{days} days from {start} run past the end of the profile year")
    window = slice(first, first + steps)

    # One participant per load; PV goes to the first household at its bus.
    household_of_bus: dict[int, int] = {}
    for index, bus in enumerate(grid.load_bus):
        household_of_bus.setdefault(int(bus), index)
    base_load_w = grid.load_p_mw[window].T * 1e6  # (loads, steps)
    base_load_var = grid.load_q_mvar[window].T * 1e6
    base_pv_w = grid.pv_p_mw[window].T * 1e6
    load_peak_w = grid.load_p_mw.max(axis=0) * 1e6
    names: list[str] = list(grid.load_names)
    buses: list[int] = [int(b) for b in grid.load_bus]
    load_rated = list(load_peak_w)
    pv_rated = [0.0] * len(names)
    load_w = list(base_load_w)
    load_var = list(base_load_var)
    pv_w = [np.zeros(steps)] * len(names)
    for pv, bus in enumerate(grid.pv_bus):
        rated = max(float(grid.pv_sn_w[pv]), float(grid.pv_p_mw[:, pv].max()) * 1e6)
        owner = household_of_bus.get(int(bus))
        if owner is None:  # a PV plant without a household: a producer of its own
            names.append(f"PV producer at bus {bus}")
            buses.append(int(bus))
            load_rated.append(0.0)
            pv_rated.append(rated)
            load_w.append(np.zeros(steps))
            load_var.append(np.zeros(steps))
            pv_w.append(base_pv_w[pv])
        else:
            pv_rated[owner] += rated
            pv_w[owner] = pv_w[owner] + base_pv_w[pv]

    base = len(names)
    count = base if prosumers is None else prosumers
    check_size(count, days)
    rng = np.random.default_rng(seed)
    load_scale = np.ones(count)
    pv_scale = np.ones(count)
    if count > base:
        load_scale[base:] = rng.uniform(*REPLICA_SCALE, count - base)
        pv_scale[base:] = rng.uniform(*REPLICA_SCALE, count - base)
    participants = []
    consumption = np.empty((count, steps))
    reactive = np.empty((count, steps))
    generation = np.empty((count, steps))
    for i in range(count):
        j, replica = i % base, i // base
        suffix = f" #{replica + 1}" if replica else ""
        participants.append(
            Participant(
                names[j] + suffix,
                buses[j],
                _rated_w(load_rated[j] * load_scale[i]),
                _rated_w(pv_rated[j] * pv_scale[i]),
            )
        )
        consumption[i] = load_w[j] * load_scale[i] * (INTERVAL_S / 3600)
        reactive[i] = load_var[j] * load_scale[i] * (INTERVAL_S / 3600)
        generation[i] = pv_w[j] * pv_scale[i] * (INTERVAL_S / 3600)

    t0 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    starts = t0 + INTERVAL_S * np.arange(steps, dtype=np.int64)
    return Community(grid_code, start, starts, tuple(participants), consumption, generation, reactive, base)


def _rated_w(watts: float) -> int:
    # Nameplate rounded up to whole watts: a meter never reports more than its rating allows.
    return int(np.ceil(watts)) if watts > 0 else 0


def with_pv_scaled(community: Community, factor: float) -> Community:
    """The community with every PV system `factor` times as large (energy and rating), as a
    scenario of higher PV penetration on the same grid."""
    check_pv_scale(factor)
    participants = tuple(
        replace(p, pv_rated_w=_rated_w(p.pv_rated_w * factor)) for p in community.participants
    )
    return replace(community, participants=participants, pv_wh=community.pv_wh * factor)
