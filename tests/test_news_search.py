"""Reading news sites' search pages and the articles they lead to (crawlers.spiders.news_search)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crawlers.spiders.news_search import page_site_name, page_time, read_search_page, search_page_url

PAGE_URL = "https://news.example.cn/search?q=%E5%90%AF%E8%88%AA%E6%B1%BD%E8%BD%A6"
BEIJING = timezone(timedelta(hours=8))

RESULTS = """<html><head><title>启航汽车 - 搜索结果_示例新闻网</title></head><body>
<header><nav><a href="/auto/">汽车频道 启航汽车专区</a></nav></header>
<ul class="list">
  <li><h3><a href="/a/1.html">启航<em>汽车</em>回应刹车异响</a></h3><p>……</p></li>
  <li><h3><a href="/a/2.html">新能源车市周报</a></h3><p>本周<em>启航汽车</em>销量上涨……</p></li>
  <li><h3><a href="/a/3.html">本市今冬首场降雪</a></h3><p>气象部门预计……</p></li>
  <li><h3><a href="/a/1.html#comments">启航汽车回应刹车异响（评论）</a></h3><p>启航汽车</p></li>
  <li><a href="javascript:void(0)">启航汽车 收藏</a></li>
</ul>
<div class="related"><ul><li><a href="/search?q=启航汽车+召回">启航汽车 召回</a></li></ul></div>
<div class="pages"><a href="/search?q=x&amp;page=1">1</a> <a href="/search?q=x&amp;page=2">下一页</a></div>
<footer><a href="/about">关于启航汽车报道</a></footer>
</body></html>"""


def test_results_are_links_whose_item_holds_the_term_in_title_or_snippet() -> None:
    page = read_search_page(RESULTS, PAGE_URL, "启航汽车")
    assert page.results == [
        ("https://news.example.cn/a/1.html", "启航汽车回应刹车异响"),  # <em> inside the title read through
        ("https://news.example.cn/a/2.html", "新能源车市周报"),  # the term only in the snippet
    ]  # /a/1.html#comments is the first article again
    assert page.next_url == "https://news.example.cn/search?q=x&page=2"


def test_navigation_related_searches_and_paging_are_not_results() -> None:
    urls = [url for url, _ in read_search_page(RESULTS, PAGE_URL, "启航汽车").results]
    assert not any("/auto/" in url or "/search" in url or "/about" in url or "javascript" in url for url in urls)


def test_a_last_page_has_no_next_and_case_and_width_are_folded() -> None:
    html = '<ul><li><a href="https://other.example/x">ＧＡＬＡＸＡ new phone</a></li></ul>'
    page = read_search_page(html, PAGE_URL, "galaxa")
    assert page.results == [("https://other.example/x", "ＧＡＬＡＸＡ new phone")] and page.next_url is None


def test_search_page_urls_carry_the_term_encoded() -> None:
    assert search_page_url("https://s.example/s?wd={query}&tn=news", "星河 X5") == (
        "https://s.example/s?wd=%E6%98%9F%E6%B2%B3%20X5&tn=news"
    )


def test_the_article_time_comes_from_meta_time_tag_or_the_byline() -> None:
    meta = '<meta property="article:published_time" content="2026-11-26T20:20:00+08:00">'
    assert page_time(meta) == datetime(2026, 11, 26, 20, 20, tzinfo=BEIJING)
    assert page_time('<time datetime="2026-11-26T12:20:00Z">昨天</time>') == datetime(
        2026, 11, 26, 20, 20, tzinfo=BEIJING
    )
    byline = "<div class='info'><span>2026年11月26日 20:20</span> 来源：示例新闻网</div>"
    assert page_time(byline) == datetime(2026, 11, 26, 20, 20, tzinfo=BEIJING)  # zone-less: Beijing time
    assert page_time("<p>2026-11-26 9:05:30 发布</p>") == datetime(2026, 11, 26, 9, 5, 30, tzinfo=BEIJING)
    assert page_time("<p>没有日期</p>") is None and page_time("<p>2026-13-45 25:99</p>") is None


def test_the_site_name_is_og_site_name_else_the_title_suffix_else_the_host() -> None:
    assert page_site_name('<meta property="og:site_name" content="示例新闻网">', PAGE_URL) == "示例新闻网"
    assert page_site_name("<title>启航汽车回应_云江晨报网</title>", PAGE_URL) == "云江晨报网"
    assert page_site_name("<title>星河X5-Pro 评测 - 科技前哨网</title>", PAGE_URL) == "科技前哨网"
    assert page_site_name("<title>星河X5-Pro评测</title>", PAGE_URL) == "news.example.cn"
