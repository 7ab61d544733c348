"""The influencers (KOL, 意见领袖) planted in the sandbox: who they are, what they post, who reposts them."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

import pytest

from fengxiang.brands import BrandTagger
from fengxiang.query import parse
from fengxiang.synthetic import BEIJING, BRANDS
from fengxiang.textmatch import fold
from nlp.analyzer import Analyzer, AnalyzerSettings
from nlp.clean import clean_post
from sandbox import scenario as scenario_module
from sandbox.scenario import (
    BIG_ACCOUNT_FOLLOWERS,
    Scenario,
    WeiboComment,
    WeiboPost,
    build_scenario,
    search_needle,
)

NOW = datetime(2026, 11, 23, 20, 0, tzinfo=BEIJING)
FULL, SMALL = 3000, 400
CRITIC_BRAND = BRANDS[0].name  # 启航汽车
REPOST_WINDOW = timedelta(hours=6)
SECOND_HOP = re.compile(r"(.*)//@([^:]+):(.*)")


@pytest.fixture(scope="module")
def full() -> Scenario:
    return build_scenario(FULL, now=NOW)


@pytest.fixture(scope="module", params=[FULL, SMALL])
def scenario(request: pytest.FixtureRequest, full: Scenario) -> Scenario:
    return full if request.param == FULL else build_scenario(SMALL, now=NOW)


def originals_by(scenario: Scenario, uid: str) -> list[WeiboPost]:
    """The account's own posts, oldest first."""
    return [post for post in reversed(scenario.posts) if post.user.id == uid and post.retweeted is None]


def reposts_of(scenario: Scenario, root: WeiboPost) -> list[WeiboPost]:
    """The reposts of ``root``, oldest first."""
    return [post for post in reversed(scenario.posts) if post.retweeted is root]


def wave_accounts(scenario: Scenario) -> set[str]:
    return {post.user.id for post in scenario.posts if post.mid in scenario.wave_mids}


def tagger(scenario: Scenario) -> BrandTagger:
    return BrandTagger([(entry["name"], entry["query"]) for entry in scenario.watchlist])


# -------------------------------------------------------------------------------------------- accounts


def test_every_brand_has_a_verified_influencer_below_big_account_size(scenario: Scenario) -> None:
    assert list(scenario.kol_uids) == [brand.name for brand in BRANDS]
    assert scenario.summary()["planted"]["kol_uids"] == scenario.kol_uids  # type: ignore[index]
    names = Counter(user.screen_name for user in scenario.users.values())
    queries = [parse(entry["query"]) for entry in scenario.watchlist]
    for uid in scenario.kol_uids.values():
        user = scenario.users[uid]
        assert user.verified and user.verified_type == 0 and user.verified_reason.endswith("博主")
        assert 150_000 <= user.followers < BIG_ACCOUNT_FOLLOWERS and user.followers % 1000 == 0
        assert uid not in scenario.big_accounts and uid != scenario.bought_follower_uid
        assert user.description and " " in user.location
        assert names[user.screen_name] == 1
        assert not any(query.matches(user.screen_name) for query in queries), user.screen_name
        # …nor does Weibo's fuzzy search show the account for a brand
        assert not any(search_needle(brand.name) in user.screen_name.lower() for brand in BRANDS)


def test_influencer_posts_name_their_brand_only_and_are_found_by_its_search(scenario: Scenario) -> None:
    tag = tagger(scenario)
    for brand, uid in scenario.kol_uids.items():
        posts = originals_by(scenario, uid)
        assert len(posts) >= 3
        assert {post.mid for post in posts} <= {post.mid for post in scenario.search(brand)}
        for post in posts:
            assert tag(fold(clean_post(post.full_text).text)) == [brand], post.text
            assert 800 <= post.likes <= 4000 and 100 <= post.comments <= 600
            assert post.reposts >= len(reposts_of(scenario, post))
            assert scenario.hot_comments(post.mid)


def test_at_full_scale_influencers_post_all_along_and_are_reposted_often(full: Scenario) -> None:
    for uid in full.kol_uids.values():
        posts = originals_by(full, uid)
        assert 5 <= len(posts) <= 6
        assert posts[-1].created_at - posts[0].created_at > timedelta(days=1)
        assert all(8 <= len(reposts_of(full, post)) <= 20 for post in posts)


def test_the_critic_complains_and_the_others_mostly_praise(full: Scenario) -> None:
    """Judged by the project's own analyzer, as the crawler will label the posts."""
    analyzer = Analyzer(AnalyzerSettings(brands=tuple((entry["name"], entry["query"]) for entry in full.watchlist)))
    for brand, uid in full.kol_uids.items():
        posts = originals_by(full, uid)
        labels = Counter(analysis.sentiment["label"] for analysis in analyzer.analyze([p.text for p in posts]))
        if brand == CRITIC_BRAND:
            assert labels["negative"] > len(posts) / 2 and not labels["positive"], labels
        else:
            assert labels["positive"] > labels["negative"], (brand, labels)


# --------------------------------------------------------------------------------------------- reposts


def test_reposts_come_from_distinct_small_accounts_soon_after_the_post(scenario: Scenario) -> None:
    bots = wave_accounts(scenario)
    assert bots
    for brand, uid in scenario.kol_uids.items():
        roots = originals_by(scenario, uid)
        assert any(reposts_of(scenario, root) for root in roots), brand
        for root in roots:
            chain = reposts_of(scenario, root)
            reposters = {post.user.id for post in chain}
            assert len(reposters) == len(chain)
            assert not reposters & (bots | {scenario.bought_follower_uid})
            for post in chain:
                assert post.user.followers < 10_000 and post.engagement <= 10
                assert root.created_at < post.created_at <= root.created_at + REPOST_WINDOW
                assert post.expected_parent_id == f"weibo:{root.mid}" and not post.retweeted_deleted


def test_second_hops_carry_the_middle_repost_in_their_text(scenario: Scenario) -> None:
    second_hops = first_hops = 0
    for uid in scenario.kol_uids.values():
        for root in originals_by(scenario, uid):
            chain = reposts_of(scenario, root)
            by_name = {post.user.screen_name: post for post in chain}
            for index, post in enumerate(chain):
                hop = SECOND_HOP.fullmatch(post.text)
                if hop is None:
                    first_hops += 1
                    assert post.reposts == sum(f"//@{post.user.screen_name}:" in later.text for later in chain)
                    continue
                second_hops += 1
                own, name, quoted = hop.groups()
                middle = by_name[name]
                assert middle in chain[:index] and middle.text == quoted and "//@" not in quoted
                assert post.full_text == f"{own}//@{name}:{middle.text}//@{root.user.screen_name}:{root.text}"
    assert second_hops and 0.1 < second_hops / (first_hops + second_hops) < 0.4


# ------------------------------------------------------------------------------------ the rest holds


def test_posts_stay_newest_first_by_mid_and_by_time(scenario: Scenario) -> None:
    mids = [int(post.mid) for post in scenario.posts]
    times = [post.created_at for post in scenario.posts]
    assert mids == sorted(set(mids), reverse=True)
    assert times == sorted(times, reverse=True)


def test_building_twice_gives_the_same_world() -> None:
    def fingerprint(scenario: Scenario) -> tuple:
        posts = [(p.mid, p.user, p.text, p.created_at, p.engagement, p.expected_parent_id) for p in scenario.posts]
        comments = {
            mid: [(c.id, c.user.id, c.text, c.likes) for c in found] for mid, found in scenario.comments.items()
        }
        return posts, comments, scenario.users, scenario.kol_uids

    assert fingerprint(build_scenario(SMALL, now=NOW)) == fingerprint(build_scenario(SMALL, now=NOW))


@pytest.mark.parametrize("posts", [FULL, SMALL])
def test_planting_influencers_changes_nothing_else(monkeypatch: pytest.MonkeyPatch, posts: int) -> None:
    planted = build_scenario(posts, now=NOW)
    monkeypatch.setattr(scenario_module._Builder, "_influencers", lambda self, free, reposters: ({}, []))
    bare = build_scenario(posts, now=NOW)

    kol_uids = set(planted.kol_uids.values())
    kol_mids = {p.mid for p in planted.posts if (p.retweeted or p).user.id in kol_uids}
    assert [describe(p) for p in planted.posts if p.mid not in kol_mids] == [describe(p) for p in bare.posts]
    assert {uid: user for uid, user in planted.users.items() if uid not in kol_uids} == bare.users
    # Comment ids count through the whole scenario, so they move; everything else stays.
    assert {mid: list(map(describe_comment, planted.comments[mid])) for mid in bare.comments} == {
        mid: list(map(describe_comment, found)) for mid, found in bare.comments.items()
    }
    for fact in ("big_accounts", "wave_mids", "incident_mids", "bought_follower_uid", "fuzzy_noise_mids"):
        assert getattr(planted, fact) == getattr(bare, fact), fact
    assert planted.deleted_root_mids == bare.deleted_root_mids and planted.long_mids == bare.long_mids


def describe(post: WeiboPost) -> tuple:
    return (post.mid, post.user, post.full_text, post.created_at, post.reposts, post.comments, post.likes, post.pics)


def describe_comment(comment: WeiboComment) -> tuple:
    replies = tuple((reply.user, reply.text, reply.created_at) for reply in comment.replies)
    return comment.user, comment.text, comment.created_at, comment.likes, comment.floor, replies
