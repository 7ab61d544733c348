"""fengxiang.stats.rising_keywords: the words whose share rose in a window against the stretch before it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from fengxiang.stats import MIN_BASELINE, overview, rising_keywords
from store.base import Window
from tests.conftest import SHANGHAI, make_mention

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=SHANGHAI)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def mentions(count: int, when: datetime, keywords: list[str], brand: str = "启航汽车") -> list:
    return [
        make_mention(
            f"{brand} {' '.join(keywords)}", created_at=when + timedelta(minutes=i), keywords=keywords, brands=[brand]
        )
        for i in range(count)
    ]


def plant(store) -> None:
    """A steady stretch of 续航/价格 posts, a few 刹车失灵 posts long ago, and a 刹车失灵 burst in the last day."""
    posts = []
    for day in range(1, 9):  # 10 a day, each day 3 hours before the same hour
        posts += mentions(10, NOW - day * DAY - 3 * HOUR, ["续航", "价格"])
    posts += mentions(1, NOW - 5 * DAY, ["刹车失灵"])
    posts += mentions(5, NOW - 7.5 * DAY, ["刹车失灵"])  # inside the 7 days before the last day
    posts += mentions(50, NOW - 8.5 * DAY, ["刹车失灵"])  # before them: outside that baseline
    posts += mentions(100, NOW - 18 * DAY, ["续航"]) + mentions(2, NOW - 18 * DAY, ["刹车失灵"])
    # the last day: the burst, a little of the usual, and a new product of another brand
    posts += mentions(30, NOW - 20 * HOUR, ["刹车失灵"])
    posts += mentions(3, NOW - 2 * HOUR, ["续航"])
    posts += mentions(4, NOW - 3 * HOUR, ["新款"], brand="星河手机")
    store.upsert(posts)


def test_a_word_that_bursts_in_the_last_day_ranks_first(store):
    plant(store)
    risen = rising_keywords(store, Window(since=NOW - DAY, until=NOW))
    words = [item.word for item in risen]
    assert words == ["刹车失灵", "新款"]  # 续航 and 价格 lost share
    first = risen[0]
    # the baseline is the 7 days before the window (a 1-day baseline would hold none, a longer one 56)
    assert (first.count, first.baseline_count) == (30, 6)
    # shares of all mentions: 30 of the window's 37 against (6 + ½) of the baseline's 76 (+ 1)
    assert first.ratio == pytest.approx((30 / 37) / (6.5 / 77))
    assert first.score > risen[1].score


def test_the_baseline_is_at_least_seven_days_or_as_long_as_the_window(store):
    assert timedelta(days=7) == MIN_BASELINE
    plant(store)
    # a 1-hour window is compared with the 7 days before it, not the hour before
    hour = rising_keywords(store, Window(since=NOW - 20 * HOUR, until=NOW - 19 * HOUR))
    assert [(item.word, item.count, item.baseline_count) for item in hour] == [("刹车失灵", 30, 6)]
    # a 10-day window is compared with the 10 days before it: it reaches the 2 posts of 18 days ago
    long = {item.word: item for item in rising_keywords(store, Window(since=NOW - 10 * DAY, until=NOW))}
    assert (long["刹车失灵"].count, long["刹车失灵"].baseline_count) == (86, 2)
    assert "续航" not in long  # 83 of 173 now against 100 of 102 before


def test_rising_keywords_follow_the_brand_and_the_limit(store):
    plant(store)
    cars = rising_keywords(store, Window(since=NOW - DAY, until=NOW, brand="启航汽车"), limit=1)
    assert [(item.word, item.count) for item in cars] == [("刹车失灵", 30)]
    assert rising_keywords(store, Window(since=NOW - 40 * DAY, until=NOW - 39 * DAY)) == []  # nothing posted


def test_the_overview_reports_rising_keywords(store):
    plant(store)
    numbers = overview(store, brand=None, since=NOW - DAY, until=NOW)
    rising = numbers["rising_keywords"]
    assert [item["word"] for item in rising] == ["刹车失灵", "新款"]
    assert rising[0]["count"] == 30 and rising[0]["baseline_count"] == 6
    assert set(rising[0]) == {"word", "count", "baseline_count", "ratio", "score"}
