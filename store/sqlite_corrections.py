"""Manual sentiment corrections in SQLite: plain functions over a connection, used by SQLiteStore.

A correction replaces the model's label everywhere the store keeps one (the mention's column and
JSON, the timeline and the rollups), because the store writes a corrected mention through its
ordinary upsert with the corrected label. Every upsert passes its rows through ``honour`` first, so
a re-crawl or ``fengxiang reanalyze`` keeps the person's label and only refreshes ``model_label``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

import orjson

from store.base import StoreError
from store.model import SENTIMENT_LABELS, Mention, Sentiment
from store.sqlite_rows import MentionRow

# Only a mention that went through a correction has this key in its JSON: a batch without it and
# without stored corrections is passed through untouched (the cost of an upsert without corrections).
_CORRECTION_KEY = '"corrected_by"'


class Correction(NamedTuple):
    label: str
    model_label: str | None  # what the model said last; None: it never labelled the mention
    by: str
    at: int  # Unix seconds


def check_label(label: str) -> None:
    if label not in SENTIMENT_LABELS:
        raise StoreError(
            f"unknown sentiment label {label!r} — use one of {', '.join(SENTIMENT_LABELS)} to correct a mention"
        )


def lookup(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Correction]:
    """The stored corrections of these mention ids, in one indexed query (none when nothing was ever corrected)."""
    if not ids or conn.execute("SELECT NOT EXISTS (SELECT 1 FROM sentiment_corrections)").fetchone()[0]:
        return {}
    # CROSS JOIN keeps json_each outside: one primary-key probe per id, whatever the table's size.
    rows = conn.execute(
        "SELECT c.mention_id, c.label, c.model_label, c.corrected_by, c.corrected_at"
        " FROM json_each(?) j CROSS JOIN sentiment_corrections c ON c.mention_id = j.value",
        (orjson.dumps(list(ids)).decode(),),
    )
    return {mention_id: Correction(*rest) for mention_id, *rest in rows}


def honour(conn: sqlite3.Connection, rows: list[MentionRow], zone: tzinfo) -> list[MentionRow]:
    """The rows to write: a mention with a stored correction keeps the corrected label (the incoming
    label becomes its ``model_label``); a mention arriving with correction fields but no stored
    correction (an export of corrected mentions imported into another store) records its correction.
    Call inside the upsert's transaction."""
    stored = lookup(conn, [row.id for row in rows])
    if not stored and not any(_CORRECTION_KEY in row.doc for row in rows):
        return rows
    relabelled: list[tuple[str | None, str]] = []
    adopted: list[tuple[str, str, str | None, str, int]] = []
    written: list[MentionRow] = []
    for row in rows:
        correction = stored.get(row.id)
        if correction is None and _CORRECTION_KEY not in row.doc:
            written.append(row)
            continue
        doc = orjson.loads(row.doc)
        sentiment: dict[str, Any] | None = doc.get("sentiment")
        if correction is None:
            if sentiment is None or "corrected_by" not in sentiment:  # the key was in the text
                written.append(row)
                continue
            at = _seconds(sentiment.get("corrected_at"))
            adopted.append((row.id, sentiment["label"], sentiment.get("model_label"), sentiment["corrected_by"], at))
            written.append(row)
            continue
        model_label = _model_label(sentiment, correction)
        if model_label != correction.model_label:
            relabelled.append((model_label, row.id))
        doc["sentiment"] = {
            "label": correction.label,
            **({"probs": sentiment["probs"]} if sentiment and sentiment.get("probs") else {}),
            "corrected_by": correction.by,
            "corrected_at": datetime.fromtimestamp(correction.at, zone).isoformat(),
            **({"model_label": model_label} if model_label else {}),
        }
        written.append(row._replace(sentiment=correction.label, doc=orjson.dumps(doc).decode()))
    conn.executemany("UPDATE sentiment_corrections SET model_label = ? WHERE mention_id = ?", relabelled)
    conn.executemany(
        "INSERT OR REPLACE INTO sentiment_corrections (mention_id, label, model_label, corrected_by, corrected_at)"
        " VALUES (?,?,?,?,?)",
        adopted,
    )
    return written


def _model_label(sentiment: dict[str, Any] | None, correction: Correction) -> str | None:
    """What the model says of an incoming mention: its label, unless the mention is a copy of a corrected
    one (then its ``model_label``); a mention without analysis leaves the last known model label."""
    if sentiment is None:
        return correction.model_label
    if "corrected_by" in sentiment:
        return sentiment.get("model_label")
    label: str = sentiment["label"]
    return label


def _seconds(value: str | None) -> int:
    if value is None:
        return int(datetime.now().timestamp())
    return int(datetime.fromisoformat(value).timestamp())


def record(conn: sqlite3.Connection, mention_id: str, label: str, by: str, at: datetime) -> Mention:
    """Record (or replace) the correction; returns the stored mention, for the caller to upsert again."""
    check_label(label)
    row = conn.execute("SELECT doc FROM mentions WHERE id = ?", (mention_id,)).fetchone()
    if row is None:
        raise StoreError(
            f"no stored mention has the id {mention_id!r} — give the mention's full id as the store has it "
            "(platform:identifier, like weibo:5230754395068367)"
        )
    mention = Mention.model_validate_json(row[0])
    previous = conn.execute(
        "SELECT model_label FROM sentiment_corrections WHERE mention_id = ?", (mention_id,)
    ).fetchone()
    model_label = previous[0] if previous else mention.sentiment_label
    # REPLACE gives the row a new rowid: a correction made again sorts as the newest one.
    conn.execute(
        "INSERT OR REPLACE INTO sentiment_corrections (mention_id, label, model_label, corrected_by, corrected_at)"
        " VALUES (?,?,?,?,?)",
        (mention_id, label, model_label, by, int(at.timestamp())),
    )
    return mention


def remove(conn: sqlite3.Connection, mention_id: str) -> Mention | None:
    """Delete the correction; returns the mention with the model's label back, for the caller to upsert
    (None when the mention had no correction)."""
    row = conn.execute("SELECT model_label FROM sentiment_corrections WHERE mention_id = ?", (mention_id,)).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM sentiment_corrections WHERE mention_id = ?", (mention_id,))
    doc = conn.execute("SELECT doc FROM mentions WHERE id = ?", (mention_id,)).fetchone()
    if doc is None:
        return None
    mention = Mention.model_validate_json(doc[0])
    probs = mention.sentiment.probs if mention.sentiment else None
    mention.sentiment = Sentiment(label=row[0], probs=probs) if row[0] else None
    return mention


def select(conn: sqlite3.Connection, *, since: datetime | None, brand: str | None) -> list[Mention]:
    """The corrected mentions, newest correction first."""
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("c.corrected_at >= ?")
        params.append(int(since.timestamp()))
    if brand is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(m.doc, '$.brands') WHERE value = ?)")
        params.append(brand)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        "SELECT m.doc FROM sentiment_corrections c JOIN mentions m ON m.id = c.mention_id"
        f"{where} ORDER BY c.corrected_at DESC, c.rowid DESC",
        params,
    ).fetchall()
    return [Mention.model_validate_json(doc) for (doc,) in rows]
