"""The Zhihu spider: signed content search (answers and articles), their authors and comments, incremental.

Every API request carries ``x-zse-96``, which only the site's own page script can compute: the spider
first opens Zhihu's search page in Chromium (:class:`PageSignedSpider`) and asks that page to sign each
path; the requests themselves go through Scrapy with the page's cookies (``d_c0`` is part of what is
signed). For every positive term of the watchlist it pages through the search sorted by creation time
(newest first) until one of: ``paging.is_end``, a page holding only posts an earlier run already
finished with (the term's cursor: the newest ``created_time`` seen) or older than ``lookback``, or
``max_pages``. Each new post's author is looked up once per run for the follower count
(``members/<url_token>``); posts with enough engagement get ``comments.max_pages`` pages of comments.
An answer calling a signature stale (403, code 10003) makes the spider reload the page, once per run,
and sign again what was refused. The pipeline keeps only posts the watchlist query really matches; the
cursors advance only when the whole run finished cleanly.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

import orjson
import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.spiders.base import Block, SearchTerm
from crawlers.spiders.signed_page import PageSignedSpider, Redo, SigningError
from crawlers.spiders.zhihu_shapes import (
    PUBLIC_SITE,
    STALE_SIGNATURE,
    ShapeError,
    author_token,
    comment_path,
    comments_in,
    content_key,
    content_time,
    error_in,
    member_path,
    post_from_comment,
    post_from_content,
    result_object,
    search_path,
    search_results_in,
)

_LOGIN_REQUIRED = re.compile(rb'"code":\s*100\b|"need_login":\s*true')


class ZhihuSpider(PageSignedSpider):
    name = "zhihu"
    platform = "zhihu"
    default_base_url = PUBLIC_SITE
    default_web_url = PUBLIC_SITE
    signing_page = "/search?type=content&q="
    sign_function = "window.__zse_sign"
    # Answers to read, not errors: 403 code 10003 (a stale signature), 404 (no such member, comments gone).
    handle_httpstatus_list: ClassVar[list[int]] = [403, 404]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.terms: dict[str, SearchTerm] = {}
        self.seen: set[str] = set()  # post and comment ids handled in this run (terms overlap)
        self.members: dict[str, dict[str, Any] | None] = {}  # url_token -> profile (None: unreadable), once per run
        self.waiting_for_member: dict[str, list[dict[str, Any]]] = {}  # url_token -> its posts waiting for it

    # -- the run ------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        yield self.signing_page_request(self.parse_signing_page)

    async def parse_signing_page(self, response: Response) -> AsyncIterator[Any]:
        if not await self.use_signing_page(response):
            return
        self.terms = self.search_terms()
        for text in self.terms:
            request = await self._search(text, 0, 1)
            if request is None:  # the page cannot sign: the run has failed
                return
            yield request

    def cursors_to_save(self) -> dict[str, str]:
        """Cursor key → newest created_time, for the terms whose search ended normally."""
        return self.search_cursors(self.terms.values())

    # -- search -------------------------------------------------------------------------------

    async def _search(self, term: str, offset: int, page: int) -> scrapy.Request | None:
        request = await self._signed(
            search_path(term, offset),
            self.parse_search,
            partial(self._search, term, offset, page),
            cb_kwargs={"term": term, "page": page},
        )
        if request is None:
            self.terms[term].finished = False
        return request

    async def parse_search(self, response: Response, term: str, page: int) -> AsyncIterator[Any]:
        answer = _json(response)
        state = self.terms[term]
        error = error_in(answer)
        if error is not None:
            again = await self.sign_again(response) if error[0] == STALE_SIGNATURE else None
            if again is not None:
                yield again
                return
            self.page_lost(term, f"Zhihu answered HTTP {response.status}, code {error[0]}: {error[1]}")
            return
        try:
            results, next_offset = search_results_in(answer)
        except ShapeError as err:
            self.page_lost(term, str(err))
            return
        self.crawler.stats.inc_value("fengxiang/pages")
        since = datetime.now(UTC) - self.context.source.lookback
        posts = done_with = 0
        for result in results:
            try:
                found = result_object(result)
                created_at = content_time(found)
            except ShapeError as err:
                self.bad_post(err)
                continue
            posts += 1
            created = int(created_at.timestamp())
            state.newest = max(state.newest, created)
            if created <= state.cursor or created_at < since:  # an earlier run's, or before lookback
                done_with += 1
                continue
            async for output in self._content(found):
                yield output
        last_page = page >= self.context.source.max_pages
        caught_up = posts > 0 and done_with == posts  # newest first: every later page is older still
        if last_page and not (caught_up or next_offset is None):
            self.crawler.stats.inc_value("fengxiang/capped_terms")
        if next_offset is None or last_page or caught_up:
            state.finished = True
            return
        request = await self._search(term, next_offset, page + 1)
        if request is not None:
            yield request

    # -- posts and their authors --------------------------------------------------------------

    async def _content(self, found: dict[str, Any]) -> AsyncIterator[Any]:
        kind, content_id = content_key(found)
        post_id = f"zhihu:{kind}-{content_id}"
        if post_id in self.seen:
            return
        self.seen.add(post_id)
        author = found.get("author")
        token = author_token(author)
        counted = isinstance(author, dict) and "follower_count" in author  # no profile needed
        if token is None or token in self.members or counted:
            async for output in self._emit(found, self.members.get(token or "")):
                yield output
            return
        waiting = self.waiting_for_member.setdefault(token, [])
        waiting.append(found)
        if len(waiting) > 1:  # the author's profile is on its way already
            return
        request = await self._member(token)
        if request is not None:
            yield request
            return
        async for output in self._member_read(token, None):
            yield output

    async def _member(self, token: str) -> scrapy.Request | None:
        return await self._signed(
            member_path(token),
            self.parse_member,
            partial(self._member, token),
            cb_kwargs={"token": token},
            errback=self.member_failed,
            priority=2,  # finish posts before paging further
        )

    async def parse_member(self, response: Response, token: str) -> AsyncIterator[Any]:
        answer = _json(response)
        error = error_in(answer)
        if error is not None and error[0] == STALE_SIGNATURE:
            again = await self.sign_again(response)
            if again is not None:
                yield again
                return
        async for output in self._member_read(token, answer if error is None and answer else None):
            yield output

    async def member_failed(self, failure: Failure) -> AsyncIterator[Any]:
        self.count_failed_request(failure)
        async for output in self._member_read(failure.request.cb_kwargs["token"], None):  # type: ignore[attr-defined]
            yield output

    async def _member_read(self, token: str, member: dict[str, Any] | None) -> AsyncIterator[Any]:
        """Emit the posts that waited for ``token``'s profile; without one they go out without followers."""
        if member is None:
            self.crawler.stats.inc_value("fengxiang/followers_missing")
        self.members[token] = member
        for found in self.waiting_for_member.pop(token, []):
            async for output in self._emit(found, member):
                yield output

    async def _emit(self, found: dict[str, Any], member: dict[str, Any] | None) -> AsyncIterator[Any]:
        try:
            post = post_from_content(found, member=member)
        except ShapeError as err:
            self.bad_post(err)
            return
        yield post
        settings = self.context.source.comments
        metrics = post["metrics"]
        engagement = metrics["reposts"] + metrics["comments"] + metrics["likes"]
        if settings.max_pages and metrics["comments"] and engagement >= settings.min_engagement:
            kind, content_id = content_key(found)
            request = await self._comments(post["id"], post["url"], kind, content_id, "", 1)
            if request is not None:
                yield request

    # -- comments -----------------------------------------------------------------------------

    async def _comments(
        self, post_id: str, post_url: str, kind: str, content_id: str, offset: str, page: int
    ) -> scrapy.Request | None:
        return await self._signed(
            comment_path(kind, content_id, offset),
            self.parse_comments,
            partial(self._comments, post_id, post_url, kind, content_id, offset, page),
            cb_kwargs={"post_id": post_id, "post_url": post_url, "kind": kind, "content_id": content_id, "page": page},
            priority=3,
        )

    async def parse_comments(
        self, response: Response, post_id: str, post_url: str, kind: str, content_id: str, page: int
    ) -> AsyncIterator[Any]:
        answer = _json(response)
        error = error_in(answer)
        if error is not None:
            if error[0] == STALE_SIGNATURE:
                again = await self.sign_again(response)
                if again is not None:
                    yield again
            return  # comments are a bonus (and a deleted post has none): stop quietly
        try:
            comments, offset = comments_in(answer)
        except ShapeError as err:
            self.bad_post(err)
            return
        for comment in comments:
            try:
                record = post_from_comment(comment, post_id=post_id, post_url=post_url)
            except ShapeError as err:
                self.bad_post(err)
                continue
            if record["id"] not in self.seen:
                self.seen.add(record["id"])
                yield record
        if offset and page < self.context.source.comments.max_pages:
            request = await self._comments(post_id, post_url, kind, content_id, offset, page + 1)
            if request is not None:
                yield request

    # -- signing ------------------------------------------------------------------------------

    async def _signed(self, path: str, callback: Any, redo: Redo, **kwargs: Any) -> scrapy.Request | None:
        """A request for ``path`` signed by the page; None when the page cannot sign (the run fails)."""
        try:
            headers, generation = await self.sign(path)
        except SigningError as err:
            self.signing_failed(err)
            return None
        kwargs.setdefault("errback", self.request_failed)
        headers |= {"x-requested-with": "fetch", "Referer": self.web_url + self.signing_page}
        # The page's cookies: d_c0, which the signature covers, and the login.
        cookies: dict[str | bytes, Any] = {name: value for name, value in self.page_cookies.items()}
        # A request signed again repeats its URL: never drop it as a duplicate.
        return scrapy.Request(
            self.base_url + path,
            callback=callback,
            headers=headers,
            cookies=cookies,
            meta={"json_api": True, "redo": redo, "signing_generation": generation},
            dont_filter=True,
            **kwargs,
        )

    # -- plumbing -----------------------------------------------------------------------------

    def block_in(self, response: Response) -> Block | None:
        if response.status == 429:
            return Block(
                "throttled",
                "Zhihu answered HTTP 429 (too many requests) and kept doing so while the crawler backed off — "
                "wait, or raise sources.zhihu.politeness.delay",
            )
        head = response.body[:1024].replace(b" ", b"")
        if b'"code":40362' in head:
            return Block(
                "verification",
                "Zhihu answered code 40362 (您当前请求存在异常，暂时限制本次访问: its risk control stopped the "
                "crawler) — crawl more slowly (sources.zhihu.politeness.delay), or set sources.zhihu.cookie "
                "from a logged-in browser",
            )
        if b'"code":40352' in head:
            return Block(
                "verification",
                "Zhihu wants a captcha solved (code 40352, 系统监测到您的网络环境存在异常) — open zhihu.com in a "
                "browser on this network and pass the check, or set sources.zhihu.cookie from a logged-in browser",
            )
        if response.status == 401 or (response.status >= 400 and _LOGIN_REQUIRED.search(head)):
            return Block(
                "login_required",
                f"Zhihu requires a login (HTTP {response.status}, 请求需要登录): set sources.zhihu.cookie "
                "from a logged-in browser",
            )
        return None


def _json(response: Response) -> dict[str, Any]:
    """The answer's JSON object; refusals (403, 404) are read here, JsonAnswerMiddleware reads only 2xx."""
    answer = response.meta.get("json")
    if answer is None:
        try:
            answer = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            answer = None
    return answer if isinstance(answer, dict) else {}
