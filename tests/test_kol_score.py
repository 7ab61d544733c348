"""Each KOL score component pinned on small hand-made posts and graphs (kol/graph.py, kol/score.py)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from kol.activity import activities, engagement_rate, estimated_reach
from kol.graph import RepostGraph, build_graph, chain_of, name_key, pagerank, repost_hops
from kol.score import WEIGHTS, h_index, percentiles, score_authors, typical_engagements
from kol.segments import ADVOCATE, CRITIC, NEUTRAL, copy_paste_bursts, is_media, is_official, stance
from store.base import AuthorPost
from store.model import Author
from tests.conftest import SHANGHAI

T0 = datetime(2026, 11, 20, 9, tzinfo=SHANGHAI)


def post(
    mention_id: str,
    author: str | None,
    *,
    minutes: float = 0,
    reposts: int = 0,
    comments: int = 0,
    likes: int = 0,
    sentiment: str | None = "neutral",
    parent: str | None = None,
    parent_author: str | None = None,
    text: str | None = None,
    simhash: str | None = None,
) -> AuthorPost:
    return AuthorPost(
        mention_id=f"weibo:{mention_id}",
        platform="weibo",
        author_id=None if author is None else f"weibo:{author}",
        created_at=T0 + timedelta(minutes=minutes),
        reposts=reposts,
        comments=comments,
        likes=likes,
        sentiment=sentiment,
        simhash=simhash,
        parent_id=None if parent is None else f"weibo:{parent}",
        parent_author_id=None if parent_author is None else f"weibo:{parent_author}",
        text=text,
    )


def by_name(names: dict[str, str]):
    def key_for_name(platform: str, name: str) -> str:
        return names.get(name) or name_key(platform, name)

    return key_for_name


# -- repost chains ---------------------------------------------------------------------------------


def test_repost_hops_are_read_nearest_first_with_either_colon():
    assert repost_hops("好文//@阿杰:同意//@车评研究所：刹车真的有问题") == ["阿杰", "车评研究所"]
    assert repost_hops("没有转发链的原创") == []
    assert repost_hops(None) == []


def test_a_chain_runs_from_the_reposter_through_the_hops_to_the_root():
    names = by_name({"阿杰": "weibo:2", "老周": "weibo:9"})
    # fengxiang's crawler writes the root's hop last: the root's name resolves to parent_author.
    crawled = post("r1", "1", parent="p", parent_author="9", text="转发//@阿杰:对//@老周:原文")
    assert chain_of(crawled, names) == ["weibo:1", "weibo:2", "weibo:9"]
    # Weibo's own text stops before the root: the root comes from parent_author.
    weibo_shaped = post("r2", "1", parent="p", parent_author="9", text="转发//@阿杰:对")
    assert chain_of(weibo_shaped, names) == ["weibo:1", "weibo:2", "weibo:9"]
    # A direct repost whose text shows no hop (the root was deleted, or an import) still links to the root.
    direct = post("r3", "1", parent="p", parent_author="9")
    assert chain_of(direct, names) == ["weibo:1", "weibo:9"]
    unknown = post("r4", "1", parent="p", text="转发//@路人甲:嗯//@老周:原文", parent_author="9")
    assert chain_of(unknown, names) == ["weibo:1", "weibo:name:路人甲", "weibo:9"]
    assert chain_of(post("o", "1"), names) == []


def test_the_graph_counts_each_repost_once_per_hop_and_ignores_self_reposts():
    posts = [
        post("a", "1", parent="root", parent_author="9"),
        post("b", "1", parent="root", parent_author="9"),
        post("c", "2", parent="root", parent_author="9", text="转发//@1号:好//@老周:原文"),
        post("d", "9", parent="root", parent_author="9"),  # the author reposting their own post
    ]
    graph = build_graph(posts, by_name({"1号": "weibo:1", "老周": "weibo:9"}))
    assert graph.edges == {("weibo:1", "weibo:9"): 3, ("weibo:2", "weibo:1"): 1}
    assert graph.reposters_of() == {"weibo:9": {"weibo:1"}, "weibo:1": {"weibo:2"}}


# -- PageRank --------------------------------------------------------------------------------------


def dense_pagerank(graph: RepostGraph, damping: float = 0.85) -> dict[str, float]:
    """PageRank by solving the linear system directly: an independent check of the power iteration."""
    nodes = graph.nodes
    n = len(nodes)
    index = {node: i for i, node in enumerate(nodes)}
    transition = np.zeros((n, n))
    for (source, target), weight in graph.edges.items():
        transition[index[target], index[source]] += weight
    out = transition.sum(axis=0)
    for column in range(n):
        transition[:, column] = transition[:, column] / out[column] if out[column] else 1.0 / n
    rank = np.linalg.solve(np.eye(n) - damping * transition, np.full(n, (1 - damping) / n))
    rank /= rank.sum()
    return {node: rank[index[node]] for node in nodes}


@pytest.mark.parametrize(
    "edges",
    [
        {("a", "hub"): 1, ("b", "hub"): 1, ("c", "hub"): 1},
        {("a", "b"): 1, ("b", "c"): 1, ("c", "a"): 1},
        {("a", "b"): 3, ("a", "c"): 1, ("c", "b"): 2, ("d", "c"): 1, ("b", "e"): 1},
    ],
    ids=["star", "cycle", "weighted"],
)
def test_pagerank_matches_the_linear_solution(edges):
    graph = RepostGraph(edges)
    ranks = pagerank(graph)
    expected = dense_pagerank(graph)
    assert sum(ranks.values()) == pytest.approx(1.0)
    for node, value in expected.items():
        assert ranks[node] == pytest.approx(value, abs=1e-9)


def test_pagerank_of_a_star_by_hand():
    # Three reposters (dangling nothing: each points at the hub); the hub reposted nobody, so it spreads
    # its rank evenly. With r the hub's rank and s each reposter's: s = 0.05 + 0.85·r/4,
    # r = 0.05 + 0.85·(3s + r/4), and 3s + r = 1.
    ranks = pagerank(RepostGraph({("a", "hub"): 1, ("b", "hub"): 1, ("c", "hub"): 1}))
    s = ranks["a"]
    r = ranks["hub"]
    assert s == pytest.approx(0.15 / 4 + 0.85 * r / 4)
    assert r == pytest.approx(0.15 / 4 + 0.85 * (3 * s + r / 4))
    assert r > 2.5 * s


def test_a_vote_from_a_reposted_account_counts_more():
    # x and y are each reposted once; x's single reposter is itself reposted by five accounts.
    edges = {("fan", "x"): 1, ("lone", "y"): 1, **{(f"f{i}", "fan"): 1 for i in range(5)}}
    ranks = pagerank(RepostGraph(edges))
    assert ranks["x"] > ranks["y"]


def test_an_empty_graph_has_no_ranks():
    assert pagerank(RepostGraph({})) == {}


# -- h-index, percentiles, shrinkage ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], 0), ([0, 0], 0), ([1], 1), ([100], 1), ([5, 5, 5], 3), ([10, 8, 5, 4, 3], 4), ([3, 3, 3, 3, 3], 3)],
)
def test_h_index(values, expected):
    assert h_index(values) == expected


def test_percentiles_are_the_share_of_others_beaten_and_ties_beat_nobody():
    assert percentiles({"a": 0, "b": 0, "c": 5, "d": 9, "e": 9}) == {
        "a": 0.0,
        "b": 0.0,
        "c": 0.5,
        "d": 0.75,
        "e": 0.75,
    }
    assert percentiles({"only": 3}) == {"only": 1.0}
    assert percentiles({"x": (2, 1), "y": (2, 3), "z": (1, 9)}) == {"x": 0.5, "y": 1.0, "z": 0.0}


def test_one_lucky_post_is_pulled_toward_the_typical_author():
    posts = [post(f"m{i}", f"u{i}", likes=10) for i in range(9)]  # nine ordinary authors, 10 likes each
    posts.append(post("lucky", "lucky", likes=10_000))
    posts += [post(f"s{i}", "steady", likes=1_000) for i in range(8)]
    typical = typical_engagements(activities(posts))
    prior = math.log1p(10)
    assert typical["weibo:u0"] == pytest.approx(10)
    assert typical["weibo:lucky"] == pytest.approx(math.expm1((math.log1p(10_000) + 2 * prior) / 3))
    assert typical["weibo:lucky"] < 300  # one viral post: far below its 10,000
    assert typical["weibo:steady"] == pytest.approx(math.expm1((8 * math.log1p(1_000) + 2 * prior) / 10))
    assert typical["weibo:steady"] > typical["weibo:lucky"]


# -- the score -------------------------------------------------------------------------------------


def _crowd(size: int = 30) -> list[AuthorPost]:
    """Ordinary authors: one mention each, a handful of likes."""
    return [post(f"c{i}", f"c{i}", minutes=i, likes=i % 7, comments=i % 2) for i in range(size)]


def test_bought_followers_do_not_buy_reach():
    posts = _crowd()
    posts += [post(f"b{i}", "bought", minutes=60 * i, likes=1) for i in range(3)]
    followers = {f"weibo:c{i}": 50 + 10 * i for i in range(30)} | {"weibo:bought": 2_000_000}
    scores = score_authors(activities(posts), followers, {})
    bought = scores["weibo:bought"]
    assert bought.follower_percentile == 1.0
    assert bought.reach_capped
    assert bought.reach == max(bought.engagement, bought.influence) < 0.5
    assert bought.score < 40


def test_consistent_influence_beats_a_bigger_account_with_one_lucky_post():
    posts = _crowd()
    for i in range(5):  # the steady author: five mentions, each reposted by four accounts
        posts.append(post(f"k{i}", "steady", minutes=1440 * i, reposts=40, comments=30, likes=400))
        posts += [
            post(f"k{i}r{j}", f"c{j + 5 * i}", minutes=1440 * i + 5, parent=f"k{i}", parent_author="steady")
            for j in range(4)
        ]
    posts.append(post("viral", "star", reposts=5_000, comments=2_000, likes=40_000))
    posts += [post(f"vr{j}", f"c{j}", minutes=3, parent="viral", parent_author="star") for j in range(6)]
    followers = {f"weibo:c{i}": 100 for i in range(30)} | {"weibo:steady": 300_000, "weibo:star": 3_000_000}
    graph = build_graph(posts, by_name({}))
    scores = score_authors(activities(posts), followers, pagerank(graph))
    steady, star = scores["weibo:steady"], scores["weibo:star"]
    assert steady.h_index == 5 and star.h_index == 1
    assert steady.reacted_days == 5 and star.reacted_days == 1
    assert steady.consistency == 1.0
    assert steady.score > star.score
    assert steady.score == pytest.approx(
        100 * sum(weight * getattr(steady, name) for name, weight in WEIGHTS.items()), abs=0.05
    )


def test_authors_outside_the_graph_rank_with_the_least_reposted():
    posts = [post("a", "a"), post("b", "b"), post("r", "c", parent="a", parent_author="a")]
    scores = score_authors(activities(posts), {}, pagerank(build_graph(posts, by_name({}))))
    assert scores["weibo:a"].influence == 1.0
    assert scores["weibo:b"].influence == scores["weibo:c"].influence == 0.0


# -- per-author numbers ----------------------------------------------------------------------------


def test_activity_numbers_rate_and_reach():
    posts = [
        post("1", "k", reposts=10, comments=5, likes=85, sentiment="positive"),
        post("2", "k", minutes=60 * 30, likes=20, sentiment="negative"),
        post("3", "k", minutes=60 * 50, reposts=1, likes=2, sentiment="positive"),
    ]
    activity = activities(posts)["weibo:k"]
    assert activity.mentions == 3
    assert activity.median_engagement == 20
    assert activity.net_sentiment == pytest.approx(1 / 3)
    assert len(activity.reacted_days) == 2  # the 20-like post had no repost or comment
    assert engagement_rate(activity, 1_000) == pytest.approx(0.02)
    assert engagement_rate(activity, 0) is None
    assert estimated_reach(1_000, ["a", "b", "a", "z"], {"a": 300, "b": 50}) == 1_350


def test_stance_needs_a_clear_lean():
    def stance_of(*labels: str) -> str:
        return stance(activities([post(str(i), "x", sentiment=label) for i, label in enumerate(labels)])["weibo:x"])

    assert stance_of("positive", "positive", "neutral") == ADVOCATE
    assert stance_of("negative", "negative", "positive") == CRITIC
    assert stance_of("negative", "positive", "neutral", "neutral", "neutral") == NEUTRAL


# -- segments --------------------------------------------------------------------------------------


def test_official_accounts_match_by_key_bare_id_or_name():
    profile = Author(id="weibo:42", name="启航汽车")
    assert is_official("weibo:42", profile, ["weibo:42"])
    assert is_official("weibo:42", profile, ["42"])
    assert is_official("weibo:42", profile, ["启航汽车"])
    assert not is_official("weibo:42", profile, ["启航汽车售后"])
    assert not is_official("weibo:42", profile, [])


def test_media_are_blue_v_organisations_and_news_sites():
    assert is_media("weibo", Author(verified=True, verified_type=3))
    assert is_media("weibo", Author(verified=True, verified_type=2))  # another company's account
    assert is_media("news", None)
    assert not is_media("weibo", Author(verified=True, verified_type=0))  # a person (orange V)
    assert not is_media("weibo", None)


def test_a_copy_paste_burst_flags_its_accounts_but_not_reposters_or_slow_coincidences():
    script = "0123456789abcdef"
    posts = [post(f"w{i}", f"bot{i}", minutes=3 * i, simhash=script) for i in range(6)]  # 6 accounts in 15 min
    # The same words spread over a day by five accounts is not a burst.
    posts += [post(f"s{i}", f"slow{i}", minutes=300 * i, simhash="fedcba9876543210") for i in range(5)]
    # Reposts with the default words all look alike; they are never a script.
    posts += [
        post(f"r{i}", f"fan{i}", minutes=i, simhash="1111111111111111", parent="x", text="转发微博//@a:原文")
        for i in range(8)
    ]
    bursts = copy_paste_bursts(posts, min_authors=5)
    assert bursts == {f"weibo:bot{i}": 6 for i in range(6)}


def test_a_phrasing_passed_on_over_days_is_not_a_script_even_when_it_bunches_up_once():
    template = "2a6908402f42a05d"
    bunched = [post(f"b{i}", f"fan{i}", minutes=6 * i, simhash=template) for i in range(5)]  # 5 within 30 min
    spread = [post(f"s{i}", f"late{i}", minutes=600 + 240 * i, simhash=template) for i in range(7)]
    assert copy_paste_bursts(bunched + spread, min_authors=5) == {}
    assert set(copy_paste_bursts(bunched + spread[:1], min_authors=5)) == {f"weibo:fan{i}" for i in range(5)}


def test_a_script_copy_with_a_changed_ending_four_bits_away_still_belongs_to_it():
    script, variant = 0x7C5617E33704ABCE, 0x740617E33704AACE  # a " 支持！" ending moved four bits
    assert bin(script ^ variant).count("1") == 4
    posts = [post(f"w{i}", f"bot{i}", minutes=5 * i, simhash=f"{script:016x}") for i in range(4)]
    posts.append(post("w4", "bot4", minutes=22, simhash=f"{variant:016x}"))
    assert set(copy_paste_bursts(posts, min_authors=5)) == {f"weibo:bot{i}" for i in range(5)}


def test_posts_dated_without_a_clock_are_no_evidence_of_a_burst():
    midnight = T0.replace(hour=0)
    posts = [
        AuthorPost(
            f"weibo:d{i}", "weibo", f"weibo:old{i}", midnight, 0, 0, 0, "neutral", "0123456789abcdef", None, None, None
        )
        for i in range(6)
    ]
    assert copy_paste_bursts(posts, min_authors=5) == {}
