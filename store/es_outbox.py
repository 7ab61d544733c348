"""The alert outbox in Elasticsearch (index ``fengxiang-outbox``), with the SQLite store's semantics
(store/sqlite_outbox.py; alerts/sender.py is the consumer).

* **Enqueueing is idempotent.** A message's ``_id`` is its dedupe key and it is written with
  ``op_type=create``: a 409 means the key is known and the message is skipped, even when two writers
  enqueue the same event at once. Its pk, the integer people type, comes from the ``outbox`` sequence
  (store/es_common.py), allocated only for the keys a realtime ``mget`` did not find.
* **Claiming is safe with two senders racing.** ``claim_due`` searches the channel's oldest due pending
  messages and marks each `sending` with ``if_seq_no``/``if_primary_term`` from that search: a 409 means
  another sender changed it first, and it is skipped (the search then looks further, past the lost ones).
  ``mark_*`` read-modify-write one message the same way (``rewrite``), so attempts are never lost.
* ``due_at`` = max(``next_attempt_at``, ``not_before``) is kept on every write: what ``claim_due`` and
  ``outbox_due`` compare and aggregate, since the store runs no scripts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from elasticsearch import ConflictError

from alerts.message import AlertMessage
from store.base import OUTBOX_STATUSES, NewOutboxItem, OutboxItem, OutboxStatus
from store.es_common import OUTBOX_INDEX, EsStateBase, Source, allocate_pks, es_date, hits, rewrite

_OLDEST_FIRST = [{"pk": "asc"}]
_NEWEST_FIRST = [{"pk": "desc"}]


class EsOutboxMixin(EsStateBase):
    def enqueue(self, items: Sequence[NewOutboxItem], *, now: datetime) -> int:
        created = es_date(now)
        if not items:
            return 0
        first = {item.dedupe_key: item for item in reversed(items)}  # a key twice in one call: the first wins
        known = {doc["_id"] for doc in self._client.mget(index=OUTBOX_INDEX, ids=list(first))["docs"] if doc["found"]}
        fresh = [item for key, item in reversed(first.items()) if key not in known]
        added = 0
        for pk, item in zip(allocate_pks(self._client, "outbox", len(fresh)), fresh, strict=True):
            try:
                self._client.create(index=OUTBOX_INDEX, id=item.dedupe_key, document=outbox_document(item, pk, created))
            except ConflictError:  # another writer enqueued the same event since the mget: known, skipped
                continue
            added += 1
        if added:
            self._client.indices.refresh(index=OUTBOX_INDEX)
        return added

    def claim_due(self, channel: str, now: datetime, limit: int) -> list[OutboxItem]:
        due = [
            {"term": {"channel": channel}},
            {"term": {"status": "pending"}},
            {"range": {"due_at": {"lte": es_date(now)}}},
        ]
        claimed: list[OutboxItem] = []
        seen: list[str] = []  # claimed by this call, or by another sender since our search
        while len(claimed) < limit:
            wanted = limit - len(claimed)
            query = {"bool": {"filter": due, "must_not": [{"ids": {"values": seen}}]}}
            response = self._client.search(
                index=OUTBOX_INDEX, query=query, sort=_OLDEST_FIRST, size=wanted, seq_no_primary_term=True
            )
            found = response["hits"]["hits"]
            for hit in found:
                seen.append(hit["_id"])
                if self._claim(hit):
                    claimed.append(self._item({**hit["_source"], "status": "sending"}))
            if len(found) < wanted:  # nothing more is due; otherwise look past the ones another sender took
                break
        if claimed:
            self._client.indices.refresh(index=OUTBOX_INDEX)
        return claimed

    def _claim(self, hit: Source) -> bool:
        try:
            self._client.index(
                index=OUTBOX_INDEX,
                id=hit["_id"],
                document={**hit["_source"], "status": "sending"},
                if_seq_no=hit["_seq_no"],
                if_primary_term=hit["_primary_term"],
            )
        except ConflictError:
            return False
        return True

    def mark_sent(self, pk: int, at: datetime, detail: str) -> None:
        sent_at = es_date(at)
        self._update_message(pk, lambda doc: {"status": "sent", "sent_at": sent_at, **_attempt(doc, detail, True)})

    def mark_retry(self, pk: int, next_attempt_at: datetime, detail: str, *, count_attempt: bool = True) -> None:
        retry_at = es_date(next_attempt_at, round_up=True)  # never tried before the moment asked for

        def retry(doc: Source) -> Source:
            return {
                "status": "pending",
                "next_attempt_at": retry_at,
                "due_at": max(retry_at, doc["not_before"], key=_instant),
                "last_error": detail,
                **_attempt(doc, detail, count_attempt),
            }

        self._update_message(pk, retry)

    def mark_failed(self, pk: int, at: datetime, detail: str, *, count_attempt: bool = True) -> None:
        failed_at = es_date(at)
        self._update_message(
            pk,
            lambda doc: {
                "status": "failed",
                "failed_at": failed_at,
                "last_error": detail,
                **_attempt(doc, detail, count_attempt),
            },
        )

    def _update_message(self, pk: int, fields: Callable[[Source], Source]) -> None:
        """Apply ``fields(current source) -> changed fields`` to message ``pk``, with optimistic concurrency."""
        found = self._client.search(index=OUTBOX_INDEX, query={"term": {"pk": pk}}, size=1, source=False)
        if not found["hits"]["hits"]:
            raise ValueError(f"there is no message {pk} in the alert outbox")
        key = found["hits"]["hits"][0]["_id"]
        rewrite(self._client, OUTBOX_INDEX, [key], lambda _, doc: None if doc is None else {**doc, **fields(doc)})

    def release_claims(self) -> int:
        """Messages a stopped sender left `sending` go back to pending. Assumes one sender at a time:
        a second sender starting now would also take back the first one's message in flight."""
        sending = [
            hit["_id"]
            for hit in hits(self._client, OUTBOX_INDEX, {"term": {"status": "sending"}}, _OLDEST_FIRST, source=False)
        ]
        released = rewrite(
            self._client,
            OUTBOX_INDEX,
            sending,
            lambda _, doc: {**doc, "status": "pending"} if doc is not None and doc["status"] == "sending" else None,
        )
        return len(released)

    def sent_count(self, channel: str, since: datetime) -> int:
        return int(self._client.count(index=OUTBOX_INDEX, query=_sent_since(channel, since))["count"])

    def sent_times(self, channel: str, since: datetime) -> list[datetime]:
        found = hits(
            self._client,
            OUTBOX_INDEX,
            _sent_since(channel, since),
            [{"sent_at": "asc"}, *_OLDEST_FIRST],
            source_includes=["sent_at"],
        )
        return [self._when(hit["_source"]["sent_at"]) for hit in found]

    def outbox_due(self) -> dict[str, datetime]:
        """Every channel label with pending messages → when the first of them falls due."""
        response = self._client.search(
            index=OUTBOX_INDEX,
            size=0,
            query={"term": {"status": "pending"}},
            aggs={
                "channels": {
                    "terms": {"field": "channel", "size": 10_000},
                    "aggs": {"due": {"min": {"field": "due_at"}}},
                }
            },
        )
        buckets = response["aggregations"]["channels"]["buckets"]
        return {
            bucket["key"]: datetime.fromtimestamp(bucket["due"]["value"] / 1000, self._zone)
            for bucket in sorted(buckets, key=lambda bucket: bucket["key"])
        }

    def outbox_items(self, *, status: str | None = None, limit: int = 100) -> list[OutboxItem]:
        """The newest (last enqueued) messages first, all or of one status."""
        if status is not None and status not in OUTBOX_STATUSES:
            raise ValueError(f"unknown outbox status {status!r}: choose one of {', '.join(OUTBOX_STATUSES)}")
        query = {"term": {"status": status}} if status else {"match_all": {}}
        return [
            self._item(hit["_source"]) for hit in hits(self._client, OUTBOX_INDEX, query, _NEWEST_FIRST, limit=limit)
        ]

    def outbox_backlog(self) -> dict[str, int]:
        """How many messages are in each status (every status present, 0 when none)."""
        response = self._client.search(
            index=OUTBOX_INDEX, size=0, aggs={"statuses": {"terms": {"field": "status", "size": len(OUTBOX_STATUSES)}}}
        )
        counts = {bucket["key"]: bucket["doc_count"] for bucket in response["aggregations"]["statuses"]["buckets"]}
        return {status: counts.get(status, 0) for status in OUTBOX_STATUSES}

    def _item(self, doc: Source) -> OutboxItem:
        return OutboxItem(
            pk=doc["pk"],
            channel=doc["channel"],
            kind=doc["kind"],
            message=AlertMessage.from_json_dict(doc["message"]),
            dedupe_key=doc["dedupe_key"],
            incident_pk=doc.get("incident_pk"),
            created_at=self._when(doc["created_at"]),
            not_before=self._when(doc["not_before"]),
            next_attempt_at=self._when(doc["next_attempt_at"]),
            attempts=doc["attempts"],
            status=cast(OutboxStatus, doc["status"]),
            last_error=doc.get("last_error"),
            sent_at=self._maybe_when(doc.get("sent_at")),
            failed_at=self._maybe_when(doc.get("failed_at")),
            detail=doc.get("detail"),
        )


def outbox_document(item: NewOutboxItem, pk: int, created: str) -> Source:
    """A new message's document: pending, due at its ``not_before`` (or when written, if later)."""
    not_before = es_date(item.not_before)
    due = max(created, not_before, key=_instant)
    return {
        "pk": pk,
        "channel": item.channel,
        "kind": item.kind,
        "message": item.message.to_json_dict(),
        "dedupe_key": item.dedupe_key,
        "incident_pk": item.incident_pk,
        "created_at": created,
        "not_before": not_before,
        "next_attempt_at": due,
        "due_at": due,
        "attempts": 0,
        "status": "pending",
    }


def stored_outbox_document(item: OutboxItem) -> Source:
    """The document of a message as another store kept it (``import_state``), pk and status included."""
    optional = {"sent_at": item.sent_at, "failed_at": item.failed_at}
    return {
        **outbox_document(
            NewOutboxItem(item.channel, item.kind, item.message, item.dedupe_key, item.not_before, item.incident_pk),
            item.pk,
            es_date(item.created_at),
        ),
        "next_attempt_at": es_date(item.next_attempt_at),
        "due_at": es_date(max(item.next_attempt_at, item.not_before)),
        "attempts": item.attempts,
        "status": item.status,
        "last_error": item.last_error,
        "detail": item.detail,
        **{name: es_date(at) for name, at in optional.items() if at is not None},
    }


def _attempt(doc: Source, detail: str, count_attempt: bool) -> Source:
    return {"detail": detail, "attempts": doc["attempts"] + int(count_attempt)}


def _instant(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _sent_since(channel: str, since: datetime) -> dict[str, Any]:
    return {
        "bool": {
            "filter": [
                {"term": {"channel": channel}},
                {"term": {"status": "sent"}},
                {"range": {"sent_at": {"gte": es_date(since)}}},
            ]
        }
    }
