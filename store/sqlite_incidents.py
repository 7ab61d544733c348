"""Incidents and their timelines in SQLite: plain functions over a connection, used by SQLiteStore."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

import orjson

from alerts.message import AlertMessage
from store.base import Incident, IncidentChange, IncidentEvent
from store.sqlite_outbox import insert_outbox

_COLUMNS = (
    "pk, fingerprint, rule, brand, severity, status, title, opened_at, seen_at, resolved_at, volume, peak_volume,"
    " notified_severity, notified_volume, notified_at, acknowledged_at, acknowledged_by, message, evidence"
)


def _ts(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _incident_values(incident: Incident) -> tuple[Any, ...]:
    return (
        incident.fingerprint,
        incident.rule,
        incident.brand,
        incident.severity,
        incident.status,
        incident.title,
        _ts(incident.opened_at),
        _ts(incident.seen_at),
        _ts(incident.resolved_at),
        incident.volume,
        incident.peak_volume,
        incident.notified_severity,
        incident.notified_volume,
        _ts(incident.notified_at),
        _ts(incident.acknowledged_at),
        incident.acknowledged_by,
        orjson.dumps(incident.message.to_json_dict()).decode(),
        orjson.dumps(incident.evidence).decode(),
    )


def _incident_from_row(row: Sequence[Any], zone: tzinfo) -> Incident:
    def when(value: int | None) -> datetime | None:
        return datetime.fromtimestamp(value, zone) if value is not None else None

    (pk, fingerprint, rule, brand, severity, status, title, opened, seen, resolved, volume, peak,
     notified_severity, notified_volume, notified, acknowledged, acknowledged_by, message, evidence) = row  # fmt: skip
    return Incident(
        fingerprint=fingerprint,
        rule=rule,
        brand=brand,
        severity=severity,
        status=status,
        title=title,
        opened_at=datetime.fromtimestamp(opened, zone),
        seen_at=datetime.fromtimestamp(seen, zone),
        volume=volume,
        peak_volume=peak,
        notified_severity=notified_severity,
        notified_volume=notified_volume,
        notified_at=datetime.fromtimestamp(notified, zone),
        message=AlertMessage.from_json_dict(orjson.loads(message)),
        evidence=tuple(orjson.loads(evidence)),
        resolved_at=when(resolved),
        acknowledged_at=when(acknowledged),
        acknowledged_by=acknowledged_by,
        pk=pk,
    )


def apply_changes(
    conn: sqlite3.Connection, changes: Sequence[IncidentChange], *, written_at: datetime
) -> list[Incident]:
    """Write incidents, their timeline events and their outgoing messages (call inside a transaction)."""
    stored = []
    for change in changes:
        incident = change.incident
        values = _incident_values(incident)
        if incident.pk is None:
            cursor = conn.execute(
                f"INSERT INTO incidents ({_COLUMNS.removeprefix('pk, ')}) VALUES ({','.join('?' * len(values))})",
                values,
            )
            incident = replace(incident, pk=cursor.lastrowid)
        else:
            assignments = ", ".join(f"{column.strip()} = ?" for column in _COLUMNS.split(",")[1:])
            conn.execute(f"UPDATE incidents SET {assignments} WHERE pk = ?", (*values, incident.pk))
        if change.event is not None:
            _insert_event(conn, incident.pk, change.event)
        if change.outbox:
            message = replace(incident.message, incident_id=incident.pk)
            insert_outbox(
                conn,
                [replace(item, incident_pk=incident.pk, message=message) for item in change.outbox],
                now=written_at,
            )
        stored.append(incident)
    return stored


def _insert_event(conn: sqlite3.Connection, incident_pk: int | None, event: IncidentEvent) -> None:
    conn.execute(
        "INSERT INTO incident_events (incident_pk, seq, at, kind, severity, volume, note)"
        " VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_events WHERE incident_pk = ?), ?,?,?,?,?)",
        (incident_pk, incident_pk, _ts(event.at), event.kind, event.severity, event.volume, event.note),
    )


def select_incidents(
    conn: sqlite3.Connection,
    zone: tzinfo,
    *,
    status: str | None = None,
    brand: str | None = None,
    since: datetime | None = None,
    resolved_since: datetime | None = None,
    limit: int = 100,
) -> list[Incident]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("status = ?", status), ("brand = ?", brand)):
        if value is not None:
            clauses.append(column)
            params.append(value)
    if since is not None:
        clauses.append("(opened_at >= ? OR resolved_at IS NULL OR resolved_at >= ?)")
        params += [_ts(since), _ts(since)]
    if resolved_since is not None:
        clauses.append("resolved_at >= ?")
        params.append(_ts(resolved_since))
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM incidents {where} ORDER BY opened_at DESC, pk DESC LIMIT ?", (*params, limit)
    ).fetchall()
    return [_incident_from_row(row, zone) for row in rows]


def select_incident(conn: sqlite3.Connection, pk: int, zone: tzinfo) -> Incident | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM incidents WHERE pk = ?", (pk,)).fetchone()
    return _incident_from_row(row, zone) if row else None


def select_events(conn: sqlite3.Connection, incident_pk: int, zone: tzinfo) -> list[IncidentEvent]:
    rows = conn.execute(
        "SELECT at, kind, severity, volume, note FROM incident_events WHERE incident_pk = ? ORDER BY seq",
        (incident_pk,),
    ).fetchall()
    return [
        IncidentEvent(datetime.fromtimestamp(at, zone), kind, severity, volume, note)
        for at, kind, severity, volume, note in rows
    ]


def acknowledge(conn: sqlite3.Connection, incident_pk: int, by: str, at: datetime) -> bool:
    updated = conn.execute(
        "UPDATE incidents SET acknowledged_at = ?, acknowledged_by = ? WHERE pk = ? AND acknowledged_at IS NULL",
        (_ts(at), by, incident_pk),
    ).rowcount
    if updated:
        _insert_event(conn, incident_pk, IncidentEvent(at, "acknowledged", "", 0.0, by))
    return bool(updated)


def resolve(conn: sqlite3.Connection, incident_pk: int, by: str, at: datetime) -> bool:
    """A person closes an open incident: from then on it is resolved like one the rules resolved (a relapse
    within the cooldown reopens it). No message goes out: whoever closed it knows."""
    rows = conn.execute(
        "UPDATE incidents SET status = 'resolved', resolved_at = ? WHERE pk = ? AND status = 'open'"
        " RETURNING severity, volume",
        (_ts(at), incident_pk),
    ).fetchall()  # all of them: a RETURNING statement left unfinished would block the COMMIT
    if not rows:
        return False
    [(severity, volume)] = rows
    _insert_event(conn, incident_pk, IncidentEvent(at, "resolved", severity, volume, f"{by} 手动关闭"))
    return True
