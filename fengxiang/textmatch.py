r"""Text folding and index tokens shared by the query matcher and every store.

Matching rules (documented in the README, relied on by the query compilers):

* Text is *folded* before matching: NFKC (full-width → half-width, compatibility forms),
  lower case, zero-width characters removed, every whitespace run collapsed to one space.
* A "word character" is an ASCII letter or digit ``[0-9a-z]`` after folding. A query term whose
  first (last) character is a word character only matches where the text has no word character
  just before (after) it — Latin words match on word boundaries, so ``NIO`` never matches
  ``onion``, while CJK terms match as plain substrings (jieba's splits vary, substrings do not).
* Index tokens (fed to full-text indexes as a candidate filter, never as the final word):
  each ASCII word run is one token; each run of other letters and digits (CJK, kana, hangul,
  accented letters: the non-ASCII characters Python's ``re`` counts as ``\w``) becomes its
  overlapping character bigrams plus its last character, so that any substring of length ≥ 2
  maps to bigrams and any single character to a prefix query.
"""

from __future__ import annotations

import re
import unicodedata

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Fold text for matching: NFKC, lower case, no zero-width characters, single spaces."""
    # Zero-width characters go first: left between a letter and a combining mark they would
    # stop NFKC from composing the two, and folding twice would then change the text again.
    folded = unicodedata.normalize("NFKC", text.translate(_ZERO_WIDTH)).lower()
    return _SPACES.sub(" ", folded).strip()


def is_word_char(char: str) -> bool:
    """True for the characters that make Latin word boundaries: ASCII letters and digits."""
    return char.isascii() and char.isalnum()


ASCII_WORD = 1
OTHER_RUN = 2
# Folded text is lower case, so ASCII words are [0-9a-z]; other runs are the non-ASCII
# word characters of `re` (letters and digits of every script, without the ASCII ones).
_RUN = re.compile(r"(?P<word>[0-9a-z]+)|(?P<other>[^\W\x00-\x7f]+)")


def runs(folded: str) -> list[tuple[int, str]]:
    """Split folded text into (kind, run) pairs: ASCII word runs and other letter/digit runs."""
    return [
        (ASCII_WORD if match.lastgroup == "word" else OTHER_RUN, match.group())
        for match in _RUN.finditer(folded)
    ]


def index_tokens(folded: str) -> list[str]:
    """Tokens for a full-text index of already folded text (see the module docstring)."""
    tokens: list[str] = []
    for match in _RUN.finditer(folded):
        run = match.group()
        if match.lastgroup == "word":
            tokens.append(run)
        else:
            tokens.extend([run[i : i + 2] for i in range(len(run) - 1)])
            tokens.append(run[-1])
    return tokens


def index_document(text: str) -> str:
    """The full-text index document for a post's raw text: space-separated index tokens."""
    return " ".join(index_tokens(fold(text)))
