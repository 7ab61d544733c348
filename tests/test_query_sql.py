"""Property tests: the SQLite compiler selects exactly what Query.matches selects.

Posts and terms are drawn from a small alphabet that stresses the matching rules: ASCII word
characters next to CJK, punctuation and spaces, full-width and accented letters, emoji, zero-width
characters, combining marks and GLOB metacharacters. The FTS5 table is the store's: spaced unigrams
(see fengxiang.textmatch) searched with one phrase per term.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

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
    compile_sql,
    fts_match_expression,
    parse,
    render,
)
from fengxiang.textmatch import fold, index_document
from tests.query_strategies import query_terms, query_trees

TERM_PIECES = [
    "a", "b", "n", "i", "o", "1", "7", "ab", "nio", "su7", "蔚", "来", "车", "蔚来", "小米SU7", "-", ".",
    " ", "_", "Ａ", "N", "ＳＵ７", "１", "．", "＿", "é", "e\u0301", "\u0301", "😀", "🚗", "。", "，", "·",
    "*", "?", "[", "]", "'", "\u200b", "\u3000",
]  # fmt: skip
POST_PIECES = [*TERM_PIECES, '"', "  ", "\t", "（", "İ", "👨\u200d👩"]
QUERY_OPERATORS = ["AND", "OR", "NOT", "+", "|", "-", "(", ")", '"', "“", "」", "and", "ＯＲ", "－", "｜"]

terms = query_terms(TERM_PIECES)
trees = query_trees(TERM_PIECES, max_leaves=6)
query_strings = st.lists(
    st.one_of(st.sampled_from(TERM_PIECES), st.sampled_from(QUERY_OPERATORS), st.just(" ")), max_size=10
).map("".join)


def leaves(node: Node) -> Iterator[str]:
    match node:
        case Term(text):
            yield text
        case Not(item):
            yield from leaves(item)
        case And(items) | Or(items):
            for item in items:
                yield from leaves(item)


def posts_for(data: st.DataObject, query: Query) -> list[str]:
    """Random posts, often containing the query's own terms so that true matches are common."""
    pieces = st.one_of(st.sampled_from(POST_PIECES), st.sampled_from(list(leaves(query.root))))
    return data.draw(st.lists(st.lists(pieces, max_size=8).map("".join), min_size=1, max_size=10))


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE posts(rowid INTEGER PRIMARY KEY, match_text TEXT NOT NULL)")
    connection.execute(
        "CREATE VIRTUAL TABLE posts_fts USING fts5(tokens, content='', detail='full', columnsize=0, tokenize='ascii')"
    )
    connection.execute("CREATE VIRTUAL TABLE posts_vocab USING fts5vocab(posts_fts, 'instance')")
    yield connection
    connection.close()


def store(db: sqlite3.Connection, posts: list[str]) -> None:
    # A contentless FTS5 table cannot be emptied with DELETE, so each example rebuilds it.
    db.execute("DELETE FROM posts")
    db.execute("INSERT INTO posts_fts(posts_fts) VALUES ('delete-all')")
    for rowid, text in enumerate(posts, start=1):
        db.execute("INSERT INTO posts(rowid, match_text) VALUES (?, ?)", (rowid, fold(text)))
        db.execute("INSERT INTO posts_fts(rowid, tokens) VALUES (?, ?)", (rowid, index_document(text)))


def selected_by_sql(db: sqlite3.Connection, query: Query) -> set[int]:
    sql = compile_sql(query, text_column="match_text", rowid_column="posts.rowid", fts_table="posts_fts")
    return {rowid for (rowid,) in db.execute(f"SELECT rowid FROM posts WHERE {sql.where}", sql.params)}


def selected_by_prefilter(db: sqlite3.Connection, fts_match: str) -> set[int]:
    rows = db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", (fts_match,))
    return {rowid for (rowid,) in rows}


def selected_by_python(query: Query, posts: list[str]) -> set[int]:
    return {rowid for rowid, text in enumerate(posts, start=1) if query.matches(text)}


@settings(max_examples=400, deadline=None)
@given(data=st.data(), tree=trees)
def test_sql_selects_exactly_the_matching_posts(db: sqlite3.Connection, data: st.DataObject, tree: Node) -> None:
    query = Query.from_node(tree)
    posts = posts_for(data, query)
    store(db, posts)
    assert selected_by_sql(db, query) == selected_by_python(query, posts)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), tree=trees)
def test_prefilter_never_drops_a_true_match(db: sqlite3.Connection, data: st.DataObject, tree: Node) -> None:
    query = Query.from_node(tree)
    fts_match = fts_match_expression(query)
    if fts_match is None:  # no prefilter: nothing can be dropped
        return
    posts = posts_for(data, query)
    store(db, posts)
    assert selected_by_python(query, posts) <= selected_by_prefilter(db, fts_match)


# What the ascii tokenizer should make of an index document: folded text has no upper case.
FTS_TOKEN = re.compile(r"[0-9a-z]+|[^\x00-\x7f]")


@settings(max_examples=200, deadline=None)
@given(posts=st.lists(st.lists(st.sampled_from(POST_PIECES), max_size=8).map("".join), min_size=1, max_size=5))
def test_fts5_tokenizes_the_index_document_into_words_and_single_characters(
    db: sqlite3.Connection, posts: list[str]
) -> None:
    store(db, posts)
    for rowid, text in enumerate(posts, start=1):
        rows = db.execute("SELECT term FROM posts_vocab WHERE doc = ? ORDER BY offset", (rowid,))
        assert [term for (term,) in rows] == FTS_TOKEN.findall(fold(text))


@settings(max_examples=200, deadline=None)
@given(term=terms)
def test_a_term_prefilters_on_the_phrase_of_its_tokens(term: str) -> None:
    tokens = FTS_TOKEN.findall(fold(term))
    expected = '"' + " ".join(tokens) + '"' if tokens else None
    assert fts_match_expression(Query.from_node(Term(term))) == expected


def test_prefilter_false_selects_the_same_posts(db: sqlite3.Connection) -> None:
    posts = ["小米SU7发布", "小米su70", "蔚来NIO", "onion", "刹车失灵", "a.nio", "NIO-招聘"]
    store(db, posts)
    for text in ["小米SU7", "NIO -招聘", "刹车 OR onion", "NOT 蔚来", '".nio"']:
        query = parse(text)
        sql = compile_sql(
            query,
            text_column="match_text",
            rowid_column="posts.rowid",
            fts_table="posts_fts",
            prefilter=False,
        )
        assert "MATCH" not in sql.where
        rows = db.execute(f"SELECT rowid FROM posts WHERE {sql.where}", sql.params)
        assert {rowid for (rowid,) in rows} == selected_by_python(query, posts) == selected_by_sql(db, query)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), text=query_strings)
def test_typed_queries_parse_or_fail_cleanly_and_sql_agrees(
    db: sqlite3.Connection, data: st.DataObject, text: str
) -> None:
    try:
        query = parse(text)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(text)
        assert str(error).splitlines()[0] == error.message
        return
    posts = posts_for(data, query)
    store(db, posts)
    assert selected_by_sql(db, query) == selected_by_python(query, posts)


@settings(max_examples=400, deadline=None)
@given(tree=trees)
def test_rendered_tree_parses_back_to_the_same_tree(tree: Node) -> None:
    assert parse(render(tree)).root == tree


@settings(max_examples=400, deadline=None)
@given(text=query_strings)
def test_typed_query_survives_render_and_parse(text: str) -> None:
    try:
        query = parse(text)
    except QuerySyntaxError:
        return
    assert parse(render(query.root)).root == query.root
