"""News feeds and article pages read into post dicts: crawlers.spiders.news_shapes, no network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawlers.spiders.news_shapes import (
    MAX_TEXT_CHARS,
    FeedError,
    article_id,
    canonical_url,
    decode_html,
    extract_article,
    parse_feed,
    parse_feed_time,
    post_from_article,
)
from nlp.analyzer import Analyzer
from nlp.simhash import hamming
from sandbox.news import NewsReplica, _page

BEIJING = timezone(timedelta(hours=8))
FEED_URL = "https://news.example.com/rss/finance.xml"

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>云江晨报网</title><link>https://news.example.com/</link>
<item><title>启航汽车发布新车</title><link>https://news.example.com/a/1.html</link>
  <pubDate>Wed, 26 Nov 2025 20:20:02 +0800</pubDate><description>摘要</description></item>
<item><title>相对链接</title><link>/a/2.html</link><pubDate>Wed, 26 Nov 2025 12:00:00 GMT</pubDate></item>
<item><title>guid</title><guid>https://news.example.com/a/3.html</guid><pubDate>2025-11-26 08:30:00</pubDate></item>
<item><title>没有时间</title><link>https://news.example.com/a/4.html</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>科技前哨网</title><id>urn:x</id>
<entry><title>星河手机更新</title><link rel="self" href="https://t.example.com/self/1"/>
  <link rel="alternate" href="https://t.example.com/a/1.html"/>
  <published>2025-11-26T09:15:00+08:00</published><updated>2025-11-27T10:00:00Z</updated></entry>
<entry><title>只有 updated</title><link href="a/2.html"/><updated>2025-11-27T10:00:00Z</updated></entry>
<entry><title>不带时区</title><link href="https://t.example.com/a/3.html"/><published>2025-11-26T09:15:00</published></entry>
</feed>"""


def test_rss_items_with_rfc822_naive_and_missing_times() -> None:
    feed = parse_feed(RSS.encode(), FEED_URL)
    assert feed.title == "云江晨报网"
    urls = [item.url for item in feed.items]
    assert urls == [f"https://news.example.com/a/{n}.html" for n in (1, 2, 3, 4)]  # the relative link joined
    first, second, third, fourth = feed.items
    assert first.title == "启航汽车发布新车" and first.summary == "摘要"
    assert first.published == datetime(2025, 11, 26, 20, 20, 2, tzinfo=BEIJING)
    assert first.published is not None and first.published.utcoffset() == timedelta(hours=8)
    assert second.published == datetime(2025, 11, 26, 12, 0, tzinfo=UTC)
    assert third.published == datetime(2025, 11, 26, 8, 30, tzinfo=BEIJING)  # no zone: Beijing time
    assert third.published is not None and third.published.utcoffset() == timedelta(hours=8)
    assert fourth.published is None


def test_atom_entries_take_the_alternate_link_and_published_time() -> None:
    feed = parse_feed(ATOM.encode(), "https://t.example.com/feeds/atom.xml")
    assert feed.title == "科技前哨网"
    first, second, third = feed.items
    assert first.url == "https://t.example.com/a/1.html" and first.title == "星河手机更新"
    assert first.published == datetime(2025, 11, 26, 9, 15, tzinfo=BEIJING)
    assert second.url == "https://t.example.com/feeds/a/2.html"
    assert second.published == datetime(2025, 11, 27, 10, 0, tzinfo=UTC)
    assert third.published is not None and third.published.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed, 26 Nov 2025 20:20:02 +0800", datetime(2025, 11, 26, 12, 20, 2, tzinfo=UTC)),
        ("26 Nov 2025 20:20:02 +0800", datetime(2025, 11, 26, 12, 20, 2, tzinfo=UTC)),
        ("Wed, 26 Nov 2025 20:20:02 -0000", datetime(2025, 11, 26, 12, 20, 2, tzinfo=UTC)),  # unknown zone: Beijing
        ("2025-11-26T20:20:02+08:00", datetime(2025, 11, 26, 12, 20, 2, tzinfo=UTC)),
        ("2025-11-26T12:20:02Z", datetime(2025, 11, 26, 12, 20, 2, tzinfo=UTC)),
        ("2025/11/26 20:20", datetime(2025, 11, 26, 12, 20, tzinfo=UTC)),
    ],
)
def test_feed_times(text: str, expected: datetime) -> None:
    assert parse_feed_time(text) == expected


def test_an_unreadable_time_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown feed time format"):
        parse_feed_time("上周三")


def test_a_gbk_feed_declared_in_its_xml_declaration() -> None:
    body = RSS.replace('encoding="utf-8"', 'encoding="gb2312"').encode("gbk")
    feed = parse_feed(body, FEED_URL, "application/rss+xml")
    assert feed.title == "云江晨报网" and feed.items[0].title == "启航汽车发布新车"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><rss><channel><title>&lol;</title></channel></rss>',
        b'<?xml version="1.0"?>\n<!doctype rss SYSTEM "file:///etc/passwd"><rss><channel/></rss>',
    ],
)
def test_a_doctype_or_entity_declaration_is_refused(body: bytes) -> None:
    with pytest.raises(FeedError, match="DOCTYPE/ENTITY") as caught:
        parse_feed(body, FEED_URL)
    assert FEED_URL in str(caught.value)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            b"<html><body>\xe8\xaf\xb7\xe5\xae\x8c\xe6\x88\x90\xe9\xaa\x8c\xe8\xaf\x81</body>",
            "not an RSS/Atom feed — not XML",
        ),
        (RSS.encode()[:300], "not an RSS/Atom feed — not XML"),
        (b"<html><body><p>\xe8\xaf\xb7</p></body></html>", "the document is <html> \\(an HTML page"),
        (b"<urlset><url/></urlset>", "not an RSS/Atom feed — the document is <urlset>"),
    ],
)
def test_a_body_that_is_not_a_feed_names_the_feed(body: bytes, words: str) -> None:
    with pytest.raises(FeedError, match=words) as caught:
        parse_feed(body, FEED_URL)
    assert FEED_URL in str(caught.value)


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>启航汽车发布新车_云江晨报网</title>
<script>document.write("<p>脚本里的段落不是正文，脚本里的段落不是正文，脚本里的段落不是正文</p>")</script>
<style>p { color: red }</style></head><body>
<header><nav><ul><li><a href="/">首页</a></li></ul>
<p>热门搜索：新能源 手机 外卖 奶茶 美妆 数码 家电 旅游 房产 教育 热门搜索 热门搜索 热门搜索</p></nav></header>
<main><article><h1>启航汽车发布新车</h1><p>启航汽车今天发布了新车。</p><p>新车续航<br>超过六百公里。
<div class="share-bar"><p>分享到：微信 微博 QQ空间</p></div></article>
<div class="ad-box"><p>广告：限时特惠，广告：限时特惠，广告：限时特惠，广告：限时特惠，广告：限时特惠</p></div></main>
<footer><p>Copyright © 2025 云江晨报网 All Rights Reserved 京ICP备00000000号 关于我们 联系我们 广告服务</p></footer>
</body></html>"""


def test_the_article_is_extracted_without_nav_scripts_ads_or_footer() -> None:
    title, body = extract_article(PAGE)
    assert title == "启航汽车发布新车"
    assert body == "启航汽车今天发布了新车。\n新车续航 超过六百公里。"


def test_without_article_the_block_with_most_paragraph_text_wins() -> None:
    page = (
        "<html><body><div id='nav'><p>首页</p><p>财经</p><p>科技</p></div>"
        "<div id='main'><div class='txt'><p>第一段正文内容比较长，讲述了事情的来龙去脉。</p>"
        "<p>第二段正文内容也很长，介绍了各方的回应与后续。</p></div>"
        "<div class='hot'><p>热点：本周要闻</p><p>热点：假期指南</p></div></div></body></html>"
    )
    _, body = extract_article(page)
    assert body == "第一段正文内容比较长，讲述了事情的来龙去脉。\n第二段正文内容也很长，介绍了各方的回应与后续。"


def test_gbk_pages_decode_from_the_header_or_the_meta_tag() -> None:
    page = PAGE.replace('charset="utf-8"', 'charset="gbk"').replace("©", "(c)")
    body = page.encode("gbk")
    assert decode_html(body, "text/html") == page  # no charset in the header: <meta> says gbk
    assert decode_html(body, "text/html; charset=GB2312") == page
    assert decode_html(body, None) == page
    bare = "<html><body><p>没有声明编码的中文页面</p></body></html>"
    assert decode_html(bare.encode("gbk"), None) == bare  # undeclared and not UTF-8: GBK
    assert decode_html(bare.encode("utf-8"), None) == bare


def test_an_article_post_has_the_design_fields() -> None:
    published = datetime(2025, 11, 26, 20, 20, 2, tzinfo=BEIJING)
    url = "https://News.Example.com/a/1.html?utm_source=rss#top"
    post = post_from_article(
        url=url, title="启航汽车发布新车", body="正文", published=published, feed_url=FEED_URL, feed_title="云江晨报网"
    )
    assert post["id"] == article_id("https://news.example.com/a/1.html")
    assert post["id"].startswith("news:") and len(post["id"]) == len("news:") + 20
    assert canonical_url(url) == "https://news.example.com/a/1.html"
    assert post["platform"] == "news" and post["kind"] == "article" and post["url"] == url
    assert post["text"] == "启航汽车发布新车\n正文"
    assert post["created_at"] == "2025-11-26T20:20:02+08:00"
    assert post["author"] == {"id": "news:news.example.com", "name": "云江晨报网"}
    assert post["metrics"] == {"reposts": 0, "comments": 0, "likes": 0}
    assert post["source_feed"] == FEED_URL
    untitled = post_from_article(
        url=url, title="t", body="长" * 30_000, published=published, feed_url=FEED_URL, feed_title=""
    )
    assert len(untitled["text"]) == MAX_TEXT_CHARS and untitled["author"]["name"] == "news.example.com"


def test_syndicated_copies_get_simhashes_within_three_bits() -> None:
    replica = NewsReplica(posts=300)
    copies = [article for article in replica.articles if article.syndicated]
    assert len({article.site for article in copies}) == 2
    texts = []
    for article in copies:  # as the crawler reads them: each site's page, its own layout
        title, body = extract_article(_page(article))
        texts.append(title + "\n" + body)
    edited = texts[0].replace("今日", "今天")  # a copy-editor's touch on a third site
    first, second, third = Analyzer().analyze([*texts, edited])
    assert hamming(first.simhash, second.simhash) <= 3
    assert hamming(first.simhash, third.simhash) <= 3
