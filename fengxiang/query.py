"""The watchlist query language: parse a query once, then match posts in Python, SQLite or Elasticsearch.

Syntax — what PR teams type::

    (蔚来 OR NIO) AND NOT 招聘        小米 +SU7 -二手        "理想 L9" | 理想汽车

* ``AND``, ``OR`` and ``NOT`` are operators only when written in UPPER case; a lower-case ``and``,
  ``or`` or ``not`` is an ordinary search word.
* Whitespace between terms means AND. The Chinese 舆情 habits work too: ``+`` is AND, ``|`` is OR,
  and ``-`` is NOT where a term starts (``-二手``); inside a word ``-`` is text (``model-3``).
* ``( )`` group, and ``"..."`` is a phrase: one term that may hold spaces and operator characters.
  ``+ | ( ) "`` always act as operators, so quote a term to search for them (``"c++"``); a double
  quote itself cannot be searched for.
* Full-width forms work like their ASCII twins (``（ ） ｜ ＋ － ＡＮＤ``) and the Chinese quotes
  “ ” and 「 」 work like ``"``.
* Precedence: NOT binds tightest, then AND (written or implied), then OR — ``a OR b c`` means
  ``a OR (b AND c)``. ``NOT NOT x`` is allowed and means ``x``.

Semantics — the same in every compiler (see :mod:`fengxiang.textmatch` for folding): a term matches a
post when ``fold(term)`` occurs in ``fold(post)``; when the term starts (ends) with an ASCII letter or
digit, the occurrence must not be preceded (followed) by one. So ``NIO`` finds ``蔚来NIO汽车`` but not
``onion``, CJK terms are plain substrings, and ``小米SU7`` does not find ``小米SU70``.

One parsed :class:`Query` compiles to three back ends that must agree:

* :meth:`Query.matches` / :func:`compile_matcher` — Python, for ingest (folded text in);
* :func:`compile_sql` — a SQLite WHERE clause: an FTS5 phrase prefilter (optional) and an exact check;
* :func:`to_elasticsearch` — an Elasticsearch ``bool`` query over a ``wildcard`` field.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeAlias

from fengxiang.textmatch import fold, is_word_char

__all__ = [
    "And",
    "Node",
    "Not",
    "Or",
    "Query",
    "QuerySyntaxError",
    "SqlFilter",
    "Term",
    "compile_matcher",
    "compile_sql",
    "fts_match_expression",
    "parse",
    "render",
    "to_elasticsearch",
]


# --------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Term:
    """A word or phrase; ``text`` is always stored folded (``Term("NIO").text == "nio"``)."""

    text: str

    def __post_init__(self) -> None:
        # The one place a term is folded — parsed and hand-built terms alike. Folding only once
        # matters: fold() is not idempotent for every input (a zero-width character before a
        # combining mark), and a post is folded once too.
        folded = fold(self.text)
        if not folded:
            raise ValueError(f"a term needs at least one visible character, got {self.text!r}")
        object.__setattr__(self, "text", folded)


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", _non_empty_tuple(self.items, "And"))


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", _non_empty_tuple(self.items, "Or"))


@dataclass(frozen=True)
class Not:
    item: Node


Node: TypeAlias = Term | And | Or | Not


def _non_empty_tuple(items: Any, kind: str) -> tuple[Node, ...]:
    items = tuple(items)
    if not items:
        raise ValueError(f"{kind} needs at least one item")
    return items


@dataclass(frozen=True)
class Query:
    """A parsed query: ``text`` as the user typed it and the tree it means."""

    text: str
    root: Node

    @classmethod
    def from_node(cls, root: Node) -> Query:
        """Wrap a hand-built tree, with its canonical query string as the text."""
        return cls(render(root), root)

    def matches(self, text: str) -> bool:
        """Does the query match this raw (unfolded) post text?"""
        return self._matcher(fold(text))

    @cached_property
    def _matcher(self) -> Callable[[str], bool]:
        return compile_matcher(self)

    def __getstate__(self) -> dict[str, Any]:
        # The cached matcher is made of closures, which do not pickle; it is rebuilt on first use.
        return {"text": self.text, "root": self.root}

    def terms(self) -> list[str]:
        """The positive terms (not under an odd number of NOTs), folded, unique, in query order.

        These are what a post is searched for — the NLP side adds them to the jieba dictionary.
        """
        return list(dict.fromkeys(_positive_terms(self.root, positive=True)))

    def has_positive_term(self) -> bool:
        """False for queries that match posts mentioning none of their terms, e.g. ``NOT 招聘``.

        Such a query matches nearly every post ever written, so a watchlist rejects it. The empty
        post is the post that mentions no term at all (terms are never empty), hence the test.
        Note ``a OR NOT b`` is rejected too: it matches every post without ``b``.
        """
        return not self._matcher("")


def _positive_terms(node: Node, *, positive: bool) -> Iterator[str]:
    match node:
        case Term(text):
            if positive:
                yield text
        case Not(item):
            yield from _positive_terms(item, positive=not positive)
        case And(items) | Or(items):
            for item in items:
                yield from _positive_terms(item, positive=positive)


def _boundaries(text: str) -> tuple[bool, bool]:
    """Does a (folded) term need a word boundary on its left, on its right?"""
    return is_word_char(text[0]), is_word_char(text[-1])


# ------------------------------------------------------------------------------------------ errors


class QuerySyntaxError(ValueError):
    """A query that does not parse; ``position`` indexes the text exactly as the user typed it."""

    def __init__(self, message: str, query: str, position: int) -> None:
        super().__init__(message, query, position)  # all three in args, so the error pickles
        self.message = message
        self.query = query
        self.position = position

    def __str__(self) -> str:
        caret_column = sum(_display_width(char) for char in self.query[: self.position])
        return f"{self.message}\n{_one_line(self.query)}\n{' ' * caret_column}^"


def _display_width(char: str) -> int:
    """Terminal columns of a character: CJK and emoji take two, combining and format marks none."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _one_line(text: str) -> str:
    """The query with tabs and newlines shown as one space each, so the caret stays aligned."""
    return "".join(" " if char.isspace() and _display_width(char) == 1 else char for char in text)


# --------------------------------------------------------------------------------------- tokenizer


class _Kind(enum.Enum):
    TERM = "term"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    OPEN = "("
    CLOSE = ")"
    END = "end of query"


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    position: int  # index of the token's first character in the original query
    text: str  # a term as typed (Term folds it), or how messages name an operator ('AND', '"+"')


_KEYWORDS = {"AND": _Kind.AND, "OR": _Kind.OR, "NOT": _Kind.NOT}
_SYMBOLS = {"+": _Kind.AND, "|": _Kind.OR, "-": _Kind.NOT, "(": _Kind.OPEN, ")": _Kind.CLOSE}
_CHINESE_QUOTES = frozenset("“”「」")
_SYNTAX_CHARS = frozenset('()+|"-')
_WORD_ENDS = frozenset(' ()+|"')  # "-" is missing on purpose: inside a word it is text


def _syntax_char(char: str) -> str:
    """The ASCII syntax character that ``char`` stands for, " " for whitespace, "" for term text.

    Each character is classified on its own, so every token position is an index into the original
    query even where NFKC would change the length of the string (``⑴`` → ``(1)`` stays term text).
    """
    if char in _CHINESE_QUOTES:
        return '"'
    if char.isspace():
        return " "
    ascii_form = unicodedata.normalize("NFKC", char)
    return ascii_form if ascii_form in _SYNTAX_CHARS else ""


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(query):
        syntax = _syntax_char(query[position])
        if syntax == " ":
            position += 1
        elif syntax == '"':
            phrase, position = _read_phrase(query, position)
            tokens.append(phrase)
        elif syntax:  # ( ) + | and a "-" that starts a term
            tokens.append(_Token(_SYMBOLS[syntax], position, f'"{syntax}"'))
            position += 1
        else:
            word, position = _read_word(query, position)
            if word is not None:
                tokens.append(word)
    tokens.append(_Token(_Kind.END, len(query), "the end of the query"))
    return tokens


def _read_phrase(query: str, start: int) -> tuple[_Token, int]:
    end = start + 1
    while end < len(query) and _syntax_char(query[end]) != '"':
        end += 1
    if end == len(query):
        raise QuerySyntaxError('unterminated phrase — add the closing "', query, start)
    raw = query[start + 1 : end]
    if not fold(raw):
        raise QuerySyntaxError('empty phrase "" — write a word or two between the quotes', query, start)
    return _Token(_Kind.TERM, start, raw), end + 1


def _read_word(query: str, start: int) -> tuple[_Token | None, int]:
    end = start
    while end < len(query) and _syntax_char(query[end]) not in _WORD_ENDS:
        end += 1
    raw = query[start:end]
    # Keywords are recognised before case folding: only upper-case AND/OR/NOT are operators.
    keyword = _KEYWORDS.get(unicodedata.normalize("NFKC", raw))
    if keyword is not None:
        return _Token(keyword, start, keyword.value), end
    # A word of zero-width characters only folds to nothing: skip it like whitespace.
    return (_Token(_Kind.TERM, start, raw) if fold(raw) else None), end


# ------------------------------------------------------------------------------------------ parser


def parse(text: str) -> Query:
    """Parse a query string; raises :class:`QuerySyntaxError` saying what was expected where."""
    return Query(text, _Parser(text).parse())


_OPERAND_STARTS = frozenset({_Kind.TERM, _Kind.OPEN, _Kind.NOT})


class _Parser:
    """Recursive descent over the grammar::

    query   = or END
    or      = and { OR and }
    and     = unary { [AND] unary }      (an operand right after another means AND)
    unary   = NOT unary | primary
    primary = TERM | "(" or ")"
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.open_groups = 0

    def parse(self) -> Node:
        if self._peek().kind is _Kind.END:
            raise self._error("empty query — write at least one term", 0)
        root = self._or(after=None)
        token = self._peek()
        if token.kind is _Kind.CLOSE:
            raise self._unbalanced_close(token)
        return root

    def _or(self, after: _Token | None) -> Node:
        items = [self._and(after)]
        while self._peek().kind is _Kind.OR:
            operator = self._advance()
            items.append(self._and(after=operator))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and(self, after: _Token | None) -> Node:
        items = [self._unary(after)]
        while True:
            token = self._peek()
            if token.kind is _Kind.AND:
                self._advance()
                items.append(self._unary(after=token))
            elif token.kind in _OPERAND_STARTS:
                items.append(self._unary(after=None))
            else:
                return items[0] if len(items) == 1 else And(tuple(items))

    def _unary(self, after: _Token | None) -> Node:
        token = self._peek()
        if token.kind is _Kind.NOT:
            self._advance()
            return Not(self._unary(after=token))
        return self._primary(after)

    def _primary(self, after: _Token | None) -> Node:
        token = self._advance()
        if token.kind is _Kind.TERM:
            return Term(token.text)
        if token.kind is _Kind.OPEN:
            return self._group(token)
        if token.kind is _Kind.CLOSE and self.open_groups == 0:
            raise self._unbalanced_close(token)
        where = f"after {after.text}" if after is not None else "at the start of the query"
        raise self._error(f'expected a term, a phrase or "(" {where}', token.position)

    def _group(self, opening: _Token) -> Node:
        if self._peek().kind is _Kind.CLOSE:
            raise self._error('empty parentheses — put a term between "(" and ")"', opening.position)
        self.open_groups += 1
        inner = self._or(after=opening)
        if self._peek().kind is not _Kind.CLOSE:
            raise self._error('unclosed "(" — add a matching ")"', opening.position)
        self._advance()
        self.open_groups -= 1
        return inner

    def _peek(self) -> _Token:
        return self.tokens[self.index]

    def _advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind is not _Kind.END:
            self.index += 1
        return token

    def _unbalanced_close(self, token: _Token) -> QuerySyntaxError:
        return self._error('unbalanced ")" — remove it or add a matching "("', token.position)

    def _error(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.text, position)


# ---------------------------------------------------------------------------------------- renderer


def render(node: Node) -> str:
    """The canonical query string for a tree; ``parse(render(node)).root == node``."""
    match node:
        case Term(text):
            return _render_term(text)
        case Not(item):
            return "NOT " + _render_operand(item, inside=node)
        case And(items):
            return " AND ".join(_render_operand(item, inside=node) for item in items)
        case Or(items):
            return " OR ".join(_render_operand(item, inside=node) for item in items)
    raise TypeError(f"not a query node: {node!r}")


def _render_operand(node: Node, *, inside: Node) -> str:
    # Parenthesise a group where precedence needs it, and a group inside a group of the same kind
    # so that the tree shape (not just the meaning) survives the round trip.
    needs_parens = isinstance(node, Or) or (isinstance(node, And) and not isinstance(inside, Or))
    return f"({render(node)})" if needs_parens else render(node)


def _render_term(text: str) -> str:
    syntax = [_syntax_char(char) for char in text]
    if '"' in syntax:
        raise ValueError(f"a term with a double quote cannot be written as a query: {text!r}")
    is_plain_word = (
        not syntax[0]
        and all(kind in ("", "-") for kind in syntax)
        and unicodedata.normalize("NFKC", text) not in _KEYWORDS
    )
    return text if is_plain_word else f'"{text}"'


# -------------------------------------------------------------------------------- python matcher


def compile_matcher(query: Query) -> Callable[[str], bool]:
    """A fast predicate over ALREADY FOLDED post text (ingest folds each post once for all queries)."""
    return _matcher(query.root)


def _matcher(node: Node) -> Callable[[str], bool]:
    match node:
        case Term(text):
            return _term_matcher(text)
        case Not(item):
            inner = _matcher(item)
            return lambda folded: not inner(folded)
        case And(items):
            return _all_of(tuple(map(_matcher, items)))
        case Or(items):
            return _any_of(tuple(map(_matcher, items)))
    raise TypeError(f"not a query node: {node!r}")


def _term_matcher(text: str) -> Callable[[str], bool]:
    left, right = _boundaries(text)
    if not (left or right):
        return lambda folded: text in folded  # measured: `in` beats a regex several times over
    pattern = re.compile(("(?<![0-9a-z])" if left else "") + re.escape(text) + ("(?![0-9a-z])" if right else ""))
    search = pattern.search
    # Most posts do not contain the term at all; the substring test rejects them cheaply.
    return lambda folded: text in folded and search(folded) is not None


def _all_of(matchers: tuple[Callable[[str], bool], ...]) -> Callable[[str], bool]:
    if len(matchers) == 2:
        first, second = matchers
        return lambda folded: first(folded) and second(folded)

    def all_match(folded: str) -> bool:
        return all(matcher(folded) for matcher in matchers)

    return all_match


def _any_of(matchers: tuple[Callable[[str], bool], ...]) -> Callable[[str], bool]:
    if len(matchers) == 2:
        first, second = matchers
        return lambda folded: first(folded) or second(folded)

    def any_match(folded: str) -> bool:
        return any(matcher(folded) for matcher in matchers)

    return any_match


# ------------------------------------------------------------------------------------------ SQLite


@dataclass(frozen=True)
class SqlFilter:
    """A boolean SQL expression for a WHERE clause and its ``?`` parameters, in order."""

    where: str
    params: list[str]


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUALIFIED_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


def compile_sql(
    query: Query, *, text_column: str, rowid_column: str, fts_table: str, prefilter: bool = True
) -> SqlFilter:
    """The SQLite 3.40 WHERE expression selecting exactly the rows :meth:`Query.matches` accepts.

    ``text_column`` (NOT NULL) holds ``fold(text)``; ``fts_table`` is
    ``fts5(tokens, content='', detail='full', columnsize=0, tokenize='ascii')`` whose rows hold
    ``index_document(text)`` (= ``index_document_folded(fold(text))``) under the post's rowid. The
    FTS prefilter (:func:`fts_match_expression`) narrows the scan; the exact per-term check behind
    it decides. With ``prefilter=False`` the result is the exact check alone — the better plan when
    the terms are so common that the FTS candidate set is most of the table.
    """
    _check_identifier(text_column, _QUALIFIED_IDENTIFIER, "text_column")
    _check_identifier(rowid_column, _QUALIFIED_IDENTIFIER, "rowid_column")
    _check_identifier(fts_table, _IDENTIFIER, "fts_table")
    exact, params = _sql_exact(query.root, text_column)
    fts_match = fts_match_expression(query) if prefilter else None
    if fts_match is None:
        return SqlFilter(exact, params)
    candidates = f"{rowid_column} IN (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH ?)"
    return SqlFilter(f"{candidates} AND {exact}", [fts_match, *params])


def _check_identifier(name: str, pattern: re.Pattern[str], what: str) -> None:
    # Names are pasted into SQL text, so only plain identifiers are accepted.
    if not pattern.fullmatch(name):
        raise ValueError(f"{what} must be a plain SQL identifier, got {name!r}")


def _sql_exact(node: Node, column: str) -> tuple[str, list[str]]:
    match node:
        case Term(text):
            return _sql_term(text, column)
        case Not(item):
            inner, params = _sql_exact(item, column)
            return f"(NOT {inner})", params
        case And(items):
            return _sql_join("AND", items, column)
        case Or(items):
            return _sql_join("OR", items, column)
    raise TypeError(f"not a query node: {node!r}")


def _sql_join(operator: str, items: tuple[Node, ...], column: str) -> tuple[str, list[str]]:
    parts = [_sql_exact(item, column) for item in items]
    sql = f" {operator} ".join(part_sql for part_sql, _ in parts)
    return f"({sql})", [param for _, part_params in parts for param in part_params]


def _sql_term(text: str, column: str) -> tuple[str, list[str]]:
    left, right = _boundaries(text)
    if not (left or right):
        return f"instr({column}, ?) > 0", [text]
    # Padding with spaces makes the start and end of the text count as non-word characters.
    before, after = ("[^0-9a-z]" if left else ""), ("[^0-9a-z]" if right else "")
    pattern = f"*{before}{_glob_escape(text)}{after}*"
    return f"(' ' || {column} || ' ') GLOB ?", [pattern]


_GLOB_ESCAPES = {"*": "[*]", "?": "[?]", "[": "[[]"}


def _glob_escape(text: str) -> str:
    return "".join(_GLOB_ESCAPES.get(char, char) for char in text)


def fts_match_expression(query: Query) -> str | None:
    """The FTS5 MATCH string that every matching post's index document satisfies, or None.

    Each term becomes one phrase of its tokens — its ASCII word runs ``[0-9a-z]+`` and each of its
    non-ASCII characters, in order — which is how the ``ascii`` tokenizer splits both the term and
    :func:`~fengxiang.textmatch.index_document` (non-ASCII characters stand alone there because
    they are spaced). ``小米SU7`` → ``"小 米 su7"``; a term with no tokens (only ASCII punctuation
    and spaces) has no prefilter.

    Why a term's phrase is a superset of its exact matches: let the folded term ``t`` occur in the
    folded post ``f`` at ``[p, p + len(t))`` under the boundary rule. Every token of ``f`` that
    overlaps that window lies wholly inside it and is a token of ``t`` at the same place:

    * a non-ASCII character is a one-character token in both;
    * an ASCII word run of ``t`` whose neighbours inside ``t`` are non-word characters (non-ASCII
      characters or ASCII separators such as ``.`` ``-`` ``_`` or space) has the same neighbours
      in ``f``, so it is a whole run of ``f`` too;
    * a run that touches an end of ``t`` means ``t`` starts (ends) with a word character, so the
      boundary rule demands a non-word character or the end of ``f`` beyond it: again a whole run.
      Where ``t`` starts (ends) with a separator, no run of ``f`` can cross that end either, since
      the character just inside the window is not a word character (``.nio`` in ``a.nio``: the
      post's tokens ``a nio``, the term's ``nio``).

    So the term's tokens are consecutive tokens of the post, in order: the phrase matches. ``"``
    never reaches the phrase (it is a separator, and the query language cannot search for it
    anyway). Composition keeps the superset: an And needs only the children that have a
    prefilter, an Or needs all of them, and NOT has none, because a missing term tells FTS nothing
    the exact check does not. None means "scan everything".
    """
    return _fts(query.root)


def _fts(node: Node) -> str | None:
    match node:
        case Term(text):
            return _fts_phrase(text)
        case Not():
            return None
        case And(items):
            return _fts_join("AND", [part for part in map(_fts, items) if part is not None])
        case Or(items):
            parts = [_fts(item) for item in items]
            return None if None in parts else _fts_join("OR", [part for part in parts if part is not None])
    raise TypeError(f"not a query node: {node!r}")


def _fts_join(operator: str, parts: list[str]) -> str | None:
    parts = list(dict.fromkeys(parts))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + f" {operator} ".join(parts) + ")"


# The tokens of the ``ascii`` tokenizer over spaced, folded text (folded text has no upper case).
_FTS_TOKEN = re.compile(r"[0-9a-z]+|[^\x00-\x7f]")


def _fts_phrase(text: str) -> str | None:
    """One term's FTS5 phrase, or None when the term has no index tokens."""
    tokens = _FTS_TOKEN.findall(text)
    if not tokens:
        return None
    phrase = " ".join(tokens)
    assert '"' not in phrase  # tokens are word runs and non-ASCII characters: no quote to escape
    return f'"{phrase}"'


# ----------------------------------------------------------------------------------- Elasticsearch


def to_elasticsearch(query: Query, *, field: str = "match_text") -> dict[str, Any]:
    """An Elasticsearch ``bool`` query; ``field`` is a ``wildcard`` field holding ``" " + fold(text) + " "``.

    The padding spaces let anchored regexps see a non-word character before the first and after the
    last character of every post.
    """
    return _es(query.root, field)


def _es(node: Node, field: str) -> dict[str, Any]:
    match node:
        case Term(text):
            return _es_term(text, field)
        case Not(item):
            return {"bool": {"must_not": [_es(item, field)]}}
        case And(items):
            return {"bool": {"filter": [_es(item, field) for item in items]}}
        case Or(items):
            return {"bool": {"should": [_es(item, field) for item in items], "minimum_should_match": 1}}
    raise TypeError(f"not a query node: {node!r}")


def _es_term(text: str, field: str) -> dict[str, Any]:
    left, right = _boundaries(text)
    if not (left or right):
        return {"wildcard": {field: {"value": f"*{_wildcard_escape(text)}*"}}}
    before, after = ("[^0-9a-z]" if left else ""), ("[^0-9a-z]" if right else "")
    value = f".*{before}{_regexp_escape(text)}{after}.*"
    return {"regexp": {field: {"value": value, "flags": "NONE"}}}


_WILDCARD_SPECIAL = frozenset("*?\\")
_REGEXP_SPECIAL = frozenset('.?+*|{}[]()"\\#@&<>~')


def _wildcard_escape(text: str) -> str:
    return "".join("\\" + char if char in _WILDCARD_SPECIAL else char for char in text)


def _regexp_escape(text: str) -> str:
    return "".join("\\" + char if char in _REGEXP_SPECIAL else char for char in text)
