"""Deterministic synthetic Weibo-style mentions for benchmarks, ``fengxiang demo`` and tests.

Everything here is invented for this project (DESIGN 5: sample posts are never copied from real
users): the five brands, their products, the people and every sentence. The mix is shaped like real
舆情 data — one big brand and a long tail, a daily rhythm, an incident burst of negative posts, a
copy-paste 水军 wave, 大V posts, ``//@name:`` repost chains — so detectors and dashboards have
something realistic to find.

Speed matters (benchmarks generate a million mentions), so all string work happens up front:
post bodies, authors and time slots are pooled once per call, and each mention is assembled from a
few cheap ``random.random()`` draws and string concatenations. The analysis fields (``brands``,
``keywords``, ``simhash``) are computed per pooled piece from the real text, with the same folding
and term rules as the watchlist matcher, so ``brands`` always agrees with :func:`demo_watchlist`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import orjson

from fengxiang.textmatch import fold, is_word_char

__all__ = ["BRANDS", "BrandProfile", "demo_watchlist", "generate_mentions", "write_jsonl"]

_T = TypeVar("_T")

BEIJING = timezone(timedelta(hours=8))
MAX_TEXT = 300
CHATTER_SHARE = 0.15  # mentions that name no brand
MIN_TEXT = 20

NEG, NEU, POS = 0, 1, 2
LABELS = ("negative", "neutral", "positive")


# ------------------------------------------------------------------------------------------ brands


@dataclass(frozen=True)
class BrandProfile:
    """An invented brand: how people name it, what it sells, and how much it is talked about."""

    name: str
    latin: str  # the Latin alias people type, as in "QIHANG Q7"
    category: str  # selects the topic phrase bank: car, phone, tea, beauty, delivery
    aliases: tuple[str, ...]  # further watchlist terms besides name and latin
    products: tuple[str, ...]
    competitors: tuple[str, str]
    share: float  # share of all mentions (the rest is chatter)
    sentiment_mix: tuple[float, float, float]  # negative, neutral, positive
    price_range: tuple[int, int, int]  # low, high, step: prices quoted in posts
    exclude: tuple[str, ...] = ()  # NOT terms of the watchlist query

    @property
    def terms(self) -> tuple[str, ...]:
        return (self.name, self.latin, *self.aliases)

    @property
    def query(self) -> str:
        """The watchlist query in the project's query language."""
        any_term = " OR ".join(self.terms)
        if not self.exclude:
            return any_term
        excluded = self.exclude[0] if len(self.exclude) == 1 else f"({' OR '.join(self.exclude)})"
        return f"({any_term}) AND NOT {excluded}"


BRANDS: tuple[BrandProfile, ...] = (
    BrandProfile(
        name="启航汽车",
        latin="QIHANG",
        category="car",
        aliases=("启航Q7", "启航Q9", "启航S5"),
        products=("启航Q7", "启航Q7", "启航Q9", "启航S5", "QIHANG Q7"),
        competitors=("星河手机", "澜颜"),
        share=0.385,
        sentiment_mix=(0.24, 0.40, 0.36),
        price_range=(15, 36, 1),
        exclude=("招聘",),  # recruitment posts are noise to a PR team
    ),
    BrandProfile(
        name="星河手机",
        latin="Galaxa",
        category="phone",
        aliases=("星河X5", "星河Note"),
        products=("星河X5", "星河X5 Pro", "星河Note 12", "Galaxa X5"),
        competitors=("启航汽车", "快马外卖"),
        share=0.17,
        sentiment_mix=(0.22, 0.42, 0.36),
        price_range=(1999, 6999, 100),
    ),
    BrandProfile(
        name="茶小满",
        latin="MANTEA",
        category="tea",
        aliases=(),
        products=("杨梅满杯", "小满轻乳茶", "芝士葡萄冰", "手打柠檬茶"),
        competitors=("快马外卖", "澜颜"),
        share=0.13,
        sentiment_mix=(0.18, 0.32, 0.50),
        price_range=(12, 29, 1),
    ),
    BrandProfile(
        name="澜颜",
        latin="LANYAN",
        category="beauty",
        aliases=(),
        products=("澜颜小蓝瓶", "修护精华水", "水光面霜", "澜颜防晒乳"),
        competitors=("茶小满", "星河手机"),
        share=0.095,
        sentiment_mix=(0.26, 0.34, 0.40),
        price_range=(129, 699, 10),
    ),
    BrandProfile(
        name="快马外卖",
        latin="KUAIMA",
        category="delivery",
        aliases=(),
        products=("快马会员", "准时宝", "快马跑腿"),
        competitors=("茶小满", "启航汽车"),
        share=0.07,
        sentiment_mix=(0.38, 0.37, 0.25),
        price_range=(15, 46, 1),
    ),
)
BIG_BRAND = BRANDS[0]  # ~40% of the volume, and the one with the incident
INCIDENT_PRODUCT = "启航Q7"


def demo_watchlist() -> list[dict]:
    """Watchlist entries ({"name", "query"}) for the demo brands, in :data:`BRANDS` order."""
    return [{"name": brand.name, "query": brand.query} for brand in BRANDS]


# ------------------------------------------------------------------------------------- text banks


def _lines(block: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in block.strip().splitlines() if line.strip())


def _words(block: str) -> tuple[str, ...]:
    return tuple(block.split())


# Sentence templates per (category, topic, label). Slots: {b} brand name or Latin alias, {p} product,
# {c} competitor, {city}, {n} 2-9, {n2} 10-40, {km}, {price}, {m}/{d} a date, {h} an hour, {at} a user.
# A body opens with a template holding {b}, so the brand is named; the others are detail sentences.
_TOPIC_BANK: dict[str, dict[tuple[str, int], tuple[str, ...]]] = {
    "car": {
        ("quality", NEG): _lines("""
            {p}提车才{n}天，中控屏已经黑屏两次了，{b}的品控真让人失望。
            {b}的车机又卡死了，导航到一半直接重启，高速上差点错过出口。
            开{p}跑了{km}公里，底盘异响越来越明显，4S店说是正常现象？？
            雨天{p}的天窗漏水，座椅全湿了，{b}能不能重视一下品控。
            冬天续航直接打五折，{b}宣传的{km}公里纯属画饼。
            {p}的漆面薄得离谱，洗个车就掉一块漆。
            {b}的辅助驾驶在匝道口突然退出，连个提示音都没有，吓死人。
            新车味道大到头疼，{p}的内饰用料真的环保吗？
            车门密封条提车一个月就开胶了，这做工对得起这价格吗。
            OTA升级完能耗反而高了，越升越回去。
        """),
        ("quality", NEU): _lines("""
            {p}开了{n}个月，说说真实感受：优点是空间大，缺点是车机偶尔卡。
            {b}的智驾版和标准版差在哪？纠结中。
            有没有{p}车主说一下冬季续航到底能跑多少？
            {p}的胎噪在同级里算什么水平？
            说一下{b}的试驾感受：加速够用，悬挂偏软，座椅一般。
        """),
        ("quality", POS): _lines("""
            {p}开了{n}个月，续航很扎实，冬天也没掉太多，{b}这次是真用心了。
            {b}的智驾在高速上很稳，变道果断不犹豫，通勤轻松太多。
            {p}后排空间真的大，放两个儿童座椅完全没压力。
            {p}底盘调校比我想象的好，过减速带很柔和，家里老人不晕车了。
            提了{p}，内饰做工挑不出毛病，车机流畅，OTA也很勤快，{b}可以的。
            {b}的自动泊车一把进，侧方停车再也不用求人了。
            周末开{p}跑了趟自驾游，{km}公里一路没有续航焦虑。
        """),
        ("service", NEG): _lines("""
            {city}的{b}交付中心，约好的提车时间一拖再拖，销售电话也不接。
            售后维修排队{n}周，代步车也不给，{b}就这么对待车主？
            投诉了三次，{b}客服只会复制粘贴“已记录，会尽快处理”。
            {b}的销售试驾前说得天花乱坠，交了定金就找不到人了。
            保养一次被加了{n}个项目，{city}这家{b}门店太会做生意了。
        """),
        ("service", POS): _lines("""
            {b}的售后小哥很专业，上门取送车，全程不用我操心。
            {city}{b}门店的顾问很耐心，试驾完也没催着下定。
            半夜车子趴窝，{b}道路救援{n2}分钟就到了，必须表扬。
            {b}的车主群运营很用心，周末还组织了露营活动。
        """),
        ("price", NEG): _lines("""
            刚提{p}就官降{n}万，老车主一点补偿都没有，{b}太伤人了。
            选装包加起来快赶上半台车了？{b}这定价我是看不懂。
            {p}落地比宣传贵了快{n}万，各种服务费一大堆。
            {b}说好的终身免费充电，现在改成限时了？
        """),
        ("price", NEU): _lines("""
            {p}在{city}落地价大概多少？有车主方便说一下吗？
            听说{b}下个月要调价，现在入手还是再等等？
            {p}{price}万的售价，和同价位的车比怎么样？
        """),
        ("price", POS): _lines("""
            {p}{price}万这个配置，同级里真的很能打了。
            {b}这次限时权益给得够多，置换补贴加上免息，果断下定。
            算了一下{p}一年的用车成本，比油车省了快一万，{b}真香。
        """),
        ("delivery", NEG): _lines("""
            {p}交付时间从{n}周推到{n2}周，订金到底退不退？{b}给个准话。
            {b}交付的新车居然有划痕，验车的时候销售还想糊弄过去。
            等{p}等了{n2}周，提车当天发现少了个充电枪。
        """),
        ("delivery", NEU): _lines("""
            {b}现在下定{p}大概多久能交付？
        """),
        ("delivery", POS): _lines("""
            提车啦！从下定到交付只用了{n2}天，{b}效率可以。
            {b}的交付仪式好有仪式感，还送了一束花，全家都开心。
        """),
        ("launch", NEG): _lines("""
            {b}发布会就这？{p}除了换个大灯没啥升级。
            新款把老车主的功能做成了付费订阅，{b}吃相有点难看。
        """),
        ("launch", NEU): _lines("""
            {b}官宣{p}将于{m}月{d}日上市，#启航新车#
            据说{p}会首发新一代智驾芯片，坐等{b}发布会。
            {b}新车谍照曝光，车身尺寸比{p}长了一圈。
            {b}计划在{city}新建一座工厂，预计明年投产。
        """),
        ("launch", POS): _lines("""
            {b}发布会看完了，{p}这价格真的炸场！
            {p}的新配色太好看了，{b}设计师加鸡腿。
            {b}的新车机交互丝滑多了，这次升级诚意满满。
        """),
        ("crisis", NEG): _lines("""
            {city}一辆{p}在高架上刹车失灵连撞三车，{b}到现在都没个说法！
            {p}停在小区地库突然自燃，幸好车里没人，{b}必须公布调查结果。
            {b}车主集体维权：{p}底盘断轴已经有{n}起了，官方还说是个例。
            当初宣传的“电池永不自燃”呢？{b}这是虚假宣传吧。
            行车记录仪拍得清清楚楚，踩刹车没反应，{b}还说是驾驶员操作不当？
            我们车主群里已经有{n2}个人遇到刹车变软，{b}一直在冷处理。
            刹车踩下去没反应的那几秒，我真以为要交代在高速上了。
            {b}拒绝提供行车数据，车主维权太难了。
        """),
    },
    "phone": {
        ("quality", NEG): _lines("""
            {p}用了{n}个月电池就鼓包了，后盖都被顶起来了。
            {b}的系统更新后发热严重，打个视频电话都烫手。
            {p}拍照偏色很严重，夜景糊成一片，{b}的影像调校在干嘛？
            {p}在地铁里信号太差，刷个网页都转圈圈。
            {b}的指纹解锁十次有八次失败，冬天更是没法用。
            新买的{p}屏幕出现绿线，{b}说要寄回检测{n2}天。
        """),
        ("quality", NEU): _lines("""
            {b}新机和上一代比，提升主要在影像和续航，其他变化不大。
            {b}的系统广告多吗？想换机了解一下。
            {p}充电速度实测：{n2}分钟充到百分之八十，{b}这个水平怎么样？
        """),
        ("quality", POS): _lines("""
            {p}的影像是真的强，演唱会{n}倍变焦还能看清表情，{b}牛！
            {b}续航太顶了，重度使用一天半没问题。
            {p}的屏幕看久了眼睛不累，夜里刷剧很舒服。
            {b}的系统越来越流畅，用了{n}年都不卡。
            {p}的手感绝了，轻薄又不硌手。
        """),
        ("service", NEG): _lines("""
            {b}售后换个屏幕要等{n2}天，备用机也不给。
            官方旗舰店客服已读不回，{b}这服务真行。
            {b}保修期内主板坏了，售后非说是进水，要我自费{price}元。
        """),
        ("service", POS): _lines("""
            {b}售后效率好高，上午送修下午就拿到了。
            {b}的服务中心帮我免费贴了膜还清理了扬声器，好感度拉满。
        """),
        ("price", NEG): _lines("""
            {p}首发{price}元，一个月就降了{n}百，{b}又背刺首发党。
            {b}新机一年比一年贵，配置挤牙膏，价格倒是不挤。
        """),
        ("price", NEU): _lines("""
            {p}现在{price}元值得入手吗？还是等{b}双十一活动？
            {b}的以旧换新怎么算的？旧机能抵多少？
        """),
        ("price", POS): _lines("""
            {p}这个配置卖{price}元，{b}性价比无敌了。
            {b}教育优惠加以旧换新，到手价真香。
        """),
        ("delivery", NEG): _lines("""
            {b}官网下单{n}天了还没发货，客服只会说“耐心等待”。
            收到的{p}包装是拆过的，{b}不会发了翻新机吧？
        """),
        ("delivery", POS): _lines("""
            {b}官网下单第二天就到了，{p}开箱一切完美。
        """),
        ("launch", NEG): _lines("""
            {b}发布会PPT吹得天花乱坠，{p}实际跑分拉胯。
        """),
        ("launch", NEU): _lines("""
            {b}新机{p}官宣，{m}月{d}日见。
            {p}真机谍照流出，后摄模组有点像电磁炉[doge]
            {b}据说要和车企合作做车机互联，有点意思。
        """),
        ("launch", POS): _lines("""
            {b}新机{p}发布，影像直接拉满，钱包准备好了！
            {p}的新配色太绝了，{b}首销秒没。
        """),
        ("crisis", NEG): _lines("""
            {p}充电时冒烟起火，{b}客服居然让我自己承担责任！
            {b}宣传的“{n}年不卡顿”纯属虚假宣传，老机型更新完卡成PPT。
            批量电池鼓包问题，{b}能不能正面回应一下？
            {b}被曝偷偷读取用户通讯录，隐私谁来保护？
            维权群里已经几百个{p}用户了，{b}还在装没看见。
        """),
    },
    "tea": {
        ("quality", NEG): _lines("""
            今天的{p}甜到齁，冰块占了半杯，{b}越来越敷衍了。
            {b}的奶茶喝完胃里难受了一下午，原料真的新鲜吗？
            {p}的果肉少得可怜，吸管戳半天只吸到冰。
            同一款{p}，每家{b}门店味道都不一样，标准化呢？
        """),
        ("quality", NEU): _lines("""
            {b}的{p}和经典款比哪个好喝？第一次点不知道选啥。
            {b}的少糖和三分糖差别大吗？
        """),
        ("quality", POS): _lines("""
            {b}的{p}yyds！果肉满满，清爽不腻。
            {p}好喝到跺脚，每周必须来一杯。
            下午三点的{b}，是打工人的续命水。
            {b}的茶底真的香，喝得出是用心做的。
        """),
        ("service", NEG): _lines("""
            {city}这家{b}店员态度好差，问一句就翻白眼。
            {b}点单小程序崩了半小时，排队的人都快打起来了。
        """),
        ("service", POS): _lines("""
            {b}的小姐姐太可爱了，杯子上还给我画了个笑脸。
            做错了一杯{p}，{b}店员二话不说重做还送了小料。
        """),
        ("price", NEG): _lines("""
            一杯{p}要{price}元？{b}你飘了。
            {b}又偷偷涨价了，小料加起来比茶还贵。
        """),
        ("price", NEU): _lines("""
            {b}周三会员日是全场几折？
        """),
        ("price", POS): _lines("""
            {b}第二杯半价，和同事拼单超划算。
            {b}的{p}才{price}元，这个价格这个品质可以了。
        """),
        ("delivery", NEG): _lines("""
            点的{b}外卖送到全洒了，杯子都没封好。
            {b}外卖等了一个小时，{p}的冰全化了。
        """),
        ("delivery", POS): _lines("""
            下单二十分钟就送到了，{b}的{p}还是冰的。
        """),
        ("launch", NEG): _lines("""
            {b}新品{p}难喝到想退款，研发是认真的吗？
        """),
        ("launch", NEU): _lines("""
            {b}秋季新品{p}下周上市，{city}门店先试卖。
            听说{b}要和{c}联名？
        """),
        ("launch", POS): _lines("""
            {b}上新{p}了，打工人的快乐又回来了！
            {b}的联名杯套太可爱了，为了周边也要冲。
        """),
        ("crisis", NEG): _lines("""
            在{b}的{p}里喝出了异物，{city}门店到现在没给说法！
            {b}被曝使用隔夜原料，后厨视频太恶心了。
            宣传“鲜果现切”，结果用的是果酱，{b}这是虚假宣传吧。
            {b}门店员工爆料过期原料改标签继续用，监管部门管管吧。
        """),
    },
    "beauty": {
        ("quality", NEG): _lines("""
            用了{b}的{p}第三天就过敏，满脸红疹子。
            {p}搓泥严重，上妆全起皮，{b}翻车了。
            {b}的{p}味道太冲了，敏感肌完全扛不住。
        """),
        ("quality", NEU): _lines("""
            {b}的{p}适合油皮吗？混油皮求答疑。
            研究了一下{b}的成分表，主打修护，没有酒精。
        """),
        ("quality", POS): _lines("""
            {b}的{p}用了一个月，皮肤稳定多了，闭口也少了。
            敏感肌可以放心冲{b}，温和不刺激。
            {p}上脸水润不黏腻，熬夜脸也救回来了。
            回购第{n}瓶{p}，{b}是我的本命护肤品。
        """),
        ("service", NEG): _lines("""
            {b}旗舰店买到疑似假货，客服坚称正品。
            {b}直播间说好的赠品一件都没收到。
        """),
        ("service", POS): _lines("""
            {b}客服很贴心，过敏了主动给我退了款。
            {b}专柜柜姐很专业，没有强推，还帮我测了肤质。
        """),
        ("price", NEG): _lines("""
            {p}直播间比旗舰店便宜{n2}元，买早了的冤种是我，{b}你礼貌吗。
            {b}的小样比正装还难买，饥饿营销玩明白了。
        """),
        ("price", NEU): _lines("""
            {b}大促的{p}什么时候补货？
        """),
        ("price", POS): _lines("""
            {b}大促囤货，算下来一瓶{p}才{price}元。
            学生党也用得起{b}，性价比很高。
        """),
        ("delivery", NEG): _lines("""
            {b}预售要等{n}周才发货，等到都换季了。
            快递到的{p}瓶子漏了一半，{b}包装太敷衍。
        """),
        ("delivery", POS): _lines("""
            {b}包装很用心，小样送了一堆。
        """),
        ("launch", NEG): _lines("""
            {b}新品换了包装但价格贵了一截，配方一样的吧？
        """),
        ("launch", NEU): _lines("""
            {b}新品{p}官宣，成分表看着很能打。
            {b}要开线下体验店了，首店在{city}。
        """),
        ("launch", POS): _lines("""
            {b}和{c}的联名礼盒太好看了，颜值党直接下单。
        """),
        ("crisis", NEG): _lines("""
            {b}被曝{p}激素超标，用了半年的我慌了。
            烂脸维权群已经{n}百人了，{b}一直说是个人体质问题。
            说好的“{n}天淡纹”呢？{b}虚假宣传，已经向12315投诉。
            {b}代工厂被查出卫生问题，同一批次的{p}还敢用吗？
        """),
    },
    "delivery": {
        ("quality", NEG): _lines("""
            {b}上的店铺评分全是刷的，点到的菜和图片完全两回事。
            {b}更新以后页面全是广告，找个订单都费劲。
        """),
        ("quality", NEU): _lines("""
            {b}的准时宝是怎么赔的？有人用过吗？
        """),
        ("quality", POS): _lines("""
            {b}的界面改版后清爽多了，找店方便。
            {b}上的店品质还不错，踩雷的很少。
        """),
        ("service", NEG): _lines("""
            {b}骑手把餐放门口就点送达，到手全凉了。
            {b}客服机器人只会车轱辘话，转人工转了{n}次。
            {b}商家漏送了一份菜，申请退款被驳回两次。
        """),
        ("service", POS): _lines("""
            {b}骑手小哥冒雨送餐还提醒我趁热吃，给了五星好评。
            {b}的客服处理超快，餐洒了直接全额退款。
        """),
        ("price", NEG): _lines("""
            同一家店{b}上比到店贵了{n}块，大数据杀熟吧？
            {b}会员开了反而配送费更贵，这是什么逻辑。
        """),
        ("price", NEU): _lines("""
            {b}和{c}的会员哪个更划算？
        """),
        ("price", POS): _lines("""
            {b}会员红包叠满减，一顿午饭才{price}元。
            {b}周末神券真香，奶茶几乎白送。
        """),
        ("delivery", NEG): _lines("""
            {b}显示{n2}分钟送达，结果等了一个半小时。
            下雨天{b}直接停止接单，饿着肚子等了一晚上。
        """),
        ("delivery", NEU): _lines("""
            {b}在{city}试点无人机配送了，有人见过吗？
        """),
        ("delivery", POS): _lines("""
            {b}准时宝真的会赔，超时给了{n}元券。
            {b}这次十五分钟就送到了，比我下楼还快。
        """),
        ("launch", NEG): _lines("""
            {b}新版本强制推送会员弹窗，关都关不掉。
        """),
        ("launch", NEU): _lines("""
            {b}上线了夜宵专区，{city}先试点。
            {b}宣布骑手将全部缴纳社保，从下个月开始执行。
        """),
        ("launch", POS): _lines("""
            {b}新出的“慢点送”选项好暖心，骑手不用拼命赶时间了。
        """),
        ("crisis", NEG): _lines("""
            {b}退款难！商家不接单钱也不退，申诉了{n}天没人管。
            {b}骑手在{city}闯红灯出事故，平台算法逼得太紧了。
            {b}被曝泄露用户地址电话，骚扰电话一天接{n}个。
            {b}的满减是先涨价再打折，虚假宣传没跑了。
            {b}外卖里吃出了虫子，商家和平台互相踢皮球，维权太难了。
        """),
    },
    "any": {
        ("service", NEG): _lines("""
            打了{n}次客服电话都没人接，{b}是不想做了吗？
            {b}的投诉渠道形同虚设，反馈完就石沉大海。
        """),
        ("service", NEU): _lines("""
            {b}的会员能中途退吗？在线等。
        """),
        ("service", POS): _lines("""
            {b}处理问题挺快的，点个赞。
        """),
        ("compare", NEG): _lines("""
            同样的售后问题，{c}十分钟就解决了，{b}拖了一周还没回音。
            用过{c}再用{b}，服务差距不是一点半点。
        """),
        ("compare", NEU): _lines("""
            {b}和{c}最近都在搞周年活动，有人对比过哪家优惠大吗？
            刷到{b}和{c}的联名消息，是真的吗？
            {b}和{c}的粉丝在评论区吵起来了，吃瓜。
        """),
        ("compare", POS): _lines("""
            比起{c}，{b}的售后态度好太多了。
            身边朋友从{c}转到{b}的越来越多，口碑是真的好。
        """),
        ("question", NEU): _lines("""
            有人了解{b}吗？最近在考虑要不要入手。
            {b}最近怎么上了好几次热搜，发生什么了？
            刷到好多{b}的广告，是要搞什么大动作？
            {b}到底值不值得买，大家说说真实体验。
            @{at} 你之前说的{b}是哪一款来着？
        """),
        ("crisis", NEG): _lines("""
            {b}出了问题就冷处理，消费者维权太难了。
            建议{b}好好看看评论区，别再删帖控评了。
        """),
    },
}

# Topic mix per label: which topics people write about when they are angry, neutral or happy.
_TOPIC_WEIGHTS: dict[int, tuple[tuple[str, int], ...]] = {
    NEG: (
        ("quality", 3),
        ("service", 3),
        ("price", 2),
        ("delivery", 2),
        ("launch", 1),
        ("crisis", 2),
        ("compare", 1),
    ),
    NEU: (
        ("launch", 3),
        ("price", 2),
        ("question", 3),
        ("compare", 1),
        ("quality", 2),
        ("delivery", 1),
        ("service", 1),
    ),
    POS: (("quality", 3), ("service", 2), ("price", 2), ("delivery", 1), ("launch", 2), ("compare", 1)),
}

# Brand-free sentences that carry the feeling of a post.
_FEELINGS: dict[int, tuple[str, ...]] = {
    NEG: _lines("""
        真的无语了。
        钱花了还受一肚子气。
        谁能告诉我该找谁投诉？
        越想越气，今晚睡不着了。
        朋友劝我别折腾，可我就是咽不下这口气。
        已经打了12315，等结果。
        大家避雷吧，别再踩坑了。
        说好的售后保障呢？
        客服的回复一个字都不想看了。
        再也不会回购了。
    """),
    NEU: _lines("""
        先观望一下。
        有了解的朋友说说吗？
        坐等官方消息。
        理性讨论，不吵架。
        欢迎补充。
        仅供参考，每个人情况不一样。
        评论区的信息太乱了，不知道信谁。
    """),
    POS: _lines("""
        真心推荐给大家。
        会回购的。
        这波不亏。
        身边朋友也被我安利了。
        幸福感拉满。
        希望一直保持这个水准。
        已经推荐给家里人了。
    """),
}

# Longer first-person passages (brand-free) that make the occasional long post.
_STORIES: dict[int, tuple[str, ...]] = {
    NEG: _lines("""
        上周三下午专门请假去门店处理，排了四十分钟的队，工作人员先说系统故障，又说要等主管，最后让我回家等电话，到现在一个电话都没有。
        我把聊天记录、付款截图和检测报告都整理好了，前后沟通了{n}次，每次换一个客服，每次都要从头讲一遍，真的身心俱疲。
        本来是想给家里人一个惊喜，结果闹成这样，周末全家的心情都被搞坏了，这钱花得太憋屈。
        问了身边几个朋友，居然都遇到过类似的情况，只是大多数人嫌麻烦就算了，我这次不打算忍，该走的流程一步步走。
    """),
    NEU: _lines("""
        整理了一下这两周看到的信息：官方说法、用户反馈和媒体报道各执一词，细节对不上的地方不少，建议大家等权威结论。
        作为普通消费者，比较关心的是售后政策、价格走势和实际体验这三点，欢迎懂行的朋友在评论区补充。
        看了{n}个测评视频，结论差别挺大，有说好的也有吐槽的，可能还是要自己去线下体验一下才知道。
    """),
    POS: _lines("""
        上个月陪家人去体验，工作人员全程耐心讲解，没有一点推销的感觉，回来路上家人一直在夸，这种体验真的加分。
        用了快{n}个月，从一开始的半信半疑到现在主动推荐给同事，细节上能看出是用心在做产品的。
        原本只是抱着试试看的心态，没想到整体体验超出预期，价格也在能接受的范围里，已经准备回购了。
    """),
}

_EMOTICONS: dict[int, tuple[str, ...]] = {
    NEG: ("[怒]", "[抓狂]", "[允悲]", "[吐]", "[伤心]", "[失望]", "[汗]", "[衰]", "[拜拜]", "[怒]"),
    NEU: ("[思考]", "[doge]", "[吃瓜]", "[费解]", "[二哈]", "[笑cry]", "[允悲]", "[挖鼻]"),
    POS: ("[赞]", "[哈哈]", "[爱你]", "[心]", "[good]", "[鼓掌]", "[太开心]", "[馋嘴]", "[给力]", "[耶]"),
}

# Endings added per mention, so reused bodies still make distinct posts.
_TAILS: dict[int, tuple[str, ...]] = {
    NEG: (
        "",
        "",
        "",
        "[怒]",
        "[抓狂]",
        "[允悲]",
        "[怒][怒][怒]",
        " 求扩散！",
        " 已截图留证。",
        " 有同样遭遇的吗？",
        " #消费维权#",
        "（已投诉）",
    ),
    NEU: ("", "", "", "[思考]", "[doge]", "[吃瓜]", " 蹲一个", " 求解答", " #生活碎碎念#", "（转自朋友圈）"),
    POS: ("", "", "", "[赞]", "[哈哈]", "[爱你]", "[心]", "[good]", " 冲！", " 安利给大家～", " #好物分享#"),
}

# Openers by platform: each community writes a little differently.
_PREFIXES: dict[str, tuple[str, ...]] = {
    "weibo": ("", "", "", "", "", "【分享】", "记录一下：", "#今日话题# "),
    "xiaohongshu": ("", "姐妹们！", "真实分享｜", "记录一下｜", "干货｜"),
    "bilibili": ("", "【动态】", "视频已更新，", "UP主碎碎念："),
    "zhihu": ("", "谢邀。", "说一下亲身经历。", "利益相关：普通用户。"),
    "news": ("", "【快讯】", "据媒体报道，", "记者获悉，"),
}

# News reports about a brand: what media accounts and the news platform post.
_NEWS_BANK: dict[int, tuple[str, ...]] = {
    NEG: _lines("""
        {b}因{p}质量问题被多名消费者投诉，相关部门已介入调查。
        记者调查发现，{b}多地门店存在售后推诿现象，消费者维权周期长。
        {b}被指宣传与实际不符，律师表示或涉嫌虚假宣传。
        多名消费者反映{b}退款难，平台客服回应称将尽快核实处理。
    """),
    NEU: _lines("""
        {b}发布第{n}季度业绩，营收同比增长{n2}%。
        {b}宣布在{city}设立区域总部，预计带动上千个就业岗位。
        {b}回应近期网络热议：将进一步完善服务流程。
        {b}与{c}签署战略合作协议，双方将在会员体系上打通。
    """),
    POS: _lines("""
        {b}入选年度消费者满意品牌榜单，售后满意度位列前三。
        {b}新品{p}上市首周销量突破{n}万。
        {b}获评年度创新品牌，评委称其产品体验进步明显。
    """),
}

# The incident: a braking failure of the big brand's best seller, days before the end of the range.
_INCIDENT_BANK = _lines("""
    #{p}刹车失灵# {city}高速上又一起，车主说踩到底都停不下来，{b}还要装死多久？
    {b}回应刹车失灵事件只说“正在调查”，一句话打发所有车主？
    {p}刹车失灵的视频看得我手心冒汗，家里那台还敢开吗？{b}给个说法。
    我的{p}也出现过刹车发软，去{b}门店检测说一切正常，现在越想越怕。
    {b}把刹车失灵说成“个别车主操作失误”，这公关太冷血了。
    要求{b}召回{p}！#{p}刹车失灵#
    出了事就删帖控评，{b}的危机公关只会这一招？
    已经预约了{b}门店检测刹车，排队排到{n2}天以后。
    刚交了{p}的定金，看到刹车失灵的新闻，{b}这车还敢要吗，在犹豫要不要退订。
    {b}的刹车问题不是第一次了，去年就有车主反映过。
    {city}车主自发组织维权，要求{b}公开{p}的行车数据。
""")
_INCIDENT_NEWS = _lines("""
    【{b}回应{p}刹车失灵事件】称已成立专项调查组，将配合有关部门调取行车数据。#{p}刹车失灵#
    {city}发生一起{p}高速追尾事故，车主称刹车失灵，{b}尚未给出调查结论。
    多地{p}车主反映刹车发软，业内人士称若属实{b}应启动召回。
""")

# Job ads name the brand but are excluded by its watchlist query (NOT 招聘): realistic noise.
_RECRUITMENT_BANK = _lines("""
    {b}2025届校园招聘正式启动，智能驾驶、三电、用户运营岗位等你来。
    {b}{city}交付中心招聘交付专员，五险一金，欢迎投递简历。
    内推｜{b}社会招聘，算法工程师、测试工程师均有名额，简历发私信。
""")

# Posts that mention no brand. A few come close on purpose (梦想启航, 快马加鞭, 小满, 星河) and must
# stay unmatched, which is exactly what a good watchlist query gets right.
_CHATTER: dict[int, tuple[str, ...]] = {
    NEG: _lines("""
        周一早高峰地铁挤到怀疑人生。
        加班到{h}点，外面还在下雨，伞也忘带了。
        楼上又在装修，电钻声从早响到晚。
        体检报告出来了，转氨酶偏高，夜宵得戒了。
        租的房子热水器又坏了，房东一直不回消息。
        航班延误{n}个小时，机场的盒饭好难吃。
        周末加班，项目进度还是赶不上，心累。
    """),
    NEU: _lines("""
        {city}今天最高{n2}度，出门记得带伞。
        有没有人知道{city}哪里可以拍银杏？
        今天是小满，记得吃点苦菜。
        新的一周，梦想启航！
        周末去看了场星河主题的灯光展，人好多。
        项目赶进度，大家快马加鞭。
        晚饭吃什么，纠结了半小时还没决定。
        今天的天气适合在家躺平。
        地铁上看完了一本书，结局有点意外。
    """),
    POS: _lines("""
        周末和朋友去爬山，山顶的风景太治愈了。
        家里的猫今天终于肯让我抱了。
        考研上岸了！！！谢谢所有帮过我的人。
        楼下新开的面馆好吃又便宜，老板还送了小菜。
        健身打卡第{n2}天，体重终于往下走了。
        和闺蜜吃了顿火锅，烦恼全没了。
        电影散场时全场都在鼓掌，好久没看过这么好的片子。
    """),
}

# Repost comments (brand-free): the part before //@ in a Weibo repost chain.
_REPOST_COMMENTS: dict[int, tuple[str, ...]] = {
    NEG: (
        "太离谱了吧",
        "希望官方给个说法",
        "同款遭遇+1",
        "转发扩散，让更多人看到",
        "这也太吓人了",
        "必须严查",
        "支持维权",
        "气死我了[怒]",
    ),
    NEU: ("转发微博", "蹲一个后续", "马一下", "先码住", "吃瓜[吃瓜]", "有人知道真假吗", "等一个官方回应"),
    POS: ("说得太对了", "被种草了", "同款好用", "冲冲冲", "已下单", "真香[doge]"),
}

# The copy-paste 水军 wave: one script posted by many throwaway accounts within an hour.
_WAVE_TEXT = "支持启航汽车！开了一年QIHANG Q7，刹车灵敏、续航扎实，个别事件不代表整体，别被带节奏了！#启航汽车#"
_WAVE_ENDINGS = ("", "！", "！！", "[赞]", "[赞][赞]", "～", " 支持！", "[心]", "👍")

# Words worth reporting as a post's keywords; each template's keywords are the ones it contains.
_KEYWORD_VOCAB = frozenset(
    _words("""
    中控屏 黑屏 品控 车机 卡死 导航 重启 异响 底盘 天窗 漏水 续航 漆面 辅助驾驶 智驾 内饰 做工 OTA 能耗
    胎噪 试驾 加速 悬挂 调校 自动泊车 自驾游 交付 提车 销售 定金 订金 售后 维修 代步车 保养 道路救援
    车主群 官降 补偿 选装包 落地价 免费充电 调价 置换补贴 免息 用车成本 划痕 验车 充电枪 发布会 大灯
    付费订阅 上市 芯片 谍照 工厂 配色 刹车失灵 刹车 自燃 断轴 维权 虚假宣传 行车记录仪 行车数据 冷处理
    召回 删帖 控评 危机公关 检测 退订 高速 车主 露营 儿童座椅 空间 电池 鼓包 系统更新 发热 视频电话
    偏色 夜景 影像 信号 指纹解锁 屏幕 绿线 充电速度 变焦 演唱会 流畅 手感 轻薄 广告 备用机 主板 进水
    自费 首发 首销 跑分 性价比 以旧换新 教育优惠 发货 翻新机 开箱 车机互联 冒烟 起火 卡顿 隐私
    通讯录 奶茶 冰块 果肉 原料 标准化 少糖 三分糖 茶底 续命水 打工人 店员 小程序 小料 涨价 会员日
    第二杯半价 拼单 外卖 新品 联名 周边 杯套 异物 隔夜原料 后厨 鲜果 果酱 过期原料 监管 过敏 红疹
    搓泥 起皮 敏感肌 油皮 成分表 修护 酒精 闭口 熬夜 回购 护肤品 旗舰店 假货 正品 直播间 赠品 专柜
    肤质 小样 饥饿营销 大促 补货 囤货 学生党 预售 包装 体验店 联名礼盒 配方 激素超标 烂脸 淡纹 代工厂
    卫生 骑手 送达 客服机器人 转人工 商家 退款 店铺评分 准时宝 界面 改版 大数据杀熟 会员 配送费 红包
    满减 神券 超时 停止接单 无人机配送 夜宵专区 社保 弹窗 退款难 闯红灯 事故 算法 泄露 骚扰电话 虫子
    踢皮球 客服 投诉 投诉渠道 周年活动 优惠 评论区 吃瓜 口碑 热搜 入手 真实体验 12315 避雷 踩坑
    售后保障 观望 官方消息 推荐 安利 幸福感 水准 营收 业绩 同比增长 区域总部 调查 满意度 销量 服务流程
    战略合作 会员体系 就业岗位 专项调查组 追尾 召回 律师 早高峰 地铁 加班 下雨 装修 体检 夜宵 银杏
    小满 苦菜 梦想 灯光展 晚饭 躺平 爬山 风景 治愈 考研 上岸 面馆 健身 打卡 火锅 电影 航班 延误
    热水器 房东 项目进度 天气 校园招聘 招聘 智能驾驶 用户运营 岗位 交付专员 五险一金 简历 内推
    社会招聘 算法工程师 测试工程师 带节奏 证据 扩散 个例 官方 车门 密封条 服务费 新车 老车主
    请假 门店 工作人员 系统故障 主管 聊天记录 付款截图 检测报告 惊喜 流程 官方说法 用户反馈 媒体报道
    权威结论 售后政策 价格走势 实际体验 消费者 测评视频 线下体验 推销 讲解 同事 产品 预期 理性讨论
    仅供参考 朋友 回复 家里人 推荐 吐槽 心情 差距 无语 折腾 售后问题 服务差距
""")
)

_CITIES = (
    "上海",
    "北京",
    "杭州",
    "成都",
    "深圳",
    "广州",
    "武汉",
    "南京",
    "西安",
    "重庆",
    "长沙",
    "苏州",
    "郑州",
    "天津",
    "青岛",
    "厦门",
    "合肥",
    "昆明",
)

# Nickname parts; joined they make names like 小鹿爱喝茶, 数码老王, 启航车主阿杰.
_NAME_HEADS = _words("""
    小鹿 数码 吃货 打工人 快乐的 橘子 阿狸 夜猫子 追风的 爱吃鱼的 不吃香菜的 认真生活的 佛系 摸鱼 熬夜
    减肥中的 喵星人 奶茶续命的 周末 南方 北漂 沪漂 深漂 海边的 山城 慢慢 一只 超级 今天也要 可乐加冰
    月亮 星星 晚风 柠檬 西瓜 咸鱼 土豆 芒果 番茄 甜甜圈 启航车主 车主 老司机 机友 美妆 护肤 深夜 早八
    考研 宝妈 奶爸 程序员 设计师 会计 护士 体育生 学生党 养猫的 骑车的 爱旅行的 江南 西北 东北 岭南
""")
_NAME_TAILS = _words("""
    爱喝茶 老王 阿杰 小李 大刘 同学 酱 君 本人 日记 小姐姐 少年 青年 阿姨 大叔 兔 猫 喵 汪 小可爱 不加糖
    去冰 的日常 在路上 的碎碎念 观察员 搬砖中 想暴富 要早睡 吃不胖 阿May Lily Kevin Coco 小陈 老张 阿花
    阿强 木木 朵朵 七七 十一 桃子 糖糖 团子 丸子 饭团 豆包 小葵
""")


# ------------------------------------------------------------------------------- matching helpers


class _BrandScanner:
    """Which brands a text names, under the watchlist matcher's rules (textmatch folding, Latin
    word boundaries), split into alias hits and exclusion hits so pieces of text can be combined."""

    def __init__(self, brands: Sequence[BrandProfile]) -> None:
        self._terms = [(fold(term), b.name) for b in brands for term in b.terms]
        self._excludes = [(fold(term), b.name) for b in brands for term in b.exclude]
        self._order = [b.name for b in brands]
        self._brands_cache: dict[tuple[frozenset[str], frozenset[str]], tuple[str, ...]] = {}
        self._shared_sets: dict[frozenset[str], frozenset[str]] = {}

    def scan(self, text: str) -> tuple[frozenset[str], frozenset[str]]:
        """(brands with an alias in the text, brands with an exclusion term in the text)."""
        folded = _fold_for_terms(text)
        hits = _names_with_a_term(folded, self._terms)
        blocked = _names_with_a_term(folded, self._excludes)
        # One object per distinct set: the hot loop then touches a few shared objects, not one per body.
        return self._shared_sets.setdefault(hits, hits), self._shared_sets.setdefault(blocked, blocked)

    def brands(self, hits: frozenset[str], blocked: frozenset[str]) -> tuple[str, ...]:
        """The matching watchlist names, in watchlist order."""
        key = (hits, blocked)
        cached = self._brands_cache.get(key)
        if cached is None:
            cached = tuple(name for name in self._order if name in hits and name not in blocked)
            self._brands_cache[key] = cached
        return cached


_FOLD_SAFE_CHARS: set[str] = set()


def _fold_for_terms(text: str) -> str:
    """Text that holds exactly the term matches of ``fold(text)``, usually without NFKC's cost.

    NFKC dominates the cost of folding, yet it changes nothing a term can match on when every
    character either folds to itself or folds to a single non-alphanumeric character (full-width
    punctuation, ideographic space): then lower-casing alone finds the same terms and boundaries.
    """
    unknown = set(text).difference(_FOLD_SAFE_CHARS)
    if unknown:
        if not all(map(_folds_harmlessly, unknown)):
            return fold(text)
        _FOLD_SAFE_CHARS.update(unknown)
    return text.lower()


def _folds_harmlessly(char: str) -> bool:
    if unicodedata.combining(char) or unicodedata.category(char) == "Cf":  # composes, or zero-width
        return False
    folded = unicodedata.normalize("NFKC", char)
    return folded == char or (len(folded) == 1 and not folded.isalnum() and not char.isalnum())


def _names_with_a_term(folded: str, terms: list[tuple[str, str]]) -> frozenset[str]:
    return frozenset([name for term, name in terms if term in folded and _has_term(folded, term)])


def _has_term(folded: str, term: str) -> bool:
    """The query language's term rule: substring, with word boundaries at ASCII letters/digits."""
    start = folded.find(term)
    while start >= 0:
        end = start + len(term)
        before_ok = not (is_word_char(term[0]) and start > 0 and is_word_char(folded[start - 1]))
        after_ok = not (is_word_char(term[-1]) and end < len(folded) and is_word_char(folded[end]))
        if before_ok and after_ok:
            return True
        start = folded.find(term, start + 1)
    return False


_KEYWORD_CACHE: dict[str, tuple[str, ...]] = {}
_SLOT = re.compile(r"\{[a-z0-9]+\}")


def _template_keywords(template: str) -> tuple[str, ...]:
    """Vocabulary words in a template's literal text (never inside a slot), longest match kept."""
    cached = _KEYWORD_CACHE.get(template)
    if cached is None:
        literal = _SLOT.sub("|", template)
        found = [word for word in _KEYWORD_VOCAB if word in literal]
        longest = [w for w in found if not any(w != other and w in other for other in found)]
        cached = tuple(sorted(longest, key=literal.find))
        _KEYWORD_CACHE[template] = cached
    return cached


# simhash without a per-bit Python loop: each feature's 64-bit hash becomes 64 byte lanes (0 or 1),
# the lanes of all features are summed as one big integer, and a bias pushes every lane holding more
# than half the votes past 127, so its top bit is the simhash bit.
_BITS_TO_LANES = bytes.maketrans(b"01", b"\x00\x01")
_LANE_TOP_BIT = bytes(48 + (value >= 128) for value in range(256))  # lane byte -> ASCII "0"/"1"
_ONE_PER_LANE = int.from_bytes(b"\x01" * 64, "big")


def _stable_hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class _SimHasher:
    """64-bit simhash of a body's sentences, with features remembered: template text repeats."""

    def __init__(self) -> None:
        self._lanes: dict[str, int] = {}

    def __call__(self, sentences: Iterable[str]) -> int:
        features = _shingles(sentences)
        assert len(features) < 256, "more votes than a byte lane holds"
        lanes_total = sum(map(self._feature_lanes, features))
        biased = lanes_total + (127 - len(features) // 2) * _ONE_PER_LANE
        return int(biased.to_bytes(64, "big").translate(_LANE_TOP_BIT), 2)

    def _feature_lanes(self, feature: str) -> int:
        lanes = self._lanes.get(feature)
        if lanes is None:
            bits = format(_stable_hash64(feature), "064b").encode().translate(_BITS_TO_LANES)
            lanes = self._lanes[feature] = int.from_bytes(bits, "big")
        return lanes


def _shingles(sentences: Iterable[str], size: int = 6) -> list[str]:
    """simhash features: each sentence cut into pieces of `size` characters."""
    return [sentence[i : i + size] for sentence in sentences for i in range(0, len(sentence), size)]


# ----------------------------------------------------------------------------------- text pools


@dataclass(slots=True)  # treated as immutable; not frozen because frozen init is slow
class _Body:
    """A pooled post body with its analysis precomputed."""

    text: str
    label: int
    probs: tuple[float, float, float]
    keywords: tuple[str, ...]
    hits: frozenset[str]
    blocked: frozenset[str]
    brands: tuple[str, ...]
    simhash: int


@dataclass(frozen=True, slots=True)
class _Affix:
    """A prefix or tail added per mention; brand-free, and flips one simhash bit when not empty."""

    text: str
    flip: int


class _TextFactory:
    """Fills templates and turns them into pooled bodies."""

    def __init__(self, rng: random.Random, scanner: _BrandScanner) -> None:
        self.rng = rng
        self.scanner = scanner
        self.simhash = _SimHasher()
        longest_prefix = max(map(len, _flatten(_PREFIXES.values())))
        self.max_body = MAX_TEXT - longest_prefix - max(map(len, _flatten(_TAILS.values())))

    def body(self, templates: list[str], label: int, brand: BrandProfile | None, product: str = "") -> _Body:
        """A body from templates (filled with one set of slot values) plus trailing emoticons."""
        values = _SlotValues(self.rng, brand)
        if product:
            values["p"] = product
        sentences = [template.format_map(values) for template in templates]
        while len(sentences) > 1 and sum(map(len, sentences)) > self.max_body - 12:
            sentences.pop()
            templates = templates[: len(sentences)]
        emoticons = _pick_emoticons(self.rng, label)
        text = "".join(sentences) + emoticons
        if text[-1].isalnum():  # bodies end in punctuation so no term can run across an affix
            text += "。"
        keywords = dict.fromkeys(word for template in templates for word in _template_keywords(template))
        hits, blocked = self.scanner.scan(text)
        return _Body(
            text=text,
            label=label,
            probs=_sentiment_probs(self.rng, label),
            keywords=tuple(keywords)[:6],
            hits=hits,
            blocked=blocked,
            brands=self.scanner.brands(hits, blocked),
            simhash=self.simhash(sentences),
        )


class _SlotValues(dict):
    """Template slot values, drawn only when a template asks for one (format_map calls __missing__),
    then kept so every sentence of a body names the same product, city and numbers."""

    def __init__(self, rng: random.Random, brand: BrandProfile | None) -> None:
        super().__init__()
        self.rng = rng
        self.brand = brand

    def __missing__(self, slot: str) -> str:
        value = self._draw(slot)
        self[slot] = value
        return value

    def _draw(self, slot: str) -> str:
        rng, brand = self.rng, self.brand
        if slot in _NUMBER_SLOTS:
            low, high, step = _NUMBER_SLOTS[slot]
            return str(rng.randrange(low, high, step))
        if slot == "city":
            return rng.choice(_CITIES)
        if slot == "at":
            return rng.choice(_AT_NAMES)
        if brand is None:
            raise KeyError(f"slot {{{slot}}} needs a brand")
        if slot == "b":  # most people write the Chinese name, some the Latin alias
            return brand.latin if rng.random() < 0.15 else brand.name
        if slot == "p":
            return rng.choice(brand.products)
        if slot == "c":
            return rng.choice(brand.competitors)
        if slot == "price":
            return str(rng.randrange(*brand.price_range))
        raise KeyError(f"unknown template slot {{{slot}}}")


_NUMBER_SLOTS = {  # slot: (low, high exclusive, step)
    "n": (2, 10, 1),
    "n2": (10, 41, 1),
    "km": (300, 760, 10),
    "m": (1, 13, 1),
    "d": (1, 29, 1),
    "h": (9, 13, 1),
}


def _flatten(groups: Iterable[Iterable[str]]) -> list[str]:
    return [item for group in groups for item in group]


def _sentiment_probs(rng: random.Random, label: int) -> tuple[float, float, float]:
    """Model-like probabilities (3 decimals, summing to 1) whose argmax is the label."""
    top = int(500 + 480 * rng.random() ** 0.6)  # in thousandths
    first_other = int((1000 - top) * rng.random())
    others = iter((first_other, 1000 - top - first_other))
    negative, neutral, positive = (_THOUSANDTHS[top if i == label else next(others)] for i in range(3))
    return negative, neutral, positive


# Shared float objects: a thousand of them stay in cache while a million mentions are assembled.
_THOUSANDTHS = tuple(round(i / 1000, 3) for i in range(1001))


_AT_NAMES = (
    "小鹿爱喝茶",
    "橘子不加糖",
    "夜猫子阿May",
    "认真生活的土豆",
    "追风的小李",
    "沪漂打工人",
    "不吃香菜的喵",
    "考研上岸的兔",
)


def _weighted_table(weights: Sequence[tuple[object, float]], size: int = 1000) -> list:
    """A lookup list for O(1) weighted picks: table[int(random() * len(table))]."""
    total = sum(weight for _, weight in weights)
    table: list = []
    cumulative = 0.0
    for item, weight in weights:
        cumulative += weight
        table.extend([item] * (round(cumulative / total * size) - len(table)))
    return table


class _BodyPools:
    """Pooled bodies per (brand, label), plus chatter, news, incident, recruitment and the wave."""

    def __init__(self, rng: random.Random, scanner: _BrandScanner, size: int) -> None:
        self.factory = _TextFactory(rng, scanner)
        self.rng = rng
        self.regular: dict[tuple[int, int], list[_Body]] = {}
        self.news: dict[tuple[int, int], list[_Body]] = {}
        for brand_index, brand in enumerate(BRANDS):
            for label, label_share in enumerate(brand.sentiment_mix):
                pool_size = max(12, round(size * brand.share * label_share))
                key = (brand_index, label)
                self.regular[key] = [self._brand_body(brand, label) for _ in range(pool_size)]
                self.news[key] = [self._news_body(brand, label) for _ in range(max(4, pool_size // 20))]
        self.recruitment = [self._from_bank(_RECRUITMENT_BANK, NEU, BIG_BRAND) for _ in range(12)]
        self.chatter = [self._chatter_body() for _ in range(max(30, round(size * CHATTER_SHARE)))]
        self.incident = [self._incident_body() for _ in range(max(40, size // 40))]
        self.incident_news = [
            self._from_bank(_INCIDENT_NEWS, NEG, BIG_BRAND, product=INCIDENT_PRODUCT) for _ in range(12)
        ]
        self.wave = self._wave_body()

    def _brand_body(self, brand: BrandProfile, label: int) -> _Body:
        """A lead sentence naming the brand, then details and feelings about one topic."""
        rng = self.rng
        topic = _pick(rng, _TOPIC_TABLES[label])
        leads, details = _leads_and_details(brand.category, topic, label)
        templates = [_pick(rng, leads)]
        detail_count = _pick(rng, _DETAIL_COUNTS)
        if detail_count >= 4:  # a long post tells a story
            templates.extend(rng.sample(_STORIES[label], 2))
        for _ in range(detail_count):
            pool = details if details and rng.random() < 0.5 else _FEELINGS[label]
            templates.append(_pick(rng, pool))
        more = details + _FEELINGS[label]
        return self._ensure_keywords(list(dict.fromkeys(templates)), label, brand, more)

    def _news_body(self, brand: BrandProfile, label: int) -> _Body:
        return self._from_bank(_NEWS_BANK[label], label, brand)

    def _chatter_body(self) -> _Body:
        rng = self.rng
        if rng.random() < 0.04:  # job ads: they name the big brand, yet its query excludes them
            return rng.choice(self.recruitment)
        label = _pick(rng, _CHATTER_LABELS)
        templates = rng.sample(_CHATTER[label], _pick(rng, (1, 2, 2, 3)))
        return self._ensure_keywords(templates, label, None, _CHATTER[label])

    def _incident_body(self) -> _Body:
        templates = [self.rng.choice(_INCIDENT_BANK)]
        if self.rng.random() < 0.6:
            templates.append(self.rng.choice(_FEELINGS[NEG]))
        return self._ensure_keywords(templates, NEG, BIG_BRAND, _FEELINGS[NEG], product=INCIDENT_PRODUCT)

    def _from_bank(self, bank: Sequence[str], label: int, brand: BrandProfile, product: str = "") -> _Body:
        return self._ensure_keywords([self.rng.choice(bank)], label, brand, _FEELINGS[label], product=product)

    def _ensure_keywords(
        self,
        templates: list[str],
        label: int,
        brand: BrandProfile | None,
        extra: Sequence[str],
        product: str = "",
    ) -> _Body:
        """Add sentences until the body is long enough and has at least 3 keywords to report."""
        templates = list(templates)
        while True:
            # Keywords come from the templates' literal text, so grow the list before filling it once.
            while _keyword_count(templates) < 3 and len(templates) <= 6:
                templates.append(self._another(templates, extra, label))
            body = self.factory.body(templates, label, brand, product)
            if (len(body.keywords) >= 3 and len(body.text) >= MIN_TEXT) or len(templates) > 6:
                return body
            templates.append(self._another(templates, extra, label))

    def _another(self, templates: list[str], extra: Sequence[str], label: int) -> str:
        return self.rng.choice([t for t in extra if t not in templates] or _FEELINGS[label])

    def _wave_body(self) -> _Body:
        hits, blocked = self.factory.scanner.scan(_WAVE_TEXT)
        return _Body(
            text=_WAVE_TEXT,
            label=POS,
            probs=(_THOUSANDTHS[21], _THOUSANDTHS[67], _THOUSANDTHS[912]),
            keywords=_template_keywords(_WAVE_TEXT)[:6],
            hits=hits,
            blocked=blocked,
            brands=self.factory.scanner.brands(hits, blocked),
            simhash=self.factory.simhash([_WAVE_TEXT]),
        )


def _keyword_count(templates: Iterable[str]) -> int:
    return len({word for template in templates for word in _template_keywords(template)})


@functools.cache
def _leads_and_details(category: str, topic: str, label: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Templates for a topic: leads name the brand ({b}); any template can follow as a detail."""
    key = (topic, label)
    bank = _TOPIC_BANK[category].get(key, ()) + _TOPIC_BANK["any"].get(key, ())
    leads = tuple(t for t in bank if "{b}" in t)
    if not leads:  # a category without this topic: ask about the brand instead
        return _leads_and_details("any", "question", NEU)
    return leads, bank


def _pick(rng: random.Random, items: Sequence[_T]) -> _T:
    """rng.choice without its overhead (this runs hundreds of thousands of times)."""
    return items[int(rng.random() * len(items))]


def _pick_emoticons(rng: random.Random, label: int) -> str:
    emoticons = _EMOTICONS[label]
    return "".join(_pick(rng, emoticons) for _ in range(_pick(rng, (0, 1, 1, 2))))


_TOPIC_TABLES = {label: _weighted_table(weights, size=100) for label, weights in _TOPIC_WEIGHTS.items()}
_DETAIL_COUNTS = _weighted_table([(0, 25), (1, 45), (2, 20), (4, 10)], size=100)  # some long posts
_CHATTER_LABELS = _weighted_table([(NEG, 3), (NEU, 4), (POS, 3)], size=10)


# --------------------------------------------------------------------------------------- authors

# Regular users' home platforms; news sites get their own outlets.
_PLATFORM_TABLE = _weighted_table([("weibo", 84), ("xiaohongshu", 7), ("bilibili", 5), ("zhihu", 4)])
_ZIPF_EXPONENT = 2.2  # author index = pool size * random() ** exponent: a few users post a lot


# platform: (mention id prefix, url head, url tail) — shared strings, one set per platform
_ID_AND_URL_SHAPES = {
    "weibo": ("weibo:", "https://m.weibo.cn/detail/", ""),
    "xiaohongshu": ("xiaohongshu:", "https://www.xiaohongshu.com/explore/", ""),
    "bilibili": ("bilibili:", "https://t.bilibili.com/", ""),
    "zhihu": ("zhihu:", "https://www.zhihu.com/pin/", ""),
    "news": ("news:", "https://news.example.com/a/", ".html"),
}


@dataclass(slots=True)  # not frozen: frozen dataclasses are slow to build, and we build 100k+ of these
class _Author:
    platform: str
    record: dict  # the mention's `author` object; copied per mention
    name: str
    hits: frozenset[str]  # brands named by the nickname itself (shows up in //@name: chains)
    engagement: float  # typical likes per post, grows with followers
    focus: int  # brand index a 大V mostly posts about, -1 for any
    on_weibo: bool = field(init=False)
    id_prefix: str = field(init=False)  # mention ids and urls on the author's platform
    url_head: str = field(init=False)
    url_tail: str = field(init=False)

    def __post_init__(self) -> None:
        self.on_weibo = self.platform == "weibo"
        self.id_prefix, self.url_head, self.url_tail = _ID_AND_URL_SHAPES[self.platform]


# (name, followers, verified_type, focus brand index or -1, platform)
_BIG_ACCOUNTS = (
    ("潮汐财经", 3_200_000, 3, -1, "weibo"),
    ("车评研究所", 1_800_000, 3, 0, "weibo"),
    ("数码镜头", 2_600_000, 3, 1, "weibo"),
    ("云江晨报", 5_100_000, 3, -1, "weibo"),
    ("消费观察室", 1_200_000, 3, -1, "weibo"),
    ("新茶饮研究社", 960_000, 3, 2, "weibo"),
    ("美妆情报局", 1_500_000, 3, 3, "weibo"),
    ("城市生活指南", 2_200_000, 5, 4, "weibo"),
    ("数码老王", 1_300_000, 0, 1, "weibo"),
    ("开车的阿杰", 2_100_000, 0, 0, "weibo"),
    ("护肤达人林七七", 3_400_000, 0, 3, "weibo"),
    ("吃喝玩乐小分队", 1_100_000, 0, 2, "weibo"),
    ("科技小树", 850_000, 0, 1, "bilibili"),
    ("测评大刘", 1_600_000, 0, -1, "bilibili"),
    ("云江市消费者协会", 640_000, 1, -1, "weibo"),
    ("每日城事App", 4_000_000, 6, 4, "weibo"),
    ("启航汽车", 2_400_000, 2, 0, "weibo"),
    ("星河手机官方微博", 1_900_000, 2, 1, "weibo"),
    ("茶小满MANTEA", 820_000, 2, 2, "weibo"),
    ("澜颜LANYAN官方", 1_100_000, 2, 3, "weibo"),
    ("快马外卖", 3_000_000, 2, 4, "weibo"),
)


def official_accounts() -> dict[str, str]:
    """Each demo brand's own account (the enterprise-verified one), for ``official_accounts``."""
    return {BRANDS[focus].name: name for name, _, kind, focus, _ in _BIG_ACCOUNTS if kind == 2}


_NEWS_OUTLETS = ("云江晨报网", "潮汐财经网", "消费观察网", "科技前哨网", "汽车周刊网", "新消费日报网")


def _spread_unique_ids(rng: random.Random, count: int) -> Iterator[int]:
    """Unique 10-digit user ids spread over the id space: one random id inside each equal stride."""
    stride = 8_000_000_000 // max(count, 1)
    return (1_000_000_000 + index * stride + int(rng.random() * stride) for index in range(count))


def _is_official(author: _Author) -> bool:
    return author.record["verified_type"] == 2  # enterprise accounts: the brands themselves


class _AuthorPools:
    """Regular users (Zipf-like activity), 大V accounts, news outlets and the 水军 accounts."""

    def __init__(self, rng: random.Random, scanner: _BrandScanner, size: int, bots: int) -> None:
        self.rng = rng
        self.scanner = scanner
        self._taken: set[str] = set()
        self._ids = _spread_unique_ids(rng, size + bots + 64)
        self.big = [
            self._make(name, platform, followers, verified_type, focus)
            for name, followers, verified_type, focus, platform in _BIG_ACCOUNTS
        ]
        self.news = [self._make(name, "news", rng.randint(50_000, 900_000), 3) for name in _NEWS_OUTLETS]
        self.regular = [self._regular() for _ in range(size)]
        self.bots = [self._bot() for _ in range(bots)]
        # Media and bloggers who cover the big brand (its own official account does not).
        self.incident_reporters = [a for a in self.big if a.focus in (0, -1) and not _is_official(a)]

    def _make(
        self,
        name: str,
        platform: str,
        followers: int,
        verified_type: int,
        focus: int = -1,
        *,
        known_brand_free: bool = False,
    ) -> _Author:
        self._taken.add(name)
        number = next(self._ids)
        key = f"{number:024x}" if platform == "xiaohongshu" else str(number)
        hits, blocked = (frozenset(), frozenset()) if known_brand_free else self.scanner.scan(name)
        assert not blocked, f"author names must not hold exclusion terms: {name}"
        record = {
            "id": platform + ":" + key,
            "name": name,
            "followers": followers,
            "verified": verified_type >= 0,
            "verified_type": verified_type,
        }
        return _Author(platform, record, name, hits, 0.02 * followers**0.8, focus)

    def _regular(self) -> _Author:
        rng = self.rng
        followers = min(int(math.exp(rng.gauss(4.6, 1.7))), 900_000)  # lognormal: most < 1000, a long tail
        if followers >= 50_000:
            verified = rng.random() < 0.6
        else:
            verified = rng.random() < (0.15 if followers >= 5_000 else 0.02)
        verified_type = -1 if not verified else (0 if rng.random() < 0.8 else rng.choice((3, 5, 7)))
        platform = _PLATFORM_TABLE[int(rng.random() * len(_PLATFORM_TABLE))]
        return self._make(self._nickname(), platform, followers, verified_type, known_brand_free=True)

    def _nickname(self) -> str:
        # Bases are checked brand-free; a number suffix cannot complete a term, as no base ends in
        # the letters that start a term's trailing model number (启航Q7, 星河X5 ...).
        rng = self.rng
        bases = _safe_nicknames()
        while True:
            name = _pick(rng, bases)
            if name in self._taken or rng.random() < 0.5:
                name += rng.choice(("", "_", "-")) + str(int(rng.random() * 9999) + 1)
            if name not in self._taken:
                return name

    def _bot(self) -> _Author:
        rng = self.rng
        name = f"用户{rng.randint(1_000_000_000, 9_999_999_999)}" if rng.random() < 0.6 else self._nickname()
        return self._make(name, "weibo", rng.randint(0, 40), -1)

    def pick_regular(self) -> _Author:
        # Zipf-like: low indexes are drawn far more often, so a few users post a lot.
        regular = self.regular
        return regular[int(len(regular) * self.rng.random() ** _ZIPF_EXPONENT)]


@functools.cache
def _safe_nicknames() -> tuple[str, ...]:
    """Every head + tail nickname that names no brand (启航车主 is fine, 启航汽车 would not be)."""
    scanner = _BrandScanner(BRANDS)
    names = (head + tail for head in _NAME_HEADS for tail in _NAME_TAILS)
    return tuple(name for name in names if scanner.scan(name) == (frozenset(), frozenset()))


# -------------------------------------------------------------------------------------- timeline

# Relative posting activity per hour of day (Beijing time): quiet 2-7am, peaks at lunch and evening.
_HOURLY_RHYTHM = (
    0.55,
    0.35,
    0.2,
    0.12,
    0.1,
    0.12,
    0.25,
    0.5,
    0.8,
    0.9,
    0.95,
    1.1,
    1.35,
    1.25,
    0.95,
    0.9,
    0.9,
    1.0,
    1.1,
    1.25,
    1.45,
    1.5,
    1.3,
    0.9,
)
_MEAN_RHYTHM = sum(_HOURLY_RHYTHM) / 24
_MINUTE_SECOND_OFFSET = tuple(f"{second // 60:02d}:{second % 60:02d}+08:00" for second in range(3600))

BURST_PEAK = 3.0  # incident posts per hour at the peak, relative to an average hour's whole volume
BURST_RISE_HOURS = 3
BURST_DECAY_HOURS = 14.0
BURST_LENGTH_HOURS = 72


@dataclass(frozen=True, slots=True)
class _Slot:
    """One clock hour of the range: how many mentions, and which share are burst or wave posts."""

    hour: int  # hours since the start of the range
    prefix: str  # "2025-06-01T13:" — created_at is prefix + "MM:SS+08:00"
    first_second: int
    last_second: int  # exclusive
    count: int
    wave_share: float
    burst_share: float  # cumulative with wave_share


def _normalise_end(end: datetime | None) -> datetime:
    if end is None:  # deterministic within the hour; pass `end` for fully reproducible output
        return datetime.now(BEIJING).replace(minute=0, second=0, microsecond=0)
    if end.tzinfo is None:
        end = end.replace(tzinfo=BEIJING)
    return end.astimezone(BEIJING).replace(microsecond=0)


def _burst_weight(hours_since_start: float) -> float:
    if hours_since_start < 0 or hours_since_start >= BURST_LENGTH_HOURS:
        return 0.0
    if hours_since_start < BURST_RISE_HOURS:
        return BURST_PEAK * (hours_since_start + 1) / (BURST_RISE_HOURS + 1)
    return BURST_PEAK * math.exp(-(hours_since_start - BURST_RISE_HOURS) / BURST_DECAY_HOURS)


def _timeline(count: int, end: datetime, days: float, wave_posts: int) -> list[_Slot]:
    """Split [end - days, end) into clock hours and share `count` mentions among them."""
    start = end - timedelta(days=days)
    hours, spans = _clock_hours(start, end)
    # The incident breaks a few days before the end; the 水军 answer it about a day later.
    burst_start = (end - timedelta(days=min(4.0, days / 2))).replace(minute=0, second=0)
    normal = [
        _HOURLY_RHYTHM[hour.hour] / _MEAN_RHYTHM * (hi - lo) / 3600 for hour, (lo, hi) in zip(hours, spans, strict=True)
    ]
    burst = [
        _burst_weight((hour - burst_start).total_seconds() / 3600) * weight
        for hour, weight in zip(hours, normal, strict=True)
    ]
    wave = [0.0] * len(hours)
    wave_index = min(int((burst_start - hours[0]).total_seconds() // 3600) + 30, len(hours) - 1)
    wave[wave_index] = sum(normal) * wave_posts / count  # worth `wave_posts` mentions

    weights = [n + b + w for n, b, w in zip(normal, burst, wave, strict=True)]
    slots = []
    for index, slot_count in enumerate(_apportion(count, weights)):
        if slot_count:
            lo, hi = spans[index]
            weight = weights[index]
            prefix = hours[index].strftime("%Y-%m-%dT%H:")
            shares = (wave[index] / weight, (wave[index] + burst[index]) / weight)
            slots.append(_Slot(index, prefix, lo, hi, slot_count, *shares))
    return slots


def _clock_hours(start: datetime, end: datetime) -> tuple[list[datetime], list[tuple[int, int]]]:
    """The clock hours that overlap [start, end), each with its covered seconds [lo, hi)."""
    first_hour = start.replace(minute=0, second=0)
    hour_count = math.ceil((end - first_hour).total_seconds() / 3600)
    hours = [first_hour + timedelta(hours=index) for index in range(hour_count)]
    spans = [
        (max(0, int((start - hour).total_seconds())), min(3600, int((end - hour).total_seconds()))) for hour in hours
    ]
    return hours, spans


def _apportion(count: int, weights: Sequence[float]) -> list[int]:
    """Whole numbers proportional to `weights` that add up to exactly `count`."""
    total = sum(weights)
    counts, cumulative, allocated = [], 0.0, 0
    for weight in weights:
        cumulative += weight
        share = count if cumulative >= total else round(count * cumulative / total)
        counts.append(share - allocated)
        allocated = share
    return counts


# ------------------------------------------------------------------------------------- assembly

_ID_BASE = 4_900_000_000_000_000  # 16-digit ids that grow with time, like Weibo mids
_REPOST_SHARE = 0.12
_REPOST_WINDOW_HOURS = 48  # people repost what is fresh
_RING = 256  # recent posts that reposts choose a parent from
_POPULAR_FOLLOWERS = 10_000  # reposts prefer parents from accounts at least this big
_MAX_BODIES = 20_000  # pooled bodies (count / 10 up to this); prefixes and tails vary each reuse

# What a later repost needs to know about an earlier weibo mention (a plain tuple: made per mention):
# (id, text, author, body, brand hits, brand exclusions, hour posted)
_Posted = tuple[str, str, _Author, _Body, frozenset[str], frozenset[str], int]


class _Assembler:
    """Turns pooled parts into mention dicts. This is the hot path: a few random() draws, lookups
    and concatenations per mention, no text analysis."""

    def __init__(self, rng: random.Random, count: int, analysed: bool) -> None:
        self.rng = rng
        self.random = rng.random
        self.analysed = analysed
        self.scanner = _BrandScanner(BRANDS)
        self.bodies = _BodyPools(rng, self.scanner, min(max(count // 10, 600), _MAX_BODIES))
        self.wave_posts = min(2000, max(15, count // 400), count // 10)
        bots = max(20, self.wave_posts * 2)  # throwaway accounts: most post the script once
        self.authors = _AuthorPools(rng, self.scanner, max(20, count // 8), bots)
        self.big_share = max(0.002, min(0.02, 30 / max(count, 1)))  # a few 大V posts per brand even in demos
        self.special_share = self.big_share + 0.02  # 大V posts, then news-site reports
        self.everyday = self._everyday_bodies()
        self.prefixes = {key: [self._affix(t, opens_text=True) for t in ts] for key, ts in _PREFIXES.items()}
        self.tails = {label: [self._affix(t) for t in texts] for label, texts in _TAILS.items()}
        self.comments = {label: [self._affix(t) for t in texts] for label, texts in _REPOST_COMMENTS.items()}
        self.recent: list[_Posted] = []
        self.popular: list[_Posted] = []
        self.hot: list[_Posted] = []  # the incident's viral post and its reposts
        self.newest: _Posted | None = None
        self.sequence = 0
        self.hour = 0  # the slot being filled, set by the caller

    def _everyday_bodies(self) -> list[_Body]:
        """All everyday bodies in one list, each pool repeated to its share of the volume."""
        entries: list[tuple[list[_Body], float]] = [(self.bodies.chatter, CHATTER_SHARE)]
        for brand_index, brand in enumerate(BRANDS):
            for label, label_share in enumerate(brand.sentiment_mix):
                entries.append((self.bodies.regular[(brand_index, label)], brand.share * label_share))
        total = sum(len(pool) for pool, _ in entries)
        flat: list[_Body] = []
        for pool, share in entries:
            copies = share * total / len(pool)  # ~1, except for pools padded to a minimum size
            flat.extend(pool[int(index / copies)] for index in range(round(copies * len(pool))))
        return flat

    def _affix(self, text: str, *, opens_text: bool = False) -> _Affix:
        hits, blocked = self.scanner.scan(text)
        assert not hits and not blocked, f"affixes must be brand-free: {text}"
        # A prefix ending in a letter could join the body's first word into a watchlist term.
        assert not (opens_text and text and text[-1].isalnum()), f"prefix must end in punctuation: {text}"
        return _Affix(text, 1 << (_stable_hash64(text) % 64) if text else 0)

    # -- the kinds of mention

    def regular(self, created_at: str) -> dict:
        """An everyday mention: mostly a regular user's post or repost, sometimes a 大V or a news site."""
        random = self.random
        draw = random()
        if draw < self.special_share:
            if draw < self.big_share:
                return self.big_account_post(created_at)
            return self.news_report(created_at)
        author = self.authors.pick_regular()
        if author.on_weibo and random() < _REPOST_SHARE and self.recent:
            return self.repost(author, created_at)
        everyday = self.everyday
        return self.original(author, everyday[int(random() * len(everyday))], created_at)

    def news_report(self, created_at: str) -> dict:
        rng = self.rng
        author = rng.choice(self.authors.news)
        pool = self.bodies.news[(_pick_brand_index(rng), rng.choice((NEG, NEU, NEU, POS)))]
        return self.original(author, rng.choice(pool), created_at)

    def big_account_post(self, created_at: str) -> dict:
        rng = self.rng
        author = rng.choice(self.authors.big)
        brand_index = author.focus if author.focus >= 0 else rng.randrange(len(BRANDS))
        label = rng.choice((NEU, POS) if _is_official(author) else (NEG, NEU, NEU, POS))
        is_media = author.record["verified_type"] in (3, 5, 6)  # media, websites, apps write reports
        pools = self.bodies.news if is_media else self.bodies.regular
        return self.original(author, rng.choice(pools[(brand_index, label)]), created_at, boost=3.0)

    def incident(self, created_at: str) -> dict:
        """A post of the big brand's incident: the viral 大V post first, then complaints and reposts."""
        rng = self.rng
        if not self.hot or rng.random() < 0.03:
            author = rng.choice(self.authors.incident_reporters)
            viral = not self.hot
            body = rng.choice(self.bodies.incident_news)
            return self.original(author, body, created_at, boost=30.0 if viral else 3.0, viral=viral)
        author = self.authors.pick_regular()
        if author.on_weibo and rng.random() < 0.3:
            return self.repost(author, created_at, parents=self.hot)
        return self.original(author, rng.choice(self.bodies.incident), created_at)

    def wave(self, created_at: str) -> dict:
        """A 水军 post: the same script from a throwaway account, with a tiny variation at the end."""
        author = self.rng.choice(self.authors.bots)
        ending = self.rng.choice(_WAVE_ENDINGS)
        return self.original(author, self.bodies.wave, created_at, text=_WAVE_TEXT + ending)

    # -- building blocks

    def original(
        self,
        author: _Author,
        body: _Body,
        created_at: str,
        *,
        text: str | None = None,
        boost: float = 1.0,
        viral: bool = False,
    ) -> dict:
        random = self.random
        flips = 0
        if text is None:
            prefixes = self.prefixes[author.platform]
            prefix = prefixes[int(random() * len(prefixes))]
            tails = self.tails[body.label]
            tail = tails[int(random() * len(tails))]
            text = prefix.text + body.text + tail.text
            flips = prefix.flip ^ tail.flip
        mention = self._mention(author, text, created_at, body.label, boost)
        if self.analysed:
            _analyse(mention, body, body.brands, flips)
        if author.on_weibo:
            posted = (mention["id"], text, author, body, body.hits, body.blocked, self.hour)
            self._remember(posted, author, viral)
        return mention

    def repost(self, author: _Author, created_at: str, parents: list[_Posted] | None = None) -> dict:
        """A Weibo repost: comment//@parent_author:parent_text, tagged like the text it quotes."""
        random = self.random
        if parents is None:
            parents = self.popular if self.popular and random() < 0.6 else self.recent
        parent = parents[int(random() * len(parents))]
        if self.hour - parent[-1] > _REPOST_WINDOW_HOURS:  # a quiet feed: quote the newest post instead
            parent = self.newest or parent
        parent_id, parent_text, parent_author, body, parent_hits, blocked, parent_hour = parent
        comments = self.comments[body.label]
        comment = comments[int(random() * len(comments))]
        text = comment.text + "//@" + parent_author.name + ":" + parent_text
        if len(text) > MAX_TEXT or self.hour - parent_hour > _REPOST_WINDOW_HOURS:
            return self.original(author, _pick(self.rng, self.everyday), created_at)  # nothing to quote
        hits = parent_hits | parent_author.hits  # the quoted name can name a brand (official accounts)
        mention = self._mention(author, text, created_at, body.label, 1.0)
        mention["parent_id"] = parent_id
        if self.analysed:
            _analyse(mention, body, self.scanner.brands(hits, blocked), comment.flip)
        posted = (mention["id"], text, author, body, hits, blocked, self.hour)
        self._remember(posted, author, parents is self.hot)
        return mention

    def _mention(self, author: _Author, text: str, created_at: str, label: int, boost: float) -> dict:
        random = self.random
        self.sequence += 1
        number = _ID_BASE + self.sequence * 1000 + int(random() * 1000)
        key = f"{number:024x}" if author.platform == "xiaohongshu" else str(number)
        # Heavy-tailed engagement that grows with followers; complaints draw more comments and reposts.
        likes = int(author.engagement * boost * min(random() ** -0.85, 400.0))
        heat = likes * 1.6 if label == NEG else likes
        return {
            "id": author.id_prefix + key,
            "platform": author.platform,
            "url": author.url_head + key + author.url_tail,
            "text": text,
            "created_at": created_at,
            "author": author.record.copy(),
            "metrics": {
                "reposts": int(heat * (0.03 + 0.3 * random())),
                "comments": int(heat * (0.05 + 0.25 * random())),
                "likes": likes,
            },
        }

    def _remember(self, posted: _Posted, author: _Author, hot: bool) -> None:
        # Ring buffers keep the candidate parents of later reposts recent and cheap to pick from.
        self.newest = posted
        sequence = self.sequence
        if len(self.recent) < _RING:
            self.recent.append(posted)
        else:
            self.recent[sequence % _RING] = posted
        if author.record["followers"] >= _POPULAR_FOLLOWERS:
            if len(self.popular) < 64:
                self.popular.append(posted)
            else:
                self.popular[sequence % 64] = posted
        if hot and len(self.hot) < 64:
            self.hot.append(posted)


def _analyse(mention: dict, body: _Body, brands: tuple[str, ...], flips: int) -> None:
    """Add the analysis fields; fresh containers per mention so callers may mutate them."""
    negative, neutral, positive = body.probs
    mention["sentiment"] = {
        "label": LABELS[body.label],
        "probs": {"negative": negative, "neutral": neutral, "positive": positive},
    }
    mention["keywords"] = list(body.keywords)
    mention["brands"] = list(brands)
    mention["simhash"] = f"{body.simhash ^ flips:016x}"


_BRAND_INDEX_TABLE = _weighted_table([(index, brand.share) for index, brand in enumerate(BRANDS)])


def _pick_brand_index(rng: random.Random) -> int:
    return _BRAND_INDEX_TABLE[int(rng.random() * len(_BRAND_INDEX_TABLE))]


# ------------------------------------------------------------------------------------ public API


def generate_mentions(
    count: int,
    *,
    seed: int = 7,
    end: datetime | None = None,
    days: int = 90,
    analysed: bool = True,
) -> Iterator[dict]:
    """Yield `count` synthetic mentions (DESIGN 4.3 dicts) in time order over [end - days, end).

    The same arguments always give the same mentions. `end` defaults to the current hour in
    Beijing time; a naive `end` is taken as Beijing time. With `analysed=False` the analysis fields
    (sentiment, keywords, brands, simhash) are left out and everything else is unchanged.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if days <= 0:
        raise ValueError(f"days must be > 0, got {days}")
    return _generate(count, seed, _normalise_end(end), days, analysed)


def _generate(count: int, seed: int, end: datetime, days: float, analysed: bool) -> Iterator[dict]:
    if count == 0:
        return
    rng = random.Random(seed)
    assembler = _Assembler(rng, count, analysed)
    random_float = rng.random
    for slot in _timeline(count, end, days, assembler.wave_posts):
        assembler.hour = slot.hour
        first, span = slot.first_second, slot.last_second - slot.first_second
        seconds = sorted(first + int(random_float() * span) for _ in range(slot.count))
        for second in seconds:
            created_at = slot.prefix + _MINUTE_SECOND_OFFSET[second]
            draw = random_float()
            if draw < slot.wave_share:
                yield assembler.wave(created_at)
            elif draw < slot.burst_share:
                yield assembler.incident(created_at)
            else:
                yield assembler.regular(created_at)


def write_jsonl(path: Path, mentions: Iterable[dict]) -> int:
    """Write one JSON object per line (UTF-8, orjson); return the number of lines written."""
    written = 0
    with Path(path).open("wb") as out:
        for mention in mentions:
            out.write(orjson.dumps(mention, option=orjson.OPT_APPEND_NEWLINE))
            written += 1
    return written
