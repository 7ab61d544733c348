"""nlp.clean: Weibo post HTML and plain text → clean text, repost chain, mentions, topics and links.

The HTML samples follow the shapes m.weibo.cn returns in ``mblog.text``; brands, users and ids are invented.
"""

from __future__ import annotations

import time

import pytest

import nlp.clean
from nlp.clean import CleanPost, RepostHop, clean_post, strip_html, to_simplified

# ---------------------------------------------------------------------------------------------------------------
# Building blocks in m.weibo.cn's markup
# ---------------------------------------------------------------------------------------------------------------

NU = (
    '<span class="url-icon"><img alt="[怒]" src="https://h5.sinaimg.cn/m/emoticon/icon/default/d_nu-48b3ad7d41.png"'
    ' style="width:1em; height:1em;" /></span>'
)
# m.weibo.cn leaves some alt values unquoted.
YUNBEI = (
    '<span class="url-icon"><img alt=[允悲] src="https://h5.sinaimg.cn/m/emoticon/icon/default/d_yunbei-a14a649db8.png"'
    ' style="width:1em; height:1em;" /></span>'
)
TOPIC_LAUNCH = (
    '<a  href="https://m.weibo.cn/search?containerid=231522type%3D1%26t%3D10%26q%3D%23%E5%90%AF%E8%88%AA%E6%B1%BD'
    "%E8%BD%A6%E5%8F%91%E5%B8%83%E4%BC%9A%23&extparam=%23%E5%90%AF%E8%88%AA%E6%B1%BD%E8%BD%A6%E5%8F%91%E5%B8%83"
    '%E4%BC%9A%23&luicode=10000011&lfid=1076031234567890" data-hide="">'
    '<span class="surl-text">#启航汽车发布会#</span></a>'
)
LINK_REVIEW = (
    '<a data-url="http://t.cn/A6qXyZ12" href="https://weibo.cn/sinaurl?u=https%3A%2F%2Fev-review.example.com%2Fqihang'
    "%2Fx7%3Ffrom%3Dweibo%26lang%3Dzh\" ><span class='url-icon'><img style='width: 1rem;height: 1rem' "
    "src='https://h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_web_default.png'></span>"
    '<span class="surl-text">网页链接</span></a>'
)
LOCATION_EXPO = (
    '<a  href="https://m.weibo.cn/p/index?containerid=1001018008631000000000000&extparam=x" data-hide="">'
    "<span class='url-icon'><img style='width: 1rem;height: 1rem' "
    "src='https://h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_location_default.png'></span>"
    '<span class="surl-text">上海·国家会展中心</span></a>'
)
SUPER_TOPIC = (
    '<a  href="https://m.weibo.cn/p/index?containerid=100808a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6&extparam=x" data-hide="">'
    "<span class='url-icon'><img style='width: 1rem;height: 1rem' "
    "src='https://n.sinaimg.cn/photo/5213b46e/20181127/timeline_card_small_super_default.png'></span>"
    '<span class="surl-text">星河手机超话</span></a>'
)
FULLTEXT = '...<a href="/status/4968123456789012">全文</a>'


def mention(name: str) -> str:
    return f"<a href='/n/{name}'>@{name}</a>"


# A whole truncated mblog.text: topic, emoticons (quoted and unquoted alt), mentions, entities, a link, 全文.
FULL_MBLOG_TEXT = (
    f"{TOPIC_LAUNCH} 看完直播说几句：续航标的 700 公里，实测只有 520{NU}<br />"
    f"问了{mention('启航汽车客服')} 只说&quot;以实际为准&quot;{YUNBEI}<br /><br />"
    f"完整测试数据见{LINK_REVIEW} &amp; 对比{mention('星河手机')}的车机{FULLTEXT}"
)


# ---------------------------------------------------------------------------------------------------------------
# A full post
# ---------------------------------------------------------------------------------------------------------------


def test_full_mblog_text_is_cleaned_into_text_and_parts() -> None:
    post = clean_post(FULL_MBLOG_TEXT)

    assert post == CleanPost(
        text=(
            "#启航汽车发布会# 看完直播说几句：续航标的 700 公里，实测只有 520[怒]\n"
            '问了@启航汽车客服 只说"以实际为准"[允悲]\n\n'
            "完整测试数据见网页链接 & 对比@星河手机的车机"
        ),
        own_text=(
            "#启航汽车发布会# 看完直播说几句：续航标的 700 公里，实测只有 520[怒]\n"
            '问了@启航汽车客服 只说"以实际为准"[允悲]\n\n'
            "完整测试数据见网页链接 & 对比@星河手机的车机"
        ),
        chain=(),
        at_users=("启航汽车客服", "星河手机"),
        topics=("启航汽车发布会",),
        urls=("https://ev-review.example.com/qihang/x7?from=weibo&lang=zh",),
    )


def test_strip_html_gives_the_same_text_without_the_parts() -> None:
    assert strip_html(FULL_MBLOG_TEXT) == clean_post(FULL_MBLOG_TEXT).text


# ---------------------------------------------------------------------------------------------------------------
# HTML → text
# ---------------------------------------------------------------------------------------------------------------


def test_emoticon_images_become_their_alt_text() -> None:
    assert strip_html(f"服务太差了{NU}{NU}再也不买了{YUNBEI}") == "服务太差了[怒][怒]再也不买了[允悲]"


def test_emoticon_token_stays_intact_next_to_full_width_text() -> None:
    post = clean_post(f"星河手机Ｘ２０发热严重{NU}！")

    assert post.text == "星河手机X20发热严重[怒]！"


def test_location_and_super_topic_icons_are_dropped_but_their_names_kept() -> None:
    post = clean_post(f"{SUPER_TOPIC} 排队两小时终于摸到真机 {LOCATION_EXPO}")

    assert post.text == "星河手机超话 排队两小时终于摸到真机 上海·国家会展中心"
    assert post.urls == ()  # 超话 and location pages are Weibo's navigation, not shared links


def test_image_with_a_non_emoticon_alt_is_dropped() -> None:
    assert strip_html('开箱<img alt="图片" src="https://wx1.sinaimg.cn/large/abc.jpg">完毕') == "开箱完毕"


def test_line_break_tags_become_newlines() -> None:
    assert strip_html("第一行<br />第二行<br>第三行<BR/>第四行") == "第一行\n第二行\n第三行\n第四行"


def test_other_tags_are_removed_and_their_text_kept() -> None:
    assert strip_html('<span class="surl-text">启航</span><b>汽车</b>真香') == "启航汽车真香"
    assert strip_html("<p>段一</p><p>段二</p><div>段三</div>") == "段一\n段二\n段三"


def test_html_entities_are_unescaped() -> None:
    raw = "A&amp;B &quot;引号&quot; &#39;单引号&#39; 3 &gt; 2 &lt;b&gt;不是标签&lt;/b&gt; 空&nbsp;&nbsp;格"

    assert strip_html(raw) == "A&B \"引号\" '单引号' 3 > 2 <b>不是标签</b> 空 格"


def test_mention_anchor_keeps_the_at_name() -> None:
    post = clean_post(f"感谢{mention('星河手机')} 寄来的新机")

    assert post.text == "感谢@星河手机 寄来的新机"
    assert post.at_users == ("星河手机",)


def test_topic_anchor_keeps_the_hash_text_and_is_not_a_link() -> None:
    post = clean_post(f"{TOPIC_LAUNCH}现场人好多")

    assert post.text == "#启航汽车发布会#现场人好多"
    assert post.topics == ("启航汽车发布会",)
    assert post.urls == ()


def test_link_anchor_shows_its_label_and_collects_the_unwrapped_url() -> None:
    post = clean_post(f"评测在这 {LINK_REVIEW}")

    assert post.text == "评测在这 网页链接"
    assert post.urls == ("https://ev-review.example.com/qihang/x7?from=weibo&lang=zh",)


def test_link_anchor_with_a_direct_href_collects_it() -> None:
    video = (
        '<a data-url="http://t.cn/A6vIdE0a" href="https://video.weibo.com/show?fid=1034:4968000000000001" '
        "data-hide=\"\"><span class='url-icon'><img style='width: 1rem;height: 1rem' "
        "src='https://h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_video_default.png'></span>"
        '<span class="surl-text">星河手机的微博视频</span></a>'
    )
    post = clean_post(f"跌落测试 {video}")

    assert post.text == "跌落测试 星河手机的微博视频"
    assert post.urls == ("https://video.weibo.com/show?fid=1034:4968000000000001",)


def test_link_anchor_showing_a_short_url_is_collected_once() -> None:
    raw = '看<a data-url="http://t.cn/A6abCDef" href="https://www.example.com/qihang/recall">http://t.cn/A6abCDef</a>'

    assert clean_post(raw).urls == ("https://www.example.com/qihang/recall",)


@pytest.mark.parametrize("ellipsis", ["...", "…", " ..."])
def test_fulltext_link_and_the_ellipsis_before_it_are_dropped(ellipsis: str) -> None:
    raw = f'启航汽车的售后这次真的让我失望{ellipsis}<a href="/status/4968123456789012">全文</a>'

    assert strip_html(raw) == "启航汽车的售后这次真的让我失望"


def test_zero_width_characters_are_removed() -> None:
    assert clean_post("星河\u200b手机\u200c真\u200d香\ufeff").text == "星河手机真香"
    assert strip_html("星河<br />\u200b手机") == "星河\n手机"


def test_space_runs_collapse_and_at_most_one_blank_line_is_kept() -> None:
    raw = "  启航汽车   售后\t\t差  <br /><br /><br /><br />   星河手机 &nbsp; 还行  "

    assert strip_html(raw) == "启航汽车 售后 差\n\n星河手机 还行"


def test_plain_text_skips_the_html_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(*_args: object) -> str:
        raise AssertionError("plain text went through the HTML step")

    monkeypatch.setattr(nlp.clean, "_html_to_text", must_not_run)

    assert clean_post("启航汽车  的续航还行 #启航汽车#").text == "启航汽车 的续航还行 #启航汽车#"
    assert strip_html("星河手机 发热") == "星河手机 发热"


def test_a_less_than_sign_that_opens_no_tag_is_kept() -> None:
    assert strip_html("价格<5000 才考虑 &lt;3 启航 <3") == "价格<5000 才考虑 <3 启航 <3"


# ---------------------------------------------------------------------------------------------------------------
# Repost chain
# ---------------------------------------------------------------------------------------------------------------


def test_repost_chain_is_split_into_own_text_and_hops() -> None:
    post = clean_post("我的话//@甲:他的话 //@乙: 她的话")

    assert post.text == "我的话//@甲:他的话 //@乙: 她的话"
    assert post.own_text == "我的话"
    assert post.chain == (RepostHop(user="甲", text="他的话"), RepostHop(user="乙", text="她的话"))


def test_repost_hop_accepts_a_full_width_colon() -> None:
    post = clean_post("同感//@车评人老周：启航这次翻车了//@数码小鱼:确实")

    assert post.own_text == "同感"
    assert post.chain == (RepostHop("车评人老周", "启航这次翻车了"), RepostHop("数码小鱼", "确实"))


def test_double_slash_at_without_a_colon_terminated_name_is_not_a_hop() -> None:
    post = clean_post("看看这个//@星河手机 新品怎么样")

    assert post.chain == ()
    assert post.own_text == "看看这个//@星河手机 新品怎么样"


def test_pure_repost_has_empty_own_text() -> None:
    post = clean_post("//@车评人老周:启航汽车售后电话打不通")

    assert post.own_text == ""
    assert post.chain == (RepostHop("车评人老周", "启航汽车售后电话打不通"),)
    assert post.at_users == ()


def test_default_repost_words_are_the_own_text() -> None:
    post = clean_post("转发微博")

    assert post.own_text == "转发微博"
    assert post.chain == ()


def test_repost_chain_in_html_is_read_from_the_mention_anchors() -> None:
    # m.weibo.cn writes the hop's name as a mention anchor and sometimes a space before the colon.
    raw = f"支持{NU}//{mention('车评人老周')} :启航这次真的不行//{mention('数码小鱼')}:{YUNBEI}"

    post = clean_post(raw)

    assert post.text == "支持[怒]//@车评人老周 :启航这次真的不行//@数码小鱼:[允悲]"
    assert post.own_text == "支持[怒]"
    assert post.chain == (RepostHop("车评人老周", "启航这次真的不行"), RepostHop("数码小鱼", "[允悲]"))
    assert post.at_users == ()


# ---------------------------------------------------------------------------------------------------------------
# Mentions, topics, links
# ---------------------------------------------------------------------------------------------------------------


def test_at_users_come_from_own_text_only_unique_and_in_order() -> None:
    post = clean_post("@星河手机 @启航汽车 又是@星河手机 //@数码小鱼:@路人甲 说得对")

    assert post.at_users == ("星河手机", "启航汽车")


def test_an_email_address_is_not_a_mention() -> None:
    assert clean_post("投诉发到 service@qihang-auto.example.com 了 @启航汽车客服").at_users == ("启航汽车客服",)


def test_mention_anchor_marks_where_a_name_ends_inside_chinese_text() -> None:
    post = clean_post(f"谢谢{mention('星河手机')}送的耳机")

    assert post.text == "谢谢@星河手机送的耳机"
    assert post.at_users == ("星河手机",)


def test_topics_come_from_the_whole_text_unique_and_in_order() -> None:
    post = clean_post("#启航汽车# 续航虚标 #维权# //@车评人老周:#启航汽车# #315晚会#")

    assert post.topics == ("启航汽车", "维权", "315晚会")


def test_a_lone_hash_is_not_a_topic() -> None:
    assert clean_post("学 C# 和 F# 的程序员用星河手机").topics == ()


def test_bare_urls_in_plain_text_are_collected_and_unwrapped() -> None:
    raw = (
        "官方回应https://www.example.com/qihang/notice?id=12。另见 "
        "https://weibo.cn/sinaurl?u=https%3A%2F%2Fnews.example.com%2Fa%2F1 和 http://t.cn/A6zZ9yXw"
    )

    assert clean_post(raw).urls == (
        "https://www.example.com/qihang/notice?id=12",
        "https://news.example.com/a/1",
        "http://t.cn/A6zZ9yXw",
    )


def test_urls_are_unique() -> None:
    raw = f"{LINK_REVIEW} 再贴一次 {LINK_REVIEW}"

    assert clean_post(raw).urls == ("https://ev-review.example.com/qihang/x7?from=weibo&lang=zh",)


# ---------------------------------------------------------------------------------------------------------------
# Width folding and traditional → simplified
# ---------------------------------------------------------------------------------------------------------------


def test_full_width_letters_digits_and_space_fold_but_chinese_punctuation_stays() -> None:
    post = clean_post("ＡＢＣ１２３　星河手机ｐｒｏ，真的好用！【推荐】？")

    assert post.text == "ABC123 星河手机pro，真的好用！【推荐】？"


def test_full_width_ascii_punctuation_is_not_folded() -> None:
    assert clean_post("价格：５０００（含税）").text == "价格：5000（含税）"


def test_to_simplified_converts_traditional_characters() -> None:
    assert to_simplified("啟航汽車發佈會") == "启航汽车发布会"


def test_to_simplified_leaves_simplified_and_other_scripts_unchanged() -> None:
    text = "启航汽车发布会 😡 日本のカメラ 한국어 Latin 123"

    assert to_simplified(text) == text
    assert to_simplified("") == ""


def test_to_simplified_takes_the_first_candidate_of_a_one_to_many_entry() -> None:
    assert to_simplified("乾淨的車") == "干净的车"


# ---------------------------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------------------------


def test_empty_input_gives_an_empty_post() -> None:
    empty = CleanPost(text="", own_text="", chain=(), at_users=(), topics=(), urls=())

    assert clean_post("") == empty
    assert clean_post("  \u200b <br /> ") == empty
    assert clean_post(None) == empty  # type: ignore[arg-type]
    assert strip_html("") == ""


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<<<a href=", "<<"),
        ("<b>没闭合 <i>的标签", "没闭合 的标签"),
        ("<a href='/n/星河手机'>@星河手机 没有结束标签", "@星河手机 没有结束标签"),
        ("多余的结束标签</a></span>还在", "多余的结束标签还在"),
        ('<img alt="[怒" src=x>半个表情', "半个表情"),
        ("<>空标签<//>", "<>空标签"),
        ("&&&amp &#xZZ; &unknown; 文本", "&&& &#xZZ; &unknown; 文本"),
    ],
)
def test_html_garbage_gives_best_effort_text(raw: str, text: str) -> None:
    assert clean_post(raw).text == text


def test_mixed_scripts_are_kept() -> None:
    raw = f"启航汽车😡😡{NU} 日本語のレビュー 한국어 리뷰 Great car, bad service"

    assert clean_post(raw).text == "启航汽车😡😡[怒] 日本語のレビュー 한국어 리뷰 Great car, bad service"


def test_a_20000_character_post_is_cleaned_whole() -> None:
    paragraph = f"{TOPIC_LAUNCH}续航虚标{NU}，{mention('启航汽车客服')} 给个说法<br />"
    raw = paragraph * (20_000 // len(paragraph) + 1)

    post = clean_post(raw)

    assert post.text.count("#启航汽车发布会#续航虚标[怒]，@启航汽车客服 给个说法") == raw.count("<br />")
    assert post.topics == ("启航汽车发布会",)
    assert post.at_users == ("启航汽车客服",)


HOSTILE_20K = {
    "less-than signs": "<" * 20_000,
    "ampersands": "&" * 20_000,
    "unclosed anchors": '<a href="' * 2_222,
    "anchor never closed": "<a x>" + "x" * 20_000,
    "nested spans": "<span>" * 3_333,
    "dots before 全文": "." * 20_000 + '<a href="/status/1">全文</a>',
    "hashes": "#a" * 10_000,
    "at signs": "@甲" * 10_000,
    "repost hops": "//@甲:" * 4_000,
    "url prefixes": "http://" * 2_857,
    "spaces then text": " " * 20_000 + "x",
    "whitespace mix": " \n\t\u3000" * 5_000,
    "emoji and kana": "😡日本語한국어Latin" * 1_666,
    "sinaurl ampersands": "https://weibo.cn/sinaurl?" + "&" * 20_000,
    "alt brackets": "<img alt=" + "[" * 20_000 + ">",
}


@pytest.mark.parametrize("raw", HOSTILE_20K.values(), ids=HOSTILE_20K.keys())
def test_hostile_20000_character_input_is_cleaned_quickly(raw: str) -> None:
    started = time.perf_counter()
    clean_post(raw)
    strip_html(raw)
    to_simplified(raw)

    assert time.perf_counter() - started < 0.5
