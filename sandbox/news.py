"""Three invented news sites with RSS/Atom feeds and article pages, shaped like Chinese news sites.

* 云江晨报网 ``/news/yunjiang/rss.xml``: RSS 2.0 in UTF-8, ``pubDate`` in RFC 822 with ``+0800``;
  its pages put the text in an ``<article>``;
* 潮汐财经网 ``/news/chaoxi/rss.xml``: RSS 2.0 in GBK (declared in the XML declaration only), with
  ``pubDate`` as a plain ``2025-11-26 20:20:02`` (Beijing time, no zone); its pages are GBK with
  ``<meta charset="gbk">``, an HTTP header without charset, and no ``<article>``: the text sits in
  nested ``<div>``s beside a sidebar of short paragraphs;
* 科技前哨网 ``/news/qianshao/atom.xml``: Atom, ISO 8601 times.

云江晨报网 and 潮汐财经网 also have a site search, ``/news/<site>/search?q=…&page=N``: ten results a page,
newest first, the term highlighted with ``<em>`` in titles and snippets (some results match in the
snippet only), "相关搜索" links to other searches, and a 下一页 link while more results follow.

Every page wraps the text in navigation, a header, a share bar, ads with scripts and a footer.
Articles come from :func:`fengxiang.synthetic.generate_mentions` (its ``news`` mentions), plus one
article syndicated verbatim on two sites and a few articles about nothing on the watchlist.

Fault modes (the server's switch; news sites refuse differently from Weibo): ``http418`` → HTTP 403,
``http432`` and ``busy`` → HTTP 429, ``login``/``visitor`` → a verification page (HTML, not a feed),
``truncated`` → the body cut in half.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from urllib.parse import quote

from fengxiang.synthetic import BEIJING
from sandbox.clock import highlight
from sandbox.scenario import platform_mentions
from sandbox.server import Handler, Request, Response

__all__ = ["SITES", "NewsArticle", "NewsReplica", "NewsSite"]


@dataclass(frozen=True)
class NewsSite:
    key: str
    name: str
    feed_kind: str  # rss | atom
    encoding: str
    article_tag: bool  # the page puts the text in <article>
    searchable: bool  # the site has its own search page

    @property
    def feed_path(self) -> str:
        return f"/news/{self.key}/{'atom' if self.feed_kind == 'atom' else 'rss'}.xml"

    @property
    def search_path(self) -> str:
        return f"/news/{self.key}/search"


SITES = (
    NewsSite("yunjiang", "云江晨报网", "rss", "utf-8", True, True),
    NewsSite("chaoxi", "潮汐财经网", "rss", "gbk", False, True),
    NewsSite("qianshao", "科技前哨网", "atom", "utf-8", True, False),
)
SEARCH_PAGE_SIZE = 10


@dataclass(frozen=True)
class NewsArticle:
    site: NewsSite
    number: int
    title: str
    paragraphs: tuple[str, ...]
    published: datetime
    syndicated: bool = False

    @property
    def path(self) -> str:
        return f"/news/{self.site.key}/a/{self.number}.html"

    @property
    def text(self) -> str:
        """What a crawler should read from the page: the title, then the body."""
        return self.title + "\n" + "\n".join(self.paragraphs)


_PREFIXES = ("【快讯】", "据媒体报道，", "记者获悉，")
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")
_FILLERS = (
    "业内人士分析认为，相关事件仍在持续发酵，后续进展本报将继续关注。",
    "截至发稿时，涉事企业尚未就此作出进一步回应，本报记者已发函询问。",
    "多位受访消费者表示，希望企业能够尽快给出明确说法，并保障自身合法权益。",
    "有分析人士指出，行业竞争日趋激烈，企业在产品与服务上的细节越来越受到关注。",
)
_UNRELATED = (
    (
        "本市今冬首场降雪预计周末到来",
        (
            "气象部门预计，受冷空气影响，本周末本市将迎来今冬首场降雪。",
            "交通部门提醒市民出行注意安全，尽量选择公共交通。",
        ),
    ),
    (
        "城东新图书馆正式开放 藏书逾五十万册",
        ("位于城东的新图书馆今日正式对公众开放，馆内藏书逾五十万册。", "开放首日吸引了大批市民前往参观借阅。"),
    ),
)
_SYNDICATED = (
    "星河手机发布秋季系统更新 多项功能升级",
    (
        "星河手机今日发布秋季系统更新，续航管理、影像算法和隐私保护等多项功能迎来升级。",
        "官方介绍，本次更新将分批推送，星河X5和星河Note系列用户将率先收到升级提示。",
        "有用户在社交平台表示，升级后机身发热情况有所改善，但部分应用仍需适配。",
        "据了解，本次更新还优化了系统动画和后台管理，日常使用更加流畅。",
        "业内人士认为，系统体验正成为手机厂商竞争的新焦点，软件更新的节奏和质量越来越受到用户重视。",
        "星河手机方面表示，后续还将根据用户反馈持续优化，并在年底前推出新一轮功能更新。",
    ),
)


def _article_from_mention(site: NewsSite, number: int, mention: dict, index: int) -> NewsArticle:
    text = _EMOTICON.sub("", mention["text"]).strip()
    for prefix in _PREFIXES:
        text = text.removeprefix(prefix)
    first = re.split(r"[。！？]", text, maxsplit=1)[0]
    title = re.split(r"[，,]", first, maxsplit=1)[0][:28] if len(first) > 28 else first
    paragraphs = (text, _FILLERS[index % len(_FILLERS)], _FILLERS[(index + 1) % len(_FILLERS)])
    return NewsArticle(site, number, title, paragraphs, datetime.fromisoformat(mention["created_at"]))


class NewsReplica:
    """The three sites, their feeds and their article pages."""

    def __init__(
        self,
        posts: int = 1500,
        *,
        seed: int = 7,
        days: float = 3,
        end: datetime | None = None,
        search_page_size: int = SEARCH_PAGE_SIZE,
    ) -> None:
        self.search_page_size = search_page_size
        _, mentions = platform_mentions("news", posts, seed=seed, days=days, now=end)
        now = max((datetime.fromisoformat(m["created_at"]) for m in mentions), default=datetime.now(BEIJING))
        self.base_url = ""
        self.articles: list[NewsArticle] = []
        numbers = {site.key: 1000 for site in SITES}

        def add(
            site: NewsSite, title: str, paragraphs: tuple[str, ...], published: datetime, syndicated: bool = False
        ) -> None:
            numbers[site.key] += 1
            self.articles.append(NewsArticle(site, numbers[site.key], title, paragraphs, published, syndicated))

        for index, mention in enumerate(mentions):
            site = SITES[index % len(SITES)]
            numbers[site.key] += 1
            self.articles.append(_article_from_mention(site, numbers[site.key], mention, index))
        for index, site in enumerate(SITES):
            title, paragraphs = _UNRELATED[index % len(_UNRELATED)]
            add(site, title, paragraphs, now - timedelta(hours=2 + index))
        published = now.astimezone(BEIJING).replace(microsecond=0) - timedelta(hours=5)
        add(SITES[0], *_SYNDICATED, published, syndicated=True)  # verbatim on two sites
        add(SITES[2], *_SYNDICATED, published + timedelta(minutes=40), syndicated=True)

    def bind(self, base_url: str) -> None:
        self.base_url = base_url

    def feed_urls(self) -> list[str]:
        return [self.base_url + site.feed_path for site in SITES]

    def search_templates(self) -> list[str]:
        """``sources.news.search_pages`` for the sites that have a search."""
        return [f"{self.base_url}{site.search_path}?q={{query}}" for site in SITES if site.searchable]

    def search(self, site: NewsSite, term: str) -> list[NewsArticle]:
        """The site's articles holding ``term`` (case folded), newest first, as its search lists them."""
        needle = term.strip().lower()
        return [article for article in self.site_articles(site) if needle and needle in article.text.lower()]

    def site_articles(self, site: NewsSite) -> list[NewsArticle]:
        """Newest first, the order feeds list them in."""
        return sorted((a for a in self.articles if a.site == site), key=lambda a: a.published, reverse=True)

    # -- routes -------------------------------------------------------------------------------

    def routes(self) -> dict[str, Handler]:
        routes: dict[str, Handler] = {}
        for site in SITES:
            routes[site.feed_path] = self._feed_handler(site)
            routes[f"/news/{site.key}/a/*"] = self._page_handler(site)
            if site.searchable:
                routes[site.search_path] = self._search_handler(site)
        return routes

    def _feed_handler(self, site: NewsSite) -> Handler:
        def handle(_request: Request) -> Response:
            text = self._atom(site) if site.feed_kind == "atom" else self._rss(site)
            content_type = "application/atom+xml" if site.feed_kind == "atom" else "application/rss+xml"
            if site.encoding == "utf-8":
                content_type += "; charset=utf-8"
            return Response(body=text.encode(site.encoding, errors="xmlcharrefreplace"), content_type=content_type)

        return handle

    def _page_handler(self, site: NewsSite) -> Handler:
        by_path = {article.path: article for article in self.articles if article.site == site}

        def handle(request: Request) -> Response:
            article = by_path.get(request.path)
            if article is None:
                return Response.html("<html><body><h1>404 页面不存在</h1></body></html>", status=404)
            page = _page(article)
            if site.encoding == "utf-8":
                return Response.html(page)
            return Response(body=page.encode(site.encoding, errors="xmlcharrefreplace"), content_type="text/html")

        return handle

    def _search_handler(self, site: NewsSite) -> Handler:
        def handle(request: Request) -> Response:
            term = request.query.get("q", "")
            try:
                page = max(int(request.query.get("page") or 1), 1)
            except ValueError:
                page = 1
            found = self.search(site, term)
            size = self.search_page_size
            text = _search_page(site, term, page, found[(page - 1) * size : page * size], page * size < len(found))
            return Response(body=text.encode(site.encoding, errors="xmlcharrefreplace"), content_type="text/html")

        return handle

    def fault_response(self, mode: str, normal: Response) -> Response:
        if mode == "http418":
            return Response.html("<html><body><h1>403 Forbidden</h1></body></html>", status=403)
        if mode in ("http432", "busy"):
            return Response.html("<html><body><h1>429 Too Many Requests</h1></body></html>", status=429)
        if mode in ("login", "visitor"):
            return Response.html(
                "<html><head><title>安全验证</title></head><body>请完成滑块验证后继续访问</body></html>"
            )
        if mode == "truncated":
            return Response(normal.status, normal.body[: len(normal.body) // 2], normal.content_type, normal.headers)
        return normal

    # -- rendering ----------------------------------------------------------------------------

    def _rss(self, site: NewsSite) -> str:
        items = []
        for article in self.site_articles(site):
            local = article.published.astimezone(BEIJING)
            date = f"{local:%Y-%m-%d %H:%M:%S}" if site.encoding != "utf-8" else format_datetime(local)
            link = self.base_url + article.path
            items.append(
                f"<item><title>{_x(article.title)}</title><link>{_x(link)}</link>"
                f'<guid isPermaLink="true">{_x(link)}</guid><pubDate>{date}</pubDate>'
                f"<description>{_x(article.paragraphs[0][:60])}</description></item>"
            )
        return (
            f'<?xml version="1.0" encoding="{site.encoding}"?>\n<rss version="2.0"><channel>'
            f"<title>{_x(site.name)}</title><link>{_x(self.base_url)}/news/{site.key}/</link>"
            f"<description>{_x(site.name)}最新新闻</description><language>zh-cn</language>"
            + "".join(items)
            + "</channel></rss>"
        )

    def _atom(self, site: NewsSite) -> str:
        entries = []
        articles = self.site_articles(site)
        for article in articles:
            link = self.base_url + article.path
            when = article.published.astimezone(BEIJING).isoformat()
            entries.append(
                f'<entry><title>{_x(article.title)}</title><link rel="alternate" href="{_x(link)}"/>'
                f"<id>{_x(link)}</id><published>{when}</published><updated>{when}</updated>"
                f"<summary>{_x(article.paragraphs[0][:60])}</summary></entry>"
            )
        updated = articles[0].published.astimezone(BEIJING).isoformat() if articles else ""
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{_x(site.name)}</title><id>{_x(self.base_url)}/news/{site.key}/</id><updated>{updated}</updated>"
            f'<link rel="self" href="{_x(self.base_url + site.feed_path)}"/>' + "".join(entries) + "</feed>"
        )


def _x(text: str) -> str:
    return html.escape(text, quote=True)


_NAV = "".join(
    f'<li><a href="/news/{{key}}/{slug}/">{name}</a></li>'
    for slug, name in (
        ("", "首页"),
        ("finance", "财经"),
        ("tech", "科技"),
        ("auto", "汽车"),
        ("life", "生活"),
        ("video", "视频"),
    )
)
_AD = (
    '<div class="ad-box"><script>window._ads=window._ads||[];_ads.push({{slot:"{key}-mid"}});'
    'document.write("<p>广告：限时特惠，点击领取优惠券</p>");</script>'
    "<p>广告 · 买车就上车多多，万款新车低至五折，点击立即咨询</p></div>"
)
_FOOTER = (
    "<footer><p>关于我们 | 联系我们 | 广告服务 | 版权声明 | 违法和不良信息举报电话：010-00000000</p>"
    "<p>Copyright © 2025 {name} All Rights Reserved 京ICP备00000000号</p></footer>"
)


def _page(article: NewsArticle) -> str:
    site = article.site
    local = article.published.astimezone(BEIJING)
    paragraphs = "".join(f"<p>{_x(p)}</p>" for p in article.paragraphs)
    meta = '<meta charset="utf-8">' if site.encoding == "utf-8" else f'<meta charset="{site.encoding}">'
    head = (
        f'<!doctype html><html lang="zh-CN"><head>{meta}<title>{_x(article.title)}_{_x(site.name)}</title>'
        "<style>.nav li{display:inline} p{line-height:1.8}</style>"
        '<script>var _hmt=_hmt||[];(function(){var hm=document.createElement("script");})();</script></head><body>'
        f'<header><div class="logo">{_x(site.name)}</div><nav><ul>{_NAV.format(key=site.key)}</ul>'
        "<p>热门搜索：新能源 手机 外卖 奶茶 美妆 数码 家电 旅游 房产 教育</p></nav></header>"
    )
    byline = f'<div class="info"><span>{local:%Y-%m-%d %H:%M}</span> <span>来源：{_x(site.name)}</span></div>'
    share = '<div class="share-bar"><p>分享到：微信 微博 QQ空间 复制链接</p></div>'
    if site.article_tag:
        main = (
            f"<main><article><h1>{_x(article.title)}</h1>{byline}{paragraphs}{share}</article>"
            f"{_AD.format(key=site.key)}</main>"
        )
    else:
        sidebar = "".join(
            f"<p>{_x(t)}</p>" for t in ("热点：本周财经要闻回顾", "热点：楼市成交数据出炉", "热点：假期出行指南")
        )
        main = (
            f'<div id="main"><div class="left"><h1>{_x(article.title)}</h1>{byline}<div class="txt">{paragraphs}</div>'
            f'{share}</div><div class="right"><div class="hot">{sidebar}</div>{_AD.format(key=site.key)}</div></div>'
        )
    return head + main + _FOOTER.format(name=_x(site.name)) + "</body></html>"


def _search_page(site: NewsSite, term: str, page: int, articles: list[NewsArticle], more: bool) -> str:
    items = []
    for article in articles:
        local = article.published.astimezone(BEIJING)
        snippet = next((p for p in article.paragraphs if term.lower() in p.lower()), article.paragraphs[0])[:80]
        items.append(
            f'<li class="result"><h3><a href="{article.path}" target="_blank">'
            f"{highlight(article.title, term)}</a></h3>"
            f'<p class="summary">{highlight(snippet, term)}…</p><span class="time">{local:%Y-%m-%d %H:%M}</span></li>'
        )
    related = "".join(
        f'<li><a href="{site.search_path}?q={quote(term + extra)}">{_x(term + extra)}</a></li>'
        for extra in (" 最新消息", " 回应")
    )
    paging = f'<a href="{site.search_path}?q={quote(term)}&amp;page={page + 1}">下一页</a>' if more else ""
    meta = '<meta charset="utf-8">' if site.encoding == "utf-8" else f'<meta charset="{site.encoding}">'
    return (
        f'<!doctype html><html lang="zh-CN"><head>{meta}'
        f"<title>{_x(term)} - 搜索结果_{_x(site.name)}</title></head><body>"
        f'<header><div class="logo">{_x(site.name)}</div><nav><ul>{_NAV.format(key=site.key)}</ul></nav></header>'
        f'<div class="search-box"><form action="{site.search_path}"><input name="q" value="{_x(term)}"></form></div>'
        f'<ul class="result-list">{"".join(items) or "<li>抱歉，没有找到相关结果</li>"}</ul>'
        f'<div class="related"><span>相关搜索</span><ul>{related}</ul></div>'
        f'<div class="pages">{paging}</div>' + _FOOTER.format(name=_x(site.name)) + "</body></html>"
    )
