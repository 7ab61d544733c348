"""What every platform spider shares: its config, its pace, its login cookies, and how it says
that the platform is blocking it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadTimeoutError
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.internet.error import TCPTimedOutError
from twisted.internet.error import TimeoutError as ConnectTimeoutError
from twisted.python.failure import Failure

from crawlers.context import CrawlContext, CrawlSetupError, load_crawl_config
from crawlers.cookies import CookieFileError, session_cookies

# Sites read on the desktop web (news, and the pages that sign requests) see a desktop Chrome; the
# default USER_AGENT is the phone browser m.weibo.cn expects.
DESKTOP_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

BlockKind = Literal["throttled", "login_required", "verification"]


@dataclass(frozen=True)
class Block:
    """A platform refusing to answer. ``throttled`` passes with time (back off and retry); the
    others need a person (a fresh login, a captcha), so the crawl stops and says so."""

    kind: BlockKind
    message: str  # for the health record: the cause and the fix, no secrets


@dataclass
class SearchTerm:
    """A search term's progress in this run. Its cursor is a number that grows with time on the
    platform (Weibo's post ids, Bilibili's publication times): 0 means never crawled."""

    text: str
    cursor: int  # the newest value an earlier run finished with
    newest: int = 0
    finished: bool = False  # the search reached a normal stop: the cursor may advance


class PlatformSpider(scrapy.Spider):
    platform: ClassVar[str]
    default_base_url: ClassVar[str]

    context: CrawlContext
    terms: dict[str, SearchTerm]  # this run's search terms (search_terms()), for the platforms that search

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """The platform's pace from ``sources.<platform>.politeness`` (the sandbox and benchmarks
        switch politeness off: no delay, many requests in flight)."""
        super().update_settings(settings)
        config = load_crawl_config(settings.get("FENGXIANG_CONFIG"))
        source = config.sources.get(cls.platform)
        if source is None:
            return
        pace = source.politeness
        if pace.enabled:
            values: dict[str, Any] = {
                "DOWNLOAD_DELAY": pace.delay,
                "AUTOTHROTTLE_START_DELAY": max(pace.delay, 0.5),
                "CONCURRENT_REQUESTS_PER_DOMAIN": pace.concurrency,
                "AUTOTHROTTLE_TARGET_CONCURRENCY": float(pace.concurrency),
            }
        else:
            # The sandbox: as fast as it answers, and quick to give up when it plays "blocked".
            values = {
                "DOWNLOAD_DELAY": 0.0,
                "AUTOTHROTTLE_ENABLED": False,
                "CONCURRENT_REQUESTS": 32,
                "CONCURRENT_REQUESTS_PER_DOMAIN": pace.concurrency if pace.concurrency > 1 else 16,
                "FENGXIANG_BACKOFF_BASE": 0.05,
                "FENGXIANG_BACKOFF_MAX": 0.5,
                "FENGXIANG_THROTTLED_FOR": 2.0,
            }
        values["DOWNLOAD_TIMEOUT"] = source.request_timeout.total_seconds()
        # Stop a little before `fengxiang crawl` would kill the process, so the run ends cleanly.
        values["CLOSESPIDER_TIMEOUT"] = max(source.timeout.total_seconds() - 30, 10)
        settings.setdict(values, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PlatformSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.context = CrawlContext.load(crawler.settings.get("FENGXIANG_CONFIG"), cls.platform)
        spider._selected_terms()  # a wrong only_terms stops the crawl before its first request
        return spider

    @property
    def base_url(self) -> str:
        return self.context.source.base_url or self.default_base_url

    def session_cookies(self) -> dict[str, str]:
        """The login: ``sources.<platform>.cookie`` if set, else what `fengxiang login` saved."""
        path = self.context.config.cookie_file(self.platform)
        host = urlsplit(self.base_url).hostname or ""
        try:
            return session_cookies(self.context.source.cookie, path, host, self.platform)
        except CookieFileError as err:
            if path.exists():  # no saved login at all is normal: the crawl runs as a visitor
                self.logger.warning("not using the saved login: %s", err)
            return {}

    def cursors_to_save(self) -> dict[str, str]:
        """Cursor key → value to store once the run has finished cleanly (incremental crawling)."""
        return {}

    # -- keyword search, for the platforms that have one

    def search_terms(self) -> dict[str, SearchTerm]:
        """The watchlist's search terms (:meth:`Config.search_terms`) with their cursors; only those of
        ``-a only_terms='["term", …]'`` (JSON) when given: a crawl worker's share of the work."""
        terms = {}
        for text in self._selected_terms():
            saved = self.context.store.get_cursor(self.platform, _search_cursor_key(text))
            terms[text] = SearchTerm(text, int(saved) if saved and saved.isdigit() else 0)
        return terms

    def _selected_terms(self) -> list[str]:
        known = self.context.config.search_terms()
        only = getattr(self, "only_terms", None)  # Scrapy sets each `-a name=value` as an attribute
        if only is None:
            return known
        try:
            wanted = json.loads(only)
        except json.JSONDecodeError:
            wanted = None
        if not isinstance(wanted, list) or not all(isinstance(text, str) for text in wanted):
            raise CrawlSetupError(f'only_terms must be a JSON list of search terms, like ["启航汽车"], not {only!r}')
        unknown = [text for text in wanted if text not in known]
        if unknown:
            raise CrawlSetupError(
                f"{', '.join(map(repr, unknown))}: not a search term of the watchlist "
                "(did the watchlist change since the work was queued?) — its terms: " + ", ".join(known)
            )
        return [text for text in known if text in wanted]

    @staticmethod
    def search_cursors(terms: Iterable[SearchTerm]) -> dict[str, str]:
        """Cursor key → newest value, for the terms whose search ended normally."""
        return {
            _search_cursor_key(term.text): str(max(term.newest, term.cursor))
            for term in terms
            if term.finished and max(term.newest, term.cursor)
        }

    def request_failed(self, failure: Failure) -> None:
        """An errback: the request failed for good. A search page's term then keeps its cursor."""
        request = failure.request  # type: ignore[attr-defined]
        self.count_failed_request(failure)
        term = request.cb_kwargs.get("term")
        if term is not None:
            self.page_lost(term, failure.getErrorMessage())
        self.logger.warning("request failed: %s (%s)", request.url, failure.getErrorMessage())

    def page_lost(self, term: str, reason: str) -> None:
        self.crawler.stats.inc_value("fengxiang/lost_pages")
        self.terms[term].finished = False  # pages were missed: the next run must not skip them
        self.logger.warning("search for %r stopped early: %s", term, reason)

    def bad_post(self, err: Exception) -> None:
        """One post or comment in a shape the spider does not know: skipped and counted, the run goes on."""
        self.crawler.stats.inc_value("fengxiang/bad_posts")
        self.logger.warning("skipped a %s post or comment in an unknown shape: %s", self.platform, err)

    def count_failed_request(self, failure: Failure) -> None:
        self.crawler.stats.inc_value("fengxiang/failed_requests")
        if failure.check(DownloadTimeoutError, TCPTimedOutError, ConnectTimeoutError):
            self.crawler.stats.inc_value("fengxiang/timeouts")

    def block_in(self, response: Response) -> Block | None:
        """How this platform says "stop" in an answer; None for a normal answer."""
        raise NotImplementedError


def _search_cursor_key(term: str) -> str:
    return f"search:{term}"
