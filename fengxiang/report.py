"""The daily report (舆情日报): one day's numbers, incidents, posts and accounts, computed from the store.

Pure data: :func:`build_report` reads only aggregates and bounded lists (never the day's mentions one
by one), so it stays fast on a store of millions; ``report_render`` turns the result into Markdown,
HTML and the group robots' summary. The headline numbers come from :func:`fengxiang.stats.overview`
over ``[day 00:00, day+1 00:00)`` in the configured time zone — the very numbers ``fengxiang stats
--since DAY --until DAY+1`` prints — each compared with the day before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from alerts.message import severity_rank
from dashboard.data import fold_near_duplicates
from fengxiang.config import Config
from fengxiang.stats import change, overview
from kol.report import AuthorScore
from kol.report import build_report as build_kol_report
from kol.segments import KOL, MEDIA
from store.base import SENTIMENT_BUCKETS, Incident, Interval, MentionFilter, Store, Window
from store.model import Mention, author_key

TREND_DAYS = 7  # the daily trend: the report's day and the six before it
INCIDENT_LIMIT = 500  # incidents read for two days: far more than any team could act on
EVIDENCE_READ = 200  # evidence posts read per incident to find its first source and its spread
NEGATIVE_READ = 5  # negative mentions read per one shown: room to fold reposted copies away
REPRESENTATIVE_POSTS = 3  # per incident


@dataclass(frozen=True)
class Metric:
    current: float | None
    previous: float | None
    change: float | None  # relative, or in share points for shares (as `fengxiang stats`)


@dataclass(frozen=True)
class Headline:
    volume: Metric
    negative_share: Metric
    engagement: Metric
    negatives: Metric
    incidents: Metric  # incidents opened on the day, against the day before
    sentiment: dict[str, int]  # negative | neutral | positive | unlabeled → mentions
    platforms: dict[str, int]  # biggest first


@dataclass(frozen=True)
class TrendPoint:
    start: datetime
    counts: dict[str, int]  # by sentiment bucket

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Post:
    """A mention as the report shows it. ``text``, ``author`` and ``url`` are untrusted."""

    id: str
    platform: str
    text: str
    url: str | None
    author: str | None
    followers: int | None
    created_at: datetime
    sentiment: str | None
    engagement: int
    reposts: int
    copies: int = 1  # near-duplicates folded into this post among those read

    @classmethod
    def of(cls, mention: Mention, copies: int = 1) -> Post:
        author = mention.author
        return cls(
            id=mention.id,
            platform=mention.platform,
            text=mention.text,
            url=mention.url,
            author=(author.name or author.id) if author else None,
            followers=author.followers if author else None,
            created_at=mention.created_at,
            sentiment=mention.sentiment_label,
            engagement=mention.engagement,
            reposts=mention.metrics.reposts,
            copies=copies,
        )


@dataclass(frozen=True)
class IncidentSummary:
    pk: int | None
    title: str
    brand: str | None
    rule: str
    severity: str
    status: str
    opened_at: datetime
    resolved_at: datetime | None
    peak_volume: float
    facts: list[tuple[str, str]]  # the incident's newest facts, as its alert said them
    first_source: Post | None  # the earliest evidence post still in the store
    platforms: dict[str, int]  # evidence posts per platform
    authors: int  # distinct accounts among the evidence
    reposts: int  # reposts of the evidence posts, summed
    sentiment: dict[str, int]
    evidence_read: int  # evidence posts the spread was counted over
    posts: list[Post]  # the most engaging evidence posts


@dataclass(frozen=True)
class Account:
    name: str  # untrusted
    platform: str
    segment: str  # KOL | 媒体
    followers: int | None
    score: float
    mentions: int
    stance: str
    verified_reason: str | None  # untrusted


@dataclass(frozen=True)
class Word:
    word: str  # untrusted: keywords are taken from posts
    count: int
    ratio: float | None = None  # rising words: their rate against the baseline


@dataclass(frozen=True)
class ShareOfVoice:
    brand: str
    counts: dict[str, int]  # the brand first, then its competitors → mentions on the day

    def share(self, name: str) -> float | None:
        total = sum(self.counts.values())
        return None if total == 0 else self.counts[name] / total


@dataclass(frozen=True)
class DailyReport:
    day: date
    since: datetime
    until: datetime
    generated_at: datetime
    headline: Headline
    hourly: list[TrendPoint]  # the day, by hour
    daily: list[TrendPoint]  # the last TREND_DAYS days, by day
    incidents: list[IncidentSummary]  # open at some time during the day, most severe first
    negatives: list[Post]  # the day's negative mentions that most need an answer
    kols: list[Account]
    media: list[Account]
    hot_words: list[Word]
    rising_words: list[Word]
    share_of_voice: list[ShareOfVoice]  # one per watchlist entry with competitors

    @property
    def empty(self) -> bool:
        return self.headline.volume.current == 0

    @property
    def worst_severity(self) -> str:
        """The most severe incident of the day, or low when there was none."""
        return max((incident.severity for incident in self.incidents), key=severity_rank, default="low")


def day_window(day: date, config: Config) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight, as ``fengxiang stats --since DAY --until DAY+1`` reads them."""
    zone = config.tzinfo
    return datetime.combine(day, time(), zone), datetime.combine(day + timedelta(days=1), time(), zone)


def build_report(store: Store, config: Config, day: date, *, now: datetime | None = None) -> DailyReport:
    since, until = day_window(day, config)
    items = config.report.items
    numbers = overview(store, brand=None, since=since, until=until, top=items)
    incidents = _incidents_around(store, since, until)
    previous_since = since - (until - since)
    opened = [incident for incident in incidents if since <= incident.opened_at < until]
    opened_before = [incident for incident in incidents if previous_since <= incident.opened_at < since]
    previous = store.counts(Window(since=previous_since, until=since))
    listed = sorted((i for i in incidents if _overlaps(i, since, until)), key=_importance)[:items]
    kols, media = _accounts(store, config, since, until, items)
    return DailyReport(
        day=day,
        since=since,
        until=until,
        generated_at=now or datetime.now(config.tzinfo),
        headline=Headline(
            volume=_metric(numbers["volume"]),
            negative_share=_metric(numbers["negative_share"]),
            engagement=_metric(numbers["engagement"]),
            negatives=_counted(numbers["sentiment"]["negative"], previous.by_sentiment.get("negative", 0)),
            incidents=_counted(len(opened), len(opened_before)),
            sentiment=numbers["sentiment"],
            platforms=numbers["platforms"],
        ),
        hourly=_trend(store, Window(since=since, until=until), "hour"),
        daily=_trend(store, Window(since=since - timedelta(days=TREND_DAYS - 1), until=until), "day"),
        incidents=[_summary(store, incident) for incident in listed],
        negatives=_negatives(store, since, until, items),
        kols=kols,
        media=media,
        hot_words=[Word(item["word"], item["count"]) for item in numbers["top_keywords"]],
        rising_words=[Word(item["word"], item["count"], item["ratio"]) for item in numbers["rising_keywords"]],
        share_of_voice=_share_of_voice(store, config, since, until),
    )


def _metric(numbers: dict[str, Any]) -> Metric:
    return Metric(numbers["current"], numbers["previous"], numbers["change"])


def _counted(current: int, previous: int) -> Metric:
    return Metric(current, previous, change(current, previous))


def _trend(store: Store, window: Window, interval: Interval) -> list[TrendPoint]:
    return [
        TrendPoint(bucket.start, {label: bucket.split.get(label, 0) for label in SENTIMENT_BUCKETS})
        for bucket in store.histogram(window, interval=interval, split="sentiment")
    ]


# -- incidents ---------------------------------------------------------------------------------


def _incidents_around(store: Store, since: datetime, until: datetime) -> list[Incident]:
    """Incidents open at some time during the day or the day before (one read serves both), newest first."""
    day_before = since - (until - since)
    found = store.incidents(since=day_before, limit=INCIDENT_LIMIT)
    return [incident for incident in found if incident.opened_at < until]


def _overlaps(incident: Incident, since: datetime, until: datetime) -> bool:
    return incident.opened_at < until and (incident.resolved_at is None or incident.resolved_at >= since)


def _importance(incident: Incident) -> tuple[int, int, float]:
    """Most severe first, then the one behind the most posts (volumes differ in unit from rule to rule)."""
    return (-severity_rank(incident.severity), -len(incident.evidence), -incident.opened_at.timestamp())


def _summary(store: Store, incident: Incident) -> IncidentSummary:
    evidence = [m for m in (store.get(mention_id) for mention_id in incident.evidence[:EVIDENCE_READ]) if m]
    first = min(evidence, key=lambda mention: mention.created_at, default=None)
    authors = {author_key(mention) for mention in evidence} - {None}
    return IncidentSummary(
        pk=incident.pk,
        title=incident.title,
        brand=incident.brand,
        rule=incident.rule,
        severity=incident.severity,
        status=incident.status,
        opened_at=incident.opened_at,
        resolved_at=incident.resolved_at,
        peak_volume=incident.peak_volume,
        facts=list(incident.message.facts),
        first_source=Post.of(first) if first else None,
        platforms=dict(Counter(mention.platform for mention in evidence).most_common()),
        authors=len(authors),
        reposts=sum(mention.metrics.reposts for mention in evidence),
        sentiment=dict(Counter(mention.sentiment_label or "unlabeled" for mention in evidence)),
        evidence_read=len(evidence),
        posts=_distinct(_by_engagement(evidence), REPRESENTATIVE_POSTS),
    )


# -- posts and accounts -------------------------------------------------------------------------


def _negatives(store: Store, since: datetime, until: datetime, limit: int) -> list[Post]:
    """The day's most engaging negative mentions (bigger audience first on a tie), one per text."""
    where = MentionFilter(since=since, until=until, sentiments=("negative",))
    page = store.search(where, sort="engagement", limit=limit * NEGATIVE_READ)
    return _distinct(_by_engagement(page.items), limit)


def _by_engagement(mentions: Sequence[Mention]) -> list[Mention]:
    return sorted(mentions, key=lambda m: (-m.engagement, -((m.author.followers or 0) if m.author else 0), m.id))


def _distinct(mentions: Sequence[Mention], limit: int) -> list[Post]:
    """The first ``limit`` posts with their near-duplicates folded in: a copy-paste wave shows once."""
    return [Post.of(row.mention, copies=row.size) for row in fold_near_duplicates(mentions)[:limit]]


def _accounts(store: Store, config: Config, since: datetime, until: datetime, limit: int) -> tuple[list[Account], ...]:
    """The day's leading KOL and media accounts across every watched brand.

    Scored over the day itself, not over ``kol.window``: scoring the 30-day window reads every post
    of a month (about 30 s for a 1M-mention store, see the README's KOL benchmark), while the report
    asks who drove *this* day's conversation. One strong post is enough on a single day, so the
    day's candidates need only one mention (``kol.min_posts`` is meant for a month)."""
    settings = config.kol.model_copy(update={"min_posts": 1})
    official = [account for entry in config.watchlist for account in entry.official_accounts]
    authors = build_kol_report(store, None, since, until, settings, official).authors
    return tuple([_account(a) for a in authors if a.segment == segment][:limit] for segment in (KOL, MEDIA))


def _account(author: AuthorScore) -> Account:
    profile = author.profile
    return Account(
        name=author.name,
        platform=author.platform,
        segment=author.segment,
        followers=profile.followers if profile else None,
        score=author.score,
        mentions=author.mentions,
        stance=author.stance,
        verified_reason=profile.verified_reason if profile else None,
    )


def _share_of_voice(store: Store, config: Config, since: datetime, until: datetime) -> list[ShareOfVoice]:
    def volume(name: str) -> int:
        return store.counts(Window(since=since, until=until, brand=name)).total

    return [
        ShareOfVoice(entry.name, {name: volume(name) for name in (entry.name, *entry.competitors)})
        for entry in config.watchlist
        if entry.competitors
    ]
