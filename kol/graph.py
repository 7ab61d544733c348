"""The repost graph of one brand's mentions, and PageRank over it.

An edge runs from the account that reposted to the account it reposted, weighted by how often: a
repost is a vote of attention, and PageRank lets votes from accounts that are themselves reposted
count more. Edges come from two places, as Weibo shapes a chain:

* ``retweeted_status`` is the ROOT of a chain: the crawler keeps its author as ``parent_author``;
* the hops in between live only in the repost's text, as ``comment//@B:B's words//@C:C's words``:
  the reposter reposted B, B reposted C, … and the last hop reposted the root.

Hops name accounts by screen name; names the store does not know become nodes of their own
(``weibo:name:某某``, the key the store gives an author known only by name).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from store.base import AuthorPost
from store.model import account_key, repost_hops

DAMPING = 0.85  # the usual PageRank damping: a reader follows a repost 85% of the time
_TOLERANCE = 1e-10
_MAX_ITERATIONS = 200


def name_key(platform: str, name: str) -> str:
    """The key of an account known only by its screen name (the store's own convention)."""
    key = account_key(None, name, platform)
    assert key is not None  # a name always makes a key
    return key


@dataclass(frozen=True)
class RepostGraph:
    edges: Mapping[tuple[str, str], int]  # (reposter, reposted) -> reposts

    @property
    def nodes(self) -> list[str]:
        return sorted({node for edge in self.edges for node in edge})

    def reposters_of(self) -> dict[str, set[str]]:
        """Each reposted account → the accounts that reposted it directly."""
        reposters: dict[str, set[str]] = {}
        for source, target in self.edges:
            reposters.setdefault(target, set()).add(source)
        return reposters


def chain_of(post: AuthorPost, key_for_name: Callable[[str, str], str]) -> list[str]:
    """The accounts a repost passes through, reposter first and root last ([] for an original)."""
    if post.author_id is None or (post.parent_id is None and post.text is None):
        return []
    hops = [key_for_name(post.platform, name) for name in repost_hops(post.text)]
    # fengxiang's crawler writes the root's hop last (its name resolves to the root's author); Weibo's
    # own text stops at the last hop before the root, so the root is added from ``parent_author``.
    if post.parent_author_id is not None and (not hops or hops[-1] != post.parent_author_id):
        hops.append(post.parent_author_id)
    return [post.author_id, *hops]


def build_graph(posts: Iterable[AuthorPost], key_for_name: Callable[[str, str], str]) -> RepostGraph:
    """Every repost's chain as edges; an account reposting itself adds nothing."""
    edges: Counter[tuple[str, str]] = Counter()
    for post in posts:
        chain = chain_of(post, key_for_name)
        for source, target in itertools.pairwise(chain):
            if source != target:
                edges[(source, target)] += 1
    return RepostGraph(dict(edges))


def pagerank(graph: RepostGraph, damping: float = DAMPING) -> dict[str, float]:
    """Weighted PageRank, summing to 1 over the graph's nodes. An account that reposted nobody (a
    dangling node) spreads its rank evenly, as a reader who jumps anywhere."""
    nodes = graph.nodes
    if not nodes:
        return {}
    index = {node: i for i, node in enumerate(nodes)}
    size = len(nodes)
    sources = np.fromiter((index[s] for s, _ in graph.edges), dtype=np.int64, count=len(graph.edges))
    targets = np.fromiter((index[t] for _, t in graph.edges), dtype=np.int64, count=len(graph.edges))
    weights = np.fromiter(graph.edges.values(), dtype=np.float64, count=len(graph.edges))
    out_weight = np.bincount(sources, weights=weights, minlength=size)
    share = weights / out_weight[sources]  # the part of a source's rank each of its edges carries
    dangling = out_weight == 0
    rank = np.full(size, 1.0 / size)
    for _ in range(_MAX_ITERATIONS):
        passed = np.bincount(targets, weights=rank[sources] * share, minlength=size)
        spread = rank[dangling].sum() / size
        new_rank = (1.0 - damping) / size + damping * (passed + spread)
        converged = np.abs(new_rank - rank).sum() < _TOLERANCE
        rank = new_rank
        if converged:
            break
    return {node: float(rank[i]) for node, i in index.items()}
