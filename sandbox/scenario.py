"""The synthetic Weibo world the sandbox serves: users, posts, hot comments and the facts planted in them.

Everything is invented for this project (DESIGN 5), built on :func:`fengxiang.synthetic.generate_mentions`: its
Weibo mentions become posts, their authors become users, and each ``//@name:text`` repost gets the chain's ROOT
as ``retweeted`` (real Weibo's ``retweeted_status`` is the root too). On top of that the builder invents hot
comments and plants a few things tests look for: reposts whose root was deleted, posts that Weibo's fuzzy search
returns but the watchlist rejects, an account with bought followers whose posts nobody engages with, and one
influencer per brand (KOL, 意见领袖) whose posts small accounts repost, some through another reposter.

A visibility clock lets a test crawl, move time on, and crawl again: only posts created by ``visible_until`` are
served, and :meth:`Scenario.advance` moves it towards ``now``.
"""

from __future__ import annotations

import bisect
import itertools
import random
import threading
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

from fengxiang.synthetic import BEIJING, BRANDS, demo_watchlist, generate_mentions
from sandbox.clock import NewestFirst, VisibilityClock

__all__ = [
    "BIG_ACCOUNT_FOLLOWERS",
    "LONG_TEXT_CHARS",
    "Scenario",
    "SearchOrder",
    "WeiboComment",
    "WeiboPost",
    "WeiboUser",
    "build_live_scenario",
    "build_scenario",
    "format_wan",
    "live_clock",
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
_KOL_REPOSTS = (8, 20)  # distinct small accounts reposting each influencer post, as slots allow
_KOL_REPOST_WINDOW = timedelta(hours=6)  # …within this after the post
_KOL_SECOND_HOP_SHARE = 0.25  # reposts that went through an earlier reposter
_SLOTS_PER_KOL_POST = 20  # a post and its reposts: fewer free slots, fewer posts per influencer (at least 3)


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


class Scenario(VisibilityClock):
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
        kol_uids: dict[str, str],
    ) -> None:
        super().__init__(now, visible_until)
        self._timeline = NewestFirst(posts, lambda post: post.created_at)
        self.posts = self._timeline.items
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
        self.kol_uids = kol_uids  # brand -> its influencer: < BIG_ACCOUNT_FOLLOWERS, reposted by many small accounts
        self._by_mid = {post.mid: post for post in posts}
        self._cache_lock = threading.Lock()
        # Search runs on every page request: lower-cased texts are computed once.
        self._haystacks = [post.full_text.lower() for post in self.posts]
        self._matches: dict[str, list[int]] = {}
        self._results: dict[tuple[str, str, datetime], tuple[WeiboPost, ...]] = {}

    # -- what the replica serves

    def visible_posts(self) -> tuple[WeiboPost, ...]:
        return self._timeline.visible(self.visible_until)

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
        start = self._timeline.first_visible(until)
        indexes = self._matching(q)
        found = [self.posts[i] for i in indexes[bisect.bisect_left(indexes, start) :]]
        if order == "hot":
            found.sort(key=lambda post: (post.engagement, int(post.mid)), reverse=True)
        result = tuple(found)
        with self._cache_lock:
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
            with self._cache_lock:
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
                "kol_uids": self.kol_uids,
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


@dataclass(frozen=True, slots=True)
class _Influencer:
    """A planted KOL: a personal verified account of modest size whose posts about one brand get reposted."""

    name: str  # names no brand and no exclusion term, so no watchlist query matches it alone
    followers: int  # below BIG_ACCOUNT_FOLLOWERS: the rank has to come from influence, not size
    reason: str
    description: str
    location: str
    gender: str
    posts: tuple[tuple[str, str], ...]  # (sentiment label, text naming the brand), posted in this order
    echoes: tuple[str, ...]  # what reposters write above the post


_FAN_ECHOES = ("说得太对了", "码住", "种草了", "同款，确实好用", "转给需要的朋友", "收藏了", "已下单", "冲了冲了")
_FAIR_ECHOES = ("说得很客观", "码住", "学到了", "有用，先收藏", "转给朋友参考", "mark一下", "讲得很中肯")
_CRITIC_ECHOES = (
    "说得太对了，售后真的拉胯",
    "同款遭遇，已经投诉了",
    "码住，提车前再看看",
    "希望官方正视一下",
    "支持博主发声",
)

# Brand name -> its influencer. The 启航汽车 one is the critic; braking stays out of its posts, as the incident
# (incident_mids) is the generator's own.
_INFLUENCERS = {
    "启航汽车": _Influencer(
        name="老周聊车",
        followers=268_000,
        reason="汽车博主",
        description="十五年老司机，自费试车，只说真话不恰饭",
        location="浙江 杭州",
        gender="m",
        posts=(
            (
                "negative",
                "提车第三个月，启航汽车的售后让我彻底失望：一个门把手配件等了四十天，4S店只会说总部没货。车再好开，服务跟不上也白搭。",
            ),
            (
                "negative",
                "第二次回店处理异响了。启航汽车的师傅把中控台拆了又装，开出去两公里照响不误，最后一句“属于正常现象”就把我打发了，太敷衍。",
            ),
            (
                "negative",
                "实测一个冬天，启航Q9的续航只有标称的六成出头。打折可以理解，宣传页上印那么大的数字，启航汽车总该给车主一个交代吧？",
            ),
            (
                "neutral",
                "有粉丝问还推不推荐启航汽车。实话实说：底盘和空间在这个价位能打，但售后网点少、响应慢，买之前先查查你所在城市有没有服务中心。",
            ),
            (
                "negative",
                "车机又卡死了，导航开到一半黑屏重启。启航汽车的OTA推了三次一次比一次离谱，客服电话排队四十分钟，最后只给了个工单号，失望透顶。",
            ),
            (
                "negative",
                "后台收到的启航汽车车主投诉越来越多了：配件等太久、异响修不好、车机卡顿，真的让人寒心。汇总已发给官方，希望别再敷衍了。",
            ),
        ),
        echoes=_CRITIC_ECHOES,
    ),
    "星河手机": _Influencer(
        name="阿柏的数码桌",
        followers=342_000,
        reason="数码博主",
        description="手机｜相机｜桌搭，设备均为自购，体验说话",
        location="广东 深圳",
        gender="m",
        posts=(
            (
                "positive",
                "用星河X5 Pro一个月，续航最惊喜：刷视频加导航，晚上十点还剩三成电，星河手机这代影像也进步很大！",
            ),
            (
                "positive",
                "星河手机这次的系统更新诚意满满：后台保活终于靠谱了，相机启动快了一截，老机型也一起推送，给工程师们点个赞[赞]",
            ),
            (
                "positive",
                "出差一周只带了星河Note 12，记笔记、修图、打游戏都流畅，星河手机的大屏手感是我用过最舒服的，强烈推荐！",
            ),
            ("positive", "夜景样张来了，全部星河X5直出。星河手机的夜景算法真的稳，暗部干净、色彩通透，太喜欢了！"),
            (
                "neutral",
                "很多人问星河手机怎么选：预算三千以内看星河X5，拍照多的上Pro，追求极致游戏性能的可以等等下半年的新品。",
            ),
            ("positive", "星河手机的售后体验很棒：在线预约换屏，第二天上门取件，三天就寄回来了，省心又专业，点赞！"),
        ),
        echoes=_FAN_ECHOES,
    ),
    "茶小满": _Influencer(
        name="南瓜探店日记",
        followers=197_000,
        reason="美食博主",
        description="成都探店｜奶茶咖啡重度爱好者，每周更新",
        location="四川 成都",
        gender="f",
        posts=(
            ("positive", "成都新开的茶小满排了二十分钟，杨梅满杯果肉是真的满，酸甜刚好，冰也不多，这个价格很良心！"),
            ("positive", "本周探店合集：茶小满的芝士葡萄冰依旧是我心里的第一名，奶盖咸香不腻，葡萄都是现剥的[心]"),
            ("positive", "夏天的续命水找到了！茶小满手打柠檬茶，香水柠檬捶得很足，少糖也一点不涩，好喝到连买三天。"),
            ("neutral", "茶小满出秋冬新品了，小满轻乳茶换了新茶底，喝着比之前清爽一些，你们喝过了吗？评论区聊聊。"),
            ("positive", "给茶小满的店员小姐姐点赞：下雨天外卖送晚了，主动打电话道歉还送了一张券，这服务真暖心。"),
            ("positive", "盘点这个月喝过的奶茶，复购最多的还是茶小满，出杯稳定、用料实在，每一杯都好喝，推荐！"),
        ),
        echoes=_FAN_ECHOES,
    ),
    "澜颜": _Influencer(
        name="成分党小麦",
        followers=415_000,
        reason="美妆博主",
        description="干敏皮｜只看成分不看广告｜测评产品均自费",
        location="上海 浦东新区",
        gender="f",
        posts=(
            ("positive", "空瓶记录：澜颜小蓝瓶用完第三瓶了，换季用它皮肤稳稳的，温和好用，会继续回购[心]"),
            (
                "neutral",
                "拆一下澜颜修护精华水的成分表：主打神经酰胺和泛醇，浓度中规中矩，适合屏障受损期打底，别指望它美白。",
            ),
            ("negative", "澜颜水光面霜我只能说不适合油皮，用了一周闷出好几颗闭口，质地偏厚，夏天慎入，有点踩雷。"),
            ("positive", "澜颜防晒乳实测：成膜快、清爽服帖，通勤完全够用，整体很推荐，已经回购第二支了。"),
            (
                "neutral",
                "粉丝问澜颜值不值得买：敏感肌、屏障差的可以试试小蓝瓶；追求美白抗老功效的看看别的，按需选择就好。",
            ),
            ("positive", "澜颜这次出的旅行套装太贴心了，出差带着很方便，分量也足，这个设计必须夸一下[赞]"),
        ),
        echoes=_FAIR_ECHOES,
    ),
    "快马外卖": _Influencer(
        name="饭点研究员",
        followers=163_000,
        reason="生活博主",
        description="外卖、便利店和打工人的一日三餐，省钱攻略不定期更新",
        location="北京 朝阳区",
        gender="m",
        posts=(
            ("positive", "快马外卖的准时宝真心好用：晚到了自动赔券，不用找客服，省心又厚道，给个好评[赞]"),
            (
                "neutral",
                "打工人午饭实测：快马外卖晚高峰平均要等四十分钟，中午反而挺快。想准时吃上饭的，建议十一点半前下单。",
            ),
            ("negative", "今天快马外卖的骑手把我的汤洒了一半，申请售后被系统自动驳回，转人工又等了半小时，体验很差。"),
            ("positive", "快马外卖的会员续了第二年，一个月能省七八十，常点外卖的朋友算算账，真的划算，推荐！"),
            ("positive", "夸一下快马外卖的跑腿服务：四十分钟就把钥匙送到家，骑手大哥细心又热情，太贴心了[心]"),
            ("neutral", "整理了快马外卖的几个省钱用法：会员券叠加店铺满减、准时宝别关、夜间跑腿有加价。收藏备用。"),
        ),
        echoes=_FAIR_ECHOES,
    ),
}


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


def platform_mentions(
    platform: str, posts: int, *, seed: int, days: float, now: datetime | None
) -> tuple[datetime, list[dict]]:
    """The world's clock and its ``platform`` mentions, oldest first: what the non-Weibo replicas are built
    from, with the same arguments as :func:`build_scenario`, so every replica serves one synthetic world."""
    now = (now or datetime.now(BEIJING)).astimezone(BEIJING).replace(microsecond=0)
    generated = generate_mentions(posts, seed=seed, end=now, days=cast(int, days), analysed=False)
    mentions = [mention for mention in generated if mention["platform"] == platform]
    mentions.sort(key=lambda mention: mention["created_at"])  # platform ids grow with time
    return now, mentions


def live_clock(days: float, incident_age: timedelta = timedelta(hours=3)) -> tuple[datetime, timedelta]:
    """``(now, hold_back)`` for a world whose incident broke ``incident_age`` ago by the real clock, so a service
    evaluating its alert rules *now* (the demo, the service's end-to-end test) meets it live. The generator puts
    the incident ``min(4, days/2)`` days before the end of its range: the world ends that much ahead, and what lies
    after the real now is held back (never advance such a clock: it would serve posts from the future). Pass both
    to :func:`build_scenario` and :func:`sandbox.bilibili.build_bilibili` alike, so they serve one world.
    """
    ahead = timedelta(days=min(4.0, days / 2)) - incident_age
    return datetime.now(BEIJING) + ahead, ahead


def build_live_scenario(posts: int = 3000, *, days: float = 8, seed: int = 7) -> Scenario:
    """The Weibo world of :func:`live_clock`: its incident broke three hours ago."""
    now, hold_back = live_clock(days)
    return build_scenario(posts, seed=seed, days=days, now=now, hold_back=hold_back)


class _Builder:
    def __init__(self, seed: int, now: datetime, days: float) -> None:
        self.rng = random.Random(f"sandbox-weibo-{seed}")
        self.kol_rng = random.Random(f"sandbox-kol-{seed}")  # its own draws: planting KOLs changes nothing else
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
        served = _newest_first([post for post in by_id.values() if post.mid not in deleted_mids] + noise + promotions)
        wave_mids = _wave(weibo)
        bots = {post.user.id for post in served if post.mid in wave_mids}
        reposters = [user for user in self.users.values() if user.followers < 10_000 and user.id not in bots]
        taken = {slot["id"] for slot in planted_slots}
        free = _Slots([slot for slot in slots if slot["id"] not in taken])
        kol_uids, kol_posts = self._influencers(free, reposters)
        kol_posts = _newest_first(kol_posts)
        # The other posts draw their comments as before; the influencers' posts draw from the KOL generator.
        drafts = self._comment_drafts(served, self.rng) + self._comment_drafts(kol_posts, self.kol_rng)
        return Scenario(
            now=self.now,
            posts=tuple(_newest_first(served + kol_posts)),
            users=self.users,
            comments=_assemble_comments(drafts),
            visible_until=visible_until,
            big_accounts=frozenset(
                uid for uid, user in self.users.items() if user.followers >= BIG_ACCOUNT_FOLLOWERS and uid != bought_uid
            ),
            wave_mids=wave_mids,
            incident_mids=frozenset(incident),
            bought_follower_uid=bought_uid,
            fuzzy_noise_mids=frozenset(post.mid for post in noise),
            deleted_root_mids=frozenset(deleted_mids),
            kol_uids=kol_uids,
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
        self,
        slot: dict,
        user: WeiboUser,
        text: str,
        label: str,
        metrics: tuple[int, int, int],
        retweeted: WeiboPost | None = None,
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
            retweeted=retweeted,
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

    def _unused_uid(self, rng: random.Random) -> str:
        uid = str(rng.randint(7_000_000_000, 7_999_999_999))
        while uid in self.users:
            uid = str(int(uid) + 1)
        return uid

    def _bought_account(self, slots: list[dict]) -> tuple[str, list[WeiboPost]]:
        uid = self._unused_uid(self.rng)
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

    # -- influencers

    def _influencers(self, free: _Slots, reposters: list[WeiboUser]) -> tuple[dict[str, str], list[WeiboPost]]:
        """One influencer per brand, posting about it over the whole time range; small accounts repost each post."""
        per_author = min(
            min(len(influencer.posts) for influencer in _INFLUENCERS.values()),
            max(3, len(free) // (len(BRANDS) * _SLOTS_PER_KOL_POST)),
            len(free) // len(BRANDS),
        )
        users = {brand.name: self._influencer_user(_INFLUENCERS[brand.name]) for brand in BRANDS}
        # Roots first, brands interleaved along the timeline; then each root's reposts take the slots after it.
        roots = []
        for number, (step, brand) in enumerate(itertools.product(range(per_author), BRANDS)):
            slot = free.take_along(number / (per_author * len(BRANDS)), _KOL_REPOST_WINDOW)
            if slot is not None:
                roots.append((slot, users[brand.name], _INFLUENCERS[brand.name], step))
        roots.sort(key=lambda root: root[0]["created_at"])
        posts: list[WeiboPost] = []
        for still_to_come, (slot, user, influencer, step) in zip(range(len(roots), 0, -1), roots, strict=True):
            created = datetime.fromisoformat(slot["created_at"])
            # When slots are few, each post gets its fair share rather than the first ones getting them all.
            wanted = min(self.kol_rng.randint(*_KOL_REPOSTS), free.left_after(created) // still_to_come)
            repost_slots = free.take_after(created, created + _KOL_REPOST_WINDOW, wanted)
            posts += self._kol_post(slot, user, influencer.posts[step], influencer.echoes, repost_slots, reposters)
        return {brand: user.id for brand, user in users.items()}, posts

    def _influencer_user(self, influencer: _Influencer) -> WeiboUser:
        uid = self._unused_uid(self.kol_rng)
        draw = stable_hash("user", uid)
        self.users[uid] = user = WeiboUser(
            id=uid,
            screen_name=influencer.name,
            followers=influencer.followers,
            verified=True,
            verified_type=0,
            verified_reason=influencer.reason,
            description=influencer.description,
            location=influencer.location,
            gender=influencer.gender,
            statuses_count=2_000 + draw % 6_000,
            follow_count=150 + (draw >> 16) % 600,
        )
        return user

    def _kol_post(
        self,
        slot: dict,
        user: WeiboUser,
        post: tuple[str, str],
        echoes: tuple[str, ...],
        repost_slots: list[dict],
        pool: list[WeiboUser],
    ) -> list[WeiboPost]:
        """An influencer's post and its reposts by distinct accounts of ``pool``. A second hop reposts an earlier
        reposter: Weibo keeps the root as retweeted_status and writes the middle hop into the text."""
        rng = self.kol_rng
        label, text = post
        reposters = rng.sample(pool, min(len(repost_slots), len(pool)))
        vias: list[int | None] = []  # the earlier first-hop repost each repost went through, if any
        for index in range(len(reposters)):
            first_hops = [earlier for earlier in range(index) if vias[earlier] is None]
            vias.append(rng.choice(first_hops) if first_hops and rng.random() < _KOL_SECOND_HOP_SHARE else None)
        metrics = (len(reposters) + rng.randint(10, 120), rng.randint(100, 600), rng.randint(800, 4000))
        root = self._planted_post(slot, user, text, label, metrics)
        reposts: list[WeiboPost] = []
        for repost_slot, reposter, via in zip(repost_slots, reposters, vias, strict=False):
            own = rng.choice(echoes)
            if via is not None:
                own += f"//@{reposts[via].user.screen_name}:{reposts[via].text}"
            metrics = (vias.count(len(reposts)), rng.randint(0, 1), rng.randint(0, 3))
            reposts.append(self._planted_post(repost_slot, reposter, own, label, metrics, retweeted=root))
        return [root, *reposts]

    # -- comments

    def _comment_drafts(self, posts: list[WeiboPost], rng: random.Random) -> list[_Draft]:
        """Hot comments of ``posts`` (newest first) to be assembled; drawn post by post, oldest first."""
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
        return drafts


def _newest_first(posts: list[WeiboPost]) -> list[WeiboPost]:
    return sorted(posts, key=lambda post: int(post.mid), reverse=True)


class _Slots:
    """Non-Weibo mentions (oldest first) not yet lent to a planted post: each lends its id and time once."""

    def __init__(self, slots: list[dict]) -> None:
        self._slots = slots
        self._times = [datetime.fromisoformat(slot["created_at"]) for slot in slots]
        self._free = [True] * len(slots)

    def __len__(self) -> int:
        return len(self._slots)

    def left_after(self, when: datetime) -> int:
        return sum(self._free[bisect.bisect_right(self._times, when) :])

    def take_along(self, fraction: float, tail: timedelta) -> dict | None:
        """The first free slot from ``fraction`` of the way through the slots before the last ``tail``. Counted in
        slots, not hours: slots follow the generator's daily rhythm, so a post lands when people are about."""
        if not self._slots:
            return None
        before_tail = bisect.bisect_right(self._times, self._times[-1] - tail)
        found = self._take(int(fraction * max(before_tail, 1)), self._times[-1], 1)
        return found[0] if found else None

    def take_after(self, when: datetime, until: datetime, count: int) -> list[dict]:
        """Up to ``count`` free slots after ``when`` and no later than ``until``, earliest first."""
        return self._take(bisect.bisect_right(self._times, when), until, count)

    def _take(self, start: int, until: datetime, count: int) -> list[dict]:
        taken: list[dict] = []
        for index in range(start, len(self._slots)):
            if len(taken) == count or self._times[index] > until:
                break
            if self._free[index]:
                self._free[index] = False
                taken.append(self._slots[index])
        return taken


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
    """Hot comments, hottest first; ids grow with time across the whole scenario, like real ones."""
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
