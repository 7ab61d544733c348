"""edith.xiaohongshu.com's request shapes and answers, read into DESIGN 4.3 post dicts.

Pure functions, no Scrapy and no browser: the spider signs and fetches, this module knows what the
requests and answers look like. Quirks every reader of these endpoints meets:

* every answer is ``{"code": 0, "success": true, "msg": "成功", "data": …}``; a refusal keeps HTTP 200
  and says so in ``code``: -100 (登录已过期), 300012 (IP存在风险), 300013 (访问频次异常), 300015 (a
  signature the site rejects), -510001 (笔记状态异常: a note removed or hidden);
* some refusals are HTTP statuses instead: 461 (or 471) wants a captcha (headers ``Verifytype`` and
  ``Verifyuuid``), 406 refuses a missing, bad or stale ``X-s`` signature;
* search results (``data.items``) mix notes (``model_type: "note"``) with other cards ("rec_query",
  "hot_query") that carry no note; each note comes with the ``xsec_token`` its detail and comments
  demand; ``note_card.user`` names the author ``nickname`` or ``nick_name``;
* a note id is a MongoDB ObjectId: 24 hex digits whose first 8 are its creation time in unix
  seconds, which is what orders the time-sorted search (the search card itself carries no time);
* counts are strings as a reader sees them: ``"1.2万"``, ``"10+"``, ``""`` for none;
* a note's ``desc`` marks topics ``#话题[话题]#`` and emoji ``[笑哭R]`` (the ``R`` names the site's
  own sticker set); ``time`` is epoch milliseconds; comments page by an opaque ``cursor`` with
  ``has_more``, and a comment carries its first replies in ``sub_comments``;
* ``user/otherinfo`` gives the follower count as ``interactions`` ``{"type": "fans", "count": "1.2万"}``
  and the red-V mark as ``verify_info.red_official_verify_type`` (0 none, 1 a person, 2 an organisation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from crawlers.spiders.json_fields import int_or_none
from crawlers.times import PLATFORM_ZONE
from store.model import parse_count

__all__ = [
    "COMMENTS_PATH",
    "FEED_PATH",
    "NOTE_PAGE",
    "PUBLIC_API",
    "PUBLIC_WEB",
    "SEARCH_PATH",
    "STALE_SIGNATURE_CODE",
    "USER_PATH",
    "ShapeError",
    "author_from_user",
    "comments_in",
    "comments_uri",
    "feed_body",
    "json_body",
    "note_card_in",
    "note_id",
    "note_id_time",
    "notes_in",
    "post_from_comment",
    "post_from_note",
    "readable_text",
    "refusal_in",
    "search_body",
    "search_id",
    "user_in",
    "user_uri",
]

PUBLIC_API = "https://edith.xiaohongshu.com"
PUBLIC_WEB = "https://www.xiaohongshu.com"
NOTE_PAGE = f"{PUBLIC_WEB}/explore"
SEARCH_PATH = "/api/sns/web/v1/search/notes"
FEED_PATH = "/api/sns/web/v1/feed"
COMMENTS_PATH = "/api/sns/web/v2/comment/page"
USER_PATH = "/api/sns/web/v1/user/otherinfo"
PAGE_SIZE = 20
STALE_SIGNATURE_CODE = 300015  # "浏览器异常": the JSON form of an X-s the site rejects
_NOTE_ID = re.compile(r"^[0-9a-f]{24}$")
_TOPIC = re.compile(r"#([^#\[\]\n]{1,40})\[话题\]#")
_EMOJI = re.compile(r"\[([^\[\]\s]{1,12})R\]")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class ShapeError(ValueError):
    """A response part that does not have the shape this module knows; the message says what."""


# -- requests -----------------------------------------------------------------------------------


def json_body(body: Mapping[str, Any]) -> str:
    """A POST body exactly as the page's ``JSON.stringify`` writes it: the signature covers these bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def search_id(now_ms: int, salt: int) -> str:
    """A search session id as the web page makes one: base36 of ``now_ms << 64`` plus a random number."""
    number = (now_ms << 64) + salt % 2_147_483_646
    digits = ""
    while number:
        number, digit = divmod(number, 36)
        digits = _BASE36[digit] + digits
    return digits or "0"


def search_body(keyword: str, page: int, session: str) -> dict[str, Any]:
    return {
        "keyword": keyword,
        "page": page,
        "page_size": PAGE_SIZE,
        "search_id": session,
        "sort": "time_descending",
        "note_type": 0,
    }


def feed_body(note: str, xsec_token: str) -> dict[str, Any]:
    return {
        "source_note_id": note,
        "image_formats": ["jpg", "webp", "avif"],
        "extra": {"need_body_topic": "1"},
        "xsec_source": "pc_search",
        "xsec_token": xsec_token,
    }


def comments_uri(note: str, cursor: str, xsec_token: str) -> str:
    """The path and query of a comments page (GET: the signature covers this string)."""
    query = {
        "note_id": note,
        "cursor": cursor,
        "top_comment_id": "",
        "image_formats": "jpg,webp,avif",
        "xsec_token": xsec_token,
    }
    return f"{COMMENTS_PATH}?{urlencode(query)}"


def user_uri(user_id: str) -> str:
    return f"{USER_PATH}?{urlencode({'target_user_id': user_id})}"


# -- answers ------------------------------------------------------------------------------------


def refusal_in(answer: Mapping[str, Any]) -> tuple[int, str] | None:
    """``(code, msg)`` of an answer that carries no data, or None for a normal answer."""
    code = answer.get("code")
    if code == 0 and answer.get("success") is not False:
        return None
    return (code if isinstance(code, int) and not isinstance(code, bool) else -1), str(answer.get("msg") or "no msg")


def notes_in(answer: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The note items of a search page, in page order, and whether more pages follow."""
    data = answer.get("data")
    if not isinstance(data, dict):
        raise ShapeError("a search answer without data")
    items = data.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ShapeError("a search answer whose data.items is not a list")
    notes = [item for item in items if isinstance(item, dict) and item.get("model_type") == "note"]
    return notes, data.get("has_more") is True


def note_id(item: Mapping[str, Any]) -> str:
    """The 24-hex id of a search item or note card."""
    value = item.get("id") or item.get("note_id")
    if not isinstance(value, str) or not _NOTE_ID.match(value):
        raise ShapeError(f"a note without a 24-hex id ({value!r})")
    return value


def note_id_time(note: str) -> int:
    """The unix seconds an ObjectId note id was made at: its first 8 hex digits."""
    return int(note[:8], 16)


def note_card_in(answer: Mapping[str, Any]) -> dict[str, Any]:
    """``data.items[0].note_card`` of a feed (note detail) answer."""
    data = answer.get("data")
    items = data.get("items") if isinstance(data, dict) else None
    first = items[0] if isinstance(items, list) and items else None
    card = first.get("note_card") if isinstance(first, dict) else None
    if not isinstance(card, dict):
        raise ShapeError("a feed answer without data.items[0].note_card")
    return card


def comments_in(answer: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The comments of a page, each followed by the replies it carries, and the next cursor (None: last)."""
    data = answer.get("data")
    if not isinstance(data, dict):
        raise ShapeError("a comments answer without data")
    comments = data.get("comments") or []
    if not isinstance(comments, list):
        raise ShapeError("a comments answer whose data.comments is not a list")
    flat: list[dict[str, Any]] = []
    for comment in comments:
        if not isinstance(comment, dict):
            continue
        flat.append(comment)
        replies = comment.get("sub_comments")
        if isinstance(replies, list):
            flat.extend(reply for reply in replies if isinstance(reply, dict))
    cursor = data.get("cursor")
    more = data.get("has_more") is True and isinstance(cursor, str) and cursor != ""
    return flat, cursor if more else None


def user_in(answer: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` of a ``user/otherinfo`` answer."""
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("basic_info"), dict):
        raise ShapeError("a user answer without data.basic_info")
    return data


# -- records ------------------------------------------------------------------------------------


def readable_text(text: Any) -> str:
    """A title, description or comment as a reader sees it: ``#话题[话题]#`` as ``#话题#``, the site's
    stickers ``[笑哭R]`` as ``[笑哭]`` (the bracket name other platforms' emoticons have)."""
    if not isinstance(text, str):
        return ""
    return _EMOJI.sub(r"[\1]", _TOPIC.sub(r"#\1#", text)).strip()


def author_from_user(user: Any, profile: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The ``author`` of a note or comment from its ``user``/``user_info``; ``profile`` (``data`` of
    ``user/otherinfo``) adds followers and verification."""
    if not isinstance(user, dict) or not user.get("user_id"):
        return None
    name = user.get("nickname") or user.get("nick_name")
    author: dict[str, Any] = {"id": f"xiaohongshu:{user['user_id']}", "name": name if isinstance(name, str) else None}
    if profile:
        for interaction in profile.get("interactions") or ():
            if isinstance(interaction, dict) and interaction.get("type") == "fans":
                author["followers"] = _count(interaction.get("count"))
        verify = profile.get("verify_info")
        kind = int_or_none(verify.get("red_official_verify_type")) if isinstance(verify, dict) else None
        if kind is not None:
            author["verified"] = kind > 0
            author["verified_type"] = kind
    return author


def post_from_note(card: Mapping[str, Any], *, profile: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A post dict from a feed answer's ``note_card``; ``profile`` gives its author's followers."""
    note = note_id(card)
    text = "\n".join(part for part in (readable_text(card.get("title")), readable_text(card.get("desc"))) if part)
    if not text:
        raise ShapeError(f"note {note} has neither title nor desc")
    interact = card.get("interact_info")
    interact = interact if isinstance(interact, dict) else {}
    post: dict[str, Any] = {
        "id": f"xiaohongshu:{note}",
        "platform": "xiaohongshu",
        "url": f"{NOTE_PAGE}/{note}",
        "text": text,
        "created_at": _time(card.get("time"), f"note {note}").isoformat(),
        "metrics": {
            "reposts": _count(interact.get("share_count")),
            "comments": _count(interact.get("comment_count")),
            "likes": _count(interact.get("liked_count")),
        },
        "kind": "video" if card.get("type") == "video" else "note",
        "favorites": _count(interact.get("collected_count")),
    }
    author = author_from_user(card.get("user"), profile)
    if author:
        post["author"] = author
    if isinstance(card.get("ip_location"), str) and card["ip_location"]:
        post["region"] = card["ip_location"]
    tags = [tag["name"] for tag in card.get("tag_list") or () if isinstance(tag, dict) and tag.get("name")]
    if tags:
        post["tags"] = tags
    return post


def post_from_comment(comment: Mapping[str, Any], *, post_id: str) -> dict[str, Any]:
    """A comment (or a reply to one) as a mention of its own, linked to its note by ``parent_id``;
    a reply names the comment it answers in ``reply_to``."""
    comment_id = comment.get("id")
    content = comment.get("content")
    if not isinstance(comment_id, str) or not comment_id or not isinstance(content, str):
        raise ShapeError("a comment without id or content")
    note = post_id.removeprefix("xiaohongshu:")
    record: dict[str, Any] = {
        "id": f"xiaohongshu:c{comment_id}",
        "platform": "xiaohongshu",
        "url": f"{NOTE_PAGE}/{note}#comment-{comment_id}",
        "text": readable_text(content),
        "created_at": _time(comment.get("create_time"), f"comment {comment_id}").isoformat(),
        "metrics": {"likes": _count(comment.get("like_count"))},
        "parent_id": post_id,
        "kind": "comment",
    }
    target = comment.get("target_comment")
    if isinstance(target, dict) and isinstance(target.get("id"), str):
        record["reply_to"] = f"xiaohongshu:c{target['id']}"
    author = author_from_user(comment.get("user_info"))
    if author:
        record["author"] = author
    if isinstance(comment.get("ip_location"), str) and comment["ip_location"]:
        record["region"] = comment["ip_location"]
    return record


def _time(value: Any, what: str) -> datetime:
    millis = int_or_none(value)
    if millis is None or millis <= 10**11:  # seconds or nonsense where milliseconds belong
        raise ShapeError(f"{what}: time {value!r} is not epoch milliseconds")
    return datetime.fromtimestamp(millis / 1000, PLATFORM_ZONE)


def _count(value: Any) -> int:
    count = parse_count(value)
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else 0
