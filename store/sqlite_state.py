"""A SQLite store's state besides its mentions, read and written whole for ``fengxiang migrate``:
plain functions over a connection, used by SQLiteStore (``Store.export_state`` / ``import_state``).

Imports keep the other store's keys, so that a second import replaces instead of doubling and the
outbox's ``incident_pk`` links still point at the right incidents. Every table here has an
``INTEGER PRIMARY KEY`` without AUTOINCREMENT: SQLite hands out ``max(pk) + 1`` next, so pks written
later continue above the imported ones without any sequence to move.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

import orjson

from store.base import Incident, IncidentEvent, OutboxItem, SourceHealth, StoreError, StoreState
from store.sqlite_incidents import _COLUMNS as INCIDENT_COLUMNS
from store.sqlite_incidents import _incident_values, select_events, select_incident
from store.sqlite_outbox import outbox_items, seconds

_HEALTH_COLUMNS = "source, started_at, finished_at, status, items, error, detail"
_OUTBOX_COLUMNS = (
    "pk, dedupe_key, channel, incident_pk, kind, message, created_at, not_before, next_attempt_at, attempts,"
    " status, sent_at, failed_at, detail, last_error"
)


def export_state(conn: sqlite3.Connection, zone: tzinfo) -> StoreState:
    """Everything but the mentions, read in one transaction: a consistent snapshot even while the
    service writes (WAL readers see the last commit before they began)."""
    conn.execute("BEGIN")
    try:
        return StoreState(
            cursors=[
                (source, key, value)
                for source, key, value in conn.execute("SELECT source, key, value FROM crawl_cursors ORDER BY 1, 2")
            ],
            health=[
                _health(row, zone)
                for row in conn.execute(f"SELECT {_HEALTH_COLUMNS} FROM source_health ORDER BY started_at, pk")
            ],
            incidents=_incidents(conn, zone),
            outbox=_outbox(conn, zone),
            document_frequencies=_document_frequencies(conn),
        )
    finally:
        conn.execute("COMMIT")


def import_state(conn: sqlite3.Connection, state: StoreState) -> None:
    """Write ``state`` over what is here, record by record (call inside a write transaction)."""
    _import_cursors(conn, state.cursors)
    _import_health(conn, state.health)
    for incident, events in state.incidents:
        _import_incident(conn, incident, events)
    _import_outbox(conn, state.outbox)
    frequencies, documents = state.document_frequencies
    if frequencies or documents:  # a store that never learned them leaves the ones here alone
        conn.execute("DELETE FROM document_frequencies")
        conn.executemany("INSERT INTO document_frequencies (word, df) VALUES (?, ?)", frequencies.items())
        conn.execute(
            "INSERT INTO corpus_facts (name, value) VALUES ('documents', ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (documents,),
        )


# -- export -------------------------------------------------------------------------------------


def _health(row: Sequence[Any], zone: tzinfo) -> SourceHealth:
    source, started, finished, status, items, error, detail = row
    return SourceHealth(
        source=source,
        started_at=datetime.fromtimestamp(started, zone),
        finished_at=datetime.fromtimestamp(finished, zone),
        status=status,
        items=items,
        error=error,
        detail=orjson.loads(detail),
    )


def _incidents(conn: sqlite3.Connection, zone: tzinfo) -> list[tuple[Incident, list[IncidentEvent]]]:
    found = []
    for (pk,) in conn.execute("SELECT pk FROM incidents ORDER BY pk").fetchall():
        incident = select_incident(conn, pk, zone)
        assert incident is not None  # read in the same transaction
        found.append((incident, select_events(conn, pk, zone)))
    return found


def _outbox(conn: sqlite3.Connection, zone: tzinfo) -> list[OutboxItem]:
    (count,) = conn.execute("SELECT count(*) FROM alert_outbox").fetchone()
    return outbox_items(conn, limit=count, zone=zone)[::-1]  # newest first → pk order


def _document_frequencies(conn: sqlite3.Connection) -> tuple[dict[str, int], int]:
    row = conn.execute("SELECT value FROM corpus_facts WHERE name = 'documents'").fetchone()
    if row is None:
        return {}, 0
    return dict(conn.execute("SELECT word, df FROM document_frequencies")), row[0]


# -- import -------------------------------------------------------------------------------------


def _import_cursors(conn: sqlite3.Connection, cursors: Sequence[tuple[str, str, str]]) -> None:
    now = int(time.time())
    conn.executemany(
        "INSERT INTO crawl_cursors (source, key, value, updated_at) VALUES (?,?,?,?)"
        " ON CONFLICT (source, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [(source, key, value, now) for source, key, value in cursors],
    )


def _import_health(conn: sqlite3.Connection, records: Sequence[SourceHealth]) -> None:
    """Records are keyed by (source, started_at, finished_at): every one here with an imported key goes
    first, so two imported records with one key (runs within a second) both stay, and an import again
    replaces them."""
    rows = [
        (
            health.source,
            seconds(health.started_at),
            seconds(health.finished_at),
            health.status,
            health.items,
            health.error,
            orjson.dumps(health.detail).decode(),
        )
        for health in records
    ]
    conn.executemany(
        "DELETE FROM source_health WHERE source = ? AND started_at = ? AND finished_at = ?",
        {row[:3] for row in rows},
    )
    conn.executemany(f"INSERT INTO source_health ({_HEALTH_COLUMNS}) VALUES (?,?,?,?,?,?,?)", rows)


def _import_incident(conn: sqlite3.Connection, incident: Incident, events: Sequence[IncidentEvent]) -> None:
    """The incident under its own pk, its timeline replaced by the imported one."""
    if incident.pk is None:
        raise ValueError(f"incident {incident.fingerprint!r} has no pk: only stored incidents can be imported")
    if incident.status == "open":
        clash = conn.execute(
            "SELECT pk FROM incidents WHERE fingerprint = ? AND status = 'open' AND pk != ?",
            (incident.fingerprint, incident.pk),
        ).fetchone()
        if clash:  # at most one open incident per fingerprint (an index guards it)
            raise StoreError(
                f"cannot import incident {incident.pk} ({incident.title}): incident {clash[0]} here is open for "
                "the same alert — resolve it first (the dashboard's incident page), then run again"
            )
    values = _incident_values(incident)
    columns = INCIDENT_COLUMNS.removeprefix("pk, ")
    updates = ", ".join(f"{column.strip()} = excluded.{column.strip()}" for column in columns.split(","))
    conn.execute(
        f"INSERT INTO incidents ({INCIDENT_COLUMNS}) VALUES (?{',?' * len(values)})"
        f" ON CONFLICT (pk) DO UPDATE SET {updates}",
        (incident.pk, *values),
    )
    conn.execute("DELETE FROM incident_events WHERE incident_pk = ?", (incident.pk,))
    conn.executemany(
        "INSERT INTO incident_events (incident_pk, seq, at, kind, severity, volume, note) VALUES (?,?,?,?,?,?,?)",
        [
            (incident.pk, seq, seconds(event.at), event.kind, event.severity, event.volume, event.note)
            for seq, event in enumerate(events, start=1)
        ],
    )


def _import_outbox(conn: sqlite3.Connection, items: Sequence[OutboxItem]) -> None:
    """Messages keep their pk and dedupe key; a message here with either is the same message, replaced.
    A message left `sending` stays so: the sender's start puts such claims back (``release_claims``)."""

    def when(moment: datetime | None) -> int | None:
        return None if moment is None else seconds(moment)

    conn.executemany(
        "DELETE FROM alert_outbox WHERE pk = ? OR dedupe_key = ?", [(item.pk, item.dedupe_key) for item in items]
    )
    conn.executemany(
        f"INSERT INTO alert_outbox ({_OUTBOX_COLUMNS}) VALUES ({','.join('?' * 15)})",
        [
            (
                item.pk,
                item.dedupe_key,
                item.channel,
                item.incident_pk,
                item.kind,
                orjson.dumps(item.message.to_json_dict()).decode(),
                seconds(item.created_at),
                seconds(item.not_before),
                seconds(item.next_attempt_at),
                item.attempts,
                item.status,
                when(item.sent_at),
                when(item.failed_at),
                item.detail,
                item.last_error,
            )
            for item in items
        ],
    )
