"""The dashboard's data layer: every number a page shows comes from one function here.

Plain functions over a :class:`~store.base.Store` that return plain data, so they are tested without
Streamlit (tests/test_dashboard_data.py); ``dashboard/cached.py`` puts Streamlit's cache in front
of them. Pages only lay the answers out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from fengxiang.config import Config
from fengxiang.query import Query
from fengxiang.stats import change, negative_share, rising_keywords
from kol.report import KolReport, build_report
from nlp.keywords import RisingWord
from nlp.simhash import hamming
from store.base import (
    SENTIMENT_BUCKETS,
    Incident,
    IncidentEvent,
    Interval,
    MentionFilter,
    SortOrder,
    SourceHealth,
    Store,
    Window,
)
from store.model import Mention

# Windows up to this long are drawn by the hour; longer ones by the day.
HOURLY_UP_TO = timedelta(days=3)
# Posts within this many SimHash bits of each other are folded into one row (the analyser's own
# near-duplicate distance: reposted templates and syndicated copies).
FOLD_DISTANCE = 3
HEALTH_RUNS = 20  # runs of history per source


@dataclass(frozen=True)
class Selection:
    """What every page shows: one brand (None: the whole watchlist) over ``[since, until)``."""

    brand: str | None
    since: datetime
    until: datetime

    @property
    def window(self) -> Window:
        return Window(since=self.since, until=self.until, brand=self.brand)

    @property
    def previous(self) -> Selection:
        """The stretch just before, as long as this one: what every change is measured against."""
        return replace(self, since=self.since - (self.until - self.since), until=self.since)


@dataclass(frozen=True)
class Metric:
    current: float | None
    previous: float | None
    change: float | None  # relative, or in points for shares (see ``points``)
    points: bool = False


def _metric(current: float | None, previous: float | None, *, points: bool = False) -> Metric:
    if current is None or previous is None:
        return Metric(current, previous, None, points)
    delta = round(current - previous, 4) if points else change(current, previous)
    return Metric(current, previous, delta, points)


@dataclass(frozen=True)
class TrendPoint:
    start: datetime
    counts: dict[str, int]  # by sentiment bucket


@dataclass(frozen=True)
class Overview:
    volume: Metric
    negative_share: Metric
    voices: Metric  # distinct authors
    reach: Metric  # their followers, summed
    interval: str  # hour | day
    trend: list[TrendPoint]
    incidents: list[Incident]  # opened in the window: marked on the trend
    platforms: dict[str, int]  # every enabled source (0 when quiet), then any other platform stored
    share_of_voice: dict[str, int]  # brand (and its competitors) → mentions in the window


def overview(
    store: Store, selection: Selection, share_of_voice_brands: Sequence[str], sources: Sequence[str] = ()
) -> Overview:
    now, before = store.counts(selection.window), store.counts(selection.previous.window)
    audience, earlier = store.audience(selection.window), store.audience(selection.previous.window)
    interval: Interval = "hour" if selection.until - selection.since <= HOURLY_UP_TO else "day"
    buckets = store.histogram(selection.window, interval=interval, split="sentiment")
    opened = [
        incident
        for incident in store.incidents(brand=selection.brand, since=selection.since, limit=500)
        if selection.since <= incident.opened_at < selection.until
    ]
    return Overview(
        volume=_metric(now.total, before.total),
        negative_share=_metric(negative_share(now), negative_share(before), points=True),
        voices=_metric(audience.voices, earlier.voices),
        reach=_metric(audience.reach, earlier.reach),
        interval=interval,
        trend=[
            TrendPoint(bucket.start, {label: bucket.split.get(label, 0) for label in SENTIMENT_BUCKETS})
            for bucket in buckets
        ],
        incidents=opened,
        # A monitored platform with no mention is news too ("nothing on 小红书"), so it shows as 0.
        platforms=dict(sorted({**dict.fromkeys(sources, 0), **now.by_platform}.items(), key=lambda item: -item[1])),
        share_of_voice={
            name: store.counts(Window(since=selection.since, until=selection.until, brand=name)).total
            for name in share_of_voice_brands
        },
    )


def share_of_voice_brands(config: Config, brand: str | None) -> list[str]:
    """A brand against its configured competitors; with no brand chosen, every watched brand."""
    if brand is None:
        return [entry.name for entry in config.watchlist]
    entry = config.entry_named(brand)
    return [brand, *(entry.competitors if entry else [])]


# ---------------------------------------------------------------------------------------------
# 提及 Mentions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MentionQuery:
    sentiments: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    text: Query | None = None
    sort: SortOrder = "time"
    limit: int = 200  # mentions read; near-duplicates among them fold into fewer rows


@dataclass
class FoldedMention:
    """One row of the list: a mention and the near-duplicates of it among the mentions read."""

    mention: Mention
    copies: list[str] = field(default_factory=list)  # ids of the folded near-duplicates

    @property
    def size(self) -> int:
        return 1 + len(self.copies)


@dataclass(frozen=True)
class MentionList:
    rows: list[FoldedMention]
    read: int  # mentions read before folding
    more: bool  # the store has more beyond ``limit``


def mentions(store: Store, selection: Selection, query: MentionQuery) -> MentionList:
    where = MentionFilter(
        brand=selection.brand,
        since=selection.since,
        until=selection.until,
        sentiments=query.sentiments,
        platforms=query.platforms,
        text=query.text,
    )
    page = store.search(where, sort=query.sort, limit=query.limit)
    return MentionList(fold_near_duplicates(page.items), len(page.items), page.next_cursor is not None)


def fold_near_duplicates(items: Sequence[Mention], distance: int = FOLD_DISTANCE) -> list[FoldedMention]:
    """Keep the list's order; a mention within ``distance`` bits of an earlier row joins that row.

    A page holds a few hundred mentions, so comparing each with the rows kept so far is cheap."""
    rows: list[FoldedMention] = []
    fingerprints: list[int] = []
    for mention in items:
        fingerprint = int(mention.simhash, 16) if mention.simhash else None
        if fingerprint is not None:
            for row, other in zip(rows, fingerprints, strict=True):
                if other >= 0 and hamming(fingerprint, other) <= distance:
                    row.copies.append(mention.id)
                    break
            else:
                rows.append(FoldedMention(mention))
                fingerprints.append(fingerprint)
            continue
        rows.append(FoldedMention(mention))
        fingerprints.append(-1)  # no fingerprint: never folds
    return rows


# ---------------------------------------------------------------------------------------------
# 热词 Hot words
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HotWords:
    top: list[tuple[str, int]]
    rising: list[RisingWord]


def hot_words(store: Store, selection: Selection, *, limit: int = 100) -> HotWords:
    return HotWords(
        store.top_keywords(selection.window, limit=limit), rising_keywords(store, selection.window, limit=20)
    )


# ---------------------------------------------------------------------------------------------
# KOL
# ---------------------------------------------------------------------------------------------


def kol_report(store: Store, config: Config, selection: Selection) -> KolReport:
    entry = config.entry_named(selection.brand) if selection.brand else None
    official = entry.official_accounts if entry else []
    return build_report(store, selection.brand, selection.since, selection.until, config.kol, official)


# ---------------------------------------------------------------------------------------------
# 预警 Alerts
# ---------------------------------------------------------------------------------------------


def incidents(store: Store, selection: Selection, *, status: str | None = None) -> list[Incident]:
    """Incidents opened in the window or still open, newest first."""
    found = store.incidents(status=status, brand=selection.brand, since=selection.since, limit=500)
    return [incident for incident in found if incident.opened_at < selection.until]


@dataclass(frozen=True)
class IncidentDetail:
    incident: Incident
    events: list[IncidentEvent]
    posts: list[Mention]  # the evidence still in the store, in the incident's order


def incident_detail(store: Store, incident_pk: int, *, posts: int = 20) -> IncidentDetail | None:
    incident = store.incident(incident_pk)
    if incident is None:
        return None
    evidence = [store.get(mention_id) for mention_id in incident.evidence[:posts]]
    return IncidentDetail(incident, store.incident_events(incident_pk), [m for m in evidence if m is not None])


# ---------------------------------------------------------------------------------------------
# 数据源 Sources
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceStatus:
    source: str
    enabled: bool
    latest: SourceHealth | None  # None: never ran
    last_success: datetime | None  # the newest run that was not a failure
    last_error: SourceHealth | None  # the newest run with an error
    runs: list[SourceHealth]  # newest first


def sources(store: Store, config: Config) -> list[SourceStatus]:
    """Every configured source and every source with runs on record, configured ones first."""
    latest = {health.source: health for health in store.latest_health()}
    names = [*config.sources, *sorted(set(latest) - set(config.sources))]
    statuses = []
    for name in names:
        runs = store.health_history(name, limit=HEALTH_RUNS)
        source = config.sources.get(name)
        statuses.append(
            SourceStatus(
                source=name,
                enabled=bool(source and source.enabled),
                latest=latest.get(name),
                last_success=next((run.finished_at for run in runs if run.status != "failed"), None),
                last_error=next((run for run in runs if run.error), None),
                runs=runs,
            )
        )
    return statuses
