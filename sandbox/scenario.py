"""The synthetic Weibo world the sandbox serves: users, posts, hot comments and the facts planted in them.

Everything is invented for this project (DESIGN 5), built on :func:`fengxiang.synthetic.generate_mentions`: its
Weibo mentions become posts, their authors become users, and each ``//@name:text`` repost gets the chain's ROOT
as ``retweeted`` (real Weibo's ``retweeted_status`` is the root too). On top of that the builder invents hot
comments and plants a few things tests look for: reposts whose root was deleted, posts that Weibo's fuzzy search
returns but the watchlist rejects, and an account with bought followers whose posts nobody engages with.

A visibility clock lets a test crawl, move time on, and crawl again: only posts created by ``visible_until`` are
served, and :meth:`Scenario.advance` moves it towards ``now``.
"""

from __future__ import annotations

import bisect
import random
import threading
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

from fengxiang.synthetic import BEIJING, BRANDS, demo_watchlist, generate_mentions

__all__ = [
    "BIG_ACCOUNT_FOLLOWERS",
    "LONG_TEXT_CHARS",
    "Scenario",
    "SearchOrder",
    "WeiboComment",
    "WeiboPost",
    "WeiboUser",
    "build_scenario",
    "format_wan",
    "mid_to_bid",
    "search_needle",
    "stable_hash",
]

SearchOrder = Literal["realtime", "hot"]

BIG_ACCOUNT_FOLLOWERS = 500_000  # the generator's regular users stay far below; its 大V accounts are above
LONG_TEXT_CHARS = 140  # a post's own text longer than this is cut in lists and fetched whole via /statuses/extend
MAX_HOT_COMMENTS = 60  # hotflow serves at most this many per post, like the real site's hot list
BOUGHT_FOLLOWERS = 2_000_000
_INCIDENT_BRAND = BRANDS[0].name  # 启航汽车: the generator puts its braking incident in the last days
_COMMENT_ID_BASE = 5_000_000_000_000_000  # comment ids grow with time and sort after every post's mid


# ------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class WeiboUser:
    id: str  # digits
    screen_name: str
    followers: int  # the truth; at 10,000 and above always exactly "N.N万" (the replica may print it so)
    verified: bool
    verified_type: int  # -1 none, 0 personal (orange V), 1 government, 2 enterprise, 3 media, 5 site, 6 app, 7 group
    verified_reason: str  # "" unless verified
    description: str
    location: str  # "广东 深圳"
    gender: str  # "m" or "f"
    statuses_count: int
    follow_count: int


@dataclass(frozen=True, slots=True, eq=False)
class WeiboPost:
    mid: str  # digits; the synthetic mention's id, so mids grow with time like real ones
    bid: str  # the 9-character base62 form of the mid used in status URLs
    user: WeiboUser
    text: str  # the post's OWN plain text: for a repost, everything before the root's "//@author:" hop
    created_at: datetime  # aware, +08:00
    reposts: int
    comments: int
    likes: int
    region: str | None  # "发布于 北京"; None where the site shows no IP region
    pics: int
    retweeted: WeiboPost | None = None  # a repost's ROOT original
    retweeted_deleted: bool = False  # the root was deleted: served as user null and a notice

    @property
    def full_text(self) -> str:
        """The plain text fengxiang should end up with: equal to the synthetic mention's text when the root shows."""
        root = self.retweeted
        if root is None or self.retweeted_deleted:
            return self.text
        return f"{self.text}//@{root.user.screen_name}:{root.full_text}"

    @property
    def expected_parent_id(self) -> str | None:
        return None if self.retweeted is None else "weibo:" + self.retweeted.mid

    @property
    def engagement(self) -> int:
        return self.reposts + self.comments + self.likes


@dataclass(frozen=True, slots=True, eq=False)
class WeiboComment:
    id: str  # digits
    mid: str  # the post commented on
    user: WeiboUser
    text: str  # plain
    created_at: datetime
    likes: int
    floor: int  # 1 = the post's first comment (replies: 0)
    liked_by_author: bool = False
    replies: tuple[WeiboComment, ...] = ()


# ---------------------------------------------------------------------------------------------- scenario


class Scenario:
    """The built world plus its visibility clock. Thread-safe: the sandbox serves requests from many threads."""

    def __init__(
        self,
        *,
        now: datetime,
        posts: tuple[WeiboPost, ...],
        users: dict[str, WeiboUser],
        comments: dict[str, tuple[WeiboComment, ...]],
        visible_until: datetime,
        big_accounts: frozenset[str],
        wave_mids: frozenset[str],
        incident_mids: frozenset[str],
        bought_follower_uid: str,
        fuzzy_noise_mids: frozenset[str],
        deleted_root_mids: frozenset[str],
    ) -> None:
        self.now = now
        self.posts = posts  # newest first
        self.users = users
        self.comments = comments  # mid -> hot comments, hottest first
        self.watchlist = demo_watchlist()
        # Planted facts, by mid or uid:
        self.big_accounts = big_accounts  # 大V: at least BIG_ACCOUNT_FOLLOWERS followers (bought one excluded)
        self.wave_mids = wave_mids  # the copy-paste 水军 wave
        self.incident_mids = incident_mids  # negative 启航汽车 posts about braking since the incident broke
        self.long_mids = frozenset(p.mid for p in posts if len(p.text) > LONG_TEXT_CHARS)  # need /statuses/extend
        self.bought_follower_uid = bought_follower_uid  # ~2,000,000 followers, brand posts with ~0 engagement
        self.fuzzy_noise_mids = fuzzy_noise_mids  # returned by fuzzy search for a brand, matched by no query
        self.deleted_root_mids = deleted_root_mids  # roots deleted by their authors; their reposts still show
        self._by_mid = {post.mid: post for post in posts}
        self._lock = threading.Lock()
        self._visible_until = min(visible_until, now)
        # Search runs on every page request: lower-cased texts and sort keys are computed once.
        self._haystacks = [post.full_text.lower() for post in posts]
        self._negated_times = [-post.created_at.timestamp() for post in posts]  # ascending, for bisect
        self._matches: dict[str, list[int]] = {}
        self._results: dict[tuple[str, str, datetime], tuple[WeiboPost, ...]] = {}

    # -- the clock

    @property
    def visible_until(self) -> datetime:
        return self._visible_until

    def advance(self, minutes: float) -> datetime:
        """Reveal the posts of the next ``minutes`` (never past ``now``); returns the new ``visible_until``."""
        if minutes < 0:
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        with self._lock:
            self._visible_until = min(self._visible_until + timedelta(minutes=minutes), self.now)
            return self._visible_until

    def _first_visible(self, until: datetime) -> int:
        return bisect.bisect_left(self._negated_times, -until.timestamp())

    # -- what the replica serves

    def visible_posts(self) -> tuple[WeiboPost, ...]:
        return self.posts[self._first_visible(self.visible_until) :]

    def post(self, mid: str) -> WeiboPost | None:
        """A served post (visible, not deleted), or None."""
        post = self._by_mid.get(mid)
        return post if post is not None and post.created_at <= self.visible_until else None

    def hot_comments(self, mid: str) -> tuple[WeiboComment, ...]:
        until = self.visible_until
        return tuple(comment for comment in self.comments.get(mid, ()) if comment.created_at <= until)

    def search(self, q: str, order: SearchOrder = "realtime") -> tuple[WeiboPost, ...]:
        """Visible posts the real site's search would return: realtime newest first, hot by engagement.

        Fuzzy like the real site: a CJK query of three or more characters also finds texts holding just its first
        two (启航汽车 finds 扬帆启航), which is why fengxiang filters results through the watchlist query.
        """
        until = self.visible_until
        key = (q, order, until)
        cached = self._results.get(key)
        if cached is not None:
            return cached
        start = self._first_visible(until)
        indexes = self._matching(q)
        found = [self.posts[i] for i in indexes[bisect.bisect_left(indexes, start) :]]
        if order == "hot":
            found.sort(key=lambda post: (post.engagement, int(post.mid)), reverse=True)
        result = tuple(found)
        with self._lock:
            if len(self._results) > 512:  # old clock positions are never asked for again
                self._results.clear()
            self._results[key] = result
        return result

    def _matching(self, q: str) -> list[int]:
        """Indexes (ascending, so newest first) of every post the query finds, visible or not."""
        needle = search_needle(q)
        cached = self._matches.get(needle)
        if cached is None:
            cached = [i for i, text in enumerate(self._haystacks) if needle and needle in text]
            with self._lock:
                self._matches[needle] = cached
        return cached

    def summary(self) -> dict[str, object]:
        return {
            "now": self.now.isoformat(),
            "visible_until": self.visible_until.isoformat(),
            "posts": len(self.posts),
            "visible_posts": len(self.visible_posts()),
            "users": len(self.users),
            "comments": sum(map(len, self.comments.values())),
            "planted": {
                "big_accounts": len(self.big_accounts),
                "wave_mids": len(self.wave_mids),
                "incident_mids": len(self.incident_mids),
                "long_mids": len(self.long_mids),
                "fuzzy_noise_mids": len(self.fuzzy_noise_mids),
                "deleted_root_mids": len(self.deleted_root_mids),
                "bought_follower_uid": self.bought_follower_uid,
            },
        }


def search_needle(q: str) -> str:
    """What search looks for in lower-cased text: the query, or just the first two characters of a CJK query of
    three or more (the real site's fuzziness)."""
    needle = q.strip().lower()
    if len(needle) >= 3 and all("\u4e00" <= char <= "\u9fff" for char in needle[:2]):
        return needle[:2]
    return needle


# ------------------------------------------------------------------------------------------- id formats

_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _base62(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 62)
        digits = _BASE62[digit] + digits
        if not number:
            return digits


def mid_to_bid(mid: str) -> str:
    """Weibo's bid: the mid cut into 7-digit groups from the right, each in base62 (4 characters but the first)."""
    groups = []
    end = len(mid)
    while end > 0:
        start = max(0, end - 7)
        encoded = _base62(int(mid[start:end]))
        groups.append(encoded.rjust(4, "0") if start else encoded)
        end = start
    return "".join(reversed(groups))


def format_wan(number: int) -> str:
    """Counts as Weibo prints them: 9876, 1.2万, 320万."""
    if number < 10_000:
        return str(number)
    if number % 10_000 == 0:
        return f"{number // 10_000}万"
    return f"{number / 10_000:.1f}万"


def stable_hash(*parts: object) -> int:
    """A hash that is the same in every process (str hashes are salted per process): the scenario's and the
    replica's deterministic choices."""
    return zlib.crc32("|".join(map(str, parts)).encode())


# ------------------------------------------------------------------------------------------------ users

# (province, city) of a profile; the province is also where the post's IP region points.
_PLACES = (
    ("北京", "朝阳区"),
    ("上海", "浦东新区"),
    ("广东", "深圳"),
    ("广东", "广州"),
    ("浙江", "杭州"),
    ("四川", "成都"),
    ("江苏", "南京"),
    ("湖北", "武汉"),
    ("陕西", "西安"),
    ("重庆", "渝中区"),
    ("湖南", "长沙"),
    ("福建", "厦门"),
    ("山东", "青岛"),
    ("河南", "郑州"),
    ("安徽", "合肥"),
    ("云南", "昆明"),
    ("海外", "美国"),
)
_DESCRIPTIONS = ("", "", "热爱生活，记录日常。", "普通打工人一枚", "认真吃饭，好好睡觉", "只分享真实体验", "快乐至上")
_PERSONAL_REASONS = ("数码博主", "汽车博主", "美食博主", "美妆博主", "生活博主", "知名科技博主", "微博原创视频博主")


def _user_from_author(author: dict) -> WeiboUser:
    uid = author["id"].removeprefix("weibo:")
    name = author["name"]
    followers = author["followers"]
    if followers >= 10_000:  # exactly "N.N万", so a crawler reading the printed form recovers the truth
        followers = round(followers / 1000) * 1000
    verified_type = author["verified_type"]
    draw = stable_hash("user", uid)
    reason = ""
    if verified_type == 0:
        reason = _PERSONAL_REASONS[draw % len(_PERSONAL_REASONS)]
    elif verified_type > 0:
        reason = f"{name}官方微博"
    province, city = _PLACES[draw % len(_PLACES)]
    return WeiboUser(
        id=uid,
        screen_name=name,
        followers=followers,
        verified=author["verified"],
        verified_type=verified_type,
        verified_reason=reason,
        description=_DESCRIPTIONS[(draw >> 8) % len(_DESCRIPTIONS)],
        location=f"{province} {city}",
        gender="f" if (draw >> 4) % 2 else "m",
        statuses_count=20 + (draw >> 12) % 3000 + min(followers // 200, 30_000),
        follow_count=10 + (draw >> 16) % 600,
    )


def _region(user: WeiboUser, mid: str) -> str | None:
    if stable_hash("region", mid) % 8 == 0:  # older posts and some clients carry no IP region
        return None
    province, _, city = user.location.partition(" ")
    return "发布于 " + (city if province == "海外" else province)


def _pics(mid: str) -> int:
    draw = stable_hash("pics", mid) % 100
    return 0 if draw < 55 else 1 + draw % 9


# --------------------------------------------------------------------------------------- planted texts

# Near misses for Weibo's fuzzy search (启航汽车/启航Q7 → 启航, 星河手机 → 星河, 快马外卖 → 快马, 茶小满 → 茶小):
# the search returns them, no watchlist query matches them.
_FUZZY_NOISE = (
    "新学期扬帆启航，图书馆的位置终于抢到了！",
    "今晚郊外的星河好美，银河看得清清楚楚。",
    "年底冲业绩，全组快马加鞭赶方案。",
    "周末在阳台喝茶小憩，听了一下午的雨。",
    "毕业快乐！愿大家前程似锦，从这里再次启航。",
    "社区合唱团的启航音乐会办得很热闹，阿姨们第一次登台。",
)
# The bought-follower account's promotions: {b} a brand name, {p} one of its products.
_PROMOTIONS = (
    "【好物推荐】{p}真的闭眼入，{b}这波福利太香了！转发+关注，抽一位送同款～",
    "{b}新活动来了，{p}限时优惠，私信我领券，手慢无！",
    "亲测{b}的{p}，好用到想告诉全世界！转评赞抽三位宝子～",
)
_BOUGHT_ACCOUNT_NAME = "好物种草研究所"

# Hot comments by the post's sentiment (invented short phrases; an emoticon is added to some).
_COMMENT_PHRASES = {
    "negative": (
        "太离谱了",
        "同样遇到过，投诉无门",
        "希望早点给个说法",
        "避雷了，谢谢提醒",
        "看得我血压都上来了",
        "官方出来回应一下吧",
        "这也太吓人了吧",
        "支持博主维权",
        "心疼，抱抱",
        "已经在退订的路上了",
    ),
    "neutral": (
        "蹲一个后续",
        "坐等官方回应",
        "有没有懂行的说说",
        "先收藏了",
        "路过看看",
        "评论区好热闹",
        "mark一下",
        "等一个测评",
        "真的假的？",
    ),
    "positive": (
        "同款，真的好用",
        "已经下单了",
        "羡慕了",
        "种草了",
        "好评！",
        "说得太对了",
        "确实不错",
        "我也想要",
        "支持支持",
    ),
}
_COMMENT_EMOTICONS = {
    "negative": ("[怒]", "[允悲]", "[伤心]", "[汗]"),
    "neutral": ("[doge]", "[吃瓜]", "[思考]", "[二哈]"),
    "positive": ("[赞]", "[心]", "[哈哈]", "[good]"),
}
_AUTHOR_REPLIES = ("感谢关注[心]", "已私信，请留意", "谢谢支持！", "收到，我们会跟进")


# -------------------------------------------------------------------------------------------- building


def build_scenario(
    posts: int = 3000,
    *,
    seed: int = 7,
    days: float = 3,
    hold_back: timedelta = timedelta(0),
    now: datetime | None = None,
) -> Scenario:
    """Build the world from ``posts`` synthetic mentions (all platforms; about 80% are Weibo) over ``days`` up to
    ``now`` (default: the current time). Posts of the last ``hold_back`` are hidden until :meth:`Scenario.advance`.
    """
    now = (now or datetime.now(BEIJING)).astimezone(BEIJING).replace(microsecond=0)
    # generate_mentions is annotated `days: int` but only ever builds timedeltas from it: fractions work.
    mentions = list(generate_mentions(posts, seed=seed, end=now, days=cast(int, days), analysed=True))
    return _Builder(seed, now, days).build(mentions, now - hold_back)


class _Builder:
    def __init__(self, seed: int, now: datetime, days: float) -> None:
        self.rng = random.Random(f"sandbox-weibo-{seed}")
        self.now = now
        self.incident_since = now - timedelta(days=min(4.0, days / 2))  # the generator's incident window
        self.users: dict[str, WeiboUser] = {}
        self.labels: dict[str, str] = {}  # mid -> sentiment label, for comments

    def build(self, mentions: list[dict], visible_until: datetime) -> Scenario:
        weibo = [m for m in mentions if m["platform"] == "weibo"]
        # Other platforms' mentions lend their ids and times to the planted posts, so mids keep growing with time.
        slots = [m for m in mentions if m["platform"] != "weibo"]
        roots = _root_ids(weibo)
        deleted_roots = self._pick_deleted_roots(weibo, roots)
        by_id: dict[str, WeiboPost] = {}
        incident: set[str] = set()
        for mention in weibo:
            post = self._post(mention, by_id, roots.get(mention["id"]), deleted_roots)
            by_id[mention["id"]] = post
            if self._is_incident(post, mention):
                incident.add(post.mid)
        planted_slots = slots[:: max(1, len(slots) // 12)][:12]
        noise = self._fuzzy_noise(planted_slots[0::2])
        bought_uid, promotions = self._bought_account(planted_slots[1::2])
        deleted_mids = {by_id[mention_id].mid for mention_id in deleted_roots}
        served = [post for post in by_id.values() if post.mid not in deleted_mids] + noise + promotions
        served.sort(key=lambda post: int(post.mid), reverse=True)
        return Scenario(
            now=self.now,
            posts=tuple(served),
            users=self.users,
            comments=self._comments(served),
            visible_until=visible_until,
            big_accounts=frozenset(
                uid for uid, user in self.users.items() if user.followers >= BIG_ACCOUNT_FOLLOWERS and uid != bought_uid
            ),
            wave_mids=_wave(weibo),
            incident_mids=frozenset(incident),
            bought_follower_uid=bought_uid,
            fuzzy_noise_mids=frozenset(post.mid for post in noise),
            deleted_root_mids=frozenset(deleted_mids),
        )

    def _user(self, author: dict) -> WeiboUser:
        uid = author["id"].removeprefix("weibo:")
        user = self.users.get(uid)
        if user is None:
            user = self.users[uid] = _user_from_author(author)
        return user

    def _post(self, mention: dict, by_id: dict[str, WeiboPost], root_id: str | None, deleted: set[str]) -> WeiboPost:
        user = self._user(mention["author"])
        mid = mention["id"].removeprefix("weibo:")
        text = mention["text"]
        root = by_id[root_id] if root_id else None
        if root is not None:
            quoted = f"//@{root.user.screen_name}:{root.text}"
            assert text.endswith(quoted), f"repost {mid} does not end with its root's hop"
            text = text[: -len(quoted)]
        self.labels[mid] = mention["sentiment"]["label"]
        metrics = mention["metrics"]
        return WeiboPost(
            mid=mid,
            bid=mid_to_bid(mid),
            user=user,
            text=text,
            created_at=datetime.fromisoformat(mention["created_at"]),
            reposts=metrics["reposts"],
            comments=metrics["comments"],
            likes=metrics["likes"],
            region=_region(user, mid),
            pics=_pics(mid),
            retweeted=root,
            retweeted_deleted=root_id in deleted,
        )

    def _is_incident(self, post: WeiboPost, mention: dict) -> bool:
        return (
            post.created_at >= self.incident_since
            and _INCIDENT_BRAND in mention["brands"]
            and mention["sentiment"]["label"] == "negative"
            and "刹车" in mention["text"]
        )

    def _pick_deleted_roots(self, weibo: list[dict], roots: dict[str, str]) -> set[str]:
        """A few reposted everyday posts (by small accounts) that their authors later deleted."""
        reposted = set(roots.values())
        candidates = [
            m["id"]
            for m in weibo
            if m["id"] in reposted and m["author"]["followers"] < 10_000 and "刹车" not in m["text"]
        ]
        return set(self.rng.sample(candidates, min(len(candidates), max(2, len(candidates) // 20))))

    def _planted_post(
        self, slot: dict, user: WeiboUser, text: str, label: str, metrics: tuple[int, int, int]
    ) -> WeiboPost:
        key = slot["id"].split(":", 1)[1]
        mid = str(int(key, 16) if slot["platform"] == "xiaohongshu" else int(key))
        self.labels[mid] = label
        reposts, comments, likes = metrics
        return WeiboPost(
            mid=mid,
            bid=mid_to_bid(mid),
            user=user,
            text=text,
            created_at=datetime.fromisoformat(slot["created_at"]),
            reposts=reposts,
            comments=comments,
            likes=likes,
            region=_region(user, mid),
            pics=_pics(mid),
        )

    def _fuzzy_noise(self, slots: list[dict]) -> list[WeiboPost]:
        small = [user for user in self.users.values() if 100 <= user.followers < 10_000]
        rng = self.rng
        return [
            self._planted_post(
                slot, rng.choice(small), text, "neutral", (rng.randint(0, 2), rng.randint(0, 4), rng.randint(0, 30))
            )
            for slot, text in zip(slots, _FUZZY_NOISE, strict=False)
        ]

    def _bought_account(self, slots: list[dict]) -> tuple[str, list[WeiboPost]]:
        uid = str(self.rng.randint(7_000_000_000, 7_999_999_999))
        while uid in self.users:
            uid = str(int(uid) + 1)
        user = self.users[uid] = WeiboUser(
            id=uid,
            screen_name=_BOUGHT_ACCOUNT_NAME,
            followers=BOUGHT_FOLLOWERS,
            verified=True,
            verified_type=0,
            verified_reason="好物分享博主",
            description="每天分享好物，商务合作请私信",
            location="广东 广州",
            gender="f",
            statuses_count=12_480,
            follow_count=1_650,
        )
        posts = []
        for index, slot in enumerate(slots):
            brand = BRANDS[index % len(BRANDS)]
            text = _PROMOTIONS[index % len(_PROMOTIONS)].format(b=brand.name, p=brand.products[0])
            posts.append(self._planted_post(slot, user, text, "positive", (0, 0, self.rng.randint(0, 2))))
        return uid, posts

    # -- comments

    def _comments(self, posts: list[WeiboPost]) -> dict[str, tuple[WeiboComment, ...]]:
        """Hot comments, hottest first; ids grow with time across the whole scenario, like real ones."""
        rng = self.rng
        commenters = [user for user in self.users.values() if user.followers < 100_000]
        drafts: list[_Draft] = []
        for post in reversed(posts):  # oldest first: the draw order stays fixed however posts are sorted
            count = min(post.comments, MAX_HOT_COMMENTS)
            if not count:
                continue
            label = self.labels[post.mid]
            likes = max(1, int(post.likes * (0.02 + 0.08 * rng.random())))
            for rank in range(count):
                user = commenters[int(len(commenters) * rng.random() ** 2)]  # a few regulars comment a lot
                delay = timedelta(seconds=int(30 + rng.expovariate(1 / 5400)))
                draft = _Draft(post, user, _comment_text(rng, label), min(post.created_at + delay, self.now), likes)
                drafts.append(draft)
                if rank == 0 and post.user.verified and count >= 3:  # the author answers the top comment
                    draft.liked_by_author = True
                    reply_at = min(draft.created_at + timedelta(minutes=rng.randint(1, 90)), self.now)
                    drafts.append(_Draft(post, post.user, rng.choice(_AUTHOR_REPLIES), reply_at, 0, parent=draft))
                likes = int(likes * (0.5 + 0.45 * rng.random()))
        return _assemble_comments(drafts)


@dataclass(eq=False)
class _Draft:
    post: WeiboPost
    user: WeiboUser
    text: str
    created_at: datetime
    likes: int
    parent: _Draft | None = None
    liked_by_author: bool = False
    id: str = ""


def _comment_text(rng: random.Random, label: str) -> str:
    text = rng.choice(_COMMENT_PHRASES[label])
    return text + rng.choice(_COMMENT_EMOTICONS[label]) if rng.random() < 0.3 else text


def _assemble_comments(drafts: list[_Draft]) -> dict[str, tuple[WeiboComment, ...]]:
    ordered = sorted(drafts, key=lambda draft: draft.created_at)  # stable: equal times keep their draw order
    for index, draft in enumerate(ordered):
        draft.id = str(_COMMENT_ID_BASE + index * 1000 + stable_hash("comment", draft.post.mid, index) % 1000)
    replies: dict[_Draft, list[WeiboComment]] = defaultdict(list)  # drafts hash by identity
    floors: dict[str, int] = defaultdict(int)
    by_post: dict[str, list[WeiboComment]] = defaultdict(list)
    for draft in ordered:
        if draft.parent is not None:
            replies[draft.parent].append(_comment(draft, floor=0))
    for draft in ordered:
        if draft.parent is None:
            floors[draft.post.mid] += 1
            comment = _comment(draft, floor=floors[draft.post.mid], replies=tuple(replies[draft]))
            by_post[draft.post.mid].append(comment)
    return {
        mid: tuple(sorted(comments, key=lambda comment: (-comment.likes, comment.created_at)))
        for mid, comments in by_post.items()
    }


def _comment(draft: _Draft, *, floor: int, replies: tuple[WeiboComment, ...] = ()) -> WeiboComment:
    return WeiboComment(
        id=draft.id,
        mid=draft.post.mid,
        user=draft.user,
        text=draft.text,
        created_at=draft.created_at,
        likes=draft.likes,
        floor=floor,
        liked_by_author=draft.liked_by_author,
        replies=replies,
    )


# ----------------------------------------------------------------------------------------- mention sets


def _root_ids(weibo: list[dict]) -> dict[str, str]:
    """Repost mention id -> the id of its chain's root original (parents always come earlier)."""
    roots: dict[str, str] = {}
    for mention in weibo:
        parent = mention.get("parent_id")
        if parent:
            roots[mention["id"]] = roots.get(parent, parent)
    return roots


def _wave(weibo: list[dict]) -> frozenset[str]:
    """The 水军 wave: the biggest group of originals with one text fingerprint, all posted within an hour."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for mention in weibo:
        if "parent_id" not in mention:
            groups[mention["simhash"]].append(mention)
    bursts = [
        group
        for group in groups.values()
        if len(group) >= 5
        and datetime.fromisoformat(group[-1]["created_at"]) - datetime.fromisoformat(group[0]["created_at"])
        < timedelta(hours=1)
    ]
    if not bursts:
        return frozenset()
    return frozenset(m["id"].removeprefix("weibo:") for m in max(bursts, key=len))
