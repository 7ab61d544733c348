"""What the Elasticsearch store's state mixins (outbox, incidents, records, corrections) share.

* Times are kept as ISO 8601 strings in whole seconds with their UTC offset (``es_date``) and read back
  into the store's time zone (``EsStateBase._when``), as the SQLite store keeps Unix seconds.
* ``rewrite`` changes documents with optimistic concurrency: read them (a realtime ``mget``), write each
  back only if its ``_seq_no``/``_primary_term`` are still the ones read, and read and change again
  whatever someone else wrote first. Elasticsearch has no transactions; this is how two processes (the
  service and the dashboard) never lose each other's writes to one document.
* ``allocate_pks`` hands out the integer pks people type (``fengxiang alerts ack 7``) from a counter
  document per kind in ``fengxiang-sequences``, bumped through ``rewrite``: two allocators racing both
  read the counter, one write wins, the other's conflicts and it reads again, so no pk is handed out
  twice. A crash after allocating leaves a gap, never a duplicate. ``raise_sequence`` moves a counter up
  past imported pks.

The state indices are tiny and written rarely (a few documents per crawl run, evaluation or person's
click), so every write refreshes them at once: the next search sees it, as the next SQLite read would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from elasticsearch import ConflictError, Elasticsearch
from elasticsearch.helpers import bulk

from store.base import StoreError
from store.es_queries import es_time

AUTHORS_INDEX = "fengxiang-authors"
OUTBOX_INDEX = "fengxiang-outbox"
INCIDENTS_INDEX = "fengxiang-incidents"
HEALTH_INDEX = "fengxiang-source-health"
CURSORS_INDEX = "fengxiang-cursors"
CORRECTIONS_INDEX = "fengxiang-corrections"
FREQUENCIES_INDEX = "fengxiang-document-frequencies"
SEQUENCES_INDEX = "fengxiang-sequences"

Source = dict[str, Any]
# Change one document: its id and current source (None when missing) → the source to write, or None to
# leave it. Called again with the newer source when someone else wrote the document first.
Change = Callable[[str, Source | None], Source | None]

PAGE_SIZE = 1000  # hits per request when reading a whole index (well below index.max_result_window)
_MAX_ROUNDS = 20  # rewrites of a document someone else keeps changing before giving up


def es_date(moment: datetime, *, round_up: bool = False) -> str:
    """A timezone-aware time as stored: ISO 8601 in whole seconds (cut as ``int(timestamp)``, or rounded
    up), UTC offset."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the time {moment.isoformat()} has no time zone: pass a timezone-aware datetime")
    if round_up:
        return datetime.fromtimestamp(math.ceil(moment.timestamp()), UTC).isoformat()
    return es_time(moment)


class EsStateBase:
    """The attributes the mixins read from ``store.elasticsearch.ElasticsearchStore``."""

    _client: Elasticsearch
    _zone: ZoneInfo

    def _when(self, value: str) -> datetime:
        return datetime.fromisoformat(value).astimezone(self._zone)

    def _maybe_when(self, value: str | None) -> datetime | None:
        return None if value is None else self._when(value)


def hits(
    client: Elasticsearch,
    index: str,
    query: Source,
    sort: list[Source],
    *,
    limit: int | None = None,
    **options: Any,
) -> Iterator[Source]:
    """Every hit of a query in ``sort`` order (its last key must be unique: pages continue after it), up to
    ``limit``, a page per request; ``options`` go to each search (like ``source=False``)."""
    after: list[Any] | None = None
    left = limit
    while left is None or left > 0:
        size = PAGE_SIZE if left is None else min(left, PAGE_SIZE)
        response = client.search(index=index, query=query, sort=sort, size=size, search_after=after, **options)
        page = response["hits"]["hits"]
        yield from page
        if len(page) < size:
            return
        after = page[-1]["sort"]
        left = None if left is None else left - len(page)


def get_source(client: Elasticsearch, index: str, doc_id: str) -> Source | None:
    """One document's source by id (a realtime GET), None when there is none."""
    response = client.options(ignore_status=404).get(index=index, id=doc_id)
    return response["_source"] if response.get("found") else None


def index_all(client: Elasticsearch, index: str, documents: Iterable[tuple[str, Source]]) -> None:
    """Write documents by id (replacing any there), in bulk requests; raises on any Elasticsearch refused."""
    actions = ({"_op_type": "index", "_index": index, "_id": doc_id, "_source": doc} for doc_id, doc in documents)
    bulk(client, actions)
    client.indices.refresh(index=index)


def rewrite(client: Elasticsearch, index: str, ids: Sequence[str], change: Change) -> dict[str, Source]:
    """Change documents with optimistic concurrency (see the module docstring); the sources written, by id.

    ``change`` must be a function of the source it is given: after a conflict it runs again on the newer one."""
    written: dict[str, Source] = {}
    pending = list(dict.fromkeys(ids))
    for _ in range(_MAX_ROUNDS):
        if not pending:
            break
        conflicts = []
        for doc in client.mget(index=index, ids=pending)["docs"]:
            new = change(doc["_id"], doc["_source"] if doc.get("found") else None)
            if new is None:
                continue
            try:
                _write_if_unchanged(client, index, doc, new)
            except ConflictError:
                conflicts.append(doc["_id"])
            else:
                written[doc["_id"]] = new
        pending = conflicts
    if written:
        client.indices.refresh(index=index)
    if pending:
        raise StoreError(
            f"{len(pending)} document(s) in {index} kept changing while fengxiang wrote them ({pending[0]}, …)"
            " — another process is writing the same records; try again"
        )
    return written


def _write_if_unchanged(client: Elasticsearch, index: str, doc: Source, new: Source) -> None:
    if not doc.get("found"):
        client.create(index=index, id=doc["_id"], document=new)  # a 409 if someone created it meanwhile
        return
    client.index(
        index=index, id=doc["_id"], document=new, if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"]
    )


def allocate_pks(client: Elasticsearch, kind: str, count: int) -> list[int]:
    """``count`` new pks of one kind ("outbox", "incidents"), ascending, never handed out before."""
    if count == 0:
        return []
    written = rewrite(client, SEQUENCES_INDEX, [kind], lambda _, source: {"value": _counter(source) + count})
    top = int(written[kind]["value"])
    return list(range(top - count + 1, top + 1))


def raise_sequence(client: Elasticsearch, kind: str, at_least: int) -> None:
    """Make every pk handed out later greater than ``at_least`` (after importing records with their pks)."""
    rewrite(
        client,
        SEQUENCES_INDEX,
        [kind],
        lambda _, source: None if _counter(source) >= at_least else {"value": at_least},
    )


def _counter(source: Source | None) -> int:
    return int(source["value"]) if source is not None else 0
