"""The Xiaohongshu spider: note search signed by the site's own page, note details, authors and comments.

It opens www.xiaohongshu.com/explore in Chromium once (:class:`PageSignedSpider`) and asks that page's
``window._webmsxyw`` to sign every API request; the requests themselves go through Scrapy with the
cookies the page set (``a1``, ``webId``) and the login. For every positive term of the watchlist it
pages through the note search sorted newest first until one of: the end of results (``has_more``
false), a page holding only notes an earlier run already finished with (the term's cursor: the newest
note time seen, read from the ObjectId note id), a page older than ``lookback``, or ``max_pages``.
Each new note gets its detail (``feed``: full text, exact time, counts) and its author's followers
(``user/otherinfo``, once per author and run); notes with enough engagement get ``comments.max_pages``
pages of comments, with the replies each comment carries (deeper reply pages are not fetched). A
signature refused as stale (HTTP 406) makes the spider reload the page, once per run, and sign again
what was refused. The pipeline keeps only notes the watchlist
query really matches; the cursors advance only when the whole run finished cleanly.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.spiders.base import Block, SearchTerm
from crawlers.spiders.signed_page import PageSignedSpider, Redo, SigningError
from crawlers.spiders.xiaohongshu_shapes import (
    FEED_PATH,
    PUBLIC_API,
    PUBLIC_WEB,
    SEARCH_PATH,
    STALE_SIGNATURE_CODE,
    ShapeError,
    comments_in,
    comments_uri,
    feed_body,
    json_body,
    note_card_in,
    note_id,
    note_id_time,
    notes_in,
    post_from_comment,
    post_from_note,
    refusal_in,
    search_body,
    search_id,
    user_in,
    user_uri,
)

_STALE_SIGNATURE_STATUS = 406
_NOTE_UNAVAILABLE = -510001  # 笔记状态异常 / 当前内容无法展示: removed, hidden or under review
_API_HEADERS = {
    "Origin": PUBLIC_WEB,
    "Referer": f"{PUBLIC_WEB}/",
    "Content-Type": "application/json;charset=UTF-8",
}


class XiaohongshuSpider(PageSignedSpider):
    name = "xiaohongshu"
    platform = "xiaohongshu"
    default_base_url = PUBLIC_API
    default_web_url = PUBLIC_WEB
    signing_page = "/explore"
    sign_function = "window._webmsxyw"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.terms: dict[str, SearchTerm] = {}
        self.sessions: dict[str, str] = {}  # term -> search_id, one search session per term and run
        self.seen: set[str] = set()  # note and comment ids handled in this run (terms overlap)
        self.profiles: dict[str, dict[str, Any] | None] = {}  # user id -> otherinfo data, once per run
        self.waiting_for_profile: dict[str, list[tuple[dict[str, Any], str]]] = {}  # user id -> (card, token)
        self.login: dict[str, str] = {}

    # -- the run ------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        self.login = self.session_cookies()
        yield self.signing_page_request(self.parse_signing_page)

    async def parse_signing_page(self, response: Response) -> AsyncIterator[Any]:
        if not await self.use_signing_page(response):
            return
        self.terms = self.search_terms()
        for text in self.terms:
            self.sessions[text] = search_id(int(time.time() * 1000), random.randrange(2**31))
            if request := await self._search(text, 1):
                yield request

    def cursors_to_save(self) -> dict[str, str]:
        """Cursor key → newest note time, for the terms whose search ended normally."""
        return self.search_cursors(self.terms.values())

    # -- search -------------------------------------------------------------------------------

    async def _search(self, term: str, page: int) -> scrapy.Request | None:
        return await self._signed(
            SEARCH_PATH,
            search_body(term, page, self.sessions[term]),
            self.parse_search,
            partial(self._search, term, page),
            cb_kwargs={"term": term, "page": page},
        )

    async def parse_search(self, response: Response, term: str, page: int) -> AsyncIterator[Any]:
        if _stale(response):
            if again := await self.sign_again(response):
                yield again
            else:
                self.page_lost(term, "Xiaohongshu refused the signature even from a freshly loaded page")
            return
        answer = response.meta["json"]
        refusal = refusal_in(answer)
        if refusal is not None:
            self.page_lost(term, f"Xiaohongshu answered code {refusal[0]}: {refusal[1]}")
            return
        try:
            items, has_more = notes_in(answer)
        except ShapeError as err:
            self.page_lost(term, str(err))
            return
        self.crawler.stats.inc_value("fengxiang/pages")
        state = self.terms[term]
        since = (datetime.now(UTC) - self.context.source.lookback).timestamp()
        known = too_old = posts = 0
        for item in items:
            try:
                note = note_id(item)
                token = _xsec_token(item)
            except ShapeError as err:
                self.bad_post(err)
                continue
            posts += 1
            made = note_id_time(note)
            state.newest = max(state.newest, made)
            known += made <= state.cursor
            if made < since:
                too_old += 1
                continue
            if request := await self._note(note, token, term):
                yield request
        last_page = page >= self.context.source.max_pages
        caught_up = posts > 0 and (known == posts or too_old == posts)
        if last_page and has_more and not caught_up:
            self.crawler.stats.inc_value("fengxiang/capped_terms")
        if last_page or caught_up or not has_more:
            state.finished = True
        elif request := await self._search(term, page + 1):
            yield request

    # -- notes --------------------------------------------------------------------------------

    async def _note(self, note: str, token: str, term: str) -> scrapy.Request | None:
        post_id = f"xiaohongshu:{note}"
        if post_id in self.seen:
            return None
        self.seen.add(post_id)
        return await self._signed(
            FEED_PATH,
            feed_body(note, token),
            self.parse_feed,
            partial(self._resend_note, note, token, term),
            # A note whose detail cannot be fetched is missed: its term must not advance its cursor.
            cb_kwargs={"term": term, "token": token},
            priority=1,  # finish notes before paging further
        )

    async def _resend_note(self, note: str, token: str, term: str) -> scrapy.Request | None:
        self.seen.discard(f"xiaohongshu:{note}")
        return await self._note(note, token, term)

    async def parse_feed(self, response: Response, term: str, token: str) -> AsyncIterator[Any]:
        if _stale(response):
            if again := await self.sign_again(response):
                yield again
            else:
                self.page_lost(term, "Xiaohongshu refused the signature of a note's detail")
            return
        answer = response.meta["json"]
        refusal = refusal_in(answer)
        if refusal is not None:
            if refusal[0] == _NOTE_UNAVAILABLE:  # gone for good: nothing to fetch again next run
                self.crawler.stats.inc_value("fengxiang/notes_unavailable")
            else:
                self.page_lost(term, f"a note's detail: code {refusal[0]}: {refusal[1]}")
            return
        try:
            card = note_card_in(answer)
            user_id = str(card["user"]["user_id"])
        except (ShapeError, KeyError, TypeError) as err:
            self.bad_post(err)
            return
        if user_id in self.profiles:
            async for output in self._emit(card, token, self.profiles[user_id]):
                yield output
            return
        waiting = self.waiting_for_profile.setdefault(user_id, [])
        waiting.append((card, token))
        if len(waiting) == 1 and (request := await self._profile(user_id)):
            yield request

    # -- authors ------------------------------------------------------------------------------

    async def _profile(self, user_id: str) -> scrapy.Request | None:
        return await self._signed(
            user_uri(user_id),
            None,
            self.parse_profile,
            partial(self._profile, user_id),
            cb_kwargs={"user_id": user_id},
            errback=self.profile_failed,
            priority=2,
        )

    async def parse_profile(self, response: Response, user_id: str) -> AsyncIterator[Any]:
        if _stale(response) and (again := await self.sign_again(response)):
            yield again
            return
        profile = None
        if not _stale(response) and refusal_in(response.meta["json"]) is None:
            try:
                profile = user_in(response.meta["json"])
            except ShapeError as err:
                self.logger.warning("an author profile in an unknown shape: %s", err)
        async for output in self._emit_waiting(user_id, profile):
            yield output

    async def profile_failed(self, failure: Failure) -> AsyncIterator[Any]:
        # The notes are still mentions without their author's followers: keep them.
        self.count_failed_request(failure)
        async for output in self._emit_waiting(failure.request.cb_kwargs["user_id"], None):  # type: ignore[attr-defined]
            yield output

    async def _emit_waiting(self, user_id: str, profile: dict[str, Any] | None) -> AsyncIterator[Any]:
        self.profiles[user_id] = profile
        for card, token in self.waiting_for_profile.pop(user_id, []):
            async for output in self._emit(card, token, profile):
                yield output

    async def _emit(self, card: dict[str, Any], token: str, profile: dict[str, Any] | None) -> AsyncIterator[Any]:
        try:
            post = post_from_note(card, profile=profile)
        except ShapeError as err:
            self.bad_post(err)
            return
        yield post
        settings = self.context.source.comments
        metrics = post["metrics"]
        engagement = metrics["reposts"] + metrics["comments"] + metrics["likes"]
        engaging = settings.max_pages and metrics["comments"] and engagement >= settings.min_engagement
        if engaging and (request := await self._comments(post["id"], token, "", 1)):
            yield request

    # -- comments -----------------------------------------------------------------------------

    async def _comments(self, post_id: str, token: str, cursor: str, page: int) -> scrapy.Request | None:
        note = post_id.removeprefix("xiaohongshu:")
        return await self._signed(
            comments_uri(note, cursor, token),
            None,
            self.parse_comments,
            partial(self._comments, post_id, token, cursor, page),
            cb_kwargs={"post_id": post_id, "token": token, "page": page},
            priority=3,
        )

    async def parse_comments(self, response: Response, post_id: str, token: str, page: int) -> AsyncIterator[Any]:
        if _stale(response):
            if again := await self.sign_again(response):
                yield again
            return  # comments are a bonus: stop quietly
        if refusal_in(response.meta["json"]) is not None:
            return
        try:
            comments, cursor = comments_in(response.meta["json"])
        except ShapeError as err:
            self.bad_post(err)
            return
        for comment in comments:
            try:
                record = post_from_comment(comment, post_id=post_id)
            except ShapeError as err:
                self.bad_post(err)
                continue
            if record["id"] not in self.seen:
                self.seen.add(record["id"])
                yield record
        if (
            cursor
            and page < self.context.source.comments.max_pages
            and (request := await self._comments(post_id, token, cursor, page + 1))
        ):
            yield request

    # -- signing ------------------------------------------------------------------------------

    async def _signed(
        self, uri: str, body: dict[str, Any] | None, callback: Any, redo: Redo, **kwargs: Any
    ) -> scrapy.Request | None:
        """A request for ``uri`` (path and query) signed by the page; None when the page cannot sign."""
        try:
            headers, generation = await (self.sign(uri) if body is None else self.sign(uri, body))
        except SigningError as err:
            self.signing_failed(err)
            return None
        kwargs.setdefault("errback", self.request_failed)
        # dont_filter: a request signed again repeats its URL and body.
        return scrapy.Request(
            self.base_url + uri,
            method="GET" if body is None else "POST",
            body=None if body is None else json_body(body),
            headers={**_API_HEADERS, **headers},
            cookies=self.cookies(),
            callback=callback,
            dont_filter=True,
            meta={
                "json_api": True,
                "handle_httpstatus_list": [_STALE_SIGNATURE_STATUS],
                "redo": redo,
                "signing_generation": generation,
            },
            **kwargs,
        )

    # -- plumbing -----------------------------------------------------------------------------

    def cookies(self) -> dict[str | bytes, Any]:
        """What the page's script set (``a1``, ``webId``) and the login: the API checks both."""
        return {name: value for name, value in {**self.page_cookies, **self.login}.items()}

    def block_in(self, response: Response) -> Block | None:
        if response.status in (461, 471):
            return Block(
                "verification",
                f"Xiaohongshu answered HTTP {response.status} (a captcha, Verifytype "
                f"{(response.headers.get('Verifytype') or b'?').decode()}) — solve it in a browser logged in with "
                "the same account, crawl more slowly, or set sources.xiaohongshu.cookie afresh",
            )
        head = response.body[:128].replace(b" ", b"")
        if b'"code":-100' in head:
            return Block(
                "login_required",
                "Xiaohongshu requires a login (code -100, 登录已过期): set sources.xiaohongshu.cookie "
                "from a logged-in browser",
            )
        if b'"code":300012' in head:
            return Block(
                "verification",
                "Xiaohongshu answered code 300012 (IP存在风险: this network address is flagged) — "
                "crawl from another address or more slowly, and log in",
            )
        if b'"code":300013' in head:
            return Block(
                "throttled",
                "Xiaohongshu answered code 300013 (访问频次异常: too many requests) and kept doing so while "
                "the crawler backed off — wait, or raise sources.xiaohongshu.politeness.delay",
            )
        return None


def _stale(response: Response) -> bool:
    """An answer refusing the request's signature: HTTP 406, or its JSON form (code 300015)."""
    if response.status == _STALE_SIGNATURE_STATUS:
        return True
    answer = response.meta.get("json")
    return isinstance(answer, dict) and answer.get("code") == STALE_SIGNATURE_CODE


def _xsec_token(item: dict[str, Any]) -> str:
    token = item.get("xsec_token")
    if not isinstance(token, str) or not token:
        raise ShapeError(f"note {item.get('id')} came without the xsec_token its detail needs")
    return token
