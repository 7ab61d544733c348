"""The item pipeline: posts in batches → validation → nlp → watchlist check → store.

The analysis and the store writes run in one worker process beside the crawl, so the crawl's own
process keeps downloading and parsing on one core while the other analyses (nlp is pure Python
CPU work). Batches go to the worker in order and are written in order, each in one transaction:
a killed crawl keeps every batch it stored, and the rest is fetched again next run, since cursors
only advance after a clean finish. One malformed post is counted and skipped, never the batch.
Search is fuzzy, so a post that no watchlist query matches is dropped; a comment counts for the
brands of the post it answers (the conversation is about them).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from scrapy.crawler import Crawler

from crawlers.context import CrawlContext
from crawlers.spiders.base import PlatformSpider
from fengxiang.ingest import describe
from fengxiang.worker_process import exit_with_parent
from store.model import Mention

logger = logging.getLogger(__name__)


@dataclass
class BatchResult:
    new: int = 0
    updated: int = 0
    unmatched: int = 0
    bad_posts: int = 0


class BatchWriter:
    """Validates, analyses, filters and stores batches of post dicts for one crawl."""

    def __init__(self, context: CrawlContext) -> None:
        self.context = context
        self.brands_of: dict[str, list[str]] = {}  # brands of posts stored in this run, for their comments

    def write(self, batch: list[dict[str, Any]]) -> BatchResult:
        result = BatchResult()
        mentions = []
        for item in batch:
            try:
                mentions.append(Mention.model_validate(item, context={"timezone": self.context.config.tzinfo}))
            except ValidationError as err:
                result.bad_posts += 1
                logger.warning("skipped post %s: %s", item.get("id", "?"), describe(err))
        self.context.analyzer.analyze_mentions(mentions)
        kept = self._on_watchlist(mentions)
        stored = self.context.store.upsert(kept)
        result.new, result.updated, result.unmatched = stored.inserted, stored.updated, len(mentions) - len(kept)
        return result

    def _on_watchlist(self, mentions: list[Mention]) -> list[Mention]:
        """The mentions a watchlist query matches; comments also take their post's brands."""
        posts = [mention for mention in mentions if getattr(mention, "kind", None) != "comment"]
        comments = [mention for mention in mentions if getattr(mention, "kind", None) == "comment"]
        kept = [post for post in posts if post.brands]
        self.brands_of.update((post.id, post.brands) for post in kept)
        for comment in comments:
            parent_brands = self._parent_brands(comment.parent_id)
            comment.brands = list(dict.fromkeys([*comment.brands, *parent_brands]))
            if comment.brands:
                kept.append(comment)
        return kept

    def _parent_brands(self, parent_id: str | None) -> list[str]:
        if parent_id is None:
            return []
        if parent_id not in self.brands_of:
            parent = self.context.store.get(parent_id)
            self.brands_of[parent_id] = parent.brands if parent else []
        return self.brands_of[parent_id]


# The worker process's writer, built once by its initializer.
_writer: BatchWriter | None = None


def _start_worker(config_path: str, platform: str) -> None:
    global _writer
    exit_with_parent()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    _writer = BatchWriter(CrawlContext.load(config_path, platform))
    _writer.context.analyzer  # noqa: B018 — load jieba and the model while the first pages download


def _write_in_worker(batch: list[dict[str, Any]]) -> BatchResult:
    assert _writer is not None
    return _writer.write(batch)


def _stop_worker() -> None:
    if _writer is not None:
        _writer.context.close()


class AnalyzeAndStorePipeline:
    BATCH_SIZE = 200
    MAX_BATCHES_IN_FLIGHT = 4  # beyond this the crawl waits for the worker: memory stays bounded

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pending: list[dict[str, Any]] = []
        self.in_flight: deque[Future[BatchResult]] = deque()
        self.executor: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AnalyzeAndStorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        assert isinstance(spider, PlatformSpider)
        # spawn, not fork: the crawl process runs threads (DNS, the reactor's pool) a fork would copy mid-flight.
        self.executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.crawler.settings.get("FENGXIANG_CONFIG"), spider.platform),
        )

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        self.pending.append(item)
        if len(self.pending) >= self.BATCH_SIZE:
            self.flush()
        return item

    def close_spider(self) -> None:
        self.flush()
        while self.in_flight:
            self._collect(self.in_flight.popleft())
        assert self.executor is not None
        self.executor.submit(_stop_worker).result()
        self.executor.shutdown()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if batch:
            assert self.executor is not None
            self.in_flight.append(self.executor.submit(_write_in_worker, batch))
        while self.in_flight and (self.in_flight[0].done() or len(self.in_flight) > self.MAX_BATCHES_IN_FLIGHT):
            self._collect(self.in_flight.popleft())

    def _collect(self, future: Future[BatchResult]) -> None:
        stats = self.crawler.stats
        assert stats is not None
        try:
            result = future.result()
        except Exception as err:  # the store or the worker failed: the batch is lost for this run
            stats.inc_value("fengxiang/lost_batches")
            stats.set_value("fengxiang/lost_batch_error", f"{type(err).__name__}: {err}")
            logger.error("a batch of posts could not be stored: %s", err)
            return
        stats.inc_value("fengxiang/stored_new", result.new)
        stats.inc_value("fengxiang/stored_updated", result.updated)
        stats.inc_value("fengxiang/unmatched", result.unmatched)
        stats.inc_value("fengxiang/bad_posts", result.bad_posts)
