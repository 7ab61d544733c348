"""Downloader middlewares: recognising a platform that blocks us, and reading JSON answers.

Blocking comes in two kinds (see :class:`crawlers.spiders.base.Block`). "Too fast" (Weibo's HTTP
418/432) is answered by backing off: the host's delay doubles and the request is tried again; if
the platform keeps refusing, the crawl stops. "Log in" or "prove you are human" cannot be fixed by
waiting, so the crawl stops at once. Either way the reason is kept in the crawl's stats, where the
outcome extension turns it into the source's health record.

With distributed crawling, many worker processes crawl one platform at once: each request then
first takes a token from the platform's shared rate limit (:class:`SharedRateLimitMiddleware`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro

from crawlers.context import load_crawl_config
from crawlers.spiders.base import Block, PlatformSpider
from fengxiang.rate_limit import RateLimiter
from fengxiang.work_queue import connect_redis

BLOCK_KIND_STAT = "fengxiang/block_kind"
BLOCK_MESSAGE_STAT = "fengxiang/block_message"
STOPPED_BLOCKED = "blocked"  # the close reason of a crawl the platform stopped


class BlockingMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.backoff_base = settings.getfloat("FENGXIANG_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("FENGXIANG_BACKOFF_MAX")
        self.normal_delay = settings.getfloat("DOWNLOAD_DELAY")
        self.give_up_after = settings.getfloat("FENGXIANG_THROTTLED_FOR")
        self.refused_since: float | None = None  # when the current run of refusals began
        self.stopped = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BlockingMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        spider = self.crawler.spider
        block = spider.block_in(response) if isinstance(spider, PlatformSpider) else None
        if block is None:
            self.refused_since = None
            self._set_delay(request, lambda delay: max(self.normal_delay, delay * 0.75))
            return response
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value(f"fengxiang/blocked/{block.kind}")
        if block.kind == "throttled" and not self.stopped:
            # Requests already in flight come back refused together: the limit is a duration of
            # refusals, not a count, so a burst of them does not end the crawl before backing off helped.
            now = time.monotonic()
            self.refused_since = self.refused_since or now
            if now - self.refused_since < self.give_up_after:
                self._set_delay(request, lambda delay: min(max(delay * 2, self.backoff_base), self.backoff_max))
                return request.replace(dont_filter=True)
        self._stop(block)
        raise IgnoreRequest(block.message)

    def _set_delay(self, request: Request, change: Callable[[float], float]) -> None:
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(request.meta.get("download_slot", "")) if engine else None
        if slot is not None:
            slot.delay = change(slot.delay)

    def _stop(self, block: Block) -> None:
        if self.stopped:
            return
        self.stopped = True
        stats = self.crawler.stats
        assert stats is not None and self.crawler.engine is not None
        stats.set_value(BLOCK_KIND_STAT, block.kind)
        stats.set_value(BLOCK_MESSAGE_STAT, block.message)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=STOPPED_BLOCKED))


class JsonAnswerMiddleware:
    """Reads the JSON of API answers (requests with ``meta["json_api"]``) into ``meta["json"]``.

    A body that is not JSON (cut off by the network or the server) is fetched again; if it stays
    broken the request fails, its errback runs, and the stats count it.
    """

    MAX_RETRIES = 2

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JsonAnswerMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if not request.meta.get("json_api") or not 200 <= response.status < 300:
            return response
        try:
            answer = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            answer = None
        if isinstance(answer, dict):
            request.meta["json"] = answer  # the response is not tied to its request yet
            return response
        stats = self.crawler.stats
        assert stats is not None and self.crawler.spider is not None
        stats.inc_value("fengxiang/invalid_json")
        retry = get_retry_request(
            request, spider=self.crawler.spider, reason="invalid JSON", max_retry_times=self.MAX_RETRIES
        )
        if retry is not None:
            return retry
        raise IgnoreRequest(f"{request.url}: the answer is not a JSON object, even after {self.MAX_RETRIES} retries")


class SharedRateLimitMiddleware:
    """Every worker's requests to a platform together keep to its politeness: ``1/delay`` requests a
    second, ``concurrency`` at once, counted in ``distributed.redis``. Only when ``distributed:`` is
    configured and the platform's politeness is on (the sandbox switches it off: no limit)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedRateLimitMiddleware:
        config = load_crawl_config(crawler.settings.get("FENGXIANG_CONFIG"))
        platform: str = getattr(crawler.spidercls, "platform", "")
        source = config.sources.get(platform)
        if config.distributed is None or source is None:
            raise NotConfigured("no shared rate limit: not distributed, or not a configured platform")
        pace = source.politeness
        if not pace.enabled or pace.delay <= 0:
            raise NotConfigured(f"{platform}: politeness is off — no shared rate limit")
        client = connect_redis(config.distributed.redis.get_secret_value())
        return cls(RateLimiter(client, platform, 1 / pace.delay, burst=pace.concurrency))

    async def process_request(self, request: Request) -> None:
        # Redis' answer comes in a thread and the wait is asyncio's (the reactor is Scrapy's default asyncio
        # one): the reactor keeps serving the other requests meanwhile.
        while wait := await asyncio.to_thread(self.limiter.try_acquire):
            await asyncio.sleep(wait)
