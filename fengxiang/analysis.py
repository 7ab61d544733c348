"""Wiring between the config, the store and the nlp analyzer (nlp itself knows neither)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from fengxiang.config import Config
from fengxiang.ingest import LineError, LineParser
from nlp.analyzer import Analyzer, AnalyzerSettings
from nlp.keywords import IdfTable
from nlp.simhash import NearDuplicateIndex
from store.base import Store
from store.model import Mention


def analyzer_settings(config: Config, store: Store | None = None) -> AnalyzerSettings:
    """The analyzer the config describes, with the IDF the store has learned (if any)."""
    idf = None
    if store is not None:
        frequencies, documents = store.document_frequencies()
        if documents:
            idf = IdfTable.from_document_frequencies(frequencies, documents)
    return AnalyzerSettings(
        brands=tuple((entry.name, entry.query) for entry in config.watchlist),
        engine=config.nlp.sentiment.engine,
        model_path=config.sentiment_model_path(),
        negative_bias=config.nlp.sentiment.negative_bias,
        keywords_per_post=config.nlp.keywords_per_post,
        idf=idf,
    )


def learn_document_frequencies(
    mentions: Iterable[Mention], analyzer: Analyzer, *, on_progress: Callable[[int], None] | None = None
) -> tuple[Counter[str], int]:
    """Word document frequencies over the author's own words of every mention (what keywords
    are picked from); words seen in a single post are dropped, they would only bloat the table."""
    frequencies: Counter[str] = Counter()
    documents = 0
    for documents, mention in enumerate(mentions, start=1):
        frequencies.update(set(analyzer.content_words(mention.text)))
        if on_progress is not None and documents % 2_000 == 0:
            on_progress(documents)
    return Counter({word: df for word, df in frequencies.items() if df > 1}), documents


def analyze_lines(
    parser: LineParser, lines: list[bytes], first_line: int, clusters: NearDuplicateIndex, errors: list[LineError]
) -> list[bytes]:
    """`fengxiang analyze` on a chunk of JSONL lines: the enriched lines, each with the near-duplicate
    ``cluster`` it joins in ``clusters``; bad lines go to ``errors``."""
    out = []
    for mention, _folded in parser.mentions(lines, first_line, errors):
        if mention.simhash is not None:
            mention.cluster = clusters.add(mention.id, int(mention.simhash, 16))  # type: ignore[attr-defined]
        out.append(mention.model_dump_json(exclude_none=True).encode() + b"\n")
    return out
