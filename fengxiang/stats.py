"""The overview numbers (``fengxiang stats`` and the dashboard's 总览): a window against the one before."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from nlp.keywords import RisingWord, rising_words
from store.base import SENTIMENT_BUCKETS, Counts, Store, Window

# Rising words compare the window with at least a week before it: a shorter baseline is mostly
# noise (one busy evening would make every word of the next one look new).
MIN_BASELINE = timedelta(days=7)
RISING_CANDIDATES = 500  # the window's most frequent keywords are the candidates


def change(current: float, previous: float) -> float | None:
    """Relative change; None when there is nothing to compare with (no previous volume)."""
    return None if previous == 0 else round((current - previous) / previous, 4)


def negative_share(counts: Counts) -> float | None:
    labelled = sum(n for label, n in counts.by_sentiment.items() if label in SENTIMENT_BUCKETS[:3])
    return None if labelled == 0 else round(counts.by_sentiment.get("negative", 0) / labelled, 4)


def _compare(current: float | None, previous: float | None, *, points: bool = False) -> dict[str, Any]:
    if current is None or previous is None:
        delta = None
    elif points:  # shares change in percentage points, not in percent of a percentage
        delta = round(current - previous, 4)
    else:
        delta = change(current, previous)
    return {"current": current, "previous": previous, "change": delta}


def overview(store: Store, *, brand: str | None, since: datetime, until: datetime, top: int = 10) -> dict[str, Any]:
    window = Window(since=since, until=until, brand=brand)
    previous_window = Window(since=since - (until - since), until=since, brand=brand)
    now, before = store.counts(window), store.counts(previous_window)
    return {
        "brand": brand,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "previous": {"since": previous_window.since.isoformat(), "until": previous_window.until.isoformat()},
        "volume": _compare(now.total, before.total),
        "negative_share": _compare(negative_share(now), negative_share(before), points=True),
        "engagement": _compare(now.engagement, before.engagement),
        "sentiment": {label: now.by_sentiment.get(label, 0) for label in SENTIMENT_BUCKETS},
        "platforms": dict(sorted(now.by_platform.items(), key=lambda item: -item[1])),
        "daily": [
            {"date": bucket.start.date().isoformat(), "total": bucket.total}
            | {label: bucket.split.get(label, 0) for label in SENTIMENT_BUCKETS}
            for bucket in store.histogram(window, interval="day", split="sentiment")
        ],
        "top_keywords": [{"word": word, "count": n} for word, n in store.top_keywords(window, limit=top)],
        "rising_keywords": [word.to_json_dict() for word in rising_keywords(store, window, limit=top)],
        "top_authors": [
            {
                "id": stats.author.id,
                "name": stats.author.name,
                "platform": stats.platform,
                "followers": stats.author.followers,
                "verified": stats.author.verified,
                "mentions": stats.mentions,
                "engagement": stats.engagement,
            }
            for stats in store.top_authors(window, limit=top)
        ],
    }


def rising_keywords(store: Store, window: Window, *, limit: int = 20) -> list[RisingWord]:
    """Keywords whose share of mentions rose in ``window`` against the stretch just before it
    (as long as the window, and at least :data:`MIN_BASELINE`)."""
    length = max(window.until - window.since, MIN_BASELINE)
    baseline = Window(since=window.since - length, until=window.since, brand=window.brand, platforms=window.platforms)
    current = dict(store.top_keywords(window, limit=RISING_CANDIDATES))
    if not current:
        return []
    before = store.keyword_counts(baseline, current)
    return rising_words(current, before, store.counts(window).total, store.counts(baseline).total, limit=limit)
