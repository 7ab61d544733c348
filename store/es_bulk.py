"""Mentions written to Elasticsearch in bulk: the document of a mention, and the bulk write itself.

A mention's document is its canonical JSON (``Mention.to_json_dict``, extra fields included, so it reads
back into the same Mention) plus the fields derived for matching and aggregating (``DERIVED_FIELDS``).

A mention can change month. Re-crawls refresh ``created_at``: relative times ("3小时前") are read
against the fetch time, a date-only time is later seen to the second, an import without a time is
stamped with the import time. Its id would then sit in two monthly indices. So before each chunk is
written, one ``ids`` search over every monthly index finds where its ids live already, and the bulk
request that indexes a mention into its month also deletes it from any other month. That search sees
what Elasticsearch has refreshed (within a second by default): a mention moved to another month by two
writes within that second would keep a stale copy; within one call this module remembers what it wrote.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

from fengxiang.textmatch import fold
from store.es_schema import MENTION_INDEX_PATTERN, mention_index
from store.model import Mention, account_key, author_key

# Field names the document adds to the mention's own; an input field of the same name is overwritten.
DERIVED_FIELDS = ("match_text", "tokens", "engagement", "author_key", "parent_author_key", "stored_seq")
# The tokens of SQLite's full-text index (fengxiang.textmatch): ASCII word runs and single non-ASCII characters.
_INDEX_TOKEN = re.compile(r"[0-9a-z]+|[^\x00-\x7f]")
# The transport would retry a whole-request 429 at once; leaving 429 to streaming_bulk gets it backoff.
_TRANSPORT_RETRY_STATUSES = (502, 503, 504)


def mention_document(mention: Mention, stored_seq: int = 0) -> dict[str, Any]:
    """The ``_source`` of a mention, as ``index_mappings/component_templates/fengxiang-mentions-mappings.json``
    maps it. ``stored_seq`` orders mentions stored within one second as SQLite's row numbers do: it is
    set when the mention is first stored and kept by every later write."""
    folded = fold(mention.text)
    document = mention.to_json_dict()
    document["match_text"] = f" {folded} "  # the padding fengxiang.query.to_elasticsearch's regexps expect
    # Exactly the tokens SQLite's full-text index holds, space-separated for the whitespace analyzer: a
    # query term's phrase of tokens then finds the same candidates in both backends.
    document["tokens"] = " ".join(_INDEX_TOKEN.findall(folded))
    document["engagement"] = mention.engagement
    keys = {
        "author_key": author_key(mention),
        "parent_author_key": _parent_author_key(mention),
    }
    document.update({name: key for name, key in keys.items() if key is not None})
    document["stored_seq"] = stored_seq
    return document


def _parent_author_key(mention: Mention) -> str | None:
    parent = mention.parent_author
    return account_key(parent.id, parent.name, mention.platform) if parent else None


@dataclass(frozen=True)
class DocumentError:
    """Why Elasticsearch refused one mention: its id, the HTTP status and the error it gave."""

    mention_id: str
    status: int
    error: str  # the error type and reason, as Elasticsearch gave them


@dataclass
class BulkResult:
    """Like ``store.base.UpsertResult``, plus the mentions Elasticsearch refused (the rest are stored)."""

    inserted: int = 0
    updated: int = 0
    errors: list[DocumentError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)


def write_mentions(
    client: Elasticsearch,
    mentions: Iterable[Mention],
    *,
    chunk_size: int = 500,
    max_retries: int = 5,
    initial_backoff: float = 2.0,
    max_backoff: float = 60.0,
) -> BulkResult:
    """Index mentions into their monthly indices, ``chunk_size`` per bulk request.

    A request or document rejected with 429 (Elasticsearch is overloaded) is retried up to ``max_retries``
    times, waiting ``initial_backoff`` seconds and twice as long each time after, up to ``max_backoff``.
    A document refused for any other reason is counted in ``errors`` and the rest still go through."""
    result = BulkResult()
    writer = _ActionWriter(client, chunk_size)
    for ok, item in streaming_bulk(
        client.options(retry_on_status=_TRANSPORT_RETRY_STATUSES),
        writer.actions(mentions),
        chunk_size=chunk_size,
        max_retries=max_retries,
        initial_backoff=initial_backoff,
        max_backoff=max_backoff,
        raise_on_error=False,
        raise_on_exception=False,
    ):
        writer.count(ok, item, result)
    return result


class _ActionWriter:
    """Builds one call's bulk actions and counts their outcome; remembers which mentions moved month."""

    def __init__(self, client: Elasticsearch, chunk_size: int) -> None:
        self._client = client
        self._chunk_size = chunk_size
        self._written: dict[str, tuple[str, int]] = {}  # mention id → (monthly index, stored_seq) this call wrote
        self._last_seq = 0
        # (id, index) of mentions deleted from another month: their "created" there is an update.
        self._moved_into: set[tuple[str, str]] = set()

    def actions(self, mentions: Iterable[Mention]) -> Iterator[dict[str, Any]]:
        iterator = iter(mentions)
        while chunk := _last_of_each_id(islice(iterator, self._chunk_size)):
            stored, seqs = self._stored_copies([mention.id for mention in chunk])
            for mention in chunk:
                index = mention_index(mention.created_at)
                seq = seqs.get(mention.id) or self._next_seq()
                document = mention_document(mention, seq)
                yield {"_op_type": "index", "_index": index, "_id": mention.id, "_source": document}
                for old_index in sorted(stored.get(mention.id, set()) - {index}):
                    self._moved_into.add((mention.id, index))
                    yield {"_op_type": "delete", "_index": old_index, "_id": mention.id}
                self._written[mention.id] = (index, seq)

    def _next_seq(self) -> int:
        """Nanoseconds since the epoch, strictly increasing within the call: insertion order, across
        processes as far as their clocks agree."""
        self._last_seq = max(time.time_ns(), self._last_seq + 1)
        return self._last_seq

    def _stored_copies(self, ids: list[str]) -> tuple[dict[str, set[str]], dict[str, int]]:
        """Every monthly index holding one of the ids, and the ids' ``stored_seq``, as far as
        Elasticsearch has refreshed, and as far as this call wrote."""
        found: dict[str, set[str]] = {}
        seqs: dict[str, int] = {}
        # Twice the ids: room for an id in two months (a copy an earlier, unrefreshed move left behind).
        response = self._client.search(
            index=MENTION_INDEX_PATTERN,
            query={"ids": {"values": ids}},
            size=2 * len(ids),
            source={"includes": ["stored_seq"]},
        )
        for hit in response["hits"]["hits"]:
            found.setdefault(hit["_id"], set()).add(hit["_index"])
            seqs[hit["_id"]] = hit["_source"].get("stored_seq") or seqs.get(hit["_id"], 0)
        for mention_id in ids:
            if mention_id in self._written:
                index, seq = self._written[mention_id]
                found.setdefault(mention_id, set()).add(index)
                seqs[mention_id] = seq
        return found, seqs

    def count(self, ok: bool, item: dict[str, Any], result: BulkResult) -> None:
        ((operation, outcome),) = item.items()
        mention_id = outcome["_id"]
        if operation == "delete":
            # 404: the old copy is gone already. Any other failure leaves a duplicate worth reporting.
            if not ok and outcome["status"] != 404:
                result.errors.append(DocumentError(mention_id, outcome["status"], _describe(outcome)))
            return
        if not ok:
            result.errors.append(DocumentError(mention_id, outcome["status"], _describe(outcome)))
        elif outcome.get("result") == "created" and (mention_id, outcome["_index"]) not in self._moved_into:
            result.inserted += 1
        else:
            result.updated += 1


def _last_of_each_id(mentions: Iterable[Mention]) -> list[Mention]:
    """A chunk with each id once, its last version winning (as upserting them in order would)."""
    return list({mention.id: mention for mention in mentions}.values())


def _describe(outcome: dict[str, Any]) -> str:
    error = outcome.get("error")
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error or outcome.get("result") or "unknown error")
