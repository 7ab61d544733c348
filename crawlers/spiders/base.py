"""What every platform spider shares: its config, its pace, its login cookies, and how it says
that the platform is blocking it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings

from crawlers.context import CrawlContext, load_crawl_config
from crawlers.cookies import CookieFileError, session_cookies

BlockKind = Literal["throttled", "login_required", "verification"]


@dataclass(frozen=True)
class Block:
    """A platform refusing to answer. ``throttled`` passes with time (back off and retry); the
    others need a person (a fresh login, a captcha), so the crawl stops and says so."""

    kind: BlockKind
    message: str  # for the health record: the cause and the fix, no secrets


class PlatformSpider(scrapy.Spider):
    platform: ClassVar[str]
    default_base_url: ClassVar[str]

    context: CrawlContext

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

    def block_in(self, response: Response) -> Block | None:
        """How this platform says "stop" in an answer; None for a normal answer."""
        raise NotImplementedError
