"""Who an author is to the brand: 官方, 媒体, KOL, 普通用户 or 疑似水军; and where a KOL stands.

The order of the checks is the order of certainty: the brand's own accounts are configured, media
and organisations are verified as such by the platform, 水军 is inferred from behaviour, and KOL is
the candidate rule (kol/report.py) passed by an ordinary account.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import time, timedelta

from kol.activity import Activity
from nlp.simhash import NearDuplicateIndex
from store.base import AuthorPost
from store.model import Author

OFFICIAL = "官方"
MEDIA = "媒体"
KOL = "KOL"
REGULAR = "普通用户"
SPAM = "疑似水军"
SEGMENTS = (OFFICIAL, MEDIA, KOL, REGULAR, SPAM)
# English names for scripts and terminals without a Chinese input method.
SEGMENT_ALIASES = {"official": OFFICIAL, "media": MEDIA, "kol": KOL, "regular": REGULAR, "spam": SPAM}

ADVOCATE = "支持者"
CRITIC = "批评者"
NEUTRAL = "中立"
STANCE_MARGIN = 0.2  # net sentiment beyond ±0.2 takes a side

# Weibo's blue-V verified types: 1 government, 2 enterprise, 3 media, 4 campus, 5 website, 6 app,
# 7 organisation. 0 is a person (orange V); -1 and absent are unverified.
ORGANISATION_TYPES = frozenset({1, 2, 3, 4, 5, 6, 7})
NEWS_PLATFORMS = frozenset({"news"})
SPAM_BURST = timedelta(hours=1)
SPAM_CONCENTRATION = 0.8  # the burst holds at least this share of the script's accounts
# A script's copies vary their endings ("！", "[赞]", " 支持！"): one more bit than the 3 that count two
# posts as the same voice elsewhere, as the concentration test keeps looser matches honest.
SPAM_DISTANCE = 4
_MIDNIGHT = time(0, 0)


def is_official(author_id: str, profile: Author | None, official_accounts: Collection[str]) -> bool:
    """Configured by author key ("weibo:123"), bare id ("123") or screen name."""
    if not official_accounts:
        return False
    names = {author_id, author_id.split(":", 1)[-1]}
    if profile is not None and profile.name:
        names.add(profile.name)
    return not names.isdisjoint(official_accounts)


def is_media(platform: str, profile: Author | None) -> bool:
    verified_type = profile.verified_type if profile is not None else None
    return platform in NEWS_PLATFORMS or verified_type in ORGANISATION_TYPES


def copy_paste_bursts(posts: Iterable[AuthorPost], min_authors: int) -> dict[str, int]:
    """Authors of a script: originals that ``min_authors`` or more distinct accounts posted
    near-identically within an hour, where that hour holds most of everyone who ever posted them
    → the size of the biggest such burst they took part in.

    "Most" (SPAM_CONCENTRATION) tells a script from a popular phrasing: a 水军 wave is posted at
    once, while a complaint template people pass on spreads over days and may bunch up briefly.
    Left out: reposts and comments (many people reposting one post with the default words 转发微博
    is how reposting looks, not a script), and posts whose time has no clock (older posts in list
    answers show only a date, read as midnight: they would all look posted at once)."""
    clusters = _near_duplicate_originals(posts)
    burst_of: dict[str, int] = {}
    for members in clusters:
        authors = {post.author_id for post in members}
        if len(authors) < min_authors:
            continue
        burst = _densest_hour(members)
        if len(burst) >= min_authors and len(burst) >= SPAM_CONCENTRATION * len(authors):
            for author_id in burst:
                burst_of[author_id] = max(len(burst), burst_of.get(author_id, 0))
    return burst_of


def _near_duplicate_originals(posts: Iterable[AuthorPost]) -> list[list[AuthorPost]]:
    """Originals grouped by SimHash cluster; each distinct hash enters the index once (copies of a
    script often share one exactly, and the index is the costly part)."""
    by_hash: dict[str, list[AuthorPost]] = {}
    for post in posts:
        if post.author_id is None or post.parent_id is not None or post.text is not None or not post.simhash:
            continue
        if post.created_at.time() != _MIDNIGHT and int(post.simhash, 16):
            by_hash.setdefault(post.simhash, []).append(post)
    index = NearDuplicateIndex(max_distance=SPAM_DISTANCE)
    clusters: dict[str, list[AuthorPost]] = {}
    for simhash, members in by_hash.items():
        clusters.setdefault(index.add(simhash, int(simhash, 16)), []).extend(members)
    return list(clusters.values())


def _densest_hour(members: list[AuthorPost]) -> set[str]:
    """The distinct authors of the hour of the cluster that holds the most of them."""
    members = sorted(members, key=lambda post: post.created_at)
    best: set[str] = set()
    start = 0
    for end, post in enumerate(members):
        while post.created_at - members[start].created_at > SPAM_BURST:
            start += 1
        authors = {member.author_id for member in members[start : end + 1] if member.author_id is not None}
        if len(authors) > len(best):
            best = authors
    return best


def is_suspected_spam(author_id: str, followers: int | None, bursts: Mapping[str, int], max_followers: int) -> bool:
    """In a copy-paste burst, with few followers (an unknown count counts as few)."""
    return author_id in bursts and (followers or 0) <= max_followers


def stance(activity: Activity) -> str:
    net = activity.net_sentiment
    if net >= STANCE_MARGIN:
        return ADVOCATE
    if net <= -STANCE_MARGIN:
        return CRITIC
    return NEUTRAL
