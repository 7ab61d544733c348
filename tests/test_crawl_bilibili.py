"""`fengxiang crawl bilibili` end to end against the sandbox's api.bilibili.com replica.

Each end-to-end test runs the real command (a `scrapy crawl` subprocess) against a SandboxServer on
loopback and checks what the store holds afterwards against the synthetic world's truth. The first
tests talk to the replica directly: it must hold crawlers to the real API's rules (signatures).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from crawlers.spiders.bilibili_shapes import mixin_key, search_url, wbi_keys_in
from fengxiang.brands import BrandTagger
from fengxiang.query import parse
from fengxiang.synthetic import demo_watchlist
from fengxiang.textmatch import fold
from nlp.clean import clean_post
from sandbox.bilibili import BilibiliReplica, BiliVideo, BiliWorld, build_bilibili
from sandbox.server import Request, Response, SandboxServer
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.crawl_helpers import TERMS, CrawlSite, last_evening, serve_site

slow = pytest.mark.slow


Site = CrawlSite[BiliWorld, BilibiliReplica]


def make_site(
    tmp_path: Path, world: BiliWorld, replica: BilibiliReplica | None = None, **source: Any
) -> Iterator[Site]:
    yield from serve_site("bilibili", tmp_path, world, replica or BilibiliReplica(world), **source)


@pytest.fixture(scope="module")
def world() -> BiliWorld:
    return build_bilibili(posts=1500, days=2, seed=11)


@pytest.fixture
def site(tmp_path: Path, world: BiliWorld) -> Iterator[Site]:
    yield from make_site(tmp_path, world)


def on_watchlist(world: BiliWorld) -> dict[str, BiliVideo]:
    """The visible videos a watchlist query matches: what a complete crawl must store."""
    tagger = BrandTagger([(entry["name"], entry["query"]) for entry in demo_watchlist()])
    return {
        f"bilibili:{video.bvid}": video for video in world.visible_videos() if tagger(fold(clean_post(video.text).text))
    }


def posts_of(mentions: dict[str, Mention]) -> set[str]:
    return {mention_id for mention_id, mention in mentions.items() if getattr(mention, "kind", "") != "comment"}


# -- the replica's rules ------------------------------------------------------------------------------------------


def test_the_replica_refuses_a_bad_signature_and_serves_a_good_one(world: BiliWorld) -> None:
    replica = BilibiliReplica(world)
    with SandboxServer([replica]) as server:
        nav = json.loads(urlopen(f"{server.base_url}/x/web-interface/nav").read())
        assert nav["code"] == -101  # a visitor's nav still carries the keys
        key = mixin_key(*wbi_keys_in(nav))
        good = json.loads(urlopen(search_url(server.base_url, "星河手机", 1, key, int(time.time()))).read())
        assert good["code"] == 0 and good["data"]["result"]
        assert any('<em class="keyword">星河手机</em>' in video["title"] for video in good["data"]["result"])
        bad = json.loads(urlopen(search_url(server.base_url, "星河手机", 1, "0" * 32, int(time.time()))).read())
        assert bad["code"] == -403
        replica.rotate_keys()
        stale = json.loads(urlopen(search_url(server.base_url, "星河手机", 1, key, int(time.time()))).read())
        assert stale["code"] == -403 and replica.bad_signatures == 2


def test_the_replica_serves_the_worlds_videos_newest_first(world: BiliWorld) -> None:
    found = world.search("星河手机")
    assert found and all("星河手机" in video.text.lower() for video in found)
    assert [video.created_at for video in found] == sorted((video.created_at for video in found), reverse=True)
    assert len({video.bvid for video in world.videos}) == len(world.videos)


# -- crawling -----------------------------------------------------------------------------------------------------


@slow
def test_a_crawl_stores_every_matching_video_field_by_field(site: Site) -> None:
    code, outcome = site.crawl()
    assert code == 0 and outcome["status"] == "ok", outcome
    stored = site.mentions()
    expected = on_watchlist(site.world)
    assert expected and posts_of(stored) == set(expected)
    for mention_id, truth in expected.items():
        mention = stored[mention_id]
        assert mention.text == clean_post(truth.text).text, mention_id
        assert mention.created_at == truth.created_at and mention.created_at.utcoffset() == timedelta(hours=8)
        assert mention.url == f"https://www.bilibili.com/video/{truth.bvid}"
        assert mention.platform == "bilibili" and getattr(mention, "kind", "") == "video"
        assert mention.author is not None
        assert mention.author.id == f"bilibili:{truth.owner.mid}" and mention.author.name == truth.owner.name
        assert mention.author.followers == truth.owner.followers
        owner = truth.owner
        assert (mention.author.verified, mention.author.verified_type) == (
            owner.official_type >= 0,
            owner.official_type,
        )
        metrics = mention.metrics
        assert (metrics.reposts, metrics.comments, metrics.likes) == (truth.shares, truth.replies_count, truth.likes)
        assert getattr(mention, "views", None) == truth.views and getattr(mention, "coins", None) == truth.coins
        assert mention.sentiment is not None and mention.brands and mention.simhash


@slow
def test_comments_of_popular_videos_become_mentions_of_their_video(site: Site) -> None:
    site.crawl()
    stored = site.mentions()
    expected = on_watchlist(site.world)
    popular = {mention_id for mention_id, video in expected.items() if video.engagement >= 100 and video.replies}
    comments = [mention for mention in stored.values() if getattr(mention, "kind", "") == "comment"]
    assert {comment.parent_id for comment in comments} == popular
    for comment in comments:
        video = expected[comment.parent_id or ""]
        truth = {f"bilibili:c{reply.rpid}": reply for reply in video.replies}[comment.id]
        assert comment.text == clean_post(truth.message).text and comment.metrics.likes == truth.likes
        assert comment.created_at == truth.created_at
        assert set(stored[comment.parent_id or ""].brands) <= set(comment.brands)
    for mention_id in popular:  # two pages of 20 (comments.max_pages) hold them all, pinned ones once
        served = {f"bilibili:c{reply.rpid}" for reply in expected[mention_id].replies}
        assert served == {comment.id for comment in comments if comment.parent_id == mention_id}


@slow
def test_the_hot_pass_refreshes_the_most_played_videos_beyond_the_newest_pages(
    tmp_path: Path, world: BiliWorld
) -> None:
    for site in make_site(tmp_path, world, max_pages=1, hot_pages=1):
        code, outcome = site.crawl()
        assert code == 0, outcome
        stored = posts_of(site.mentions())
        expected = on_watchlist(world)
        beyond_newest = set()
        for term in TERMS:
            newest = {f"bilibili:{video.bvid}" for video in world.search(term)[:20]}
            most_played = sorted(world.search(term), key=lambda video: video.views, reverse=True)[:20]
            hot = {f"bilibili:{video.bvid}" for video in most_played}
            assert (newest | hot) & set(expected) <= stored
            beyond_newest |= (hot - newest) & set(expected)
        assert beyond_newest, "the world needs matching hot videos beyond the first newest page"
        # The cursor is the newest page's: the hot pass never moves it past videos not read yet.
        newest_time = max(int(video.created_at.timestamp()) for video in world.search(TERMS[0])[:20])
        assert site.cursors()[TERMS[0]] == str(newest_time)


@slow
def test_a_second_crawl_doubles_nothing_and_stops_at_the_cursor(tmp_path: Path) -> None:
    world = build_bilibili(posts=1500, days=2, seed=11, hold_back=timedelta(hours=6), now=last_evening())
    for site in make_site(tmp_path, world):
        _, first = site.crawl()
        after_first = site.mentions()
        assert first["status"] == "ok" and all(site.cursors().values())
        terms = len({term for entry in demo_watchlist() for term in parse(entry["query"]).terms()})

        _, second = site.crawl()
        assert site.mentions().keys() == after_first.keys()
        assert second["detail"]["new"] == 0 and second["detail"]["pages"] <= 2 * terms  # newest and hot pass

        world.advance(360)
        _, third = site.crawl()
        new_videos = set(on_watchlist(world)) - posts_of(after_first)
        assert new_videos and posts_of(site.mentions()) == set(on_watchlist(world))
        assert third["detail"]["pages"] <= first["detail"]["pages"]


@slow
@pytest.mark.parametrize(
    ("mode", "words"),
    [("busy", "code -412"), ("http418", "HTTP 412"), ("visitor", "code -352"), ("truncated", "not valid JSON")],
)
def test_each_blocking_mode_fails_with_a_clear_recorded_reason(site: Site, mode: str, words: str) -> None:
    site.server.faults.set(mode)
    code, outcome = site.crawl()
    assert code == 1 and outcome["status"] == "failed"
    assert words in outcome["error"]
    assert not site.mentions()
    assert site.cursors() == dict.fromkeys(TERMS)
    store = SQLiteStore(site.folder / "crawl.db")
    try:
        (health,) = store.latest_health()
    finally:
        store.close()
    assert health.status == "failed" and words in (health.error or "")
    if mode in ("busy", "http418"):
        assert outcome["detail"]["throttled"] > 0  # backed off before giving up


@slow
def test_a_short_spell_of_412_is_backed_off_and_the_crawl_completes(site: Site) -> None:
    site.server.faults.set("busy", count=4, after=10)
    code, outcome = site.crawl()
    assert code == 0 and outcome["status"] == "ok", outcome
    assert outcome["detail"]["throttled"] == 4
    assert posts_of(site.mentions()) == set(on_watchlist(site.world))


@slow
def test_keys_that_go_stale_mid_crawl_are_fetched_again(tmp_path: Path, world: BiliWorld) -> None:
    replica = BilibiliReplica(world, rotate_keys_after=3)
    for site in make_site(tmp_path, world, replica):
        code, outcome = site.crawl()
        assert code == 0 and outcome["status"] == "ok", outcome
        assert replica.generation == 1 and replica.bad_signatures >= 1
        assert site.server.requests["/x/web-interface/nav"] == 2
        assert posts_of(site.mentions()) == set(on_watchlist(world))


class _WrongKeysReplica(BilibiliReplica):
    """A site whose nav advertises keys its search does not accept: signing cannot work."""

    def nav(self, request: Request) -> Response:
        wbi = {"img_url": f"https://i0.hdslb.com/bfs/wbi/{'a' * 32}.png", "sub_url": f"https://x/{'b' * 32}.png"}
        return Response.json({"code": -101, "message": "账号未登录", "ttl": 1, "data": {"wbi_img": wbi}})


@slow
def test_signatures_refused_even_with_fresh_keys_lose_the_pages_and_keep_the_cursors(
    tmp_path: Path, world: BiliWorld
) -> None:
    for site in make_site(tmp_path, world, _WrongKeysReplica(world)):
        _, outcome = site.crawl()
        assert outcome["status"] == "degraded" and "could not be read" in outcome["error"]
        assert site.server.requests["/x/web-interface/nav"] == 2  # fetched again once, not in a loop
        assert not site.mentions() and site.cursors() == dict.fromkeys(TERMS)


@slow
def test_lookback_bounds_the_first_crawl(tmp_path: Path, world: BiliWorld) -> None:
    for site in make_site(tmp_path, world, lookback="6h"):
        site.crawl()
        oldest = world.now - timedelta(hours=6, minutes=5)
        stored = [m for m in site.mentions().values() if getattr(m, "kind", "") != "comment"]
        assert stored and all(m.created_at >= oldest for m in stored)
        assert len(stored) < len(on_watchlist(world))
