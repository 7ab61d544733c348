"""What each author did about one brand in a window: posts, engagement, sentiment, reach."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from store.base import AuthorPost


@dataclass
class Activity:
    """One author's mentions of the brand in the window."""

    author_id: str
    platform: str
    engagements: list[int] = field(default_factory=list)  # reposts + comments + likes, per mention
    interactions: list[int] = field(default_factory=list)  # reposts + comments, per mention (the h-index)
    reacted_days: set[date] = field(default_factory=set)  # local days with a mention someone reposted or answered
    sentiments: Counter[str] = field(default_factory=Counter)
    mention_ids: list[str] = field(default_factory=list)  # oldest first

    @property
    def mentions(self) -> int:
        return len(self.engagements)

    @property
    def median_engagement(self) -> float:
        return float(statistics.median(self.engagements))

    @property
    def net_sentiment(self) -> float:
        """(positive − negative) / mentions: +1 all praise, −1 all complaints."""
        return (self.sentiments["positive"] - self.sentiments["negative"]) / self.mentions


def activities(posts: Iterable[AuthorPost]) -> dict[str, Activity]:
    """Author key → activity, for every post with an author."""
    by_author: dict[str, Activity] = {}
    for post in posts:
        if post.author_id is None:
            continue
        activity = by_author.get(post.author_id)
        if activity is None:
            activity = by_author[post.author_id] = Activity(post.author_id, post.platform)
        interactions = post.reposts + post.comments
        activity.engagements.append(interactions + post.likes)
        activity.interactions.append(interactions)
        if interactions:
            activity.reacted_days.add(post.created_at.date())
        if post.sentiment:
            activity.sentiments[post.sentiment] += 1
        activity.mention_ids.append(post.mention_id)
    return by_author


def engagement_rate(activity: Activity, followers: int | None) -> float | None:
    """Median engagement per follower; None when the follower count is unknown or zero."""
    return activity.median_engagement / followers if followers else None


def estimated_reach(followers: int | None, reposters: Iterable[str], followers_of: Mapping[str, int | None]) -> int:
    """The audience that could have seen the author's posts: own followers plus the followers of every
    account that reposted them directly (an upper bound: audiences overlap)."""
    return (followers or 0) + sum(followers_of.get(reposter) or 0 for reposter in set(reposters))
