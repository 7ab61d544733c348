"""The xiaohongshu.com replica: the /explore page that signs requests, and the signed edith API
(note search, note detail, comments, author profiles).

Its notes are the ``platform == "xiaohongshu"`` mentions of :func:`fengxiang.synthetic.generate_mentions`
(invented for this project): a short first sentence becomes the title (many notes have none), the rest
the description, with the site's markup put in (``#话题[话题]#``, stickers ``[赞R]``); likes, collects,
shares and a few comments with replies are invented deterministically on top. Note ids are ObjectIds
(their first 8 hex digits are the creation time), every note has its own ``xsec_token`` which the
detail and comment endpoints check, search pages mix in cards that are not notes, and counts are shown
as the site shows them ("1.2万"). See :mod:`crawlers.spiders.xiaohongshu_shapes` for the shapes.

Signing, as on the real site, only works in a browser: the page's script defines
``window._webmsxyw(uri, data)``, which hashes the URI, the JSON body, the time ``X-t``, the ``a1``
cookie (the script sets it when absent) and a secret embedded in the page with ``crypto.subtle``.
The API checks ``X-s`` the same way in Python and answers HTTP 406 to a missing, bad or stale one (made
with a secret :meth:`XiaohongshuReplica.rotate` replaced, or with an ``X-t`` minutes old). Fault modes
map onto the site's own refusals: ``http418``/``http432`` → HTTP 461 with ``Verifytype``/``Verifyuuid``
(a captcha), ``busy`` → ``code: 300013`` (访问频次异常), ``visitor`` → ``code: 300012`` (IP存在风险),
``login`` → ``code: -100`` (登录已过期).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from crawlers.spiders.xiaohongshu_shapes import COMMENTS_PATH, FEED_PATH, SEARCH_PATH, USER_PATH
from fengxiang.synthetic import BEIJING
from sandbox.clock import NewestFirst, VisibilityClock, advance_handler
from sandbox.scenario import platform_mentions, stable_hash
from sandbox.server import Handler, Request, Response

__all__ = [
    "XhsComment",
    "XhsNote",
    "XhsUser",
    "XhsWorld",
    "XiaohongshuReplica",
    "build_xiaohongshu",
    "signature",
]

PAGE_SIZE = 20  # search results per page, as the web page asks
COMMENT_PAGE_SIZE = 10  # top-level comments per page, as on the real site
SIGNATURE_MAX_AGE = 300.0  # seconds an X-t stays acceptable
_TITLE_MAX = 20  # the site's title limit: a longer first sentence stays in the description
_SENTENCE_END = re.compile(r"[。！？!?]")
_TOPIC = re.compile(r"#([^#\[\]\n]{1,40})#")
_EMOTICON = re.compile(r"\[([^\[\]\s]{1,10})\]")
_COMMENT_TEXTS = (
    "蹲一个后续[doge]",
    "姐妹说得太对了",
    "求链接！",
    "我也踩过这个坑[哭惹]",
    "已收藏，周末去试试",
    "真实，不是广告吧？",
    "博主皮肤好好[赞]",
    "这个价格还可以",
    "同款get，确实好用",
    "有没有平替推荐",
    "看完直接下单了[笑哭]",
    "理性消费，按需购买",
)
_REPLY_TEXTS = ("谢谢姐妹[赞]", "不是广告哈", "可以私信我", "同问+1", "哈哈哈哈[笑哭]")
_COMMENTER_NAMES = ("小红薯", "momo", "一颗柠檬", "爱吃草莓的兔子", "今天也要早睡", "阿橘", "打工人小王")
_LOCATIONS = ("上海", "北京", "广东", "浙江", "四川", "江苏", "湖北")
_OK = {"code": 0, "success": True, "msg": "成功"}


# ------------------------------------------------------------------------------------------------ world


@dataclass(frozen=True, slots=True)
class XhsUser:
    user_id: str  # 24 hex digits
    name: str
    followers: int  # as the profile shows it (rounded to 0.1万 from 10 000 on)
    verify_type: int  # red_official_verify_type: 0 none, 1 a person, 2 an organisation


@dataclass(frozen=True, slots=True)
class XhsComment:
    comment_id: str
    user: XhsUser
    text: str  # as a reader sees it ("[赞]"); the API sends it with the site's markup ("[赞R]")
    created_at: datetime
    likes: int
    replies: tuple[XhsComment, ...] = ()  # answers to this comment, oldest first


@dataclass(frozen=True, slots=True, eq=False)
class XhsNote:
    note_id: str  # an ObjectId: its first 8 hex digits are created_at
    xsec_token: str
    title: str  # "" for a note without a title
    desc: str  # as a reader sees it; the API sends it with the site's markup ("#话题[话题]#", "[赞R]")
    created_at: datetime
    user: XhsUser
    likes: int
    collects: int
    shares: int
    comments_count: int
    video: bool
    location: str
    tags: tuple[str, ...]
    comments: tuple[XhsComment, ...]  # hottest first

    @property
    def text(self) -> str:
        """What fengxiang should store as the note's text."""
        return "\n".join(part for part in (self.title, self.desc) if part)

    @property
    def display_title(self) -> str:
        """The card's title in search results: the title, else the start of the description."""
        return self.title or self.desc[:_TITLE_MAX]

    @property
    def engagement(self) -> int:
        return self.shares + self.comments_count + self.likes


class XhsWorld(VisibilityClock):
    """The notes the replica serves, newest first, on the sandbox's visibility clock."""

    def __init__(self, notes: list[XhsNote], now: datetime, visible_until: datetime) -> None:
        super().__init__(now, visible_until)
        self._timeline = NewestFirst(notes, lambda note: note.created_at, lambda note: note.text)
        self.notes = self._timeline.items
        self.users = {note.user.user_id: note.user for note in self.notes}
        self._by_id = {note.note_id: note for note in self.notes}

    def visible_notes(self) -> tuple[XhsNote, ...]:
        return self._timeline.visible(self.visible_until)

    def note(self, note_id: str) -> XhsNote | None:
        note = self._by_id.get(note_id)
        return note if note is not None and self.shows(note.created_at) else None

    def search(self, keyword: str) -> list[XhsNote]:
        """Visible notes whose text holds the keyword (case folded), newest first."""
        return self._timeline.search(keyword, self.visible_until)

    def comments(self, note: XhsNote) -> tuple[XhsComment, ...]:
        return tuple(comment for comment in note.comments if self.shows(comment.created_at))


def build_xiaohongshu(
    posts: int = 3000,
    *,
    seed: int = 7,
    days: float = 3,
    hold_back: timedelta = timedelta(0),
    now: datetime | None = None,
) -> XhsWorld:
    """The Xiaohongshu mentions among ``posts`` synthetic mentions (about 7%) as notes; arguments as
    :func:`sandbox.scenario.build_scenario`, so every replica serves one synthetic world."""
    now, mentions = platform_mentions("xiaohongshu", posts, seed=seed, days=days, now=now)
    notes = [_note(mention, now) for mention in mentions]
    return XhsWorld(notes, now, now - hold_back)


def _note(mention: dict[str, Any], now: datetime) -> XhsNote:
    created_at = datetime.fromisoformat(mention["created_at"]).astimezone(BEIJING)
    note_id = _object_id(created_at, "note", mention["id"])
    author = mention["author"]
    user = XhsUser(
        user_id=author["id"].removeprefix("xiaohongshu:"),
        name=author["name"],
        followers=_as_shown(author.get("followers") or 0),
        verify_type=0 if not author.get("verified") else (1 if author.get("verified_type") == 0 else 2),
    )
    title, rest = _split(mention["text"])
    tags = tuple(dict.fromkeys(_TOPIC.findall(mention["text"])))
    draw = stable_hash("stats", note_id)
    metrics = mention.get("metrics") or {}
    comments = _comments(note_id, created_at, now, draw)
    likes = _as_shown(metrics.get("likes", 0) + draw % 150 + user.followers // 100)
    return XhsNote(
        note_id=note_id,
        xsec_token=_xsec_token(note_id),
        title=title,
        desc=rest,
        created_at=created_at,
        user=user,
        likes=likes,
        collects=_as_shown(likes // (2 + draw % 5)),
        shares=metrics.get("reposts", 0) + draw % 7,
        comments_count=metrics.get("comments", 0) + len(comments) + sum(len(c.replies) for c in comments),
        video=draw % 5 == 0,
        location=_LOCATIONS[draw % len(_LOCATIONS)],
        tags=tags,
        comments=comments,
    )


def _split(text: str) -> tuple[str, str]:
    """Title (the first sentence when it fits the site's 20 characters, else none) and the rest."""
    match = _SENTENCE_END.search(text)
    if match and match.end() <= _TITLE_MAX and text[match.end() :].strip():
        return text[: match.end()].strip(), text[match.end() :].strip()
    return "", text.strip()


def _markup(text: str) -> str:
    """The site's own markup in a description: topics ``#话题[话题]#``, stickers ``[赞R]``."""
    return _TOPIC.sub(r"#\1[话题]#", _EMOTICON.sub(r"[\1R]", text))


def _as_shown(count: int) -> int:
    """A count as exact as the site prints it: from 10 000 on, in tenths of 万."""
    return count if count < 10_000 else round(count / 1000) * 1000


def _shown(count: int) -> str:
    """How the site prints a count: "856", "1.2万", "3万"."""
    if count < 10_000:
        return str(count)
    return f"{count / 10_000:.1f}".removesuffix(".0") + "万"


def _object_id(moment: datetime, *parts: object) -> str:
    return f"{int(moment.timestamp()):08x}{stable_hash('oid', *parts):08x}{stable_hash('oid2', *parts):08x}"


def _xsec_token(note_id: str) -> str:
    digest = hashlib.sha256(f"sandbox-xsec-{note_id}".encode()).digest()
    return "AB" + base64.urlsafe_b64encode(digest[:33]).decode()


def _comments(note_id: str, posted: datetime, now: datetime, draw: int) -> tuple[XhsComment, ...]:
    count = 14 if draw % 7 == 0 else draw % 5  # a few notes need two pages of comments
    span = max((now - posted).total_seconds(), 60.0)
    comments = []
    for n in range(count):
        pick = stable_hash("comment", note_id, n)
        created_at = posted + timedelta(seconds=int(span * (n + 1) / (count + 2)))
        replies = tuple(
            XhsComment(
                comment_id=_object_id(created_at + timedelta(minutes=r + 1), "reply", note_id, n, r),
                user=_commenter(stable_hash("replier", note_id, n, r)),
                text=_REPLY_TEXTS[(pick + r) % len(_REPLY_TEXTS)],
                created_at=created_at + timedelta(minutes=r + 1),
                likes=(pick >> r) % 20,
            )
            for r in range(pick % 3 if n % 2 == 0 else 0)
        )
        comments.append(
            XhsComment(
                comment_id=_object_id(created_at, "comment", note_id, n),
                user=_commenter(pick),
                text=_COMMENT_TEXTS[pick % len(_COMMENT_TEXTS)],
                created_at=created_at,
                likes=pick % 500,
                replies=replies,
            )
        )
    return tuple(sorted(comments, key=lambda comment: (-comment.likes, comment.comment_id)))


def _commenter(pick: int) -> XhsUser:
    name = _COMMENTER_NAMES[pick % len(_COMMENTER_NAMES)]
    return XhsUser(
        user_id=f"{0x5F000000 + pick % 10**8:08x}{pick:016x}", name=f"{name}{pick % 1000}", followers=0, verify_type=0
    )


# ------------------------------------------------------------------------------------------- signing


def signature(secret: str, uri: str, body: str, x_t: str, a1: str) -> str:
    """``X-s`` as the page's ``window._webmsxyw`` makes it (see ``_SIGNING_SCRIPT``)."""
    payload = hashlib.sha256("|".join((secret, uri, body, x_t, a1)).encode()).hexdigest()
    envelope = {"signSvn": "56", "signType": "x2", "appId": "xhs-pc-web", "signVersion": "1", "payload": payload}
    return "XYW_" + base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode()).decode()


# crypto.subtle and document.cookie: the function cannot run outside a browser, like the real one.
_SIGNING_SCRIPT = """
(() => {
  const secret = "%(secret)s";
  const cookie = (name) => {
    const found = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return found ? found[1] : "";
  };
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const random = (n) => hex(crypto.getRandomValues(new Uint8Array(n)));
  if (!cookie("a1")) document.cookie = "a1=" + random(26) + "; path=/; max-age=31536000";
  if (!cookie("webId")) document.cookie = "webId=" + random(16) + "; path=/; max-age=31536000";
  window._webmsxyw = async (uri, data) => {
    const xt = String(Date.now());
    const body = data === undefined || data === null ? "" : JSON.stringify(data);
    const material = new TextEncoder().encode([secret, uri, body, xt, cookie("a1")].join("|"));
    const payload = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", material)));
    const envelope = {signSvn: "56", signType: "x2", appId: "xhs-pc-web", signVersion: "1", payload};
    return {"X-s": "XYW_" + btoa(JSON.stringify(envelope)), "X-t": xt};
  };
})();
"""
_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>小红书 - 你的生活指南</title>
<script>%(script)s</script></head>
<body><div id="app">发现</div></body></html>
"""


# ---------------------------------------------------------------------------------------------- replica


class XiaohongshuReplica:
    """www.xiaohongshu.com's /explore page and edith.xiaohongshu.com's API on loopback, serving a :class:`XhsWorld`."""

    def __init__(
        self,
        world: XhsWorld,
        *,
        page_size: int = PAGE_SIZE,
        comment_page_size: int = COMMENT_PAGE_SIZE,
        rotate_after: int | None = None,
    ) -> None:
        self.world = world
        self.page_size = page_size
        self.comment_page_size = comment_page_size
        self.rotate_after = rotate_after  # signed requests served before the page's secret changes once
        self.generation = 0
        self.signed_served = 0
        self.bad_signatures = 0
        self._lock = threading.Lock()

    def routes(self) -> dict[str, Handler]:
        return {
            "/explore": self.explore,
            SEARCH_PATH: self.search,
            FEED_PATH: self.feed,
            COMMENTS_PATH: self.comment_page,
            USER_PATH: self.user,
            "/__sandbox__/xiaohongshu/rotate": self.rotate_control,
            "/__sandbox__/xiaohongshu/advance": advance_handler(self.world, _envelope),
        }

    def fault_response(self, mode: str, normal: Response) -> Response:
        if mode in ("http418", "http432"):
            uuid = f"{stable_hash('verify', time.monotonic_ns()):08x}-sandbox"
            headers = [("Verifytype", "102"), ("Verifyuuid", uuid)]
            return Response(status=461, body=b'{"code":461,"success":false}', headers=headers)
        if mode == "busy":
            return Response.json({"code": 300013, "success": False, "msg": "访问频次异常，请勿频繁操作或重启试试"})
        if mode == "visitor":
            return Response.json({"code": 300012, "success": False, "msg": "网络连接异常，请检查网络设置或重启试试"})
        if mode == "login":
            return Response.json({"code": -100, "success": False, "msg": "登录已过期"})
        if mode == "truncated":
            return Response(status=normal.status, body=normal.body[: len(normal.body) // 2])
        raise ValueError(f"the Xiaohongshu replica has no fault {mode!r}")

    # -- signatures

    @property
    def secret(self) -> str:
        return hashlib.md5(f"sandbox-xhs-secret-{self.generation}".encode()).hexdigest()

    def rotate(self) -> None:
        with self._lock:
            self.generation += 1

    def _signature_refusal(self, request: Request, uri: str) -> Response | None:
        headers = {name.lower(): value for name, value in request.headers.items()}  # names are case-blind
        x_t, x_s = headers.get("x-t", ""), headers.get("x-s", "")
        fresh = x_t.isdigit() and abs(time.time() - int(x_t) / 1000) < SIGNATURE_MAX_AGE
        body = request.body.decode("utf-8", "replace")
        expected = signature(self.secret, uri, body, x_t, request.cookies.get("a1", ""))
        if not fresh or not x_s or _payload(x_s) != _payload(expected):
            with self._lock:
                self.bad_signatures += 1
            return Response.json({"code": 300015, "success": False, "msg": "浏览器异常"}, status=406)
        with self._lock:
            self.signed_served += 1
            rotate = self.rotate_after is not None and self.signed_served == self.rotate_after
        if rotate:
            self.rotate()
        return None

    # -- the page

    def explore(self, request: Request) -> Response:
        return Response.html(_PAGE % {"script": _SIGNING_SCRIPT % {"secret": self.secret}})

    # -- the API

    def search(self, request: Request) -> Response:
        refusal = self._signature_refusal(request, request.path)
        if refusal is not None:
            return refusal
        spec = _json_object(request)
        keyword = str(spec.get("keyword") or "")
        page = max(_int(spec.get("page"), 1), 1)
        size = min(max(_int(spec.get("page_size"), self.page_size), 1), self.page_size)
        found = self.world.search(keyword)
        chosen = found[(page - 1) * size : page * size]
        items: list[dict[str, Any]] = [_search_item(note) for note in chosen]
        if items and page % 2 == 1:  # a suggestion card among the notes, as the site mixes them in
            items.insert(min(3, len(items)), _suggestion(keyword, page))
        data = {"has_more": page * size < len(found), "items": items}
        return Response.json({**_OK, "data": data})

    def feed(self, request: Request) -> Response:
        refusal = self._signature_refusal(request, request.path)
        if refusal is not None:
            return refusal
        spec = _json_object(request)
        note = self.world.note(str(spec.get("source_note_id") or ""))
        if note is None or spec.get("xsec_token") != note.xsec_token:
            return Response.json({"code": -510001, "success": False, "msg": "当前内容无法展示", "data": {}})
        item = {"id": note.note_id, "model_type": "note", "note_card": _note_card(note)}
        return Response.json(
            {**_OK, "data": {"cursor_score": "", "items": [item], "current_time": _ms(self.world.now)}}
        )

    def comment_page(self, request: Request) -> Response:
        # The signed URI is the path with the query as sent; parsing kept its order, so encoding it again gives it back.
        refusal = self._signature_refusal(request, f"{request.path}?{urlencode(request.query)}")
        if refusal is not None:
            return refusal
        query = request.query
        note = self.world.note(query.get("note_id", ""))
        if note is None or query.get("xsec_token") != note.xsec_token:
            return Response.json({"code": -510001, "success": False, "msg": "当前内容无法展示", "data": {}})
        comments = self.world.comments(note)
        cursor = query.get("cursor", "")
        start = next((i + 1 for i, c in enumerate(comments) if c.comment_id == cursor), 0) if cursor else 0
        chosen = comments[start : start + self.comment_page_size]
        more = start + self.comment_page_size < len(comments)
        data = {
            "comments": [_comment(comment, note, self.world) for comment in chosen],
            "cursor": chosen[-1].comment_id if chosen else "",
            "has_more": more,
            "time": _ms(self.world.now),
            "user_id": "",
            "xsec_token": note.xsec_token,
        }
        return Response.json({**_OK, "data": data})

    def user(self, request: Request) -> Response:
        refusal = self._signature_refusal(request, f"{request.path}?{urlencode(request.query)}")
        if refusal is not None:
            return refusal
        user = self.world.users.get(request.query.get("target_user_id", ""))
        if user is None:
            return Response.json({"code": -1, "success": False, "msg": "用户不存在"})
        return Response.json({**_OK, "data": _profile(user)})

    # -- control

    def rotate_control(self, request: Request) -> Response:
        self.rotate()
        return Response.json({**_OK, "generation": self.generation})


def _envelope(ok: bool, message: str) -> dict[str, Any]:
    return {"code": 0 if ok else -1, "success": ok, "msg": message}


def _payload(x_s: str) -> str:
    try:
        envelope = json.loads(base64.b64decode(x_s.removeprefix("XYW_"), validate=True))
    except ValueError:
        return ""
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    return payload if isinstance(payload, str) else ""


def _json_object(request: Request) -> dict[str, Any]:
    try:
        spec = request.json()
    except ValueError:
        return {}
    return spec if isinstance(spec, dict) else {}


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _avatar(user: XhsUser) -> str:
    return f"https://sns-avatar-qc.xhscdn.com/avatar/{user.user_id}.jpg?imageView2/2/w/80/format/jpg"


def _card_user(user: XhsUser, *, nickname_key: str = "nickname") -> dict[str, Any]:
    return {"user_id": user.user_id, nickname_key: user.name, "avatar": _avatar(user), "xsec_token": ""}


def _image(note: XhsNote, index: int) -> dict[str, Any]:
    trace = f"1040g{stable_hash('img', note.note_id, index):08x}{note.note_id[:12]}"
    return {
        "url_default": f"http://sns-webpic-qc.xhscdn.com/{trace}!nd_dft_wlteh_webp_3",
        "height": 1440,
        "width": 1080,
    }


def _search_item(note: XhsNote) -> dict[str, Any]:
    # Every other author shows "nick_name" here: the web client reads both keys.
    user = _card_user(note.user, nickname_key="nick_name" if int(note.note_id[-1], 16) % 2 else "nickname")
    return {
        "id": note.note_id,
        "model_type": "note",
        "xsec_token": note.xsec_token,
        "note_card": {
            "type": "video" if note.video else "normal",
            "display_title": note.display_title,
            "user": user,
            "interact_info": {"liked": False, "liked_count": _shown(note.likes)},
            "cover": _image(note, 0),
            "image_list": [{"height": 1440, "width": 1080}],
        },
    }


def _suggestion(keyword: str, page: int) -> dict[str, Any]:
    kind = "rec_query" if page == 1 else "hot_query"
    words = [f"{keyword}测评", f"{keyword}避雷", f"{keyword}怎么样"]
    return {"id": f"{kind}_{stable_hash(kind, keyword, page):08x}", "model_type": kind, kind: {"queries": words}}


def _note_card(note: XhsNote) -> dict[str, Any]:
    return {
        "note_id": note.note_id,
        "type": "video" if note.video else "normal",
        "title": note.title,
        "desc": _markup(note.desc),
        "time": _ms(note.created_at),
        "last_update_time": _ms(note.created_at) + stable_hash("edit", note.note_id) % 3_600_000,
        "ip_location": note.location,
        "user": _card_user(note.user),
        "interact_info": {
            "followed": False,
            "liked": False,
            "liked_count": _shown(note.likes),
            "collected": False,
            "collected_count": _shown(note.collects),
            "comment_count": _shown(note.comments_count),
            "share_count": _shown(note.shares),
            "relation": "none",
        },
        "tag_list": [{"id": f"{stable_hash('tag', tag):024x}", "name": tag, "type": "topic"} for tag in note.tags],
        "at_user_list": [],
        "image_list": [_image(note, index) for index in range(1 + note.likes % 4)],
        "share_info": {"un_share": False},
    }


def _comment(comment: XhsComment, note: XhsNote, world: XhsWorld, target: XhsComment | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": comment.comment_id,
        "note_id": note.note_id,
        "content": _markup(comment.text),
        "create_time": _ms(comment.created_at),
        "ip_location": _LOCATIONS[int(comment.comment_id[-2:], 16) % len(_LOCATIONS)],
        "like_count": str(comment.likes),
        "liked": False,
        "user_info": {"user_id": comment.user.user_id, "nickname": comment.user.name, "image": _avatar(comment.user)},
        "status": 0,
        "pictures": [],
        "at_users": [],
        "show_tags": [],
    }
    if target is not None:
        record["target_comment"] = {"id": target.comment_id, "user_info": _card_user(target.user)}
        return record
    replies = [reply for reply in comment.replies if world.shows(reply.created_at)]
    record.update(
        sub_comment_count=str(len(replies)),
        sub_comments=[_comment(reply, note, world, comment) for reply in replies],
        sub_comment_cursor=replies[-1].comment_id if replies else "",
        sub_comment_has_more=False,
    )
    return record


def _profile(user: XhsUser) -> dict[str, Any]:
    draw = stable_hash("profile", user.user_id)
    return {
        "basic_info": {
            "nickname": user.name,
            "images": _avatar(user),
            "imageb": _avatar(user),
            "red_id": str(100_000_000 + draw % 900_000_000),
            "gender": draw % 2,
            "ip_location": _LOCATIONS[draw % len(_LOCATIONS)],
            "desc": "",
        },
        "interactions": [
            {"type": "follows", "name": "关注", "count": str(draw % 300)},
            {"type": "fans", "name": "粉丝", "count": _shown(user.followers)},
            {"type": "interaction", "name": "获赞与收藏", "count": _shown(user.followers * 3 + draw % 100)},
        ],
        "verify_info": {"red_official_verify_type": user.verify_type},
        "tags": [{"tagType": "location", "name": _LOCATIONS[draw % len(_LOCATIONS)]}],
        "result": {"success": True, "code": 0, "message": "success"},
        "extra_info": {"fstatus": "none", "blockType": "DEFAULT"},
    }
