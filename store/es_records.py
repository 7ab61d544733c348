"""The Elasticsearch store's small records: crawl cursors, source health, the corpus document frequencies,
moving all state between stores (``export_state``/``import_state``) and the purge of old health records
and finished outbox messages.

Keys are document ids, so writing a record again replaces it and an import is idempotent:

* a cursor's ``_id`` is ``["source","key"]`` (JSON), as SQLite's primary key (source, key);
* a health record's ``_id`` is ``["source","started_at","finished_at"]``: the key ``import_state`` matches
  by. Two runs of one source recorded with the same start and finish second are one record here (the
  later one), where SQLite keeps both rows;
* the document frequencies are one document, ``corpus``, replaced whole;
* incidents and outbox messages keep their ``_id`` (pk, dedupe key) and pks on import, and the sequences
  are raised above the imported pks (store/es_common.py).

SQLite breaks ties between health records finished in the same second by insertion order; this store by
the later start.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from store.base import Incident, IncidentEvent, OutboxItem, SourceHealth, StoreState
from store.es_common import (
    CURSORS_INDEX,
    FREQUENCIES_INDEX,
    HEALTH_INDEX,
    INCIDENTS_INDEX,
    OUTBOX_INDEX,
    EsStateBase,
    Source,
    es_date,
    get_source,
    hits,
    index_all,
    raise_sequence,
)
from store.es_incidents import event_documents, incident_document
from store.es_outbox import stored_outbox_document

_CORPUS_ID = "corpus"
_NEWEST_RUN_FIRST = [{"finished_at": "desc"}, {"started_at": "desc"}]
# Unique (the key's fields), and SQLite's insertion order as runs are recorded when they finish.
_OLDEST_RUN_FIRST = [{"finished_at": "asc"}, {"started_at": "asc"}, {"source": "asc"}]
_MAX_SOURCES = 10_000  # far more crawl sources than fengxiang has


class EsRecordsMixin(EsStateBase):
    if TYPE_CHECKING:  # store/es_incidents.py's and store/es_outbox.py's, on the same store

        def _stored_incidents(self) -> list[tuple[Incident, list[IncidentEvent]]]: ...

        def _item(self, doc: Source) -> OutboxItem: ...

    # -- crawl cursors ----------------------------------------------------------------------------

    def get_cursor(self, source: str, key: str) -> str | None:
        doc = get_source(self._client, CURSORS_INDEX, _cursor_id(source, key))
        return None if doc is None else str(doc["value"])

    def set_cursor(self, source: str, key: str, value: str) -> None:
        self._client.index(
            index=CURSORS_INDEX,
            id=_cursor_id(source, key),
            document=_cursor_document(source, key, value),
            refresh=True,  # state indices are tiny and written rarely: the next search sees the write
        )

    # -- source health ----------------------------------------------------------------------------

    def record_health(self, health: SourceHealth) -> None:
        self._client.index(index=HEALTH_INDEX, id=_health_id(health), document=_health_document(health), refresh=True)

    def latest_health(self) -> list[SourceHealth]:
        """The newest record of every source, by source."""
        return [self._health(hit["_source"]) for hit in self._newest_runs()]

    def _newest_runs(self) -> list[Source]:
        newest = {"top_hits": {"size": 1, "sort": _NEWEST_RUN_FIRST}}
        response = self._client.search(
            index=HEALTH_INDEX,
            size=0,
            aggs={"sources": {"terms": {"field": "source", "size": _MAX_SOURCES}, "aggs": {"newest": newest}}},
        )
        buckets = sorted(response["aggregations"]["sources"]["buckets"], key=lambda bucket: bucket["key"])
        return [bucket["newest"]["hits"]["hits"][0] for bucket in buckets]

    def health_history(self, source: str, *, limit: int = 50) -> list[SourceHealth]:
        """One source's newest health records, newest first."""
        found = hits(self._client, HEALTH_INDEX, {"term": {"source": source}}, _NEWEST_RUN_FIRST, limit=limit)
        return [self._health(hit["_source"]) for hit in found]

    def _health(self, doc: Source) -> SourceHealth:
        return SourceHealth(
            source=doc["source"],
            started_at=self._when(doc["started_at"]),
            finished_at=self._when(doc["finished_at"]),
            status=doc["status"],
            items=doc["items"],
            error=doc.get("error"),
            detail=doc["detail"],
        )

    # -- corpus statistics ------------------------------------------------------------------------

    def save_document_frequencies(self, frequencies: Mapping[str, int], documents: int) -> None:
        """Replace the corpus' word document frequencies (see ``fengxiang reanalyze``)."""
        document = {"documents": documents, "frequencies": dict(frequencies), "saved_at": es_date(datetime.now(UTC))}
        self._client.index(index=FREQUENCIES_INDEX, id=_CORPUS_ID, document=document, refresh=True)

    def document_frequencies(self) -> tuple[dict[str, int], int]:
        """The saved frequencies and the number of documents they count ({} and 0 if never learned)."""
        doc = get_source(self._client, FREQUENCIES_INDEX, _CORPUS_ID)
        return ({}, 0) if doc is None else (doc["frequencies"], doc["documents"])

    # -- moving a store ---------------------------------------------------------------------------

    def export_state(self) -> StoreState:
        cursors = hits(self._client, CURSORS_INDEX, {"match_all": {}}, [{"source": "asc"}, {"key": "asc"}])
        health = hits(self._client, HEALTH_INDEX, {"match_all": {}}, _OLDEST_RUN_FIRST)
        outbox = hits(self._client, OUTBOX_INDEX, {"match_all": {}}, [{"pk": "asc"}])
        return StoreState(
            cursors=[(hit["_source"]["source"], hit["_source"]["key"], hit["_source"]["value"]) for hit in cursors],
            health=[self._health(hit["_source"]) for hit in health],
            incidents=self._stored_incidents(),
            outbox=[self._item(hit["_source"]) for hit in outbox],
            document_frequencies=self.document_frequencies(),
        )

    def import_state(self, state: StoreState) -> None:
        """Write another store's state keeping its keys; a record already here with the same key is
        replaced, so importing twice changes nothing; pks handed out later continue above the imported ones."""
        index_all(
            self._client, CURSORS_INDEX, ((_cursor_id(s, k), _cursor_document(s, k, v)) for s, k, v in state.cursors)
        )
        index_all(
            self._client, HEALTH_INDEX, ((_health_id(health), _health_document(health)) for health in state.health)
        )
        index_all(
            self._client,
            INCIDENTS_INDEX,
            (
                (str(incident.pk), incident_document(incident, event_documents(events)))
                for incident, events in state.incidents
            ),
        )
        index_all(
            self._client, OUTBOX_INDEX, ((item.dedupe_key, stored_outbox_document(item)) for item in state.outbox)
        )
        raise_sequence(self._client, "incidents", max((incident.pk or 0 for incident, _ in state.incidents), default=0))
        raise_sequence(self._client, "outbox", max((item.pk for item in state.outbox), default=0))
        frequencies, documents = state.document_frequencies
        if frequencies or documents:
            self.save_document_frequencies(frequencies, documents)

    # -- retention --------------------------------------------------------------------------------

    def _purge_health(self, before: datetime) -> int:
        """Delete the health records started before ``before``, except each source's newest; how many."""
        newest = [hit["_id"] for hit in self._newest_runs()]
        query = {
            "bool": {
                "filter": [{"range": {"started_at": {"lt": es_date(before)}}}],
                "must_not": [{"ids": {"values": newest}}],
            }
        }
        return int(self._client.delete_by_query(index=HEALTH_INDEX, query=query, refresh=True)["deleted"])

    def _purge_outbox(self, before: datetime) -> int:
        """Delete the messages sent or failed before ``before`` (by when that happened, else when they
        were enqueued, as SQLite's coalesce); pending and sending ones stay. How many."""
        cutoff = {"lt": es_date(before)}
        finished: list[Source] = []
        for status, moment in (("sent", "sent_at"), ("failed", "failed_at")):
            finished += [
                {"bool": {"filter": [{"term": {"status": status}}, {"range": {moment: cutoff}}]}},
                {
                    "bool": {
                        "filter": [{"term": {"status": status}}, {"range": {"created_at": cutoff}}],
                        "must_not": [{"exists": {"field": moment}}],
                    }
                },
            ]
        query = {"bool": {"should": finished, "minimum_should_match": 1}}
        return int(self._client.delete_by_query(index=OUTBOX_INDEX, query=query, refresh=True)["deleted"])


def _cursor_id(source: str, key: str) -> str:
    return orjson.dumps([source, key]).decode()


def _cursor_document(source: str, key: str, value: str) -> Source:
    return {"source": source, "key": key, "value": value, "updated_at": es_date(datetime.now(UTC))}


def _health_id(health: SourceHealth) -> str:
    return orjson.dumps([health.source, es_date(health.started_at), es_date(health.finished_at)]).decode()


def _health_document(health: SourceHealth) -> dict[str, Any]:
    return {
        "source": health.source,
        "started_at": es_date(health.started_at),
        "finished_at": es_date(health.finished_at),
        "status": health.status,
        "items": health.items,
        "error": health.error,
        "detail": health.detail,
    }
