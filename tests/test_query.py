"""The watchlist query language: syntax, errors, matching semantics, Elasticsearch output."""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengxiang.query import (
    And,
    Node,
    Not,
    Or,
    Query,
    QuerySyntaxError,
    Term,
    compile_matcher,
    compile_sql,
    fts_match_expression,
    parse,
    render,
    to_elasticsearch,
)
from fengxiang.textmatch import fold
from tests.query_strategies import query_trees

# ------------------------------------------------------------------------------------------ syntax


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("(蔚来 OR NIO) AND NOT 招聘", And((Or((Term("蔚来"), Term("nio"))), Not(Term("招聘"))))),
        ("小米 +SU7 -二手", And((Term("小米"), Term("su7"), Not(Term("二手"))))),
        ('"理想 L9" | 理想汽车', Or((Term("理想 l9"), Term("理想汽车")))),
        ("蔚来", Term("蔚来")),
        ("a b", And((Term("a"), Term("b")))),
        ("a AND b", And((Term("a"), Term("b")))),
        ("a+b", And((Term("a"), Term("b")))),
        ("a|b", Or((Term("a"), Term("b")))),
        ("NOT(a)", Not(Term("a"))),
        ('a AND"b c"', And((Term("a"), Term("b c")))),
        ('"a"b', And((Term("a"), Term("b")))),
        ("((a))", Term("a")),
        ("NOT NOT x", Not(Not(Term("x")))),
    ],
)
def test_parses_every_syntax_form(query: str, tree: Node) -> None:
    assert parse(query).root == tree


def test_parse_keeps_the_original_text() -> None:
    assert parse("(蔚来 OR NIO) AND NOT 招聘").text == "(蔚来 OR NIO) AND NOT 招聘"


@pytest.mark.parametrize("word", ["and", "or", "not", "And", "oR"])
def test_only_upper_case_keywords_are_operators(word: str) -> None:
    assert parse(f"a {word} b").root == And((Term("a"), Term(word.lower()), Term("b")))


@pytest.mark.parametrize(
    ("full_width", "ascii"),
    [
        ("（蔚来｜ＮＩＯ）＋－招聘", "(蔚来|NIO)+-招聘"),
        ("蔚来 ＡＮＤ ＮＩＯ ＯＲ 理想", "蔚来 AND NIO OR 理想"),
        ("ＮＯＴ 招聘 蔚来", "NOT 招聘 蔚来"),
        ("“理想 L9” 「蔚来 ES6」", '"理想 L9" "蔚来 ES6"'),
        ("＂理想 L9＂", '"理想 L9"'),
        ("蔚来\u3000NIO", "蔚来 NIO"),
    ],
)
def test_full_width_forms_and_chinese_quotes_act_like_ascii(full_width: str, ascii: str) -> None:
    assert parse(full_width).root == parse(ascii).root


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("model-3", Term("model-3")),
        ("a-b-", Term("a-b-")),
        ("-二手", Not(Term("二手"))),
        ("小米 -二手", And((Term("小米"), Not(Term("二手"))))),
        ("(-二手)", Not(Term("二手"))),
        ("a|-b", Or((Term("a"), Not(Term("b"))))),
        ("a+-b", And((Term("a"), Not(Term("b"))))),
        ("--a", Not(Not(Term("a")))),
        ("(a)-b", And((Term("a"), Not(Term("b"))))),
        ("－二手", Not(Term("二手"))),
        ("model－3", Term("model-3")),
    ],
)
def test_minus_is_not_only_where_a_term_starts(query: str, tree: Node) -> None:
    assert parse(query).root == tree


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ('"c++ (x) | y"', "c++ (x) | y"),
        ('"-a"', "-a"),
        ('"理想   L9"', "理想 l9"),
        ('"AND"', "and"),
        ("⑴", "(1)"),  # NFKC turns it into parentheses, but the user typed a term
    ],
)
def test_phrases_hold_operators_and_fold_spaces(query: str, text: str) -> None:
    assert parse(query).root == Term(text)


def test_words_of_zero_width_characters_are_ignored() -> None:
    assert parse("a \u200b b").root == And((Term("a"), Term("b")))
    assert parse("N\u200bIO").root == Term("nio")


@pytest.mark.parametrize(
    ("query", "same_as"),
    [
        ("a OR b c", "a OR (b AND c)"),
        ("a b OR c", "(a AND b) OR c"),
        ("a | b + c", "a | (b + c)"),
        ("NOT a b", "(NOT a) AND b"),
        ("NOT a OR b", "(NOT a) OR b"),
        ("-a | b", "(NOT a) OR b"),
        ("a OR NOT b c", "a OR ((NOT b) AND c)"),
    ],
)
def test_precedence_is_not_then_and_then_or(query: str, same_as: str) -> None:
    assert parse(query).root == parse(same_as).root


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty query — write at least one term", 0),
        ("   ", "empty query — write at least one term", 0),
        ("a AND", 'expected a term, a phrase or "(" after AND', 5),
        ("蔚来 AND OR b", 'expected a term, a phrase or "(" after AND', 7),
        ("a OR )", 'unbalanced ")" — remove it or add a matching "("', 5),
        ("(a OR )", 'expected a term, a phrase or "(" after OR', 6),
        ("a + | b", 'expected a term, a phrase or "(" after "+"', 4),
        ("a -", 'expected a term, a phrase or "(" after "-"', 3),
        ("NOT", 'expected a term, a phrase or "(" after NOT', 3),
        ("OR a", 'expected a term, a phrase or "(" at the start of the query', 0),
        ("(AND a)", 'expected a term, a phrase or "(" after "("', 1),
        ("a)", 'unbalanced ")" — remove it or add a matching "("', 1),
        (") a", 'unbalanced ")" — remove it or add a matching "("', 0),
        ("(a OR b", 'unclosed "(" — add a matching ")"', 0),
        ("x (a (b)", 'unclosed "(" — add a matching ")"', 2),
        ("a ()", 'empty parentheses — put a term between "(" and ")"', 2),
        ('蔚来 "理想 L9', 'unterminated phrase — add the closing "', 3),
        ("蔚来 “理想", 'unterminated phrase — add the closing "', 3),
        ('a ""', 'empty phrase "" — write a word or two between the quotes', 2),
        ('a " "', 'empty phrase "" — write a word or two between the quotes', 2),
        ("（蔚来｜）", 'expected a term, a phrase or "(" after "|"', 4),
    ],
)
def test_errors_say_what_was_expected_and_where(query: str, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert (caught.value.message, caught.value.position, caught.value.query) == (message, position, query)
    assert isinstance(caught.value, ValueError)


def _error_for(query: str) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    return caught.value


def test_error_renders_message_query_and_caret() -> None:
    assert str(_error_for("a AND")) == 'expected a term, a phrase or "(" after AND\na AND\n     ^'


def test_caret_counts_wide_characters_as_two_columns() -> None:
    rendered = str(_error_for("蔚来 AND OR b")).splitlines()
    assert rendered[1] == "蔚来 AND OR b"
    assert rendered[2] == "         ^"  # 蔚来 = 4 columns, " AND " = 5


def test_caret_after_full_width_and_emoji() -> None:
    rendered = str(_error_for("😀（蔚来 ＡＮＤ")).splitlines()
    # 😀（蔚来 = 8 columns, the space 1, ＡＮＤ 6: the caret sits one past the end
    assert rendered[2] == " " * 15 + "^"


def test_tabs_and_newlines_render_as_one_space_each() -> None:
    assert str(_error_for("a\tAND\n")).splitlines()[1:] == ["a AND ", "      ^"]


def test_syntax_error_pickles() -> None:
    error = _error_for("a AND")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.query, copy.position) == (error.message, error.query, error.position)


# -------------------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("NIO", "NIO", True),
        ("NIO", "onion", False),
        ("NIO", "蔚来NIO汽车", True),
        ("NIO", "nio's ES8", True),
        ("NIO", "NIO2", False),
        ("NIO", "ｎｉｏ", True),
        ("ｎｉｏ", "NIO", True),
        ("NIO", "N\u200bIO", True),
        ("NIO", "nio_x", True),  # "_" is not a word character
        ("小米SU7", "小米SU7 真香", True),
        ("小米SU7", "大小米su7。", True),
        ("小米SU7", "小米SU70", False),
        ("SU7小米", "ASU7小米", False),
        ("蔚来", "新蔚来汽车", True),
        ("蔚来", "蔚 来", False),
        ('"理想 L9"', "理想  L9 Pro", True),
        ('"理想 L9"', "理想L9", False),
        ('"理想 L9"', "理想 L90", False),
        ("model-3", "Tesla Model-3!", True),
        ("model-3", "model-30", False),
        ("model-3", "model 3", False),
        ('"c++"', "I love C++!", True),
        ('"c++"', "abc++", False),
        ("é", "café", True),
        ("(蔚来 OR NIO) AND NOT 招聘", "蔚来ES6交付了", True),
        ("(蔚来 OR NIO) AND NOT 招聘", "NIO Day", True),
        ("(蔚来 OR NIO) AND NOT 招聘", "蔚来招聘销售", False),
        ("(蔚来 OR NIO) AND NOT 招聘", "理想L9", False),
        ("小米 +SU7 -二手", "小米SU7真香", True),  # 米 and 真 are not word characters: SU7 is bounded
        ("小米 +SU7 -二手", "小米 SU7 二手车", False),
        ("小米 +SU7 -二手", "小米 SU7 提车", True),
        ("NOT NOT 蔚来", "蔚来", True),
    ],
)
def test_matching_semantics(query: str, text: str, expected: bool) -> None:
    parsed = parse(query)
    assert parsed.matches(text) is expected
    assert compile_matcher(parsed)(fold(text)) is expected


def test_a_term_matches_the_very_text_it_was_typed_as() -> None:
    # A zero-width character before a combining mark once made fold() unstable; pin the fix.
    tricky = "a\u200b\u0301"
    assert parse(tricky).matches(tricky)
    assert parse(f'"{tricky} b"').matches(f"x {tricky} b")


def test_fold_is_idempotent() -> None:
    once = fold("a\u200b\u0301")
    assert fold(once) == once


def test_a_used_query_pickles_and_still_matches() -> None:
    query = parse("(蔚来 OR NIO) AND NOT 招聘")
    assert query.matches("NIO Day")
    copy = pickle.loads(pickle.dumps(query))
    assert copy == query
    assert copy.matches("NIO Day") and not copy.matches("蔚来招聘")


def test_compile_matcher_takes_folded_text() -> None:
    matcher = compile_matcher(parse("NIO"))
    assert matcher("nio") is True
    assert matcher("NIO") is False  # callers fold once per post; the matcher does not refold


# ------------------------------------------------------------------------------ terms and validity


@pytest.mark.parametrize(
    ("query", "positive"),
    [
        ("蔚来", True),
        ("蔚来 -招聘", True),
        ("NOT NOT x", True),
        ("(a OR b) NOT c", True),
        ("NOT 招聘", False),
        ("-二手", False),
        ("NOT (a OR b)", False),
        ("NOT a NOT b", False),
        ("a OR NOT b", False),  # matches every post without b
    ],
)
def test_has_positive_term(query: str, positive: bool) -> None:
    assert parse(query).has_positive_term() is positive


def test_terms_lists_positive_terms_once_in_order() -> None:
    assert parse("(蔚来 OR NIO) AND NOT 招聘 蔚来").terms() == ["蔚来", "nio"]
    assert parse("NOT NOT x -y").terms() == ["x"]
    assert parse('"理想 L9" | 理想汽车').terms() == ["理想 l9", "理想汽车"]


def test_hand_built_terms_are_folded_and_never_empty() -> None:
    assert Term("ＮＩＯ").text == "nio"
    with pytest.raises(ValueError):
        Term(" \u200b ")
    with pytest.raises(ValueError):
        And(())


@pytest.mark.parametrize(
    "query",
    [
        "(蔚来 OR nio) AND NOT 招聘",
        '"理想 l9" OR 理想汽车',
        "a OR (b OR c)",
        "a AND (b AND c)",
        "NOT (a OR b)",
    ],
)
def test_render_is_canonical(query: str) -> None:
    assert render(parse(query).root) == query


def test_render_quotes_what_would_not_parse_as_a_word() -> None:
    assert render(And((Term("-a"), Term("c++"), Term("and"), Term("a b")))) == '"-a" AND "c++" AND and AND "a b"'
    with pytest.raises(ValueError):
        render(Term('say "hi"'))


def test_sql_rejects_names_that_are_not_identifiers() -> None:
    with pytest.raises(ValueError):
        compile_sql(parse("a"), text_column="t; DROP TABLE posts", rowid_column="rowid", fts_table="f")
    with pytest.raises(ValueError):
        compile_sql(parse("a"), text_column="t", rowid_column="rowid", fts_table="main.f")


def test_sql_shape() -> None:
    sql = compile_sql(parse("蔚来 NIO -招聘"), text_column="p.match_text", rowid_column="p.rowid", fts_table="fts")
    assert sql.where == (
        "p.rowid IN (SELECT rowid FROM fts WHERE fts MATCH ?) AND "
        "(instr(p.match_text, ?) > 0 AND (' ' || p.match_text || ' ') GLOB ? "
        "AND (NOT instr(p.match_text, ?) > 0))"
    )
    assert sql.params == ['("蔚 来" AND "nio")', "蔚来", "*[^0-9a-z]nio[^0-9a-z]*", "招聘"]


def test_sql_without_prefilter_is_the_exact_check_alone() -> None:
    query = parse("蔚来 NIO -招聘")
    with_prefilter = compile_sql(query, text_column="t", rowid_column="r", fts_table="fts")
    without = compile_sql(query, text_column="t", rowid_column="r", fts_table="fts", prefilter=False)
    assert "MATCH" not in without.where
    assert with_prefilter.where == f"r IN (SELECT rowid FROM fts WHERE fts MATCH ?) AND {without.where}"
    assert with_prefilter.params == [fts_match_expression(query), *without.params]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("蔚来汽车", '"蔚 来 汽 车"'),
        ("车", '"车"'),
        ("小米SU7", '"小 米 su7"'),
        ("ＮＩＯ", '"nio"'),
        ('"理想 L9"', '"理 想 l9"'),
        ("model-3", '"model 3"'),
        ('".nio"', '"nio"'),
        ('"c++"', '"c"'),
        ('"a_b.c d"', '"a b c d"'),
        ("café", '"caf é"'),
        ("😀", '"😀"'),
        ('"-.-"', None),
        ('"[*?]" a', '"a"'),
        ("NOT a", None),
        ("a OR NOT b", None),
        ("a NOT b", '"a"'),
        ('a OR "..."', None),
        ("a OR 蔚", '("a" OR "蔚")'),
        ("(a OR 蔚) 车", '(("a" OR "蔚") AND "车")'),
    ],
)
def test_fts_prefilter_expression(query: str, expected: str | None) -> None:
    assert fts_match_expression(parse(query)) == expected


def test_glob_metacharacters_are_escaped() -> None:
    assert compile_sql(parse('"a*?[b]"'), text_column="t", rowid_column="r", fts_table="f").params[-1] == (
        "*[^0-9a-z]a[*][?][[]b]*"
    )


# ---------------------------------------------------------------------------------- Elasticsearch


def test_elasticsearch_output_for_the_readme_query() -> None:
    assert to_elasticsearch(parse("(蔚来 OR NIO) AND NOT 招聘")) == {
        "bool": {
            "filter": [
                {
                    "bool": {
                        "should": [
                            {"wildcard": {"match_text": {"value": "*蔚来*"}}},
                            {"regexp": {"match_text": {"value": ".*[^0-9a-z]nio[^0-9a-z].*", "flags": "NONE"}}},
                        ],
                        "minimum_should_match": 1,
                    }
                },
                {"bool": {"must_not": [{"wildcard": {"match_text": {"value": "*招聘*"}}}]}},
            ]
        }
    }


def test_elasticsearch_boundaries_only_on_the_latin_side() -> None:
    assert to_elasticsearch(parse("小米SU7"), field="m") == {
        "regexp": {"m": {"value": ".*小米su7[^0-9a-z].*", "flags": "NONE"}}
    }
    assert to_elasticsearch(parse("SU7小米"), field="m") == {
        "regexp": {"m": {"value": ".*[^0-9a-z]su7小米.*", "flags": "NONE"}}
    }


def test_elasticsearch_escapes_special_characters() -> None:
    assert to_elasticsearch(parse('"蔚*来?\\"')) == {"wildcard": {"match_text": {"value": "*蔚\\*来\\?\\\\*"}}}
    assert to_elasticsearch(parse('"a.b+c|(d)#@&<>~{}[]"')) == {
        "regexp": {
            "match_text": {
                "value": ".*[^0-9a-z]a\\.b\\+c\\|\\(d\\)\\#\\@\\&\\<\\>\\~\\{\\}\\[\\].*",
                "flags": "NONE",
            }
        }
    }


# Elasticsearch itself is not available in tests, so emulate the two leaf queries we emit and check
# that the ES query selects exactly what Query.matches selects.


def _lucene_to_python(pattern: str, *, wildcard: bool) -> str:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if wildcard and char in "*?":
            out.append(".*" if char == "*" else ".")
        elif not wildcard and char == "[":
            end = pattern.index("]", index)
            out.append(pattern[index : end + 1])
            index = end + 1
            continue
        elif not wildcard and char in ".*":
            out.append(char)
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _es_matches(es_query: dict[str, Any], padded: str) -> bool:
    ((kind, body),) = es_query.items()
    if kind in ("wildcard", "regexp"):
        (spec,) = body.values()
        python = _lucene_to_python(spec["value"], wildcard=kind == "wildcard")
        return re.fullmatch(python, padded, re.DOTALL) is not None
    clauses = body
    if "filter" in clauses:
        return all(_es_matches(child, padded) for child in clauses["filter"])
    if "should" in clauses:
        assert clauses["minimum_should_match"] == 1
        return any(_es_matches(child, padded) for child in clauses["should"])
    return not any(_es_matches(child, padded) for child in clauses["must_not"])


_PIECES = [
    "a",
    "b",
    "n",
    "i",
    "o",
    "1",
    "蔚",
    "来",
    "车",
    "-",
    ".",
    " ",
    "Ａ",
    "é",
    "😀",
    "*",
    "?",
    "\\",
    "+",
    "[",
]
_trees = query_trees(_PIECES, max_leaves=5)
_posts = st.lists(st.sampled_from([*_PIECES, '"', "N", "\u200b"]), max_size=10).map("".join)


@settings(max_examples=300, deadline=None)
@given(tree=_trees, posts=st.lists(_posts, min_size=1, max_size=8))
def test_elasticsearch_query_selects_what_matches_selects(tree: Node, posts: list[str]) -> None:
    query = Query.from_node(tree)
    es_query = to_elasticsearch(query)
    for post in posts:
        assert _es_matches(es_query, f" {fold(post)} ") is query.matches(post), post
