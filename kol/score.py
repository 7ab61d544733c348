"""The KOL score: four percentiles among the brand's authors of the window, weighted into 0–100.

Every component is a percentile — the share of the brand's other authors this one beats — so a
score means the same for a brand with 50 authors and one with 50,000, and no raw unit (followers
in the millions, engagement in the tens) drowns the others:

* reach: followers, but never above the better of the engagement and influence percentiles: an
  audience that never reacts (bought followers, a dormant account) is not reach;
* engagement: the typical reposts + comments + likes per mention — the median on a log scale,
  pulled toward the brand's typical author as if by two ordinary mentions, so one lucky post
  does not make an author look reliably engaging;
* influence: PageRank in the repost graph (kol/graph.py): reposted by many, or by the reposted;
* consistency: the topic h-index (h mentions with at least h reposts + comments each), then the
  number of days with a mention someone reacted to.

score = 100 × (0.20 reach + 0.25 engagement + 0.30 influence + 0.25 consistency).
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kol.activity import Activity

WEIGHTS = {"reach": 0.20, "engagement": 0.25, "influence": 0.30, "consistency": 0.25}
SHRINK_MENTIONS = 2  # the prior counts as this many ordinary mentions

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Components:
    """One author's score and everything it is made of."""

    reach: float  # percentiles, 0–1
    engagement: float
    influence: float
    consistency: float
    followers: int
    typical_engagement: float  # the shrunk typical engagement the engagement percentile ranks
    pagerank: float
    h_index: int
    reacted_days: int
    follower_percentile: float  # before the cap: reach is this, at most the better of engagement and influence
    score: float = field(init=False)  # 0–100, from the four percentiles and WEIGHTS

    def __post_init__(self) -> None:
        weighted = sum(weight * getattr(self, name) for name, weight in WEIGHTS.items())
        object.__setattr__(self, "score", round(100 * weighted, 1))  # frozen: set once, here

    @property
    def reach_capped(self) -> bool:
        return self.follower_percentile > self.reach


def h_index(interactions: Sequence[int]) -> int:
    """The largest h with h values of at least h."""
    ranked = sorted(interactions, reverse=True)
    return sum(1 for rank, value in enumerate(ranked, start=1) if value >= rank)


def percentiles(values: Mapping[K, Any]) -> dict[K, float]:
    """Each key's share of the other keys it strictly beats (ties beat nobody among themselves).

    Values must be mutually comparable (numbers, or tuples of numbers)."""
    if len(values) <= 1:
        return dict.fromkeys(values, 1.0)
    ordered = sorted(values.values())
    others = len(values) - 1
    return {key: bisect.bisect_left(ordered, value) / others for key, value in values.items()}


def typical_engagements(activities: Mapping[str, Activity]) -> dict[str, float]:
    """Median log engagement per author, shrunk toward the median author's (see the module docstring)."""
    medians = {key: statistics.median(map(math.log1p, a.engagements)) for key, a in activities.items()}
    if not medians:
        return {}
    prior = statistics.median(medians.values())
    return {
        key: math.expm1((a.mentions * medians[key] + SHRINK_MENTIONS * prior) / (a.mentions + SHRINK_MENTIONS))
        for key, a in activities.items()
    }


def score_authors(
    activities: Mapping[str, Activity], followers: Mapping[str, int | None], ranks: Mapping[str, float]
) -> dict[str, Components]:
    """Components for every author of ``activities``; ``ranks`` is PageRank (absent: never reposted)."""
    typical = typical_engagements(activities)
    h_indexes = {key: h_index(a.interactions) for key, a in activities.items()}
    floor = min(ranks.values(), default=0.0)  # an author outside the graph ranks with the least reposted
    pageranks = {key: ranks.get(key, floor) for key in activities}
    reach = percentiles({key: followers.get(key) or 0 for key in activities})
    engagement = percentiles(typical)
    influence = percentiles(pageranks)
    consistency = percentiles({key: (h_indexes[key], len(a.reacted_days)) for key, a in activities.items()})
    components = {}
    for key, activity in activities.items():
        components[key] = Components(
            reach=min(reach[key], max(engagement[key], influence[key])),
            engagement=engagement[key],
            influence=influence[key],
            consistency=consistency[key],
            followers=followers.get(key) or 0,
            typical_engagement=typical[key],
            pagerank=pageranks[key],
            h_index=h_indexes[key],
            reacted_days=len(activity.reacted_days),
            follower_percentile=reach[key],
        )
    return components
