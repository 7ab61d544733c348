"""Move a store to another file or backend: ``fengxiang migrate --from URL --to URL`` (either direction
between SQLite and Elasticsearch, or SQLite to SQLite).

The mentions go first, oldest first, in batches through ``iter_mentions`` and ``upsert``; each carries
its author's profile and its sentiment correction, which the destination records on upsert. Then the
rest of the store (``StoreState``: cursors, source health, incidents, the alert outbox, word
frequencies) moves in one piece.

A migration can be stopped at any point and run again: after every batch a checkpoint in the
destination (the crawl cursor ``("migrate", <source name>)``) says how far it got, and a rerun
continues there. Upserting a mention twice is harmless, so the only cost of a crash is one batch.
A finished migration leaves its checkpoint marked done: running it again copies nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import orjson

from fengxiang.command_errors import UsageError
from store.base import MentionFilter, Store, StoreError, StoreState, Window
from store.model import EARLIEST_POST, Mention

CHECKPOINT_SOURCE = "migrate"  # the cursor source of checkpoints; its key is the source store's name
REJECTED_SHOWN = 10  # ids of refused mentions named in the report; the rest are counted


class DestinationNotEmpty(UsageError):
    """The destination holds data of its own: merging into it has to be asked for (``--into-nonempty``)."""


@dataclass
class Checkpoint:
    """How far the migration of one source got, kept in the destination as JSON.

    Mentions arrive oldest first, but within one second a backend may order them any way (SQLite by
    its own row numbers, which differ between stores). So the position is a whole second and the ids
    written in it: a rerun reads from the start of that second again and skips those ids, whatever
    their order this time."""

    second: int | None = None  # Unix seconds of the newest mentions written; None: none yet
    ids: set[str] = field(default_factory=set)  # the ids written within that second
    copied: int = 0  # mentions written, over every run
    rejected: int = 0  # mentions the destination refused, over every run
    done_at: str | None = None  # ISO time the migration finished; None while under way

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        data = orjson.loads(text)
        return cls(data["second"], set(data["ids"]), data["copied"], data["rejected"], data["done_at"])

    def text(self) -> str:
        data = {
            "second": self.second,
            "ids": sorted(self.ids),
            "copied": self.copied,
            "rejected": self.rejected,
            "done_at": self.done_at,
        }
        return orjson.dumps(data).decode()

    def remaining(self) -> MentionFilter:
        """The mentions a resumed run reads: from the checkpoint's second on (inclusive)."""
        return MentionFilter() if self.second is None else MentionFilter(since=datetime.fromtimestamp(self.second, UTC))

    def has(self, mention: Mention) -> bool:
        return _second(mention) == self.second and mention.id in self.ids

    def advance(self, mentions: Sequence[Mention]) -> None:
        """Move past a batch just written (or refused), given in the source's order: oldest first."""
        for mention in mentions:
            second = _second(mention)
            if self.second is None or second > self.second:
                self.second, self.ids = second, {mention.id}
            elif second == self.second:
                self.ids.add(mention.id)


@dataclass
class MigrationReport:
    """What a migration did, so far (given to ``progress`` after every batch) or in the end."""

    source_name: str
    total: int  # mentions in the source when this run began
    copied: int = 0  # mentions written, including by the runs this one resumes
    copied_now: int = 0  # mentions written by this run
    rejected: int = 0  # mentions the destination refused, including earlier runs
    rejected_now: int = 0  # mentions the destination refused in this run
    rejected_ids: list[str] = field(default_factory=list)  # the first REJECTED_SHOWN of them
    resumed_after: int = 0  # mentions an earlier, interrupted run had written
    already_done: str | None = None  # when the source had been migrated here before (nothing was copied)
    state: StoreState | None = None  # what moved besides the mentions
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.copied_now / self.seconds if self.seconds > 0 else 0.0


Progress = Callable[[MigrationReport], None]


def migrate(
    source: Store,
    destination: Store,
    *,
    source_name: str,
    batch: int = 2000,
    progress: Progress | None = None,
    restart: bool = False,
    into_nonempty: bool = False,
) -> MigrationReport:
    """Copy every mention of ``source`` into ``destination``, then its state.

    ``source_name`` names the source in the checkpoint (a URL without its password, a SQLite file's
    absolute path): a rerun with the same name resumes. ``restart`` starts over from the oldest mention
    even after a finished migration. A destination that holds anything but this source's checkpoint is
    refused unless ``into_nonempty``."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    started = time.monotonic()
    existing = read_checkpoint(destination, source_name)
    if existing is None and not into_nonempty:
        _refuse_unless_empty(destination)
    report = MigrationReport(source_name, total=source.counts(_everything()).total)
    if existing is not None and existing.done_at is not None and not restart:
        report.copied, report.rejected, report.already_done = existing.copied, existing.rejected, existing.done_at
        return report
    checkpoint = existing if existing is not None and not restart else Checkpoint()
    report.copied = report.resumed_after = checkpoint.copied
    report.rejected = checkpoint.rejected
    # Written before the first batch: a run killed inside it leaves a destination a rerun may resume.
    destination.set_cursor(CHECKPOINT_SOURCE, source_name, checkpoint.text())
    for mentions in _batches(source, checkpoint, batch):
        _copy_batch(destination, mentions, checkpoint, report)
        destination.set_cursor(CHECKPOINT_SOURCE, source_name, checkpoint.text())
        report.seconds = time.monotonic() - started
        if progress is not None:
            progress(report)
    report.state = _copy_state(source, destination)
    checkpoint.done_at = datetime.now(UTC).isoformat(timespec="seconds")
    destination.set_cursor(CHECKPOINT_SOURCE, source_name, checkpoint.text())
    report.seconds = time.monotonic() - started
    return report


def read_checkpoint(store: Store, source_name: str) -> Checkpoint | None:
    """The checkpoint a migration of ``source_name`` left in ``store``; None when there is none."""
    text = store.get_cursor(CHECKPOINT_SOURCE, source_name)
    return None if text is None else Checkpoint.parse(text)


def _refuse_unless_empty(destination: Store) -> None:
    """Empty means no mentions and no state at all (no cursor, health record, incident, outbox message or
    word frequency). Merging two live stores is possible but lossy where their keys meet, so it is asked for."""
    mentions = destination.counts(_everything()).total
    state = destination.export_state()
    held = {
        "mentions": mentions,
        "crawl cursors": len(state.cursors),
        "health records": len(state.health),
        "incidents": len(state.incidents),
        "outbox messages": len(state.outbox),
        "word frequencies": len(state.document_frequencies[0]),
    }
    if any(held.values()):
        listed = ", ".join(f"{count:,} {what}" for what, count in held.items() if count)
        raise DestinationNotEmpty(
            f"the destination is not empty ({listed}) — migrate into a new store, or pass --into-nonempty to "
            "merge: mentions merge by id, cursors and health records by their keys, and incidents and outbox "
            "messages by pk (a destination's incident or message with the same pk is replaced)"
        )


def _batches(source: Store, checkpoint: Checkpoint, size: int) -> Iterator[list[Mention]]:
    """The source's mentions not yet written, oldest first, ``size`` at a time."""
    pending: list[Mention] = []
    for mention in source.iter_mentions(checkpoint.remaining()):
        if checkpoint.has(mention):
            continue
        pending.append(mention)
        if len(pending) == size:
            yield pending
            pending = []
    if pending:
        yield pending


def _copy_batch(destination: Store, mentions: list[Mention], checkpoint: Checkpoint, report: MigrationReport) -> None:
    refused = _upsert(destination, mentions, report.source_name)
    written = len(mentions) - len(refused)
    checkpoint.advance(mentions)  # refused ones too: they would be refused again
    checkpoint.copied += written
    checkpoint.rejected += len(refused)
    report.copied, report.copied_now = checkpoint.copied, report.copied_now + written
    report.rejected, report.rejected_now = checkpoint.rejected, report.rejected_now + len(refused)
    report.rejected_ids += refused[: REJECTED_SHOWN - len(report.rejected_ids)]


def _upsert(destination: Store, mentions: list[Mention], source_name: str) -> list[str]:
    """Write a batch; the ids the destination refused. A refused batch is written again one mention at
    a time, so a mention the destination will not take costs only itself. A mention is refused only
    while the destination still answers a read: when it is down, its error stops the migration (the
    checkpoint keeps what was done) instead of every mention being counted as refused."""
    try:
        destination.upsert(mentions)
        return []
    except (ValueError, StoreError):  # ValueError covers pydantic's ValidationError
        pass
    refused: list[str] = []
    for mention in mentions:
        try:
            destination.upsert([mention])
        except (ValueError, StoreError):
            destination.get_cursor(CHECKPOINT_SOURCE, source_name)  # raises when the destination is down
            refused.append(mention.id)
    return refused


def _copy_state(source: Store, destination: Store) -> StoreState:
    """The source's state, written into the destination; migration checkpoints the source itself holds
    (it was once a destination) describe other moves and stay behind."""
    state = source.export_state()
    state = replace(state, cursors=[cursor for cursor in state.cursors if cursor[0] != CHECKPOINT_SOURCE])
    destination.import_state(state)
    return state


def _everything() -> Window:
    return Window(since=EARLIEST_POST, until=datetime.now(UTC) + timedelta(days=2))


def _second(mention: Mention) -> int:
    return math.floor(mention.created_at.timestamp())


# -- what the command prints --------------------------------------------------------------------


def progress_line(report: MigrationReport) -> str:
    done = report.copied + report.rejected
    share = done / report.total if report.total else 1.0
    refused = f", {report.rejected:,} refused" if report.rejected else ""
    return f"migrate: {done:,} / {report.total:,} mentions ({min(share, 1.0):.1%}), {report.rate:,.0f}/s{refused}"


def summary_lines(report: MigrationReport) -> list[str]:
    if report.already_done is not None:
        return [
            f"migrate: {report.source_name} was migrated here already (finished {report.already_done}, "
            f"{report.copied:,} mentions) — nothing copied; pass --restart to copy everything again"
        ]
    lines = []
    if report.resumed_after:
        lines.append(f"migrate: resumed after {report.resumed_after:,} mentions copied by an earlier run")
    if report.rejected_now:
        more = ", …" if report.rejected_now > len(report.rejected_ids) else ""
        lines.append(
            f"migrate: the destination refused {report.rejected_now:,} mentions: {', '.join(report.rejected_ids)}{more}"
        )
    state = report.state or StoreState()
    lines.append(
        f"migrate: done — {report.copied:,} mentions ({report.copied_now:,} by this run, {report.rejected:,} "
        f"refused), {len(state.cursors):,} cursors, {len(state.health):,} health records, "
        f"{len(state.incidents):,} incidents, {len(state.outbox):,} outbox messages, "
        f"{len(state.document_frequencies[0]):,} word frequencies in {report.seconds:.1f} s"
    )
    return lines
