"""Incidents and their timelines in Elasticsearch (index ``fengxiang-incidents``), with the semantics of
store/sqlite_incidents.py.

One document per incident, ``_id`` its pk (from the ``incidents`` sequence, store/es_common.py), its
timeline events in ``events`` in order. Every change is a read-modify-write with optimistic concurrency
(``rewrite``), so an evaluation refreshing an incident and a person acknowledging or resolving it on the
dashboard never lose each other's fields or events.

**No transactions, so the messages ride in the incident.** SQLite writes an incident and its outgoing
messages in one transaction. Here ``apply_incident_changes`` writes each incident first, with the
messages it must send in its own ``outbox`` field: one document write, atomic. Then it enqueues every
message still listed there (store/es_outbox.py, idempotent by dedupe key) and removes the enqueued ones
from their incident. A crash before the incident write loses nothing (the evaluation has changed
nothing yet and the next one plans again); a crash after it leaves at worst an incident whose messages
are not in the outbox yet, and the next evaluation's ``apply_incident_changes`` enqueues them — once,
thanks to the dedupe keys, even if the first enqueue got through. (Writing the incident alone first would
lose its message: the next evaluation sees the incident as already notified and plans no message.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from alerts.message import AlertMessage
from store.base import Incident, IncidentChange, IncidentEvent, NewOutboxItem
from store.es_common import INCIDENTS_INDEX, EsStateBase, Source, allocate_pks, es_date, get_source, hits, rewrite

_NEWEST_FIRST = [{"opened_at": "desc"}, {"pk": "desc"}]
_PK_ORDER = [{"pk": "asc"}]
_UNSENT = {"exists": {"field": "outbox.dedupe_key"}}  # incidents with messages not in the outbox yet


@dataclass
class _Write:
    """What one ``apply_incident_changes`` does to one incident (the last version of it wins)."""

    incident: Incident
    events: list[Source] = field(default_factory=list)
    outbox: list[Source] = field(default_factory=list)

    def document(self, stored: Source | None) -> Source:
        """The incident as this evaluation saw it, after the events and messages already stored. An
        acknowledgement made since the evaluation read the incident is kept (no rule takes one back)."""
        before = stored or {}
        document = incident_document(
            self.incident, [*before.get("events", []), *self.events], [*before.get("outbox", []), *self.outbox]
        )
        if document["acknowledged_at"] is None:
            document.update({name: before.get(name) for name in ("acknowledged_at", "acknowledged_by")})
        return document


class EsIncidentsMixin(EsStateBase):
    if TYPE_CHECKING:  # store/es_outbox.py's, on the same store

        def enqueue(self, items: Sequence[NewOutboxItem], *, now: datetime) -> int: ...

    def apply_incident_changes(self, changes: Sequence[IncidentChange]) -> list[Incident]:
        pks = iter(allocate_pks(self._client, "incidents", sum(change.incident.pk is None for change in changes)))
        stored: list[Incident] = []
        writes: dict[int, _Write] = {}
        for change in changes:
            incident = change.incident if change.incident.pk is not None else replace(change.incident, pk=next(pks))
            pk = cast(int, incident.pk)
            stored.append(incident)
            write = writes.setdefault(pk, _Write(incident))
            write.incident = incident
            if change.event is not None:
                write.events.append(_event_document(change.event))
            message = replace(incident.message, incident_id=pk)
            write.outbox += [_pending_message(replace(item, incident_pk=pk, message=message)) for item in change.outbox]
        rewrite(
            self._client, INCIDENTS_INDEX, [str(pk) for pk in writes], lambda pk, doc: writes[int(pk)].document(doc)
        )
        self._enqueue_incident_messages()
        return stored

    def _enqueue_incident_messages(self) -> None:
        """Move the messages incidents hold into the outbox: this call's, and any a crash left behind."""
        unsent = {
            hit["_id"]: hit["_source"]["outbox"]
            for hit in hits(self._client, INCIDENTS_INDEX, _UNSENT, _PK_ORDER, source_includes=["outbox"])
        }
        if not unsent:
            return
        items = [_new_outbox_item(message) for messages in unsent.values() for message in messages]
        # The outbox ages (retry give-up) from when a message was written, even for a replayed evaluation.
        self.enqueue(items, now=datetime.now(self._zone))
        enqueued = {item.dedupe_key for item in items}

        def without_enqueued(_: str, doc: Source | None) -> Source | None:
            if doc is None:
                return None
            left = [message for message in doc.get("outbox", []) if message["dedupe_key"] not in enqueued]
            return {**doc, "outbox": left} if len(left) < len(doc.get("outbox", [])) else None

        rewrite(self._client, INCIDENTS_INDEX, list(unsent), without_enqueued)

    def incidents(
        self,
        *,
        status: str | None = None,
        brand: str | None = None,
        since: datetime | None = None,
        resolved_since: datetime | None = None,
        limit: int = 100,
    ) -> list[Incident]:
        """Newest first; ``since``: opened since then or still open / resolved since then."""
        clauses: list[Source] = [
            {"term": {name: value}} for name, value in (("status", status), ("brand", brand)) if value is not None
        ]
        if since is not None:
            at = es_date(since)
            still_open = {"bool": {"must_not": [{"exists": {"field": "resolved_at"}}]}}
            either = [{"range": {"opened_at": {"gte": at}}}, still_open, {"range": {"resolved_at": {"gte": at}}}]
            clauses.append({"bool": {"should": either, "minimum_should_match": 1}})
        if resolved_since is not None:
            clauses.append({"range": {"resolved_at": {"gte": es_date(resolved_since)}}})
        found = hits(
            self._client,
            INCIDENTS_INDEX,
            {"bool": {"filter": clauses}},
            _NEWEST_FIRST,
            limit=limit,
            source_excludes=["events", "outbox"],
        )
        return [self._incident(hit["_source"]) for hit in found]

    def incident(self, pk: int) -> Incident | None:
        """One incident by its pk; None when unknown."""
        doc = get_source(self._client, INCIDENTS_INDEX, str(pk))
        return None if doc is None else self._incident(doc)

    def incident_events(self, incident_pk: int) -> list[IncidentEvent]:
        doc = get_source(self._client, INCIDENTS_INDEX, str(incident_pk))
        return [] if doc is None else self._events(doc)

    def acknowledge_incident(self, incident_pk: int, *, by: str, at: datetime) -> bool:
        def acknowledged(_: str, doc: Source | None) -> Source | None:
            if doc is None or doc.get("acknowledged_at") is not None:
                return None
            event = _event_document(IncidentEvent(at, "acknowledged", "", 0.0, by))
            return {**doc, "acknowledged_at": es_date(at), "acknowledged_by": by, "events": [*doc["events"], event]}

        return bool(rewrite(self._client, INCIDENTS_INDEX, [str(incident_pk)], acknowledged))

    def resolve_incident(self, incident_pk: int, *, by: str, at: datetime) -> bool:
        """A person closes an open incident: from then on it is resolved like one the rules resolved (a
        relapse within the cooldown reopens it). No message goes out: whoever closed it knows."""

        def resolved(_: str, doc: Source | None) -> Source | None:
            if doc is None or doc["status"] != "open":
                return None
            event = _event_document(IncidentEvent(at, "resolved", doc["severity"], doc["volume"], f"{by} 手动关闭"))
            return {**doc, "status": "resolved", "resolved_at": es_date(at), "events": [*doc["events"], event]}

        return bool(rewrite(self._client, INCIDENTS_INDEX, [str(incident_pk)], resolved))

    def _stored_incidents(self) -> list[tuple[Incident, list[IncidentEvent]]]:
        """Every incident with its timeline, in pk order (``export_state``)."""
        found = hits(self._client, INCIDENTS_INDEX, {"match_all": {}}, _PK_ORDER, source_excludes=["outbox"])
        return [(self._incident(hit["_source"]), self._events(hit["_source"])) for hit in found]

    def _incident(self, doc: Source) -> Incident:
        return Incident(
            fingerprint=doc["fingerprint"],
            rule=doc["rule"],
            brand=doc.get("brand"),
            severity=doc["severity"],
            status=doc["status"],
            title=doc["title"],
            opened_at=self._when(doc["opened_at"]),
            seen_at=self._when(doc["seen_at"]),
            volume=doc["volume"],
            peak_volume=doc["peak_volume"],
            notified_severity=doc["notified_severity"],
            notified_volume=doc["notified_volume"],
            notified_at=self._when(doc["notified_at"]),
            message=AlertMessage.from_json_dict(doc["message"]),
            evidence=tuple(doc["evidence"]),
            resolved_at=self._maybe_when(doc.get("resolved_at")),
            acknowledged_at=self._maybe_when(doc.get("acknowledged_at")),
            acknowledged_by=doc.get("acknowledged_by"),
            pk=doc["pk"],
        )

    def _events(self, doc: Source) -> list[IncidentEvent]:
        return [
            IncidentEvent(self._when(event["at"]), event["kind"], event["severity"], event["volume"], event["note"])
            for event in doc["events"]
        ]


def incident_document(incident: Incident, events: list[Source], outbox: list[Source] | None = None) -> Source:
    """An incident's document: its fields, its timeline, and the messages it has yet to put in the outbox."""
    times = {"resolved_at": incident.resolved_at, "acknowledged_at": incident.acknowledged_at}
    return {
        "pk": incident.pk,
        "fingerprint": incident.fingerprint,
        "rule": incident.rule,
        "brand": incident.brand,
        "severity": incident.severity,
        "status": incident.status,
        "title": incident.title,
        "opened_at": es_date(incident.opened_at),
        "seen_at": es_date(incident.seen_at),
        "volume": incident.volume,
        "peak_volume": incident.peak_volume,
        "notified_severity": incident.notified_severity,
        "notified_volume": incident.notified_volume,
        "notified_at": es_date(incident.notified_at),
        "acknowledged_by": incident.acknowledged_by,
        "evidence": list(incident.evidence),
        "message": incident.message.to_json_dict(),
        "events": events,
        "outbox": outbox or [],
        **{name: None if at is None else es_date(at) for name, at in times.items()},
    }


def event_documents(events: Sequence[IncidentEvent]) -> list[Source]:
    return [_event_document(event) for event in events]


def _event_document(event: IncidentEvent) -> Source:
    return {
        "at": es_date(event.at),
        "kind": event.kind,
        "severity": event.severity,
        "volume": event.volume,
        "note": event.note,
    }


def _pending_message(item: NewOutboxItem) -> Source:
    return {
        "channel": item.channel,
        "kind": item.kind,
        "message": item.message.to_json_dict(),
        "dedupe_key": item.dedupe_key,
        "not_before": es_date(item.not_before),
        "incident_pk": item.incident_pk,
    }


def _new_outbox_item(pending: dict[str, Any]) -> NewOutboxItem:
    return NewOutboxItem(
        channel=pending["channel"],
        kind=pending["kind"],
        message=AlertMessage.from_json_dict(pending["message"]),
        dedupe_key=pending["dedupe_key"],
        not_before=datetime.fromisoformat(pending["not_before"]),
        incident_pk=pending["incident_pk"],
    )
