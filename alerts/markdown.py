"""Untrusted text made inert for the group robots' markdown, and fitting a message into a byte limit.

WeCom, DingTalk and Feishu each render their own markdown dialect, and none of them documents a
reliable backslash escape. So instead of escaping, :func:`plain` *replaces* every character that can
start markup with its full-width lookalike (``*`` → ``＊``, ``[`` → ``［``, ``<`` → ``＜``, ``@`` →
``＠`` …): the text still reads the same to a person, and no dialect can parse it as markup. With
``<``, ``>``, ``[``, ``]`` and ``@`` gone, a post cannot open a tag (``<font>``, ``<a>``, ``<@userid>``,
``<at id=all>``), a link, or a mention (``@all``, ``@所有人``, ``@13800001111``); with newlines
collapsed it cannot start a line, so no heading, quote or list either. Bare web addresses are
defanged (``http：//evil．example``) so clients do not auto-link them.

Only our own links are links: :func:`safe_link` passes an http(s) URL only when it holds no
character that could end the link syntax early, and percent-encodes the few that some renderers
read as emphasis.

Chinese text is written with full-width punctuation already, so ordinary posts read unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from alerts.message import KIND_LABELS, SEVERITY_LABELS, AlertMessage, PostLine

__all__ = [
    "ELLIPSIS",
    "facts",
    "fit_blocks",
    "headline",
    "meta_line",
    "on_duty_mobiles",
    "on_duty_users",
    "plain",
    "post_meta",
    "post_text",
    "safe_link",
    "short_count",
    "trim_utf8",
]

ELLIPSIS = "…"
POST_TEXT_CHARS = 80  # a post is evidence, not reading matter: its first 80 characters

# Markdown, HTML and mention specials → full-width lookalikes (one character each, so lengths hold).
_INERT = str.maketrans(
    {
        "*": "＊",
        "_": "＿",
        "~": "～",
        "`": "｀",
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "<": "＜",
        ">": "＞",
        "#": "＃",
        "|": "｜",
        "\\": "＼",
        "@": "＠",
        "&": "＆",  # no HTML entities (&lt;) a renderer might decode back into markup
        "$": "＄",  # no inline formulas where a dialect supports them
    }
)
_SPACES = re.compile(r"\s+")
_SCHEME = re.compile(r"(?i)(?<![a-z])(https?|ftp|file|mailto|dingtalk|wxwork|lark)(:)")
# Host-like words (example.com, t.cn, www.weibo.com): their dots are what clients auto-link on.
_HOST_LIKE = re.compile(r"(?i)(?<![a-z0-9-])(?:[a-z0-9-]+\.)+[a-z]{2,}(?![a-z0-9-])")
# Zero-width and direction-control characters can hide or reorder text; keep the emoji joiner.
_KEEP_FORMAT = {"\u200d"}

# Characters a link target may hold as they are; anything else (spaces, quotes, brackets, <>, `…)
# could end ``[原文](url)`` or ``<a href="url">`` early, so such a URL is not linked at all.
_URL_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#@!$&+,;=%*")
_URL_ENCODE = {"*": "%2A", "_": "%5F", "~": "%7E", "@": "%40"}  # emphasis and mention starters
_MAX_URL_CHARS = 1024


def plain(text: str | None, max_chars: int | None = None) -> str:
    """Untrusted text as one inert line of at most ``max_chars`` characters (plus "…" when cut)."""
    if not text:
        return ""
    text = "".join(char for char in text if _visible(char))
    text = _SPACES.sub(" ", text).strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars].rstrip() + ELLIPSIS
    text = text.translate(_INERT)
    text = _SCHEME.sub(lambda match: match.group(1) + "：", text)
    return _HOST_LIKE.sub(lambda match: match.group(0).replace(".", "．"), text)


def post_text(text: str | None) -> str:
    """A post's text as shown under an alert: inert and cut to :data:`POST_TEXT_CHARS`."""
    return plain(text, POST_TEXT_CHARS)


def safe_link(url: str | None) -> str | None:
    """``url`` ready to sit inside a markdown link, or None when it must not be linked."""
    if not url or len(url) > _MAX_URL_CHARS or any(char not in _URL_SAFE for char in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises ValueError on a port that is not a number in range
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None  # no other schemes, no user@host spoofing
    origin = url[: len(parts.scheme) + 3 + len(parts.netloc)]  # "https://host:port" as written
    return origin + "".join(_URL_ENCODE.get(char, char) for char in url[len(origin) :])


def trim_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``max_bytes``: never half a character."""
    if max_bytes <= 0:
        return ""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    # A cut UTF-8 prefix can only be invalid at its very end: "ignore" drops exactly that partial character.
    return encoded[:max_bytes].decode("utf-8", "ignore")


def fit_blocks(
    head: list[str],
    posts: list[str],
    tail: list[str],
    max_bytes: int,
    *,
    separator: str,
    omitted: Callable[[int], str],
    cut: str,
) -> str:
    """Join blocks into at most ``max_bytes`` of UTF-8, giving up the least important first.

    Every block is complete markdown on its own (whatever it opens, it closes), so dropping whole
    blocks never leaves a construct open. In order: posts from the end (``omitted(n)`` says how many
    are not shown), then the blocks after the longest prefix that still fits (``cut`` says so). Only
    when not even ``head[0]`` fits is it cut itself, on a character boundary; that first block must
    therefore carry prefix-only markup (a ``### heading``), which survives being cut anywhere.
    """

    def joined(blocks: list[str]) -> str:
        return separator.join(blocks)

    def fits(blocks: list[str]) -> bool:
        return len(joined(blocks).encode("utf-8")) <= max_bytes

    for shown in range(len(posts), -1, -1):
        left_out = len(posts) - shown
        blocks = head + posts[:shown] + ([omitted(left_out)] if left_out else []) + tail
        if fits(blocks):
            return joined(blocks)
    everything = head + ([omitted(len(posts))] if posts else []) + tail
    kept: list[str] = []
    for block in everything:
        if not fits([*kept, block, cut]):
            break
        kept.append(block)
    if kept:
        return joined([*kept, cut])
    first = head[0] if head else ""
    room = max_bytes - len(ELLIPSIS.encode("utf-8"))
    return trim_utf8(first, room) + ELLIPSIS if room > 0 else trim_utf8(first, max_bytes)


def _visible(char: str) -> bool:
    category = unicodedata.category(char)
    if category == "Cc":
        return char in "\t\n\r"  # layout whitespace, collapsed later; other controls go
    if category in ("Cf", "Cs", "Co", "Cn"):
        return char in _KEEP_FORMAT
    return True


# ---- the alert's words, shared by every robot: plain (already inert) text that each channel dresses in its markup


_SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # WeCom/DingTalk/Feishu ids, or an e-mail
_MOBILE = re.compile(r"\+?[0-9][0-9-]{4,19}")


def headline(message: AlertMessage) -> str:
    """ "【红色预警】启航汽车 · 负面声量激增": every kind says 预警 (a report in its title), so a robot's keyword
    check can ask for it."""
    severity = SEVERITY_LABELS[message.severity]
    tag = {
        "opened": f"{severity}预警",
        "escalated": f"预警升级·{severity}",
        "resolved": "预警已恢复",
        "test": "预警测试",
        "report": "舆情日报",
    }[message.kind]
    subject = " · ".join(part for part in (plain(message.brand, 40), plain(message.title, 60)) if part)
    return f"【{tag}】{subject}"


def meta_line(message: AlertMessage) -> str:
    """ "新预警 · 红色 · 2026-11-23 20:00 · 事件 #12"; a report's severity is its worst incident's, not its own."""
    severity = "" if message.kind == "report" else SEVERITY_LABELS[message.severity]
    parts = [KIND_LABELS[message.kind], severity, _when(message.at, "%Y-%m-%d %H:%M")]
    if message.incident_id is not None:
        parts.append(f"事件 #{message.incident_id}")
    return " · ".join(part for part in parts if part)


def facts(message: AlertMessage) -> list[tuple[str, str]]:
    """The message's facts as inert (label, value) pairs; values can hold words taken from posts."""
    return [(plain(label, 20), plain(value, 160)) for label, value in message.facts]


def post_meta(post: PostLine) -> str:
    """ "数码老王 · 粉丝 12.3万 · 互动 1234 · 同文 ×5 · 负面 · 11-23 19:42"."""
    parts = [plain(post.author, 30) or "匿名用户"]
    if post.followers is not None:
        parts.append(f"粉丝 {short_count(post.followers)}")
    parts.append(f"互动 {short_count(post.engagement)}")
    if post.copies > 1:
        parts.append(f"同文 ×{post.copies}")
    if post.sentiment in _SENTIMENT_LABELS:
        parts.append(_SENTIMENT_LABELS[post.sentiment])
    parts.append(_when(post.created_at, "%m-%d %H:%M"))
    return " · ".join(part for part in parts if part)


def post_blocks(
    message: AlertMessage,
    *,
    line_break: str = "\n",
    link_prefix: str = " · ",
    decorate_meta: Callable[[str], str] = lambda meta: meta,
) -> list[str]:
    """One numbered block per post: its neutralised text, then who and how much, and the original's link."""
    blocks = []
    for number, post in enumerate(message.posts, 1):
        link = safe_link(post.url)
        source = f"{link_prefix}[原文]({link})" if link else ""
        blocks.append(f"**{number}.** {post_text(post.text)}{line_break}{decorate_meta(post_meta(post))}{source}")
    return blocks


def short_count(number: int) -> str:
    """1234 → "1234", 123456 → "12.3万", 230000000 → "2.3亿": how Chinese readers count followers."""
    for unit, size in (("亿", 100_000_000), ("万", 10_000)):
        if abs(number) >= size:
            return f"{number / size:.1f}".removesuffix(".0") + unit
    return str(number)


def on_duty_users(users: list[str]) -> list[str]:
    """The configured on-duty ids that are plausible ids: never "all", never markup."""
    return [user for user in users if _USER_ID.fullmatch(user) and user.lower() not in ("all", "@all")]


def on_duty_mobiles(mobiles: list[str]) -> list[str]:
    return [mobile for mobile in mobiles if _MOBILE.fullmatch(mobile)]


def _when(stamp: str, layout: str) -> str:
    """An ISO 8601 time in the time zone it was written in, or nothing when it is not one."""
    try:
        return datetime.fromisoformat(stamp).strftime(layout) if stamp else ""
    except ValueError:
        return ""
