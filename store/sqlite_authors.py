"""Authors in SQLite: the posts, profiles and counts behind the influence analysis (kol/).

Plain functions over a connection, like the outbox and the incidents; the store's methods wrap
them in its error handling and split long key lists into IN-list chunks (each function here takes
one chunk).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

import orjson

from store.base import Audience, AuthorPost, Window
from store.model import Author, account_key
from store.sqlite_derived import ALL

# One row per mention, in the timeline's order. One json_extract with every path parses the doc
# once (the parse is about half the query's time), and only reposts' texts leave the database.
_POSTS = (
    "SELECT m.id, m.platform, a.id, t.created_at, t.sentiment, json_extract(m.doc, '$.metrics.reposts',"
    " '$.metrics.comments', '$.metrics.likes', '$.simhash', '$.parent_id', '$.parent_author.id',"
    " '$.parent_author.name'), CASE WHEN instr(m.doc ->> '$.text', '//@') THEN m.doc ->> '$.text' END"
    " FROM timeline t CROSS JOIN mentions m ON m.pk = t.mention_pk LEFT JOIN authors a ON a.pk = t.author_pk"
    " WHERE t.scope = ? AND t.created_at >= ? AND t.created_at < ?{platforms}"
    " ORDER BY t.created_at, t.mention_pk"
)


def author_posts(conn: sqlite3.Connection, window: Window, *, zone: tzinfo) -> list[AuthorPost]:
    """Every mention of the window, oldest first (ties: the order they were stored)."""
    platforms = f" AND t.platform IN ({','.join('?' * len(window.platforms))})" if window.platforms else ""
    rows = conn.execute(
        _POSTS.format(platforms=platforms),
        (window.brand or ALL, int(window.since.timestamp()), int(window.until.timestamp()), *window.platforms),
    )
    return [_post(row, zone) for row in rows]


def _post(row: tuple[Any, ...], zone: tzinfo) -> AuthorPost:
    mention_id, platform, author, created_at, sentiment, extracted, text = row
    reposts, comments, likes, simhash, parent_id, parent_author, parent_name = orjson.loads(extracted)
    return AuthorPost(
        mention_id,
        platform,
        author,
        datetime.fromtimestamp(created_at, zone),
        reposts or 0,
        comments or 0,
        likes or 0,
        sentiment,
        simhash,
        parent_id,
        account_key(parent_author, parent_name, platform),
        text,
    )


def profile(key: str, profile_json: str) -> Author:
    """A stored profile as an ``Author`` whose id is its key."""
    return Author.model_validate({**orjson.loads(profile_json), "id": key})


def profiles(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, Author]:
    marks = ",".join("?" * len(keys))
    rows = conn.execute(f"SELECT id, profile FROM authors WHERE id IN ({marks})", keys)
    return {key: profile(key, profile_json) for key, profile_json in rows}


def keys_by_name(conn: sqlite3.Connection, platform: str, names: Sequence[str]) -> dict[str, str]:
    """Screen name → author key; of two authors with one name, the one updated last."""
    marks = ",".join("?" * len(names))
    rows = conn.execute(
        f"SELECT name, id FROM authors WHERE platform = ? AND name IN ({marks}) ORDER BY updated_at, pk",
        (platform, *names),
    )
    return dict(rows)  # the later row of a name wins


def brand_totals(conn: sqlite3.Connection, brand: str, keys: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Author key → (author pk, all-time mentions of the brand) for the keys the store knows."""
    marks = ",".join("?" * len(keys))
    rows = conn.execute(
        "SELECT a.id, a.pk, coalesce(t.n, 0) FROM authors a"
        f" LEFT JOIN author_totals t ON t.scope = ? AND t.author_pk = a.pk WHERE a.id IN ({marks})",
        (brand, *keys),
    )
    return {key: (pk, n) for key, pk, n in rows}


def audience(
    conn: sqlite3.Connection,
    scope: str,
    days: tuple[int, int],
    edges: Sequence[tuple[int, int]],
    platforms: Sequence[str] = (),
) -> Audience:
    """Distinct authors of a window and their followers summed: the whole local days from the
    per-day rollup, the partial days at the ends from the timeline."""
    parts = ["SELECT author_pk FROM author_days WHERE scope = ? AND day >= ? AND day < ?"]
    params: list[object] = [scope, *days]
    platform_clause = f" AND platform IN ({','.join('?' * len(platforms))})" if platforms else ""
    for since, until in edges:
        parts.append(
            "SELECT author_pk FROM timeline WHERE scope = ? AND created_at >= ? AND created_at < ?"
            f" AND author_pk IS NOT NULL{platform_clause}"
        )
        params += [scope, since, until, *platforms]
    voices, reach = conn.execute(
        f"SELECT count(*), coalesce(sum(a.followers), 0) FROM (SELECT DISTINCT author_pk FROM"
        f" ({' UNION ALL '.join(parts)})) AS seen"
        " JOIN authors a ON a.pk = seen.author_pk",
        params,
    ).fetchone()
    return Audience(voices, reach)
