"""Import posts from JSONL into a store: one bad line never sinks the batch.

Every line is checked on its own. Good lines are stored in batches (one transaction each, so a
killed import keeps every batch it committed); bad lines are reported with their line number and
the reason, and the caller turns them into a "partial" exit status.

Large imports split the work: worker processes parse, validate, tag and prepare rows (pure CPU)
while this process writes them, in the input's order, so "the last copy of an id wins" holds;
whenever the workers have nothing ready, this process prepares the next chunk itself.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import islice
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from fengxiang.brands import BrandTagger
from fengxiang.textmatch import fold
from fengxiang.worker_process import exit_with_parent
from nlp.analyzer import Analyzer
from store.base import Store, UpsertResult
from store.model import Mention

BATCH_SIZE = 2_000
_MAX_IN_FLIGHT = 4  # prepared chunks held per worker at most (each is a few MB)
MAX_KEPT_ERRORS = 1_000  # beyond this only the count grows: a wrong file should not eat memory


# Turns a mention and its folded text (folded once, for brand tagging) into what a store writes.
Preparer = Callable[[Mention, str], Any]


@runtime_checkable
class PreparingStore(Store, Protocol):
    """A store whose row preparation can run in other processes (the SQLite store is one)."""

    def preparer(self) -> Preparer: ...

    def upsert_prepared(self, prepared: Iterable[Any]) -> UpsertResult: ...

    def bulk_load(self) -> AbstractContextManager[None]: ...


@dataclass
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class IngestReport:
    lines: int = 0
    stored: UpsertResult = field(default_factory=UpsertResult)
    rejected: int = 0
    errors: list[LineError] = field(default_factory=list)

    def reject(self, error: LineError) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(error)


def describe(error: ValidationError) -> str:
    """One readable line per problem: ``metrics.likes: Input should be greater than or equal to 0``."""
    parts = []
    for problem in error.errors(include_url=False):
        location = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "json_invalid":
            detail = problem.get("ctx", {}).get("error", message)
            if "invalid unicode code point" in detail:
                # Chinese exports are often GBK: say so, and how to convert.
                message = f"not UTF-8 text ({detail}) — save the file as UTF-8, e.g. iconv -f gbk -t utf-8"
            else:
                message = f"not valid JSON ({detail})"
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


@dataclass(frozen=True)
class LineParser:
    """Turns JSONL lines into valid, analysed mentions; picklable for worker processes.

    A post that arrives without a sentiment is analysed in full (when an analyzer is given); one
    that carries an imported analysis keeps it and only gets its missing brands tagged.
    """

    timezone: tzinfo
    tag_brands: BrandTagger | None = None
    analyzer: Analyzer | None = None

    def mentions(self, lines: Iterable[bytes], first_line: int, errors: list[LineError]) -> list[tuple[Mention, str]]:
        """Valid mentions with their folded text; invalid lines go to ``errors``."""
        context = {"timezone": self.timezone}
        valid: list[Mention] = []
        for number, line in enumerate(lines, start=first_line):
            line = line.rstrip(b"\r\n")
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")  # files saved by Windows tools start with a BOM
            if not line.strip():
                continue
            try:
                valid.append(Mention.model_validate_json(line, context=context))
            except ValidationError as exc:
                errors.append(LineError(number, describe(exc)))
        # The analyzer tags brands and folds the text itself: only imported analyses need either.
        analysed: dict[int, str] = {}  # id(mention) → its folded text
        if self.analyzer is not None:
            unanalysed = [mention for mention in valid if mention.sentiment is None]
            for mention, analysis in zip(unanalysed, self.analyzer.analyze([m.text for m in unanalysed]), strict=True):
                given_brands = mention.brands
                self.analyzer.apply(mention, analysis)
                mention.brands = given_brands or mention.brands  # an import's own brand tags win
                analysed[id(mention)] = analysis.folded if mention.text == analysis.clean.text else fold(mention.text)
        result = []
        for mention in valid:
            folded = analysed.get(id(mention))
            if folded is None:
                folded = fold(mention.text)
                if self.tag_brands is not None and not mention.brands:
                    mention.brands = self.tag_brands(folded)
            result.append((mention, folded))
        return result


@dataclass(frozen=True)
class _ChunkPreparer:
    parser: LineParser
    prepare: Preparer

    def __call__(self, chunk: tuple[int, list[bytes]]) -> tuple[list[Any], list[LineError], int]:
        first_line, lines = chunk
        errors: list[LineError] = []
        rows = [self.prepare(mention, folded) for mention, folded in self.parser.mentions(lines, first_line, errors)]
        return rows, errors, first_line + len(lines) - 1


def line_chunks(lines: Iterable[bytes], size: int) -> Iterator[tuple[int, list[bytes]]]:
    """The lines in lists of ``size``, each with the number of its first line."""
    iterator = iter(lines)
    first_line = 1
    while chunk := list(islice(iterator, size)):
        yield first_line, chunk
        first_line += len(chunk)


def ingest(
    lines: Iterable[bytes],
    store: Store,
    *,
    parser: LineParser,
    batch_size: int = BATCH_SIZE,
    workers: int = 0,
    on_batch: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Store every valid line; ``workers`` > 0 prepares rows in that many processes."""
    report = IngestReport()
    chunks = line_chunks(lines, batch_size)
    if not isinstance(store, PreparingStore):
        _write_all(map(_ChunkPreparer(parser, _unchanged), chunks), store.upsert, report, on_batch)
    elif not workers:
        _write_all(map(_ChunkPreparer(parser, store.preparer()), chunks), store.upsert_prepared, report, on_batch)
    else:
        prepare_chunk = _ChunkPreparer(parser, store.preparer())
        with store.bulk_load(), multiprocessing.get_context("spawn").Pool(workers, exit_with_parent) as pool:
            _write_all(_in_pool(pool, prepare_chunk, chunks, workers), store.upsert_prepared, report, on_batch)
    return report


def default_workers() -> int:
    """Preparing processes for a large import: one core is left to the writing process, which
    is the bottleneck once preparation runs beside it (measured on 2 cores: 1 worker beats 2)."""
    return max(1, (os.cpu_count() or 1) - 1)


def _unchanged(mention: Mention, _folded: str) -> Mention:
    return mention


def _in_pool(
    pool: Any, prepare_chunk: _ChunkPreparer, chunks: Iterator[tuple[int, list[bytes]]], workers: int
) -> Iterator[tuple[list[Any], list[LineError], int]]:
    """Prepared chunks in input order, with only a few in flight (``Pool.imap`` would queue the
    whole file). Whenever the next result is not ready, this process prepares the next chunk itself
    instead of waiting, so the work balances itself between the writer and the workers."""
    pending: deque[Any] = deque()

    def submit() -> bool:
        chunk = next(chunks, None)
        if chunk is not None:
            pending.append(pool.apply_async(prepare_chunk, (chunk,)))
        return chunk is not None

    while len(pending) < 2 * workers and submit():
        pass
    while pending:
        idle = not pending[0].ready() and len(pending) < _MAX_IN_FLIGHT * workers
        if idle and (chunk := next(chunks, None)) is not None:
            pending.append(_Prepared(prepare_chunk(chunk)))
            continue
        yield pending.popleft().get()
        submit()


class _Prepared:
    """A chunk prepared in this process, shaped like the pool's AsyncResult."""

    def __init__(self, result: tuple[list[Any], list[LineError], int]) -> None:
        self.result = result

    def ready(self) -> bool:
        return True

    def get(self) -> tuple[list[Any], list[LineError], int]:
        return self.result


def _write_all(
    prepared: Iterable[tuple[list[Any], list[LineError], int]],
    write: Callable[[list[Any]], UpsertResult],
    report: IngestReport,
    on_batch: Callable[[IngestReport], None] | None,
) -> None:
    for rows, errors, last_line in prepared:
        if rows:
            report.stored += write(rows)
        for error in errors:
            report.reject(error)
        report.lines = last_line
        if on_batch is not None:
            on_batch(report)
