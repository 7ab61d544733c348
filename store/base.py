"""The Store interface: what every backend (SQLite, Elasticsearch) offers the rest of fengxiang.

Times going in are timezone-aware datetimes; windows are half-open ``[since, until)``.
Bucketed results are in the store's time zone (Asia/Shanghai by default) and zero-filled.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from store.model import Author, Mention

if TYPE_CHECKING:
    from fengxiang.query import Query

SortOrder = Literal["time", "engagement"]
Interval = Literal["hour", "day"]
Split = Literal["sentiment", "platform"]
UNLABELED = "unlabeled"  # the sentiment bucket of mentions not analysed yet
SENTIMENT_BUCKETS = ("negative", "neutral", "positive", UNLABELED)


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

    def get_cursor(self, source: str, key: str) -> str | None: ...

    def set_cursor(self, source: str, key: str, value: str) -> None: ...

    def record_health(self, health: SourceHealth) -> None: ...

    def latest_health(self) -> list[SourceHealth]:
        """The newest record of every source."""

    def close(self) -> None: ...
