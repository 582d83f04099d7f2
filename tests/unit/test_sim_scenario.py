"""The community built from SimBench: participants, meters, registers, replication, strategy."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from gridledger.errors import ScenarioError
from gridledger.sim.scenario import REPLICA_SCALE, build_community, register_deltas
from gridledger.sim.strategy import Tariffs, bid_limits, own_use_split

SMALL_GRID = "1-LV-rural1--0-sw"  # 13 households, 4 of them with PV


def test_build_community_one_participant_per_load_pv_with_the_household_at_its_bus() -> None:
    import simbench

    net = simbench.get_simbench_net(SMALL_GRID)
    community = build_community(SMALL_GRID)
    assert len(community.participants) == len(net.load)
    prosumers = [p for p in community.participants if p.has_pv]
    assert sorted(p.bus for p in prosumers) == sorted(int(b) for b in net.sgen.bus)
    assert community.intervals == 96
    assert community.interval_starts[0] == int(np.datetime64("2025-06-21T00:00:00", "s").astype(int))
    assert np.all(np.diff(community.interval_starts) == 900)


def test_build_community_energy_is_the_simbench_profile_of_that_day() -> None:
    import simbench

    net = simbench.get_simbench_net(SMALL_GRID)
    profiles = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    first = list(net.profiles["load"]["time"]).index("21.06.2016 00:00")
    expected_pv_wh = profiles[("sgen", "p_mw")].iloc[first : first + 96].to_numpy().sum() * 1e6 / 4
    expected_load_wh = profiles[("load", "p_mw")].iloc[first : first + 96].to_numpy().sum() * 1e6 / 4
    community = build_community(SMALL_GRID)
    assert community.pv_wh.sum() == pytest.approx(expected_pv_wh)
    assert community.consumption_wh.sum() == pytest.approx(expected_load_wh)


def test_registers_are_cumulative_and_round_without_drift() -> None:
    community = build_community(SMALL_GRID, days=2)
    exports = community.export_register_wh()
    assert np.all(register_deltas(exports) >= 0)
    assert np.all(np.abs(exports[:, -1] - community.pv_wh.sum(axis=1)) <= 0.5)
    imports = community.import_register_wh()
    assert np.all(np.abs(imports[:, -1] - community.consumption_wh.sum(axis=1)) <= 0.5)


def test_meters_never_exceed_their_rated_power() -> None:
    community = build_community(SMALL_GRID, prosumers=40, seed=3)
    for i, p in enumerate(community.participants):
        assert community.pv_wh[i].max(initial=0) <= p.pv_rated_w / 4
        assert community.consumption_wh[i].max() <= p.load_rated_w / 4


def test_build_community_replicates_with_seeded_scaling() -> None:
    base = build_community(SMALL_GRID)
    big = build_community(SMALL_GRID, prosumers=30, seed=7)
    assert len(big.participants) == 30
    assert big.participants[13].name == base.participants[0].name + " #2"
    np.testing.assert_array_equal(big.consumption_wh[:13], base.consumption_wh)
    ratio = big.consumption_wh[13:26].sum(axis=1) / base.consumption_wh.sum(axis=1)
    assert np.all((ratio >= REPLICA_SCALE[0]) & (ratio <= REPLICA_SCALE[1]))
    assert len(set(np.round(ratio, 6))) > 1
    again = build_community(SMALL_GRID, prosumers=30, seed=7)
    np.testing.assert_array_equal(again.pv_wh, big.pv_wh)
    other = build_community(SMALL_GRID, prosumers=30, seed=8)
    assert not np.array_equal(other.consumption_wh, big.consumption_wh)


def test_build_community_fewer_prosumers_than_the_grid_takes_the_first() -> None:
    community = build_community(SMALL_GRID, prosumers=5)
    assert [p.name for p in community.participants] == [f"LV1.101 Load {i}" for i in range(1, 6)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid_code": "no-such-grid"}, "not a SimBench grid code"),
        ({"grid_code": "1-LV-nowhere--0-sw"}, "could not be loaded"),
        ({"grid_code": "1-MV-rural--0-sw"}, "not a low-voltage grid"),
        ({"grid_code": SMALL_GRID, "start": date(1960, 6, 21)}, "before 2015-07-30"),
        ({"grid_code": SMALL_GRID, "seed": -1}, "seed must be from 0"),
        ({"grid_code": SMALL_GRID, "prosumers": 10_001}, "at most 10,000 prosumers"),
        ({"grid_code": SMALL_GRID, "prosumers": 1_000, "days": 101}, "prosumer-days"),
        ({"grid_code": SMALL_GRID, "days": 0}, "days must be at least 1"),
        ({"grid_code": SMALL_GRID, "prosumers": 0}, "prosumers must be at least 1"),
        ({"grid_code": SMALL_GRID, "start": date(2025, 12, 31), "days": 2}, "past the end"),
    ],
)
def test_build_community_rejects_bad_scenarios(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        build_community(**kwargs)  # type: ignore[arg-type]


def test_bid_limits_lie_between_feed_in_and_retail_less_fee_and_follow_the_seed() -> None:
    tariffs = Tariffs()
    limits = bid_limits(tariffs, seed=1, interval_index=40, count=10_000)
    assert limits.min() >= tariffs.feed_in_per_kwh + 1
    assert limits.max() <= tariffs.retail_per_kwh - tariffs.grid_fee_per_kwh
    np.testing.assert_array_equal(limits, bid_limits(tariffs, seed=1, interval_index=40, count=10_000))
    assert not np.array_equal(limits, bid_limits(tariffs, seed=2, interval_index=40, count=10_000))


def test_tariffs_reject_a_feed_in_tariff_above_retail_less_fee() -> None:
    with pytest.raises(ScenarioError, match="feed-in tariff"):
        Tariffs(feed_in_per_kwh=340_000, retail_per_kwh=350_000, grid_fee_per_kwh=20_000)


def test_own_use_split_keeps_own_pv_for_own_consumption() -> None:
    surplus, uncovered = own_use_split(np.array([500, 0, 300]), np.array([200, 400, 300]))
    assert surplus.tolist() == [300, 0, 0]
    assert uncovered.tolist() == [0, 400, 0]


def test_with_pv_scaled_scales_energy_and_rating_and_rejects_out_of_range() -> None:
    from gridledger.sim.scenario import with_pv_scaled

    base = build_community(SMALL_GRID)
    doubled = with_pv_scaled(base, 2.0)
    np.testing.assert_allclose(doubled.pv_wh, base.pv_wh * 2)
    assert [p.pv_rated_w for p in doubled.participants] == [2 * p.pv_rated_w for p in base.participants]
    np.testing.assert_array_equal(doubled.consumption_wh, base.consumption_wh)
    for factor in (0.0, -1.0, float("nan"), float("inf"), 1e6):
        with pytest.raises(ScenarioError, match="PV scale must be from"):
            with_pv_scaled(base, factor)
