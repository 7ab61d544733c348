"""The tables the SQLite store derives from its mentions, kept in step on every upsert.

Each mention contributes *facts* (its scopes, time, platform, sentiment, author, engagement,
keywords) to five tables: the `timeline` index and four rollups. A new mention adds its facts; a
re-crawled or re-analysed one first retracts the facts it had, then adds the new ones, so every
count stays exact however often a post is refreshed. A purge (store/sqlite_retention.py) retracts
the facts of the mentions it deletes in the same way.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from typing import Any, NamedTuple

import orjson

from fengxiang.textmatch import index_document_folded

ALL = ""  # the scope that holds every mention; the other scopes are brand names
NO_SENTIMENT = ""  # how rollups spell "not analysed yet" (primary keys cannot hold NULL)
# What `stored_facts` reads of a stored mention (the mentions table as `m`).
STORED = (
    "m.id, m.match_text, m.doc ->> '$.brands', m.doc ->> '$.keywords',"
    " m.pk, m.created_at, m.platform, m.sentiment, m.author_pk, m.engagement"
)


class Facts(NamedTuple):
    mention_pk: int
    created_at: int  # Unix seconds
    platform: str
    sentiment: str | None
    author_pk: int | None
    engagement: int
    scopes: tuple[str, ...]
    keywords: tuple[str, ...]


def stored_facts(row: tuple[Any, ...]) -> tuple[str, Facts, str]:
    """The id, facts and folded text of a mention selected with ``STORED``."""
    mention_id, text, brands, words, pk, created_at, platform, sentiment, author_pk, engagement = row
    scopes = (ALL, *orjson.loads(brands or "[]"))
    keywords = tuple(orjson.loads(words or "[]"))
    return mention_id, Facts(pk, created_at, platform, sentiment, author_pk, engagement, scopes, keywords), text


def forget_text(conn: sqlite3.Connection, texts: Iterable[tuple[int, str]]) -> None:
    """Take (mention pk, folded text) out of the full-text index: a contentless FTS table forgets a
    row only when told the exact tokens it indexed."""
    conn.executemany(
        "INSERT INTO mention_fts (mention_fts, rowid, tokens) VALUES ('delete', ?, ?)",
        [(pk, index_document_folded(text)) for pk, text in texts],
    )


def add(conn: sqlite3.Connection, facts: list[Facts], *, offset: int) -> None:
    conn.executemany(
        "INSERT INTO timeline (scope, created_at, mention_pk, platform, sentiment, author_pk, engagement,"
        " keywords) VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                scope,
                f.created_at,
                f.mention_pk,
                f.platform,
                f.sentiment,
                f.author_pk,
                f.engagement,
                "\t".join(f.keywords),
            )
            for f in facts
            for scope in f.scopes
        ],
    )
    _apply_rollups(conn, facts, sign=1, offset=offset)


def retract(conn: sqlite3.Connection, facts: list[Facts], *, offset: int) -> None:
    if not facts:
        return
    conn.executemany(
        "DELETE FROM timeline WHERE scope = ? AND created_at = ? AND mention_pk = ?",
        [(scope, f.created_at, f.mention_pk) for f in facts for scope in f.scopes],
    )
    _apply_rollups(conn, facts, sign=-1, offset=offset)


def _apply_rollups(conn: sqlite3.Connection, facts: Iterable[Facts], *, sign: int, offset: int) -> None:
    volume: Counter[tuple[str, int, str, str]] = Counter()
    engagement: Counter[tuple[str, int, str, str]] = Counter()
    authors: Counter[tuple[str, int]] = Counter()
    author_days: Counter[tuple[str, int, int]] = Counter()
    author_engagement: Counter[tuple[str, int, int]] = Counter()
    keywords: Counter[tuple[str, int, str]] = Counter()
    for f in facts:
        hour = (f.created_at + offset) // 3_600  # local hours and days: the buckets people read
        day = (f.created_at + offset) // 86_400
        sentiment = f.sentiment or NO_SENTIMENT
        for scope in f.scopes:
            key = (scope, hour, f.platform, sentiment)
            volume[key] += sign
            engagement[key] += sign * f.engagement
            if f.author_pk is not None:
                authors[(scope, f.author_pk)] += sign
                author_days[(scope, day, f.author_pk)] += sign
                author_engagement[(scope, day, f.author_pk)] += sign * f.engagement
            for word in f.keywords:
                keywords[(scope, day, word)] += sign
    conn.executemany(
        "INSERT INTO volume_hours (scope, hour, platform, sentiment, n, engagement) VALUES (?,?,?,?,?,?)"
        " ON CONFLICT DO UPDATE SET n = n + excluded.n, engagement = engagement + excluded.engagement",
        [(*key, n, engagement[key]) for key, n in volume.items()],
    )
    conn.executemany(
        "INSERT INTO author_totals (scope, author_pk, n) VALUES (?,?,?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
        [(*key, n) for key, n in authors.items() if n],
    )
    conn.executemany(
        "INSERT INTO author_days (scope, day, author_pk, n, engagement) VALUES (?,?,?,?,?)"
        " ON CONFLICT DO UPDATE SET n = n + excluded.n, engagement = engagement + excluded.engagement",
        [(*key, n, author_engagement[key]) for key, n in author_days.items()],
    )
    conn.executemany(
        "INSERT INTO keyword_days (scope, day, keyword, n) VALUES (?,?,?,?)"
        " ON CONFLICT DO UPDATE SET n = n + excluded.n",
        [(*key, n) for key, n in keywords.items() if n],
    )
    if sign < 0:  # rows that fell to zero would only slow the reads down
        conn.executemany(
            "DELETE FROM volume_hours WHERE scope = ? AND hour = ? AND platform = ? AND sentiment = ? AND n <= 0",
            list(volume),
        )
        conn.executemany("DELETE FROM author_totals WHERE scope = ? AND author_pk = ? AND n <= 0", list(authors))
        conn.executemany(
            "DELETE FROM author_days WHERE scope = ? AND day = ? AND author_pk = ? AND n <= 0", list(author_days)
        )
        conn.executemany(
            "DELETE FROM keyword_days WHERE scope = ? AND day = ? AND keyword = ? AND n <= 0", list(keywords)
        )
