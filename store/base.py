"""The Store interface: what every backend (SQLite, Elasticsearch) offers the rest of fengxiang.

Times going in are timezone-aware datetimes; windows are half-open ``[since, until)``.
Bucketed results are in the store's time zone (Asia/Shanghai by default) and zero-filled.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from store.model import Author, Mention

if TYPE_CHECKING:
    from alerts.message import AlertMessage
    from fengxiang.query import Query

SortOrder = Literal["time", "engagement"]
Interval = Literal["hour", "day"]
Split = Literal["sentiment", "platform"]
UNLABELED = "unlabeled"  # the sentiment bucket of mentions not analysed yet
SENTIMENT_BUCKETS = ("negative", "neutral", "positive", UNLABELED)
OutboxStatus = Literal["pending", "sending", "sent", "failed"]
OUTBOX_STATUSES: tuple[OutboxStatus, ...] = ("pending", "sending", "sent", "failed")


class StoreError(Exception):
    """A store problem a user can act on; the message names the cause and the fix."""


@dataclass(frozen=True)
class Window:
    """Which mentions an aggregate covers: one brand (or all when None) over ``[since, until)``."""

    since: datetime
    until: datetime
    brand: str | None = None
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class MentionFilter:
    brand: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sentiments: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    text: Query | None = None


@dataclass
class Page:
    items: list[Mention]
    next_cursor: str | None  # pass back to ``search`` for the next page; None on the last page


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.inserted += other.inserted
        self.updated += other.updated
        return self


@dataclass
class PurgeReport:
    """How many rows a purge deleted, of each kind."""

    mentions: int = 0
    source_health: int = 0
    outbox: int = 0
    authors: int = 0  # profiles no remaining mention refers to


@dataclass
class Counts:
    total: int = 0
    by_sentiment: dict[str, int] = field(default_factory=dict)
    by_platform: dict[str, int] = field(default_factory=dict)
    engagement: int = 0  # reposts + comments + likes


@dataclass
class Bucket:
    start: datetime
    total: int
    split: dict[str, int]


@dataclass
class AuthorStats:
    author: Author
    platform: str
    mentions: int
    engagement: int


class MatchSample(NamedTuple):
    """What a text query finds in a window, as far as a preview looked (see ``Store.match_sample``)."""

    ids: list[str]  # the newest matches first
    found: int  # matches counted, at most the cap; a lower bound when timed out
    timed_out: bool


@dataclass(frozen=True)
class Audience:
    """Who spoke in a window: distinct authors, and their followers summed (an upper bound on reach)."""

    voices: int
    reach: int


class AuthorPost(NamedTuple):
    """One mention as the author analysis (kol/) reads it: who posted it, how it did, whom it reposted.

    A named tuple: a month of a big brand is 100,000 of these, and a frozen dataclass costs 4× more to build."""

    mention_id: str
    platform: str
    author_id: str | None  # the author's key, as in the authors table ("weibo:1234567890"); None: no author
    created_at: datetime  # in the store's time zone
    reposts: int
    comments: int
    likes: int
    sentiment: str | None  # negative | neutral | positive | None (not analysed)
    simhash: str | None
    parent_id: str | None  # the post a repost or comment answers (a repost's root on Weibo)
    parent_author_id: str | None  # the author key of that root, when the crawler saw its user
    text: str | None  # only for reposts (the text holds "//@"): the chain names the accounts in between


@dataclass
class SourceHealth:
    """One crawl run's outcome, as the crawler reports it."""

    source: str
    started_at: datetime
    finished_at: datetime
    status: Literal["ok", "degraded", "failed"]
    items: int = 0
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewOutboxItem:
    """A message to deliver to one channel, as the incident code enqueues it."""

    channel: str  # the channel's label in the config
    kind: str
    message: AlertMessage
    dedupe_key: str  # names the event and the channel: enqueueing the same one twice is a no-op
    not_before: datetime  # quiet hours hold the message until then
    incident_pk: int | None = None


@dataclass(frozen=True)
class OutboxItem:
    """A message in the outbox, with where its delivery stands."""

    pk: int
    channel: str
    kind: str
    message: AlertMessage
    dedupe_key: str
    incident_pk: int | None
    created_at: datetime
    not_before: datetime
    next_attempt_at: datetime
    attempts: int  # sends tried; rate-limit answers do not count
    status: OutboxStatus
    last_error: str | None  # the latest answer that was not a success (kept once it goes through)
    sent_at: datetime | None
    failed_at: datetime | None = None
    detail: str | None = None  # the channel's answer to the latest attempt


@dataclass(frozen=True)
class Incident:
    """One episode of one alert rule firing for one fingerprint (rule, brand, cluster/word/source)."""

    fingerprint: str
    rule: str
    brand: str | None
    severity: str  # critical | high | medium | low (红 橙 黄 蓝)
    status: Literal["open", "resolved"]
    title: str
    opened_at: datetime
    seen_at: datetime  # the last evaluation at which the rule still fired
    volume: float
    peak_volume: float
    notified_severity: str  # what the last message said: escalation is measured against it
    notified_volume: float
    notified_at: datetime
    message: AlertMessage  # the newest facts and posts
    evidence: tuple[str, ...] = ()  # ids of the mentions behind it
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    pk: int | None = None  # None until stored


@dataclass(frozen=True)
class IncidentEvent:
    at: datetime
    kind: str  # opened | escalated | reopened | resolved | acknowledged
    severity: str
    volume: float
    note: str = ""


@dataclass(frozen=True)
class IncidentChange:
    """What one evaluation does to one incident, written atomically with its outgoing messages."""

    incident: Incident
    event: IncidentEvent | None = None  # None: numbers refreshed, nothing worth a line in the timeline
    outbox: tuple[NewOutboxItem, ...] = ()  # messages to send; their incident_pk is filled on write


@dataclass
class StoreState:
    """Everything a store keeps besides the mentions (and the authors and sentiment corrections the
    mentions carry): what ``fengxiang migrate`` copies after the mentions. Small next to the mentions,
    so it moves in one piece."""

    cursors: list[tuple[str, str, str]] = field(default_factory=list)  # (source, key, value)
    health: list[SourceHealth] = field(default_factory=list)  # every record, oldest first
    incidents: list[tuple[Incident, list[IncidentEvent]]] = field(default_factory=list)  # pk order
    outbox: list[OutboxItem] = field(default_factory=list)  # pk order
    document_frequencies: tuple[dict[str, int], int] = ({}, 0)


class Store(Protocol):
    def upsert(self, mentions: Iterable[Mention]) -> UpsertResult:
        """Insert new mentions and refresh known ones (same id): never a duplicate row."""

    def get(self, mention_id: str) -> Mention | None: ...

    def search(
        self, where: MentionFilter, *, sort: SortOrder = "time", limit: int = 50, cursor: str | None = None
    ) -> Page:
        """Newest (or most engaged) first, keyset-paginated: pages never skip or repeat a mention."""

    def iter_mentions(self, where: MentionFilter) -> Iterator[Mention]:
        """Every matching mention, oldest first, without holding them all in memory (exports)."""

    def counts(self, window: Window) -> Counts: ...

    def histogram(self, window: Window, *, interval: Interval = "day", split: Split = "sentiment") -> list[Bucket]: ...

    def top_keywords(self, window: Window, *, limit: int = 20) -> list[tuple[str, int]]: ...

    def keyword_counts(self, window: Window, words: Collection[str]) -> dict[str, int]:
        """Mentions with each of ``words`` among their keywords in the window (0 when none)."""
        ...

    def save_document_frequencies(self, frequencies: Mapping[str, int], documents: int) -> None: ...

    def document_frequencies(self) -> tuple[dict[str, int], int]:
        """Word → document frequency learned from the stored corpus, and its document count."""
        ...

    def top_authors(self, window: Window, *, limit: int = 10) -> list[AuthorStats]: ...

    # Authors and influence (kol/): the queries behind `fengxiang kol` and the dashboard's KOL page.

    def audience(self, window: Window) -> Audience:
        """Distinct authors of the window and their summed followers (newest profiles)."""
        ...

    def match_sample(self, where: MentionFilter, *, cap: int, keep: int, budget: float) -> MatchSample:
        """For a preview of ``where.text`` over ``[where.since, where.until)`` among every stored
        mention (other filters are ignored): the newest ``keep`` ids, the matches counted up to
        ``cap``, giving up after ``budget`` seconds with what was found by then."""
        ...

    def author_posts(self, window: Window) -> list[AuthorPost]:
        """Every mention of the window as the influence analysis needs it, oldest first."""
        ...

    def author_profiles(self, author_ids: Collection[str]) -> dict[str, Author]:
        """The newest stored profile of each known author key (``id`` set to the key); unknown keys are left out."""
        ...

    def author_ids_by_name(self, platform: str, names: Collection[str]) -> dict[str, str]:
        """Screen name → author key for the names this store knows on the platform (repost chains name
        accounts by screen name only)."""
        ...

    def earlier_mention_counts(self, brand: str, author_ids: Collection[str], before: datetime) -> dict[str, int]:
        """How many mentions of the brand each author posted before ``before`` (0 when none)."""
        ...

    def get_cursor(self, source: str, key: str) -> str | None: ...

    def set_cursor(self, source: str, key: str, value: str) -> None: ...

    def record_health(self, health: SourceHealth) -> None: ...

    def latest_health(self) -> list[SourceHealth]:
        """The newest record of every source."""

    # The alert outbox: delivery survives a killed sender (alerts/sender.py explains the one duplicate).

    def enqueue(self, items: Sequence[NewOutboxItem], *, now: datetime) -> int:
        """Add messages to the outbox; returns how many were new (a known dedupe_key is skipped)."""
        ...

    def claim_due(self, channel: str, now: datetime, limit: int) -> list[OutboxItem]:
        """The channel's oldest pending messages that are due, marked `sending` in one transaction."""
        ...

    def mark_sent(self, pk: int, at: datetime, detail: str) -> None: ...

    def mark_retry(self, pk: int, next_attempt_at: datetime, detail: str, *, count_attempt: bool = True) -> None:
        """Back to pending until ``next_attempt_at``; a rate-limit answer passes ``count_attempt=False``."""

    def mark_failed(self, pk: int, at: datetime, detail: str, *, count_attempt: bool = True) -> None: ...

    def release_claims(self) -> int:
        """Put messages a stopped sender left `sending` back to pending; returns how many."""
        ...

    def sent_count(self, channel: str, since: datetime) -> int: ...

    def sent_times(self, channel: str, since: datetime) -> list[datetime]:
        """When the channel's messages sent since ``since`` went out, oldest first (whole seconds)."""
        ...

    def outbox_due(self) -> dict[str, datetime]:
        """Every channel label with pending messages → when the first of them falls due."""
        ...

    def outbox_items(self, *, status: str | None = None, limit: int = 100) -> list[OutboxItem]:
        """The newest messages first, all or of one status."""
        ...

    def outbox_backlog(self) -> dict[str, int]:
        """How many messages are in each status (every status present, 0 when none)."""
        ...

    def health_history(self, source: str, *, limit: int = 50) -> list[SourceHealth]:
        """One source's newest health records, newest first."""
        ...

    def apply_incident_changes(self, changes: Sequence[IncidentChange]) -> list[Incident]:
        """Write incidents, their timeline events and their messages in one transaction; the stored incidents."""
        ...

    def incidents(
        self,
        *,
        status: str | None = None,
        brand: str | None = None,
        since: datetime | None = None,
        resolved_since: datetime | None = None,
        limit: int = 100,
    ) -> list[Incident]:
        """Newest first; ``since``: opened since then or still open / resolved since then."""
        ...

    def incident_events(self, incident_pk: int) -> list[IncidentEvent]: ...

    def acknowledge_incident(self, incident_pk: int, *, by: str, at: datetime) -> bool: ...

    def resolve_incident(self, incident_pk: int, *, by: str, at: datetime) -> bool:
        """A person closes an open incident: status resolved at ``at`` and a "resolved" timeline event naming
        ``by``; afterwards it is like one the rules resolved (a relapse within the cooldown reopens it).
        False when the incident is unknown or already resolved."""
        ...

    def incident(self, pk: int) -> Incident | None:
        """One incident by its pk; None when unknown."""
        ...

    # Sentiment corrections: a person's label beats the model's, through re-crawls and `fengxiang reanalyze`.

    def correct_sentiment(self, mention_id: str, label: str, *, by: str, at: datetime) -> Mention:
        """Record (or replace) a person's label for a stored mention and store the mention with it, so every
        count, histogram and search by sentiment follows; the corrected mention. Its ``sentiment`` then
        carries ``corrected_by``, ``corrected_at`` and ``model_label``. Confirming the model's own label is
        a correction too. An unknown id or label is a StoreError."""
        ...

    def undo_correction(self, mention_id: str) -> Mention | None:
        """Forget the mention's correction and give it back the model's label (none if the model never
        labelled it); the mention as now stored, or None when it had no correction."""
        ...

    def corrections(self, *, since: datetime | None = None, brand: str | None = None) -> list[Mention]:
        """The corrected mentions, newest correction first: corrected since ``since``, of one brand or all.

        Every upsert honours the stored corrections: a mention with one is stored with the corrected label,
        and the incoming label becomes its ``model_label``."""
        ...

    # Retention: the service's nightly clean-up.

    def purge(
        self,
        *,
        mentions_before: datetime | None,
        health_before: datetime | None,
        outbox_before: datetime | None,
        batch: int = 5000,
    ) -> PurgeReport:
        """Delete what is older than each cutoff (None: keep that kind forever), ``batch`` rows per
        transaction, so a concurrent writer never waits long and a killed purge just continues next time.

        * mentions created before ``mentions_before``, with everything derived from them (full-text
          index, timeline and rollups, sentiment corrections) and the authors no remaining mention
          posted, reposted or names in a repost chain. Exact to the second: every aggregate over a
          window from the cutoff on is unchanged, and windows wholly before it are empty.
        * source health records started before ``health_before``, except each source's newest.
        * outbox messages sent or failed before ``outbox_before``; pending and sending ones stay.

        Incidents (alert history) and crawl cursors are kept. Running it again deletes nothing."""
        ...

    # Moving a store (`fengxiang migrate`): the mentions go through iter_mentions and upsert.

    def export_state(self) -> StoreState: ...

    def import_state(self, state: StoreState) -> None:
        """Write another store's state keeping its keys: incident and outbox pks (and the outbox's
        incident_pk links), dedupe keys, cursors by (source, key), health records by (source,
        started_at, finished_at). A record already here with the same key is replaced, so importing
        twice changes nothing; pks handed out later continue above the imported ones."""
        ...

    def close(self) -> None: ...
