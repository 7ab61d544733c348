"""nlp.analyzer: one pass over a post — clean, tokenize, brands, keywords, sentiment (shipped model), simhash.

Every post here is invented (brands 启航汽车/QIHANG and 星河手机/Galaxa, users 甲 and 车主老王). The sentiment
examples are a behaviour check of the shipped model on plain, unambiguous posts a PR team sees every day.
"""

from __future__ import annotations

import pickle
import time

import pytest

from nlp.analyzer import Analysis, Analyzer, AnalyzerSettings
from nlp.sentiment import engine_named
from nlp.simhash import NO_CONTENT, hamming
from tests.conftest import make_mention

BRANDS = (("启航汽车", "启航 OR QIHANG"), ("星河手机", "星河手机 OR Galaxa"))
LABELS = ("negative", "neutral", "positive")


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(AnalyzerSettings(brands=BRANDS))


def one(analyzer: Analyzer, text: str) -> Analysis:
    (analysis,) = analyzer.analyze([text])
    return analysis


def assert_well_formed(analysis: Analysis) -> None:
    sentiment = analysis.sentiment
    probs = sentiment["probs"]
    assert isinstance(probs, dict) and set(probs) == set(LABELS)
    assert all(0.0 <= p <= 1.0 for p in probs.values())
    assert sum(probs.values()) == pytest.approx(1.0, abs=0.002)  # rounded to 3 decimals each
    assert sentiment["label"] == max(probs, key=probs.__getitem__)
    assert all(isinstance(word, str) and word for word in analysis.keywords)
    assert set(analysis.brands) <= {name for name, _ in BRANDS}
    assert 0 <= analysis.simhash < 2**64


# -- sentiment of the shipped model ---------------------------------------------------------------------------------

SENTIMENT_EXAMPLES = [
    ("negative", "启航汽车的刹车失灵了，高速上差点出事，打了三次客服电话都没人理，必须退款！我要维权[怒]"),
    ("negative", "QIHANG X7提车三个月，刹车异响去4S店修了两次还是没好，售后态度极差，太失望了"),
    ("negative", "星河手机客服说要寄回检测，等了二十天还没消息，电话也打不通，太坑了"),
    ("positive", "今天提了启航X7，开起来特别稳，内饰也很漂亮，全家都很满意，太喜欢了[心]"),
    ("positive", "星河手机拍照真的太好看了，续航也给力，推荐给大家！[赞]"),
    ("positive", "星河手机的系统更新后流畅多了，电池也更耐用，点赞[赞]"),
    ("neutral", "启航汽车将于11月28日在上海举行新品发布会，届时将公布X9车型的价格和配置。"),
    ("neutral", "星河手机官方宣布：新款星河手机将于下周一开始预售，首批供货地区为华东。"),
    ("neutral", "启航汽车X9官方指导价公布：标准版23.98万元，长续航版26.98万元。"),
]


def test_the_shipped_model_labels_clear_posts_right(analyzer):
    results = analyzer.analyze([text for _, text in SENTIMENT_EXAMPLES])
    got = [(analysis.sentiment["label"], text) for analysis, (_, text) in zip(results, SENTIMENT_EXAMPLES, strict=True)]
    assert got == SENTIMENT_EXAMPLES
    for analysis in results:
        assert_well_formed(analysis)
        assert analysis.brands  # every example names a brand


def test_a_clear_complaint_is_confidently_negative(analyzer):
    probs = one(analyzer, SENTIMENT_EXAMPLES[0][1]).sentiment["probs"]
    assert probs["negative"] >= 0.8


def test_weibo_emoticons_carry_sentiment(analyzer):
    assert one(analyzer, "[怒][怒]").sentiment["label"] == "negative"


def test_analysing_nothing_gives_nothing(analyzer):
    assert analyzer.analyze([]) == []


# -- reposts ---------------------------------------------------------------------------------------------------------

QUOTED = "启航汽车刹车失灵，差点出事，维权！"


OWN_WORDS = "太好用了，续航扎实，做工也很满意，推荐"  # long enough to stand alone (MIN_OWN_CHARS)


def test_a_repost_is_judged_on_its_own_words_and_brand_matched_on_the_whole_text(analyzer):
    repost = one(analyzer, f"{OWN_WORDS}//@甲:{QUOTED}")
    alone = one(analyzer, OWN_WORDS)
    assert repost.sentiment == alone.sentiment and repost.sentiment["label"] == "positive"
    assert alone.brands == [] and repost.brands == ["启航汽车"]  # the brand is only in the quoted hop
    assert not {"刹车", "失灵", "维权"} & set(repost.keywords)  # keywords are the reposter's words too
    assert repost.clean.own_text == OWN_WORDS and repost.clean.chain[0].user == "甲"


@pytest.mark.parametrize("own_words", ["转发微博", "轉發微博", "", "  ", "repost", "Repost", "同感", "+1"])
def test_a_repost_with_too_few_own_words_is_judged_on_the_whole_post(analyzer, own_words):
    repost = one(analyzer, f"{own_words}//@甲:{QUOTED}//@乙:已经在处理了")
    assert repost.sentiment["label"] == "negative"
    assert "刹车" in repost.keywords
    assert repost.brands == ["启航汽车"]


# -- keywords and brands ---------------------------------------------------------------------------------------------


def test_keywords_never_include_brand_names_or_query_terms(analyzer):
    text = "QIHANG启航汽车的启航X7刹车异响，启航售后不管，换了星河手机打客服也打不通，Galaxa也一样"
    analysis = one(analyzer, text)
    assert analysis.brands == ["启航汽车", "星河手机"]
    assert analysis.keywords and "刹车" in analysis.keywords
    assert not {"qihang", "启航汽车", "启航", "星河手机", "galaxa"} & set(analysis.keywords)
    assert {"qihang", "启航汽车", "启航", "星河手机", "galaxa"} <= analyzer.brand_terms
    assert "启航汽车" in analyzer.content_words(text)  # the words keywords are picked from still hold the brand


def test_keywords_are_limited_by_the_settings():
    few = Analyzer(AnalyzerSettings(brands=BRANDS, keywords_per_post=2))
    text = SENTIMENT_EXAMPLES[0][1]
    (analysis,) = few.analyze([text])
    assert len(analysis.keywords) == 2


def test_pieces_of_links_are_never_keywords(analyzer):
    analysis = one(analyzer, "启航X7刹车又异响了，视频在这 http://t.cn/A6qXyZ12 大家看看")
    assert analysis.clean.urls == ("http://t.cn/A6qXyZ12",)
    assert not [word for word in analysis.keywords if word in "http://t.cn/a6qxyz12"]


# -- simhash ---------------------------------------------------------------------------------------------------------

WAVE = "启航汽车X7刹车失灵，4S店推卸责任，客服不理，要求退款！大家评评理{}"


@pytest.mark.parametrize(("first", "second"), [("[怒]", "[哭]"), ("😡", "😭😭"), ("[怒]", "")])
def test_a_copy_paste_post_with_another_emoji_has_the_same_simhash(analyzer, first, second):
    a, b = analyzer.analyze([WAVE.format(first), WAVE.format(second)])
    assert a.simhash == b.simhash != NO_CONTENT
    other = one(analyzer, "星河手机拍照真的太好看了，续航也给力，推荐给大家！")
    assert hamming(a.simhash, other.simhash) > 3  # the hash still tells different posts apart


# -- odd input never raises ------------------------------------------------------------------------------------------

ODD_INPUT = {
    "empty": "",
    "whitespace": " \t\n\u3000 ",
    "emoji only": "😀😀😀🔥",
    "html garbage": "<div><p>&nbsp;<a href='x'></span><img alt=",
    "markup soup": "<<<>>> &amp;&lt;&#x;<script>alert(1)</script>启航 <img src=x onerror=1>",
    "control characters": "\x00\x07\ufeff\u200b",
    "mixed scripts": "星河手机の新機種はいいですね 갤럭시 최고 Galaxa phone is great 👍🔥 Ça marche très bien",
    "long": "启航汽车X7的刹车真的有问题，客服也不理人。" * 1_000,
    "one long run": "啊" * 20_000,
    "broken chain": "//@:",
    "lone surrogate": "\ud83d启航",
}


@pytest.mark.parametrize("text", ODD_INPUT.values(), ids=ODD_INPUT.keys())
def test_odd_input_gives_a_well_formed_analysis(analyzer, text):
    started = time.perf_counter()
    analysis = one(analyzer, text)
    assert time.perf_counter() - started < 2.0
    assert_well_formed(analysis)
    assert len(analysis.keywords) <= 5


@pytest.mark.parametrize("text", ["", " \t\n\u3000 ", "<div><p>&nbsp;<a href='x'></span><img alt="])
def test_a_post_without_words_is_neutral_with_nothing_found(analyzer, text):
    analysis = one(analyzer, text)
    assert analysis.clean.text == ""
    assert analysis.sentiment["label"] == "neutral"
    assert (analysis.keywords, analysis.brands, analysis.simhash) == ([], [], NO_CONTENT)


def test_odd_input_results_that_are_defined(analyzer):
    assert one(analyzer, ODD_INPUT["emoji only"]).keywords == []
    assert one(analyzer, ODD_INPUT["emoji only"]).simhash == NO_CONTENT
    mixed = one(analyzer, ODD_INPUT["mixed scripts"])
    assert mixed.brands == ["星河手机"]
    long = one(analyzer, ODD_INPUT["long"])
    assert long.brands == ["启航汽车"] and long.sentiment["label"] == "negative"
    assert "刹车" in long.keywords and long.simhash == one(analyzer, ODD_INPUT["long"][:200]).simhash
    assert one(analyzer, ODD_INPUT["markup soup"]).brands == ["启航汽车"]


def test_a_batch_keeps_its_order_and_matches_posts_analysed_one_by_one(analyzer):
    texts = [text for _, text in SENTIMENT_EXAMPLES[:4]] + list(ODD_INPUT.values())[:4]
    batch = analyzer.analyze(texts)
    assert [a.sentiment for a in batch] == [one(analyzer, t).sentiment for t in texts]
    assert [a.simhash for a in batch] == [one(analyzer, t).simhash for t in texts]


# -- writing the analysis onto a mention -----------------------------------------------------------------------------

HTML_POST = (
    '启航X7刹车又异响了<span class="url-icon"><img alt="[怒]" src="x.png" /></span> '
    "<a href='/n/启航汽车客服'>@启航汽车客服</a> "
    '<a href="https://m.weibo.cn/search?containerid=231522type%3D1%26q%3D%23启航X7%23">'
    "<span class=\"surl-text\">#启航X7#</span></a> //<a href='/n/车主老王'>@车主老王</a>:我的也是"
)


def test_apply_writes_the_analysis_and_keeps_the_original_text(analyzer):
    mention = make_mention(HTML_POST)
    (same,) = analyzer.analyze_mentions([mention])
    assert same is mention
    assert mention.text == "启航X7刹车又异响了[怒] @启航汽车客服 #启航X7# //@车主老王:我的也是"
    data = mention.to_json_dict()
    assert data["text_original"] == HTML_POST
    assert data["topics"] == ["启航X7"] and data["at_users"] == ["启航汽车客服"]
    assert data["repost_chain"] == [{"user": "车主老王", "text": "我的也是"}]
    assert "urls" not in data  # empty results are not written
    assert mention.brands == ["启航汽车"] and mention.sentiment_label in LABELS
    assert mention.sentiment.probs and set(mention.sentiment.probs) == set(LABELS)
    assert len(mention.simhash) == 16 and int(mention.simhash, 16) == one(analyzer, HTML_POST).simhash
    # analysing again (reanalyze) keeps the first original, not the already cleaned text
    analyzer.analyze_mentions([mention])
    assert mention.to_json_dict()["text_original"] == HTML_POST


def test_apply_leaves_clean_text_alone_and_adds_no_empty_fields(analyzer):
    mention = make_mention("星河手机拍照真的太好看了[赞]")
    analyzer.analyze_mentions([mention])
    assert mention.text == "星河手机拍照真的太好看了[赞]"
    assert mention.model_extra == {}
    assert mention.simhash is not None and len(mention.simhash) == 16
    assert (mention.brands, mention.sentiment_label) == (["星河手机"], "positive")


def test_apply_keeps_the_raw_text_when_cleaning_leaves_nothing(analyzer):
    mention = make_mention("<div><p>&nbsp;</p></div>")
    analyzer.analyze_mentions([mention])
    assert mention.text == "<div><p>&nbsp;</p></div>" and "text_original" not in mention.to_json_dict()
    assert mention.simhash == "0000000000000000" and mention.keywords == []


# -- engines and pickling --------------------------------------------------------------------------------------------


def test_the_snownlp_engine_is_selectable_and_gives_the_same_shape(analyzer):
    snow = Analyzer(AnalyzerSettings(brands=BRANDS, engine="snownlp"))
    assert snow.engine.name == "snownlp"
    texts = [text for _, text in SENTIMENT_EXAMPLES[::3]] + ["", "😀"]
    for got, reference in zip(snow.analyze(texts), analyzer.analyze(texts), strict=True):
        assert_well_formed(got)
        # only the sentiment depends on the engine
        assert (got.brands, got.keywords, got.simhash) == (reference.brands, reference.keywords, reference.simhash)
    assert snow.analyze([""])[0].sentiment["label"] == "neutral"


def test_an_unknown_engine_names_the_known_ones():
    with pytest.raises(ValueError, match="model, snownlp"):
        engine_named("bert")


def test_the_analyzer_pickles_and_works_after_unpickling(analyzer):
    copy = pickle.loads(pickle.dumps(analyzer))
    assert copy.settings == analyzer.settings and copy.brand_terms == analyzer.brand_terms
    texts = [f"太好用了//@甲:{QUOTED}", SENTIMENT_EXAMPLES[1][1], HTML_POST]
    assert copy.analyze(texts) == analyzer.analyze(texts)
