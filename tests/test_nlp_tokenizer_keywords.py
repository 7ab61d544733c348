"""nlp.tokenizer and nlp.keywords: jieba taught the watchlist, content words, TF-IDF keywords, rising words (G²).

Brands and posts are invented (启航汽车, 星河手机).
"""

from __future__ import annotations

import math
import pickle

import pytest

from nlp.keywords import IdfTable, RisingWord, jieba_idf, rising_words, top_keywords
from nlp.tokenizer import Tokenizer

BRAND_WORDS = ("启航汽车", "星河手机", "qihang")


@pytest.fixture(scope="module")
def plain() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(BRAND_WORDS)


def contains_run(tokens: list[str], run: list[str]) -> bool:
    return any(tokens[i : i + len(run)] == run for i in range(len(tokens) - len(run) + 1))


# -- tokenizer ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "brand", "split"),
    [
        ("启航汽车的刹车又失灵了", "启航汽车", ["启航", "汽车"]),
        ("我买了星河手机，续航真不错", "星河手机", ["星河", "手机"]),
    ],
)
def test_a_brand_from_the_user_dictionary_stays_one_token(plain, tokenizer, text, brand, split):
    # Without the watchlist jieba splits the name: the test would prove nothing otherwise.
    assert brand not in plain.tokens(text) and contains_run(plain.tokens(text), split)
    tokens = tokenizer.tokens(text)
    assert brand in tokens and not contains_run(tokens, split)
    assert "".join(tokens) == text  # nothing lost or added


def test_terms_with_spaces_cannot_be_jieba_words_and_are_left_out():
    assert Tokenizer(["启航 x7", "", "星河手机", "星河手机"]).user_words == ("星河手机",)


def test_emoticons_stay_whole_and_whitespace_is_dropped(tokenizer):
    tokens = tokenizer.tokens("启航汽车  刹车又坏了[怒][允悲]\t真的 服了\n[doge]")
    assert tokens[:1] == ["启航汽车"]
    assert "[怒]" in tokens and "[允悲]" in tokens and "[doge]" in tokens
    assert not any(token.isspace() or not token for token in tokens)
    assert "[" not in tokens and "怒" not in tokens
    assert tokenizer.tokens("") == [] and tokenizer.tokens(" \t\n ") == []
    assert tokenizer.tokens("[怒]") == ["[怒]"]


def test_links_stay_whole_and_are_never_content_words(tokenizer):
    tokens = tokenizer.tokens("刹车又异响了 http://t.cn/A6qXyZ12看看 https://ev.example.com/x7?a=1&b=2")
    assert "http://t.cn/A6qXyZ12" in tokens and "https://ev.example.com/x7?a=1&b=2" in tokens
    assert "看看" in tokens  # the link ends where the Chinese text begins
    assert tokenizer.content_words(tokens) == ["刹车", "异响", "看看"]


def test_content_words_drop_stopwords_punctuation_numbers_and_emoticons(tokenizer):
    tokens = ["启航汽车", "的", "刹车", "，", "2026", "12.5", "！", "[怒]", "了", "q7", "异响", "...", "%"]
    assert tokenizer.content_words(tokens) == ["启航汽车", "刹车", "q7", "异响"]
    words = tokenizer.content_words(tokenizer.tokens("启航汽车的刹车在2026年又失灵了！！[怒]"))
    assert words == ["启航汽车", "刹车", "失灵"]


def test_custom_stopwords_replace_the_default_list():
    custom = Tokenizer(stopwords=frozenset({"刹车"}))
    assert custom.content_words(["刹车", "的", "异响"]) == ["的", "异响"]


def test_the_tokenizer_pickles_and_works_after_unpickling(tokenizer):
    tokenizer.tokens("先用一次")  # a loaded jieba must not be what gets pickled
    copy = pickle.loads(pickle.dumps(tokenizer))
    assert copy.user_words == tokenizer.user_words and copy.stopwords == tokenizer.stopwords
    text = "星河手机和启航汽车联名了[赞]"
    assert copy.tokens(text) == tokenizer.tokens(text)
    assert "星河手机" in copy.tokens(text)


# -- keywords -----------------------------------------------------------------------------------------------------

IDF = IdfTable({"刹车": 2.0, "异响": 5.0, "售后": 1.0, "启航汽车": 50.0, "车": 50.0}, unseen=10.0, source="test")


def test_top_keywords_rank_by_tf_idf():
    words = ["售后", "刹车", "异响", "刹车", "售后", "刹车", "新词"]
    # tf·idf: 新词 1×10 (unseen), 刹车 3×2 = 6, 异响 1×5, 售后 2×1
    assert top_keywords(words, IDF, limit=4) == ["新词", "刹车", "异响", "售后"]
    assert top_keywords(words, IDF, limit=2) == ["新词", "刹车"]
    assert top_keywords([], IDF) == []


def test_top_keywords_leave_out_brand_terms_and_single_characters():
    words = ["启航汽车", "启航汽车", "车", "车", "刹车", "异响"]
    assert top_keywords(words, IDF, exclude=frozenset({"启航汽车"})) == ["异响", "刹车"]


def test_ties_go_to_the_word_seen_first():
    table = IdfTable({}, unseen=1.0, source="test")
    assert top_keywords(["续航", "刹车", "异响"], table) == ["续航", "刹车", "异响"]


def test_corpus_idf_falls_back_to_jiebas_below_a_thousand_documents():
    small = IdfTable.from_document_frequencies({"刹车": 500}, 999)
    assert small is jieba_idf() and small.source == "jieba"
    assert small["刹车"] == pytest.approx(jieba_idf().idf["刹车"])
    assert small["一个从未见过的新词xyz"] == small.unseen >= max(small.idf.values())
    assert IdfTable.from_document_frequencies({}, 0).source == "jieba"


def test_corpus_idf_is_used_from_a_thousand_documents():
    documents = 1_000
    table = IdfTable.from_document_frequencies({"刹车": 500, "召回": 3, "零": 0}, documents)
    assert table.source == f"corpus:{documents}"
    assert table["刹车"] == pytest.approx(math.log((1 + documents) / 501) + 1)
    assert table["召回"] == pytest.approx(math.log((1 + documents) / 4) + 1)
    assert table["没见过"] == table["零"] == pytest.approx(math.log(1 + documents) + 1)
    # a word half the brand's posts use ranks below a rare one, even when it is said twice as often
    assert top_keywords(["刹车", "刹车", "召回"], table) == ["召回", "刹车"]


# -- rising words -------------------------------------------------------------------------------------------------


def test_a_big_rise_outranks_a_small_new_word_and_falling_words_are_absent():
    risen = rising_words(
        {"刹车失灵": 200, "新词": 3, "续航": 20, "召回": 200},
        {"刹车失灵": 10, "续航": 100, "召回": 100},
        1_000,
        1_000,
    )
    words = [item.word for item in risen]
    assert words == ["刹车失灵", "召回", "新词"]
    # 召回 (100 → 200) doubles while 新词 (0 → 3) has the larger ratio: G² still ranks 召回 higher
    ratio = {item.word: item.ratio for item in risen}
    assert ratio["新词"] > ratio["召回"]
    assert "续航" not in words  # its share fell
    assert risen[0] == RisingWord("刹车失灵", 200, 10, pytest.approx(0.2 / (10.5 / 1_001)), pytest.approx(230.92, 1e-4))


def test_min_count_and_limit_are_respected():
    current, baseline = {"刹车": 2, "异响": 3, "召回": 4}, {}
    assert [w.word for w in rising_words(current, baseline, 10, 10)] == ["召回", "异响"]
    assert [w.word for w in rising_words(current, baseline, 10, 10, min_count=2)] == ["召回", "异响", "刹车"]
    assert [w.word for w in rising_words(current, baseline, 10, 10, min_count=2, limit=1)] == ["召回"]
    assert rising_words(current, baseline, 0, 10) == []  # an empty window has nothing rising


def test_g_squared_matches_a_hand_computed_table():
    # with/without the word: window (3, 7), baseline (1, 9); expected counts under independence (2, 8, 2, 8)
    expected = 2 * (3 * math.log(3 / 2) + 7 * math.log(7 / 8) + 1 * math.log(1 / 2) + 9 * math.log(9 / 8))
    assert expected == pytest.approx(1.29715, abs=1e-5)
    (word,) = rising_words({"异响": 3}, {"异响": 1}, 10, 10, min_count=1)
    assert word.score == pytest.approx(expected, rel=1e-12)
    assert (word.count, word.baseline_count) == (3, 1)
    assert word.ratio == pytest.approx(0.3 / (1.5 / 11))


def test_rising_word_json_is_rounded():
    item = RisingWord("刹车失灵", 200, 10, 19.0666, 230.9209)
    assert item.to_json_dict() == {
        "word": "刹车失灵",
        "count": 200,
        "baseline_count": 10,
        "ratio": 19.07,
        "score": 230.9,
    }
