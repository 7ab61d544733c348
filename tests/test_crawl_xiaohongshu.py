"""`fengxiang crawl xiaohongshu` end to end against the sandbox's xiaohongshu.com replica, in Chromium.

The end-to-end tests run the real command (a `scrapy crawl` subprocess that opens the replica's /explore
page in the system Chromium and has its script sign every API request) against a SandboxServer on
loopback, and check what the store holds afterwards against the synthetic world's truth. The first
tests talk to the replica directly: it must hold crawlers to the real site's rules (signatures that
only a browser can make, per-note tokens).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request as UrlRequest
from urllib.request import urlopen

import pytest
from scrapy.http import TextResponse

from crawlers.login import CHROMIUM
from crawlers.spiders.xiaohongshu import XiaohongshuSpider
from crawlers.spiders.xiaohongshu_shapes import (
    FEED_PATH,
    SEARCH_PATH,
    comments_uri,
    feed_body,
    json_body,
    note_id_time,
    search_body,
)
from fengxiang.brands import BrandTagger
from fengxiang.query import parse
from fengxiang.synthetic import demo_watchlist
from fengxiang.textmatch import fold
from nlp.clean import clean_post
from sandbox.server import Request, Response, SandboxServer
from sandbox.xiaohongshu import XhsNote, XhsWorld, XiaohongshuReplica, build_xiaohongshu, signature
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.crawl_helpers import TERMS, CrawlSite, last_evening, serve_site

slow = pytest.mark.slow
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} to sign requests")
A1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123"


Site = CrawlSite[XhsWorld, XiaohongshuReplica]


def make_site(
    folder: Path, world: XhsWorld, replica: XiaohongshuReplica | None = None, **source: Any
) -> Iterator[Site]:
    yield from serve_site("xiaohongshu", folder, world, replica or XiaohongshuReplica(world), **source)


@pytest.fixture(scope="module")
def world() -> XhsWorld:
    return build_xiaohongshu(posts=1500, days=2, seed=11)


@pytest.fixture
def site(tmp_path: Path, world: XhsWorld) -> Iterator[Site]:
    yield from make_site(tmp_path, world)


class _OneBadNote(XiaohongshuReplica):
    """A site that sends one note's detail with its time in an unknown form."""

    def __init__(self, world: XhsWorld, bad_note: str) -> None:
        super().__init__(world)
        self.bad_note = bad_note

    def feed(self, request: Request) -> Response:
        answer = super().feed(request)
        data = json.loads(answer.body)
        items = (data.get("data") or {}).get("items") or []
        if items and items[0]["id"] == self.bad_note:
            items[0]["note_card"]["time"] = "3天前"
            return Response.json(data)
        return answer


@dataclass
class Crawled:
    site: Site
    outcome: dict[str, Any]
    bad: str  # the mention id of the note whose detail came in an unknown shape


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory, world: XhsWorld) -> Iterator[Crawled]:
    """One complete crawl of a site where one matching note's detail is broken, read by several tests."""
    bad = sorted(on_watchlist(world))[0]
    replica = _OneBadNote(world, bad.removeprefix("xiaohongshu:"))
    for site in make_site(tmp_path_factory.mktemp("crawled"), world, replica):
        code, outcome = site.crawl()
        assert code == 0, outcome
        yield Crawled(site, outcome, bad)


def on_watchlist(world: XhsWorld) -> dict[str, XhsNote]:
    """The visible notes a watchlist query matches: what a complete crawl must store."""
    tagger = BrandTagger([(entry["name"], entry["query"]) for entry in demo_watchlist()])
    return {
        f"xiaohongshu:{note.note_id}": note
        for note in world.visible_notes()
        if tagger(fold(clean_post(note.text).text))
    }


def posts_of(mentions: dict[str, Mention]) -> set[str]:
    return {mention_id for mention_id, mention in mentions.items() if getattr(mention, "kind", "") != "comment"}


def health_of(site: Site) -> Any:
    store = SQLiteStore(site.folder / "crawl.db")
    try:
        (health,) = store.latest_health()
    finally:
        store.close()
    return health


def call(server: SandboxServer, uri: str, body: dict[str, Any] | None, headers: dict[str, str]) -> tuple[int, Any]:
    data = None if body is None else json_body(body).encode()
    request = UrlRequest(server.base_url + uri, data=data, headers={"Cookie": f"a1={A1}", **headers})
    try:
        with urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")


def signed_by_python(secret: str, uri: str, body: dict[str, Any] | None, x_t: int | None = None) -> dict[str, str]:
    stamp = str(x_t if x_t is not None else int(time.time() * 1000))
    return {"X-s": signature(secret, uri, "" if body is None else json_body(body), stamp, A1), "X-t": stamp}


# -- the replica's rules ------------------------------------------------------------------------------------------


def test_the_replica_refuses_missing_bad_stale_and_rotated_signatures(world: XhsWorld) -> None:
    replica = XiaohongshuReplica(world)
    body = search_body("启航汽车", 1, "s1")
    with SandboxServer([replica]) as server:
        status, good = call(server, SEARCH_PATH, body, signed_by_python(replica.secret, SEARCH_PATH, body))
        assert status == 200 and good["code"] == 0 and good["success"] is True
        kinds = {item["model_type"] for item in good["data"]["items"]}
        assert kinds >= {"note", "rec_query"}  # not every card is a note
        assert call(server, SEARCH_PATH, body, {})[0] == 406
        other_body = search_body("澜颜", 1, "s1")  # a signature covers the body it was made for
        assert call(server, SEARCH_PATH, other_body, signed_by_python(replica.secret, SEARCH_PATH, body))[0] == 406
        old = int(time.time() * 1000) - 10 * 60 * 1000
        assert call(server, SEARCH_PATH, body, signed_by_python(replica.secret, SEARCH_PATH, body, old))[0] == 406
        before = replica.secret
        rotated = json.loads(urlopen(UrlRequest(f"{server.base_url}/__sandbox__/xiaohongshu/rotate", data=b"")).read())
        assert rotated["generation"] == replica.generation == 1 and replica.secret != before
        status, stale = call(server, SEARCH_PATH, body, signed_by_python(before, SEARCH_PATH, body))
        assert status == 406 and stale["code"] == 300015 and replica.bad_signatures == 4


def test_details_and_comments_want_the_notes_own_token(world: XhsWorld) -> None:
    replica = XiaohongshuReplica(world)
    note = next(note for note in world.visible_notes() if note.comments)
    with SandboxServer([replica]) as server:

        def fetch(uri: str, body: dict[str, Any] | None) -> Any:
            return call(server, uri, body, signed_by_python(replica.secret, uri, body))[1]

        detail = fetch(FEED_PATH, feed_body(note.note_id, note.xsec_token))
        card = detail["data"]["items"][0]["note_card"]
        assert card["note_id"] == note.note_id and card["time"] // 1000 == note_id_time(note.note_id)
        assert fetch(FEED_PATH, feed_body(note.note_id, "ABwrong="))["code"] == -510001
        page = fetch(comments_uri(note.note_id, "", note.xsec_token), None)
        assert page["code"] == 0 and page["data"]["comments"]
        assert fetch(comments_uri(note.note_id, "", "ABwrong="), None)["code"] == -510001


def test_the_world_is_newest_first_with_object_id_notes(world: XhsWorld) -> None:
    found = world.search("启航汽车")
    assert found and all("启航汽车" in note.text.lower() for note in found)
    assert [note.created_at for note in found] == sorted((note.created_at for note in found), reverse=True)
    assert all(note_id_time(note.note_id) == int(note.created_at.timestamp()) for note in world.notes)
    assert len({note.note_id for note in world.notes}) == len(world.notes)


@needs_chromium
def test_the_pages_script_signs_in_chromium_and_the_api_accepts_it(world: XhsWorld) -> None:
    from playwright.sync_api import sync_playwright

    from crawlers.login import CHROMIUM_ARGS

    replica = XiaohongshuReplica(world)
    body = search_body("澜颜", 1, "s1")
    with SandboxServer([replica]) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(server.base_url + "/explore")
            headers = page.evaluate("(args) => window._webmsxyw(...args)", [SEARCH_PATH, body])
            cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies(server.base_url)}
        finally:
            browser.close()
        assert len(cookies["a1"]) == 52 and cookies["webId"]  # set by the page's script
        request = UrlRequest(
            server.base_url + SEARCH_PATH,
            data=json_body(body).encode(),
            headers={**headers, "Cookie": f"a1={cookies['a1']}"},
        )
        with urlopen(request) as answer:
            assert json.loads(answer.read())["code"] == 0
        assert replica.signed_served == 1 and replica.bad_signatures == 0


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (461, b'{"code":461,"success":false}', "verification", "HTTP 461 (a captcha, Verifytype 102)"),
        (200, '{"code": -100, "success": false, "msg": "登录已过期"}'.encode(), "login_required", "code -100"),
        (200, b'{"code":300012,"success":false}', "verification", "code 300012"),
        (200, b'{"code":300013,"success":false}', "throttled", "code 300013"),
        (200, b'{"code":0,"success":true,"data":{"items":[]}}', None, ""),
        (406, b'{"code":300015,"success":false}', None, ""),  # a stale signature: signed again, not a block
    ],
)
def test_each_refusal_is_read_as_its_kind_of_block(status: int, body: bytes, kind: str | None, words: str) -> None:
    response = TextResponse(
        "https://edith.xiaohongshu.com/api/x", status=status, body=body, headers={"Verifytype": "102"}
    )
    block = XiaohongshuSpider().block_in(response)
    assert (block.kind if block else None) == kind
    assert block is None or words in block.message


# -- crawling -----------------------------------------------------------------------------------------------------


@slow
@needs_chromium
def test_a_crawl_stores_every_matching_note_field_by_field(crawled: Crawled) -> None:
    site = crawled.site
    stored = site.mentions()
    expected = on_watchlist(site.world)
    del expected[crawled.bad]
    assert expected and posts_of(stored) == set(expected)
    assert site.server.requests["/explore"] == 1  # one page signs the whole run
    authors = {note.user.user_id for note in expected.values()}
    assert site.server.requests["/api/sns/web/v1/user/otherinfo"] <= len(authors) + 1
    for mention_id, truth in expected.items():
        mention = stored[mention_id]
        assert mention.text == clean_post(truth.text).text, mention_id
        assert mention.created_at == truth.created_at and mention.created_at.utcoffset() == timedelta(hours=8)
        assert mention.url == f"https://www.xiaohongshu.com/explore/{truth.note_id}"
        assert mention.platform == "xiaohongshu" and getattr(mention, "kind", "") in ("note", "video")
        assert mention.author is not None
        assert mention.author.id == f"xiaohongshu:{truth.user.user_id}" and mention.author.name == truth.user.name
        assert mention.author.followers == truth.user.followers
        assert (mention.author.verified, mention.author.verified_type) == (
            truth.user.verify_type > 0,
            truth.user.verify_type,
        )
        metrics = mention.metrics
        assert (metrics.reposts, metrics.comments, metrics.likes) == (truth.shares, truth.comments_count, truth.likes)
        assert getattr(mention, "favorites", None) == truth.collects
        assert mention.sentiment is not None and mention.brands and mention.simhash
    assert any("[话题]" not in note.text and "#" in note.text for note in expected.values())


@slow
@needs_chromium
def test_comments_and_their_replies_of_engaging_notes_become_mentions(crawled: Crawled) -> None:
    site = crawled.site
    stored = site.mentions()
    expected = on_watchlist(site.world)
    del expected[crawled.bad]
    engaging = {mention_id for mention_id, note in expected.items() if note.engagement >= 100 and note.comments}
    comments = [mention for mention in stored.values() if getattr(mention, "kind", "") == "comment"]
    assert engaging and {comment.parent_id for comment in comments} == engaging
    for mention_id in engaging:  # two pages of 10 (comments.max_pages) hold all of them, replies included
        truth = {}
        for comment in expected[mention_id].comments:
            truth[f"xiaohongshu:c{comment.comment_id}"] = (comment, None)
            truth.update({f"xiaohongshu:c{reply.comment_id}": (reply, comment) for reply in comment.replies})
        mine = {comment.id: comment for comment in comments if comment.parent_id == mention_id}
        assert set(mine) == set(truth), mention_id
        for comment_id, (comment, answered) in truth.items():
            mention = mine[comment_id]
            assert mention.text == clean_post(comment.text).text and mention.metrics.likes == comment.likes
            assert mention.created_at == comment.created_at
            assert getattr(mention, "reply_to", None) == (answered and f"xiaohongshu:c{answered.comment_id}")
            assert set(stored[mention_id].brands) <= set(mention.brands)
    assert any(getattr(comment, "reply_to", None) for comment in comments)


@slow
@needs_chromium
def test_one_note_in_an_unknown_shape_is_skipped_and_the_rest_stored(crawled: Crawled) -> None:
    outcome = crawled.outcome
    assert outcome["status"] == "degraded" and outcome["detail"]["bad_posts"] == 1
    assert outcome["error"] == "1 posts in an unknown shape were skipped"  # nothing else went wrong
    assert crawled.bad not in crawled.site.mentions() and all(crawled.site.cursors().values())


@slow
@needs_chromium
def test_a_second_crawl_doubles_nothing_and_stops_at_the_cursor(tmp_path: Path) -> None:
    world = build_xiaohongshu(posts=1500, days=2, seed=11, hold_back=timedelta(hours=6), now=last_evening())
    for site in make_site(tmp_path, world):
        _, first = site.crawl()
        after_first = site.mentions()
        assert first["status"] == "ok" and all(site.cursors().values())
        terms = len({term for entry in demo_watchlist() for term in parse(entry["query"]).terms()})

        _, second = site.crawl()
        assert site.mentions().keys() == after_first.keys()
        assert second["detail"]["new"] == 0 and second["detail"]["pages"] <= terms

        world.advance(360)
        _, third = site.crawl()
        new_notes = set(on_watchlist(world)) - posts_of(after_first)
        assert new_notes and posts_of(site.mentions()) == set(on_watchlist(world))
        assert third["detail"]["pages"] <= first["detail"]["pages"]


@slow
@needs_chromium
def test_a_secret_rotated_mid_crawl_reloads_the_page_and_loses_nothing(tmp_path: Path, world: XhsWorld) -> None:
    replica = XiaohongshuReplica(world, rotate_after=5)
    for site in make_site(tmp_path, world, replica):
        code, outcome = site.crawl()
        assert code == 0 and outcome["status"] == "ok", outcome
        assert replica.generation == 1 and replica.bad_signatures >= 1
        assert site.server.requests["/explore"] == 2  # reloaded once
        assert posts_of(site.mentions()) == set(on_watchlist(world))
        assert all(site.cursors().values())


@slow
@needs_chromium
@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("http418", "HTTP 461 (a captcha"),
        ("login", "code -100"),
        ("busy", "code 300013"),
    ],
)
def test_each_refusal_fails_the_crawl_with_its_reason_in_source_health(site: Site, mode: str, words: str) -> None:
    site.server.faults.set(mode, path="/api/")  # the page loads; the API refuses
    code, outcome = site.crawl()
    assert code == 1 and outcome["status"] == "failed"
    assert words in outcome["error"]
    assert not site.mentions() and site.cursors() == dict.fromkeys(TERMS)
    health = health_of(site)
    assert health.status == "failed" and words in (health.error or "")
    if mode == "busy":
        assert outcome["detail"]["throttled"] > 0  # backed off before giving up
    if mode == "login":
        assert "sources.xiaohongshu.cookie" in health.error


class _PageWithAnotherSecret(XiaohongshuReplica):
    """A site whose page embeds a secret its API never accepts, even after a reload."""

    def explore(self, request: Request) -> Response:
        page = super().explore(request)
        return Response.html(page.body.decode().replace(self.secret, "0" * 32))


@slow
@needs_chromium
def test_signatures_refused_even_from_a_reloaded_page_lose_the_pages_and_keep_the_cursors(
    tmp_path: Path, world: XhsWorld
) -> None:
    for site in make_site(tmp_path, world, _PageWithAnotherSecret(world)):
        _, outcome = site.crawl()
        assert outcome["status"] == "degraded" and "could not be read" in outcome["error"]
        assert site.server.requests["/explore"] == 2  # reloaded once, not in a loop
        assert not site.mentions() and site.cursors() == dict.fromkeys(TERMS)
