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

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

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


class Author(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str | None = None
    followers: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    verified: bool | None = None
    verified_type: int | None = None
    verified_reason: str | None = None
    description: str | None = None
    location: str | None = None


class Metrics(BaseModel):
    model_config = ConfigDict(extra="allow")

    reposts: int = Field(default=0, ge=0, le=MAX_COUNT)
    comments: int = Field(default=0, ge=0, le=MAX_COUNT)
    likes: int = Field(default=0, ge=0, le=MAX_COUNT)

    @property
    def engagement(self) -> int:
        return self.reposts + self.comments + self.likes


class Sentiment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: SentimentLabel
    probs: dict[SentimentLabel, Probability] | None = None


class Mention(BaseModel):
    """One post or comment that mentions something on the watchlist."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=3, max_length=300, pattern=r"^[a-z][a-z0-9_]*:\S+$")
    platform: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    url: str | None = None
    text: str = Field(max_length=MAX_TEXT_CHARS)
    created_at: datetime
    author: Author | None = None
    metrics: Metrics = Field(default_factory=Metrics)
    parent_id: str | None = None
    # analysis, added by nlp (or given by an import)
    sentiment: Sentiment | None = None
    keywords: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    simhash: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any, info: ValidationInfo) -> Any:
        """Fill what a bare ``{"text": …}`` line lacks and accept counts written as "178.2万".

        One validator for all of it: ingest runs this for every post, and each Python validator
        call costs more than the checks themselves. The derived id hashes the text, author and time
        as given, so importing the same file twice updates the same rows instead of doubling them.
        """
        if not isinstance(data, dict):
            return data
        if not isinstance(data.get("text"), str):
            found = "missing" if data.get("text") is None else f"a {type(data['text']).__name__}"
            raise ValueError(f"text is {found} — every post needs its words as a string in \"text\"")
        data = dict(data)
        post_id = data.get("id")
        if isinstance(post_id, int):
            post_id = data["id"] = str(post_id)
        platform = data.get("platform")
        if not platform:
            prefix = post_id.split(":", 1)[0] if isinstance(post_id, str) and ":" in post_id else ""
            platform = data["platform"] = prefix or "import"
        if isinstance(post_id, str) and post_id and ":" not in post_id:
            data["id"] = f"{platform}:{post_id}"
        elif not post_id:
            data["id"] = f"{platform}:{_content_digest(data)}"
        if data.get("created_at") in (None, ""):
            data["created_at"] = (info.context or {}).get("now") or datetime.now(UTC)
        for section, fields in _COUNT_FIELDS:
            if isinstance(data.get(section), dict):
                data[section] = _with_parsed_counts(data[section], fields)
        simhash = data.get("simhash")
        if isinstance(simhash, int) and 0 <= simhash < 2**64:
            data["simhash"] = f"{simhash:016x}"
        return data

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Mention:
        if not self.text.strip():
            raise ValueError("text is empty — every post needs the words that were posted")
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

    @property
    def engagement(self) -> int:
        return self.metrics.engagement

    @property
    def sentiment_label(self) -> SentimentLabel | None:
        return self.sentiment.label if self.sentiment else None

    def to_json_dict(self) -> dict[str, Any]:
        """The canonical JSON form (DESIGN.md 4.3): ISO times with offset, no empty optionals."""
        return self.model_dump(mode="json", exclude_none=True)


def _content_digest(data: dict[str, Any]) -> str:
    author = data.get("author")
    author_key = (author.get("id") or author.get("name")) if isinstance(author, dict) else None
    key = f"{data['text']}\x1f{data.get('created_at')}\x1f{author_key}"
    return hashlib.sha1(key.encode()).hexdigest()[:20]


_COUNT_FIELDS = (("author", ("followers",)), ("metrics", ("reposts", "comments", "likes")))


def _with_parsed_counts(section: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    if not any(isinstance(section.get(field), str) for field in fields):
        return section
    return {key: parse_count(value) if key in fields else value for key, value in section.items()}
