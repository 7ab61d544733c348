"""alerts.seasonal: the spike test judges each window against the same hours on earlier days of its kind."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from alerts.seasonal import Assessment, Episode, SpikeParams, assess, episodes, group_episodes
from tests.conftest import SHANGHAI

MONDAY = datetime(2026, 3, 2, 0, 0, tzinfo=SHANGHAI)
# Relative rate by hour of day: quiet nights, a working day, a busy evening (mean 1).
NIGHT_TO_NOON = [0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.1]
NOON_TO_NIGHT = [1.1, 1.0, 1.0, 1.0, 1.1, 1.3, 1.6, 2.0, 2.2, 2.2, 1.6, 0.8]
SHAPE = np.array([*NIGHT_TO_NOON, *NOON_TO_NIGHT]) / np.mean([*NIGHT_TO_NOON, *NOON_TO_NIGHT])


def usual_rate(days: int, mean: float) -> np.ndarray:
    """The hourly rate from MONDAY on: the daily shape, weekends at 70 %."""
    day = np.arange(days * 24) // 24
    weekend = (MONDAY.weekday() + day) % 7 >= 5
    return mean * np.tile(SHAPE, days) * np.where(weekend, 0.7, 1.0)


def mentions(days: int, mean: float, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).poisson(usual_rate(days, mean)).astype(float)


def at(day: int, hour: int) -> int:
    return day * 24 + hour


def judge(counts: np.ndarray, now: int, **kwargs) -> Assessment:
    """assess() with `now` as the current (last) hour."""
    return assess(counts[: now + 1], MONDAY, **kwargs)


@pytest.mark.parametrize("mean", [0.4, 10.0, 200.0])
def test_the_usual_daily_and_weekly_cycle_never_fires(mean):
    assert episodes(np.round(usual_rate(42, mean)), MONDAY) == []


def test_usual_noise_rarely_fires():
    counts = mentions(42, 10.0)
    # about one false episode a month per series at the default sensitivity (see benchmarks/alerts.py)
    assert len(episodes(counts, MONDAY)) <= 1
    verdict = judge(counts, at(40, 20))  # Saturday evening: judged against weekend evenings
    assert not verdict.fired
    assert verdict.expected == pytest.approx(usual_rate(42, 10.0)[at(40, 20)], rel=0.2)


def test_a_five_fold_hour_on_a_busy_brand_fires_on_the_one_hour_window():
    counts = mentions(30, 20.0)
    now = at(29, 20)  # a Tuesday, 20:00: about 40 an hour usually
    counts[now] = round(5 * usual_rate(30, 20.0)[now])
    verdict = judge(counts, now)
    assert verdict.fired
    assert verdict.window_hours == 1
    assert verdict.ratio == pytest.approx(5, rel=0.2)
    assert verdict.score >= SpikeParams().sensitivity
    assert verdict.reason.startswith(f"{counts[now]:g} vs ") and verdict.reason.endswith("spike")


def test_the_same_count_is_a_spike_at_night_and_usual_in_the_evening():
    counts = mentions(30, 10.0)
    night, evening = at(29, 3), at(29, 21)
    counts[night] = counts[evening] = 22
    at_night, in_the_evening = judge(counts, night), judge(counts, evening)
    assert at_night.fired and not in_the_evening.fired
    assert at_night.expected < 10 < in_the_evening.expected
    assert "within normal variation" in in_the_evening.reason or "below" in in_the_evening.reason


def test_a_spike_last_week_does_not_mask_one_this_week():
    counts = mentions(36, 20.0)
    usual = usual_rate(36, 20.0)
    for day in (21, 28):  # the same hour one and two weeks ago blew up too
        counts[at(day, 20)] = round(5 * usual[at(day, 20)])
    now = at(35, 20)
    counts[now] = round(5 * usual[now])
    verdict = judge(counts, now)
    assert verdict.fired
    assert verdict.expected == pytest.approx(usual[now], rel=0.15)  # the old spikes were set aside


def test_a_quiet_brand_is_judged_over_more_hours():
    counts = mentions(30, 0.4)
    verdict = judge(counts, at(29, 14))
    assert verdict.window_hours > 1
    assert verdict.expected >= SpikeParams().min_expected or verdict.window_hours == 24
    assert not verdict.fired


def test_a_quiet_brand_fires_when_a_handful_becomes_dozens():
    counts = mentions(30, 0.4)
    now = at(29, 14)
    counts[now - 2 : now + 1] = [6, 9, 12]
    verdict = judge(counts, now)
    assert verdict.fired
    assert verdict.window_hours > 1


def test_a_partly_elapsed_hour_is_compared_with_that_share_of_the_usual():
    counts = mentions(30, 40.0)
    now = at(29, 20)
    whole, half = judge(counts, now), judge(counts, now, now_fraction=0.5)
    assert (whole.window_hours, half.window_hours) == (1, 1)
    assert half.expected == pytest.approx(whole.expected / 2, rel=0.1)
    # half an hour that already holds a full hour's posts is twice the usual pace
    assert half.ratio == pytest.approx(2 * whole.ratio, rel=0.15)


def test_min_ratio_keeps_a_sure_but_small_rise_quiet():
    counts = mentions(30, 200.0)
    now = at(29, 20)
    counts[now - 2 : now + 1] = np.round(1.6 * usual_rate(30, 200.0)[now - 2 : now + 1])
    verdict = judge(counts, now)
    assert not verdict.fired
    assert "below ×2 the usual" in verdict.reason
    assert judge(counts, now, params=SpikeParams(min_ratio=1.5)).fired


def test_min_count_keeps_a_few_posts_quiet_however_unusual():
    counts = mentions(30, 0.4)
    now = at(29, 14)
    counts[now - 2 : now + 1] = [6, 9, 12]
    assert judge(counts, now).fired
    verdict = judge(counts, now, params=SpikeParams(min_count=40))
    assert not verdict.fired
    assert "fewer than 40 mentions" in verdict.reason


def test_sensitivity_is_the_score_needed():
    counts = mentions(30, 20.0)
    now = at(29, 20)
    counts[now] = round(5 * usual_rate(30, 20.0)[now])
    verdict = judge(counts, now)
    stricter = judge(counts, now, params=SpikeParams(sensitivity=verdict.score + 1))
    assert not stricter.fired and "within normal variation" in stricter.reason


def test_a_first_burst_for_a_never_mentioned_brand_fires():
    counts = np.zeros(30 * 24)
    counts[-1] = 15
    verdict = assess(counts, MONDAY)
    assert verdict.fired
    assert verdict.expected == 0 and verdict.window_hours == 24


def test_history_older_than_history_days_plays_no_part():
    counts = mentions(45, 10.0)
    counts[at(3, 20)] = 400  # 41 days ago
    recent = counts[at(9, 0) :]
    assert assess(counts, MONDAY) == assess(recent, MONDAY + timedelta(days=9))


def test_without_enough_history_nothing_fires():
    counts = mentions(2, 20.0)
    counts[-1] = 500
    verdict = assess(counts, MONDAY)
    assert not verdict.fired
    assert "not enough history" in verdict.reason


def test_episodes_open_at_the_first_firing_hour_and_close_after_quiet_hours():
    fires = [(100, 3.0, 30.0), (101, 5.0, 50.0), (104, 2.5, 25.0), (108, 4.0, 40.0)]
    # 104 follows two quiet hours (same episode); 108 follows three (a new one)
    assert group_episodes(fires, resolve_after_hours=3) == [
        Episode(start=100, end=104, peak_ratio=5.0, peak_observed=50.0),
        Episode(start=108, end=108, peak_ratio=4.0, peak_observed=40.0),
    ]
    assert len(group_episodes(fires, resolve_after_hours=4)) == 1


def test_episodes_replay_finds_each_spike_once():
    counts = mentions(28, 20.0)
    usual = usual_rate(28, 20.0)
    first, second = at(17, 19), at(24, 10)
    for start in (first, second):
        counts[start : start + 4] = np.round(5 * usual[start : start + 4])
    found = episodes(counts, MONDAY)
    assert [episode.start for episode in found] == [first, second]
    assert all(episode.end >= episode.start + 3 and episode.peak_ratio >= 3 for episode in found)


@pytest.mark.parametrize("days", [17, 33])  # 33: longer than the history assess() keeps
def test_episodes_is_assess_replayed_hour_by_hour(days):
    counts = mentions(days, 20.0)
    usual = usual_rate(days, 20.0)
    start = at(days - 2, 18)
    counts[start : start + 3] = np.round(4 * usual[start : start + 3])
    fires = []
    for now in range((days - 3) * 24, counts.size):
        verdict = judge(counts, now)
        if verdict.fired:
            fires.append((now, verdict.ratio, verdict.observed))
    assert fires
    assert episodes(counts, MONDAY, warmup_days=days - 3) == group_episodes(fires, resolve_after_hours=3)


@pytest.mark.parametrize(
    ("counts", "first_hour", "fraction", "problem"),
    [
        ([1.0, -1.0], MONDAY, 1.0, "non-negative"),
        ([1.0, float("nan")], MONDAY, 1.0, "finite"),
        ([], MONDAY, 1.0, "non-empty"),
        ([1.0], MONDAY.replace(tzinfo=None), 1.0, "timezone-aware"),
        ([1.0], MONDAY, 0.0, "now_fraction"),
    ],
)
def test_bad_input_is_named(counts, first_hour, fraction, problem):
    with pytest.raises(ValueError, match=problem):
        assess(counts, first_hour, now_fraction=fraction)
