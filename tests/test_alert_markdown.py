"""Untrusted post text made inert for robot markdown; our own links only; trimming to a byte limit."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.markdown import ELLIPSIS, fit_blocks, headline, plain, post_text, safe_link, short_count, trim_utf8
from alerts.message import AlertMessage, MessageKind

# Every character that starts markup, a tag, a mention or an entity in one of the robots' dialects.
MARKUP = set("*_~`[]()<>#|\\@&$")

HOSTILE = {
    "@all": "快来看 @all",
    "<@all>": "<@all> 都来",
    "@所有人": "@所有人 紧急",
    "at a mobile": "@13800001111 你好",
    "feishu at": "<at id=all></at> 大家好",
    "link": "[点我](http://evil.example)",
    "image": "![x](http://evil.example/a.png)",
    "html link": '<a href="http://evil.example">官方通知</a>',
    "font": '<font color="warning">紧急</font>召回',
    "heading": "# 标题",
    "quote": "> 引用别人的话",
    "list": "- 第一条\n- 第二条",
    "newlines": "第一行\n\n## 第二行\r\n> 第三行",
    "bare url": "详情见 http://evil.example/path?x=1",
    "bare www": "去 www.evil.example 看看",
    "bold": "**加粗** 和 __下划线__",
    "code": "`rm -rf` ```代码```",
    "table": "| a | b |",
    "entity": "&lt;@all&gt;",
    "backslash": "\\[不是链接\\](http://evil.example)",
    "bidi": "正常\u202e文字\u200b隐藏",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_keeps_no_markup(text: str) -> None:
    shown = plain(text)
    assert not MARKUP & set(shown)
    assert "\n" not in shown and "\r" not in shown
    assert not re.search(r"(?i)(https?|ftp)://", shown)
    assert not re.search(r"(?i)[a-z0-9-]+\.[a-z]{2,}", shown)  # nothing a client would auto-link
    assert "\u202e" not in shown and "\u200b" not in shown


def test_hostile_text_still_reads_the_same() -> None:
    assert plain("[点我](http://evil.example)") == "［点我］（http：//evil．example）"
    assert plain("<@all> 都来") == "＜＠all＞ 都来"
    assert plain("# 标题\n> 引用") == "＃ 标题 ＞ 引用"


@pytest.mark.parametrize(
    "text",
    [
        "启航汽车的刹车问题太吓人了，4S店说是正常现象？？",
        "今天去试驾了启航汽车新款，续航真的扎实，客服态度也很好！",
        "【转发】关于启航汽车召回事件的说明：请车主留意官方短信。",
        "价格 25.98 万起，比上一代便宜 3.5 万",
        "“蔚来”和“理想”哪个好？评论区说说～",
        "😂😂 笑死，这客服（微笑）",
    ],
)
def test_ordinary_chinese_text_reads_unchanged(text: str) -> None:
    assert plain(text) == text


def test_whitespace_collapses_to_single_spaces() -> None:
    assert plain("  第一行\n\n\t第二行  \u3000第三行 ") == "第一行 第二行 第三行"


def test_long_posts_are_cut_with_an_ellipsis() -> None:
    text = "很长的帖子" * 40
    assert post_text(text) == text[:80] + ELLIPSIS
    assert post_text("短帖") == "短帖"
    assert plain(None) == ""


@pytest.mark.parametrize(
    "url",
    [
        "https://m.weibo.cn/status/5230754395068367",
        "https://weibo.com/1234567890/NcAbCdEfG",
        "http://127.0.0.1:8501/incidents?id=12&brand=%E5%90%AF%E8%88%AA",
    ],
)
def test_our_links_pass(url: str) -> None:
    assert safe_link(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://files.example/x",
        "//evil.example/x",
        "https://",
        "http://evil.example/a b",
        'http://evil.example/"onmouseover="x',
        "http://evil.example/x)[点我](http://evil2.example",
        "http://evil.example/<script>",
        "https://m.weibo.cn@evil.example/status/1",
        "https://evil.example:99999/",
        "https://微博.com/status/1",
        "https://evil.example/`x`",
        None,
        "",
    ],
)
def test_other_links_are_refused(url: str | None) -> None:
    assert safe_link(url) is None


def test_link_characters_some_renderers_read_as_emphasis_are_percent_encoded() -> None:
    assert safe_link("https://m.weibo.cn/status/a_b*c~d") == "https://m.weibo.cn/status/a%5Fb%2Ac%7Ed"


def test_counts_read_the_chinese_way() -> None:
    assert [short_count(n) for n in (0, 9999, 10_000, 123_456, 230_000_000)] == ["0", "9999", "1万", "12.3万", "2.3亿"]


def test_headline_names_severity_brand_and_rule_and_always_says_yujing() -> None:
    message = AlertMessage(
        kind="opened", title="负面声量激增", severity="critical", brand="启航汽车", rule="negative_spike"
    )
    assert headline(message) == "【红色预警】启航汽车 · 负面声量激增"
    kinds: tuple[MessageKind, ...] = ("escalated", "resolved", "test")
    for kind in kinds:
        assert "预警" in headline(AlertMessage(kind=kind, title="t", severity="low", brand=None, rule="r"))


# ---- properties on random text


@given(st.text(max_size=300), st.integers(min_value=0, max_value=400))
def test_trim_utf8_keeps_the_longest_whole_character_prefix(text: str, max_bytes: int) -> None:
    trimmed = trim_utf8(text, max_bytes)
    assert text.startswith(trimmed)
    assert len(trimmed.encode("utf-8")) <= max_bytes
    if trimmed != text:  # maximal: one more character would not fit
        assert len(text[: len(trimmed) + 1].encode("utf-8")) > max_bytes


@given(st.text(max_size=300))
def test_plain_never_leaves_markup_or_line_breaks(text: str) -> None:
    shown = plain(text, 80)
    assert not MARKUP & set(shown)
    assert not any(char in shown for char in "\n\r\u2028\u2029")
    assert len(shown) <= 81


_blocks = st.lists(
    st.text(min_size=1, max_size=60).map(lambda text: f"<font>{plain(text) or '空'}</font>"), max_size=12
)


@given(_blocks, _blocks, _blocks, st.integers(min_value=1, max_value=1500))
def test_fit_blocks_stays_within_the_limit_and_never_breaks_a_construct(
    head: list[str], posts: list[str], tail: list[str], max_bytes: int
) -> None:
    head = ["### 【红色预警】启航汽车 · 负面声量激增", *head]
    fitted = fit_blocks(
        head, posts, tail, max_bytes, separator="\n", omitted=lambda n: f"另有 {n} 条未列出", cut="（已略）"
    )
    assert len(fitted.encode("utf-8")) <= max_bytes
    if "\n" in fitted:  # whole blocks: every tag that opens closes
        assert fitted.count("<font>") == fitted.count("</font>")
    else:  # only the heading, cut on a character boundary
        assert head[0].startswith(fitted.removesuffix(ELLIPSIS)) or fitted == head[0]


def test_fit_blocks_drops_posts_from_the_end_first_and_says_how_many() -> None:
    posts = [f"帖子{i}" * 10 for i in range(10)]
    limit = len("\n".join(["标题", *posts[:4], "另有 6 条未列出", "尾"]).encode())
    fitted = fit_blocks(
        ["标题"], posts, ["尾"], limit, separator="\n", omitted=lambda n: f"另有 {n} 条未列出", cut="略"
    )
    assert fitted.split("\n") == ["标题", *posts[:4], "另有 6 条未列出", "尾"]
