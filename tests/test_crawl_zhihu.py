"""`fengxiang crawl zhihu` end to end against the sandbox's www.zhihu.com replica, signing in the real Chromium.

Each end-to-end test runs the real command (a `scrapy crawl` subprocess that opens the replica's search
page in headless Chromium and has its script sign every API request) against a SandboxServer on loopback,
and checks what the store holds afterwards against the synthetic world's truth. The first tests talk to
the replica directly: it must hold crawlers to the real API's rules (signatures bound to d_c0).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request as UrlRequest
from urllib.request import urlopen

import pytest
from scrapy.http import TextResponse
from scrapy.utils.project import get_project_settings

from crawlers.login import CHROMIUM
from crawlers.spiders.zhihu import ZhihuSpider
from crawlers.spiders.zhihu_shapes import search_path
from fengxiang.brands import BrandTagger
from fengxiang.query import parse
from fengxiang.synthetic import demo_watchlist
from fengxiang.textmatch import fold
from nlp.clean import clean_post
from sandbox.server import Request, Response, SandboxServer
from sandbox.zhihu import SIGN_FUNCTION, ZhihuContent, ZhihuReplica, ZhihuWorld, build_zhihu, zse96
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.crawl_helpers import TERMS, CrawlSite, last_evening, serve_site

slow = pytest.mark.slow
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} to sign requests with")
API_URL = "https://www.zhihu.com/api/v4/search_v3"


Site = CrawlSite[ZhihuWorld, ZhihuReplica]


def make_site(tmp_path: Path, world: ZhihuWorld, replica: ZhihuReplica | None = None, **source: Any) -> Iterator[Site]:
    yield from serve_site("zhihu", tmp_path, world, replica or ZhihuReplica(world), **source)


@pytest.fixture(scope="module")
def world() -> ZhihuWorld:
    return build_zhihu(posts=3000, days=2, seed=11)


@pytest.fixture
def site(tmp_path: Path, world: ZhihuWorld) -> Iterator[Site]:
    yield from make_site(tmp_path, world)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory, world: ZhihuWorld) -> Iterator[tuple[Site, dict[str, Any]]]:
    """One complete crawl, for the tests that only read what it stored."""
    for site in make_site(tmp_path_factory.mktemp("crawled"), world):
        code, outcome = site.crawl()
        assert code == 0, outcome
        yield site, outcome


def on_watchlist(world: ZhihuWorld) -> dict[str, ZhihuContent]:
    """The visible posts a watchlist query matches: what a complete crawl must store."""
    tagger = BrandTagger([(entry["name"], entry["query"]) for entry in demo_watchlist()])
    return {
        content.mention_id: content
        for content in world.visible_contents()
        if tagger(fold(clean_post(content.text).text))
    }


def posts_of(mentions: dict[str, Mention]) -> set[str]:
    return {mention_id for mention_id, mention in mentions.items() if getattr(mention, "kind", "") != "comment"}


def fetch(server: SandboxServer, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    try:
        with urlopen(UrlRequest(server.base_url + path, headers=headers)) as answer:
            return answer.status, json.loads(answer.read())
    except HTTPError as refusal:
        return refusal.code, json.loads(refusal.read())


def visit_search_page(server: SandboxServer) -> str:
    """The d_c0 cookie the search page hands a new visitor."""
    with urlopen(f"{server.base_url}/search?type=content&q=") as page:
        cookie = SimpleCookie(page.headers["Set-Cookie"])
    return cookie["d_c0"].value


# -- the replica's rules ------------------------------------------------------------------------------------------


def test_the_replica_refuses_a_bad_or_stale_signature_and_serves_a_good_one(world: ZhihuWorld) -> None:
    replica = ZhihuReplica(world)
    with SandboxServer([replica]) as server:
        d_c0 = visit_search_page(server)
        path = search_path("启航汽车", 0)

        def signed(signature: str, cookie: str = d_c0) -> tuple[int, dict[str, Any]]:
            return fetch(server, path, {"x-zse-93": "101_3_3.0", "x-zse-96": signature, "Cookie": f"d_c0={cookie}"})

        status, good = signed(zse96(path, d_c0, replica.secret))
        assert status == 200 and good["data"] and good["paging"]["is_end"] is False
        assert any("<em>启航汽车</em>" in json.dumps(item, ensure_ascii=False) for item in good["data"])
        status, bad = signed("2.0_" + "A" * 44)
        assert status == 403 and bad["error"]["code"] == 10003
        forged = "AAAA=|1764000000"  # a d_c0 the site never issued, even when signed "correctly"
        assert signed(zse96(path, forged, replica.secret), forged)[0] == 403
        stale = zse96(path, d_c0, replica.secret)
        with urlopen(UrlRequest(f"{server.base_url}/__sandbox__/zhihu/rotate", method="POST")) as rotated:
            assert json.loads(rotated.read())["generation"] == 1
        status, refused = signed(stale)
        assert status == 403 and refused["error"]["code"] == 10003 and replica.bad_signatures == 3


@needs_chromium
def test_the_pages_script_signs_in_chromium_as_the_replica_checks(world: ZhihuWorld) -> None:
    from playwright.sync_api import sync_playwright

    replica = ZhihuReplica(world)
    with SandboxServer([replica]) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{server.base_url}/search?type=content&q=")
            path = search_path("澜颜", 0)
            headers = page.evaluate(f"(path) => {SIGN_FUNCTION}(path)", path)
            d_c0 = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "d_c0")
        finally:
            browser.close()
        assert headers == {"x-zse-93": "101_3_3.0", "x-zse-96": zse96(path, d_c0, replica.secret)}
        status, answer = fetch(server, path, {**headers, "Cookie": f"d_c0={d_c0}"})
        assert status == 200 and answer["data"]


def test_the_replica_serves_the_worlds_posts_newest_first(world: ZhihuWorld) -> None:
    found = world.search("启航汽车")
    assert found and all("启航汽车" in content.text.lower() for content in found)
    assert [content.created_at for content in found] == sorted((c.created_at for c in found), reverse=True)
    assert len({content.mention_id for content in world.contents}) == len(world.contents)
    kinds = {content.kind for content in world.contents}
    assert kinds == {"answer", "article"} and any(content.author is None for content in world.contents)


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("http418", "verification"),
        ("http432", "verification"),
        ("visitor", "verification"),
        ("login", "login_required"),
        ("busy", "throttled"),
    ],
)
def test_each_refusal_of_the_replica_reads_as_its_kind_of_block(world: ZhihuWorld, mode: str, kind: str) -> None:
    refusal = ZhihuReplica(world).fault_response(mode, Response())
    block = ZhihuSpider().block_in(TextResponse(API_URL, status=refusal.status, body=refusal.body))
    assert block is not None and block.kind == kind and "sources.zhihu" in block.message


def test_a_stale_signature_and_a_missing_member_are_answers_not_blocks() -> None:
    stale = '{"error":{"message":"请求参数异常，请升级客户端后重试。","code":10003}}'.encode()
    assert ZhihuSpider().block_in(TextResponse(API_URL, status=403, body=stale)) is None
    missing = b'{"error":{"message":"not found","code":404}}'
    assert ZhihuSpider().block_in(TextResponse(API_URL, status=404, body=missing)) is None


# -- crawling -----------------------------------------------------------------------------------------------------


@slow
@needs_chromium
def test_a_crawl_stores_every_matching_answer_and_article_field_by_field(crawled: tuple[Site, dict[str, Any]]) -> None:
    site, outcome = crawled
    assert outcome["status"] == "ok", outcome
    stored = site.mentions()
    expected = on_watchlist(site.world)
    assert expected and posts_of(stored) == set(expected)
    assert {truth.kind for truth in expected.values()} == {"answer", "article"}
    for mention_id, truth in expected.items():
        mention = stored[mention_id]
        assert mention.text == clean_post(truth.text).text, mention_id
        assert mention.created_at == truth.created_at and mention.created_at.utcoffset() == timedelta(hours=8)
        if truth.kind == "answer":
            assert mention.url == f"https://www.zhihu.com/question/{truth.question_id}/answer/{truth.id}"
        else:
            assert mention.url == f"https://zhuanlan.zhihu.com/p/{truth.id}"
        assert mention.platform == "zhihu" and getattr(mention, "kind", "") == truth.kind
        metrics = mention.metrics
        assert (metrics.reposts, metrics.comments, metrics.likes) == (0, truth.comment_count, truth.voteups)
        assert mention.sentiment is not None and mention.brands and mention.simhash
        if truth.author is None:  # 匿名用户
            assert mention.author is None
            continue
        assert mention.author is not None
        assert mention.author.id == f"zhihu:{truth.author.id}" and mention.author.name == truth.author.name
        assert mention.author.followers == truth.author.followers
        verified_type = truth.author.verified_type
        assert (mention.author.verified, mention.author.verified_type) == (verified_type >= 0, verified_type)


@slow
@needs_chromium
def test_comments_of_popular_posts_become_mentions_of_their_post(crawled: tuple[Site, dict[str, Any]]) -> None:
    site, _ = crawled
    stored = site.mentions()
    expected = on_watchlist(site.world)
    popular = {mention_id for mention_id, content in expected.items() if content.engagement >= 100 and content.comments}
    comments = [mention for mention in stored.values() if getattr(mention, "kind", "") == "comment"]
    assert {comment.parent_id for comment in comments} == popular
    for mention_id in popular:  # two pages of 20 roots (comments.max_pages) hold them all, replies included
        truth = {f"zhihu:comment-{c.id}": c for root in expected[mention_id].comments for c in (root, *root.children)}
        got = {comment.id: comment for comment in comments if comment.parent_id == mention_id}
        assert got.keys() == truth.keys()
        for comment_id, comment in got.items():
            assert comment.text == clean_post(truth[comment_id].text).text
            assert comment.metrics.likes == truth[comment_id].likes
            assert comment.created_at == truth[comment_id].created_at
            assert set(stored[mention_id].brands) <= set(comment.brands)
    assert site.server.requests["/search"] == 1  # one page signs the whole run


@slow
@needs_chromium
def test_a_second_crawl_doubles_nothing_and_stops_at_the_cursor(tmp_path: Path) -> None:
    world = build_zhihu(posts=3000, days=2, seed=11, hold_back=timedelta(hours=6), now=last_evening())
    for site in make_site(tmp_path, world):
        _, first = site.crawl()
        after_first = site.mentions()
        assert first["status"] == "ok" and all(site.cursors().values())
        terms = len({term for entry in demo_watchlist() for term in parse(entry["query"]).terms()})

        _, second = site.crawl()
        assert site.mentions().keys() == after_first.keys()
        assert second["detail"]["new"] == second["detail"]["updated"] == 0 and second["detail"]["pages"] <= terms

        world.advance(360)
        _, third = site.crawl()
        new_posts = set(on_watchlist(world)) - posts_of(after_first)
        assert new_posts and posts_of(site.mentions()) == set(on_watchlist(world))
        assert third["detail"]["updated"] == 0  # only the new posts (and their comments) were fetched
        assert third["detail"]["pages"] <= first["detail"]["pages"]


@slow
@needs_chromium
def test_a_secret_rotated_mid_crawl_is_survived_by_reloading_the_page_once(tmp_path: Path, world: ZhihuWorld) -> None:
    replica = ZhihuReplica(world, rotate_after=5)
    for site in make_site(tmp_path, world, replica):
        code, outcome = site.crawl()
        assert code == 0 and outcome["status"] == "ok", outcome
        assert replica.generation == 1 and replica.bad_signatures >= 1
        assert site.server.requests["/search"] == 2
        assert posts_of(site.mentions()) == set(on_watchlist(world))


class _BrokenSecretReplica(ZhihuReplica):
    """A site whose page embeds a secret its API does not accept: signing cannot work."""

    def search_page(self, request: Request) -> Response:
        page = super().search_page(request)
        page.body = page.body.replace(self.secret.encode(), b"0" * len(self.secret))
        return page


@slow
@needs_chromium
def test_signatures_refused_even_from_a_fresh_page_lose_the_pages_and_keep_the_cursors(
    tmp_path: Path, world: ZhihuWorld
) -> None:
    for site in make_site(tmp_path, world, _BrokenSecretReplica(world)):
        _, outcome = site.crawl()
        assert outcome["status"] == "degraded" and "could not be read" in outcome["error"]
        assert site.server.requests["/search"] == 2  # reloaded once, not in a loop
        assert not site.mentions() and site.cursors() == dict.fromkeys(TERMS)


@slow
@needs_chromium
@pytest.mark.parametrize(
    ("mode", "kind", "words"),
    [
        ("http418", "verification", "code 40362"),
        ("login", "login_required", "requires a login"),
        ("busy", "throttled", "HTTP 429"),
    ],
)
def test_each_blocking_mode_fails_with_a_clear_recorded_reason(site: Site, mode: str, kind: str, words: str) -> None:
    site.server.faults.set(mode, path="/api/v4/")  # the search page itself opens normally
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
    # The run's stats (dumped in its log) name the kind of block behind the failure.
    assert f"'fengxiang/block_kind': '{kind}'" in Path(outcome["log_file"]).read_text(encoding="utf-8")
    if mode == "busy":
        assert outcome["detail"]["throttled"] > 0  # backed off before giving up


class _OneBadAnswerReplica(ZhihuReplica):
    """Serves one search result whose created_time is not unix seconds."""

    def __init__(self, world: ZhihuWorld, bad_id: str) -> None:
        super().__init__(world)
        self.bad_id = bad_id

    def search(self, request: Request) -> Response:
        answer = super().search(request)
        marker = f'"id":"{self.bad_id}"'.encode()
        if marker in answer.body:
            page = json.loads(answer.body)
            for item in page["data"]:
                if item.get("object", {}).get("id") == self.bad_id:
                    item["object"]["created_time"] = "昨天 10:00"
            answer = Response.json(page)
        return answer


@slow
@needs_chromium
def test_one_bad_search_result_is_skipped_and_counted_the_rest_go_through(tmp_path: Path, world: ZhihuWorld) -> None:
    expected = on_watchlist(world)
    bad = next(iter(expected.values()))
    for site in make_site(tmp_path, world, _OneBadAnswerReplica(world, bad.id)):
        code, outcome = site.crawl()
        assert code == 0 and outcome["status"] == "degraded" and outcome["detail"]["bad_posts"] >= 1
        assert "unknown shape" in outcome["error"]
        assert posts_of(site.mentions()) == set(expected) - {bad.mention_id}


def test_only_the_signing_pages_scheme_goes_through_the_browser_handler(tmp_path: Path, world: ZhihuWorld) -> None:
    # scrapy-playwright starts a browser per handler: one scheme, one Chromium per run.
    for site in make_site(tmp_path, world):
        settings = get_project_settings()
        settings.set("FENGXIANG_CONFIG", str(site.config))
        ZhihuSpider.update_settings(settings)
        assert set(settings.getdict("DOWNLOAD_HANDLERS")) == {"http"}  # the sandbox's page is http://
        assert "Windows NT" in settings["USER_AGENT"]  # the API requests look like the browser that signs
