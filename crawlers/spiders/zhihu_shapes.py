"""www.zhihu.com's API paths and response shapes, read into DESIGN 4.3 post dicts.

Pure functions, no Scrapy: the spider fetches and signs, this module knows what the answers look like.
Quirks every reader of these endpoints meets:

* every request carries ``x-zse-93: 101_3_3.0`` and ``x-zse-96: 2.0_…``, a signature of
  ``101_3_3.0+<path with query>+<d_c0 cookie>`` made by the site's own page script; a stale or wrong
  one is answered HTTP 403 ``{"error": {"code": 10003, "message": "请求参数异常，请升级客户端后重试。"}}``;
* refusals are ``{"error": {"code", "message", …}}`` with an HTTP error status: 403 code 40362
  (您当前请求存在异常，暂时限制本次访问), 403 code 40352 with ``need_login`` and an ``unhuman`` redirect
  (a captcha wanted), 401 code 100 (请求需要登录), 429 (too many requests);
* ``search_v3`` mixes results (``type: "search_result"``) with other cards (``relevant_query``,
  ``knowledge_ad``, ``koc_box``, ``one_box``…); a result's ``object`` is an answer, an article, or
  something that is no post (a question, a video, a person…); pages run by ``offset`` until
  ``paging.is_end``, and a page may hold fewer than ``limit`` results while more follow;
* question names, article titles and excerpts mark the matched words with ``<em>…</em>`` and hold HTML
  entities; ``content`` is HTML (``<p>``, ``<br>``, ``<figure>`` with images, links);
* ids come as strings (search objects, comments) or numbers; ``created_time`` is unix seconds;
* an anonymous answer's author has ``id: "0"``, an empty ``url_token`` and the name 匿名用户; search
  results carry no follower counts (``members/<url_token>`` has ``follower_count``); verification is
  a ``badge_v2.merged_badges`` entry of type ``identity``, organisations have ``user_type: "organization"``;
* comments (``comment_v5/<answers|articles>/<id>/root_comment``) page by an opaque ``offset`` read from
  ``paging.next``; each root comment embeds its first ``child_comments``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from crawlers.spiders.json_fields import int_or_none
from crawlers.times import PLATFORM_ZONE

__all__ = [
    "ARTICLE_SITE",
    "PUBLIC_SITE",
    "STALE_SIGNATURE",
    "ZSE_93",
    "ShapeError",
    "author_from",
    "author_token",
    "comment_path",
    "comments_in",
    "content_key",
    "content_time",
    "error_in",
    "html_to_text",
    "member_path",
    "post_from_comment",
    "post_from_content",
    "result_object",
    "search_path",
    "search_results_in",
    "strip_highlight",
]

PUBLIC_SITE = "https://www.zhihu.com"
ARTICLE_SITE = "https://zhuanlan.zhihu.com"
ZSE_93 = "101_3_3.0"  # the signature version the page script signs with
STALE_SIGNATURE = 10003  # the error code of a request whose x-zse-96 the site does not accept
PAGE_SIZE = 20
POST_KINDS = ("answer", "article")  # search objects that are posts; questions, videos, people are not
_MEMBER_FIELDS = "follower_count,is_org,badge[?(type=best_answerer)].topics"
_TAGS = re.compile(r"<[^>]*>")
_ANONYMOUS_IDS = ("", "0")


class ShapeError(ValueError):
    """A response part that does not have the shape this module knows; the message says what."""


# -- paths (signed with their query, so the spider sends exactly these) ---------------------------


def search_path(keyword: str, offset: int, limit: int = PAGE_SIZE) -> str:
    """The newest-first content search (answers and articles among other cards)."""
    params: dict[str, str | int] = {
        "gk_version": "gz-gaokao",
        "t": "general",
        "q": keyword,
        "correction": 1,
        "offset": offset,
        "limit": limit,
        "filter_fields": "",
        "lc_idx": offset,
        "show_all_topics": 0,
        "search_source": "Filter",  # "Normal" ignores the sort and time filters
        "time_interval": "",
        "sort": "created_time",
        "vertical": "",
    }
    return f"/api/v4/search_v3?{urlencode(params)}"


def member_path(url_token: str) -> str:
    return f"/api/v4/members/{quote(url_token, safe='')}?{urlencode({'include': _MEMBER_FIELDS})}"


def comment_path(kind: str, content_id: str, offset: str) -> str:
    """Root comments of an answer or article, best first (``order_by=score``)."""
    params = {"order_by": "score", "limit": PAGE_SIZE, "offset": offset}
    return f"/api/v4/comment_v5/{kind}s/{quote(content_id, safe='')}/root_comment?{urlencode(params)}"


# -- answers --------------------------------------------------------------------------------------


def error_in(answer: Mapping[str, Any]) -> tuple[int, str] | None:
    """``(code, message)`` of a refusal, or None for a normal answer."""
    error = answer.get("error")
    if error is None:
        return None
    if not isinstance(error, dict):
        return -1, str(error)
    code = int_or_none(error.get("code"))
    return (code if code is not None else -1), str(error.get("message") or "no message")


def search_results_in(answer: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    """The search results that may be posts (other cards and non-post objects left out), and the next
    page's offset (None: the last page). A result whose object is missing stays in: reading it fails,
    and the spider counts it as a bad post instead of silently losing it."""
    data = answer.get("data")
    if not isinstance(data, list):
        raise ShapeError("a search answer whose data is not a list")
    results = []
    for item in data:
        if not isinstance(item, dict) or item.get("type") != "search_result":
            continue
        found = item.get("object")
        if not isinstance(found, dict) or found.get("type") in POST_KINDS:
            results.append(item)
    paging = _dict(answer.get("paging"))
    if paging.get("is_end", True):
        return results, None
    offset = int_or_none(_next_offset(paging))
    if offset is None:
        raise ShapeError(f"a search page whose paging.next offset is not a number: {paging.get('next')!r}")
    return results, offset


def comments_in(answer: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The comments of a ``root_comment`` page, each root followed by its embedded child comments, and
    the next page's opaque offset (None: the last page)."""
    data = answer.get("data")
    if not isinstance(data, list):
        raise ShapeError("a comments answer whose data is not a list")
    comments = []
    for root in data:
        if not isinstance(root, dict):
            continue
        comments.append(root)
        children = root.get("child_comments")
        if isinstance(children, list):
            comments.extend(child for child in children if isinstance(child, dict))
    paging = _dict(answer.get("paging"))
    return comments, None if paging.get("is_end", True) else _next_offset(paging)


def _next_offset(paging: Mapping[str, Any]) -> str:
    """The ``offset`` parameter of ``paging.next``, a full URL of the next page."""
    url = paging.get("next")
    if not isinstance(url, str):
        raise ShapeError("paging says there is more, but has no next URL")
    values = parse_qs(urlsplit(url).query).get("offset")
    if not values:
        raise ShapeError(f"paging.next has no offset: {url!r}")
    return values[0]


# -- records --------------------------------------------------------------------------------------


def strip_highlight(text: Any) -> str:
    """A question name, title or excerpt as plain text: ``<em>`` marks and other tags gone, entities read."""
    if not isinstance(text, str):
        return ""
    return html.unescape(_TAGS.sub("", text)).strip()


class _TextOfHtml(HTMLParser):
    """Paragraphs and line breaks become newlines; images, scripts and styles leave nothing."""

    _BREAKS = frozenset({"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "figure", "hr"})
    _SILENT = frozenset({"script", "style", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.silent = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SILENT:
            self.silent += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SILENT:
            self.silent = max(self.silent - 1, 0)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.silent:
            self.parts.append(data)


def html_to_text(markup: Any) -> str:
    """An answer's, article's or comment's HTML as plain text: one line per paragraph, no empty lines."""
    if not isinstance(markup, str):
        return ""
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def content_key(found: Mapping[str, Any]) -> tuple[str, str]:
    """``(kind, id)`` of a search object that is a post: ``("answer", "1900…")``."""
    kind = found.get("type")
    content_id = found.get("id")
    if kind not in POST_KINDS:
        raise ShapeError(f"a search object of type {kind!r} is not an answer or article")
    if isinstance(content_id, bool) or not isinstance(content_id, int | str) or str(content_id) in _ANONYMOUS_IDS:
        raise ShapeError(f"a {kind} without an id")
    return str(kind), str(content_id)


def result_object(result: Mapping[str, Any]) -> dict[str, Any]:
    """The answer or article a search result holds."""
    found = result.get("object")
    if not isinstance(found, dict):
        raise ShapeError("a search result without its object")
    content_key(found)
    return found


def content_time(found: Mapping[str, Any]) -> datetime:
    seconds = int_or_none(found.get("created_time"))
    if seconds is None or seconds <= 0:
        raise ShapeError(f"{found.get('type')} {found.get('id')}: created_time {found.get('created_time')!r}")
    return datetime.fromtimestamp(seconds, PLATFORM_ZONE)


def author_token(author: Any) -> str | None:
    """The ``url_token`` to look an author up by; None for anonymous or tokenless authors."""
    if not isinstance(author, dict) or str(author.get("id", "")) in _ANONYMOUS_IDS:
        return None
    token = author.get("url_token")
    return token if isinstance(token, str) and token else None


def author_from(author: Any, member: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The ``author`` of a post or comment (None for 匿名用户); ``member`` (a ``members/<url_token>``
    answer) adds the follower count."""
    if not isinstance(author, dict) or str(author.get("id", "")) in _ANONYMOUS_IDS:
        return None
    record: dict[str, Any] = {"id": f"zhihu:{author['id']}", "name": strip_highlight(author.get("name")) or None}
    followers = int_or_none((member or {}).get("follower_count", author.get("follower_count")))
    if followers is not None and followers >= 0:
        record["followers"] = followers
    profile = {**author, **(member or {})}
    identity = _identity_badge(profile)
    organisation = profile.get("user_type") == "organization" or profile.get("is_org") is True
    record["verified"] = identity is not None or organisation
    record["verified_type"] = 1 if organisation else (0 if identity is not None else -1)
    if identity:
        record["verified_reason"] = identity
    return record


def _identity_badge(profile: Mapping[str, Any]) -> str | None:
    """The description of a verification badge (认证), "" when it has none; None without one."""
    merged = _dict(profile.get("badge_v2")).get("merged_badges")
    badges = merged if isinstance(merged, list) else profile.get("badge")
    for badge in badges if isinstance(badges, list) else ():
        if isinstance(badge, dict) and badge.get("type") == "identity":
            return str(badge.get("description") or "")
    return None


def post_from_content(found: Mapping[str, Any], *, member: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A post dict from a search result's ``object`` (an answer or an article); ``member`` is its
    author's ``members/<url_token>`` answer, for the follower count."""
    kind, content_id = content_key(found)
    created_at = content_time(found)
    if kind == "answer":
        question = _dict(found.get("question"))
        question_id = question.get("id")
        if question_id in (None, ""):
            raise ShapeError(f"answer {content_id} without its question")
        title = strip_highlight(question.get("name") or question.get("title"))
        url = f"{PUBLIC_SITE}/question/{question_id}/answer/{content_id}"
    else:
        title = strip_highlight(found.get("title"))
        url = f"{ARTICLE_SITE}/p/{content_id}"
    body = html_to_text(found.get("content")) or strip_highlight(found.get("excerpt"))
    text = "\n".join(part for part in (title, body) if part)
    if not text:
        raise ShapeError(f"{kind} {content_id} has neither title nor text")
    post: dict[str, Any] = {
        "id": f"zhihu:{kind}-{content_id}",
        "platform": "zhihu",
        "url": url,
        "text": text,
        "created_at": created_at.isoformat(),
        "metrics": {
            "reposts": 0,  # Zhihu has no reposts
            "comments": _count(found.get("comment_count")),
            "likes": _count(found.get("voteup_count")),
        },
        "kind": kind,
    }
    if kind == "answer":
        post["question_id"] = str(question_id)
    author = author_from(found.get("author"), member)
    if author:
        post["author"] = author
    return post


def post_from_comment(comment: Mapping[str, Any], *, post_id: str, post_url: str) -> dict[str, Any]:
    """A comment as a mention of its own, linked to its answer or article by ``parent_id``; a reply
    to another comment names that root comment in ``reply_to``."""
    comment_id = comment.get("id")
    if isinstance(comment_id, bool) or not isinstance(comment_id, int | str) or str(comment_id) in _ANONYMOUS_IDS:
        raise ShapeError("a comment without an id")
    text = html_to_text(comment.get("content"))
    if not text:
        raise ShapeError(f"comment {comment_id} without content")
    seconds = int_or_none(comment.get("created_time"))
    if seconds is None or seconds <= 0:
        raise ShapeError(f"comment {comment_id}: created_time {comment.get('created_time')!r} is not unix seconds")
    record: dict[str, Any] = {
        "id": f"zhihu:comment-{comment_id}",
        "platform": "zhihu",
        "url": f"{post_url}#comment-{comment_id}",
        "text": text,
        "created_at": datetime.fromtimestamp(seconds, PLATFORM_ZONE).isoformat(),
        "metrics": {"likes": _count(comment.get("like_count"))},
        "parent_id": post_id,
        "kind": "comment",
    }
    root = str(comment.get("reply_root_comment_id") or "0")
    if root not in _ANONYMOUS_IDS:
        record["reply_to"] = f"zhihu:comment-{root}"
    author = author_from(comment.get("author"))
    if author:
        record["author"] = author
    return record


def _count(value: Any) -> int:
    number = int_or_none(value)
    return number if number is not None and number >= 0 else 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
