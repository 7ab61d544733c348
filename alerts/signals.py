"""A detector's finding: one rule firing for one brand (and one cluster, word, author or source)."""

from __future__ import annotations

from dataclasses import dataclass, field

from alerts.message import PostLine, Severity
from store.model import Mention

RULE_TITLES = {
    "negative_spike": "负面声量激增",
    "volume_spike": "声量异常上涨",
    "negative_ratio": "负面占比过高",
    "viral_post": "爆文",
    "big_account": "大V提及",
    "risk_words": "风险词预警",
    "copy_paste": "疑似水军刷屏",
    "source_failure": "数据源失效",
    "new_kol": "新KOL提及",
}
# Rules whose episodes end with a "已恢复" message; the others are events (a post, an account)
# whose incident simply closes when it leaves the window.
NOTIFIES_RESOLUTION = frozenset({"negative_spike", "volume_spike", "negative_ratio", "risk_words", "source_failure"})
# Rules whose fingerprint names a near-duplicate cluster: a later evaluation may see the same wave
# under another first member, so incidents are matched by shared evidence too.
CLUSTER_RULES = frozenset({"copy_paste"})


@dataclass(frozen=True)
class Signal:
    rule: str
    brand: str | None
    key: str  # what tells two incidents of one rule and brand apart: "" for window rules
    severity: Severity
    volume: float  # the headline number; doubling it escalates an open incident
    facts: list[tuple[str, str]] = field(default_factory=list)
    posts: list[PostLine] = field(default_factory=list)
    evidence: tuple[str, ...] = ()  # ids of the mentions behind it

    @property
    def fingerprint(self) -> str:
        return f"{self.rule}|{self.brand or ''}|{self.key}"

    @property
    def title(self) -> str:
        return RULE_TITLES[self.rule]


def post_line(mention: Mention, copies: int = 1) -> PostLine:
    author = mention.author
    return PostLine(
        text=mention.text,
        url=mention.url,
        author=author.name if author else None,
        followers=author.followers if author else None,
        engagement=mention.engagement,
        sentiment=mention.sentiment_label,
        created_at=mention.created_at.isoformat(),
        copies=copies,
    )
