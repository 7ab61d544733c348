"""What an alert says, independent of where it goes: the record the outbox stores and every channel renders.

Fields marked *untrusted* come from the internet (post text, author names, post URLs) and must be
neutralised by each channel's renderer; the rest is built by fengxiang itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")  # ascending
SEVERITY_LABELS: dict[str, str] = {"critical": "红色", "high": "橙色", "medium": "黄色", "low": "蓝色"}
MessageKind = Literal["opened", "escalated", "resolved", "test", "report"]
KIND_LABELS: dict[str, str] = {
    "opened": "新预警",
    "escalated": "预警升级",
    "resolved": "已恢复",
    "test": "测试消息",
    "report": "舆情日报",  # the daily summary: facts are its key numbers, posts the negatives needing action
}


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class PostLine:
    """One post shown under an alert (the evidence)."""

    text: str  # untrusted
    url: str | None  # untrusted: only http(s) links may be rendered as links
    author: str | None  # untrusted
    followers: int | None
    engagement: int  # reposts + comments + likes
    sentiment: str | None
    created_at: str  # ISO 8601 with offset
    copies: int = 1  # size of its near-duplicate cluster in the window: a copy-paste wave shows as one line


@dataclass(frozen=True)
class AlertMessage:
    kind: MessageKind
    title: str  # the rule in words, like "负面声量激增"
    severity: Severity
    brand: str | None  # the watchlist entry's name (None for source failures and tests)
    rule: str  # negative_spike | volume_spike | … | test
    facts: list[tuple[str, str]] = field(default_factory=list)  # ("负面提及", "42（基线 9.5，×4.4）")
    posts: list[PostLine] = field(default_factory=list)
    link: str | None = None  # the incident on the dashboard, when a dashboard_url is configured
    incident_id: int | None = None
    at: str = ""  # ISO 8601: when the event happened

    @property
    def mentions_on_duty(self) -> bool:
        """Critical incidents (opened or escalated to 红色) call the on-duty members by name."""
        return self.severity == "critical" and self.kind in ("opened", "escalated")

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> AlertMessage:
        return cls(
            **{
                **data,
                "facts": [tuple(fact) for fact in data.get("facts", [])],
                "posts": [PostLine(**post) for post in data.get("posts", [])],
            }
        )


DeliveryOutcome = Literal["sent", "retry", "failed"]


@dataclass(frozen=True)
class Delivery:
    """A channel's answer to one send: sent, worth retrying, or failed for good."""

    outcome: DeliveryOutcome
    detail: str  # the robot's answer in words, like "errcode 45009: api freq out of limit" — never the URL
    retry_after: float | None = None  # seconds, when the answer says how long to wait (rate limits)
