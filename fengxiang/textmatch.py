r"""Text folding and the full-text index document shared by the query matcher and every store.

Matching rules (documented in the README, relied on by the query compilers):

* Text is *folded* before matching: NFKC (full-width → half-width, compatibility forms),
  lower case, traditional Chinese characters to simplified (啟航 matches 启航), zero-width
  characters removed, every whitespace run collapsed to one space.
* A "word character" is an ASCII letter or digit ``[0-9a-z]`` after folding. A query term whose
  first (last) character is a word character only matches where the text has no word character
  just before (after) it — Latin words match on word boundaries, so ``NIO`` never matches
  ``onion``, while CJK terms match as plain substrings (jieba's splits vary, substrings do not).
* The full-text index document (a candidate filter for SQLite FTS5, never the final word) is
  the folded text with a space on both sides of every non-ASCII character. It is meant for
  ``fts5(..., detail='full', tokenize='ascii')``: that tokenizer treats every non-ASCII byte as a
  token character and every ASCII character other than a letter or digit as a separator, so the
  tokens are exactly the folded text's ASCII word runs ``[0-9a-z]+`` and each non-ASCII character
  (CJK, kana, accented letters, emoji, combining marks) on its own, in text order. A query term
  becomes the FTS5 phrase of its own tokens, which holds wherever the term matches (the proof is
  at :func:`fengxiang.query.fts_match_expression`).
"""

from __future__ import annotations

import re
import unicodedata

from nlp.clean import to_simplified

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def fold(text: str) -> str:
    """Fold text for matching: NFKC, lower case, simplified characters, no zero-width characters,
    single spaces."""
    # Zero-width characters go first: left between a letter and a combining mark they would
    # stop NFKC from composing the two, and folding twice would then change the text again.
    # Each step is skipped when its quick check says it would change nothing: ingest folds every
    # post, and str.translate or an unneeded normalize cost more than the rest of the work.
    if _ZERO_WIDTH.search(text):
        text = _ZERO_WIDTH.sub("", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return " ".join(to_simplified(text.lower()).split())


def is_word_char(char: str) -> bool:
    """True for the characters that make Latin word boundaries: ASCII letters and digits."""
    return char.isascii() and char.isalnum()


# Splitting on a capturing group hands back the separators too, so joining the pieces with spaces
# puts a space on both sides of each non-ASCII character — all in C. (On Python 3.11 ``sub`` with a
# ``\1`` template expands every match in Python code and is several times slower.)
_SPLIT_NON_ASCII = re.compile(r"([^\x00-\x7f])").split


def index_document_folded(folded: str) -> str:
    """The full-text index document for ALREADY FOLDED text (see the module docstring)."""
    if folded.isascii():
        return folded
    return " ".join(_SPLIT_NON_ASCII(folded))


def index_document(text: str) -> str:
    """The full-text index document for a post's raw text: ``index_document_folded(fold(text))``."""
    return index_document_folded(fold(text))
