"""News feeds (RSS 2.0, Atom) and article pages, read into DESIGN 4.3 post dicts.

Pure functions, no Scrapy: the spider fetches, this module knows what the answers look like.
What Chinese news sites send, and what is handled here:

* feeds are RSS 2.0 (``pubDate`` in RFC 822, often ``+0800``, sometimes no zone or a plain
  ``2025-11-26 20:20:02``) or Atom (ISO 8601 ``published``/``updated``); a time without a zone is
  Beijing time;
* feeds and pages are UTF-8, or GBK/GB2312 (declared in the XML declaration, the HTTP header or
  ``<meta charset>``): read as GB18030, GBK's superset;
* a feed is untrusted XML: a document type declaration (the door to entity expansion attacks) is
  refused outright, before parsing;
* an article page carries navigation, ads, scripts and a footer around the text: the text is the
  ``<article>``, or else the element holding the most paragraph text.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from crawlers.times import PLATFORM_ZONE

__all__ = [
    "MAX_TEXT_CHARS",
    "Feed",
    "FeedError",
    "FeedItem",
    "article_id",
    "canonical_url",
    "decode_html",
    "extract_article",
    "parse_feed",
    "parse_feed_time",
    "post_from_article",
]

MAX_TEXT_CHARS = 20_000
_ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_DANGEROUS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.IGNORECASE)
_GB_FAMILY = {"gbk", "gb2312", "gb_2312-80", "x-gbk", "gb18030", "cp936", "euc-cn"}


class FeedError(ValueError):
    """A feed that cannot be read (not XML, not RSS/Atom, refused); the message says which and why."""


@dataclass(frozen=True)
class FeedItem:
    url: str
    title: str
    published: datetime | None  # aware; None when the feed gives no (readable) time
    summary: str = ""


@dataclass(frozen=True)
class Feed:
    title: str
    items: list[FeedItem] = field(default_factory=list)


# -- text decoding ------------------------------------------------------------------------------


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    if name in _GB_FAMILY:
        return "gb18030"
    try:
        "".encode(name)
    except LookupError:
        return None
    return name


def _decode(body: bytes, declared: str | None) -> str:
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", errors="replace")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="replace")
    codec = _codec(declared)
    if codec:
        return body.decode(codec, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace")  # undeclared and not UTF-8: a Chinese site's GBK


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """A page's text: the charset of the HTTP header, else of ``<meta>``, else UTF-8, else GBK."""
    header = _HEADER_CHARSET.search(content_type or "")
    declared = header.group(1) if header and _codec(header.group(1)) else None
    if declared is None:
        meta = _META_CHARSET.search(body[:4096])
        declared = meta.group(1).decode("ascii") if meta else None
    return _decode(body, declared)


# -- feeds --------------------------------------------------------------------------------------


def parse_feed(body: bytes, feed_url: str, content_type: str | None = None) -> Feed:
    """The title and items of an RSS 2.0 or Atom document; item links are made absolute."""
    if _DANGEROUS.search(body[:65536]) or _DANGEROUS.search(body):
        raise FeedError(f"{feed_url}: refused a feed with a DOCTYPE/ENTITY declaration (unsafe XML)")
    match = _XML_ENCODING.match(body[:200])
    header = _HEADER_CHARSET.search(content_type or "")
    declared = match.group(1).decode("ascii") if match else (header.group(1) if header else None)
    text = _decode(body, declared)
    try:
        # A str is fed to expat as UTF-8 whatever the declaration says: GBK feeds parse too.
        root = ET.fromstring(text)
    except ET.ParseError as err:
        start = text.lstrip()[:40].replace("\n", " ")
        raise FeedError(f"{feed_url}: not an RSS/Atom feed — not XML ({err}); it begins {start!r}") from None
    if root.tag == "rss" or root.tag.endswith("RDF"):
        return _rss(root, feed_url)
    if root.tag == f"{_ATOM}feed":
        return _atom(root, feed_url)
    page = " (an HTML page: an error or verification page?)" if root.tag.lower() == "html" else ""
    raise FeedError(f"{feed_url}: not an RSS/Atom feed — the document is <{root.tag}>{page}")


def _text(element: ET.Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _rss(root: ET.Element, feed_url: str) -> Feed:
    channel = root.find("channel")
    if channel is None:
        raise FeedError(f"{feed_url}: an RSS document without <channel>")
    items = []
    for item in channel.iter("item"):
        link = _text(item.find("link"))
        guid = item.find("guid")
        if not link and guid is not None and guid.get("isPermaLink", "true") != "false":
            link = _text(guid)
        if not link:
            continue
        summary = _text(item.find(_CONTENT)) or _text(item.find("description"))
        published = _time_or_none(
            _text(item.find("pubDate")) or _text(item.find("{http://purl.org/dc/elements/1.1/}date"))
        )
        items.append(FeedItem(urljoin(feed_url, link), _text(item.find("title")), published, summary))
    return Feed(_text(channel.find("title")), items)


def _atom(root: ET.Element, feed_url: str) -> Feed:
    items = []
    for entry in root.iter(f"{_ATOM}entry"):
        links = entry.findall(f"{_ATOM}link")
        chosen = [link for link in links if link.get("rel", "alternate") == "alternate" and link.get("href")]
        if not chosen:
            continue
        published = _time_or_none(_text(entry.find(f"{_ATOM}published")) or _text(entry.find(f"{_ATOM}updated")))
        summary = _text(entry.find(f"{_ATOM}content")) or _text(entry.find(f"{_ATOM}summary"))
        href = chosen[0].get("href") or ""
        items.append(FeedItem(urljoin(feed_url, href), _text(entry.find(f"{_ATOM}title")), published, summary))
    return Feed(_text(root.find(f"{_ATOM}title")), items)


def parse_feed_time(text: str) -> datetime:
    """RFC 822 (RSS), ISO 8601 (Atom) or ``2025-11-26 20:20[:02]``; a time without a zone is Beijing time."""
    value = text.strip()
    if not value:
        raise ValueError("no time")
    moment: datetime | None = None
    if value[:1].isalpha() or re.match(r"^\d{1,2} [A-Za-z]{3} ", value):  # RFC 822: "Wed, 26 Nov 2025 …"
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            moment = None
    if moment is None:
        try:
            moment = datetime.fromisoformat(value.replace("/", "-"))
        except ValueError:
            raise ValueError(f"unknown feed time format {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=PLATFORM_ZONE)


def _time_or_none(text: str) -> datetime | None:
    try:
        return parse_feed_time(text)
    except ValueError:
        return None


# -- article pages ------------------------------------------------------------------------------

_SKIPPED = {"script", "style", "nav", "header", "footer", "aside", "noscript", "form", "iframe", "template", "svg"}
_VOID = {"br", "img", "meta", "link", "hr", "input", "source", "wbr", "area", "base", "col", "embed", "param"}
_PARAGRAPH_ENDERS = {"p", "div", "article", "section", "li", "h1", "h2", "h3", "h4", "td", "table", "ul", "ol"}
_AD_MARK = re.compile(r"(^|[\s_-])(ad|ads|advert|banner|share|comment|related|recommend|copyright)([\s_-]|$)")


@dataclass
class _Paragraph:
    ancestors: tuple[int, ...]  # ids of the open elements around it, outermost first
    in_article: int | None  # the id of the nearest <article> around it
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.parts)).strip()


class _ArticleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int]] = []  # (tag, id)
        self.next_id = 0
        self.skipping = 0  # depth inside skipped elements
        self.paragraphs: list[_Paragraph] = []
        self.current: _Paragraph | None = None
        self.title = ""
        self.h1 = ""
        self._in_title = False
        self._in_h1 = False

    def _skipped_element(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _SKIPPED:
            return True
        marks = " ".join(value or "" for name, value in attrs if name in ("class", "id")).lower()
        return bool(marks and _AD_MARK.search(marks))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag == "br" and self.current is not None:
                self.current.parts.append(" ")
            return
        if tag in _PARAGRAPH_ENDERS and any(name == "p" for name, _ in self.stack):
            self.handle_endtag("p")  # a block opens: an unclosed <p> before it ends here, as browsers do
        self.current = None if tag in _PARAGRAPH_ENDERS else self.current
        self.next_id += 1
        self.stack.append((tag, self.next_id))
        if self.skipping or self._skipped_element(tag, attrs):
            self.skipping += 1
            return
        if tag == "title":
            self._in_title = True
        elif tag == "h1":
            self._in_h1 = True
        elif tag == "p":
            article = next((ident for name, ident in reversed(self.stack) if name == "article"), None)
            self.current = _Paragraph(tuple(ident for _, ident in self.stack[:-1]), article)
            self.paragraphs.append(self.current)

    def handle_endtag(self, tag: str) -> None:
        if tag not in (name for name, _ in self.stack):
            return  # a stray end tag
        while self.stack:
            name, _ = self.stack.pop()
            if self.skipping:
                self.skipping -= 1
            if name == "title":
                self._in_title = False
            elif name == "h1":
                self._in_h1 = False
            if name == tag:
                break
        if tag == "p" or tag in _PARAGRAPH_ENDERS:
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self._in_title:
            self.title += data
        elif self._in_h1:
            self.h1 += data
        elif self.current is not None:
            self.current.parts.append(data)


def extract_article(html_text: str) -> tuple[str, str]:
    """(title, body) of an article page. The body is the paragraphs of the ``<article>`` holding the
    most text, else of the element whose own paragraphs hold the most text; navigation, headers,
    footers, scripts, styles and blocks marked as ads or share bars are left out."""
    parser = _ArticleParser()
    parser.feed(html_text)
    parser.close()
    paragraphs = [p for p in parser.paragraphs if p.text]
    title = re.sub(r"\s+", " ", parser.h1 or parser.title).strip()
    if not paragraphs:
        return title, ""
    in_articles: dict[int, int] = {}
    for p in paragraphs:
        if p.in_article is not None:
            in_articles[p.in_article] = in_articles.get(p.in_article, 0) + len(p.text)
    if in_articles:
        best_article = max(in_articles, key=lambda ident: in_articles[ident])
        chosen = [p for p in paragraphs if p.in_article == best_article]
    else:
        by_parent: dict[int, int] = {}
        for p in paragraphs:
            parent = p.ancestors[-1] if p.ancestors else 0
            by_parent[parent] = by_parent.get(parent, 0) + len(p.text)
        best_parent = max(by_parent, key=lambda ident: by_parent[ident])
        chosen = [p for p in paragraphs if (p.ancestors[-1] if p.ancestors else 0) == best_parent]
    return title, "\n".join(p.text for p in chosen)


# -- records ------------------------------------------------------------------------------------


def canonical_url(url: str) -> str:
    """The URL an article is known by: lower-case scheme and host, no fragment, no ``utm_*`` tracking
    parameters, the rest of the query sorted."""
    parts = urlsplit(url.strip())
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_"))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


def article_id(url: str) -> str:
    return "news:" + hashlib.sha1(canonical_url(url).encode("utf-8")).hexdigest()[:20]


def post_from_article(
    *, url: str, title: str, body: str, published: datetime, feed_url: str, feed_title: str
) -> dict[str, Any]:
    """An article as a mention: its title and body as text, the site as the author."""
    host = urlsplit(url).hostname or urlsplit(feed_url).hostname or "unknown"
    text = f"{title.strip()}\n{body.strip()}".strip()[:MAX_TEXT_CHARS]
    return {
        "id": article_id(url),
        "platform": "news",
        "url": url,
        "text": text,
        "created_at": published.isoformat(),
        "author": {"id": f"news:{host}", "name": feed_title.strip() or host},
        "metrics": {"reposts": 0, "comments": 0, "likes": 0},
        "kind": "article",
        "source_feed": feed_url,
    }
