"""Post text → clean plain text, plus the parts analysis needs: repost chain, @mentions, #话题#, links.

m.weibo.cn hands a post's ``mblog.text`` over as a small HTML fragment:

* emoticons are ``<span class="url-icon"><img alt="[怒]" src=…></span>`` (the alt text is what a reader sees);
* mentions are ``<a href='/n/某人'>@某人</a>``, topics ``<a href="…search?containerid=231522…"><span
  class="surl-text">#话题#</span></a>``, links ``<a data-url="http://t.cn/…" href="https://weibo.cn/sinaurl?u=…">
  <span class='url-icon'><img …></span><span class="surl-text">网页链接</span></a>``;
* a truncated long post ends in ``...<a href="/status/4968123456789012">全文</a>``;
* a repost quotes the chain it came through as ``我的话//@甲:他的话//@乙:她的话``.

No HTML parser: cleaning runs on every post, thousands a second. Text without ``<`` or ``&`` skips the markup step
entirely; markup is read in one pass of C-speed string splits, and the few regexes that remain are written to stay
linear on hostile input (no nested open-ended repeats, no search that rescans a run from each of its characters).
Nothing raises on malformed markup: it degrades to best-effort text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import islice
from urllib.parse import unquote

__all__ = ["CleanPost", "RepostHop", "clean_post", "strip_html", "to_simplified"]


@dataclass(frozen=True, slots=True)
class RepostHop:
    """One quoted step of a repost chain: ``//@user:text``."""

    user: str  # screen name after //@ (without @)
    text: str  # what that user wrote (cleaned, stripped)


@dataclass(frozen=True, slots=True)
class CleanPost:
    """A post's cleaned text and the structured parts found in it."""

    text: str  # full cleaned plain text (what a human reads), incl. the //@ chain
    own_text: str  # the author's own words: text before the first "//@name:" (stripped); whole text if no chain
    chain: tuple[RepostHop, ...]  # the quoted repost chain in order
    at_users: tuple[str, ...]  # @names mentioned in own_text (not the chain hops), unique, in order
    topics: tuple[str, ...]  # #话题# names (without #), unique, in order, from the whole text
    urls: tuple[str, ...]  # links: those of <a> tags first, then bare ones in the text; sinaurl wrappers unwrapped


_EMPTY_POST = CleanPost(text="", own_text="", chain=(), at_users=(), topics=(), urls=())


# ---------------------------------------------------------------------------------------------------------------
# HTML → text
# ---------------------------------------------------------------------------------------------------------------

# The markup is read in one left-to-right pass: split on "<", cut each piece at its first ">". Both are C-speed
# scans, where every regex pass over the long percent-encoded hrefs of topic links costs microseconds. Only the
# <a> being read is remembered, so unclosed or stray tags cannot make the work grow faster than the text.
_TAG_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/!")
_OTHER_TAG, _OPEN_ANCHOR, _CLOSE_ANCHOR, _IMAGE, _LINE_BREAK = range(5)
# Keyed by the tag's text up to its first space, as m.weibo.cn writes it; other spellings take a slower path.
_TAG_KINDS = {
    "a": _OPEN_ANCHOR,
    "/a": _CLOSE_ANCHOR,
    "img": _IMAGE,
    "br": _LINE_BREAK,
    "br/": _LINE_BREAK,
    "/p": _LINE_BREAK,
    "/div": _LINE_BREAK,
    "span": _OTHER_TAG,
    "/span": _OTHER_TAG,
}


def _attribute(name: str) -> re.Pattern[str]:
    """A pattern for one HTML attribute's value, double-, single- or un-quoted (m.weibo.cn uses all three)."""
    # The leading class (not a lookbehind) lets the regex engine skip ahead to candidates quickly.
    return re.compile(rf"""[\s"'/]{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>]+))""", re.I)


_HREF = _attribute("href")
_DATA_URL = _attribute("data-url")
_ALT = _attribute("alt")
# Emoticon alt texts look like "[怒]", "[doge]", "[笑cry]"; location and 超话 icons have no alt or another one.
_EMOTICON = re.compile(r"\[[^\[\]<>\s]{1,16}\]")

_ABSOLUTE_URL = re.compile(r"https?://", re.I)
# Weibo's own navigation behind topics, 超话, locations and profiles: pages of the app, not links the author shared.
_WEIBO_NAVIGATION = re.compile(r"https?://(?:m\.)?weibo\.(?:cn|com)/(?:search|p/|n/|k/|u/)", re.I)
_SINAURL = re.compile(r"https?://[^/?#\s]*weibo\.cn/sinaurl/?\?(?:[^#\s]*?&)?u=([^&#\s]+)", re.I)


def _attribute_value(pattern: re.Pattern[str], tag: str) -> str:
    match = pattern.search(tag)
    if match is None:
        return ""
    value = match.group(1) or match.group(2) or match.group(3) or ""
    return html.unescape(value).strip() if "&" in value else value.strip()


def _unwrap_sinaurl(url: str) -> str | None:
    """The target of a ``weibo.cn/sinaurl?u=<encoded>`` redirect wrapper, or None if ``url`` is not one."""
    match = _SINAURL.match(url) if "sinaurl" in url else None
    return unquote(match.group(1)).strip() if match else None


def _link_target(anchor_tag: str) -> str | None:
    """The URL an <a> tag points readers to, or None for Weibo's in-app navigation and relative links."""
    href = _attribute_value(_HREF, anchor_tag)
    if href:
        unwrapped = _unwrap_sinaurl(href)
        if unwrapped:
            return unwrapped
        if _ABSOLUTE_URL.match(href) and not _WEIBO_NAVIGATION.match(href):
            return href
        return None
    # No href at all: the short link is the only address there is.
    data_url = _attribute_value(_DATA_URL, anchor_tag)
    return data_url if _ABSOLUTE_URL.match(data_url) else None


def _image_text(image_tag: str) -> str:
    """An emoticon <img> becomes its alt text ("[怒]"); any other icon disappears."""
    emoticon = _EMOTICON.match(_attribute_value(_ALT, image_tag))
    return emoticon.group() if emoticon else ""


class _Anchors:
    """What a post's <a> tags say beyond their visible text."""

    __slots__ = ("link_labels", "links", "mention_names")

    def __init__(self) -> None:
        self.links: list[str] = []
        self.link_labels: set[str] = set()  # visible text of link anchors, so a bare-URL scan skips "http://t.cn/…"
        self.mention_names: list[str] = []  # exact names: in "@星河手机送的礼物" only the tag knew where the name ends

    def note(self, anchor_tag: str, label: str) -> None:
        if label.startswith("@"):
            self.mention_names.append(label[1:])
        elif not label.startswith("#"):
            target = _link_target(anchor_tag)
            if target:
                self.links.append(target)
                # Compared with the text after entities are unescaped.
                self.link_labels.add(html.unescape(label) if "&" in label else label)


def _drop_trailing_ellipsis(out: list[str]) -> None:
    """Trim the "..." / "…" Weibo puts before the "全文" link off the end of the text read so far."""
    while out:
        last = out[-1].rstrip()
        if last:
            out[-1] = last.rstrip(".…") if last.endswith(("..", "…")) else last
            return
        out.pop()


def _html_to_text(raw: str, anchors: _Anchors) -> str:
    """Markup → text: tags out, emoticons to their alt, <br> to newlines, "全文" link dropped, entities unescaped.

    Spaces are left as they are; the <a> tags' links and mentions are noted in ``anchors``.
    """
    pieces = raw.split("<")
    out = [pieces[0]]
    anchor_tag = ""  # the <a> being read, if any
    anchor_start = 0  # where its visible text begins in ``out``
    for piece in islice(pieces, 1, None):
        tag, closed, text = piece.partition(">")
        if not closed or not tag or tag[0] not in _TAG_START:
            out.append("<" + piece)  # a "<" that opens no tag is text: "<3", "价格<5000"
            continue
        kind = _TAG_KINDS.get(tag.partition(" ")[0])
        if kind is None:  # upper case, a tab or newline after the name, or a tag that is simply dropped
            kind = _TAG_KINDS.get(tag.split(None, 1)[0].rstrip("/").lower(), _OTHER_TAG)
        if kind == _OPEN_ANCHOR:
            anchor_tag, anchor_start = tag, len(out)
        elif kind == _CLOSE_ANCHOR and anchor_tag:
            visible = "".join(out[anchor_start:])
            del out[anchor_start:]
            label = visible.strip()
            if label == "全文":  # "read more" of a truncated post: the crawler fetches the long text itself
                _drop_trailing_ellipsis(out)
            else:
                out.append(visible)
                anchors.note(anchor_tag, label)
            anchor_tag = ""
        elif kind == _IMAGE:
            out.append(_image_text(tag))
        elif kind == _LINE_BREAK:
            out.append("\n")
        out.append(text)
    tail = pieces[-1]
    if len(pieces) > 1 and ">" not in tail and tail[:1] in _TAG_START:
        out[-1] = ""  # a tag cut off at the very end (a truncated answer): drop it rather than show markup
    text = "".join(out)
    # Entities last: "&lt;b&gt;" is text the author typed and must not be taken for a tag.
    return html.unescape(text) if "&" in text else text


# ---------------------------------------------------------------------------------------------------------------
# Normalising the text
# ---------------------------------------------------------------------------------------------------------------

_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
# Full-width letters and digits fold to ASCII; full-width punctuation (，。！？【】) is Chinese writing and stays.
# (U+3000, the full-width space, is whitespace: tidying turns it into a plain space.)
_FULL_WIDTH_ALNUM = "".join(chr(c) for c in range(0xFF01, 0xFF5F) if chr(c - 0xFEE0).isalnum())
_FOLD_TABLE = {ord(c): chr(ord(c) - 0xFEE0) for c in _FULL_WIDTH_ALNUM} | dict.fromkeys(map(ord, _INVISIBLE_CHARS))
_NEEDS_FOLD = re.compile(f"[{_INVISIBLE_CHARS}{_FULL_WIDTH_ALNUM}]")
_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space, trim every line, keep at most one blank line in a row."""
    # str.split() does the collapsing in C and knows every Unicode space (U+3000, &nbsp;'s U+00A0, tabs, "\r").
    if "\n" not in text:
        return " ".join(text.split())
    text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def _fold(text: str) -> str:
    """Drop zero-width characters and fold full-width letters and digits (ＡＢＣ１２３ → ABC123)."""
    return text.translate(_FOLD_TABLE) if _NEEDS_FOLD.search(text) else text


# ---------------------------------------------------------------------------------------------------------------
# Parts of the cleaned text
# ---------------------------------------------------------------------------------------------------------------

# Weibo screen names: CJK, kana, hangul, letters, digits, "_" and "-", up to 30 characters.
_NAME = r"[\w\-]{1,30}+"
# "//@name:" or "//@name :" (m.weibo.cn puts a space there when the name came from a tag); full-width colon too.
_REPOST_HOP = re.compile(rf"//@({_NAME}) ?[:：]")
_MENTION = re.compile(rf"@({_NAME})")
# An "@" right after one of these is part of an e-mail address or of "@@", not a mention.
_NOT_BEFORE_MENTION = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@")
# "#话题#": no whitespace right inside either "#", no line break, bounded length (Weibo caps topics well below).
_TOPIC = re.compile(r"#([^#\s](?:[^#\n]{0,62}[^#\s])?)#")
_BARE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!$&*+,;=%]++", re.I)


def _split_repost_chain(text: str) -> tuple[str, tuple[RepostHop, ...]]:
    """Own words before the first "//@name:", then one hop per "//@name:" in order."""
    if "//@" not in text:
        return text, ()
    hops = list(_REPOST_HOP.finditer(text))
    if not hops:
        return text, ()
    ends = [hop.start() for hop in hops[1:]] + [len(text)]
    chain = tuple(
        RepostHop(user=hop.group(1), text=text[hop.end() : end].strip()) for hop, end in zip(hops, ends, strict=True)
    )
    return text[: hops[0].start()].strip(), chain


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items)) if items else ()


def _mentions(own_text: str, tagged_names: list[str]) -> tuple[str, ...]:
    if "@" not in own_text:
        return ()
    names = []
    for match in _MENTION.finditer(own_text):
        start = match.start()
        if start and own_text[start - 1] in _NOT_BEFORE_MENTION:
            continue
        name = match.group(1)
        # Plain text has no end marker for a name followed by Chinese; the <a> tag it came from had one.
        tagged = [tagged_name for tagged_name in tagged_names if tagged_name and name.startswith(tagged_name)]
        names.append(max(tagged, key=len) if tagged else name)
    return _unique(names)


def _topics(text: str) -> tuple[str, ...]:
    if "#" not in text:
        return ()
    return _unique(_TOPIC.findall(text))


def _bare_urls(text: str, skip: set[str]) -> list[str]:
    if "://" not in text:
        return []
    urls = []
    for match in _BARE_URL.finditer(text):
        url = match.group().rstrip(".,;:!?")
        if url not in skip:
            urls.append(_unwrap_sinaurl(url) or url)
    return urls


# ---------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------


def strip_html(raw: str) -> str:
    """Plain text a reader would see in a post's HTML: emoticons as "[怒]", <br> as newlines, no "全文" link,
    entities unescaped, zero-width characters removed, spaces collapsed, at most one blank line in a row."""
    if not isinstance(raw, str) or not raw:
        return ""
    text = _html_to_text(raw, _Anchors()) if ("<" in raw or "&" in raw) else raw
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    return _tidy_whitespace(text)


def clean_post(raw: str) -> CleanPost:
    """Clean one post's text (Weibo HTML or plain text) and pull out its repost chain, mentions, topics and links.

    Never raises: empty or non-string input gives an empty CleanPost, broken markup gives best-effort text.
    """
    if not isinstance(raw, str) or not raw:
        return _EMPTY_POST
    if "<" in raw or "&" in raw:
        anchors = _Anchors()
        text = _html_to_text(raw, anchors)
        links, link_labels, tagged_names = anchors.links, anchors.link_labels, anchors.mention_names
    else:  # plain text, the common case outside Weibo: no markup to read
        text, links, link_labels, tagged_names = raw, [], set(), []
    text = _tidy_whitespace(_fold(text))
    if not text:
        return _EMPTY_POST
    own_text, chain = _split_repost_chain(text)
    return CleanPost(
        text=text,
        own_text=own_text,
        chain=chain,
        at_users=_mentions(own_text, tagged_names),
        topics=_topics(text),
        urls=_unique(links + _bare_urls(text, link_labels)),
    )


# ---------------------------------------------------------------------------------------------------------------
# Traditional → simplified
# ---------------------------------------------------------------------------------------------------------------

# OpenCC's character table, as shipped by the pure-Python package opencc-python-reimplemented (import name "opencc").
_OPENCC_PACKAGE = "opencc"
_TRADITIONAL_TO_SIMPLIFIED = "TSCharacters.txt"
# Characters outside the BMP: a regex class mixing them with the BMP ones is checked entry by entry, ~1000× slower.
_ASTRAL_CHAR = re.compile("[\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class _SimplifiedTable:
    table: dict[int, str]  # for str.translate
    bmp_sources: re.Pattern[str]  # finds any BMP character the table changes
    astral_sources: frozenset[str]  # the non-BMP characters it changes


@cache
def _simplified_table() -> _SimplifiedTable:
    """Built once, on first use: reading the 4,000-line table costs milliseconds."""
    try:
        dictionary = resources.files(_OPENCC_PACKAGE).joinpath("dictionary").joinpath(_TRADITIONAL_TO_SIMPLIFIED)
        lines = dictionary.read_text(encoding="utf-8").splitlines()
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise RuntimeError(
            "to_simplified needs the package opencc-python-reimplemented (pip install opencc-python-reimplemented)"
        ) from error
    table: dict[int, str] = {}
    for line in lines:
        traditional, _, candidates = line.partition("\t")
        simplified = candidates.split()
        # Character level only: a one-to-many entry ("乾" → "干 乾") takes its first candidate.
        if len(traditional) == 1 and simplified and len(simplified[0]) == 1 and simplified[0] != traditional:
            table[ord(traditional)] = simplified[0]
    bmp = "".join(re.escape(chr(code)) for code in table if code <= 0xFFFF)
    astral = frozenset(chr(code) for code in table if code > 0xFFFF)
    return _SimplifiedTable(table=table, bmp_sources=re.compile(f"[{bmp}]"), astral_sources=astral)


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese, character by character (啟航汽車 → 启航汽车); other text unchanged."""
    if not text:
        return text
    simplified = _simplified_table()
    # Most posts are simplified already: a scan in C says so without building a new string.
    if simplified.bmp_sources.search(text) is None and simplified.astral_sources.isdisjoint(_ASTRAL_CHAR.findall(text)):
        return text
    return text.translate(simplified.table)
