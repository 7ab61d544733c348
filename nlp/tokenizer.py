"""Word tokens for every later step: jieba, loaded once, taught the watchlist's names.

Each post is tokenized once (see :mod:`nlp.analyzer`); keywords, the near-duplicate hash and the
sentiment model's word features all reuse the same token list.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from importlib import resources

import jieba

# Weibo emoticons such as [怒] or [允悲] carry sentiment, and links carry none: jieba would cut the
# first into "[", "怒", "]" and the second into pieces that look like words. Both stay whole.
EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")
_SPLIT_WHOLE_TOKENS = re.compile(r"(\[[^\[\]\s]{1,8}\]|https?://[^\s\u3000-\u303f\uff01-\uff5e\u4e00-\u9fff]+)").split
# A token says something when it has a letter or a CJK character and is not only digits/punctuation.
_HAS_WORD = re.compile(r"[^\W\d_]")
# Names from the watchlist must outweigh any split jieba's dictionary prefers ("启航" + "汽车").
_USER_WORD_FREQ = 200_000
# The runs of text jieba cuts into words (its own definition); the rest it returns char by char.
_JIEBA_RUN = jieba.re_han_default
_CONTENT_CACHE_MAX = 500_000
_RUNS_CACHE_MAX = 300_000
_init_lock = threading.Lock()


@cache
def default_stopwords() -> frozenset[str]:
    text = resources.files("nlp").joinpath("data/stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


class Tokenizer:
    """jieba with a user dictionary built from the watchlist, plus a stopword list.

    ``user_words`` are folded terms (lower case, see :func:`fengxiang.textmatch.fold`): brand,
    product and alias names that must never be split. Terms with spaces cannot be jieba words and
    are left to the brand matcher.
    """

    def __init__(self, user_words: Iterable[str] = (), stopwords: frozenset[str] | None = None) -> None:
        self.user_words = tuple(sorted({word for word in user_words if word and " " not in word}))
        self.stopwords = default_stopwords() if stopwords is None else stopwords
        self._jieba: jieba.Tokenizer | None = None
        # token → carries meaning? The vocabulary repeats, so each token is judged once.
        self._is_content: dict[str, bool] = {}
        self._runs: dict[str, tuple[str, ...]] = {}  # jieba's words of each run seen (see _cut)

    @property
    def _cut_run(self) -> Callable[[str], Iterator[str]]:
        # What jieba.cut does with each run (accurate mode with HMM), called directly: going through
        # lcut again would split the run into runs a second time. Pinned to jieba 0.42.
        return self._loaded()._Tokenizer__cut_DAG

    def _loaded(self) -> jieba.Tokenizer:
        # Loading the dictionary takes about a second: done on first use, once per process.
        if self._jieba is None:
            with _init_lock:
                if self._jieba is None:
                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    for word in self.user_words:
                        tokenizer.add_word(word, freq=_USER_WORD_FREQ)
                    self._jieba = tokenizer
        return self._jieba

    def tokens(self, text: str) -> list[str]:
        """Every token in order, emoticons and links whole, whitespace dropped."""
        if "[" not in text and "http" not in text:
            return self._cut(text)
        tokens: list[str] = []
        for index, piece in enumerate(_SPLIT_WHOLE_TOKENS(text)):
            if index % 2:
                tokens.append(piece)
            elif piece:
                tokens += self._cut(piece)
        return tokens

    def _cut(self, text: str) -> list[str]:
        """``jieba.lcut(text)`` without the whitespace, with each word run cut once per process.

        jieba cuts a text run by run (a run is Chinese characters, letters and digits; everything
        else it returns character by character) and a run's words depend on the run alone. Posts
        repeat their runs (哈哈哈, 太离谱了吧, 已经在处理了, copy-paste waves), so the words of each
        run are remembered: the same tokens as jieba's, for a fraction of its time.
        """
        words: list[str] = []
        runs = self._runs
        for index, piece in enumerate(_JIEBA_RUN.split(text)):
            if index % 2 == 0:  # between runs: jieba's single characters
                words += [char for char in piece if not char.isspace()]
                continue
            cut = runs.get(piece)
            if cut is None:
                if len(runs) >= _RUNS_CACHE_MAX:
                    runs.clear()
                cut = runs[piece] = tuple(self._cut_run(piece))
            words += cut
        return words

    def content_words(self, tokens: Sequence[str]) -> list[str]:
        """Tokens that carry meaning: no stopwords, punctuation, numbers, emoticons or links."""
        known = self._is_content
        try:
            return [token for token in tokens if known[token]]
        except KeyError:  # a token not judged yet: judge the new ones, then answer from the cache
            if len(known) > _CONTENT_CACHE_MAX:
                known.clear()
            stopwords = self.stopwords
            for token in tokens:
                if token not in known:
                    known[token] = (
                        token not in stopwords
                        and token[0] != "["
                        and not token.startswith("http")
                        and bool(_HAS_WORD.search(token))
                    )
            return [token for token in tokens if known[token]]

    def __reduce__(self) -> tuple[type[Tokenizer], tuple[tuple[str, ...], frozenset[str]]]:
        # Worker processes rebuild the tokenizer (jieba's state does not pickle well).
        return (Tokenizer, (self.user_words, self.stopwords))
