"""The alert outbox in SQLite: plain functions over a connection, so that the code that decides to
alert (incidents) can enqueue its messages inside its own transaction, and the store's methods can
wrap the rest in theirs.

Writes expect the caller's transaction (``SQLiteStore._write``); `claim_due` in particular must run
in one, so that selecting and marking the claimed rows is a single step.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, cast

import orjson

from alerts.message import AlertMessage
from store.base import OUTBOX_STATUSES, NewOutboxItem, OutboxItem, OutboxStatus

_COLUMNS = (
    "pk, channel, kind, message, dedupe_key, incident_pk, created_at, not_before, next_attempt_at,"
    " attempts, status, last_error, sent_at, failed_at, detail"
)


def insert_outbox(conn: sqlite3.Connection, items: Sequence[NewOutboxItem], *, now: datetime) -> int:
    """Add messages; a dedupe_key already in the outbox is skipped. Returns how many were added."""
    created = seconds(now)
    cursor = conn.executemany(
        "INSERT INTO alert_outbox (dedupe_key, channel, incident_pk, kind, message, created_at, not_before,"
        " next_attempt_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (dedupe_key) DO NOTHING",
        [
            (
                item.dedupe_key,
                item.channel,
                item.incident_pk,
                item.kind,
                orjson.dumps(item.message.to_json_dict()).decode(),
                created,
                seconds(item.not_before),
                max(created, seconds(item.not_before)),
            )
            for item in items
        ],
    )
    return max(cursor.rowcount, 0)


def claim_due(
    conn: sqlite3.Connection, channel: str, now: datetime, limit: int, *, zone: tzinfo = UTC
) -> list[OutboxItem]:
    """The channel's due pending messages, oldest first, now marked `sending` (call in a transaction)."""
    at = seconds(now)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM alert_outbox WHERE channel = ? AND status = 'pending'"
        " AND next_attempt_at <= ? AND not_before <= ? ORDER BY pk LIMIT ?",
        (channel, at, at, limit),
    ).fetchall()
    conn.executemany(
        "UPDATE alert_outbox SET status = 'sending', claimed_at = ? WHERE pk = ?", [(at, row[0]) for row in rows]
    )
    return [_item(row, zone, status="sending") for row in rows]


def mark_sent(conn: sqlite3.Connection, pk: int, at: datetime, detail: str) -> None:
    _update(
        conn,
        pk,
        "status = 'sent', sent_at = ?, detail = ?, attempts = attempts + 1, claimed_at = NULL",
        (seconds(at), detail),
    )


def mark_retry(
    conn: sqlite3.Connection, pk: int, next_attempt_at: datetime, detail: str, *, count_attempt: bool = True
) -> None:
    # Rounded up: a retry is never tried before the moment asked for.
    _update(
        conn,
        pk,
        "status = 'pending', next_attempt_at = ?, detail = ?, last_error = ?, attempts = attempts + ?,"
        " claimed_at = NULL",
        (math.ceil(next_attempt_at.timestamp()), detail, detail, int(count_attempt)),
    )


def mark_failed(conn: sqlite3.Connection, pk: int, at: datetime, detail: str, *, count_attempt: bool = True) -> None:
    _update(
        conn,
        pk,
        "status = 'failed', failed_at = ?, detail = ?, last_error = ?, attempts = attempts + ?, claimed_at = NULL",
        (seconds(at), detail, detail, int(count_attempt)),
    )


def release_claims(conn: sqlite3.Connection) -> int:
    """Messages a stopped sender left `sending` go back to pending. Assumes one sender at a time:
    a second sender starting now would also take back the first one's message in flight."""
    cursor = conn.execute("UPDATE alert_outbox SET status = 'pending', claimed_at = NULL WHERE status = 'sending'")
    return cursor.rowcount


def sent_count(conn: sqlite3.Connection, channel: str, since: datetime) -> int:
    row = conn.execute(
        "SELECT count(*) FROM alert_outbox WHERE channel = ? AND status = 'sent' AND sent_at >= ?",
        (channel, seconds(since)),
    ).fetchone()
    return int(row[0])


def sent_times(conn: sqlite3.Connection, channel: str, since: datetime, *, zone: tzinfo = UTC) -> list[datetime]:
    rows = conn.execute(
        "SELECT sent_at FROM alert_outbox WHERE channel = ? AND status = 'sent' AND sent_at >= ? ORDER BY sent_at",
        (channel, seconds(since)),
    )
    return [datetime.fromtimestamp(at, zone) for (at,) in rows]


def outbox_due(conn: sqlite3.Connection, *, zone: tzinfo = UTC) -> dict[str, datetime]:
    """Every channel label with pending messages → when the first of them falls due."""
    rows = conn.execute(
        "SELECT channel, min(max(next_attempt_at, not_before)) FROM alert_outbox"
        " WHERE status = 'pending' GROUP BY channel ORDER BY channel"
    )
    return {channel: datetime.fromtimestamp(due, zone) for channel, due in rows}


def outbox_items(
    conn: sqlite3.Connection, *, status: str | None = None, limit: int = 100, zone: tzinfo = UTC
) -> list[OutboxItem]:
    """The newest (last enqueued) messages first, all or of one status."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise ValueError(f"unknown outbox status {status!r}: choose one of {', '.join(OUTBOX_STATUSES)}")
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    rows = conn.execute(f"SELECT {_COLUMNS} FROM alert_outbox {where} ORDER BY pk DESC LIMIT ?", [*params, limit])
    return [_item(row, zone) for row in rows]


def outbox_backlog(conn: sqlite3.Connection) -> dict[str, int]:
    """How many messages are in each status (every status present, 0 when none)."""
    counts = dict(conn.execute("SELECT status, count(*) FROM alert_outbox GROUP BY status"))
    return {status: counts.get(status, 0) for status in OUTBOX_STATUSES}


def seconds(at: datetime) -> int:
    """A timezone-aware time as the integer Unix seconds the store keeps (a naive one is ambiguous)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"the time {at.isoformat()} has no time zone: pass a timezone-aware datetime")
    return int(at.timestamp())


def _update(conn: sqlite3.Connection, pk: int, assignments: str, params: tuple[Any, ...]) -> None:
    cursor = conn.execute(f"UPDATE alert_outbox SET {assignments} WHERE pk = ?", (*params, pk))
    if cursor.rowcount == 0:
        raise ValueError(f"there is no message {pk} in the alert outbox")


def _item(row: tuple[Any, ...], zone: tzinfo, *, status: str | None = None) -> OutboxItem:
    pk, channel, kind, message, dedupe_key, incident_pk, created_at, not_before, next_attempt_at = row[:9]
    attempts, stored_status, last_error, sent_at, failed_at, detail = row[9:]

    def when(at: int | None) -> datetime | None:
        return None if at is None else datetime.fromtimestamp(at, zone)

    return OutboxItem(
        pk=pk,
        channel=channel,
        kind=kind,
        message=AlertMessage.from_json_dict(orjson.loads(message)),
        dedupe_key=dedupe_key,
        incident_pk=incident_pk,
        created_at=datetime.fromtimestamp(created_at, zone),
        not_before=datetime.fromtimestamp(not_before, zone),
        next_attempt_at=datetime.fromtimestamp(next_attempt_at, zone),
        attempts=attempts,
        status=cast(OutboxStatus, status or stored_status),
        last_error=last_error,
        sent_at=when(sent_at),
        failed_at=when(failed_at),
        detail=detail,
    )
