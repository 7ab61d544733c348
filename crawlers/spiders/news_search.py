"""News sites' own search pages: which links are results, where the next page is, and when an
article found that way was published. Pure functions, no Scrapy.

A site's search page is configured as a URL template (``sources.news.search_pages``, with
``{query}`` where the search term goes). Search pages differ from site to site, so results are found
by what they share rather than by one site's markup: a result is a link whose own list item or
block (``<li>``, ``<div>``, ``<dd>``…) holds the search term — in the title or in the highlighted
snippet under it — while navigation, headers and footers are skipped and links back to the search
page itself ("相关搜索", paging) are not results. An article found by search has no feed date: its
time comes from the article page (``article:published_time``, ``<time datetime>``, or the first
``2025-11-26 20:20`` / ``2025年11月26日 20:20`` in the page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from crawlers.spiders.news_shapes import parse_feed_time
from fengxiang.textmatch import fold

__all__ = ["QUERY_PLACEHOLDER", "SearchPage", "page_site_name", "page_time", "read_search_page", "search_page_url"]

QUERY_PLACEHOLDER = "{query}"
_BLOCKS = {"li", "div", "dd", "dt", "article", "section", "tr", "td"}
_SKIPPED = {"script", "style", "nav", "header", "footer", "noscript", "template", "svg"}
_NEXT_TEXTS = {"下一页", "下页", "下一页>", "下一页 >", "›", "»", "next", "next page"}
_META_TIME = re.compile(
    r"""<meta[^>]+(?:property|name|itemprop)\s*=\s*["'](?:article:published_time|pubdate|publishdate|datePublished)["']"""
    r"""[^>]*content\s*=\s*["']([^"']+)["']""",
    re.IGNORECASE,
)
_TIME_TAG = re.compile(r"""<time[^>]+datetime\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_TEXT_TIME = re.compile(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?")
_SITE_NAME = re.compile(r"""<meta[^>]+property\s*=\s*["']og:site_name["'][^>]*content\s*=\s*["']([^"']+)["']""", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TITLE_SEPARATORS = re.compile(r"\s*[_|｜]\s*|\s+[-–—]\s+")  # "标题_站名", "标题 - 站名", not "X5-Pro"


def search_page_url(template: str, term: str) -> str:
    return template.replace(QUERY_PLACEHOLDER, quote(term, safe=""))


@dataclass
class SearchPage:
    results: list[tuple[str, str]] = field(default_factory=list)  # (article URL, its link text), page order
    next_url: str | None = None


@dataclass
class _Link:
    href: str
    block: int  # the innermost block holding the link
    rel: str
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.parts)).strip()


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, int]] = []  # (tag, block id or -1)
        self.block_texts: dict[int, list[str]] = {0: []}
        self.links: list[_Link] = []
        self.link: _Link | None = None
        self.skipping = 0

    def _innermost_block(self) -> int:
        return next((ident for _, ident in reversed(self.open) if ident >= 0), 0)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "img", "meta", "link", "hr", "input", "wbr"):
            return
        ident = -1
        if tag in _BLOCKS:
            ident = len(self.block_texts)
            self.block_texts[ident] = []
        self.open.append((tag, ident))
        if self.skipping or tag in _SKIPPED:
            self.skipping += 1
            return
        if tag == "a":
            values = dict(attrs)
            self.link = _Link(values.get("href") or "", self._innermost_block(), (values.get("rel") or "").lower())
            self.links.append(self.link)

    def handle_endtag(self, tag: str) -> None:
        if tag not in (name for name, _ in self.open):
            return  # a stray end tag
        while self.open:
            name, _ = self.open.pop()
            if self.skipping:
                self.skipping -= 1
            if name == "a":
                self.link = None
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.block_texts[self._innermost_block()].append(data)
        if self.link is not None:
            self.link.parts.append(data)


def read_search_page(html_text: str, page_url: str, term: str) -> SearchPage:
    """The result links of one search page for ``term`` (absolute http(s) URLs, each once) and the next page."""
    parser = _LinkParser()
    parser.feed(html_text)
    parser.close()
    needle = fold(term)
    search_path = urlsplit(page_url).path
    page = SearchPage()
    seen: set[str] = set()
    for link in parser.links:
        url = urldefrag(urljoin(page_url, link.href.strip())).url  # "#comments" is the same article
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            continue
        if parts.path == search_path:  # paging and "相关搜索": more search pages, not articles
            if page.next_url is None and ("next" in link.rel.split() or link.text.lower() in _NEXT_TEXTS):
                page.next_url = url
            continue
        if url in seen or not link.text:
            continue
        if needle in fold("".join(parser.block_texts.get(link.block, ()))):
            seen.add(url)
            page.results.append((url, link.text))
    return page


def page_time(html_text: str) -> datetime | None:
    """When an article page says it was published; a time without a zone is Beijing time."""
    for pattern in (_META_TIME, _TIME_TAG):
        match = pattern.search(html_text)
        if match:
            try:
                return parse_feed_time(match.group(1))
            except ValueError:
                pass
    match = _TEXT_TIME.search(html_text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return parse_feed_time(f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}")
    except ValueError:
        return None


def page_site_name(html_text: str, url: str) -> str:
    """The site's name: ``og:site_name``, else the last part of ``<title>`` ("标题_云江晨报网"), else the host."""
    match = _SITE_NAME.search(html_text)
    if match and match.group(1).strip():
        return match.group(1).strip()
    title = _TITLE.search(html_text)
    if title:
        parts = [part for part in _TITLE_SEPARATORS.split(re.sub(r"\s+", " ", title.group(1)).strip()) if part]
        if len(parts) > 1:
            return parts[-1]
    return urlsplit(url).hostname or "unknown"
