"""api.bilibili.com's request URLs (WBI-signed) and response shapes, read into DESIGN 4.3 post dicts.

Pure functions, no Scrapy: the spider fetches, this module knows what the answers look like.
Quirks every reader of these endpoints meets:

* every answer is ``{"code": 0, "message": "0", "ttl": 1, "data": …}``; a non-zero ``code`` is the
  refusal: -412 (请求被拦截, too many requests), -352 (风控校验失败, a verification is wanted),
  -403 (非法访问: here, a WBI signature made with keys that are no longer current), -101 (账号未登录);
  ``x/web-interface/nav`` answers -101 to a visitor yet still carries ``data.wbi_img``;
* search, comments (and most query endpoints) want a WBI signature: ``wts`` (unix seconds) and
  ``w_rid`` = md5 of the sorted, urlencoded query (values stripped of ``!'()*``) followed by the
  mixin key, which is a fixed permutation of ``img_key + sub_key`` — the file stems of
  ``data.wbi_img.img_url``/``sub_url`` in nav (they look like image URLs; they are keys, never fetched);
* a search result's ``title`` marks the matched words with ``<em class="keyword">…</em>`` and holds
  HTML entities (``&amp;``, ``&#39;``); an empty ``description`` is ``"-"``; ``play`` is a number or
  ``"--"``; ``pubdate`` is unix seconds; past the last page ``data.result`` is empty or missing;
* comments page by cursor: ``pagination_str={"offset":"…"}`` with ``data.cursor.pagination_reply.
  next_offset``; ``data.cursor.is_end`` ends it; pinned comments come in ``data.top_replies`` (often
  again in ``data.replies``); ``replies`` is null on a video without comments; ``member.mid`` is a string;
* ``card.Official.type`` is -1 (none), 0 (a person) or 1 (an organisation); ``card.fans`` is the follower count.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from crawlers.spiders.json_fields import int_or_none
from crawlers.times import PLATFORM_ZONE

__all__ = [
    "MIXIN_KEY_ENC_TAB",
    "PUBLIC_API",
    "STALE_SIGNATURE",
    "ShapeError",
    "author_from_card",
    "card_url",
    "mixin_key",
    "nav_url",
    "post_from_reply",
    "post_from_video",
    "refusal_in",
    "replies_in",
    "reply_url",
    "search_url",
    "sign",
    "strip_markup",
    "video_bvid",
    "video_time",
    "videos_in",
    "view_url",
    "wbi_keys_in",
]

PUBLIC_API = "https://api.bilibili.com"
VIDEO_PAGE = "https://www.bilibili.com/video"
STALE_SIGNATURE = -403  # the code of an answer to a request signed with outdated WBI keys
MIXIN_KEY_ENC_TAB = (
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49,
    33, 9, 42, 19, 29, 28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40,
    61, 26, 17, 0, 1, 60, 51, 30, 4, 22, 25, 54, 21, 56, 59, 6, 63, 57, 62, 11,
    36, 20, 34, 44, 52,
)  # fmt: skip
_UNSAFE_VALUE_CHARS = re.compile(r"[!'()*]")
_TAGS = re.compile(r"<[^>]*>")
_EMPTY_DESCRIPTION = ("", "-")


class ShapeError(ValueError):
    """A response part that does not have the shape this module knows; the message says what."""


# -- signing ------------------------------------------------------------------------------------


def mixin_key(img_key: str, sub_key: str) -> str:
    """The WBI mixin key: the fixed permutation of ``img_key + sub_key``, first 32 characters."""
    raw = img_key + sub_key
    if len(raw) != 64:
        raise ShapeError(f"WBI keys must be 32 characters each, got {len(img_key)} and {len(sub_key)}")
    return "".join(raw[i] for i in MIXIN_KEY_ENC_TAB)[:32]


def sign(params: Mapping[str, str | int], key: str, wts: int) -> dict[str, str]:
    """``params`` with ``wts`` and ``w_rid`` added, sorted by name, as the WBI endpoints want them."""
    signed = {name: _UNSAFE_VALUE_CHARS.sub("", str(value)) for name, value in {**params, "wts": wts}.items()}
    signed = dict(sorted(signed.items()))
    signed["w_rid"] = hashlib.md5((urlencode(signed) + key).encode()).hexdigest()
    return signed


def wbi_keys_in(answer: dict[str, Any]) -> tuple[str, str]:
    """``(img_key, sub_key)`` from a nav answer (a visitor's ``code: -101`` answer carries them too)."""
    data = answer.get("data")
    wbi = data.get("wbi_img") if isinstance(data, dict) else None
    if not isinstance(wbi, dict):
        raise ShapeError(f"a nav answer without data.wbi_img (code {answer.get('code')!r})")
    keys = tuple(_file_stem(wbi.get(name)) for name in ("img_url", "sub_url"))
    if not all(keys):
        raise ShapeError("a nav answer whose wbi_img URLs hold no key")
    return keys[0], keys[1]


def _file_stem(url: Any) -> str:
    if not isinstance(url, str):
        return ""
    return urlsplit(url).path.rpartition("/")[2].partition(".")[0]


# -- URLs ---------------------------------------------------------------------------------------


def nav_url(base_url: str) -> str:
    return f"{base_url}/x/web-interface/nav"


SearchOrder = Literal["pubdate", "click"]  # newest first; most played first (the "hot" pass)


def search_url(base_url: str, keyword: str, page: int, key: str, wts: int, order: SearchOrder = "pubdate") -> str:
    params: dict[str, str | int] = {"search_type": "video", "keyword": keyword, "order": order, "page": page}
    return f"{base_url}/x/web-interface/wbi/search/type?{urlencode(sign(params, key, wts))}"


def view_url(base_url: str, bvid: str) -> str:
    return f"{base_url}/x/web-interface/view?{urlencode({'bvid': bvid})}"


def card_url(base_url: str, mid: str) -> str:
    return f"{base_url}/x/web-interface/card?{urlencode({'mid': mid})}"


def reply_url(base_url: str, aid: int, offset: str, key: str, wts: int) -> str:
    pagination = json.dumps({"offset": offset}, separators=(",", ":"), ensure_ascii=False)
    params: dict[str, str | int] = {"oid": aid, "type": 1, "mode": 3, "pagination_str": pagination, "plat": 1}
    return f"{base_url}/x/v2/reply/wbi/main?{urlencode(sign(params, key, wts))}"


# -- answers ------------------------------------------------------------------------------------


def refusal_in(answer: dict[str, Any]) -> tuple[int, str] | None:
    """``(code, message)`` of an answer that carries no data, or None for a normal answer.

    The newer form of a bad signature is ``code: 0`` with only ``data.v_voucher``: read as -403."""
    code = answer.get("code")
    if code == 0:
        data = answer.get("data")
        if isinstance(data, dict) and "v_voucher" in data and len(data) == 1:
            return STALE_SIGNATURE, "v_voucher instead of data"
        return None
    return (code if isinstance(code, int) else -1), str(answer.get("message") or "no message")


def videos_in(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The videos of a search answer, in page order ([] past the last page)."""
    data = answer.get("data")
    if not isinstance(data, dict):
        raise ShapeError("a search answer without data")
    result = data.get("result")
    if result is None:
        return []
    if not isinstance(result, list):
        raise ShapeError("a search answer whose data.result is not a list")
    return [video for video in result if isinstance(video, dict) and video.get("type", "video") == "video"]


def replies_in(answer: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The comments of a ``reply/wbi/main`` page (pinned first, each once) and the next offset (None: last)."""
    data = answer.get("data")
    if not isinstance(data, dict):
        raise ShapeError("a comments answer without data")
    replies: dict[Any, dict[str, Any]] = {}
    for group in (data.get("top_replies"), data.get("replies")):
        for reply in group if isinstance(group, list) else ():
            if isinstance(reply, dict) and reply.get("rpid") not in replies:
                replies[reply.get("rpid")] = reply
    cursor = _dict(data.get("cursor"))
    offset = _dict(cursor.get("pagination_reply")).get("next_offset")
    if cursor.get("is_end") or not isinstance(offset, str) or not offset:
        offset = None
    return list(replies.values()), offset


# -- records ------------------------------------------------------------------------------------


def strip_markup(text: Any) -> str:
    """A title or description as plain text: ``<em class="keyword">`` and other tags gone, entities read."""
    if not isinstance(text, str):
        return ""
    return html.unescape(_TAGS.sub("", text)).strip()


def video_bvid(video: Mapping[str, Any]) -> str:
    bvid = video.get("bvid")
    if not isinstance(bvid, str) or not bvid.startswith("BV"):
        raise ShapeError(f"a video without a BV id (aid {video.get('aid')!r})")
    return bvid


def video_time(video: Mapping[str, Any]) -> datetime:
    pubdate = video.get("pubdate")
    if isinstance(pubdate, bool) or not isinstance(pubdate, int) or pubdate <= 0:
        raise ShapeError(f"video {video.get('bvid')}: pubdate {pubdate!r} is not unix seconds")
    return datetime.fromtimestamp(pubdate, PLATFORM_ZONE)


def author_from_card(mid: Any, name: Any, card: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The ``author`` of a video or comment; ``card`` (``data.card`` of x/web-interface/card) adds
    followers and verification."""
    if mid in (None, "", 0, "0"):
        return None
    author: dict[str, Any] = {"id": f"bilibili:{mid}", "name": strip_markup(name) or None}
    if card:
        fans = int_or_none(card.get("fans"))
        if fans is not None and fans >= 0:
            author["followers"] = fans
        official = card.get("Official")
        kind = int_or_none(official.get("type")) if isinstance(official, dict) else None
        if kind is not None:
            author["verified"] = kind >= 0
            author["verified_type"] = kind
            if kind >= 0 and isinstance(official, dict) and official.get("title"):
                author["verified_reason"] = official["title"]
    return author


def post_from_video(
    video: Mapping[str, Any], *, view: Mapping[str, Any] | None = None, card: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A post dict from a search result; ``view`` (``data`` of x/web-interface/view) gives the full
    stats and owner, ``card`` the owner's followers. Without ``view`` the search result's counts serve."""
    bvid = video_bvid(video)
    title = strip_markup(video.get("title"))
    description = strip_markup((view or {}).get("desc") or video.get("description"))
    text = title if description in _EMPTY_DESCRIPTION else f"{title}\n{description}"
    if not text:
        raise ShapeError(f"video {bvid} has neither title nor description")
    stat = (view or {}).get("stat")
    stat = stat if isinstance(stat, dict) else {}
    owner = (view or {}).get("owner")
    owner = owner if isinstance(owner, dict) else {}

    def count(stat_key: str, search_key: str | None) -> int:
        value = int_or_none(stat.get(stat_key)) if stat_key in stat else int_or_none(video.get(search_key or stat_key))
        return value if value is not None and value >= 0 else 0

    post: dict[str, Any] = {
        "id": f"bilibili:{bvid}",
        "platform": "bilibili",
        "url": f"{VIDEO_PAGE}/{bvid}",
        "text": text,
        "created_at": video_time(video).isoformat(),
        "metrics": {
            "reposts": count("share", None),
            "comments": count("reply", "review"),
            "likes": count("like", None),
        },
        "kind": "video",
        "views": count("view", "play"),
        "danmaku": count("danmaku", "video_review"),
        "favorites": count("favorite", "favorites"),
        "coins": count("coin", None),
        "aid": int_or_none(video.get("aid")) or int_or_none((view or {}).get("aid")) or 0,
    }
    author = author_from_card(owner.get("mid") or video.get("mid"), owner.get("name") or video.get("author"), card)
    if author:
        post["author"] = author
    for field, value in (("duration", video.get("duration")), ("tags", video.get("tag"))):
        if isinstance(value, str) and value:
            post[field] = value
    return post


def post_from_reply(reply: Mapping[str, Any], *, post_id: str) -> dict[str, Any]:
    """A comment as a mention of its own, linked to its video by ``parent_id``."""
    rpid = int_or_none(reply.get("rpid"))
    content = reply.get("content")
    message = content.get("message") if isinstance(content, dict) else None
    if rpid is None or not isinstance(message, str):
        raise ShapeError("a comment without rpid or content.message")
    ctime = int_or_none(reply.get("ctime"))
    if ctime is None or ctime <= 0:
        raise ShapeError(f"comment {rpid}: ctime {reply.get('ctime')!r} is not unix seconds")
    bvid = post_id.removeprefix("bilibili:")
    record: dict[str, Any] = {
        "id": f"bilibili:c{rpid}",
        "platform": "bilibili",
        "url": f"{VIDEO_PAGE}/{bvid}#reply{rpid}",
        "text": message,
        "created_at": datetime.fromtimestamp(ctime, PLATFORM_ZONE).isoformat(),
        "metrics": {"likes": max(int_or_none(reply.get("like")) or 0, 0)},
        "parent_id": post_id,
        "kind": "comment",
    }
    member = reply.get("member")
    if isinstance(member, dict):
        official = member.get("official_verify")
        card = {"Official": official} if isinstance(official, dict) else None
        author = author_from_card(member.get("mid") or reply.get("mid"), member.get("uname"), card)
        if author:
            record["author"] = author
    return record


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
