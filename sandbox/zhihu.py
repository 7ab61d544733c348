"""The www.zhihu.com replica: the signing page, signed content search, member profiles and comments.

Its posts are the ``platform == "zhihu"`` mentions of :func:`fengxiang.synthetic.generate_mentions`
(invented for this project): most become answers to a question whose title is made up from the
answer's first clause, the rest articles titled the same way; the author's profile, votes and a few
comments are invented deterministically on top. Shapes follow what public clients document of the real
API, quirks included (see :mod:`crawlers.spiders.zhihu_shapes`): ``<em>`` highlighting, HTML bodies,
cards that are no results, anonymous answers (作者 ``id: "0"``), ids as strings, an opaque comment
offset, child comments embedded in their root. The search is in relevance order (综合排序) unless the
request asks for ``sort=created_time`` with ``search_source=Filter``, as the real one.

Every API request must carry ``x-zse-96``, made by the script of the page at ``/search``: a SHA-256
(``crypto.subtle``, so only a browser runs it) of ``101_3_3.0+<path with query>+<d_c0>+<secret>``, where
``d_c0`` is the cookie that page's response sets and the secret is embedded in the script.
:meth:`ZhihuReplica.rotate_secret` (or ``rotate_after``) changes the secret under a running crawler;
a request signed with the old one, or wrongly, gets HTTP 403 code 10003 as on the real site. Fault
modes map onto Zhihu's own refusals: ``http418``/``http432`` → 403 code 40362 (请求存在异常),
``visitor`` → 403 code 40352 (a captcha wanted), ``busy`` → HTTP 429, ``login`` → 401 code 100.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from crawlers.spiders.zhihu_shapes import PAGE_SIZE, PUBLIC_SITE, STALE_SIGNATURE, ZSE_93
from fengxiang.synthetic import BEIJING
from sandbox.clock import NewestFirst, VisibilityClock, advance_handler, highlight
from sandbox.scenario import platform_mentions, stable_hash
from sandbox.server import Handler, Request, Response

__all__ = [
    "SIGN_FUNCTION",
    "ZhihuComment",
    "ZhihuContent",
    "ZhihuReplica",
    "ZhihuUser",
    "ZhihuWorld",
    "build_zhihu",
    "zse96",
]

SIGN_FUNCTION = "window.__zse_sign"  # what the page's script defines
_CONTENT_BASE = 1_900_000_000_000_000_000  # 19-digit ids, growing with time, like today's answers
_COMMENT_BASE = 11_000_000_000
_CLAUSE = re.compile(r"[，。！？!?；;…\n]")
_SENTENCE = re.compile(r"(?<=[。！？!?])")
_OPENERS = ("谢邀。", "说一下亲身经历。", "利益相关：普通用户。")
_QUESTIONS = ("{}，大家怎么看？", "如何评价「{}」？", "{}是一种什么体验？", "有没有人遇到过：{}？")
_ARTICLE_TITLES = ("{}", "{}｜我的真实体验", "聊聊{}", "{}（长文慎入）")
_COMMENT_TEXTS = (
    "说得很中肯，赞同",
    "谢谢分享，很有参考价值",
    "我的体验和你完全相反",
    "请问具体是哪个版本？",
    "理性讨论 & 不吵架",
    "已收藏，回头细看",
    "楼主后来怎么解决的？",
    "同感[赞同]",
    "这个回答有点片面了",
    "蹲一个后续",
)
_COMMENTER_NAMES = ("知乎用户", "匿名的猫", "理性派", "深夜读书人", "打工人小李", "momo", "路人甲")
_ANONYMOUS = {
    "id": "0",
    "url_token": "",
    "name": "匿名用户",
    "headline": "",
    "avatar_url": "https://picx.zhimg.com/v2-d41c2ceaed8f51999522f903672a521f_l.jpg",
    "type": "people",
    "user_type": "people",
    "gender": -1,
    "is_followed": False,
    "badge": [],
    "badge_v2": {"title": "", "merged_badges": [], "detail_badges": [], "icon": "", "night_icon": ""},
}
_STALE = {"error": {"message": "请求参数异常，请升级客户端后重试。", "code": STALE_SIGNATURE}}


# ------------------------------------------------------------------------------------------------ world


@dataclass(frozen=True, slots=True)
class ZhihuUser:
    id: str  # 32 hex digits
    url_token: str
    name: str
    followers: int
    verified_type: int  # -1 none, 0 a verified person (identity badge), 1 an organisation
    headline: str = ""


@dataclass(frozen=True, slots=True)
class ZhihuComment:
    id: str
    author: ZhihuUser
    text: str
    created_at: datetime
    likes: int
    children: tuple[ZhihuComment, ...] = ()  # replies, all embedded in the root (at most two)


@dataclass(frozen=True, slots=True, eq=False)
class ZhihuContent:
    kind: str  # "answer" or "article"
    id: str
    title: str  # the question's title, or the article's
    paragraphs: tuple[str, ...]  # the body, one line per paragraph
    created_at: datetime
    author: ZhihuUser | None  # None: an anonymous answer
    voteups: int
    comment_count: int
    comments: tuple[ZhihuComment, ...]  # root comments, best first
    question_id: str = ""

    @property
    def text(self) -> str:
        """What fengxiang should store as the post's text."""
        return "\n".join((self.title, *self.paragraphs))

    @property
    def engagement(self) -> int:
        return self.comment_count + self.voteups

    @property
    def mention_id(self) -> str:
        return f"zhihu:{self.kind}-{self.id}"


class ZhihuWorld(VisibilityClock):
    """The answers and articles the replica serves, newest first, on the sandbox's visibility clock."""

    def __init__(self, contents: list[ZhihuContent], now: datetime, visible_until: datetime) -> None:
        super().__init__(now, visible_until)
        self._timeline = NewestFirst(contents, lambda content: content.created_at, lambda content: content.text)
        self.contents = self._timeline.items
        self.users = {content.author.url_token: content.author for content in self.contents if content.author}
        self._by_key = {(content.kind, content.id): content for content in self.contents}

    def visible_contents(self) -> tuple[ZhihuContent, ...]:
        return self._timeline.visible(self.visible_until)

    def content(self, kind: str, content_id: str) -> ZhihuContent | None:
        found = self._by_key.get((kind, content_id))
        return found if found is not None and self.shows(found.created_at) else None

    def search(self, keyword: str) -> list[ZhihuContent]:
        """Visible posts whose title or body holds the keyword (case folded), newest first."""
        return self._timeline.search(keyword, self.visible_until)

    def comments(self, content: ZhihuContent) -> tuple[ZhihuComment, ...]:
        return tuple(comment for comment in content.comments if self.shows(comment.created_at))


def build_zhihu(
    posts: int = 3000,
    *,
    seed: int = 7,
    days: float = 3,
    hold_back: timedelta = timedelta(0),
    now: datetime | None = None,
) -> ZhihuWorld:
    """The Zhihu mentions among ``posts`` synthetic mentions (about 4%) as answers and articles;
    arguments as :func:`sandbox.scenario.build_scenario`, so every replica serves one synthetic world."""
    now, mentions = platform_mentions("zhihu", posts, seed=seed, days=days, now=now)
    contents = [_content(mention, index, now) for index, mention in enumerate(mentions)]
    return ZhihuWorld(contents, now, now - hold_back)


def _content(mention: dict[str, Any], index: int, now: datetime) -> ZhihuContent:
    draw = stable_hash("zhihu", mention["id"])
    content_id = str(_CONTENT_BASE + index * 1000 + draw % 1000)
    kind = "article" if draw % 3 == 0 else "answer"
    created_at = datetime.fromisoformat(mention["created_at"]).astimezone(BEIJING)
    clause = _first_clause(mention["text"])
    templates = _ARTICLE_TITLES if kind == "article" else _QUESTIONS
    anonymous = kind == "answer" and draw % 13 == 0
    comments = _comments(content_id, created_at, now, draw)
    metrics = mention.get("metrics") or {}
    return ZhihuContent(
        kind=kind,
        id=content_id,
        title=templates[draw // 3 % len(templates)].format(clause),
        paragraphs=_paragraphs(mention["text"]),
        created_at=created_at,
        author=None if anonymous else _user(mention["author"]),
        voteups=metrics.get("likes", 0) + draw % 240,
        comment_count=metrics.get("comments", 0) + sum(1 + len(comment.children) for comment in comments),
        comments=comments,
        question_id=str(_CONTENT_BASE // 10 + stable_hash("question", content_id)) if kind == "answer" else "",
    )


def _first_clause(text: str) -> str:
    for opener in _OPENERS:
        text = text.removeprefix(opener)
    return _CLAUSE.split(text.strip(), maxsplit=1)[0][:24] or "这件事"


def _paragraphs(text: str) -> tuple[str, ...]:
    """The mention's sentences, two to a paragraph."""
    sentences = [sentence.strip() for sentence in _SENTENCE.split(text) if sentence.strip()]
    return tuple("".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)) or (text,)


def _user(author: dict[str, Any]) -> ZhihuUser:
    key = stable_hash("member", author["id"])
    verified_type = -1 if not author.get("verified") else (0 if author.get("verified_type") == 0 else 1)
    return ZhihuUser(
        id=hashlib.md5(f"zhihu-member-{author['id']}".encode()).hexdigest(),
        url_token=f"zh-{key:08x}",
        name=author["name"],
        followers=author.get("followers") or 0,
        verified_type=verified_type,
        headline=("官方账号" if verified_type == 1 else "") or ("" if key % 3 else "数码爱好者"),
    )


def _comments(content_id: str, posted: datetime, now: datetime, draw: int) -> tuple[ZhihuComment, ...]:
    count = 23 if draw % 7 == 0 else draw % 5  # a few posts need two comment pages
    span = max((now - posted).total_seconds(), 60.0)
    number = _COMMENT_BASE + int(content_id) % 10_000_000 * 100

    def comment(n: int, created_at: datetime, children: tuple[ZhihuComment, ...] = ()) -> ZhihuComment:
        pick = stable_hash("comment", content_id, n)
        name = _COMMENTER_NAMES[pick % len(_COMMENTER_NAMES)]
        author = ZhihuUser(hashlib.md5(f"commenter-{pick}".encode()).hexdigest(), f"c-{pick:08x}", name, 0, -1)
        text = _COMMENT_TEXTS[pick % len(_COMMENT_TEXTS)]
        return ZhihuComment(str(number + n), author, text, created_at, pick % 200, children)

    roots = []
    for n in range(count):
        created_at = posted + timedelta(seconds=int(span * (n + 1) / (count + 1)))
        replies = tuple(
            comment(50 + n * 2 + r, min(created_at + timedelta(minutes=r + 1), now))
            for r in range(stable_hash("replies", content_id, n) % 3)
        )
        roots.append(comment(n, created_at, replies))
    return tuple(sorted(roots, key=lambda root: (-root.likes, root.id)))


# ---------------------------------------------------------------------------------------------- replica


class ZhihuReplica:
    """www.zhihu.com on loopback, serving a :class:`ZhihuWorld`."""

    def __init__(self, world: ZhihuWorld, *, page_size: int = PAGE_SIZE, rotate_after: int | None = None) -> None:
        self.world = world
        self.page_size = page_size
        self.rotate_after = rotate_after  # signed requests served before the secret changes once
        self.generation = 0
        self.secret = _secret(0)
        self.signed_served = 0
        self.bad_signatures = 0
        self.issued: set[str] = set()  # d_c0 cookies the page handed out
        self._lock = threading.Lock()

    def routes(self) -> dict[str, Handler]:
        return {
            "/search": self.search_page,
            "/api/v4/search_v3": self.search,
            "/api/v4/members/*": self.member,
            "/api/v4/comment_v5/*": self.root_comments,
            "/__sandbox__/zhihu/rotate": self.rotate,
            "/__sandbox__/zhihu/advance": advance_handler(self.world, _envelope),
        }

    def fault_response(self, mode: str, normal: Response) -> Response:
        if mode in ("http418", "http432"):
            message = "您当前请求存在异常，暂时限制本次访问。如有疑问，您可以通过手机摇一摇或登录后私信知乎小管家反馈。"
            return Response.json({"error": {"message": message, "code": 40362}}, status=403)
        if mode == "visitor":
            error = {
                "need_login": True,
                "redirect": f"{PUBLIC_SITE}/account/unhuman?type=S6E3V1&need_login=true",
                "code": 40352,
                "message": "系统监测到您的网络环境存在异常，为保证您的正常访问，请点击下方验证按钮进行验证。",
            }
            return Response.json({"error": error}, status=403)
        if mode == "busy":
            return Response.json({"error": {"message": "请求过于频繁，请稍后再试", "code": 10005}}, status=429)
        if mode == "login":
            error = {"message": "请求需要登录", "code": 100, "name": "AuthenticationInvalidRequest", "need_login": True}
            return Response.json({"error": error}, status=401)
        if mode == "truncated":
            return Response(status=normal.status, body=normal.body[: len(normal.body) // 2])
        raise ValueError(f"the Zhihu replica has no fault {mode!r}")

    # -- the signing page and signatures

    def rotate_secret(self) -> None:
        with self._lock:
            self.generation += 1
            self.secret = _secret(self.generation)

    def search_page(self, request: Request) -> Response:
        """The web search page: its script signs API requests; its response sets ``d_c0`` for a new visitor."""
        response = Response.html(_SIGNING_PAGE.replace("__SECRET__", self.secret))
        with self._lock:
            if request.cookies.get("d_c0") in self.issued:
                return response
            number = len(self.issued)
            raw = hashlib.sha1(f"d_c0-{number}".encode()).digest()[:20]
            d_c0 = f"{base64.b64encode(raw).decode()}|{1_764_000_000 + number}"
            self.issued.add(d_c0)
        response.headers.append(("Set-Cookie", f"d_c0={d_c0}; Path=/; Max-Age=31536000; SameSite=Lax"))
        return response

    def _signature_refusal(self, request: Request) -> Response | None:
        headers = {name.lower(): value for name, value in request.headers.items()}
        d_c0 = request.cookies.get("d_c0", "")
        path = f"{request.path}?{urlencode(request.query)}" if request.query else request.path
        with self._lock:
            expected = zse96(path, d_c0, self.secret)
        if headers.get("x-zse-93") != ZSE_93 or headers.get("x-zse-96") != expected or d_c0 not in self.issued:
            with self._lock:
                self.bad_signatures += 1
            return Response.json(_STALE, status=403)
        with self._lock:
            self.signed_served += 1
            rotate = self.rotate_after is not None and self.signed_served == self.rotate_after
        if rotate:
            self.rotate_secret()
        return None

    # -- endpoints

    def search(self, request: Request) -> Response:
        refusal = self._signature_refusal(request)
        if refusal is not None:
            return refusal
        keyword = request.query.get("q", "")
        offset = _number(request.query.get("offset"), 0)
        limit = min(_number(request.query.get("limit"), self.page_size), self.page_size)
        found = self.world.search(keyword)
        if request.query.get("sort") != "created_time" or request.query.get("search_source") != "Filter":
            found.sort(key=lambda content: stable_hash("relevance", keyword, content.id))  # "综合排序"
        chosen = found[offset : offset + limit]
        is_end = offset + limit >= len(found)
        data: list[dict[str, Any]] = [_search_result(content, keyword, offset + n) for n, content in enumerate(chosen)]
        if offset == 0:  # the first page opens with cards that are no results
            data.insert(0, {"type": "relevant_query", "query_list": [{"query": f"{keyword} 怎么样"}]})
            data.insert(min(3, len(data)), {"type": "knowledge_ad", "object": {"header": {"card_title": "知乎知学堂"}}})
        following = {**request.query, "offset": str(offset + limit), "lc_idx": str(offset + limit)}
        paging = {
            "is_end": is_end,
            "next": f"{PUBLIC_SITE}/api/v4/search_v3?{urlencode(following)}",
            "search_action_info": {"search_hash_id": f"{stable_hash('hash', keyword):08x}"},
        }
        return Response.json({"paging": paging, "data": data, "search_action_info": {"lc_idx": offset}})

    def member(self, request: Request) -> Response:
        refusal = self._signature_refusal(request)
        if refusal is not None:
            return refusal
        user = self.world.users.get(request.path.removeprefix("/api/v4/members/"))
        if user is None:
            return Response.json({"error": {"message": "用户不存在", "code": 404}}, status=404)
        return Response.json({**_author(user), "follower_count": user.followers, "is_org": user.verified_type == 1})

    def root_comments(self, request: Request) -> Response:
        refusal = self._signature_refusal(request)
        if refusal is not None:
            return refusal
        match = re.fullmatch(r"/api/v4/comment_v5/(answer|article)s/(\d+)/root_comment", request.path)
        content = self.world.content(match.group(1), match.group(2)) if match else None
        if content is None:
            return Response.json({"error": {"message": "内容不存在", "code": 404}}, status=404)
        comments = self.world.comments(content)
        start = _comment_start(comments, request.query.get("offset", ""))
        chosen = comments[start : start + self.page_size]
        is_end = start + self.page_size >= len(comments)
        following = {**request.query}
        if chosen:
            following["offset"] = f"{int(content.id) % 10**9}_{chosen[-1].id}_0"
        paging = {
            "is_end": is_end,
            "is_start": start == 0,
            "next": f"{PUBLIC_SITE}/api/v4/comment_v5/{content.kind}s/{content.id}/root_comment?{urlencode(following)}",
            "previous": "",
            "totals": content.comment_count,
        }
        data = [_comment(comment, content) for comment in chosen]
        counts = {"total_counts": content.comment_count, "collapsed_counts": 0, "reviewing_counts": 0}
        status = {"type": 0, "text": "评论区已开启"}
        return Response.json({"data": data, "paging": paging, "counts": counts, "comment_status": status})

    # -- control

    def rotate(self, request: Request) -> Response:
        self.rotate_secret()
        return Response.json({"success": True, "generation": self.generation})


def zse96(path: str, d_c0: str, secret: str) -> str:
    """The signature the page's script computes (the same steps, in Python, to check it)."""
    digest = hashlib.sha256(f"{ZSE_93}+{path}+{d_c0}+{secret}".encode()).digest()
    return "2.0_" + base64.b64encode(digest).decode()


# The page's script: the SHA-256 through crypto.subtle (a browser's, async) and d_c0 read from
# document.cookie, so the signature can only be made inside the page, as on the real site.
_SIGNING_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>搜索 - 知乎</title></head>
<body><div id="root">知乎，让每一次点击都充满意义</div>
<script>
(() => {
  const secret = "__SECRET__";
  const version = "101_3_3.0";
  function cookie(name) {
    const part = document.cookie.split("; ").find((item) => item.startsWith(name + "="));
    return part ? part.slice(name.length + 1) : "";
  }
  async function digest(text) {
    const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return btoa(String.fromCharCode(...new Uint8Array(hash)));
  }
  window.__zse_sign = async (path) => ({
    "x-zse-93": version,
    "x-zse-96": "2.0_" + (await digest([version, path, cookie("d_c0"), secret].join("+"))),
  });
})();
</script></body></html>
"""


def _envelope(ok: bool, message: str) -> dict[str, Any]:
    return {"success": True} if ok else {"error": {"message": message, "code": 400}}


def _secret(generation: int) -> str:
    return hashlib.md5(f"sandbox-zse-{generation}".encode()).hexdigest()


def _number(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def _comment_start(comments: tuple[ZhihuComment, ...], offset: str) -> int:
    """Where the page after ``offset`` ("<anything>_<last comment id>_0") starts."""
    last = offset.split("_")[1] if offset.count("_") == 2 else ""
    ids = [comment.id for comment in comments]
    return ids.index(last) + 1 if last in ids else 0


def _body_html(content: ZhihuContent) -> str:
    """The body as the editor saves it: paragraphs, sometimes a picture, sometimes lines joined by <br>."""
    draw = stable_hash("html", content.id)
    paragraphs = [html.escape(paragraph) for paragraph in content.paragraphs]
    if draw % 3 == 0 and len(paragraphs) > 1:
        paragraphs[:2] = [f"{paragraphs[0]}<br/>{paragraphs[1]}"]
    parts = [f'<p data-pid="{stable_hash("pid", content.id, n):08x}">{text}</p>' for n, text in enumerate(paragraphs)]
    if draw % 4 == 0:
        picture = f"https://picx.zhimg.com/v2-{draw:08x}_720w.jpg"
        parts.insert(
            1, f'<figure data-size="normal"><noscript><img src="{picture}"/></noscript><img src="{picture}"/></figure>'
        )
    return "".join(parts)


def _badges(user: ZhihuUser) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if user.verified_type < 0:
        return [], {"title": "", "merged_badges": [], "detail_badges": [], "icon": "", "night_icon": ""}
    description = "官方机构号" if user.verified_type == 1 else "数码博主"
    badge = {"type": "identity", "description": description, "topics": []}
    detail = {"type": "identity", "detail_type": "identity_org" if user.verified_type == 1 else "identity_people"}
    merged = {**badge, "title": "认证", "url": "", "sources": [], "icon": "", "night_icon": ""}
    return [badge], {"title": description, "merged_badges": [merged], "detail_badges": [{**merged, **detail}]}


def _author(user: ZhihuUser) -> dict[str, Any]:
    badge, badge_v2 = _badges(user)
    return {
        "id": user.id,
        "url_token": user.url_token,
        "name": user.name,
        "headline": user.headline,
        "avatar_url": f"https://picx.zhimg.com/v2-{user.id[:16]}_l.jpg",
        "type": "people",
        "user_type": "organization" if user.verified_type == 1 else "people",
        "url": f"https://api.zhihu.com/people/{user.id}",
        "gender": stable_hash("gender", user.id) % 3 - 1,
        "is_followed": False,
        "badge": badge,
        "badge_v2": badge_v2,
    }


def _search_result(content: ZhihuContent, keyword: str, index: int) -> dict[str, Any]:
    created = int(content.created_at.timestamp())
    excerpt = highlight("".join(content.paragraphs)[:96], keyword)
    found: dict[str, Any] = {
        "id": content.id,
        "type": content.kind,
        "excerpt": excerpt,
        "content": _body_html(content),
        "voteup_count": content.voteups,
        "comment_count": content.comment_count,
        "created_time": created,
        "updated_time": created + stable_hash("edit", content.id) % 3 * 3600,
        "author": _author(content.author) if content.author else dict(_ANONYMOUS),
        "thumbnail_info": {"count": 0, "type": "thumbnail_info", "thumbnails": []},
        "relationship": {"is_author": False, "voting": 0},
    }
    if content.kind == "answer":
        found["url"] = f"https://api.zhihu.com/answers/{content.id}"
        found["answer_type"] = "normal"
        found["question"] = {
            "id": content.question_id,
            "type": "question",
            "name": highlight(content.title, keyword),
            "url": f"https://api.zhihu.com/questions/{content.question_id}",
        }
        title = found["question"]["name"]
    else:
        found["url"] = f"https://api.zhihu.com/articles/{content.id}"
        found["title"] = highlight(content.title, keyword)
        found["image_url"] = ""
        title = found["title"]
    return {
        "type": "search_result",
        "highlight": {"title": title, "description": excerpt},
        "object": found,
        "index": index,
        "hit_labels": None,
    }


def _comment(comment: ZhihuComment, content: ZhihuContent, root: ZhihuComment | None = None) -> dict[str, Any]:
    root_id = root.id if root else "0"
    return {
        "id": comment.id,
        "type": "comment",
        "resource_type": content.kind,
        "member_id": int(comment.author.id[:8], 16),
        "url": f"https://www.zhihu.com/api/v4/comment_v5/comment/{comment.id}",
        "hot": comment.likes > 150,
        "top": False,
        "content": f"<p>{html.escape(comment.text)}</p>",
        "score": comment.likes * 10,
        "created_time": int(comment.created_at.timestamp()),
        "is_delete": False,
        "collapsed": False,
        "reviewing": False,
        "reply_comment_id": root_id,
        "reply_root_comment_id": root_id,
        "liked": False,
        "like_count": comment.likes,
        "disliked": False,
        "dislike_count": 0,
        "is_author": False,
        "can_reply": True,
        "author": _author(comment.author),
        "author_tag": [],
        "reply_author_tag": [],
        "content_tag": [],
        "comment_tag": [{"type": "ip_info", "text": "IP 属地广东", "color": "#999999", "has_border": False}],
        "child_comment_count": len(comment.children),
        "child_comment_next_offset": None,
        "child_comments": [_comment(child, content, comment) for child in comment.children],
    }
