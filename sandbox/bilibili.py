"""The api.bilibili.com replica: nav (WBI keys), signed video search, video stats, owner cards and comments.

Its videos are the ``platform == "bilibili"`` mentions of :func:`fengxiang.synthetic.generate_mentions`
(invented for this project): the first sentence becomes the title, the rest the description, the author the
owner; stats and a few comments are invented deterministically on top. Shapes follow what public clients
document of the real API, quirks included (see :mod:`crawlers.spiders.bilibili_shapes`): ``<em class="keyword">``
in titles, HTML entities, ``"-"`` for an empty description, ``member.mid`` as a string, pinned comments in
``top_replies`` and again in ``replies``, cursor paging through ``pagination_str``.

Signed endpoints check ``w_rid`` against the current keys and answer ``code: -403`` to a bad or stale
signature, as the real API does; :meth:`BilibiliReplica.rotate_keys` (or ``rotate_keys_after``) changes the
keys under a running crawler. Fault modes map onto Bilibili's own refusals: ``http418``/``http432`` → HTTP 412,
``busy`` → ``code: -412`` (请求被拦截), ``visitor`` → ``code: -352`` (风控校验失败), ``login`` → ``code: -101``.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crawlers.spiders.bilibili_shapes import mixin_key, sign
from fengxiang.synthetic import BEIJING
from sandbox.clock import NewestFirst, VisibilityClock, advance_handler, highlight
from sandbox.scenario import platform_mentions, stable_hash
from sandbox.server import Handler, Request, Response

__all__ = ["BiliReply", "BiliUser", "BiliVideo", "BiliWorld", "BilibiliReplica", "build_bilibili"]

PAGE_SIZE = 20  # search results and comments per page, as on the real site
_BASE58 = "FcwAPNKTMug3GV5Lj7EJnHpWsx4tb8haYeviqBz6rkCy1mUSDQX9RdoZf2"
_AID_BASE = 113_500_000_000_000
_RPID_BASE = 245_000_000_000
_TITLE_MAX = 80
_SENTENCE_END = re.compile(r"[。！？!?]")
_COMMENT_TEXTS = (
    "前排支持一下UP主",
    "讲得很清楚，三连了",
    "看完有点心动，再观望一下",
    "这个价格到底值不值？",
    "我也遇到过一样的情况",
    "求问视频里的配置是哪一版",
    "感谢分享[doge]",
    "理性讨论，别吵了",
    "说得太对了，确实是这样",
    "已经下单了，到手再来反馈",
    "有没有人对比过同价位的？",
    "剪辑辛苦了[赞]",
)
_COMMENTER_NAMES = ("路过的小透明", "今天也要加油鸭", "电子榨菜爱好者", "一只咸鱼", "夜猫子", "打工人阿强", "momo")
_OK = {"code": 0, "message": "0", "ttl": 1}


# ------------------------------------------------------------------------------------------------ world


@dataclass(frozen=True, slots=True)
class BiliUser:
    mid: str
    name: str
    followers: int
    official_type: int  # -1 none, 0 a person, 1 an organisation


@dataclass(frozen=True, slots=True)
class BiliReply:
    rpid: int
    member: BiliUser
    message: str
    created_at: datetime
    likes: int
    pinned: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class BiliVideo:
    aid: int
    bvid: str
    title: str
    description: str  # "" when the mention was one sentence
    created_at: datetime
    owner: BiliUser
    views: int
    danmaku: int
    replies_count: int
    favorites: int
    coins: int
    shares: int
    likes: int
    duration: int  # seconds
    replies: tuple[BiliReply, ...]  # hottest first (mode 3)

    @property
    def text(self) -> str:
        """What fengxiang should store as the video's text."""
        return f"{self.title}\n{self.description}" if self.description else self.title

    @property
    def engagement(self) -> int:
        return self.shares + self.replies_count + self.likes


class BiliWorld(VisibilityClock):
    """The videos the replica serves, newest first, on the sandbox's visibility clock."""

    def __init__(self, videos: list[BiliVideo], now: datetime, visible_until: datetime) -> None:
        super().__init__(now, visible_until)
        self._timeline = NewestFirst(videos, lambda video: video.created_at, lambda video: video.text)
        self.videos = self._timeline.items
        self.users = {video.owner.mid: video.owner for video in self.videos}
        self._by_bvid = {video.bvid: video for video in self.videos}
        self._by_aid = {video.aid: video for video in self.videos}

    def visible_videos(self) -> tuple[BiliVideo, ...]:
        return self._timeline.visible(self.visible_until)

    def video(self, bvid: str = "", aid: int = 0) -> BiliVideo | None:
        video = self._by_bvid.get(bvid) if bvid else self._by_aid.get(aid)
        return video if video is not None and video.created_at <= self.visible_until else None

    def search(self, keyword: str) -> list[BiliVideo]:
        """Visible videos whose title or description holds the keyword (case folded), newest first."""
        return self._timeline.search(keyword, self.visible_until)

    def replies(self, video: BiliVideo) -> tuple[BiliReply, ...]:
        until = self.visible_until
        return tuple(reply for reply in video.replies if reply.created_at <= until)


def build_bilibili(
    posts: int = 3000,
    *,
    seed: int = 7,
    days: float = 3,
    hold_back: timedelta = timedelta(0),
    now: datetime | None = None,
) -> BiliWorld:
    """The Bilibili mentions among ``posts`` synthetic mentions (about 5%) as videos; arguments as
    :func:`sandbox.scenario.build_scenario`, so both replicas serve one synthetic world."""
    now, mentions = platform_mentions("bilibili", posts, seed=seed, days=days, now=now)
    videos = [_video(mention, index, now) for index, mention in enumerate(mentions)]
    return BiliWorld(videos, now, now - hold_back)


def _video(mention: dict[str, Any], index: int, now: datetime) -> BiliVideo:
    aid = _AID_BASE + index * 1000 + stable_hash("aid", mention["id"]) % 1000
    title, description = _split(mention["text"])
    created_at = datetime.fromisoformat(mention["created_at"]).astimezone(BEIJING)
    author = mention["author"]
    owner = BiliUser(
        mid=author["id"].removeprefix("bilibili:"),
        name=author["name"],
        followers=author.get("followers") or 0,
        official_type=-1 if not author.get("verified") else (0 if author.get("verified_type") == 0 else 1),
    )
    draw = stable_hash("stats", aid)
    metrics = mention.get("metrics") or {}
    views = 20 + draw % 3_000 + owner.followers // 50
    replies = _replies(aid, created_at, now, draw)
    return BiliVideo(
        aid=aid,
        bvid=_bvid(aid),
        title=title,
        description=description,
        created_at=created_at,
        owner=owner,
        views=views,
        danmaku=draw % 97,
        replies_count=metrics.get("comments", 0) + len(replies),
        favorites=views // 40,
        coins=views // 60,
        shares=metrics.get("reposts", 0) + draw % 23,
        likes=metrics.get("likes", 0) + views // (15 + draw % 30),
        duration=60 + draw % 900,
        replies=replies,
    )


def _split(text: str) -> tuple[str, str]:
    """Title (the first sentence, at most 80 characters) and description (the rest)."""
    match = _SENTENCE_END.search(text)
    cut = match.end() if match else len(text)
    cut = min(cut, _TITLE_MAX)
    return text[:cut].strip(), text[cut:].strip()


def _bvid(aid: int) -> str:
    """A BV id: 9 base58 characters after ``BV1``, one per aid (a bijection modulo 58**9)."""
    number = (aid * 1_000_003 + 0x1552356C4CDB) % 58**9
    digits = ""
    for _ in range(9):
        number, digit = divmod(number, 58)
        digits = _BASE58[digit] + digits
    return "BV1" + digits


def _replies(aid: int, posted: datetime, now: datetime, draw: int) -> tuple[BiliReply, ...]:
    count = 25 if draw % 7 == 0 else draw % 6  # a few videos need two comment pages
    span = max((now - posted).total_seconds(), 60.0)
    replies = []
    for n in range(count):
        pick = stable_hash("reply", aid, n)
        name = _COMMENTER_NAMES[pick % len(_COMMENTER_NAMES)]
        member = BiliUser(
            mid=str(3_000_000 + pick % 9_000_000), name=f"{name}_{pick % 1000}", followers=0, official_type=-1
        )
        replies.append(
            BiliReply(
                rpid=_RPID_BASE + aid % 1_000_000 * 100 + n,
                member=member,
                message=_COMMENT_TEXTS[pick % len(_COMMENT_TEXTS)],
                created_at=posted + timedelta(seconds=int(span * (n + 1) / (count + 1))),
                likes=pick % 300,
                pinned=n == 0 and draw % 3 == 0,
            )
        )
    return tuple(sorted(replies, key=lambda reply: (-reply.likes, reply.rpid)))


# ---------------------------------------------------------------------------------------------- replica


class BilibiliReplica:
    """api.bilibili.com on loopback, serving a :class:`BiliWorld`."""

    def __init__(self, world: BiliWorld, *, page_size: int = PAGE_SIZE, rotate_keys_after: int | None = None) -> None:
        self.world = world
        self.page_size = page_size
        self.rotate_keys_after = rotate_keys_after  # signed requests served before the keys change once
        self.generation = 0
        self.signed_served = 0
        self.bad_signatures = 0
        self._lock = threading.Lock()
        self.img_key, self.sub_key = _keys(0)

    def routes(self) -> dict[str, Handler]:
        return {
            "/x/web-interface/nav": self.nav,
            "/x/web-interface/wbi/search/type": self.search,
            "/x/web-interface/view": self.view,
            "/x/web-interface/card": self.card,
            "/x/v2/reply/wbi/main": self.reply_main,
            "/__sandbox__/bilibili/rotate": self.rotate,
            "/__sandbox__/bilibili/advance": advance_handler(self.world, _envelope),
        }

    def fault_response(self, mode: str, normal: Response) -> Response:
        if mode in ("http418", "http432"):
            return Response(status=412, body=b'{"code":-412,"message":"request was banned","ttl":1}')
        if mode == "busy":
            return Response.json({"code": -412, "message": "请求被拦截", "ttl": 1, "data": None})
        if mode == "visitor":
            return Response.json(
                {"code": -352, "message": "风控校验失败", "ttl": 1, "data": {"v_voucher": "voucher_0"}}
            )
        if mode == "login":
            return Response.json({"code": -101, "message": "账号未登录", "ttl": 1})
        if mode == "truncated":
            return Response(status=normal.status, body=normal.body[: len(normal.body) // 2])
        raise ValueError(f"the Bilibili replica has no fault {mode!r}")

    # -- keys and signatures

    def rotate_keys(self) -> None:
        with self._lock:
            self.generation += 1
            self.img_key, self.sub_key = _keys(self.generation)

    def _signature_refusal(self, request: Request) -> Response | None:
        query = request.query
        wts = query.get("wts", "")
        params = {name: value for name, value in query.items() if name not in ("w_rid", "wts")}
        with self._lock:
            key = mixin_key(self.img_key, self.sub_key)
        if not wts.isdigit() or sign(params, key, int(wts))["w_rid"] != query.get("w_rid"):
            with self._lock:
                self.bad_signatures += 1
            return Response.json({"code": -403, "message": "访问权限不足", "ttl": 1})
        with self._lock:
            self.signed_served += 1
            rotate = self.rotate_keys_after is not None and self.signed_served == self.rotate_keys_after
        if rotate:
            self.rotate_keys()
        return None

    # -- endpoints

    def nav(self, request: Request) -> Response:
        base = "https://i0.hdslb.com/bfs/wbi"
        wbi = {"img_url": f"{base}/{self.img_key}.png", "sub_url": f"{base}/{self.sub_key}.png"}
        # A visitor's nav: "not logged in", with the keys all the same.
        return Response.json(
            {"code": -101, "message": "账号未登录", "ttl": 1, "data": {"isLogin": False, "wbi_img": wbi}}
        )

    def search(self, request: Request) -> Response:
        refusal = self._signature_refusal(request)
        if refusal is not None:
            return refusal
        keyword = request.query.get("keyword", "")
        try:
            page = max(int(request.query.get("page") or 1), 1)
        except ValueError:
            page = 1
        found = self.world.search(keyword)
        if request.query.get("order") == "click":  # most played first; pubdate (newest) is the world's order
            found = sorted(found, key=lambda video: video.views, reverse=True)
        found = found[: 50 * self.page_size]  # the real search stops at 50 pages
        pages = -(-len(found) // self.page_size)
        chosen = found[(page - 1) * self.page_size : page * self.page_size]
        data: dict[str, Any] = {
            "seid": str(stable_hash("seid", keyword, page)),
            "page": page,
            "pagesize": self.page_size,
            "numResults": len(found),
            "numPages": pages,
            "suggest_keyword": "",
            "rqt_type": "search",
            "cost_time": {"total": "0.043"},
            "egg_hit": 0,
            "result": [_search_item(video, keyword) for video in chosen],
            "show_column": 0,
        }
        return Response.json({**_OK, "data": data})

    def view(self, request: Request) -> Response:
        video = self.world.video(bvid=request.query.get("bvid", ""))
        if video is None:
            return Response.json({"code": -404, "message": "啥都木有", "ttl": 1})
        return Response.json({**_OK, "data": _view(video)})

    def card(self, request: Request) -> Response:
        user = self.world.users.get(request.query.get("mid", ""))
        if user is None:
            return Response.json({"code": -404, "message": "啥都木有", "ttl": 1})
        return Response.json({**_OK, "data": _card(user)})

    def reply_main(self, request: Request) -> Response:
        refusal = self._signature_refusal(request)
        if refusal is not None:
            return refusal
        try:
            video = self.world.video(aid=int(request.query.get("oid", "0")))
            offset = json.loads(request.query.get("pagination_str") or "{}").get("offset") or ""
            start = int(json.loads(offset)["Data"]["cursor"]) if offset else 0
        except (ValueError, KeyError, TypeError, AttributeError):
            return Response.json({"code": -400, "message": "请求错误", "ttl": 1})
        if video is None:
            return Response.json({"code": 12002, "message": "评论区已关闭", "ttl": 1})
        replies = self.world.replies(video)
        chosen = replies[start : start + self.page_size]
        is_end = start + self.page_size >= len(replies)
        cursor: dict[str, Any] = {
            "is_begin": start == 0,
            "prev": start // self.page_size,
            "next": start // self.page_size + 2,
            "is_end": is_end,
            "mode": 3,
            "mode_text": "热门评论",
            "all_count": video.replies_count,
            "support_mode": [1, 2, 3],
            "name": "热门评论",
            "session_id": str(stable_hash("session", video.aid)),
        }
        if not is_end:
            next_offset = json.dumps({"type": 3, "direction": 1, "Data": {"cursor": start + self.page_size}})
            cursor["pagination_reply"] = {"next_offset": next_offset}
        else:
            cursor["pagination_reply"] = {}
        pinned = [reply for reply in replies if reply.pinned] if start == 0 else []
        data = {
            "cursor": cursor,
            "replies": [_reply(reply, video) for reply in chosen] or None,
            "top_replies": [_reply(reply, video) for reply in pinned] or None,
            "upper": {"mid": int(video.owner.mid)},
            "assist": 0,
            "blacklist": 0,
            "vote": 0,
            "note": 1,
            "callbackid": "",
        }
        return Response.json({**_OK, "data": data})

    # -- control

    def rotate(self, request: Request) -> Response:
        self.rotate_keys()
        return Response.json({"code": 0, "generation": self.generation})


def _envelope(ok: bool, message: str) -> dict[str, Any]:
    return {"code": 0 if ok else -400, "message": message}


def _keys(generation: int) -> tuple[str, str]:
    return tuple(hashlib.md5(f"sandbox-wbi-{name}-{generation}".encode()).hexdigest() for name in ("img", "sub"))  # type: ignore[return-value]


def _duration(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def _pic(video: BiliVideo) -> str:
    return f"//i{video.aid % 3}.hdslb.com/bfs/archive/{stable_hash('pic', video.aid):08x}{video.aid % 10**8:08d}.jpg"


def _search_item(video: BiliVideo, keyword: str) -> dict[str, Any]:
    pubdate = int(video.created_at.timestamp())
    return {
        "type": "video",
        "id": video.aid,
        "author": video.owner.name,
        "mid": int(video.owner.mid),
        "typeid": "95",
        "typename": "数码",
        "arcurl": f"http://www.bilibili.com/video/av{video.aid}",
        "aid": video.aid,
        "bvid": video.bvid,
        "title": highlight(video.title, keyword, 'em class="keyword"'),
        "description": html.escape(video.description) or "-",
        "arcrank": "0",
        "pic": _pic(video),
        "play": video.views,
        "video_review": video.danmaku,
        "favorites": video.favorites,
        "tag": "数码,测评,生活记录",
        "review": video.replies_count,
        "pubdate": pubdate,
        "senddate": pubdate,
        "duration": _duration(video.duration),
        "badgepay": False,
        "hit_columns": ["title"],
        "view_type": "",
        "is_pay": 0,
        "is_union_video": 0,
        "rec_tags": None,
        "new_rec_tags": [],
        "rank_score": video.views,
        "like": video.likes,
        "upic": f"https://i{video.aid % 3}.hdslb.com/bfs/face/{stable_hash('face', video.owner.mid):08x}.jpg",
        "corner": "",
        "cover": "",
        "desc": "",
        "url": "",
        "rec_reason": "",
        "danmaku": video.danmaku,
        "biz_data": None,
        "is_charge_video": 0,
    }


def _view(video: BiliVideo) -> dict[str, Any]:
    pubdate = int(video.created_at.timestamp())
    return {
        "bvid": video.bvid,
        "aid": video.aid,
        "videos": 1,
        "tid": 95,
        "tname": "数码",
        "copyright": 1,
        "pic": "http:" + _pic(video),
        "title": video.title,
        "pubdate": pubdate,
        "ctime": pubdate,
        "desc": video.description,
        "state": 0,
        "duration": video.duration,
        "owner": {
            "mid": int(video.owner.mid),
            "name": video.owner.name,
            "face": f"https://i0.hdslb.com/bfs/face/{stable_hash('face', video.owner.mid):08x}.jpg",
        },
        "stat": {
            "aid": video.aid,
            "view": video.views,
            "danmaku": video.danmaku,
            "reply": video.replies_count,
            "favorite": video.favorites,
            "coin": video.coins,
            "share": video.shares,
            "now_rank": 0,
            "his_rank": 0,
            "like": video.likes,
            "dislike": 0,
            "evaluation": "",
            "vt": 0,
        },
        "dynamic": "",
        "cid": video.aid + 7,
    }


def _official(user: BiliUser) -> dict[str, Any]:
    title = {0: "知名UP主", 1: "官方账号"}.get(user.official_type, "")
    return {"role": max(user.official_type + 1, 0), "title": title, "desc": "", "type": user.official_type}


def _card(user: BiliUser) -> dict[str, Any]:
    card = {
        "mid": user.mid,
        "name": user.name,
        "approve": False,
        "sex": "保密",
        "face": f"https://i0.hdslb.com/bfs/face/{stable_hash('face', user.mid):08x}.jpg",
        "DisplayRank": "0",
        "regtime": 0,
        "spacesta": 0,
        "birthday": "",
        "place": "",
        "description": "",
        "article": 0,
        "attentions": [],
        "fans": user.followers,
        "friend": 0,
        "attention": stable_hash("attention", user.mid) % 500,
        "sign": "",
        "level_info": {"current_level": 4 + stable_hash("level", user.mid) % 3},
        "Official": _official(user),
        "official_verify": {"type": user.official_type, "desc": _official(user)["title"]},
    }
    return {"card": card, "following": False, "archive_count": 10, "article_count": 0, "follower": user.followers}


def _reply(reply: BiliReply, video: BiliVideo) -> dict[str, Any]:
    ctime = int(reply.created_at.timestamp())
    return {
        "rpid": reply.rpid,
        "oid": video.aid,
        "type": 1,
        "mid": int(reply.member.mid),
        "root": 0,
        "parent": 0,
        "count": 0,
        "rcount": 0,
        "state": 0,
        "ctime": ctime,
        "rpid_str": str(reply.rpid),
        "like": reply.likes,
        "member": {
            "mid": reply.member.mid,
            "uname": reply.member.name,
            "sex": "保密",
            "sign": "",
            "level_info": {"current_level": 2 + reply.rpid % 5},
            "official_verify": {"type": -1, "desc": ""},
        },
        "content": {"message": reply.message, "members": [], "jump_url": {}, "max_line": 6},
        "replies": None,
        "up_action": {"like": False, "reply": False},
        "reply_control": {"location": "IP属地：广东"} if reply.rpid % 2 else {},
    }
