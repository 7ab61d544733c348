"""One brand's authors over a window, scored, segmented and explained: what ``fengxiang kol``, the
dashboard's KOL page and the new-KOL alert rule all read.

The candidate rule: a KOL candidate scores at least ``kol.min_score`` (70 of 100) over at least
``kol.min_posts`` (2) mentions of the brand, has an audience of some size — ``kol.min_followers``
(10,000) followers or ``kol.min_reposters`` (5) accounts reposting them directly: percentiles alone
would crown the busiest of a small crowd — and is neither the brand's own account nor 疑似水军.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property

from fengxiang.config import KolConfig
from kol.activity import activities, engagement_rate, estimated_reach
from kol.graph import build_graph, name_key, pagerank, repost_hops
from kol.score import Components, score_authors
from kol.segments import (
    ADVOCATE,
    CRITIC,
    KOL,
    MEDIA,
    OFFICIAL,
    REGULAR,
    SEGMENTS,
    SPAM,
    copy_paste_bursts,
    is_media,
    is_official,
    is_suspected_spam,
    stance,
)
from store.base import AuthorPost, Store, Window
from store.model import Author

# Below this share of the brand's authors beaten, a component is not worth a line of explanation.
_NOTABLE = 0.9
# Fewer interactions per mention than one per 100,000 followers reads as bought or dormant followers:
# real audiences of big accounts react at 1 in 10,000 to 1 in 100.
HOLLOW_RATE = 1e-5
_HOLLOW_MIN_FOLLOWERS = 10_000


@dataclass(frozen=True)
class AuthorScore:
    """One author of the window, as the KOL list shows it."""

    author_id: str
    platform: str
    profile: Author | None
    segment: str
    candidate: bool
    stance: str  # 支持者 | 批评者 | 中立: where the author's mentions of the brand lean
    components: Components
    mentions: int
    median_engagement: float
    engagement_rate: float | None
    sentiments: dict[str, int]
    net_sentiment: float
    estimated_reach: int
    reposted_by: int  # distinct accounts that reposted the author directly
    copy_paste_burst: int  # the biggest copy-paste burst the author took part in (0: none)
    reasons: tuple[str, ...]  # why the author stands where they stand, in words
    mention_ids: tuple[str, ...]

    @property
    def score(self) -> float:
        return self.components.score

    @property
    def name(self) -> str:
        return (self.profile.name if self.profile else None) or self.author_id


@dataclass(frozen=True)
class KolReport:
    brand: str | None  # None: every watched mention
    since: datetime
    until: datetime
    authors: list[AuthorScore]  # every author of the window, best score first
    repost_edges: int  # (reposter, reposted) pairs in the window's repost graph

    @property
    def candidates(self) -> list[AuthorScore]:
        return [author for author in self.authors if author.candidate]

    def segment_counts(self) -> dict[str, int]:
        counts = Counter(author.segment for author in self.authors)
        return {segment: counts.get(segment, 0) for segment in SEGMENTS}

    def find(self, author_id: str) -> AuthorScore | None:
        return self._by_id.get(author_id)

    @cached_property
    def _by_id(self) -> dict[str, AuthorScore]:
        return {author.author_id: author for author in self.authors}


def build_report(
    store: Store,
    brand: str | None,
    since: datetime,
    until: datetime,
    settings: KolConfig,
    official: Collection[str] = (),
) -> KolReport:
    posts = store.author_posts(Window(since=since, until=until, brand=brand))
    by_author = activities(posts)
    graph = build_graph(posts, _name_resolver(store, posts))
    profiles = store.author_profiles(by_author)
    followers = {key: profile.followers for key, profile in profiles.items()}
    components = score_authors(by_author, followers, pagerank(graph))
    reposters = graph.reposters_of()
    bursts = copy_paste_bursts(posts, settings.spam_min_copies)
    scored = []
    for key, activity in by_author.items():
        profile = profiles.get(key)
        evidence = _Evidence(activity.mentions, components[key], len(reposters.get(key, ())))
        segment, candidate = _place(key, activity.platform, profile, evidence, bursts, settings, official)
        scored.append(
            AuthorScore(
                author_id=key,
                platform=activity.platform,
                profile=profile,
                segment=segment,
                candidate=candidate,
                stance=stance(activity),
                components=components[key],
                mentions=activity.mentions,
                median_engagement=activity.median_engagement,
                engagement_rate=engagement_rate(activity, followers.get(key)),
                sentiments=dict(activity.sentiments),
                net_sentiment=round(activity.net_sentiment, 3),
                estimated_reach=estimated_reach(followers.get(key), reposters.get(key, ()), followers),
                reposted_by=len(reposters.get(key, ())),
                copy_paste_burst=bursts.get(key, 0),
                reasons=(),
                mention_ids=tuple(activity.mention_ids),
            )
        )
    scored.sort(key=lambda author: (-author.score, author.author_id))
    explained = [_with_reasons(author, settings) for author in scored]
    return KolReport(brand, since, until, explained, len(graph.edges))


def _name_resolver(store: Store, posts: list[AuthorPost]) -> Callable[[str, str], str]:
    """Screen names in repost chains → author keys, looked up in the store once per platform."""
    names: dict[str, set[str]] = {}
    for post in posts:
        if post.text:
            names.setdefault(post.platform, set()).update(repost_hops(post.text))
    known = {platform: store.author_ids_by_name(platform, found) for platform, found in names.items()}

    def key_for_name(platform: str, name: str) -> str:
        return known.get(platform, {}).get(name) or name_key(platform, name)

    return key_for_name


@dataclass(frozen=True)
class _Evidence:
    mentions: int
    components: Components
    reposters: int

    def passes(self, settings: KolConfig) -> bool:
        """The candidate rule (see the module docstring)."""
        audience = self.components.followers >= settings.min_followers or self.reposters >= settings.min_reposters
        return self.components.score >= settings.min_score and self.mentions >= settings.min_posts and audience


def _place(
    key: str,
    platform: str,
    profile: Author | None,
    evidence: _Evidence,
    bursts: dict[str, int],
    settings: KolConfig,
    official: Collection[str],
) -> tuple[str, bool]:
    """The author's segment, and whether they are a KOL candidate (media can be; 官方 and 水军 never)."""
    if is_official(key, profile, official):
        return OFFICIAL, False
    if is_suspected_spam(key, profile.followers if profile else None, bursts, settings.spam_max_followers):
        return SPAM, False
    candidate = evidence.passes(settings)
    if is_media(platform, profile):
        return MEDIA, candidate
    return (KOL if candidate else REGULAR), candidate


def _with_reasons(author: AuthorScore, settings: KolConfig) -> AuthorScore:
    return replace(author, reasons=tuple(explain(author, settings)))


def explain(author: AuthorScore, settings: KolConfig) -> list[str]:
    """Why the author stands where they stand: the segment first, then each notable component."""
    c = author.components
    reasons = []
    if author.segment == OFFICIAL:
        reasons.append("配置为品牌官方账号（watchlist 的 official_accounts）")
    elif author.segment == SPAM:
        reasons.append(
            f"{author.copy_paste_burst} 个账号在 1 小时内发布几乎相同的原创内容，本账号粉丝 {c.followers:,}：疑似水军"
        )
    elif author.segment == MEDIA:
        reasons.append("媒体或机构认证账号" if author.platform != "news" else "新闻网站")
    if c.influence >= _NOTABLE and author.reposted_by:
        reasons.append(f"被 {author.reposted_by} 个账号直接转发，转发影响力高于 {_share(c.influence)} 的作者")
    if c.h_index >= 2:
        reasons.append(f"话题 h 指数 {c.h_index}：{c.h_index} 条提及各有至少 {c.h_index} 次转发+评论")
    if c.engagement >= _NOTABLE:
        reasons.append(f"单条互动中位数 {author.median_engagement:,.0f}，高于 {_share(c.engagement)} 的作者")
    if has_hollow_followers(author):
        reasons.append(
            f"粉丝 {c.followers:,}，单条互动中位数仅 {author.median_engagement:,.0f}：疑似僵尸粉或买粉，"
            f"触达只按实际互动计（{_share(c.reach)}）"
        )
    elif c.reach >= _NOTABLE:
        reasons.append(f"粉丝 {c.followers:,}，高于 {_share(c.reach)} 的作者")
    if author.mentions < settings.min_posts:
        reasons.append(f"仅 {author.mentions} 条提及：证据不足，暂不列为候选")
    elif author.segment == REGULAR and author.score >= settings.min_score:
        reasons.append(
            f"粉丝不足 {settings.min_followers:,} 且直接转发者不足 {settings.min_reposters} 个：受众太小，暂不列为候选"
        )
    if author.candidate:
        positive, negative = author.sentiments.get("positive", 0), author.sentiments.get("negative", 0)
        reasons.append(f"立场：{author.stance}（正面 {positive}，负面 {negative}，共 {author.mentions} 条）")
    return reasons


def has_hollow_followers(author: AuthorScore) -> bool:
    """Many followers and next to no reactions: bought, or long gone."""
    followers = author.components.followers
    return followers >= _HOLLOW_MIN_FOLLOWERS and author.median_engagement < followers * HOLLOW_RATE


def _share(percentile: float) -> str:
    """A percentile in words; the top author beats 99% (never "100%" of the others, which reads oddly)."""
    return f"{min(percentile, 0.99):.0%}"


def author_json(author: AuthorScore, rank: int) -> dict[str, object]:
    """One author in ``fengxiang kol --json`` (a stable shape: scripts and the dashboard read it)."""
    c = author.components
    profile = author.profile
    return {
        "rank": rank,
        "id": author.author_id,
        "name": author.name,
        "platform": author.platform,
        "followers": profile.followers if profile else None,
        "verified": profile.verified if profile else None,
        "verified_type": profile.verified_type if profile else None,
        "verified_reason": profile.verified_reason if profile else None,
        "description": profile.description if profile else None,
        "location": profile.location if profile else None,
        "segment": author.segment,
        "candidate": author.candidate,
        "stance": author.stance,
        "score": author.score,
        "components": {
            "reach": {
                "percentile": round(c.reach, 4),
                "followers": c.followers,
                "follower_percentile": round(c.follower_percentile, 4),
                "capped": c.reach_capped,
            },
            "engagement": {"percentile": round(c.engagement, 4), "typical": round(c.typical_engagement, 1)},
            "influence": {
                "percentile": round(c.influence, 4),
                "pagerank": round(c.pagerank, 8),
                "reposted_by": author.reposted_by,
            },
            "consistency": {
                "percentile": round(c.consistency, 4),
                "h_index": c.h_index,
                "reacted_days": c.reacted_days,
            },
        },
        "stats": {
            "mentions": author.mentions,
            "median_engagement": author.median_engagement,
            "engagement_rate": None if author.engagement_rate is None else round(author.engagement_rate, 6),
            "sentiment": {label: author.sentiments.get(label, 0) for label in ("negative", "neutral", "positive")},
            "net_sentiment": author.net_sentiment,
            "estimated_reach": author.estimated_reach,
        },
        "copy_paste_burst": author.copy_paste_burst,
        "hollow_followers": has_hollow_followers(author),
        "why": list(author.reasons),
    }


def report_json(report: KolReport, authors: list[AuthorScore]) -> dict[str, object]:
    """The report with the chosen authors (candidates, a segment, or all) ranked in that list."""
    candidates = report.candidates
    return {
        "brand": report.brand,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "authors_scored": len(report.authors),
        "repost_edges": report.repost_edges,
        "segments": report.segment_counts(),
        "candidates": len(candidates),
        "advocates": sum(1 for author in candidates if author.stance == ADVOCATE),
        "critics": sum(1 for author in candidates if author.stance == CRITIC),
        "authors": [author_json(author, rank) for rank, author in enumerate(authors, start=1)],
    }
