"""Retention in SQLite: deleting what is older than the configured ages, one batch per transaction.

A purge runs beside a crawler that keeps writing, so every batch is its own short write transaction
(a writer waits for one batch at most) and leaves the store consistent: a killed purge simply goes
on where it stopped the next time.

A mention leaves with everything derived from it: its facts are retracted from the timeline and the
rollups exactly as a refresh retracts them (store/sqlite_derived.py), its text leaves the full-text
index and its sentiment correction goes. The rollups are kept exact, so the cutoff needs no rounding:
every aggregate over a window from the cutoff on is what it was, and windows before it are empty.
Authors that no remaining mention posted, reposted or names in a repost chain go last.
Incidents (alert history), crawl cursors and the learned document frequencies are kept.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial

import orjson

from store import sqlite_derived as derived
from store.base import PurgeReport
from store.model import account_key, repost_hops

Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]
Step = Callable[[sqlite3.Connection, int], int]  # deletes up to n rows inside a transaction; how many it did


@dataclass(frozen=True)
class Cutoffs:
    """Unix seconds; None keeps everything of that kind."""

    mentions: int | None
    health: int | None
    outbox: int | None


# The oldest mentions first, through the timeline's scope of every mention (ordered by time already).
_OLDEST_MENTIONS = (
    f"SELECT {derived.STORED} FROM timeline t CROSS JOIN mentions m ON m.pk = t.mention_pk"
    " WHERE t.scope = ? AND t.created_at < ? ORDER BY t.created_at, t.mention_pk LIMIT ?"
)
# Old crawl runs, except each source's newest (the one `latest_health` shows).
_OLD_HEALTH = (
    "DELETE FROM source_health WHERE pk IN (SELECT pk FROM source_health WHERE started_at < ? AND pk NOT IN"
    " (SELECT (SELECT pk FROM source_health WHERE source = s.source ORDER BY finished_at DESC, pk DESC LIMIT 1)"
    "  FROM (SELECT DISTINCT source FROM source_health) s) LIMIT ?)"
)
# Delivered or given-up messages, by when that happened; pending and sending ones are never touched.
_OLD_OUTBOX = (
    "DELETE FROM alert_outbox WHERE pk IN (SELECT pk FROM alert_outbox WHERE status IN ('sent', 'failed')"
    " AND coalesce(CASE status WHEN 'sent' THEN sent_at ELSE failed_at END, created_at) < ? LIMIT ?)"
)
# The author posted no stored mention (the rollup's scope '' counts every mention).
_NO_MENTIONS = "NOT EXISTS (SELECT 1 FROM author_totals t WHERE t.scope = '' AND t.author_pk = a.pk)"
# What a mention refers to besides its author: the reposted root's account and, in a repost's text
# (only reposts' texts leave the database), the chain's accounts.
_REFERENCES = (
    "SELECT platform, json_extract(doc, '$.parent_author.id', '$.parent_author.name'),"
    " CASE WHEN instr(doc ->> '$.text', '//@') THEN doc ->> '$.text' END FROM mentions"
)


def purge(write: Transaction, read: sqlite3.Connection, cutoffs: Cutoffs, *, batch: int, offset: int) -> PurgeReport:
    """Delete in batches of ``batch`` rows; ``offset`` is the store's UTC offset in seconds (its rollups' days)."""
    report = PurgeReport()
    if cutoffs.mentions is not None:
        report.mentions = _repeat(write, batch, partial(_delete_mentions, before=cutoffs.mentions, offset=offset))
        if report.mentions:  # scanning every mention for references pays only after deletions
            report.authors = _delete_orphan_authors(write, read, batch)
    if cutoffs.health is not None:
        report.source_health = _repeat(write, batch, partial(_delete_old, _OLD_HEALTH, before=cutoffs.health))
    if cutoffs.outbox is not None:
        report.outbox = _repeat(write, batch, partial(_delete_old, _OLD_OUTBOX, before=cutoffs.outbox))
    return report


def _repeat(write: Transaction, batch: int, step: Step) -> int:
    """Run ``step`` in one transaction after another until a batch comes up short; rows deleted."""
    deleted = 0
    while True:
        with write() as conn:
            n = step(conn, batch)
        deleted += n
        if n < batch:
            return deleted


def _delete_old(statement: str, conn: sqlite3.Connection, batch: int, *, before: int) -> int:
    return conn.execute(statement, (before, batch)).rowcount


def _delete_mentions(conn: sqlite3.Connection, batch: int, *, before: int, offset: int) -> int:
    rows = [derived.stored_facts(row) for row in conn.execute(_OLDEST_MENTIONS, (derived.ALL, before, batch))]
    derived.retract(conn, [facts for _, facts, _ in rows], offset=offset)
    derived.forget_text(conn, [(facts.mention_pk, text) for _, facts, text in rows])
    ids = orjson.dumps([mention_id for mention_id, _, _ in rows]).decode()
    conn.execute("DELETE FROM sentiment_corrections WHERE mention_id IN (SELECT value FROM json_each(?))", (ids,))
    pks = orjson.dumps([facts.mention_pk for _, facts, _ in rows]).decode()
    conn.execute("DELETE FROM mentions WHERE pk IN (SELECT value FROM json_each(?))", (pks,))
    return len(rows)


def _delete_orphan_authors(write: Transaction, read: sqlite3.Connection, batch: int) -> int:
    """Delete the authors no mention refers to any more. The references are read outside any write
    transaction (a scan of every mention would hold the lock for seconds); a writer that refers to an
    author meanwhile either counts a mention for it or rewrites its profile (``updated_at``), and the
    delete checks both again. Writers in other processes learn of the deletion from ``author_deletions``."""
    scanned_at = int(time.time())
    orphans = read.execute(
        f"SELECT pk, id, platform, name FROM authors a WHERE updated_at <= ? AND {_NO_MENTIONS}", (scanned_at,)
    ).fetchall()
    if not orphans:
        return 0
    keys, names = _referenced_accounts(read)
    doomed = [pk for pk, key, platform, name in orphans if key not in keys and (platform, name) not in names]
    deleted = 0
    for start in range(0, len(doomed), batch):
        with write() as conn:
            deleted += conn.execute(
                f"DELETE FROM authors AS a WHERE pk IN (SELECT value FROM json_each(?)) AND updated_at <= ?"
                f" AND {_NO_MENTIONS}",
                (orjson.dumps(doomed[start : start + batch]).decode(), scanned_at),
            ).rowcount
            conn.execute(
                "INSERT INTO store_counters (name, value) VALUES ('author_deletions', 1)"
                " ON CONFLICT (name) DO UPDATE SET value = value + 1"
            )
    return deleted


def author_deletions(conn: sqlite3.Connection) -> int:
    """How often purges have deleted authors: a writer holding author pks from before must look them up again."""
    row = conn.execute("SELECT value FROM store_counters WHERE name = 'author_deletions'").fetchone()
    return row[0] if row else 0


def _referenced_accounts(conn: sqlite3.Connection) -> tuple[set[str], set[tuple[str, str]]]:
    """The author keys of the stored mentions' reposted roots, and the (platform, screen name) of every
    account their repost chains name (the KOL analysis looks those names up among the authors)."""
    keys: set[str] = set()
    names: set[tuple[str, str]] = set()
    for platform, parent, text in conn.execute(_REFERENCES):
        parent_id, parent_name = orjson.loads(parent)
        key = account_key(parent_id, parent_name, platform)
        if key is not None:
            keys.add(key)
        names.update((platform, name) for name in repost_hops(text))
    return keys, names
