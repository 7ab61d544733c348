"""The Bilibili spider: WBI-signed video search, video stats, owners' cards and comments, incremental.

It first reads the WBI keys from ``x/web-interface/nav``. For every positive term of the watchlist
it pages through the video search ordered by publication time (newest first) until one of: the end
of results, a page holding only videos an earlier run already finished with (the term's cursor:
the newest ``pubdate`` seen), a page older than ``lookback``, or ``max_pages``. Each new video gets
its full stats from ``x/web-interface/view`` and its owner's followers from ``x/web-interface/card``
(once per owner and run); videos with enough engagement get ``comments.max_pages`` pages of their
comments. An answer saying the signature is stale (-403) makes the spider fetch the keys again,
once per run, and re-sign what was refused. The pipeline keeps only videos the watchlist query
really matches; the cursors advance only when the whole run finished cleanly.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.spiders.base import Block, PlatformSpider, SearchTerm
from crawlers.spiders.bilibili_shapes import (
    PUBLIC_API,
    STALE_SIGNATURE,
    SearchOrder,
    ShapeError,
    card_url,
    mixin_key,
    nav_url,
    post_from_reply,
    post_from_video,
    refusal_in,
    replies_in,
    reply_url,
    search_url,
    video_bvid,
    video_time,
    videos_in,
    view_url,
    wbi_keys_in,
)

_KEY_REFRESHES = 1  # fetching the keys again more often than this per run means signing itself is broken


class BilibiliSpider(PlatformSpider):
    name = "bilibili"
    platform = "bilibili"
    default_base_url = PUBLIC_API

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.terms: dict[str, SearchTerm] = {}
        self.seen: set[str] = set()  # video and comment ids handled in this run (terms overlap)
        self.cards: dict[str, dict[str, Any]] = {}  # owner mid -> data.card, fetched once per run
        self.cookies: dict[str | bytes, Any] = {}
        self.key = ""  # the WBI mixin key
        self.key_generation = 0
        self.key_refreshes = 0
        self.refreshing = False
        self.waiting_for_key: list[Callable[[], scrapy.Request]] = []

    # -- the run ------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        self.cookies = {name: value for name, value in self.session_cookies().items()}
        yield self._request(nav_url(self.base_url), self.parse_nav, errback=self.nav_failed, dont_filter=True)

    def parse_nav(self, response: Response) -> Iterator[scrapy.Request]:
        try:
            self.key = mixin_key(*wbi_keys_in(response.meta["json"]))
        except ShapeError as err:
            self.crawler.stats.inc_value("fengxiang/failed_requests")
            self.logger.error("cannot sign requests: %s", err)
            return
        self.key_generation += 1
        if self.refreshing:  # keys fetched again: re-sign what the stale ones got refused
            self.refreshing = False
            waiting, self.waiting_for_key = self.waiting_for_key, []
            yield from (redo() for redo in waiting)
            return
        self.terms = self.search_terms()
        for text in self.terms:
            yield self._search(text, 1, "pubdate")
            if self.context.source.hot_pages:
                yield self._search(text, 1, "click")

    def nav_failed(self, failure: Failure) -> None:
        self.request_failed(failure)
        if self.refreshing:  # what waited for fresh keys is lost for this run; the cursors stay
            self.refreshing = False
            self.crawler.stats.inc_value("fengxiang/lost_pages", len(self.waiting_for_key))
            for term in self.terms.values():
                term.finished = False
            self.waiting_for_key = []

    def cursors_to_save(self) -> dict[str, str]:
        """Cursor key → newest pubdate, for the terms whose search ended normally."""
        return self.search_cursors(self.terms.values())

    # -- search -------------------------------------------------------------------------------

    def _search(self, term: str, page: int, order: SearchOrder) -> scrapy.Request:
        return self._signed(
            search_url(self.base_url, term, page, self.key, int(time.time()), order),
            self.parse_search,
            partial(self._search, term, page, order),
            cb_kwargs={"term": term, "page": page, "order": order},
        )

    def parse_search(self, response: Response, term: str, page: int, order: SearchOrder) -> Iterator[Any]:
        """One page of a term's search: newest first (``pubdate``, which moves the cursor), or most
        played first (``click``: ``hot_pages`` pages that refresh the stats of videos already stored,
        so the viral rule sees them grow)."""
        answer = response.meta["json"]
        state = self.terms[term]
        refusal = refusal_in(answer)
        if refusal is not None:
            code, message = refusal
            again = self._on_stale_signature(response) if code == STALE_SIGNATURE else None
            if again is not None:
                yield from again
                return
            self.page_lost(term, f"Bilibili answered code {code}: {message}")
            return
        try:
            videos = videos_in(answer)
        except ShapeError as err:
            self.page_lost(term, str(err))
            return
        newest_first = order == "pubdate"
        if not videos:
            state.finished = state.finished or newest_first
            return
        self.crawler.stats.inc_value("fengxiang/pages")
        since = datetime.now(UTC) - self.context.source.lookback
        known = too_old = posts = 0
        for video in videos:
            try:
                video_bvid(video)
                created_at = video_time(video)
            except ShapeError as err:
                self.bad_post(err)
                continue
            posts += 1
            pubdate = int(created_at.timestamp())
            if newest_first:
                state.newest = max(state.newest, pubdate)
            known += pubdate <= state.cursor
            if created_at < since:
                too_old += 1
                continue
            yield from self._video(video)
        pages = answer["data"].get("numPages")
        end = isinstance(pages, int) and page >= pages
        if not newest_first:
            if page < self.context.source.hot_pages and not end:
                yield self._search(term, page + 1, order)
            return
        last_page = page >= self.context.source.max_pages
        caught_up = posts > 0 and (known == posts or too_old == posts)
        if last_page and not (caught_up or end):
            self.crawler.stats.inc_value("fengxiang/capped_terms")
        if last_page or caught_up or end:
            state.finished = True
        else:
            yield self._search(term, page + 1, order)

    # -- videos -------------------------------------------------------------------------------

    def _video(self, video: dict[str, Any]) -> Iterator[scrapy.Request]:
        post_id = f"bilibili:{video_bvid(video)}"
        if post_id in self.seen:
            return
        self.seen.add(post_id)
        yield self._request(
            view_url(self.base_url, video_bvid(video)),
            self.parse_view,
            cb_kwargs={"video": video},
            errback=self.view_failed,
            priority=1,  # finish videos before paging further
            dont_filter=True,
        )

    def parse_view(self, response: Response, video: dict[str, Any]) -> Iterator[Any]:
        answer = response.meta["json"]
        data = answer.get("data") if refusal_in(answer) is None else None
        if not isinstance(data, dict):
            self.crawler.stats.inc_value("fengxiang/stats_missing")
            yield from self._complete(video, None)
            return
        yield from self._complete(video, data)

    def view_failed(self, failure: Failure) -> Iterator[Any]:
        # The search result's counts are rougher, but the video is still a mention: keep it.
        self.crawler.stats.inc_value("fengxiang/stats_missing")
        yield from self._complete(failure.request.cb_kwargs["video"], None)  # type: ignore[attr-defined]

    def _complete(self, video: dict[str, Any], view: dict[str, Any] | None) -> Iterator[Any]:
        owner = view.get("owner") if view else None
        mid = str((owner or {}).get("mid") or video.get("mid") or "")
        if mid and mid not in self.cards:
            yield self._request(
                card_url(self.base_url, mid),
                self.parse_card,
                cb_kwargs={"video": video, "view": view, "mid": mid},
                errback=self.card_failed,
                priority=2,
                dont_filter=True,  # two videos of one owner may wait for the same card at once
            )
            return
        yield from self._emit(video, view, self.cards.get(mid))

    def parse_card(self, response: Response, video: dict[str, Any], view: dict[str, Any] | None, mid: str) -> Any:
        answer = response.meta["json"]
        data = answer.get("data") if refusal_in(answer) is None else None
        card = data.get("card") if isinstance(data, dict) else None
        if isinstance(card, dict):
            self.cards[mid] = card
        yield from self._emit(video, view, card if isinstance(card, dict) else None)

    def card_failed(self, failure: Failure) -> Iterator[Any]:
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        yield from self._emit(kwargs["video"], kwargs["view"], None)

    def _emit(self, video: dict[str, Any], view: dict[str, Any] | None, card: dict[str, Any] | None) -> Iterator[Any]:
        try:
            post = post_from_video(video, view=view, card=card)
        except ShapeError as err:
            self.bad_post(err)
            return
        yield post
        settings = self.context.source.comments
        metrics = post["metrics"]
        engagement = metrics["reposts"] + metrics["comments"] + metrics["likes"]
        if settings.max_pages and metrics["comments"] and engagement >= settings.min_engagement and post["aid"]:
            yield self._replies(post["id"], post["aid"], "", 1)

    # -- comments -----------------------------------------------------------------------------

    def _replies(self, post_id: str, aid: int, offset: str, page: int) -> scrapy.Request:
        return self._signed(
            reply_url(self.base_url, aid, offset, self.key, int(time.time())),
            self.parse_replies,
            partial(self._replies, post_id, aid, offset, page),
            cb_kwargs={"post_id": post_id, "aid": aid, "page": page},
            priority=3,
        )

    def parse_replies(self, response: Response, post_id: str, aid: int, page: int) -> Iterator[Any]:
        answer = response.meta["json"]
        refusal = refusal_in(answer)
        if refusal is not None:
            if refusal[0] == STALE_SIGNATURE:
                yield from self._on_stale_signature(response) or ()
            return  # comments are a bonus: stop quietly
        try:
            replies, offset = replies_in(answer)
        except ShapeError as err:
            self.bad_post(err)
            return
        for reply in replies:
            try:
                record = post_from_reply(reply, post_id=post_id)
            except ShapeError as err:
                self.bad_post(err)
                continue
            if record["id"] not in self.seen:
                self.seen.add(record["id"])
                yield record
        if offset and page < self.context.source.comments.max_pages:
            yield self._replies(post_id, aid, offset, page + 1)

    # -- signing ------------------------------------------------------------------------------

    def _on_stale_signature(self, response: Response) -> list[scrapy.Request] | None:
        """What to send for a request refused as signed with stale keys; None: give up on it."""
        redo = response.meta["redo"]
        if response.meta["key_generation"] < self.key_generation:  # signed before the last refresh
            return [redo()]
        if self.refreshing:
            self.waiting_for_key.append(redo)
            return []
        if self.key_refreshes >= _KEY_REFRESHES:
            self.logger.warning("Bilibili refused the WBI signature made with freshly fetched keys")
            return None
        self.waiting_for_key.append(redo)
        self.refreshing = True
        self.key_refreshes += 1
        self.crawler.stats.inc_value("fengxiang/key_refreshes")
        self.logger.info("the WBI keys went stale: fetching them again")
        nav = self._request(nav_url(self.base_url), self.parse_nav, errback=self.nav_failed, dont_filter=True)
        return [nav.replace(priority=10)]

    # -- plumbing -----------------------------------------------------------------------------

    def _signed(self, url: str, callback: Any, redo: Callable[[], scrapy.Request], **kwargs: Any) -> scrapy.Request:
        # A request signed again may repeat its URL (same keys, same second): never drop it as a duplicate.
        request = self._request(url, callback, dont_filter=True, **kwargs)
        request.meta.update(redo=redo, key_generation=self.key_generation)
        return request

    def _request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        kwargs.setdefault("errback", self.request_failed)
        meta = {"json_api": True}
        headers = {"Referer": "https://www.bilibili.com/", "Origin": "https://www.bilibili.com"}
        return scrapy.Request(url, callback=callback, cookies=self.cookies, meta=meta, headers=headers, **kwargs)

    def block_in(self, response: Response) -> Block | None:
        if response.status == 412:
            return Block(
                "throttled",
                "Bilibili answered HTTP 412 (请求被拦截: too many requests) and kept doing so while the crawler "
                "backed off — wait, or raise sources.bilibili.politeness.delay",
            )
        head = response.body[:256].replace(b" ", b"")
        if b'"code":-412' in head:
            return Block(
                "throttled",
                "Bilibili answered code -412 (请求被拦截: requests blocked) and kept doing so while the crawler "
                "backed off — wait, or raise sources.bilibili.politeness.delay",
            )
        if b'"code":-352' in head:
            return Block(
                "verification",
                "Bilibili answered code -352 (风控校验失败: risk control wants a verification) — "
                "crawl more slowly, or set sources.bilibili.cookie from a logged-in browser",
            )
        if b'"code":-101' in head and not response.url.split("?")[0].endswith("/x/web-interface/nav"):
            return Block(
                "login_required",
                "Bilibili requires a login (code -101, 账号未登录): set sources.bilibili.cookie "
                "from a logged-in browser",
            )
        return None
