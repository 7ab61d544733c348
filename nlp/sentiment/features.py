"""The features the sentiment model reads, shared by training and prediction (one definition, so
the two can never drift apart).

A post becomes a bag of strings: its character n-grams (1 to 3, which catch 不错, 太差, 垃圾 and
their many spellings whatever jieba does with them) and its jieba words prefixed with ``w::``
(emoticons such as ``[怒]`` are words: the tokenizer keeps them whole). A feature occurring twice
is listed twice; the model counts them.
"""

from __future__ import annotations

from collections.abc import Sequence

# Three characters, so a word feature (prefix + token) is always longer than any character n-gram
# and the two kinds can never be the same string.
WORD_PREFIX = "w::"
MAX_NGRAM = 3
MAX_CHARS = 2_000  # a 20,000-character post says what it means in its first lines


def features(text: str, tokens: Sequence[str]) -> list[str]:
    """Every feature occurrence of one post's normalized text and its tokens."""
    text = text[:MAX_CHARS]
    grams = [char for char in text if char != " "]  # a space alone says nothing
    grams += [text[i : i + 2] for i in range(len(text) - 1)]
    grams += [text[i : i + 3] for i in range(len(text) - 2)]
    grams += [WORD_PREFIX + token for token in tokens]
    return grams
