"""The features the sentiment model reads, shared by training and prediction (one definition, so
the two can never drift apart).

A post becomes a bag of strings: its character n-grams (1 to 3, which catch 不错, 太差, 垃圾 and
their many spellings whatever jieba does with them) and its jieba words prefixed with ``w:``
(emoticons such as ``[怒]`` are words: the tokenizer keeps them whole).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

CHAR_NGRAMS = (1, 2, 3)
WORD_PREFIX = "w:"
MAX_CHARS = 2_000  # a 20,000-character post says what it means in its first lines


def feature_counts(text: str, tokens: Sequence[str]) -> Counter[str]:
    """Feature → count for one post's normalized text and its tokens."""
    text = text[:MAX_CHARS]
    grams: list[str] = [*text]
    for n in CHAR_NGRAMS[1:]:
        grams += [text[i : i + n] for i in range(len(text) - n + 1)]
    grams += [WORD_PREFIX + token for token in tokens]
    counts = Counter(grams)
    counts.pop(" ", None)  # a space alone says nothing
    return counts
