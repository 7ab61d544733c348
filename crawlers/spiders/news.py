"""The news spider: RSS/Atom feeds of news sites and their own search pages, and the articles they link to.

For every feed of ``sources.news.feeds`` it reads the feed, and for each item newer than both
``lookback`` and the feed's cursor (the newest publication time an earlier clean run saw) it
fetches the article page and extracts its text. The pipeline keeps only the articles a watchlist
query matches. Feeds are independent sites: one that refuses (HTTP 403/429 past the back-off) or
sends something that is not a feed is recorded as a failed feed in the run's health, and the
others go on. A feed's cursor advances only when the feed and all its articles were read.

For every template of ``sources.news.search_pages`` and every positive watchlist term it reads the
site's search results (:mod:`crawlers.spiders.news_search`), fetches the articles not stored yet and
follows 下一页 up to ``max_pages`` while a page still brings new ones.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.spiders.base import DESKTOP_USER_AGENT, Block, PlatformSpider
from crawlers.spiders.news_search import page_site_name, page_time, read_search_page, search_page_url
from crawlers.spiders.news_shapes import (
    FeedError,
    article_id,
    decode_html,
    extract_article,
    parse_feed,
    parse_feed_time,
    post_from_article,
)

_REFUSING_STATUSES = (403, 429)
_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
_PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"


@dataclass
class _FeedState:
    url: str
    cursor: datetime | None  # the newest publication time an earlier clean run finished with
    title: str = ""
    newest: datetime | None = None
    read: bool = False  # the feed itself was read
    lost_articles: int = 0


class NewsSpider(PlatformSpider):
    name = "news"
    platform = "news"
    default_base_url = ""  # feeds are full URLs; sources.news.base_url only anchors relative ones

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """News sites are read like a desktop browser reads them, not like the phone app's JSON API
        the shared settings describe (no X-Requested-With, no JSON Accept)."""
        super().update_settings(settings)
        headers = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
        settings.setdict({"USER_AGENT": DESKTOP_USER_AGENT, "DEFAULT_REQUEST_HEADERS": headers}, priority="spider")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.feeds: dict[str, _FeedState] = {}
        self.seen: set[str] = set()  # article URLs requested in this run (feeds overlap)
        self.failed_feeds: list[str] = []
        self._refusing_since: dict[str, float] = {}  # URL -> when it began refusing

    # -- the run ------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        store = self.context.store
        for configured in self.context.source.feeds:
            url = urljoin(self.base_url + "/", configured) if self.base_url else configured
            if not url.startswith(("http://", "https://")):
                self._feed_failed(url, "a relative feed address needs sources.news.base_url")
                continue
            saved = store.get_cursor(self.platform, _cursor_key(url))
            cursor = None
            if saved:
                try:
                    cursor = parse_feed_time(saved)
                except ValueError:
                    cursor = None
            self.feeds[url] = _FeedState(url, cursor)
            yield scrapy.Request(
                url,
                callback=self.parse_feed,
                errback=self.feed_request_failed,
                headers={"Accept": _FEED_ACCEPT},
                cb_kwargs={"feed": url},
                dont_filter=True,
            )
        terms = list(self.search_terms()) if self.context.source.search_pages else []
        for template in self.context.source.search_pages:
            for term in terms:
                url = search_page_url(template, term)
                self.feeds[url] = _FeedState(url, None)  # a search page is a feed without dates or cursor
                yield self._search_page(url, url, term, 1)

    # -- site search pages ----------------------------------------------------------------------

    def _search_page(self, url: str, search: str, term: str, page: int) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_search_page,
            errback=self.feed_request_failed,
            headers={"Accept": _PAGE_ACCEPT},
            cb_kwargs={"feed": search, "term": term, "page": page},
            dont_filter=True,
        )

    def parse_search_page(self, response: Response, feed: str, term: str, page: int) -> Iterator[scrapy.Request]:
        """Articles a site's search lists for a term, newest first: the ones not stored yet are fetched;
        the next page is read only while this one still held new articles (the rest are older)."""
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        found = read_search_page(decode_html(response.body, content_type), response.url, term)
        self.crawler.stats.inc_value("fengxiang/pages")
        self.feeds[feed].read = True
        new = 0  # not stored yet; another term's search may have fetched it already in this run
        for url, _title in found.results:
            if self.context.store.get(article_id(url)) is not None:
                continue
            new += 1
            if url not in self.seen:
                self.seen.add(url)
                # The link text is the search's highlighted, often shortened title: the page's own is used.
                yield self._article(url, feed, "", None)
        if found.next_url and new and page < self.context.source.max_pages:
            yield self._search_page(found.next_url, feed, term, page + 1)

    def parse_feed(self, response: Response, feed: str) -> Iterator[scrapy.Request]:
        state = self.feeds[feed]
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        try:
            parsed = parse_feed(response.body, response.url, content_type)
        except FeedError as err:
            self._feed_failed(feed, str(err))
            return
        self.crawler.stats.inc_value("fengxiang/pages")
        state.read = True
        state.title = parsed.title
        fetched_at = datetime.now(UTC)
        since = fetched_at - self.context.source.lookback
        for item in parsed.items:
            published = item.published or fetched_at
            if item.published is not None:
                state.newest = max(state.newest or item.published, item.published)
            if published < since or (state.cursor is not None and published <= state.cursor):
                continue
            if item.url in self.seen:
                continue
            self.seen.add(item.url)
            yield self._article(item.url, feed, item.title, published)

    def _article(self, url: str, feed: str, title: str, published: datetime | None) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            headers={"Accept": _PAGE_ACCEPT},
            cb_kwargs={"feed": feed, "title": title, "published": published},
            priority=1,
        )

    def parse_article(self, response: Response, feed: str, title: str, published: datetime | None) -> Iterator[Any]:
        """``published`` None: found by search, so the page says when (else it counts as published now)."""
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        page = decode_html(response.body, content_type)
        page_title, body = extract_article(page)
        if not body:
            self.crawler.stats.inc_value("fengxiang/bad_posts")
            self.logger.warning("no article text found on %s", response.url)
            return
        state = self.feeds[feed]
        yield post_from_article(
            url=response.url,
            title=title or page_title,
            body=body,
            published=published or page_time(page) or datetime.now(UTC),
            feed_url=feed,
            feed_title=state.title or page_site_name(page, response.url),
        )

    def cursors_to_save(self) -> dict[str, str]:
        """Feed → newest publication time, for the feeds read in full this run."""
        return {
            _cursor_key(state.url): max(filter(None, (state.newest, state.cursor))).isoformat()
            for state in self.feeds.values()
            if state.read and not state.lost_articles and (state.newest or state.cursor)
        }

    # -- failures -----------------------------------------------------------------------------

    def feed_request_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("fengxiang/failed_requests")
        self._feed_failed(request.cb_kwargs["feed"], _reason(failure))

    def article_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("fengxiang/failed_requests")
        self.crawler.stats.inc_value("fengxiang/lost_pages")
        self.feeds[request.cb_kwargs["feed"]].lost_articles += 1
        self.logger.warning("article %s could not be read: %s", request.url, _reason(failure))

    def _feed_failed(self, feed: str, reason: str) -> None:
        stats = self.crawler.stats
        stats.inc_value("fengxiang/failed_feeds")
        message = reason if feed in reason else f"{feed}: {reason}"
        self.failed_feeds.append(message)
        stats.set_value("fengxiang/failed_feed_errors", "; ".join(self.failed_feeds))
        self.logger.warning("feed failed: %s", message)

    def block_in(self, response: Response) -> Block | None:
        """HTTP 403/429 is "too fast" for one site: back off and retry. A URL still refused after
        half of FENGXIANG_THROTTLED_FOR is given up on for this run (its feed or article is
        recorded as failed) before the refusals could stop the whole crawl: other sites go on."""
        if response.status not in _REFUSING_STATUSES:
            self._refusing_since.pop(response.url, None)
            return None
        now = time.monotonic()
        since = self._refusing_since.setdefault(response.url, now)
        if now - since >= self.settings.getfloat("FENGXIANG_THROTTLED_FOR") / 2:
            return None  # let the refusal through: the request fails with HTTP 403/429, for this URL only
        return Block(
            "throttled",
            f"{response.url} answered HTTP {response.status} (forbidden / too many requests) and kept doing so "
            "while the crawler backed off — wait, or raise sources.news.politeness.delay",
        )


def _cursor_key(feed_url: str) -> str:
    return f"feed:{feed_url}"


def _reason(failure: Failure) -> str:
    if isinstance(failure.value, HttpError):
        return f"answered HTTP {failure.value.response.status} and kept refusing after backing off"
    return failure.getErrorMessage()
