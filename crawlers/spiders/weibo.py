"""The Weibo spider: keyword search on m.weibo.cn, long texts, hot comments, incremental.

For every positive term of the watchlist it pages through the realtime (newest first) search
until one of: the end of results, a page holding only posts already seen by an earlier run (the
term's cursor: Weibo's post ids grow with time), a page older than ``lookback``, or ``max_pages``.
Then a page or two of the popular ordering refreshes the engagement of the posts that matter.
Truncated long posts get their full text from ``statuses/extend``; posts with enough engagement
get their hot comments. The pipeline keeps only posts the watchlist query really matches (search
is fuzzy) and stores them; the cursors advance only when the whole run finished cleanly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.login import WEIBO
from crawlers.spiders.base import Block, PlatformSpider, SearchTerm
from crawlers.spiders.weibo_shapes import (
    PUBLIC_ORIGIN,
    SEARCH_HOT,
    SEARCH_REALTIME,
    ShapeError,
    comment_url,
    comments_in,
    config_url,
    extend_url,
    is_end_of_results,
    mblog_id,
    mblog_time,
    mblogs_in,
    post_from_comment,
    post_from_mblog,
    refusal_in,
    repost_root,
    search_url,
)

_THROTTLED_STATUSES = (418, 432)
_VISITOR_PAGE_MARK = b"Sina Visitor System"


@dataclass
class _PendingPost:
    """A post waiting for the full text of itself and/or of the root it reposts."""

    mblog: dict[str, Any]
    fetched_at: datetime
    missing: list[str] = field(default_factory=list)  # ids still to fetch from statuses/extend
    texts: dict[str, str] = field(default_factory=dict)  # id -> full HTML


class WeiboSpider(PlatformSpider):
    name = "weibo"
    platform = "weibo"
    default_base_url = PUBLIC_ORIGIN

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.terms: dict[str, SearchTerm] = {}
        self.seen: set[str] = set()  # post ids handled in this run (terms overlap)
        self.long_texts: dict[str, str] = {}  # post id -> full HTML fetched in this run
        self.cookies: dict[str | bytes, Any] = {}

    # -- the run ------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        self.cookies = {name: value for name, value in self.session_cookies().items()}
        # The login probe goes first: a blocked or logged-out session shows here, before any search.
        yield self._request(config_url(self.base_url), self.parse_login_probe)

    def parse_login_probe(self, response: Response) -> Iterator[scrapy.Request]:
        logged_in = bool(WEIBO.read_probe(response.meta["json"])[0])
        self.crawler.stats.set_value("fengxiang/logged_in", logged_in)
        if self.cookies and not logged_in:
            self.crawler.stats.set_value("fengxiang/login_expired", True)
            self.logger.warning("the Weibo login cookie no longer logs in; crawling as a visitor")
        self.terms = self.search_terms()
        for text in self.terms:
            yield self._search(text, SEARCH_REALTIME, 1)
            if self.context.source.hot_pages:
                yield self._search(text, SEARCH_HOT, 1)

    def cursors_to_save(self) -> dict[str, str]:
        """Cursor key → newest post id, for the terms whose realtime pass ended normally."""
        return self.search_cursors(self.terms.values())

    # -- search -------------------------------------------------------------------------------

    def _search(self, term: str, kind: str, page: int) -> scrapy.Request:
        return self._request(
            search_url(self.base_url, term, kind, page),
            self.parse_search,
            cb_kwargs={"term": term, "kind": kind, "page": page},
        )

    def parse_search(self, response: Response, term: str, kind: str, page: int) -> Iterator[Any]:
        answer = response.meta["json"]
        state = self.terms[term]
        realtime = kind == SEARCH_REALTIME
        if is_end_of_results(answer):
            state.finished |= realtime
            return
        refusal = refusal_in(answer)
        if refusal is not None:
            self._page_lost(term, kind, refusal)
            return
        self.crawler.stats.inc_value("fengxiang/pages")
        fetched_at = datetime.now(UTC)
        since = fetched_at - self.context.source.lookback
        known = too_old = posts = 0
        for mblog in mblogs_in(answer):
            try:
                mid = int(mblog_id(mblog))
                created_at = mblog_time(mblog, fetched_at)
            except ShapeError as err:
                self.bad_post(err)
                continue
            posts += 1
            state.newest = max(state.newest, mid) if realtime else state.newest
            known += mid <= state.cursor
            if created_at < since:
                too_old += 1
                continue
            yield from self._post(mblog, fetched_at)
        last_page = page >= (self.context.source.max_pages if realtime else self.context.source.hot_pages)
        caught_up = posts > 0 and (known == posts or too_old == posts)
        if realtime and last_page and not caught_up:
            # Older posts were left unread: a term this busy needs a shorter interval or more pages.
            self.crawler.stats.inc_value("fengxiang/capped_terms")
        if realtime and (last_page or caught_up):
            state.finished = True
        elif not last_page and not (realtime and caught_up):
            yield self._search(term, kind, page + 1)

    # -- posts --------------------------------------------------------------------------------

    def _post(self, mblog: dict[str, Any], fetched_at: datetime) -> Iterator[Any]:
        post_id = f"weibo:{mblog_id(mblog)}"
        if post_id in self.seen:
            return
        self.seen.add(post_id)
        pending = _PendingPost(mblog, fetched_at)
        try:
            pending.missing = _long_texts_of(mblog)
        except ShapeError as err:
            self.bad_post(err)
            return
        yield from self._complete(pending)

    def _complete(self, pending: _PendingPost) -> Iterator[Any]:
        """Fetch the next missing full text, or emit the post when nothing is missing."""
        while pending.missing and pending.missing[0] in self.long_texts:  # a root reposted many times
            mid = pending.missing.pop(0)
            pending.texts[mid] = self.long_texts[mid]
        if pending.missing:
            yield self._request(
                extend_url(self.base_url, pending.missing[0]),
                self.parse_long_text,
                cb_kwargs={"pending": pending},
                errback=self.long_text_failed,
                priority=1,  # finish posts before paging further: fewer posts held in memory
                dont_filter=True,  # two reposts may wait for one root at once: each needs its answer
            )
            return
        mblog = pending.mblog
        root = repost_root(mblog)
        try:
            post = post_from_mblog(
                mblog,
                now=pending.fetched_at,
                long_text=pending.texts.get(mblog_id(mblog)),
                root_long_text=pending.texts.get(mblog_id(root)) if root is not None else None,
            )
        except ShapeError as err:
            self.bad_post(err)
            return
        if _was_cut(pending):
            post["text_truncated"] = True
        yield post
        yield from self._comment_requests(post)

    def parse_long_text(self, response: Response, pending: _PendingPost) -> Iterator[Any]:
        answer = response.meta["json"]
        data = answer.get("data") if isinstance(answer, dict) else None
        mid = pending.missing.pop(0)
        if isinstance(data, dict) and isinstance(data.get("longTextContent"), str):
            pending.texts[mid] = self.long_texts[mid] = data["longTextContent"]
        else:
            self.crawler.stats.inc_value("fengxiang/long_text_missing")
        yield from self._complete(pending)

    def long_text_failed(self, failure: Failure) -> Iterator[Any]:
        # The truncated text is still a mention: store it (flagged) rather than lose the post.
        pending: _PendingPost = failure.request.cb_kwargs["pending"]  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("fengxiang/long_text_missing")
        pending.missing.pop(0)
        yield from self._complete(pending)

    # -- comments -----------------------------------------------------------------------------

    def _comment_requests(self, post: dict[str, Any]) -> Iterator[scrapy.Request]:
        settings = self.context.source.comments
        metrics = post["metrics"]
        engagement = metrics["reposts"] + metrics["comments"] + metrics["likes"]
        if settings.max_pages and metrics["comments"] and engagement >= settings.min_engagement:
            mid = post["id"].removeprefix("weibo:")
            yield self._comments(mid, None, 0, page=1)

    def _comments(self, mid: str, max_id: int | None, max_id_type: int, page: int) -> scrapy.Request:
        return self._request(
            comment_url(self.base_url, mid, max_id, max_id_type),
            self.parse_comments,
            cb_kwargs={"mid": mid, "page": page},
            priority=1,
        )

    def parse_comments(self, response: Response, mid: str, page: int) -> Iterator[Any]:
        answer = response.meta["json"]
        if is_end_of_results(answer) or refusal_in(answer) is not None:  # comments are a bonus: stop quietly
            return
        fetched_at = datetime.now(UTC)
        try:
            comments, next_max_id = comments_in(answer)
        except ShapeError as err:
            self.bad_post(err)
            return
        for comment in comments:
            try:
                record = post_from_comment(comment, post_id=f"weibo:{mid}", now=fetched_at)
            except ShapeError as err:
                self.bad_post(err)
                continue
            if record["id"] not in self.seen:
                self.seen.add(record["id"])
                yield record
        if next_max_id and page < self.context.source.comments.max_pages:
            max_id_type = answer["data"].get("max_id_type") or 0
            yield self._comments(mid, next_max_id, int(max_id_type), page + 1)

    # -- plumbing -----------------------------------------------------------------------------

    def _request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        kwargs.setdefault("errback", self.request_failed)
        meta = {"json_api": True}
        return scrapy.Request(url, callback=callback, cookies=self.cookies, meta=meta, **kwargs)

    def request_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self.count_failed_request(failure)
        term = request.cb_kwargs.get("term")
        if term is not None:
            self._page_lost(term, request.cb_kwargs["kind"], failure.getErrorMessage())
        self.logger.warning("request failed: %s (%s)", request.url, failure.getErrorMessage())

    def _page_lost(self, term: str, kind: str, reason: str) -> None:
        self.crawler.stats.inc_value("fengxiang/lost_pages")
        if kind == SEARCH_REALTIME:
            self.terms[term].finished = False  # pages were missed: the next run must not skip them
        self.logger.warning("search for %r stopped early: %s", term, reason)

    def block_in(self, response: Response) -> Block | None:
        if response.status in _THROTTLED_STATUSES:
            return Block(
                "throttled",
                f"Weibo answered HTTP {response.status} (too many requests) and kept doing so while the "
                "crawler backed off — wait, or raise sources.weibo.politeness.delay",
            )
        head = response.body[:512]
        if b'"ok":-100' in head.replace(b" ", b""):
            return Block(
                "login_required",
                "Weibo requires a login (ok:-100): the cookie is missing or expired — "
                "run `fengxiang login weibo`, or update WEIBO_COOKIE",
            )
        if _VISITOR_PAGE_MARK in response.body[:4096]:
            return Block(
                "verification",
                "Weibo sent its visitor-verification page (Sina Visitor System) instead of data — "
                "log in with `fengxiang login weibo`, or crawl more slowly",
            )
        return None


def _long_texts_of(mblog: dict[str, Any]) -> list[str]:
    """Ids of the truncated texts a post shows: its own and its root's."""
    wanted = [mblog_id(mblog)] if mblog.get("isLongText") else []
    root = repost_root(mblog)
    if root is not None and root.get("isLongText"):
        wanted.append(mblog_id(root))
    return wanted


def _was_cut(pending: _PendingPost) -> bool:
    return any(mid not in pending.texts for mid in _long_texts_of(pending.mblog))
