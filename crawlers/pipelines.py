"""The item pipeline: posts in batches → validation → nlp → watchlist check → store.

A batch is analysed in one call (the sentiment model scores it at once) and written in one
transaction, so a killed crawl keeps every batch it stored; the rest is fetched again next run,
since cursors only advance after a clean finish. One malformed post is counted and skipped, never
the batch. Search is fuzzy, so a post that no watchlist query matches is dropped here; a comment
counts for the brands of the post it answers (the conversation is about them).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from scrapy.crawler import Crawler

from crawlers.spiders.base import PlatformSpider
from fengxiang.ingest import describe
from store.model import Mention

logger = logging.getLogger(__name__)


class AnalyzeAndStorePipeline:
    BATCH_SIZE = 200

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pending: list[dict[str, Any]] = []
        self.brands_of: dict[str, list[str]] = {}  # brands of posts stored in this run, for their comments

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AnalyzeAndStorePipeline:
        return cls(crawler)

    @property
    def spider(self) -> PlatformSpider:
        spider = self.crawler.spider
        assert isinstance(spider, PlatformSpider)
        return spider

    def open_spider(self) -> None:
        self.spider.context.analyzer  # noqa: B018 — load jieba and the model before the first batch arrives

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        self.pending.append(item)
        if len(self.pending) >= self.BATCH_SIZE:
            self.flush()
        return item

    def close_spider(self) -> None:
        self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        context = self.spider.context
        mentions = self._valid(batch, context.config.tzinfo)
        context.analyzer.analyze_mentions(mentions)
        kept = self._on_watchlist(mentions)
        result = context.store.upsert(kept)
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("fengxiang/stored_new", result.inserted)
        stats.inc_value("fengxiang/stored_updated", result.updated)
        stats.inc_value("fengxiang/unmatched", len(mentions) - len(kept))

    def _valid(self, batch: list[dict[str, Any]], zone: Any) -> list[Mention]:
        mentions = []
        for item in batch:
            try:
                mentions.append(Mention.model_validate(item, context={"timezone": zone}))
            except ValidationError as err:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("fengxiang/bad_posts")
                logger.warning("skipped post %s: %s", item.get("id", "?"), describe(err))
        return mentions

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
            parent = self.spider.context.store.get(parent_id)
            self.brands_of[parent_id] = parent.brands if parent else []
        return self.brands_of[parent_id]
