"""Distributed crawling's wiring, quickly: the `distributed:` section, enqueueing, the term filter and the
shared rate limit's switch. The crawl workers themselves run in tests/test_distributed_crawl.py."""

from __future__ import annotations

import asyncio
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings

from crawlers.context import CrawlSetupError
from crawlers.middlewares import SharedRateLimitMiddleware
from crawlers.spiders.weibo import WeiboSpider
from fengxiang.config import ConfigError, load_config
from fengxiang.crawl_worker import enqueue
from fengxiang.rate_limit import RateLimiter
from fengxiang.work_queue import WorkQueue

pytest_plugins = ["tests.redis_server"]

PASSWORD = "hunter2-redis-password"


def config_file(folder: Path, distributed: str = "", politeness: str = "enabled: false") -> Path:
    path = folder / "fengxiang.yaml"
    text = f"""
        store: sqlite:///crawl.db
        watchlist:
          - name: 启航汽车
            query: 启航汽车 OR qihang -招聘
          - name: 澜颜
            query: 澜颜
        sources:
          weibo:
            politeness: {{{politeness}}}
          news:
            feeds: [https://example.com/rss]
        {distributed}
    """
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def distributed(url: str, lease: str = "5m") -> str:
    return f"distributed: {{redis: '{url}', lease: {lease}}}"


def test_the_distributed_section_keeps_the_url_secret_and_checks_it(tmp_path: Path) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:6379/2"
    config = load_config(config_file(tmp_path, distributed(url)))
    assert config.distributed is not None and config.distributed.redis.get_secret_value() == url
    assert config.distributed.lease.total_seconds() == 300
    assert PASSWORD not in repr(config) + config.model_dump_json()
    assert load_config(config_file(tmp_path)).distributed is None  # optional
    for wrong, says in ((f"http://:{PASSWORD}@host/0", "not a Redis URL"), (url, "lease this short")):
        with pytest.raises(ConfigError) as caught:
            load_config(config_file(tmp_path, distributed(wrong, lease="1s" if wrong == url else "5m")))
        assert says in str(caught.value) and PASSWORD not in str(caught.value)


def test_enqueue_queues_each_platform_and_term_once(tmp_path: Path, redis_client: redis.Redis) -> None:
    config = load_config(config_file(tmp_path))
    queue = WorkQueue(redis_client)
    queued, already = enqueue(config, queue, ["weibo"])
    assert [item.term for item in queued] == ["启航汽车", "qihang", "澜颜"] and not already  # not the excluded 招聘
    queued, already = enqueue(config, queue, ["weibo"])
    assert not queued and len(already) == 3 and queue.stats().pending == 3
    with pytest.raises(ValueError, match="news: not crawled by search term"):
        enqueue(config, queue, ["news"])


def spider(config: Path, only_terms: str | None) -> WeiboSpider:
    crawler: Any = SimpleNamespace(settings=Settings({"FENGXIANG_CONFIG": str(config)}), stats=None)
    arguments = {} if only_terms is None else {"only_terms": only_terms}
    return WeiboSpider.from_crawler(crawler, **arguments)


def test_a_crawl_searches_only_the_given_terms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = config_file(tmp_path)
    monkeypatch.setattr(WeiboSpider, "_set_crawler", lambda self, crawler: None)  # no engine, no signals
    assert list(spider(path, None).search_terms()) == ["启航汽车", "qihang", "澜颜"]
    assert list(spider(path, '["澜颜"]').search_terms()) == ["澜颜"]
    with pytest.raises(CrawlSetupError, match="'招聘': not a search term of the watchlist"):
        spider(path, '["招聘"]')
    with pytest.raises(CrawlSetupError, match="must be a JSON list"):
        spider(path, "澜颜")


def rate_limit_for(config: Path) -> SharedRateLimitMiddleware:
    crawler: Any = SimpleNamespace(settings=Settings({"FENGXIANG_CONFIG": str(config)}), spidercls=WeiboSpider)
    return SharedRateLimitMiddleware.from_crawler(crawler)


def test_the_shared_rate_limit_applies_only_to_polite_distributed_crawls(tmp_path: Path, redis_url: str) -> None:
    with pytest.raises(NotConfigured):
        rate_limit_for(config_file(tmp_path, politeness="enabled: true"))  # not distributed
    with pytest.raises(NotConfigured):
        rate_limit_for(config_file(tmp_path, distributed(redis_url)))  # the sandbox: politeness off
    limit = rate_limit_for(config_file(tmp_path, distributed(redis_url), "enabled: true, delay: 2, concurrency: 3"))
    assert (limit.limiter.platform, limit.limiter.rate_per_second, limit.limiter.burst) == ("weibo", 0.5, 3)


def test_requests_past_the_burst_wait_for_the_shared_rate(redis_client: redis.Redis) -> None:
    middleware = SharedRateLimitMiddleware(RateLimiter(redis_client, "weibo", rate_per_second=10, burst=2))

    async def three_requests() -> float:
        started = time.monotonic()
        for _ in range(3):
            await middleware.process_request(Request("https://m.weibo.cn/"))
        return time.monotonic() - started

    assert 0.08 < asyncio.run(three_requests()) < 1.0  # two at once, the third a tenth of a second later
