"""Keywords of a post (TF-IDF) and the words rising in a window against a baseline (Dunning's G²).

The IDF comes from the team's own stored mentions once there are enough of them (``fengxiang
reanalyze`` learns it), so a word that every post about the brand uses stops counting as a keyword;
until then it falls back to the IDF table that ships with jieba, learned from a general corpus.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

# Below this many documents a corpus IDF is mostly noise; jieba's general one is better.
MIN_CORPUS_DOCUMENTS = 1_000
MIN_KEYWORD_CHARS = 2  # single characters (车, 说) are almost never what a post is about
MAX_KEYWORD_CHARS = 20  # longer "words" are runs of one character or of junk, not vocabulary


@dataclass(frozen=True)
class IdfTable:
    idf: Mapping[str, float]
    unseen: float  # a word the corpus never saw is rare: it gets the top weight
    source: str  # "jieba" or "corpus:<documents>"

    def __getitem__(self, word: str) -> float:
        return self.idf.get(word, self.unseen)

    @classmethod
    def from_document_frequencies(cls, frequencies: Mapping[str, int], documents: int) -> IdfTable:
        """Smoothed IDF, ``ln((1 + N) / (1 + df)) + 1`` (as scikit-learn's), from a corpus' counts."""
        if documents < MIN_CORPUS_DOCUMENTS:
            return jieba_idf()
        idf = {word: math.log((1 + documents) / (1 + df)) + 1 for word, df in frequencies.items() if df > 0}
        return cls(idf, unseen=math.log(1 + documents) + 1, source=f"corpus:{documents}")


@cache
def jieba_idf() -> IdfTable:
    """The IDF table that ships inside the jieba package (no download), loaded once."""
    from jieba.analyse.tfidf import DEFAULT_IDF, IDFLoader

    table, median = IDFLoader(DEFAULT_IDF).get_idf()
    # jieba itself uses the median for unseen words; new slang is rare, not average, so use the top.
    return IdfTable(table, unseen=max(median, max(table.values(), default=median)), source="jieba")


def top_keywords(words: Sequence[str], idf: IdfTable, *, limit: int = 5, exclude: Collection[str] = ()) -> list[str]:
    """The ``limit`` words with the highest tf·idf; ``words`` are content words (see
    :meth:`nlp.tokenizer.Tokenizer.content_words`), ``exclude`` holds the brand names, which
    every matching post has and which therefore tell nothing."""
    counts = Counter(
        word for word in words if MIN_KEYWORD_CHARS <= len(word) <= MAX_KEYWORD_CHARS and word not in exclude
    )
    # Counter keeps first-seen order, and sorted() is stable: ties go to the earlier word.
    ranked = sorted(counts.items(), key=lambda item: -item[1] * idf[item[0]])
    return [word for word, _ in ranked[:limit]]


@dataclass(frozen=True)
class RisingWord:
    word: str
    count: int  # mentions with the word in the window
    baseline_count: int  # ... in the baseline window
    ratio: float  # rate in the window / rate in the baseline (smoothed)
    score: float  # G², how surprising the rise is

    def to_json_dict(self) -> dict[str, object]:
        return {
            "word": self.word,
            "count": self.count,
            "baseline_count": self.baseline_count,
            "ratio": round(self.ratio, 2),
            "score": round(self.score, 1),
        }


def rising_words(
    current: Mapping[str, int],
    baseline: Mapping[str, int],
    current_total: int,
    baseline_total: int,
    *,
    limit: int = 20,
    min_count: int = 3,
) -> list[RisingWord]:
    """Words whose share of mentions rose from the baseline window to the current one, most
    significant first. G² (log-likelihood ratio) rather than a plain ratio: a word going from 0 to
    2 mentions is not news, a word going from 10 to 200 is, even if its ratio is smaller."""
    if baseline_total <= 0:
        return []  # no history (a brand just added): nothing can be said to have risen
    risen = []
    for word, count in current.items():
        before = baseline.get(word, 0)
        if count < min_count or current_total <= 0:
            continue
        rate_now = count / current_total
        rate_before = (before + 0.5) / (baseline_total + 1)
        if rate_now <= rate_before:
            continue
        score = _g_squared(count, current_total, before, baseline_total)
        risen.append(RisingWord(word, count, before, rate_now / rate_before, score))
    risen.sort(key=lambda item: (-item.score, item.word))
    return risen[:limit]


def _g_squared(a: int, total_a: int, b: int, total_b: int) -> float:
    """Dunning's log-likelihood ratio of the 2×2 table: with / without the word, in each window."""
    table = ((a, total_a - a), (b, total_b - b))
    with_word, without_word, grand = a + b, total_a + total_b - a - b, total_a + total_b
    score = 0.0
    for row, row_total in zip(table, (total_a, total_b), strict=True):
        for observed, column_total in zip(row, (with_word, without_word), strict=True):
            if observed > 0:
                score += observed * math.log(observed * grand / (row_total * column_total))
    return 2 * score
