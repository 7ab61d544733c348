"""m.weibo.cn's request URLs and response shapes, read into DESIGN 4.3 post dicts.

Pure functions, no Scrapy: the spider fetches, this module knows what the answers look like.
The shapes vary more than the API suggests, and every variant below has been seen in the wild:

* search results are ``data.cards``: a post is a card of ``card_type`` 9 (sometimes the string
  ``"9"``) with an ``mblog``; several posts may sit in a ``card_type`` 11 card's ``card_group``;
  other cards (users, tips, related searches) carry no ``mblog`` and are skipped;
* the end of results is ``{"ok": 0, "msg": "这里还没有内容"}``, not an empty page;
* ``created_at`` is a full timestamp or a relative time (see :mod:`crawlers.times`);
* counts may be strings: ``followers_count`` "178.2万", ``attitudes_count`` "100万+";
* a long post's ``text`` is cut at about 140 characters (``isLongText``), the rest comes from
  ``statuses/extend``; a repost's ``retweeted_status`` is the root post, whose ``user`` is null
  when the root was deleted;
* ``pics`` is a list, or a dict keyed "0", "1", ….
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from crawlers.spiders.json_fields import int_or_none
from crawlers.times import parse_post_time
from store.model import parse_count

__all__ = [
    "PUBLIC_ORIGIN",
    "SEARCH_HOT",
    "SEARCH_REALTIME",
    "ShapeError",
    "author_from_user",
    "comment_url",
    "comments_in",
    "config_url",
    "extend_url",
    "is_end_of_results",
    "mblog_id",
    "mblog_time",
    "mblogs_in",
    "post_from_comment",
    "post_from_mblog",
    "refusal_in",
    "repost_root",
    "search_url",
]

PUBLIC_ORIGIN = "https://m.weibo.cn"  # post links always point here, wherever the crawler fetched from
SEARCH_REALTIME = "61"  # 实时: newest first — what incremental crawling pages through
SEARCH_HOT = "1"  # 综合: popular first — refreshes the engagement of the posts that matter
_POST_CARD = 9
_GROUP_CARD = 11
_END_MESSAGES = ("这里还没有内容", "暂无数据")


class ShapeError(ValueError):
    """A response part that does not have the shape this module knows; the message says what."""


# -- URLs ---------------------------------------------------------------------------------------


def search_url(base_url: str, term: str, kind: str, page: int) -> str:
    # The container id carries its own query string, which is then encoded as one parameter.
    containerid = f"100103type={kind}&q={term}&t="
    params = {"containerid": containerid, "page_type": "searchall"}
    if page > 1:
        params["page"] = str(page)
    return f"{base_url}/api/container/getIndex?{urlencode(params)}"


def extend_url(base_url: str, mid: str) -> str:
    return f"{base_url}/statuses/extend?{urlencode({'id': mid})}"


def comment_url(base_url: str, mid: str, max_id: int | None = None, max_id_type: int = 0) -> str:
    params: dict[str, str | int] = {"id": mid, "mid": mid}
    if max_id:
        params["max_id"] = max_id
    params["max_id_type"] = max_id_type
    return f"{base_url}/comments/hotflow?{urlencode(params)}"


def config_url(base_url: str) -> str:
    return f"{base_url}/api/config"


# -- answers ------------------------------------------------------------------------------------


def is_end_of_results(answer: dict[str, Any]) -> bool:
    """``{"ok": 0, "msg": "这里还没有内容"}`` and its relatives: nothing (more) to read."""
    return answer.get("ok") in (0, "0") and answer.get("msg") in _END_MESSAGES


def refusal_in(answer: dict[str, Any]) -> str | None:
    """Why an answer that is not the end of results carries no data (``ok`` other than 1), or None.

    Weibo also says "too frequent" or "system busy" this way; taking that for the end of results
    would advance the cursor past posts never read."""
    if answer.get("ok") in (1, "1"):
        return None
    return f"Weibo answered ok={answer.get('ok')!r}: {answer.get('msg') or 'no message'}"


def mblogs_in(answer: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every post of a search answer, in page order, flattening ``card_group`` nesting."""
    data = answer.get("data")
    cards = data.get("cards") if isinstance(data, dict) else None
    if not isinstance(cards, list):
        raise ShapeError("a search answer without data.cards")
    yield from _mblogs(cards)


def _mblogs(cards: list[Any]) -> Iterator[dict[str, Any]]:
    for card in cards:
        if not isinstance(card, dict):
            continue
        kind = int_or_none(card.get("card_type"))
        if kind == _POST_CARD and isinstance(card.get("mblog"), dict):
            yield card["mblog"]
        elif kind == _GROUP_CARD and isinstance(card.get("card_group"), list):
            yield from _mblogs(card["card_group"])


def comments_in(answer: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The comments of a ``comments/hotflow`` answer and the ``max_id`` of the next page (0: last)."""
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ShapeError("a comments answer without data.data")
    comments = [comment for comment in data["data"] if isinstance(comment, dict)]
    return comments, int_or_none(data.get("max_id")) or 0


# -- records ------------------------------------------------------------------------------------


def author_from_user(user: Any) -> dict[str, Any] | None:
    """A ``user`` object as the mention's ``author``; None when the platform gave none."""
    if not isinstance(user, dict) or user.get("id") in (None, ""):
        return None
    author: dict[str, Any] = {"id": f"weibo:{user['id']}", "name": user.get("screen_name")}
    followers = parse_count(user.get("followers_count"))
    if isinstance(followers, int):
        author["followers"] = followers
    if "verified" in user:
        author["verified"] = bool(user["verified"])
    verified_type = int_or_none(user.get("verified_type"))
    if verified_type is not None:
        author["verified_type"] = verified_type
    for field, key in (
        ("verified_reason", "verified_reason"),
        ("description", "description"),
        ("gender", "gender"),
        ("location", "location"),
    ):
        if user.get(key):
            author[field] = user[key]
    for field, key in (("posts", "statuses_count"), ("following", "follow_count")):
        count = parse_count(user.get(key))
        if isinstance(count, int):
            author[field] = count
    return author


def post_from_mblog(
    mblog: dict[str, Any], *, now: datetime, long_text: str | None = None, root_long_text: str | None = None
) -> dict[str, Any]:
    """A post dict from an ``mblog``. ``long_text`` (and ``root_long_text`` for a repost's root) is
    the full HTML from ``statuses/extend``.

    A repost's text is the reposter's words and chain followed by ``//@root author:root text``,
    the way the Weibo app shows it, so that matching and analysis see what was reposted; the root
    post becomes the ``parent_id`` and, unless it was deleted, its user the ``parent_author``.
    """
    mid = mblog_id(mblog)
    text = long_text if long_text is not None else mblog.get("text")
    if not isinstance(text, str):
        raise ShapeError(f"post {mid} has no text")
    post: dict[str, Any] = {
        "id": f"weibo:{mid}",
        "platform": "weibo",
        "url": f"{PUBLIC_ORIGIN}/detail/{mid}",
        "text": text,
        "created_at": _time(mblog.get("created_at"), now, mid).isoformat(),
        "metrics": _metrics(mblog),
        "kind": "post",
    }
    author = author_from_user(mblog.get("user"))
    if author:
        post["author"] = author
    root = mblog.get("retweeted_status")
    if isinstance(root, dict):
        post["kind"] = "repost"
        post["parent_id"] = f"weibo:{mblog_id(root)}"
        visible_root = repost_root(mblog)
        root_text = root_long_text if root_long_text is not None else root.get("text")
        if visible_root is not None and isinstance(root_text, str):
            post["text"] = f"{text}//@{visible_root['user'].get('screen_name', '')}:{root_text}"
        root_author = author_from_user(root.get("user"))  # None when the root was deleted
        if root_author:
            post["parent_author"] = root_author
    for field, value in (
        ("bid", mblog.get("bid")),
        ("region", _region(mblog.get("region_name"))),
        ("source_app", mblog.get("source")),
        ("pics", _picture_count(mblog.get("pics"))),
    ):
        if value:
            post[field] = value
    return post


def repost_root(mblog: dict[str, Any]) -> dict[str, Any] | None:
    """The root post a repost quotes, when it is still there (its user is not null)."""
    root = mblog.get("retweeted_status")
    return root if isinstance(root, dict) and isinstance(root.get("user"), dict) else None


def post_from_comment(comment: dict[str, Any], *, post_id: str, now: datetime) -> dict[str, Any]:
    """A comment as a mention of its own, linked to the post it answers by ``parent_id``."""
    comment_id = comment.get("id") or comment.get("idstr")
    if not comment_id or not isinstance(comment.get("text"), str):
        raise ShapeError("a comment without id or text")
    mid = post_id.removeprefix("weibo:")
    record: dict[str, Any] = {
        "id": f"weibo:c{comment_id}",
        "platform": "weibo",
        "url": f"{PUBLIC_ORIGIN}/detail/{mid}",
        "text": comment["text"],
        "created_at": _time(comment.get("created_at"), now, f"comment {comment_id}").isoformat(),
        "metrics": {"likes": _count(comment.get("like_count"))},
        "parent_id": post_id,
        "kind": "comment",
    }
    author = author_from_user(comment.get("user"))
    if author:
        record["author"] = author
    region = _region(comment.get("source"))
    if region:
        record["region"] = region
    return record


# -- fields -------------------------------------------------------------------------------------


def mblog_id(mblog: dict[str, Any]) -> str:
    """A post's numeric id (``id``; older answers only have ``idstr`` or ``mid``)."""
    for key in ("id", "idstr", "mid"):
        value = mblog.get(key)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return str(value)
    raise ShapeError("a post without a numeric id")


def mblog_time(mblog: dict[str, Any], now: datetime) -> datetime:
    return _time(mblog.get("created_at"), now, mblog_id(mblog))


def _time(value: Any, now: datetime, what: str) -> datetime:
    try:
        return parse_post_time(value, now=now)
    except ValueError as err:
        raise ShapeError(f"{what}: {err}") from None


def _metrics(mblog: dict[str, Any]) -> dict[str, int]:
    return {
        "reposts": _count(mblog.get("reposts_count")),
        "comments": _count(mblog.get("comments_count")),
        "likes": _count(mblog.get("attitudes_count")),
    }


def _count(value: Any) -> int:
    count = parse_count(value)
    return count if isinstance(count, int) and count >= 0 else 0


def _region(text: Any) -> str | None:
    # "发布于 北京" on posts, "来自北京" on comments
    if not isinstance(text, str):
        return None
    region = text.removeprefix("发布于").removeprefix("来自").strip()
    return region or None


def _picture_count(pics: Any) -> int:
    return len(pics) if isinstance(pics, list | dict) else 0
