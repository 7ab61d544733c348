"""One pass over a post: clean → tokenize → brands → keywords → sentiment → simhash.

The analyzer is built once per process (jieba and the model load on first use) and is picklable,
so import workers rebuild it from its settings. It fills the analysis fields of DESIGN.md 4.3:
``sentiment``, ``keywords``, ``brands``, ``simhash``, plus what cleaning found: ``topics``,
``at_users``, ``urls`` and the quoted ``repost_chain``.

Sentiment and keywords come from the author's own words: in ``好车，提车一个月没毛病//@甲:刹车失灵``
the reposter says 好车. Own words too short to stand alone (同意, 顶, 转发微博, an empty repost)
endorse what they quote, so such a repost is judged on the whole post, own words and quoted chain
together (on the SMP2020 COVID eval set, where a third of the posts are reposts, judging very short
own words alone cost four points of macro-F1).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from fengxiang.brands import BrandTagger
from fengxiang.query import parse
from fengxiang.textmatch import fold
from nlp.clean import CleanPost, clean_post
from nlp.keywords import IdfTable, jieba_idf, top_keywords
from nlp.sentiment import engine_named
from nlp.simhash import simhash64
from nlp.tokenizer import Tokenizer
from store.model import Mention, Sentiment

KEYWORDS_PER_POST = 5
MIN_OWN_CHARS = 10  # own words shorter than this take their meaning from what they quote


@dataclass(frozen=True)
class AnalyzerSettings:
    """Everything an analyzer is built from: plain values, so it pickles."""

    brands: tuple[tuple[str, str], ...] = ()  # (watchlist name, query)
    engine: str = "model"
    model_path: Path | None = None
    negative_bias: float = 0.0
    keywords_per_post: int = KEYWORDS_PER_POST
    idf: IdfTable | None = None  # None: jieba's


@dataclass(frozen=True)
class Analysis:
    """What one post's analysis found; :meth:`Analyzer.apply` writes it onto the mention."""

    clean: CleanPost
    folded: str  # the cleaned text folded for matching (what brands were matched on)
    brands: list[str]
    keywords: list[str]
    sentiment: dict[str, object]
    simhash: int


class Analyzer:
    def __init__(self, settings: AnalyzerSettings = AnalyzerSettings()) -> None:
        self.settings = settings
        queries = [(name, parse(query)) for name, query in settings.brands]
        self._tag_brands = BrandTagger(settings.brands)  # matches folded text: each post is folded once
        # Names and query terms are folded already: they teach jieba and are never keywords.
        self.brand_terms = frozenset(
            {fold(name) for name, _ in settings.brands} | {term for _, query in queries for term in query.terms()}
        )
        self.tokenizer = Tokenizer(self.brand_terms)
        self.engine = engine_named(settings.engine, settings.model_path, settings.negative_bias)

    @property
    def idf(self) -> IdfTable:
        return self.settings.idf or jieba_idf()

    def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        """Analyses of raw post texts (HTML allowed), in order. Never raises for odd text."""
        cleaned = [clean_post(text) for text in texts]
        folded = [fold(post.text) for post in cleaned]
        judged = [
            full if post.own_text == post.text else fold(_judged_words(post))
            for post, full in zip(cleaned, folded, strict=True)
        ]
        judged_tokens = [self.tokenizer.tokens(text) for text in judged]
        sentiments = self.engine.predict(list(zip(judged, judged_tokens, strict=True)))
        results = []
        idf, limit, exclude = self.idf, self.settings.keywords_per_post, self.brand_terms
        for post, full, own, own_tokens, sentiment in zip(
            cleaned, folded, judged, judged_tokens, sentiments, strict=True
        ):
            # The hash covers the whole post (own words and quoted chain): reposts of one post
            # and copy-paste waves then land in one near-duplicate cluster.
            own_words = self.tokenizer.content_words(own_tokens)
            words = own_words if own == full else self.tokenizer.content_words(self.tokenizer.tokens(full))
            results.append(
                Analysis(
                    clean=post,
                    folded=full,
                    brands=self._tag_brands(full),
                    keywords=top_keywords(own_words, idf, limit=limit, exclude=exclude),
                    sentiment=sentiment,
                    simhash=simhash64(words),
                )
            )
        return results

    def with_idf(self, idf: IdfTable) -> Analyzer:
        """The same analyzer with another IDF table, sharing the loaded jieba and model."""
        clone = copy.copy(self)
        clone.settings = replace(self.settings, idf=idf)
        return clone

    def content_words(self, text: str) -> list[str]:
        """The words a post's keywords are chosen from (its author's own words, cleaned)."""
        return self.tokenizer.content_words(self.tokenizer.tokens(fold(_judged_words(clean_post(text)))))

    def apply(self, mention: Mention, analysis: Analysis) -> Mention:
        """Write an analysis onto its mention (in place); when cleaning changed the text, the
        original stays in ``text_original``."""
        post = analysis.clean
        if post.text != mention.text and post.text:
            if getattr(mention, "text_original", None) is None:
                mention.text_original = mention.text  # type: ignore[attr-defined]  # kept as an extra field
            mention.text = post.text
        mention.brands = analysis.brands
        mention.keywords = analysis.keywords
        mention.sentiment = Sentiment.model_construct(None, **analysis.sentiment)  # the engine built it valid
        mention.simhash = f"{analysis.simhash:016x}"
        for name, value in (
            ("topics", list(post.topics)),
            ("at_users", list(post.at_users)),
            ("urls", list(post.urls)),
            ("repost_chain", [{"user": hop.user, "text": hop.text} for hop in post.chain]),
        ):
            if value:
                setattr(mention, name, value)
        return mention

    def analyze_mentions(self, mentions: Sequence[Mention]) -> list[Mention]:
        return [self.apply(m, a) for m, a in zip(mentions, self.analyze([m.text for m in mentions]), strict=True)]

    def __reduce__(self) -> tuple[type[Analyzer], tuple[AnalyzerSettings]]:
        return (Analyzer, (self.settings,))


def _judged_words(post: CleanPost) -> str:
    if post.chain and len(post.own_text.strip()) < MIN_OWN_CHARS:
        return post.text
    return post.own_text
