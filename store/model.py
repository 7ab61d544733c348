"""The mention and author records every part of fengxiang exchanges (DESIGN.md 4.3).

Input needs only ``text``; every other field is optional, and fields this model does not know
are kept (``extra="allow"``) so an import → export round trip loses nothing.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator

SentimentLabel = Literal["negative", "neutral", "positive"]
SENTIMENT_LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")

# Counts beyond these are data errors (a unit mix-up or a corrupt export), not viral posts.
MAX_COUNT = 10**10
MAX_TEXT_CHARS = 100_000
EARLIEST_POST = datetime(2000, 1, 1, tzinfo=UTC)
_EARLIEST_TIMESTAMP = EARLIEST_POST.timestamp()
FUTURE_TOLERANCE = timedelta(days=1)
_SHANGHAI = ZoneInfo("Asia/Shanghai")

_CHINESE_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([万亿wW]?)\+?\s*$")
_CHINESE_UNITS = {"": 1, "万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}


def parse_count(value: Any) -> Any:
    """Accept counts as platforms print them ("178.2万", "3亿", "1,024") besides plain integers."""
    if isinstance(value, str):
        match = _CHINESE_COUNT.match(value.replace(",", ""))
        if match:
            return round(float(match.group(1)) * _CHINESE_UNITS[match.group(2)])
    return value


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, BeforeValidator(parse_count), Field(ge=0, le=MAX_COUNT)]
PostId = Annotated[str, BeforeValidator(lambda value: str(value) if isinstance(value, int) else value)]
SimHash = Annotated[
    str,
    BeforeValidator(lambda value: f"{value:016x}" if isinstance(value, int) and 0 <= value < 2**64 else value),
    Field(pattern=r"^[0-9a-f]{16}$"),
]
_MENTION_ID = re.compile(r"^[a-z][a-z0-9_]*:\S{1,280}$")


class Author(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str | None = None
    followers: Count | None = None
    verified: bool | None = None
    verified_type: int | None = None
    verified_reason: str | None = None
    description: str | None = None
    location: str | None = None


class Metrics(BaseModel):
    model_config = ConfigDict(extra="allow")

    reposts: Count = 0
    comments: Count = 0
    likes: Count = 0

    @property
    def engagement(self) -> int:
        return self.reposts + self.comments + self.likes


class Sentiment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: SentimentLabel
    probs: dict[SentimentLabel, Probability] | None = None  # the model's, also on a corrected mention
    # Set on a mention a person corrected (the store keeps the correction through re-analysis):
    # ``label`` is then theirs, ``model_label`` what the model said (None: not analysed).
    corrected_by: str | None = None
    corrected_at: datetime | None = None
    model_label: SentimentLabel | None = None


class Mention(BaseModel):
    """One post or comment that mentions something on the watchlist."""

    model_config = ConfigDict(extra="allow")

    id: PostId = ""  # "weibo:5230754395068367"; derived from the content when an import has none
    platform: str = Field(default="", pattern=r"^([a-z][a-z0-9_]*)?$")  # default: the id's prefix
    url: str | None = None
    text: str = Field(max_length=MAX_TEXT_CHARS)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    author: Author | None = None
    metrics: Metrics = Field(default_factory=Metrics)
    parent_id: str | None = None
    # The author of the post a repost quotes (on Weibo the root of the chain), when the crawler saw it.
    parent_author: Author | None = None
    # analysis, added by nlp (or given by an import)
    sentiment: Sentiment | None = None
    keywords: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    simhash: SimHash | None = None

    # One after-validator instead of a before-validator: a before-validator makes pydantic build the
    # whole input as Python objects first, which doubles the cost of validating a JSON line.
    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> Mention:
        if not self.text.strip():
            raise ValueError("text is empty — every post needs the words that were posted")
        self._complete_identity()
        if self.created_at.tzinfo is None:
            # A naive time in an import file means local time where the team works.
            zone: tzinfo = (info.context or {}).get("timezone") or _SHANGHAI
            self.created_at = self.created_at.replace(tzinfo=zone)
        timestamp = self.created_at.timestamp()
        if timestamp < _EARLIEST_TIMESTAMP:
            raise ValueError(
                f"created_at {self.created_at.isoformat()} is before 2000 — check the unit (seconds vs "
                "milliseconds) or the date format"
            )
        if timestamp > time.time() + FUTURE_TOLERANCE.total_seconds():
            raise ValueError(f"created_at {self.created_at.isoformat()} is in the future — check the time zone")
        if len(set(self.keywords)) != len(self.keywords):
            self.keywords = list(dict.fromkeys(self.keywords))
        if len(set(self.brands)) != len(self.brands):
            self.brands = list(dict.fromkeys(self.brands))
        return self

    def _complete_identity(self) -> None:
        """Fill platform and id. A derived id hashes the text, author and (given) time, so importing
        the same file twice updates the same rows instead of doubling them."""
        prefix = self.id.split(":", 1)[0] if ":" in self.id else ""
        self.platform = self.platform or prefix or "import"
        if not self.id:
            author = self.author.id or self.author.name if self.author else None
            given_time = self.created_at.isoformat() if "created_at" in self.model_fields_set else None
            digest = hashlib.sha1(f"{self.text}\x1f{given_time}\x1f{author}".encode()).hexdigest()[:20]
            self.id = f"{self.platform}:{digest}"
        elif not prefix:
            self.id = f"{self.platform}:{self.id}"
        if not _MENTION_ID.match(self.id):
            raise ValueError(f"id {self.id!r} is not of the form platform:identifier (like weibo:5230754395068367)")

    @property
    def engagement(self) -> int:
        return self.metrics.engagement

    @property
    def sentiment_label(self) -> SentimentLabel | None:
        return self.sentiment.label if self.sentiment else None

    def to_json_dict(self) -> dict[str, Any]:
        """The canonical JSON form (DESIGN.md 4.3): ISO times with offset, no empty optionals."""
        return self.model_dump(mode="json", exclude_none=True)


def account_key(author_id: str | None, name: str | None, platform: str) -> str | None:
    """The key an account is stored under on ``platform``: its id, prefixed with the platform when it
    has none ("weibo:1234567890"), else its screen name ("weibo:name:某某", imports without ids);
    None with neither."""
    if author_id:
        return author_id if ":" in author_id else f"{platform}:{author_id}"
    if name:
        return f"{platform}:name:{name}"
    return None


def author_key(mention: Mention) -> str | None:
    """The key of the mention's author, as the store's author queries name it."""
    author = mention.author
    return account_key(author.id, author.name, mention.platform) if author else None


# "//@name:" or "//@name：" — Weibo screen names are 2-30 characters without spaces, colons or "@".
_HOP = re.compile(r"//@([^\s:：@/]{1,30})[:：]")


def repost_hops(text: str | None) -> list[str]:
    """The screen names of a repost chain, nearest first (the accounts a repost names only by name)."""
    return _HOP.findall(text) if text else []
