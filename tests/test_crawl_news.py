"""`fengxiang crawl news` end to end against the sandbox's three news sites.

Each test runs the real command (a `scrapy crawl` subprocess) against a SandboxServer on loopback
and checks what the store holds afterwards against the replica's articles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from scrapy.utils.project import get_project_settings

from crawlers.spiders.news import NewsSpider
from crawlers.spiders.news_shapes import article_id
from fengxiang.brands import BrandTagger
from fengxiang.query import parse
from fengxiang.synthetic import demo_watchlist
from fengxiang.textmatch import fold
from nlp.clean import clean_post
from sandbox.news import SITES, NewsArticle, NewsReplica
from sandbox.server import SandboxServer
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.crawl_helpers import run_crawl, stored_mentions

pytestmark = pytest.mark.slow


@dataclass
class Newsroom:
    replica: NewsReplica
    server: SandboxServer
    folder: Path
    config: Path

    def crawl(self) -> tuple[int, dict[str, Any]]:
        return run_crawl("news", self.config)

    def mentions(self) -> dict[str, Mention]:
        return stored_mentions(self.folder / "crawl.db")

    def expected(self) -> dict[str, NewsArticle]:
        """The articles a watchlist query matches: what a complete crawl must store."""
        tagger = BrandTagger([(entry["name"], entry["query"]) for entry in demo_watchlist()])
        return {
            article_id(self.server.base_url + a.path): a
            for a in self.replica.articles
            if tagger(fold(clean_post(a.text).text))
        }


@pytest.fixture(scope="module")
def replica() -> NewsReplica:
    return NewsReplica(posts=1500, seed=7, days=3)


@pytest.fixture
def newsroom(tmp_path: Path, replica: NewsReplica) -> Iterator[Newsroom]:
    yield from open_newsroom(tmp_path, replica, feeds=replica.feed_urls)


@pytest.fixture
def search_room(tmp_path: Path) -> Iterator[Newsroom]:
    replica = NewsReplica(posts=4000, seed=7, days=3, search_page_size=2)  # several pages a term
    yield from open_newsroom(tmp_path, replica, search_pages=replica.search_templates)


def open_newsroom(tmp_path: Path, replica: NewsReplica, **addresses: Callable[[], list[str]]) -> Iterator[Newsroom]:
    """The replica served, and a config whose news source reads ``addresses`` (feeds, search_pages)
    once the server's address is known."""
    server = SandboxServer([replica]).start()
    news = {"lookback": "30d", "request_timeout": "5s", "politeness": {"enabled": False}}
    config = {
        "store": "sqlite:///crawl.db",
        "watchlist": demo_watchlist(),
        "sources": {"news": {**{key: urls() for key, urls in addresses.items()}, **news}},
    }
    path = tmp_path / "fengxiang.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        yield Newsroom(replica, server, tmp_path, path)
    finally:
        server.stop()


def test_matching_articles_are_stored_with_their_fields(newsroom: Newsroom) -> None:
    code, outcome = newsroom.crawl()
    assert code == 0 and outcome["status"] == "ok", outcome
    stored = newsroom.mentions()
    expected = newsroom.expected()
    assert expected and set(stored) == set(expected)  # the unrelated articles were dropped
    assert len(expected) < len(newsroom.replica.articles)
    assert {article.site.key for article in expected.values()} == {site.key for site in SITES}
    for mention_id, article in expected.items():
        mention = stored[mention_id]
        url = newsroom.server.base_url + article.path
        assert mention.platform == "news" and mention.url == url
        assert mention.text == clean_post(article.text).text, mention_id  # GBK site included: no mojibake
        assert mention.created_at == article.published
        assert mention.created_at.utcoffset() is not None
        assert mention.author is not None and mention.author.name == article.site.name
        assert mention.author.id == "news:127.0.0.1"
        assert getattr(mention, "kind", None) == "article"
        assert getattr(mention, "source_feed", None) == newsroom.server.base_url + article.site.feed_path
        assert (mention.metrics.reposts, mention.metrics.comments, mention.metrics.likes) == (0, 0, 0)
        assert mention.brands and mention.simhash is not None and mention.sentiment is not None
    syndicated = [stored[i] for i, a in expected.items() if a.syndicated]
    assert len(syndicated) == 2 and syndicated[0].url != syndicated[1].url  # stored per URL


def test_a_second_crawl_adds_nothing_and_reads_no_article_again(newsroom: Newsroom) -> None:
    newsroom.crawl()
    after_first = newsroom.mentions()
    served = newsroom.server.requests.copy()
    code, second = newsroom.crawl()
    assert code == 0 and second["status"] == "ok"
    assert newsroom.mentions().keys() == after_first.keys()
    assert second["detail"]["new"] == 0
    again = newsroom.server.requests - served
    assert set(again) == {site.feed_path for site in SITES}  # the feed cursors: no article fetched twice


def test_a_refusing_feed_is_recorded_while_the_others_go_through(newsroom: Newsroom) -> None:
    blocked = SITES[1]
    newsroom.server.faults.set("http418", path=blocked.feed_path)  # the news replica answers 403
    code, outcome = newsroom.crawl()
    assert outcome["status"] == "degraded", outcome
    assert outcome["detail"]["failed_feeds"] == 1 and outcome["detail"]["throttled"] >= 1
    assert blocked.feed_path in outcome["error"] and "HTTP 403" in outcome["error"]
    stored = newsroom.mentions()
    expected = newsroom.expected()
    assert set(stored) == {i for i, a in expected.items() if a.site != blocked}
    store = SQLiteStore(newsroom.folder / "crawl.db")
    try:
        (health,) = store.latest_health()
        assert store.get_cursor("news", f"feed:{newsroom.server.base_url}{blocked.feed_path}") is None
    finally:
        store.close()
    assert health.status == "degraded" and blocked.feed_path in (health.error or "")

    newsroom.server.faults.clear()
    code, outcome = newsroom.crawl()  # the site is back: its articles come in
    assert code == 0 and outcome["status"] == "ok"
    assert set(newsroom.mentions()) == set(expected)


def test_a_feed_that_is_not_xml_fails_with_its_name(newsroom: Newsroom) -> None:
    broken = SITES[2]
    newsroom.server.faults.set("visitor", path=broken.feed_path)  # a verification page instead of the feed
    _, outcome = newsroom.crawl()
    assert outcome["status"] == "degraded", outcome
    assert broken.feed_path in outcome["error"] and "not an RSS/Atom feed" in outcome["error"]
    assert set(newsroom.mentions()) == {i for i, a in newsroom.expected().items() if a.site != broken}


def test_every_feed_failing_fails_the_run(newsroom: Newsroom) -> None:
    newsroom.server.faults.set("truncated", path="/news/")
    code, outcome = newsroom.crawl()
    assert code == 1 and outcome["status"] == "failed"
    assert "3 feeds could not be read" in outcome["error"]
    assert not newsroom.mentions()


def test_news_sites_are_read_like_a_desktop_browser_not_like_the_weibo_app(newsroom: Newsroom) -> None:
    settings = get_project_settings()
    settings.set("FENGXIANG_CONFIG", str(newsroom.config))
    NewsSpider.update_settings(settings)
    assert "Windows NT" in settings["USER_AGENT"] and "iPhone" not in settings["USER_AGENT"]
    headers = settings.getdict("DEFAULT_REQUEST_HEADERS")
    assert "X-Requested-With" not in headers and "application/json" not in headers.get("Accept", "")


def test_site_search_pages_find_the_matching_articles_without_feeds(search_room: Newsroom) -> None:
    code, outcome = search_room.crawl()
    assert code == 0 and outcome["status"] == "ok", outcome
    replica, base = search_room.replica, search_room.server.base_url
    terms = {term for entry in demo_watchlist() for term in parse(entry["query"]).terms()}
    listed = {
        article_id(base + article.path): (article, site)
        for site in SITES
        if site.searchable
        for term in terms
        for article in replica.search(site, term)
    }
    expected = {mention_id: found for mention_id, found in listed.items() if mention_id in search_room.expected()}
    stored = search_room.mentions()
    assert expected and set(stored) == set(expected)
    assert any(len(replica.search(site, term)) > 2 for site in SITES if site.searchable for term in terms)
    for mention_id, (article, site) in expected.items():
        mention = stored[mention_id]
        assert mention.text == clean_post(article.text).text, mention_id  # the page's own title, GBK read right
        assert mention.created_at == article.published.replace(second=0)  # the byline shows minutes
        assert mention.author is not None and mention.author.name == site.name
        assert str(getattr(mention, "source_feed", "")).startswith(f"{base}{site.search_path}?q=")

    served = search_room.server.requests.copy()
    code, second = search_room.crawl()
    assert code == 0 and second["detail"]["new"] == 0
    again = search_room.server.requests - served
    assert set(again) == {site.search_path for site in SITES if site.searchable}  # first pages only, no article
