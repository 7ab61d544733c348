"""Store contract: ``audience`` — distinct authors of a window and their followers, exactly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from store.base import Window
from tests.conftest import SHANGHAI, make_mention

START = datetime(2026, 11, 10, 0, 0, tzinfo=SHANGHAI)


def _by(author: str, followers: int, at: datetime, **fields: Any) -> Any:
    return make_mention(
        "启航汽车的新车不错",
        created_at=at,
        author={"id": f"weibo:{author}", "name": author, "followers": followers},
        brands=["启航汽车"],
        **fields,
    )


def test_distinct_authors_and_their_followers(store: Any) -> None:
    store.upsert(
        [
            _by("a", 100, START + timedelta(hours=1)),
            _by("a", 100, START + timedelta(days=1, hours=3)),  # the same author again
            _by("b", 2_000, START + timedelta(days=2, minutes=5)),
            _by("c", 30_000, START + timedelta(days=5)),  # outside the window below
        ]
    )
    audience = store.audience(Window(START, START + timedelta(days=3), brand="启航汽车"))
    assert (audience.voices, audience.reach) == (2, 2_100)
    assert store.audience(Window(START, START + timedelta(days=6))).voices == 3


def test_partial_days_at_both_ends_are_exact(store: Any) -> None:
    # The window starts and ends mid-day: only the mentions inside count, not their whole days.
    store.upsert(
        [
            _by("early", 10, START + timedelta(hours=2)),
            _by("inside", 20, START + timedelta(hours=9)),
            _by("inside2", 40, START + timedelta(days=1, hours=8)),
            _by("late", 80, START + timedelta(days=1, hours=20)),
        ]
    )
    window = Window(START + timedelta(hours=6), START + timedelta(days=1, hours=12), brand="启航汽车")
    audience = store.audience(window)
    assert (audience.voices, audience.reach) == (2, 60)


def test_platforms_narrow_the_audience(store: Any) -> None:
    store.upsert([_by("w", 5, START + timedelta(hours=1)), _by("x", 7, START + timedelta(hours=2), id="news:1")])
    window = Window(START, START + timedelta(days=1), platforms=("news",))
    assert store.audience(window).voices == 1


def test_an_empty_window_has_no_voices(store: Any) -> None:
    audience = store.audience(Window(START, START + timedelta(days=1)))
    assert (audience.voices, audience.reach) == (0, 0)
