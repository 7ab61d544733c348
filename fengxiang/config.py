"""Configuration: ``fengxiang.yaml`` read, ``${ENV}``-expanded, validated and explained.

A PR manager edits this file, so every problem in it is reported at once, one line each, as
``FILE:LINE: KEY: MESSAGE`` — the message names the problem and the fix in plain words.
Secrets (cookies, webhook URLs) are ``SecretStr``: they never appear in a repr, a dump or a message.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from fengxiang.query import Query, QuerySyntaxError, parse

__all__ = [
    "AlertChannel",
    "AlertsConfig",
    "CommentsConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "DistributedConfig",
    "ElasticsearchLocation",
    "PolitenessConfig",
    "SourceConfig",
    "SqliteLocation",
    "StoreLocation",
    "WatchlistEntry",
    "example_config_text",
    "format_duration",
    "is_http_url",
    "load_config",
    "parse_duration",
    "parse_store_location",
    "resolve_config_path",
    "write_example_config",
]

DEFAULT_CONFIG_FILE = "fengxiang.yaml"
CONFIG_PATH_VARIABLE = "FENGXIANG_CONFIG"
DEFAULT_STORE = "sqlite:///data/fengxiang.db"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_CRAWL_INTERVAL = timedelta(minutes=15)

Loc = tuple[str | int, ...]


# ---------------------------------------------------------------------------------------------
# Problems and the error that carries them
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file, rendered as ``FILE:LINE: KEY: MESSAGE``."""

    file: str
    line: int | None
    key: str
    message: str
    column: int | None = None

    def __str__(self) -> str:
        place = self.file
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        head, *details = self.message.split("\n")
        prefix = f"{place}: {self.key}: " if self.key else f"{place}: "
        # Continuation lines (a query with its caret) sit indented under the problem line.
        return "\n".join([prefix + head, *("    " + detail for detail in details)])


class ConfigError(Exception):
    """The config cannot be used; ``problems`` lists everything wrong with it, not just the first."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def _fail(kind: str, message: str) -> PydanticCustomError:
    # The message travels as context so that "${NAME}" in it is never taken for a template field.
    return PydanticCustomError(kind, "{message}", {"message": message})


# ---------------------------------------------------------------------------------------------
# Value formats: durations, URLs, store locations
# ---------------------------------------------------------------------------------------------

_DURATION = re.compile(r"(?:\d+[smhd])+")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_HELP = "write a number with a unit: s, m, h or d — like 30s, 15m, 2h, 1d or 1h30m"


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``1d`` or combinations like ``1h30m`` → a positive timedelta."""
    compact = "".join(text.split()).lower()
    if not _DURATION.fullmatch(compact):
        raise ValueError(f"not a duration — {_DURATION_HELP}")
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(compact))
    if seconds == 0:
        raise ValueError(f"must be longer than zero — {_DURATION_HELP}")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """The inverse of :func:`parse_duration`: ``timedelta(minutes=90)`` → ``1h30m``."""
    remaining = int(duration.total_seconds())
    parts = []
    for unit, seconds in _UNIT_SECONDS.items():
        count, remaining = divmod(remaining, seconds)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def is_http_url(text: str) -> bool:
    """True for an absolute http(s) URL with a host (and a valid port, if any)."""
    if not text or any(char.isspace() for char in text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@dataclass(frozen=True)
class SqliteLocation:
    """The embedded store: one SQLite file."""

    path: Path


@dataclass(frozen=True)
class ElasticsearchLocation:
    """The scale-out store: an Elasticsearch cluster."""

    url: str


StoreLocation = SqliteLocation | ElasticsearchLocation

_SQLITE_PREFIX = "sqlite:///"
_STORE_FORMS = (
    "use sqlite:///data/fengxiang.db (a path relative to this file), sqlite:////var/lib/fengxiang.db "
    "(an absolute path) or an Elasticsearch URL like http://localhost:9200"
)


def parse_store_location(store: str, base_dir: Path) -> StoreLocation:
    """Read a ``store:`` value; a relative SQLite path is taken relative to ``base_dir``."""
    if store.startswith(_SQLITE_PREFIX):
        path = Path(store.removeprefix(_SQLITE_PREFIX))  # "sqlite:////abs" leaves "/abs"
        if not path.parts:
            raise ValueError(f"the SQLite file path is missing — {_STORE_FORMS}")
        return SqliteLocation(path if path.is_absolute() else base_dir / path)
    if is_http_url(store):
        return ElasticsearchLocation(store.rstrip("/"))
    raise ValueError(f"not a store this program knows — {_STORE_FORMS}")


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


class _Section(BaseModel):
    # hide_input_in_errors: a ValidationError must never print a cookie or a webhook URL.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


def _none_as_empty(value: object, empty: object) -> object:
    # "sources:" with every child commented out is None in YAML; that means "nothing here".
    return empty if value is None else value


def _strip_text(value: object) -> object:
    # Stray spaces and the newline of `export X="$(cat file)"` are never meant.
    return value.strip() if isinstance(value, str) else value


def _check_platform_name(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise _fail(
            "platform_name",
            "a platform name is lower-case letters, digits and _, starting with a letter — like weibo",
        )
    return name


PlatformName = Annotated[str, AfterValidator(_check_platform_name)]


def _duration_from_text(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise _fail("duration", _DURATION_HELP)
    try:
        return parse_duration(value)
    except ValueError as err:
        raise _fail("duration", str(err)) from None


class PolitenessConfig(_Section):
    """How gently a crawler treats a platform. The defaults suit a real deployment: one request at
    a time per host, a few seconds apart (jittered), slowing down further when the site answers
    slowly (AutoThrottle) — the pace of a person scrolling, which keeps an account unflagged.
    The sandbox and the benchmarks switch it off."""

    enabled: bool = True
    delay: float = Field(default=3.0, ge=0.0, le=600.0)  # seconds between requests to one host
    concurrency: int = Field(default=1, ge=1, le=64)  # requests in flight per host


class CommentsConfig(_Section):
    """Hot comments of popular posts become mentions too (with ``parent_id``)."""

    min_engagement: int = Field(default=100, ge=0)  # reposts + comments + likes of the post
    max_pages: int = Field(default=2, ge=0, le=50)  # 0: no comments


class SourceConfig(_Section):
    """One platform to crawl, keyed by platform name under ``sources:``."""

    enabled: bool = True
    base_url: str | None = None  # None: the platform's public address (the crawler knows it)
    login_url: str | None = None  # where `fengxiang login` opens the QR page; None: the platform's own
    # The page whose own script signs API requests (Xiaohongshu, Zhihu); None: base_url when that is
    # set (the sandbox serves both), else the platform's own site.
    web_url: str | None = None
    cookie: SecretStr | None = None
    cookie_file: Path | None = None  # saved by `fengxiang login`; default data/cookies/<platform>.json
    interval: timedelta = DEFAULT_CRAWL_INTERVAL
    lookback: timedelta = timedelta(days=3)  # how far back the first crawl of a search term goes
    max_pages: int = Field(default=50, ge=1, le=1000)  # search result pages per term and run
    hot_pages: int = Field(default=1, ge=0, le=50)  # pages of the "hot" ordering, to refresh engagement
    timeout: timedelta = timedelta(minutes=30)  # a crawl running longer is stopped
    request_timeout: timedelta = timedelta(seconds=30)  # one request without an answer this long is retried
    comments: CommentsConfig = Field(default_factory=CommentsConfig)
    politeness: PolitenessConfig = Field(default_factory=PolitenessConfig)
    # Used by the news source: the RSS 2.0 / Atom feeds to read (http(s) URLs, or paths under base_url).
    feeds: list[str] = Field(default_factory=list)
    # Also the news source: news sites' own search pages, with {query} where the search term goes.
    search_pages: list[str] = Field(default_factory=list)

    @field_validator("feeds", mode="before")
    @classmethod
    def _feeds_are_http(cls, value: object) -> object:
        value = _none_as_empty(value, [])
        if isinstance(value, list):
            for feed in value:
                if isinstance(feed, str) and not (is_http_url(feed.strip()) or feed.strip().startswith("/")):
                    raise _fail(
                        "url",
                        f"feed {feed!r} must be a web address starting with http:// or https://, "
                        "like https://news.example.com/rss.xml (or a path starting with / under base_url)",
                    )
            return [feed.strip() if isinstance(feed, str) else feed for feed in value]
        return value

    @field_validator("search_pages", mode="before")
    @classmethod
    def _search_pages_are_templates(cls, value: object) -> object:
        value = _none_as_empty(value, [])
        if isinstance(value, list):
            for page in value:
                if isinstance(page, str) and not (is_http_url(page.strip()) and "{query}" in page):
                    raise _fail(
                        "url",
                        f"search page {page!r} must be a web address with {{query}} where the search term goes, "
                        "like https://news.example.com/search?q={query}",
                    )
            return [page.strip() if isinstance(page, str) else page for page in value]
        return value

    @field_validator("base_url", "login_url", "web_url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not is_http_url(value):
            raise _fail("url", "must be a web address starting with http:// or https://, like https://m.weibo.cn")
        return value.rstrip("/") if value else value

    @field_validator("cookie", mode="before")
    @classmethod
    def _empty_cookie_is_none(cls, value: object) -> object:
        value = _strip_text(value)
        return None if value == "" else value

    @field_validator("interval", "lookback", "timeout", "request_timeout", mode="before")
    @classmethod
    def _duration_from_text(cls, value: object) -> object:
        return _duration_from_text(value)

    @field_serializer("interval", "lookback", "timeout", "request_timeout")
    def _duration_as_text(self, duration: timedelta) -> str:
        return format_duration(duration)


ChannelType = Literal["wecom", "dingtalk", "feishu", "webhook"]
_SIGNED_CHANNELS = ("dingtalk", "feishu")


class AlertChannel(_Section):
    """A group robot (or plain webhook) that alerts and reports are pushed to."""

    type: ChannelType
    name: str | None = None
    webhook: SecretStr
    secret: SecretStr | None = None  # DingTalk's / Feishu's signing secret (加签), when the robot has one
    mention_users: list[str] = Field(default_factory=list)  # on-duty user ids @-ed on critical incidents
    mention_mobiles: list[str] = Field(default_factory=list)  # or their mobile numbers (WeCom, DingTalk)
    per_minute: int = Field(default=20, ge=1, le=600)  # the robot's own limit: WeCom and DingTalk allow 20
    timeout: timedelta = timedelta(seconds=10)

    @field_validator("type", mode="before")
    @classmethod
    def _type_in_lower_case(cls, value: object) -> object:
        value = _strip_text(value)
        return value.lower() if isinstance(value, str) else value

    @field_validator("webhook", "secret", mode="before")
    @classmethod
    def _strip_secret(cls, value: object) -> object:
        value = _strip_text(value)
        return None if value == "" else value

    @field_validator("webhook")
    @classmethod
    def _webhook_is_http(cls, webhook: SecretStr) -> SecretStr:
        if not is_http_url(webhook.get_secret_value()):
            raise _fail(
                "url",
                "must be the robot's full web address (https://…) — copy it from the group's robot settings",
            )
        return webhook

    @field_validator("mention_users", "mention_mobiles", mode="before")
    @classmethod
    def _no_mentions(cls, value: object) -> object:
        value = _none_as_empty(value, [])
        return [str(item).strip() for item in value] if isinstance(value, list) else value

    @field_validator("mention_users")
    @classmethod
    def _no_mention_of_everyone(cls, users: list[str]) -> list[str]:
        if any(user.lower() in ("all", "@all") for user in users):
            raise _fail("mention_all", "@all is not allowed — list the on-duty members' user ids instead")
        return users

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration_from_text(cls, value: object) -> object:
        return _duration_from_text(value)

    @field_serializer("timeout")
    def _duration_as_text(self, duration: timedelta) -> str:
        return format_duration(duration)

    @model_validator(mode="after")
    def _secret_only_where_signed(self) -> AlertChannel:
        if self.secret is not None and self.type not in _SIGNED_CHANNELS:
            message = f"a {self.type} robot has no signing secret — remove secret: (it is for dingtalk and feishu)"
            raise _fail("secret", message)
        return self

    @property
    def label(self) -> str:
        """What logs show instead of the (secret) webhook URL."""
        return self.name or self.type


# ---- alert rules: defaults under alerts.rules, overridden per watchlist entry under alerts: ----

Severity = Literal["critical", "high", "medium", "low"]  # 红 橙 黄 蓝
DEFAULT_RISK_WORDS = (
    "维权", "投诉", "曝光", "召回", "自燃", "退款", "起诉", "欺诈", "虚假宣传", "食物中毒",
    "爆炸", "质量问题", "集体诉讼", "315", "翻车", "塌房", "拒赔", "黑幕",
)  # fmt: skip


class _Rule(_Section):
    enabled: bool = True


class _WindowRule(_Rule):
    """A rule over the mentions of a trailing window; subclasses set the window's default."""

    window: timedelta = timedelta(hours=6)

    @field_validator("window", mode="before")
    @classmethod
    def _duration_from_text(cls, value: object) -> object:
        return _duration_from_text(value)


class SpikeRule(_Rule):
    """Mentions in the recent window far above the seasonal baseline (same hour of day and weekday)."""

    min_count: int = Field(default=10, ge=1)  # distinct voices in the window, at least
    min_ratio: float = Field(default=2.0, ge=1.0)  # observed / expected, at least
    sensitivity: float | None = Field(default=None, gt=0)  # the test's threshold; None: the tuned default


class NegativeSpikeRule(SpikeRule):
    min_share_rise: float = Field(default=0.10, ge=0.0, le=1.0)  # negative share up by 10 points, at least


class NegativeRatioRule(_WindowRule):
    threshold: float = Field(default=0.5, gt=0.0, le=1.0)  # negative share of the window's mentions
    min_sample: int = Field(default=30, ge=1)  # mentions in the window before the share means anything
    window: timedelta = timedelta(hours=6)


class ViralPostRule(_WindowRule):
    """A post (with its reposts) spreading fast: Weibo's 爆文 are measured in tens of thousands."""

    min_reposts: int = Field(default=5000, ge=1)
    min_comments: int = Field(default=3000, ge=1)
    min_growth_per_hour: int = Field(default=1000, ge=1)  # reposts + comments per hour since it was posted
    negative_only: bool = True  # a positive post going viral is good news, not an alert
    max_posts: int = Field(default=3, ge=1)  # the most engaged few per evaluation: a crisis has dozens
    window: timedelta = timedelta(days=2)  # posts this recent are watched


class BigAccountRule(_Rule):
    min_followers: int = Field(default=500_000, ge=1)
    verified_only: bool = True


class RiskWordsRule(_WindowRule):
    words: list[str] = Field(default_factory=lambda: list(DEFAULT_RISK_WORDS))
    min_count: int = Field(default=3, ge=1)  # distinct voices using one risk word in the window
    min_ratio: float = Field(default=2.0, ge=1.0)  # against the daily average of the week before
    window: timedelta = timedelta(hours=24)


class CopyPasteRule(_WindowRule):
    """Many near-identical posts: a 水军 wave, reported as one voice repeated, not as many people."""

    min_copies: int = Field(default=10, ge=2)
    window: timedelta = timedelta(hours=6)


class SourceFailureRule(_Rule):
    after_failures: int = Field(default=2, ge=1)  # consecutive failed runs before the alert


class NewKolRule(_WindowRule):
    """A KOL candidate (scored over ``kol.window``) who mentions the brand for the first time."""

    window: timedelta = timedelta(hours=24)  # mentions this recent count as the first one
    min_history: timedelta = timedelta(days=7)  # the store must know the brand this long, or everyone is "new"

    @field_validator("min_history", mode="before")
    @classmethod
    def _history_from_text(cls, value: object) -> object:
        return _duration_from_text(value)


class AlertRules(_Section):
    """Every rule with its thresholds; a watchlist entry's ``alerts:`` overrides single keys."""

    negative_spike: NegativeSpikeRule = Field(default_factory=NegativeSpikeRule)
    volume_spike: SpikeRule = Field(default_factory=lambda: SpikeRule(min_count=30, min_ratio=3.0))
    negative_ratio: NegativeRatioRule = Field(default_factory=NegativeRatioRule)
    viral_post: ViralPostRule = Field(default_factory=ViralPostRule)
    big_account: BigAccountRule = Field(default_factory=BigAccountRule)
    risk_words: RiskWordsRule = Field(default_factory=RiskWordsRule)
    copy_paste: CopyPasteRule = Field(default_factory=CopyPasteRule)
    source_failure: SourceFailureRule = Field(default_factory=SourceFailureRule)
    new_kol: NewKolRule = Field(default_factory=NewKolRule)

    def overridden_by(self, override: AlertRules | None) -> AlertRules:
        """These rules with the keys ``override`` sets explicitly (and only those) replaced."""
        if override is None:
            return self
        changes = {}
        for rule_name in override.model_fields_set:
            base, given = getattr(self, rule_name), getattr(override, rule_name)
            changes[rule_name] = base.model_copy(update={key: getattr(given, key) for key in given.model_fields_set})
        return self.model_copy(update=changes)


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_QUIET_HELP = "write the hours as HH:MM-HH:MM in the config's time zone, like 23:00-08:00"


class QuietHours(_Section):
    """Hours when only critical (红色) incidents are sent at once; the rest wait until the end."""

    start: str
    end: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, str):
            start, _, end = value.replace(" ", "").partition("-")
            return {"start": start, "end": end}
        return value

    @field_validator("start", "end")
    @classmethod
    def _is_clock_time(cls, text: str) -> str:
        if not _CLOCK.match(text):
            raise _fail("quiet_hours", f"not a time of day — {_QUIET_HELP}")
        return text

    def minutes(self) -> tuple[int, int]:
        """(start, end) as minutes after midnight; start > end means the hours span midnight."""
        return tuple(int(part[:-3]) * 60 + int(part[-2:]) for part in (self.start, self.end))  # type: ignore[return-value]


class AlertsConfig(_Section):
    channels: list[AlertChannel] = Field(default_factory=list)
    rules: AlertRules = Field(default_factory=AlertRules)
    quiet_hours: QuietHours | None = None
    cooldown: timedelta = timedelta(hours=2)  # one fingerprint messages at most this often (escalations excepted)
    resolve_after: timedelta = timedelta(hours=3)  # an incident quiet this long is resolved
    dashboard_url: str | None = None  # links in messages point here when set
    notify_min_severity: Severity = "medium"  # 蓝色 (low) incidents are recorded and listed, not pushed

    @field_validator("channels", mode="before")
    @classmethod
    def _no_channels(cls, value: object) -> object:
        return _none_as_empty(value, [])

    @field_validator("cooldown", "resolve_after", mode="before")
    @classmethod
    def _duration_from_text(cls, value: object) -> object:
        return _duration_from_text(value)

    @field_serializer("cooldown", "resolve_after")
    def _duration_as_text(self, duration: timedelta) -> str:
        return format_duration(duration)

    @field_validator("dashboard_url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not is_http_url(value):
            raise _fail("url", "must be a web address starting with http:// or https://")
        return value.rstrip("/") if value else value


_NEGATIVE_ONLY = (
    "a watchlist query needs at least one term that is not negated — add the brand itself, like: 蔚来 AND NOT 招聘"
)
_QUERY_HELP = 'queries are terms joined by AND, OR, NOT; ( ) group them; "double quotes" make a phrase'


def _check_query(text: str) -> Query:
    """Parse a watchlist query, turning its errors into messages for the config file."""
    try:
        query = parse(text)
    except QuerySyntaxError as err:
        # str(err) is the message, then the query and a caret line pointing at the problem.
        _, *picture = str(err).split("\n")
        detail = "\n".join([f"the query does not parse: {err.message}", *picture, _QUERY_HELP])
        raise _fail("query_syntax", detail) from None
    if not query.has_positive_term():
        raise _fail("query_negative_only", _NEGATIVE_ONLY)
    return query


class WatchlistEntry(_Section):
    """A brand, product or person to watch."""

    name: str
    query: str
    competitors: list[str] = Field(default_factory=list)
    alerts: AlertRules | None = None  # overrides of alerts.rules for this entry, key by key
    # The brand's own accounts (segment 官方), by screen name or author id like "weibo:1234567890".
    official_accounts: list[str] = Field(default_factory=list)

    _parsed_query: Query = PrivateAttr()

    @field_validator("name", mode="before")
    @classmethod
    def _strip_name(cls, value: object) -> object:
        return _strip_text(value)

    @field_validator("competitors", mode="before")
    @classmethod
    def _strip_competitors(cls, value: object) -> object:
        value = _none_as_empty(value, [])
        return [_strip_text(item) for item in value] if isinstance(value, list) else value

    @field_validator("official_accounts", mode="before")
    @classmethod
    def _strip_official_accounts(cls, value: object) -> object:
        value = _none_as_empty(value, [])
        return [_strip_text(item) for item in value] if isinstance(value, list) else value

    @field_validator("name")
    @classmethod
    def _name_not_empty(cls, name: str) -> str:
        if not name:
            raise _fail("empty_name", "the name is empty — write the brand as it should appear in reports")
        return name

    @field_validator("query")
    @classmethod
    def _query_is_valid(cls, text: str) -> str:
        _check_query(text)
        return text

    def model_post_init(self, context: Any, /) -> None:
        # Parsed once here (the validator has proven it parses) so callers never re-parse.
        self._parsed_query = parse(self.query)

    @property
    def parsed_query(self) -> Query:
        return self._parsed_query


class SentimentConfig(_Section):
    engine: Literal["model", "snownlp"] = "model"  # model: trained in this repo; snownlp: the baseline
    model: Path | None = None  # a model from `fengxiang train-sentiment`; default: the shipped one
    negative_bias: float = Field(default=0.0, ge=0.0, le=3.0)  # log-odds toward negative: recall over precision


class NlpConfig(_Section):
    sentiment: SentimentConfig = Field(default_factory=SentimentConfig)
    keywords_per_post: int = Field(default=5, ge=1, le=50)


class KolConfig(_Section):
    """How KOL candidates are chosen (kol/score.py explains the score)."""

    window: timedelta = timedelta(days=30)  # `fengxiang kol` and the new_kol rule score this much history
    min_score: float = Field(default=70.0, ge=0.0, le=100.0)  # a candidate scores at least this (0–100)
    min_posts: int = Field(default=2, ge=1)  # …over at least this many mentions: one lucky post is not a KOL
    # …and with an audience of some size: this many followers, or this many accounts reposting them.
    min_followers: int = Field(default=10_000, ge=0)
    min_reposters: int = Field(default=5, ge=0)
    spam_max_followers: int = Field(default=1000, ge=0)  # copy-paste accounts above this are not called 水军
    spam_min_copies: int = Field(default=5, ge=2)  # near-identical originals by distinct accounts within an hour

    @field_validator("window", mode="before")
    @classmethod
    def _duration_from_text(cls, value: object) -> object:
        return _duration_from_text(value)


class DashboardConfig(_Section):
    """The Streamlit dashboard (``fengxiang dashboard``)."""

    port: int = Field(default=8501, ge=1, le=65535)
    address: str = "127.0.0.1"  # loopback by default: set 0.0.0.0 to let the team reach it
    refresh: timedelta = timedelta(minutes=1)  # open pages refresh their numbers this often
    cache_ttl: timedelta = timedelta(minutes=1)  # a query's answer is reused this long
    # Optional login: a hash from `fengxiang dashboard --hash-password` (never the password itself),
    # or OIDC through Streamlit's st.login when `.streamlit/secrets.toml` has an [auth] section.
    password_hash: str | None = None
    oidc: bool = False
    font: Path | None = None  # a CJK font file for the word cloud; default: the one `make system` installs

    @field_validator("refresh", "cache_ttl", mode="before")
    @classmethod
    def _duration_from_text(cls, value: object) -> object:
        return _duration_from_text(value)

    @field_validator("password_hash")
    @classmethod
    def _hash_is_ours(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("scrypt$"):
            raise _fail(
                "password_hash",
                "this is not a password hash — run `fengxiang dashboard --hash-password` and paste what it prints",
            )
        return value


class ServiceConfig(_Section):
    """The 24×7 service (``fengxiang run``). Each source crawls at its own ``sources.<name>.interval``."""

    alerts_interval: timedelta = timedelta(minutes=5)  # the alert rules are evaluated this often
    send_interval: timedelta = timedelta(seconds=30)  # the outbox is drained this often
    config_check_interval: timedelta = timedelta(seconds=30)  # the config file is re-read when it changed
    misfire_grace: timedelta = timedelta(minutes=10)  # a run this late (a busy machine, a suspend) still runs
    log_file: Path | None = None  # JSON lines; default data/logs/service.log beside the config

    @field_validator("alerts_interval", "send_interval", "config_check_interval", "misfire_grace", mode="before")
    @classmethod
    def _duration_from_text(cls, value: object) -> object:
        return _duration_from_text(value)


class ReportConfig(_Section):
    """The daily report (舆情日报): ``fengxiang report``, and the service's morning run of it."""

    send: bool = True  # the service sends yesterday's summary to alerts.channels every morning
    time: str = "08:30"  # when, in the config's time zone (HH:MM)
    folder: Path = Path("data/reports")  # the service writes each day's Markdown and HTML here
    items: int = Field(default=5, ge=1, le=50)  # rows per section: incidents, negative posts, accounts, words

    @field_validator("time")
    @classmethod
    def _is_clock_time(cls, text: str) -> str:
        if not _CLOCK.match(text):
            raise _fail("report_time", "not a time of day — write HH:MM in the config's time zone, like 08:30")
        return text

    def hour_minute(self) -> tuple[int, int]:
        return int(self.time[:-3]), int(self.time[-2:])


class RetentionConfig(_Section):
    """How long the service keeps what it stores; older records are deleted every night. None: forever."""

    mentions: timedelta | None = timedelta(days=730)  # two years: this year against last year
    source_health: timedelta | None = timedelta(days=90)  # crawl run records
    outbox: timedelta | None = timedelta(days=30)  # messages already sent or failed for good

    @field_validator("mentions", "source_health", "outbox", mode="before")
    @classmethod
    def _duration_from_text(cls, value: object) -> object:
        return None if value is None else _duration_from_text(value)


class DistributedConfig(_Section):
    """Crawl work shared through Redis by any number of ``fengxiang crawl-worker`` processes."""

    # redis://[[user]:password@]host:port/db — secret because the password sits in the URL.
    redis: SecretStr
    lease: timedelta = timedelta(minutes=10)  # a worker silent this long is presumed dead; its term is re-queued

    @field_validator("redis", mode="before")
    @classmethod
    def _strip_url(cls, value: object) -> object:
        return _strip_text(value)

    @field_validator("redis")
    @classmethod
    def _is_redis_url(cls, url: SecretStr) -> SecretStr:
        if urlsplit(url.get_secret_value()).scheme not in ("redis", "rediss", "unix"):
            raise _fail("redis_url", "not a Redis URL — write redis://host:6379/0 (rediss:// for TLS)")
        return url

    @field_validator("lease", mode="before")
    @classmethod
    def _duration_from_text(cls, value: object) -> object:
        return _duration_from_text(value)

    @field_validator("lease")
    @classmethod
    def _lease_outlasts_heartbeats(cls, lease: timedelta) -> timedelta:
        # Workers renew the lease a few times per lease; below a few seconds a busy machine misses renewals.
        if lease < timedelta(seconds=3):
            raise _fail("lease", "a lease this short expires under a working crawl — use 3s or more (10m is usual)")
        return lease


class Config(_Section):
    """The whole ``fengxiang.yaml``. Build it with :func:`load_config`."""

    store: str = DEFAULT_STORE
    timezone: str = DEFAULT_TIMEZONE
    watchlist: list[WatchlistEntry] = Field(default_factory=list)
    sources: dict[PlatformName, SourceConfig] = Field(default_factory=dict)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    nlp: NlpConfig = Field(default_factory=NlpConfig)
    kol: KolConfig = Field(default_factory=KolConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    distributed: DistributedConfig | None = None  # None: crawls run in this process's service or command

    _config_file: Path | None = PrivateAttr(default=None)

    @field_validator(
        "watchlist", "sources", "alerts", "nlp", "dashboard", "service", "report", "retention", mode="before"
    )
    @classmethod
    def _empty_sections(cls, value: object, info: ValidationInfo) -> object:
        empty_forms: dict[str | None, object] = {
            "watchlist": [],
            "sources": {},
            "alerts": {},
            "nlp": {},
            "dashboard": {},
            "service": {},
            "report": {},
            "retention": {},
        }
        return _none_as_empty(value, empty_forms[info.field_name])

    @field_validator("store")
    @classmethod
    def _store_is_known(cls, store: str) -> str:
        try:
            parse_store_location(store, Path("."))
        except ValueError as err:
            raise _fail("store", str(err)) from None
        return store

    @field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, name: str) -> str:
        if not _is_timezone(name):
            raise _fail("timezone", _unknown_timezone_message(name))
        return name

    @model_validator(mode="after")
    def _watchlist_references_resolve(self) -> Config:
        raw = [{"name": entry.name, "competitors": entry.competitors} for entry in self.watchlist]
        issues = _watchlist_reference_issues(raw)
        if issues:
            text = "; ".join(f"{_format_key(issue.loc)}: {issue.message}" for issue in issues)
            raise _fail(_REFERENCES_ERROR, text)
        return self

    @property
    def config_file(self) -> Path | None:
        """The file this config was loaded from (None when built in code)."""
        return self._config_file

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def store_location(self) -> StoreLocation:
        """Where mentions are stored; a relative SQLite path is relative to the config file."""
        base_dir = self._config_file.parent if self._config_file else Path.cwd()
        return parse_store_location(self.store, base_dir)

    def sentiment_model_path(self) -> Path | None:
        """The configured sentiment model file; a relative path is relative to the config file."""
        model = self.nlp.sentiment.model
        if model is None or model.is_absolute():
            return model
        return (self._config_file.parent if self._config_file else Path.cwd()) / model

    def entry_named(self, name: str) -> WatchlistEntry | None:
        """The watchlist entry with this name (names compare case-insensitively)."""
        wanted = _fold_name(name)
        return next((entry for entry in self.watchlist if _fold_name(entry.name) == wanted), None)

    def cookie_file(self, platform: str) -> Path:
        """Where `fengxiang login PLATFORM` saves session cookies (relative paths: to the config file)."""
        base_dir = self._config_file.parent if self._config_file else Path.cwd()
        source = self.sources.get(platform)
        path = source.cookie_file if source and source.cookie_file else Path("data/cookies") / f"{platform}.json"
        return path if path.is_absolute() else base_dir / path

    def rules_for(self, entry: WatchlistEntry) -> AlertRules:
        """The alert rules that apply to one watchlist entry: the defaults with its overrides."""
        return self.alerts.rules.overridden_by(entry.alerts)

    def search_terms(self) -> list[str]:
        """Every positive term of every watchlist entry, once, in watchlist order: what spiders search for."""
        return list(dict.fromkeys(term for entry in self.watchlist for term in entry.parsed_query.terms()))

    def enabled_sources(self) -> dict[str, SourceConfig]:
        return {platform: source for platform, source in self.sources.items() if source.enabled}


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "Asia"
        return False
    return True


def _unknown_timezone_message(name: str) -> str:
    return "unknown time zone" + (
        _did_you_mean(name, sorted(available_timezones())) or " — use a tz database name like Asia/Shanghai"
    )


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    matches = difflib.get_close_matches(word, choices, n=1)
    return f' — did you mean "{matches[0]}"?' if matches else ""


# ---------------------------------------------------------------------------------------------
# Rules across watchlist entries (names unique, competitors exist), on raw YAML data so that
# they are checked, with their own line numbers, even when other parts of the file are wrong
# ---------------------------------------------------------------------------------------------

_REFERENCES_ERROR = "watchlist_references"


@dataclass(frozen=True)
class _Issue:
    loc: Loc
    message: str


def _fold_name(name: str) -> str:
    return name.strip().casefold()


def _watchlist_reference_issues(raw_watchlist: object) -> list[_Issue]:
    """Duplicate names and competitors that name no entry, for a watchlist as plain data."""
    if not isinstance(raw_watchlist, list):
        return []
    entries = [(index, item) for index, item in enumerate(raw_watchlist) if isinstance(item, dict)]
    first_index: dict[str, int] = {}
    issues = []
    for index, item in entries:
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        if _fold_name(name) in first_index:
            issues.append(_duplicate_name_issue(index, name.strip(), first_index[_fold_name(name)]))
        else:
            first_index[_fold_name(name)] = index
    names = [raw_watchlist[index]["name"].strip() for index in first_index.values()]
    for index, item in entries:
        issues.extend(_competitor_issues(index, item, first_index, names))
    return issues


def _duplicate_name_issue(index: int, name: str, first: int) -> _Issue:
    message = (
        f'"{name}" is already the name of watchlist[{first}] (names ignore upper/lower case) — '
        "give each entry its own name, or merge the two queries with OR"
    )
    return _Issue(("watchlist", index, "name"), message)


def _competitor_issues(
    index: int, item: Mapping[str, object], first_index: Mapping[str, int], names: Sequence[str]
) -> list[_Issue]:
    competitors = item.get("competitors")
    own_name = item.get("name")
    if not isinstance(competitors, list):
        return []
    issues = []
    for position, competitor in enumerate(competitors):
        if not isinstance(competitor, str):
            continue
        loc: Loc = ("watchlist", index, "competitors", position)
        if isinstance(own_name, str) and _fold_name(competitor) == _fold_name(own_name):
            issues.append(_Issue(loc, "an entry cannot be its own competitor — remove it from the list"))
        elif _fold_name(competitor) not in first_index:
            message = (
                f'"{competitor.strip()}" is not the name of any watchlist entry — a competitor needs its own '
                "entry (with a query) so its mentions are counted; add one, or fix the spelling"
            )
            issues.append(_Issue(loc, message + _did_you_mean(competitor.strip(), names)))
    return issues


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def resolve_config_path(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The config file to use: ``path``, else ``$FENGXIANG_CONFIG``, else ``./fengxiang.yaml``."""
    environ = os.environ if environ is None else environ
    if path is not None:
        return Path(path)
    return Path(environ.get(CONFIG_PATH_VARIABLE) or DEFAULT_CONFIG_FILE)


def load_config(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read, expand and validate a config file; raise :class:`ConfigError` listing every problem."""
    environ = os.environ if environ is None else environ
    config_path = resolve_config_path(path, environ)
    file = str(config_path)
    text = _read_config_text(config_path, from_environment=path is None and bool(environ.get(CONFIG_PATH_VARIABLE)))
    root, data = _parse_yaml(text, file)
    locator = _Locator(file, root)

    expansion = _Expansion(environ)
    data = expansion.expand(data, ())
    issues = [*_duplicate_key_issues(root, ()), *expansion.issues]
    config, validation_issues = _validate(data, skip=expansion.unresolved)
    issues += validation_issues
    if isinstance(data, dict):
        issues += _watchlist_reference_issues(data.get("watchlist"))
    if issues or config is None:
        problems = [locator.problem(issue.loc, _redact(issue.message, expansion.values)) for issue in issues]
        raise ConfigError(sorted(problems, key=lambda problem: problem.line or 0))
    config._config_file = config_path.absolute()
    return config


def _read_config_text(path: Path, *, from_environment: bool) -> str:
    file = str(path)
    origin = f" (named by ${CONFIG_PATH_VARIABLE})" if from_environment else ""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        message = (
            f"no config file here{origin} — run `fengxiang init` to write one, "
            "or pass --config PATH to use another file"
        )
        raise ConfigError([ConfigProblem(file, None, "", message)]) from None
    except IsADirectoryError:
        message = f"is a folder, not a config file{origin} — pass --config with the path of the .yaml file"
        raise ConfigError([ConfigProblem(file, None, "", message)]) from None
    except OSError as err:
        message = f"cannot be read ({err.strerror}) — check that the file exists and who may read it"
        raise ConfigError([ConfigProblem(file, None, "", message)]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        message = "the file is not UTF-8 text — save it again with the UTF-8 encoding"
        raise ConfigError([ConfigProblem(file, line, "", message)]) from None


def _parse_yaml(text: str, file: str) -> tuple[yaml.Node, object]:
    """The node tree (for line numbers) and the plain data, from one safe parse."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as err:
        raise ConfigError([_yaml_problem(err, file, text)]) from None
    except yaml.YAMLError as err:
        raise ConfigError([ConfigProblem(file, None, "", f"YAML error: {err}")]) from None
    finally:
        loader.dispose()
    if root is None or data is None:
        message = "the file is empty — run `fengxiang init` to write a commented example, then edit it"
        raise ConfigError([ConfigProblem(file, None, "", message)])
    return root, data


_YAML_HINTS: list[tuple[str, str]] = [
    ("could not determine a constructor", "tags such as !!python/… are not allowed here — remove the tag"),
    ("expected a single document", "the file holds more than one YAML document — remove the --- line"),
    (
        "mapping values are not allowed",
        "a value contains ': ' — put the whole value in quotes, like title: '风向: 日报'",
    ),
    ("cannot start any token", "the value starts with a special character — put the whole value in quotes"),
    ("end of stream", "a quote is not closed — end the value with the quote it starts with"),
    ("<stream end>", "a [ or { is not closed — add the matching ] or }"),
    (
        "found '<scalar>'",
        "a value that starts with a quote must also end with it — put the whole value in single quotes, "
        """like: query: '"理想 L9" OR 理想汽车'""",
    ),
    (
        "expected <block end>",
        "check the indentation: keys of the same section must start in the same column",
    ),
    (
        "did not find expected",
        "check the indentation, and that a value that starts with a quote also ends with it — quote the whole value",
    ),
    ("found duplicate anchor", "each &anchor name may be defined once — rename one of them"),
    ("found undefined alias", "an *alias refers to an &anchor that does not exist — fix or remove it"),
]
_FLOW_VARIABLE_HINT = "inside [ ] a ${NAME} must be quoted, like: competitors: ['${RIVAL}']"
_FALLBACK_YAML_HINT = "check this line and the one above it"
_TAB_HINT = "YAML indentation must use spaces, not tabs — replace the tabs on this line with spaces"


def _yaml_problem(err: yaml.MarkedYAMLError, file: str, text: str) -> ConfigProblem:
    problem = err.problem or "invalid YAML"
    # At the end of the file, the place worth showing is where the unclosed quote or bracket opened.
    at_end = "end of stream" in problem or "<stream end>" in problem
    mark = (err.context_mark if at_end else None) or err.problem_mark or err.context_mark
    if err.context:
        problem += f" ({err.context})"
    lines = text.splitlines()
    offending_line = lines[mark.line] if mark and mark.line < len(lines) else ""
    if "\t" in offending_line or "tab" in problem:
        hint = _TAB_HINT
    elif "${" in offending_line and "flow" in problem:
        hint = _FLOW_VARIABLE_HINT
    else:
        hint = next((hint for clue, hint in _YAML_HINTS if clue in problem), _FALLBACK_YAML_HINT)
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    return ConfigProblem(file, line, "", f"YAML syntax error: {problem} — {hint}", column=column)


_DUPLICATE_KEY = "appears twice in this section — the second one silently replaces the first; keep one"


def _duplicate_key_issues(node: yaml.Node, loc: Loc) -> list[_Issue]:
    """YAML keeps the last of two equal keys without a word; a config file must not."""
    issues = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or key == "<<":
                continue
            if key in seen:
                issues.append(_Issue((*loc, key, _AT_KEY), _DUPLICATE_KEY))
            seen.add(key)
            issues += _duplicate_key_issues(value_node, (*loc, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            issues += _duplicate_key_issues(item, (*loc, index))
    return issues


# ---- ${VAR} expansion ------------------------------------------------------------------------

# "$${NAME}" is a literal "${NAME}"; group 3 is empty when the closing brace is missing.
_REFERENCE = re.compile(r"\$(\$?)\{([^}]*)(\}?)")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BAD_REFERENCE = (
    "${ must be followed by a variable name (letters, digits, _) and } — write ${NAME}, or $${ for a literal ${"
)


@dataclass
class _Expansion:
    """Expands ``${VAR}`` in every string value, remembering what went wrong and what was inserted."""

    environ: Mapping[str, str]
    issues: list[_Issue] = field(default_factory=list)
    unresolved: set[Loc] = field(default_factory=set)  # values left unexpanded: skip their other checks
    values: set[str] = field(default_factory=set)  # inserted values: never to be shown in a message

    def expand(self, value: object, loc: Loc) -> object:
        if isinstance(value, dict):
            return {key: self.expand(item, (*loc, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.expand(item, (*loc, index)) for index, item in enumerate(value)]
        if isinstance(value, str):
            return _REFERENCE.sub(lambda match: self._replace(match, loc), value)
        return value

    def _replace(self, match: re.Match[str], loc: Loc) -> str:
        escaped, name, closing = match.groups()
        if escaped:
            return match.group(0)[1:]
        if not closing or not _VARIABLE_NAME.fullmatch(name):
            return self._problem(loc, match.group(0), _BAD_REFERENCE)
        if name not in self.environ:
            message = f"environment variable {name} is not set — export it, or remove the key"
            return self._problem(loc, match.group(0), message)
        value = self.environ[name]
        if value:
            self.values.add(value)
        return value

    def _problem(self, loc: Loc, original: str, message: str) -> str:
        self.issues.append(_Issue(loc, message))
        self.unresolved.add(loc)
        return original


# ---- validation and its messages -------------------------------------------------------------

_AT_KEY = "[key]"  # pydantic's marker for "the key itself", not its value


def _validate(data: object, *, skip: set[Loc]) -> tuple[Config | None, list[_Issue]]:
    """Validate with pydantic; its errors become plain-words issues (all of them, not the first)."""
    try:
        return Config.model_validate(data), []
    except ValidationError as err:
        # The inputs stay in this function: only "was it empty?" is asked of them.
        errors = err.errors(include_url=False)
    issues = [
        _Issue(tuple(error["loc"]), _explain_error(error))
        for error in errors
        # Cross-entry rules are re-checked on the raw data with exact lines; unexpanded values
        # already have their "variable not set" problem.
        if error["type"] != _REFERENCES_ERROR and tuple(error["loc"]) not in skip
    ]
    return None, issues


_PLAIN_MESSAGES = {
    "string_type": "must be text — put it in quotes if it looks like a number, a date or yes/no",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list — one item per line, each starting with '- '",
    "dict_type": "must be a section: `key: value` lines indented under it",
    "model_type": "must be a section: `key: value` lines indented under it",
    "model_attributes_type": "must be a section: `key: value` lines indented under it",
    "string_too_short": "must not be empty",
}
_TOP_LEVEL_NOT_A_MAPPING = (
    "the file must hold `key: value` settings (store:, watchlist:, sources:, alerts:) — "
    "run `fengxiang init` to see an example"
)
_MISSING_HINTS = {
    "name": "every watchlist entry needs a name, like: name: 蔚来",
    "query": "every watchlist entry needs a query, like: query: '蔚来 OR NIO'",
    "type": "say which kind of robot this is: type: wecom (or dingtalk, feishu, webhook)",
    "webhook": "add the robot's address from the environment, like: webhook: ${FENGXIANG_WECOM_WEBHOOK}",
}


def _explain_error(error: ErrorDetails) -> str:
    """A pydantic error in words a PR manager understands, with the fix."""
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "extra_forbidden":
        return _unknown_key_message(loc)
    if kind == "missing":
        field_name = str(loc[-1]) if loc else ""
        return f"is missing — {_MISSING_HINTS.get(field_name, f'add {field_name}: here')}"
    if kind == "model_type" and not loc:
        return _TOP_LEVEL_NOT_A_MAPPING
    if error.get("input", ...) is None:
        return "has no value — fill it in"
    if kind == "literal_error":
        return f"must be one of {error.get('ctx', {}).get('expected', 'the listed values')}"
    # Our own validators already speak plainly; pydantic's remaining messages are a fallback.
    return _PLAIN_MESSAGES.get(kind, error["msg"])


def _unknown_key_message(loc: Loc) -> str:
    allowed = _allowed_keys(loc[:-1])
    if not allowed:
        return "unknown key — remove it"
    suggestion = _did_you_mean(str(loc[-1]), allowed)
    if suggestion:
        return "unknown key" + suggestion
    return f"unknown key — the keys allowed here are: {', '.join(allowed)}"


def _allowed_keys(loc: Loc) -> list[str]:
    """The field names of the model found at ``loc`` (list indexes and dict keys stepped over)."""
    model: type[BaseModel] = Config
    parts = list(loc)
    while parts:
        field_info = model.model_fields.get(str(parts.pop(0)))
        if field_info is None:
            return []
        nested, in_container = _model_inside(field_info.annotation)
        if nested is None:
            return []
        if in_container:
            parts = parts[1:]  # the list index or the dict key
        model = nested
    return list(model.model_fields)


def _model_inside(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model, whether it sits in a list/dict) for annotations like X, list[X], dict[str, X], X | None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = get_origin(annotation)
    if origin in (list, dict):
        model, _ = _model_inside(get_args(annotation)[-1])
        return model, True
    if origin in (Union, UnionType, Annotated):
        for arg in get_args(annotation):
            model, in_container = _model_inside(arg)
            if model is not None:
                return model, in_container
    return None, False


# Shorter values could be ordinary words of a message; secrets and URLs are longer than this.
_MIN_REDACTED_LENGTH = 6


def _redact(message: str, inserted_values: set[str]) -> str:
    """Belt and braces: no value taken from the environment may reach a message."""
    for value in sorted(inserted_values, key=len, reverse=True):
        if len(value) >= _MIN_REDACTED_LENGTH:
            message = message.replace(value, "***")
    return message


# ---- where a problem is: YAML line numbers and key names -------------------------------------


def _format_key(loc: Loc) -> str:
    """``('watchlist', 0, 'query')`` → ``watchlist[0].query``; ``('sources', 'weibo')`` → ``sources.weibo``.

    The ``[key]`` marker pydantic adds for a bad dict key is dropped: the key is the subject.
    """
    key = ""
    for part in loc:
        if part == _AT_KEY:
            continue
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key


class _Locator:
    """Maps a loc path to the line of the YAML node it names, or of its nearest existing parent."""

    def __init__(self, file: str, root: yaml.Node) -> None:
        self.file = file
        self.root = root

    def problem(self, loc: Loc, message: str) -> ConfigProblem:
        return ConfigProblem(self.file, self.line_of(loc), _format_key(loc), message)

    def line_of(self, loc: Loc) -> int:
        node, line = self.root, self.root.start_mark.line + 1
        for part in loc:
            step = _child(node, part)
            if step is None:
                break
            line, node = step
        return line


def _child(node: yaml.Node, part: str | int) -> tuple[int, yaml.Node] | None:
    """(line, value node) one step down; for a mapping the line is the key's, where people look."""
    if isinstance(node, yaml.MappingNode):
        # The last of equal keys is the one YAML keeps.
        for key_node, value_node in reversed(node.value):
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                return key_node.start_mark.line + 1, value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item.start_mark.line + 1, item
    return None


# ---------------------------------------------------------------------------------------------
# `fengxiang init`
# ---------------------------------------------------------------------------------------------


@cache
def example_config_text() -> str:
    """The commented example config shipped with the package."""
    return resources.files("fengxiang").joinpath("example_config.yaml").read_text(encoding="utf-8")


def write_example_config(path: Path, *, force: bool = False) -> Path:
    """Write the commented example config to ``path``; an existing file is kept unless ``force``."""
    path = Path(path)
    if path.is_dir():
        message = "is a folder — give the path of the config file to write, like fengxiang.yaml"
        raise ConfigError([ConfigProblem(str(path), None, "", message)])
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # "x" refuses an existing file atomically; the example holds no secrets, so 0644 is fine.
        with path.open("w" if force else "x", encoding="utf-8") as out:
            out.write(example_config_text())
    except FileExistsError:
        message = "already exists — edit it, or run `fengxiang init --force` to replace it with the example"
        raise ConfigError([ConfigProblem(str(path), None, "", message)]) from None
    path.chmod(0o644)
    return path
