"""The m.weibo.cn replica: search, profiles, long texts, hot comments and the login probe, shaped like the real API.

Shapes follow what public crawlers document of m.weibo.cn, quirks included, so the crawler meets them offline:

* search cards come as ``card_type`` 9, sometimes as the string ``"9"``, sometimes several nested in a
  ``card_type`` 11 group; some cards carry no post at all (a group of user cards, a tip) and must be skipped;
* ``created_at`` is ``Sat Nov 22 10:00:00 +0800 2025`` or, for posts the older API renders, relative to the
  moment of the request (``刚刚``, ``5分钟前``, ``昨天 10:00``, ``11-20``);
* ``text`` is HTML (emoticon images, topic and mention links, ``<br />``); a long post's text is cut at about
  140 characters with a ``全文`` link, and ``/statuses/extend`` gives the whole of it;
* a repost's ``retweeted_status`` is the chain's root; a deleted root has ``user: null`` and a notice as text;
* ``followers_count`` is an int, or for some accounts the printed string ``"178.2万"``;
* past the last page: ``{"ok":0,"msg":"这里还没有内容","data":{"cards":[]}}``.

Counts stay ints: the real site's ``"100万+"`` strings lose the true value, and these tests compare exact values.
Rendered mblog dicts are cached per post; relative times are filled in per request.
"""

from __future__ import annotations

import html
import math
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

from fengxiang.synthetic import BEIJING
from sandbox.clock import advance_handler
from sandbox.scenario import (
    LONG_TEXT_CHARS,
    Scenario,
    SearchOrder,
    WeiboComment,
    WeiboPost,
    WeiboUser,
    format_wan,
    search_needle,
    stable_hash,
)
from sandbox.server import Handler, Request, Response

__all__ = ["TIME_STYLES", "WeiboReplica", "render_created_at", "render_text"]

TIME_STYLES = ("absolute", "relative", "mixed")
COMMENTS_PER_PAGE = 20
LOGGED_IN_UID = "7000000001"  # the account the sandbox's login page signs in

_SEARCH_PREFIX = "100103"
_PROFILE_PREFIX = "100505"
_SEARCH_TYPES: dict[str, SearchOrder] = {"61": "realtime", "1": "hot"}  # 61 实时, 1 综合
_NO_CONTENT = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
_NO_COMMENTS = {"ok": 0, "errno": "100011", "msg": "暂无数据"}
_LOGIN_REQUIRED = {
    "ok": -100,
    "url": "https://passport.weibo.cn/signin/welcome?entry=mweibo&r=https%3A%2F%2Fm.weibo.cn%2F",
}
_LFID = "102803"  # links inside cached text point back at the hot feed, not at a per-request container


# ----------------------------------------------------------------------------------------------- times

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render_created_at(moment: datetime, style: str, now: datetime) -> str:
    """``created_at`` as Weibo prints it: ``absolute`` (the API's timestamp) or ``relative`` to ``now`` (the older
    API: 刚刚, N分钟前, N小时前 the same day, 昨天 HH:MM, MM-DD this year, YYYY-MM-DD before)."""
    if style == "absolute":
        return _absolute(moment)
    if style != "relative":
        raise ValueError(f"unknown time style {style!r} — use absolute or relative")
    local, local_now = moment.astimezone(BEIJING), now.astimezone(BEIJING)
    seconds = (local_now - local).total_seconds()
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{int(seconds // 60)}分钟前"
    if local.date() == local_now.date():
        return f"{int(seconds // 3600)}小时前"
    if local.date() == local_now.date() - timedelta(days=1):
        return f"昨天 {local:%H:%M}"
    if local.year == local_now.year:
        return f"{local:%m-%d}"
    return f"{local:%Y-%m-%d}"


def _absolute(moment: datetime) -> str:
    local = moment.astimezone(BEIJING)
    # By hand: strftime's %a and %b follow the process locale, the API's are always English.
    return (
        f"{_WEEKDAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local.day:02d} {local:%H:%M:%S} +0800 {local.year}"
    )


# ------------------------------------------------------------------------------------------------ text

# Emoticons, #话题#, @mentions (not inside e-mail addresses) and line breaks: the parts Weibo turns into markup.
_MARKUP = re.compile(r"(\[[^\[\]\s<>]{1,16}\])|(#[^#\s](?:[^#\n]{0,62}[^#\s])?#)|(?<![0-9A-Za-z_])(@[\w\-]{1,30})|(\n)")
_EMOTICON_FILES = {
    "[怒]": "d_nu",
    "[抓狂]": "d_zhuakuang",
    "[允悲]": "d_yunbei",
    "[doge]": "d_doge",
    "[赞]": "d_zan",
    "[心]": "l_xin",
    "[哈哈]": "d_haha",
    "[吃瓜]": "d_chigua",
}


def _emoticon(alt: str) -> str:
    digest = f"{stable_hash(alt):08x}{len(alt):02x}"
    name = _EMOTICON_FILES.get(alt, f"d_{digest[:6]}")
    return (
        f'<span class="url-icon"><img alt={alt} src="https://h5.sinaimg.cn/m/emoticon/icon/default/{name}-{digest}.png"'
        ' style="width:1em; height:1em;" /></span>'
    )


def _topic(tag: str) -> str:
    container = quote(f"231522type=1&t=10&q={tag}", safe="")
    return (
        f'<a  href="https://m.weibo.cn/search?containerid={container}&extparam={quote(tag, safe="")}'
        f'&luicode=10000011&lfid={_LFID}" data-hide=""><span class="surl-text">{html.escape(tag, quote=False)}'
        "</span></a>"
    )


def render_text(plain: str) -> str:
    """A post's plain text as m.weibo.cn's HTML ``text``."""
    out = []
    position = 0
    for match in _MARKUP.finditer(plain):
        out.append(html.escape(plain[position : match.start()], quote=False))
        emoticon, topic, mention, _newline = match.groups()
        if emoticon:
            out.append(_emoticon(emoticon))
        elif topic:
            out.append(_topic(topic))
        elif mention:
            out.append(f"<a href='/n/{mention[1:]}'>{mention}</a>")
        else:
            out.append("<br />")
        position = match.end()
    out.append(html.escape(plain[position:], quote=False))
    return "".join(out)


def _cut(plain: str) -> str:
    """The first ~140 characters of a long text, never splitting an emoticon, topic or mention."""
    cut = LONG_TEXT_CHARS
    for match in _MARKUP.finditer(plain, 0, cut + 70):
        if match.start() < cut < match.end():
            return plain[: match.start()]
    return plain[:cut]


def _list_text(post: WeiboPost) -> str:
    """What lists show: the whole text, or a long one's beginning and its 全文 link."""
    if len(post.text) <= LONG_TEXT_CHARS:
        return render_text(post.text)
    return f'{render_text(_cut(post.text))}...<a href="/status/{post.mid}">全文</a>'


def _text_length(text: str) -> int:
    return sum(1 if char.isascii() else 2 for char in text)  # Weibo counts a CJK character twice


# ------------------------------------------------------------------------------------------- renderers

_SOURCES = (
    "iPhone客户端",
    "Android",
    "HUAWEI Mate 60 Pro",
    "iPhone 15 Pro Max",
    "微博 weibo.com",
    "vivo X100",
    "iPad客户端",
)
_DELETED_TEXT = (
    '抱歉，此微博已被作者删除。查看帮助：<a  href="https://m.weibo.cn/c/4554" data-hide="">'
    '<span class="surl-text">网页链接</span></a>'
)
_NUMBER_DISPLAY = {"apply_scenario_flag": 3, "display_text_min_number": 1000000, "display_text": "100万+"}


def _user_dict(user: WeiboUser) -> dict[str, Any]:
    uid = user.id
    draw = stable_hash("avatar", uid)
    avatar = f"{int(uid):x}ly8g{draw:08x}j20u00u0"
    printed = format_wan(user.followers)
    record: dict[str, Any] = {
        "id": int(uid),
        "screen_name": user.screen_name,
        "profile_image_url": f"https://tvax{1 + draw % 4}.sinaimg.cn/crop.0.0.180.180.180/{avatar}.jpg",
        "profile_url": f"https://m.weibo.cn/u/{uid}?uid={uid}&luicode=10000011&lfid={_LFID}",
        "statuses_count": user.statuses_count,
        "verified": user.verified,
        "verified_type": user.verified_type,
    }
    if user.verified:
        record["verified_type_ext"] = 1 if user.verified_type == 0 and user.followers >= 1_000_000 else 0
        record["verified_reason"] = user.verified_reason
    record.update(
        close_blue_v=False,
        description=user.description,
        gender=user.gender,
        mbtype=12 if user.verified else 0,
        urank=min(48, 4 + int(math.log10(user.followers + 1) * 6)),
        mbrank=draw % 8 if user.verified else 0,
        follow_me=False,
        following=False,
        # Some accounts come with the printed count instead of the number, as on the real site.
        followers_count=printed if user.followers >= 10_000 and draw % 4 == 0 else user.followers,
        followers_count_str=printed,
        follow_count=user.follow_count,
        cover_image_phone=f"https://tva1.sinaimg.cn/crop.0.0.640.640.640/{avatar}.jpg",
        avatar_hd=f"https://wx{1 + draw % 4}.sinaimg.cn/orj480/{avatar}.jpg",
        like=False,
        like_me=False,
    )
    return record


def _pictures(post: WeiboPost) -> tuple[list[str], list[dict[str, Any]] | dict[str, dict[str, Any]]]:
    pids = [f"{int(post.user.id):x}gy1h{stable_hash('pic', post.mid, i):08x}j20u0{i:02d}" for i in range(post.pics)]
    pictures = []
    for pid in pids:
        host = f"https://wx{1 + stable_hash(pid) % 4}.sinaimg.cn"
        pictures.append(
            {
                "pid": pid,
                "url": f"{host}/orj360/{pid}.jpg",
                "size": "orj360",
                "geo": {"width": 360, "height": 480, "croped": False},
                "large": {
                    "size": "large",
                    "url": f"{host}/large/{pid}.jpg",
                    "geo": {"width": "1080", "height": "1440", "croped": False},
                },
            }
        )
    if stable_hash("pics-as-dict", post.mid) % 5 == 0:  # some answers key the pictures "0", "1", ... instead
        return pids, {str(index): picture for index, picture in enumerate(pictures)}
    return pids, pictures


def _mblog(post: WeiboPost, user: dict[str, Any], retweeted: dict[str, Any] | None) -> dict[str, Any]:
    pids, pictures = _pictures(post)
    record: dict[str, Any] = {
        "visible": {"type": 0, "list_id": 0},
        "created_at": _absolute(post.created_at),
        "id": post.mid,
        "idstr": post.mid,
        "mid": post.mid,
        "can_edit": False,
        "show_additional_indication": 0,
        "text": _list_text(post),
        "textLength": _text_length(post.text),
        "source": _SOURCES[stable_hash("source", post.user.id) % len(_SOURCES)],
        "favorited": False,
        "pic_ids": pids,
        "pic_num": post.pics,
    }
    if post.pics:
        record["pics"] = pictures
    record.update(is_paid=False, mblog_vip_type=0, user=user)
    if retweeted is not None:
        record["retweeted_status"] = retweeted
    record.update(
        reposts_count=post.reposts,
        comments_count=post.comments,
        attitudes_count=post.likes,
        pending_approval_count=0,
        isLongText=len(post.text) > LONG_TEXT_CHARS,
        reward_exhibition_type=0,
        hide_flag=0,
        mblogtype=0,
        more_info_type=0,
        number_display_strategy=_NUMBER_DISPLAY,
        content_auth=0,
    )
    if post.region:
        record["region_name"] = post.region
    record["bid"] = post.bid
    return record


def _deleted_mblog(root: WeiboPost) -> dict[str, Any]:
    return {
        "visible": {"type": 0, "list_id": 0},
        "created_at": _absolute(root.created_at),
        "id": root.mid,
        "idstr": root.mid,
        "mid": root.mid,
        "can_edit": False,
        "text": _DELETED_TEXT,
        "textLength": 0,
        "user": None,
        "reposts_count": 0,
        "comments_count": 0,
        "attitudes_count": 0,
        "pending_approval_count": 0,
        "isLongText": False,
        "mblogtype": 0,
        "bid": root.bid,
    }


def _comment_dict(comment: WeiboComment, post: WeiboPost, user: dict[str, Any], root_id: str) -> dict[str, Any]:
    return {
        "created_at": _absolute(comment.created_at),
        "id": int(comment.id),
        "rootid": int(root_id),
        "rootidstr": root_id,
        "floor_number": comment.floor,
        "text": render_text(comment.text),
        "disable_reply": 0,
        "restrictOperate": 0,
        "source_allowclick": 0,
        "source_type": 1,
        "source": "来自" + comment.user.location.partition(" ")[0].replace("海外", "美国"),
        "user": user,
        "mid": comment.id,  # a comment's "mid" is its own id on the real site
        "idstr": comment.id,
        "url_objects": [],
        "liked": False,
        "readtimetype": "comment",
        "isLikedByMblogAuthor": comment.liked_by_author,
        "bid": post.bid,
        "like_count": comment.likes,
    }


# --------------------------------------------------------------------------------------------- replica

_VISITOR_PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta http-equiv="Content-type" content="text/html; charset=utf-8"/>
    <title>Sina Visitor System</title>
</head>
<body>
<span id="message"></span>
<script type="text/javascript" src="/js/visitor/mini_original.js"></script>
<script type="text/javascript">
    var return_url = "https://m.weibo.cn/";
    var restore_back = function (response) {
        window.location.replace(return_url);
    };
    document.getElementById("message").innerHTML = "Checking your browser...";
</script>
</body>
</html>
"""


class WeiboReplica:
    """m.weibo.cn on loopback, serving a :class:`Scenario`."""

    def __init__(
        self, scenario: Scenario, *, page_size: int = 10, max_pages: int | None = None, time_style: str = "mixed"
    ) -> None:
        if time_style not in TIME_STYLES:
            raise ValueError(f"unknown time style {time_style!r} — use one of {', '.join(TIME_STYLES)}")
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        self.scenario = scenario
        self.page_size = page_size
        self.max_pages = max_pages
        self.time_style = time_style
        self._users: dict[str, dict[str, Any]] = {}
        self._mblogs: dict[str, dict[str, Any]] = {}  # mid -> the mblog with absolute times (relative ones per request)

    def routes(self) -> dict[str, Handler]:
        return {
            "/api/container/getIndex": self.get_index,
            "/statuses/extend": self.extend,
            "/comments/hotflow": self.hotflow,
            "/api/config": self.config,
            "/__sandbox__/weibo/advance": advance_handler(self.scenario, _envelope),
            "/__sandbox__/weibo/scenario": self.describe,
        }

    def fault_response(self, mode: str, normal: Response) -> Response:
        if mode in ("http418", "http432"):
            return Response(status=int(mode.removeprefix("http")), body=b"", content_type="text/html; charset=utf-8")
        if mode == "login":
            return Response.json(_LOGIN_REQUIRED)
        if mode == "visitor":
            return Response.html(_VISITOR_PAGE)
        if mode == "busy":
            return Response.json({"ok": 0, "msg": "请求过于频繁，歇歇吧"})
        if mode == "truncated":
            cut = normal.body[: len(normal.body) // 2]
            return Response(status=normal.status, body=cut, content_type=normal.content_type, headers=normal.headers)
        raise ValueError(f"the Weibo replica has no fault {mode!r}")

    # -- rendering, cached

    def _user(self, user: WeiboUser) -> dict[str, Any]:
        cached = self._users.get(user.id)
        if cached is None:
            cached = self._users[user.id] = _user_dict(user)
        return cached

    def _cached_mblog(self, post: WeiboPost) -> dict[str, Any]:
        cached = self._mblogs.get(post.mid)
        if cached is None:
            root = post.retweeted
            retweeted = None
            if root is not None:
                retweeted = _deleted_mblog(root) if post.retweeted_deleted else self._cached_mblog(root)
            cached = self._mblogs[post.mid] = _mblog(post, self._user(post.user), retweeted)
        return cached

    def _is_relative(self, post: WeiboPost) -> bool:
        if self.time_style == "mixed":
            return stable_hash("time-style", post.mid) % 10 >= 7  # about 30% of posts come from the older renderer
        return self.time_style == "relative"

    def mblog(self, post: WeiboPost, now: datetime) -> dict[str, Any]:
        """The mblog dict of a post as served at ``now`` (relative times need the moment of the request)."""
        record = self._cached_mblog(post)
        root = post.retweeted
        root_relative = root is not None and not post.retweeted_deleted and self._is_relative(root)
        if not (self._is_relative(post) or root_relative):
            return record
        record = dict(record)
        if self._is_relative(post):
            record["created_at"] = render_created_at(post.created_at, "relative", now)
        if root is not None and root_relative:
            record["retweeted_status"] = {
                **record["retweeted_status"],
                "created_at": render_created_at(root.created_at, "relative", now),
            }
        return record

    # -- /api/container/getIndex

    def get_index(self, request: Request) -> Response:
        containerid = request.query.get("containerid", "")
        if containerid.startswith(_SEARCH_PREFIX):
            return self._search(request, containerid)
        uid = containerid.removeprefix(_PROFILE_PREFIX) if containerid.startswith(_PROFILE_PREFIX) else ""
        if not containerid and request.query.get("type") == "uid":
            uid = request.query.get("value", "")
        user = self.scenario.users.get(uid) if uid else None
        if user is None:
            return Response.json(_NO_CONTENT)
        return Response.json(_profile(user, self._user(user)))

    def _search(self, request: Request, containerid: str) -> Response:
        inner = {key: values[0] for key, values in parse_qs(containerid[len(_SEARCH_PREFIX) :]).items()}
        order = _SEARCH_TYPES.get(inner.get("type", ""))
        q = inner.get("q") or request.query.get("q", "")  # a crawler that forgot to encode the inner query
        try:
            page = int(request.query.get("page") or 1)
        except ValueError:
            return Response.json(_NO_CONTENT)
        if order is None or not q.strip() or page < 1:
            return Response.json(_NO_CONTENT)
        found = self.scenario.search(q, order)
        last_page = math.ceil(len(found) / self.page_size)
        if self.max_pages is not None:
            last_page = min(last_page, self.max_pages)
        if page > last_page:
            return Response.json(_NO_CONTENT)
        now = datetime.now(BEIJING)
        posts = found[(page - 1) * self.page_size : page * self.page_size]
        lfid = quote(containerid, safe="")
        cards = [self._post_card(post, now, lfid, q, order, page, index) for index, post in enumerate(posts)]
        return Response.json(
            {
                "ok": 1,
                "data": {
                    "cardlistInfo": {
                        "containerid": containerid,
                        "v_p": 42,
                        "show_style": 1,
                        "total": len(found),
                        "page": page + 1 if page < last_page else None,
                        "title_top": q,
                    },
                    "cards": self._arrange(cards, containerid, page, q),
                    "scheme": f"sinaweibo://cardlist?containerid={lfid}&extparam=&luicode=10000011&lfid=100103",
                },
            }
        )

    def _post_card(
        self, post: WeiboPost, now: datetime, lfid: str, q: str, order: str, page: int, index: int
    ) -> dict[str, Any]:
        search_type = "61" if order == "realtime" else "1"
        seqid = stable_hash(q, page)
        return {
            # A few cards spell their type as a string, as some real answers do.
            "card_type": "9" if stable_hash("card-type", post.mid) % 7 == 0 else 9,
            "itemid": f"seqid:{seqid}|type:{search_type}|t:|pos:{page}-0-{index}|q:{q}|ext:&mid={post.mid}&",
            "scheme": f"https://m.weibo.cn/status/{post.bid}?mblogid={post.bid}&luicode=10000011&lfid={lfid}",
            "mblog": self.mblog(post, now),
        }

    def _arrange(self, cards: list[dict[str, Any]], containerid: str, page: int, q: str) -> list[dict[str, Any]]:
        """Real pages vary: some nest posts in a card_type 11 group, some hold cards without a post."""
        draw = stable_hash("layout", containerid, page)
        if draw % 3 == 0 and len(cards) >= 3:
            start = draw % (len(cards) - 2)
            size = 2 + draw % 2
            group = {"card_type": 11, "show_type": 1, "card_group": cards[start : start + size]}
            cards = [*cards[:start], group, *cards[start + size :]]
        if page == 1 or draw % 4 == 1:
            extra = self._extra_card(q, page)
            position = 0 if page == 1 else len(cards) // 2
            cards = [*cards[:position], extra, *cards[position:]]
        return cards

    def _extra_card(self, q: str, page: int) -> dict[str, Any]:
        """A card without a post: accounts named like the query, or a tip."""
        needle = search_needle(q)
        users = [user for user in self.scenario.users.values() if needle in user.screen_name.lower()][:3]
        if page == 1 and users:
            group = [
                {
                    "card_type": 10,
                    "user": self._user(user),
                    "desc1": user.verified_reason or user.description,
                    "desc2": f"粉丝：{format_wan(user.followers)}",
                    "scheme": f"https://m.weibo.cn/u/{user.id}?luicode=10000011&lfid=100103",
                }
                for user in users
            ]
            return {"card_type": 11, "show_type": 1, "title": "相关用户", "card_group": group}
        return {"card_type": 58, "show_type": 1, "desc": f"以下是「{q}」的更多结果", "card_type_name": ""}

    # -- /statuses/extend and /comments/hotflow

    def extend(self, request: Request) -> Response:
        post = self.scenario.post(request.query.get("id", ""))
        if post is None:
            return Response.json({"ok": 0, "msg": "该微博不存在或已被删除"})
        data = {
            "ok": 1,
            "longTextContent": render_text(post.text),
            "reposts_count": post.reposts,
            "comments_count": post.comments,
            "attitudes_count": post.likes,
        }
        return Response.json({"ok": 1, "data": data})

    def hotflow(self, request: Request) -> Response:
        mid = request.query.get("id") or request.query.get("mid", "")
        post = self.scenario.post(mid)
        comments = self.scenario.hot_comments(mid) if post is not None else ()
        start = 0
        cursor = request.query.get("max_id", "0")
        if cursor not in ("", "0"):  # the id of the last comment served: the page after it
            start = next((i + 1 for i, comment in enumerate(comments) if comment.id == cursor), len(comments))
        page = comments[start : start + COMMENTS_PER_PAGE]
        if post is None or not page:
            return Response.json(_NO_COMMENTS)
        more = start + COMMENTS_PER_PAGE < len(comments)
        data = {
            "data": [self._comment(comment, post) for comment in page],
            "total_number": post.comments,
            "max_id": int(page[-1].id) if more else 0,
            "max": math.ceil(len(comments) / COMMENTS_PER_PAGE),
            "max_id_type": 0,
        }
        return Response.json({"ok": 1, "data": data})

    def _comment(self, comment: WeiboComment, post: WeiboPost) -> dict[str, Any]:
        record = _comment_dict(comment, post, self._user(comment.user), comment.id)
        until = self.scenario.visible_until
        replies = [
            _comment_dict(reply, post, self._user(reply.user), comment.id)
            | {"floor_number": 0, "comments": False, "max_id": 0, "total_number": 0}
            for reply in comment.replies
            if reply.created_at <= until
        ]
        record.update(comments=replies or False, max_id=0, total_number=len(replies))
        return record

    # -- /api/config and the control endpoints

    def config(self, request: Request) -> Response:
        sub = request.cookies.get("SUB", "")
        st = f"{stable_hash('st', sub) & 0xFFFFFF:06x}"
        data: dict[str, Any] = {"login": sub.startswith("_2A25"), "st": st}  # _2A25…: how a real SUB begins
        if data["login"]:
            data["uid"] = LOGGED_IN_UID
        response = Response.json({"preferQuickapp": 0, "data": data, "ok": 1})
        response.headers.append(("Set-Cookie", f"XSRF-TOKEN={st}; Path=/"))
        return response

    def describe(self, request: Request) -> Response:
        return Response.json({"ok": 1, **self.scenario.summary()})


def _envelope(ok: bool, message: str) -> dict[str, Any]:
    return {"ok": 1, "msg": message} if ok else {"ok": 0, "msg": message}


def _profile(user: WeiboUser, record: dict[str, Any]) -> dict[str, Any]:
    uid = user.id
    tabs = [
        {"id": 1, "tabKey": "profile", "title": "主页", "tab_type": "profile", "containerid": f"230283{uid}"},
        {"id": 2, "tabKey": "weibo", "title": "微博", "tab_type": "weibo", "containerid": f"107603{uid}"},
    ]
    info = {
        **record,
        "toolbar_menus": [{"type": "profile_follow", "name": "关注", "pic": "", "params": {"uid": int(uid)}}],
    }
    return {
        "ok": 1,
        "data": {
            "avatar_guide": [],
            "isStarStyle": 0,
            "userInfo": info,
            "fans_scheme": f"https://m.weibo.cn/p/index?containerid=231051_-_fans_-_{uid}",
            "follow_scheme": f"https://m.weibo.cn/p/index?containerid=231051_-_followers_-_{uid}",
            "tabsInfo": {"selectedTab": 1, "tabs": tabs},
            "scheme": f"sinaweibo://userinfo?uid={uid}&type=uid&value={uid}&luicode=10000011&lfid=100103",
            "showAppTips": 1,
        },
    }
