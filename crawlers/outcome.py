"""What a crawl run leaves behind besides mentions: its source-health record and, after a clean
finish, the advanced search cursors.

The health record is the truth the alerts ("数据源失效") and the dashboard read, so it must never
call a blocked crawl a success: a run the platform stopped is ``failed`` with the platform's
reason; a run that finished but lost pages, answers or posts on the way is ``degraded`` and says
how many; only a clean run is ``ok`` — even with zero new posts, which is then the honest answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

from crawlers.middlewares import BLOCK_KIND_STAT, BLOCK_MESSAGE_STAT
from crawlers.spiders.base import PlatformSpider
from crawlers.spiders.signed_page import SIGNING_FAILED_STAT
from store.base import SourceHealth

logger = logging.getLogger(__name__)

# Stats (crawler.stats keys) copied into the health record's detail.
_DETAIL_STATS = {
    "fengxiang/pages": "pages",
    "fengxiang/stored_new": "new",
    "fengxiang/stored_updated": "updated",
    "fengxiang/unmatched": "unmatched",
    "fengxiang/bad_posts": "bad_posts",
    "fengxiang/blocked/throttled": "throttled",
    "fengxiang/invalid_json": "invalid_answers",
    "fengxiang/failed_requests": "failed_requests",
    "fengxiang/timeouts": "timeouts",
    "fengxiang/lost_pages": "lost_pages",
    "fengxiang/capped_terms": "capped_terms",
    "fengxiang/long_text_missing": "long_text_missing",
    "fengxiang/lost_batches": "lost_batches",
    "fengxiang/failed_feeds": "failed_feeds",
}
_CLOSE_REASONS = {
    "shutdown": "stopped before the end (the process was asked to stop)",
    "closespider_timeout": "stopped at the time limit (sources.<platform>.timeout) before the end",
}


@dataclass(frozen=True)
class Verdict:
    status: Literal["ok", "degraded", "failed"]
    error: str | None


def judge(reason: str, stats: Mapping[str, Any], *, platform: str) -> Verdict:
    """The health of a run of ``platform``'s spider from its close reason and stats."""
    if stats.get(BLOCK_KIND_STAT):
        return Verdict("failed", str(stats.get(BLOCK_MESSAGE_STAT)))
    if stats.get(SIGNING_FAILED_STAT):
        return Verdict("failed", str(stats[SIGNING_FAILED_STAT]))
    if stats.get("fengxiang/lost_batches"):
        error = stats.get("fengxiang/lost_batch_error")
        return Verdict("failed", f"{stats['fengxiang/lost_batches']} batches of posts could not be stored ({error})")
    if reason != "finished":
        return Verdict("degraded", _CLOSE_REASONS.get(reason, f"stopped before the end ({reason})"))
    problems = []
    if stats.get("fengxiang/failed_feeds"):  # news: each feed is its own site; the others went on
        errors = stats.get("fengxiang/failed_feed_errors")
        feeds = f"{stats['fengxiang/failed_feeds']} feeds could not be read: {errors}"
        if not stats.get("fengxiang/pages"):
            return Verdict("failed", feeds)
        problems.append(feeds)
    if not stats.get("fengxiang/pages") and stats.get("fengxiang/failed_requests"):
        return Verdict("failed", _why_nothing_was_fetched(stats, platform))
    if stats.get("fengxiang/lost_pages"):
        problems.append(f"{stats['fengxiang/lost_pages']} search pages could not be read")
    if stats.get("fengxiang/capped_terms"):
        problems.append(
            f"{stats['fengxiang/capped_terms']} search terms had more posts than max_pages allows — "
            "crawl more often (interval) or raise max_pages"
        )
    if stats.get("fengxiang/bad_posts"):
        problems.append(f"{stats['fengxiang/bad_posts']} posts in an unknown shape were skipped")
    if stats.get("fengxiang/long_text_missing"):
        problems.append(f"{stats['fengxiang/long_text_missing']} long posts kept their truncated text")
    if stats.get("fengxiang/login_expired"):
        problems.append("the login cookie has expired; crawled as a visitor — run `fengxiang login`")
    return Verdict("degraded", "; ".join(problems)) if problems else Verdict("ok", None)


def _why_nothing_was_fetched(stats: Mapping[str, Any], platform: str) -> str:
    causes = [f"{stats['fengxiang/failed_requests']} requests failed"]
    if stats.get("fengxiang/invalid_json"):
        causes.append(f"{stats['fengxiang/invalid_json']} answers were not valid JSON (cut off?)")
    if stats.get("fengxiang/timeouts"):
        causes.append(f"{stats['fengxiang/timeouts']} went unanswered within sources.{platform}.request_timeout")
    return f"no search page could be fetched ({'; '.join(causes)}) — is sources.{platform}.base_url reachable?"


class CrawlOutcome:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlOutcome:
        return cls(crawler)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if not isinstance(spider, PlatformSpider):
            return
        context = spider.context
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        verdict = judge(reason, stats, platform=spider.platform)
        try:
            if reason == "finished" and verdict.status != "failed":  # never past posts that were not stored
                for key, value in spider.cursors_to_save().items():
                    context.store.set_cursor(spider.platform, key, value)
            detail: dict[str, Any] = {name: int(stats.get(key, 0)) for key, name in _DETAIL_STATS.items()}
            detail["logged_in"] = bool(stats.get("fengxiang/logged_in"))
            detail["close_reason"] = reason
            context.store.record_health(
                SourceHealth(
                    source=spider.platform,
                    started_at=context.started_at,
                    finished_at=datetime.now(UTC),
                    status=verdict.status,
                    items=int(stats.get("fengxiang/stored_new", 0)) + int(stats.get("fengxiang/stored_updated", 0)),
                    error=verdict.error,
                    detail=detail,
                )
            )
            logger.info("%s crawl %s: %s", spider.platform, verdict.status, verdict.error or "no problems")
        finally:
            context.close()
