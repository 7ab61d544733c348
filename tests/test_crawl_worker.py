"""Distributed crawling's wiring, quickly: the `distributed:` section, enqueueing, the term filter and the
shared rate limit's switch. The crawl workers themselves run in tests/test_distributed_crawl.py."""

from __future__ import annotations

import asyncio
import json
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
from fengxiang.cli import main
from fengxiang.command_errors import EXIT_STORE, EXIT_USAGE
from fengxiang.config import ConfigError, load_config
from fengxiang.crawl_worker import enqueue
from fengxiang.rate_limit import RateLimiter
from fengxiang.work_queue import WorkItem, WorkQueue

pytest_plugins = ["tests.redis_server"]

PASSWORD = "hunter2-redis-password"


def config_file(folder: Path, distributed: str = "", politeness: str = "enabled: false", more: str = "") -> Path:
    """Weibo and news enabled, and the ``more`` source (one line, e.g. ``zhihu: {}``)."""
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
          {more}
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


@pytest.mark.parametrize(
    ("platforms", "says"),
    [
        ("weibo,zhihu", "zhihu: not enabled in "),
        ("tiktok", "tiktok: not a platform crawl-workers crawl (bilibili, weibo, xiaohongshu, zhihu)"),
        ("news", "news: not a platform crawl-workers crawl"),
        (",", "no platform given"),
    ],
)
def test_a_worker_refuses_a_platform_it_cannot_serve(
    tmp_path: Path, redis_url: str, platforms: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file(tmp_path, distributed(redis_url), more="zhihu: {enabled: false}")
    assert main(["crawl-worker", "--once", "--platforms", platforms, "--config", str(path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert says in err and "this config's workers can serve weibo: --platforms weibo" in err


def test_a_worker_serves_only_its_platforms_and_needs_chromium_only_for_browser_ones(
    tmp_path: Path,
    redis_url: str,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = config_file(tmp_path, distributed(redis_url), more="zhihu: {}")
    monkeypatch.setattr("fengxiang.cli.CHROMIUM", tmp_path / "no-chromium-here")
    queue = WorkQueue(redis_client)
    assert queue.push(WorkItem("zhihu", "澜颜"))

    # Weibo only: no Chromium needed, and the zhihu item is not its work, so --once finds nothing to do.
    assert main(["crawl-worker", "--once", "--platforms", "weibo", "--config", str(path)]) == 0
    assert "serving weibo; waiting for work" in capsys.readouterr().err
    assert queue.stats().pending_by_platform["zhihu"] == 1

    assert main(["crawl-worker", "--once", "--config", str(path)]) == EXIT_STORE  # default: weibo and zhihu
    err = capsys.readouterr().err
    assert "zhihu sign their requests in Chromium, which is not installed" in err
    assert "or serve only --platforms weibo on this machine" in err
    assert queue.stats().pending_by_platform["zhihu"] == 1  # refused at start, before claiming anything


def test_status_shows_the_pending_items_per_platform(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file(tmp_path, distributed(redis_url), more="zhihu: {}")
    queue = WorkQueue(redis_client)
    for number in range(1200):
        queue.push(WorkItem("weibo", f"品牌{number}"))
    main(["status", "--config", str(path)])
    assert f"queue     {redis_url}: 1,200 pending, 0 in flight, 0 done" in capsys.readouterr().out  # one platform

    queue.push(WorkItem("zhihu", "澜颜"))
    queue.claim("worker-1", lease=60, timeout=0, platforms=["zhihu"])
    queue.push(WorkItem("zhihu", "启航汽车"))
    main(["status", "--config", str(path)])
    line = f"queue     {redis_url}: 1,201 pending (weibo 1,200, zhihu 1), 1 in flight, 0 done"
    assert line in capsys.readouterr().out
    main(["status", "--json", "--config", str(path)])
    queue_json = json.loads(capsys.readouterr().out)["queue"]
    assert queue_json["pending"] == 1201 and queue_json["in_flight"] == 1
    assert queue_json["pending_by_platform"] == {"bilibili": 0, "weibo": 1200, "xiaohongshu": 0, "zhihu": 1}


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
