"""The embedded default store: one SQLite file in WAL mode, with FTS5 and versioned migrations.

One writer (the service or an import) and any number of readers (the dashboard) can use the file
at once: WAL lets readers see the last committed batch while a write is under way, and the busy
timeout makes a second writer wait instead of failing.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from fengxiang.query import Query, compile_sql, fts_match_expression
from fengxiang.textmatch import index_document_folded
from store.base import (
    UNLABELED,
    AuthorStats,
    Bucket,
    Counts,
    Interval,
    MentionFilter,
    Page,
    SortOrder,
    SourceHealth,
    Split,
    StoreError,
    UpsertResult,
    Window,
)
from store.model import Author, Mention
from store.sqlite_rows import ALL, AuthorRow, MentionRow, RowPreparer

_IN_CHUNK = 500  # ids per `IN (…)` lookup, well under SQLite's variable limit
_BULK_CHECKPOINT_PAGES = 100_000  # ≈ 400 MB of write-ahead log between checkpoints during bulk loads
_AUTHOR_CACHE_LIMIT = 1_000_000
# Above this many full-text candidates, a search walks the newest mentions instead (see _is_selective).
_SELECTIVE_CANDIDATES = 10_000  # author id → pk entries kept between batches


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("store") / "migrations"
    scripts = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return [(int(name.split("_", 1)[0]), (folder / name).read_text(encoding="utf-8")) for name in scripts]


@dataclass(slots=True)
class _Stored:
    """What the store already holds for a mention id, enough to retract it from derived tables."""

    pk: int
    created_at: int
    match_text: str
    scopes: list[str]
    day: int
    keywords: list[str]


class SQLiteStore:
    def __init__(
        self, path: Path | str, *, timezone_name: str = "Asia/Shanghai", busy_timeout_ms: int = 10_000
    ) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        # China has had no daylight saving since 1991, so one fixed offset gives exact local
        # hour and day buckets in SQL arithmetic.
        self._offset = int((ZoneInfo(timezone_name).utcoffset(datetime.now()) or timedelta()).total_seconds())
        self._zone = timezone(timedelta(seconds=self._offset))
        self._prepare = RowPreparer(self._offset)
        self._author_pks: dict[str, int] = {}  # author id → pk, for authors this store has written
        self._author_profiles: dict[str, AuthorRow] = {}
        self._conn = self._connect()
        with self._errors("prepare"):
            self._migrate()

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for the store {self.path}: {exc.strerror} — "
                "choose a writable path for `store:` in the config"
            ) from None
        with self._errors("open"):
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a committed batch survives a killed process (not a power cut).
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -65536")
        return conn

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn SQLite's terse errors into messages that name the file, the cause and the fix."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if "locked" in message or "busy" in message:
                hint = "another process is writing to it — wait for it to finish, or stop it, and retry"
            elif "readonly" in message or "unable to open" in message:
                hint = "the file or its folder is not writable — fix the permissions or choose another `store:` path"
            elif "disk" in message and "full" in message:
                hint = "the disk is full — free space or move the store"
            else:
                hint = message
            raise StoreError(f"cannot {action} the store {self.path}: {hint}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot {action} the store {self.path}: {exc} — the file is not a fengxiang SQLite store "
                "(or it is damaged); point `store:` at another file"
            ) from None

    def _migrate(self) -> None:
        migrations = _migrations()
        current = self._conn.execute("PRAGMA user_version").fetchone()[0]
        newest = migrations[-1][0]
        if current > newest:
            raise StoreError(
                f"the store {self.path} has schema version {current}, newer than this fengxiang knows "
                f"({newest}) — upgrade fengxiang"
            )
        for version, script in migrations:
            if version > current:
                self._conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._errors("write to"):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._author_pks.clear()  # they may hold rows the rollback just undid
                self._author_profiles.clear()
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """For large imports: let the write-ahead log grow instead of copying it into the database
        every few megabytes (most of the cost of a bulk insert), then fold it in once at the end."""
        with self._errors("write to"):
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {_BULK_CHECKPOINT_PAGES}")
        try:
            yield
        finally:
            with self._errors("write to"):
                self._conn.execute("PRAGMA wal_autocheckpoint = 1000")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------

    def preparer(self) -> RowPreparer:
        """The picklable CPU-only half of ``upsert``, for preparing rows in worker processes."""
        return self._prepare

    def upsert(self, mentions: Iterable[Mention]) -> UpsertResult:
        return self.upsert_prepared([self._prepare(mention) for mention in mentions])

    def upsert_prepared(self, prepared: Iterable[MentionRow]) -> UpsertResult:
        """Write one batch in one transaction: after a crash either all of it is there or none."""
        latest = {row.id: row for row in prepared}  # the last copy of an id wins
        if not latest:
            return UpsertResult()
        rows = list(latest.values())
        with self._write() as conn:
            author_pks = self._upsert_authors(conn, rows)
            stored = self._stored(conn, list(latest))
            fresh = [row for row in rows if row.id not in stored]
            known = [row for row in rows if row.id in stored]
            next_pk = conn.execute("SELECT coalesce(max(pk), 0) + 1 FROM mentions").fetchone()[0]
            pks = {row.id: next_pk + i for i, row in enumerate(fresh)}
            pks.update((mention_id, old.pk) for mention_id, old in stored.items())
            conn.executemany(
                "INSERT INTO mentions (id, platform, created_at, utc_offset, author_pk, sentiment,"
                " engagement, match_text, doc, pk) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(*_columns(row, author_pks), pks[row.id]) for row in fresh],
            )
            conn.executemany(
                "UPDATE mentions SET id=?, platform=?, created_at=?, utc_offset=?, author_pk=?, sentiment=?,"
                " engagement=?, match_text=?, doc=? WHERE pk=?",
                [(*_columns(row, author_pks), pks[row.id]) for row in known],
            )
            self._reindex_text(conn, fresh, known, stored, pks)
            self._retract(conn, [stored[row.id] for row in known])
            self._add_to_timeline(conn, rows, pks, author_pks)
            self._count_keywords(conn, rows, [stored[row.id] for row in known])
        return UpsertResult(inserted=len(fresh), updated=len(known))

    def _upsert_authors(self, conn: sqlite3.Connection, rows: list[MentionRow]) -> dict[str, int]:
        """Keep the newest profile of every author; a field missing from a post keeps its old value.

        Authors post again and again with the same profile, so a profile already written by this
        store is not written again.
        """
        newest = {row.author.key: row.author for row in rows if row.author is not None}
        changed = [author for key, author in newest.items() if self._author_profiles.get(key) != author]
        now = int(time.time())
        conn.executemany(
            "INSERT INTO authors (id, platform, name, followers, verified, verified_type, profile, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET"
            " name = coalesce(excluded.name, name), followers = coalesce(excluded.followers, followers),"
            " verified = coalesce(excluded.verified, verified),"
            " verified_type = coalesce(excluded.verified_type, verified_type),"
            " profile = json_patch(profile, excluded.profile), updated_at = excluded.updated_at",
            [author.values(now) for author in changed],
        )
        if len(self._author_pks) > _AUTHOR_CACHE_LIMIT:
            self._author_pks.clear()
            self._author_profiles.clear()
        self._author_profiles.update((author.key, author) for author in changed)
        missing = [key for key in newest if key not in self._author_pks]
        for chunk in _chunks(missing):
            marks = ",".join("?" * len(chunk))
            self._author_pks.update(conn.execute(f"SELECT id, pk FROM authors WHERE id IN ({marks})", chunk))
        return self._author_pks

    def _stored(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, _Stored]:
        stored: dict[str, _Stored] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id, pk, created_at, match_text, doc FROM mentions WHERE id IN ({marks})"
            for mention_id, pk, created_at, match_text, doc in conn.execute(query, chunk):
                old = orjson.loads(doc)
                stored[mention_id] = _Stored(
                    pk=pk,
                    created_at=created_at,
                    match_text=match_text,
                    scopes=[ALL, *old.get("brands", [])],
                    day=self._prepare.day(created_at),
                    keywords=old.get("keywords", []),
                )
        return stored

    @staticmethod
    def _reindex_text(
        conn: sqlite3.Connection,
        fresh: list[MentionRow],
        known: list[MentionRow],
        stored: dict[str, _Stored],
        pks: dict[str, int],
    ) -> None:
        # A contentless FTS table forgets a row only when told the exact tokens it indexed.
        changed = [row for row in known if stored[row.id].match_text != row.match_text]
        conn.executemany(
            "INSERT INTO mention_fts (mention_fts, rowid, tokens) VALUES ('delete', ?, ?)",
            [(pks[row.id], index_document_folded(stored[row.id].match_text)) for row in changed],
        )
        conn.executemany(
            "INSERT INTO mention_fts (rowid, tokens) VALUES (?, ?)",
            [(pks[row.id], row.fts_tokens) for row in [*fresh, *changed]],
        )

    @staticmethod
    def _retract(conn: sqlite3.Connection, old_rows: list[_Stored]) -> None:
        conn.executemany(
            "DELETE FROM timeline WHERE scope = ? AND created_at = ? AND mention_pk = ?",
            [(scope, old.created_at, old.pk) for old in old_rows for scope in old.scopes],
        )

    @staticmethod
    def _add_to_timeline(
        conn: sqlite3.Connection, rows: list[MentionRow], pks: dict[str, int], author_pks: dict[str, int]
    ) -> None:
        conn.executemany(
            "INSERT INTO timeline (scope, created_at, mention_pk, platform, sentiment, author_pk, engagement)"
            " VALUES (?,?,?,?,?,?,?)",
            [
                (
                    scope,
                    row.created_at,
                    pks[row.id],
                    row.platform,
                    row.sentiment,
                    author_pks[row.author.key] if row.author else None,
                    row.engagement,
                )
                for row in rows
                for scope in row.scopes
            ],
        )

    @staticmethod
    def _count_keywords(conn: sqlite3.Connection, rows: list[MentionRow], retracted: list[_Stored]) -> None:
        delta: Counter[tuple[str, int, str]] = Counter()
        for row in rows:
            delta.update((scope, row.day, word) for scope in row.scopes for word in row.keywords)
        for old in retracted:
            delta.subtract((scope, old.day, word) for scope in old.scopes for word in old.keywords)
        conn.executemany(
            "INSERT INTO keyword_days (scope, day, keyword, n) VALUES (?,?,?,?)"
            " ON CONFLICT (scope, day, keyword) DO UPDATE SET n = n + excluded.n",
            [(*key, n) for key, n in delta.items() if n],
        )
        if any(n < 0 for n in delta.values()):
            conn.execute("DELETE FROM keyword_days WHERE n <= 0")

    # -- reading single mentions and pages --------------------------------------------------

    def get(self, mention_id: str) -> Mention | None:
        with self._errors("read"):
            row = self._conn.execute("SELECT doc FROM mentions WHERE id = ?", (mention_id,)).fetchone()
        return Mention.model_validate_json(row[0]) if row else None

    def search(
        self, where: MentionFilter, *, sort: SortOrder = "time", limit: int = 50, cursor: str | None = None
    ) -> Page:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        key = "t.created_at" if sort == "time" else "t.engagement"
        prefilter = where.text is not None and self._is_selective(where.text)
        clauses, params = self._filter_clauses(where, prefilter=prefilter)
        if cursor:
            after_key, after_pk = _decode_cursor(cursor, sort)
            clauses.append(f"({key}, t.mention_pk) < (?, ?)")
            params += [after_key, after_pk]
        sql = (
            f"SELECT m.doc, {key}, t.mention_pk FROM timeline t JOIN mentions m ON m.pk = t.mention_pk"
            f" WHERE {' AND '.join(clauses)} ORDER BY {key} DESC, t.mention_pk DESC LIMIT ?"
        )
        with self._errors("search"):
            found = self._conn.execute(sql, [*params, limit + 1]).fetchall()
        items = [Mention.model_validate_json(doc) for doc, _, _ in found[:limit]]
        next_cursor = _encode_cursor(sort, *found[limit - 1][1:]) if len(found) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    def _is_selective(self, query: Query) -> bool:
        """Whether the full-text index narrows this query down to few candidates.

        Materialising the candidates of a common term costs more than walking the newest mentions
        and checking the text of each, which finds a page of a common term quickly; a rare term is
        the other way round. One capped count tells which case this is.
        """
        expression = fts_match_expression(query)
        if expression is None:
            return False
        with self._errors("search"):
            candidates = self._conn.execute(
                "SELECT count(*) FROM (SELECT rowid FROM mention_fts WHERE mention_fts MATCH ? LIMIT ?)",
                (expression, _SELECTIVE_CANDIDATES + 1),
            ).fetchone()[0]
        return bool(candidates <= _SELECTIVE_CANDIDATES)

    def iter_mentions(self, where: MentionFilter) -> Iterator[Mention]:
        """Oldest first, read in keyset-paged chunks so an export never holds a long read lock."""
        last: tuple[int, int] = (-(2**62), 0)
        clauses, params = self._filter_clauses(where)
        sql = (
            "SELECT m.doc, t.created_at, t.mention_pk FROM timeline t JOIN mentions m ON m.pk = t.mention_pk"
            f" WHERE {' AND '.join(clauses)} AND (t.created_at, t.mention_pk) > (?, ?)"
            " ORDER BY t.created_at, t.mention_pk LIMIT 2000"
        )
        while True:
            with self._errors("read"):
                chunk = self._conn.execute(sql, [*params, *last]).fetchall()
            if not chunk:
                return
            for doc, _, _ in chunk:
                yield Mention.model_validate_json(doc)
            last = chunk[-1][1:]

    def _filter_clauses(self, where: MentionFilter, *, prefilter: bool = True) -> tuple[list[str], list[Any]]:
        clauses = ["t.scope = ?"]
        params: list[Any] = [where.brand or ALL]
        if where.since is not None:
            clauses.append("t.created_at >= ?")
            params.append(int(where.since.timestamp()))
        if where.until is not None:
            clauses.append("t.created_at < ?")
            params.append(int(where.until.timestamp()))
        if where.sentiments:
            clauses.append(_sentiment_clause(where.sentiments))
            params += [label for label in where.sentiments if label != UNLABELED]
        if where.platforms:
            clauses.append(f"t.platform IN ({','.join('?' * len(where.platforms))})")
            params += list(where.platforms)
        if where.text is not None:
            text_filter = compile_sql(
                where.text,
                text_column="m.match_text",
                rowid_column="m.pk",
                fts_table="mention_fts",
                prefilter=prefilter,
            )
            clauses.append(f"({text_filter.where})")
            params += text_filter.params
        return clauses, params

    # -- aggregates -------------------------------------------------------------------------

    def _window_clauses(self, window: Window) -> tuple[str, list[Any]]:
        clauses, params = self._filter_clauses(
            MentionFilter(brand=window.brand, since=window.since, until=window.until, platforms=window.platforms)
        )
        return " AND ".join(clauses), params

    def counts(self, window: Window) -> Counts:
        where, params = self._window_clauses(window)
        counts = Counts()
        with self._errors("read"):
            groups = self._conn.execute(
                f"SELECT coalesce(t.sentiment, '{UNLABELED}'), t.platform, count(*), sum(t.engagement)"
                f" FROM timeline t WHERE {where} GROUP BY 1, 2",
                params,
            ).fetchall()
            counts.authors = self._conn.execute(
                f"SELECT count(DISTINCT t.author_pk) FROM timeline t WHERE {where}", params
            ).fetchone()[0]
        for sentiment, platform, n, engagement in groups:
            counts.total += n
            counts.engagement += engagement
            counts.by_sentiment[sentiment] = counts.by_sentiment.get(sentiment, 0) + n
            counts.by_platform[platform] = counts.by_platform.get(platform, 0) + n
        return counts

    def histogram(self, window: Window, *, interval: Interval = "day", split: Split = "sentiment") -> list[Bucket]:
        width = 3_600 if interval == "hour" else 86_400
        column = f"coalesce(t.sentiment, '{UNLABELED}')" if split == "sentiment" else "t.platform"
        where, params = self._window_clauses(window)
        with self._errors("read"):
            groups = self._conn.execute(
                f"SELECT (t.created_at + {self._offset}) / {width}, {column}, count(*)"
                f" FROM timeline t WHERE {where} GROUP BY 1, 2",
                params,
            ).fetchall()
        first = (int(window.since.timestamp()) + self._offset) // width
        last = (int(window.until.timestamp()) - 1 + self._offset) // width
        buckets = {
            index: Bucket(start=datetime.fromtimestamp(index * width - self._offset, self._zone), total=0, split={})
            for index in range(first, last + 1)
        }
        for index, label, n in groups:
            bucket = buckets[index]
            bucket.total += n
            bucket.split[label] = n
        return list(buckets.values())

    def top_keywords(self, window: Window, *, limit: int = 20) -> list[tuple[str, int]]:
        """Exact counts: whole local days come from the daily rollup, the partial days at either
        end (and any platform-filtered window) from the mentions themselves."""
        since, until = int(window.since.timestamp()), int(window.until.timestamp())
        first_full = -(-(since + self._offset) // 86_400)  # first day starting at or after since
        end_full = (until + self._offset) // 86_400  # days before this one end by until
        totals: Counter[str] = Counter()
        with self._errors("read"):
            if window.platforms or first_full >= end_full:
                totals.update(self._keywords_between(window, since, until))
            else:
                totals.update(
                    dict(
                        self._conn.execute(
                            "SELECT keyword, sum(n) FROM keyword_days WHERE scope = ? AND day >= ? AND day < ?"
                            " GROUP BY keyword",
                            (window.brand or ALL, first_full, end_full),
                        ).fetchall()
                    )
                )
                totals.update(self._keywords_between(window, since, first_full * 86_400 - self._offset))
                totals.update(self._keywords_between(window, end_full * 86_400 - self._offset, until))
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]

    def _keywords_between(self, window: Window, since: int, until: int) -> dict[str, int]:
        if since >= until:
            return {}
        part = Window(
            since=datetime.fromtimestamp(since, self._zone),
            until=datetime.fromtimestamp(until, self._zone),
            brand=window.brand,
            platforms=window.platforms,
        )
        where, params = self._window_clauses(part)
        return dict(
            self._conn.execute(
                "SELECT k.value, count(*) FROM timeline t JOIN mentions m ON m.pk = t.mention_pk,"
                f" json_each(m.doc, '$.keywords') k WHERE {where} GROUP BY k.value",
                params,
            ).fetchall()
        )

    def top_authors(self, window: Window, *, limit: int = 10) -> list[AuthorStats]:
        where, params = self._window_clauses(window)
        with self._errors("read"):
            ranked = self._conn.execute(
                "SELECT a.id, a.platform, a.profile, n, engagement FROM ("
                "  SELECT t.author_pk, count(*) AS n, sum(t.engagement) AS engagement FROM timeline t"
                f"  WHERE {where} AND t.author_pk IS NOT NULL GROUP BY t.author_pk"
                "  ORDER BY n DESC, engagement DESC, t.author_pk LIMIT ?"
                ") JOIN authors a ON a.pk = author_pk ORDER BY n DESC, engagement DESC, a.pk",
                [*params, limit],
            ).fetchall()
        return [
            AuthorStats(
                author=Author.model_validate({**orjson.loads(profile), "id": author_id}),
                platform=platform,
                mentions=n,
                engagement=engagement,
            )
            for author_id, platform, profile, n, engagement in ranked
        ]

    # -- crawl bookkeeping ------------------------------------------------------------------

    def get_cursor(self, source: str, key: str) -> str | None:
        with self._errors("read"):
            row = self._conn.execute(
                "SELECT value FROM crawl_cursors WHERE source = ? AND key = ?", (source, key)
            ).fetchone()
        return row[0] if row else None

    def set_cursor(self, source: str, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO crawl_cursors (source, key, value, updated_at) VALUES (?,?,?,?)"
                " ON CONFLICT (source, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (source, key, value, int(time.time())),
            )

    def record_health(self, health: SourceHealth) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO source_health (source, started_at, finished_at, status, items, error, detail)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    health.source,
                    int(health.started_at.timestamp()),
                    int(health.finished_at.timestamp()),
                    health.status,
                    health.items,
                    health.error,
                    orjson.dumps(health.detail).decode(),
                ),
            )

    def latest_health(self) -> list[SourceHealth]:
        with self._errors("read"):
            rows = self._conn.execute(
                "SELECT source, started_at, finished_at, status, items, error, detail FROM source_health h"
                " WHERE pk = (SELECT pk FROM source_health WHERE source = h.source"
                "             ORDER BY finished_at DESC, pk DESC LIMIT 1) ORDER BY source"
            ).fetchall()
        return [
            SourceHealth(
                source=source,
                started_at=datetime.fromtimestamp(started, self._zone),
                finished_at=datetime.fromtimestamp(finished, self._zone),
                status=status,
                items=items,
                error=error,
                detail=orjson.loads(detail),
            )
            for source, started, finished, status, items, error, detail in rows
        ]


def _columns(row: MentionRow, author_pks: dict[str, int]) -> tuple[Any, ...]:
    author_pk = author_pks[row.author.key] if row.author else None
    return (row.id, row.platform, row.created_at, row.utc_offset, author_pk, row.sentiment, row.engagement,
            row.match_text, row.doc)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _sentiment_clause(sentiments: tuple[str, ...]) -> str:
    labels = [label for label in sentiments if label != UNLABELED]
    parts = [f"t.sentiment IN ({','.join('?' * len(labels))})"] if labels else []
    if UNLABELED in sentiments:
        parts.append("t.sentiment IS NULL")
    return f"({' OR '.join(parts)})"


def _encode_cursor(sort: SortOrder, key: int, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{sort}:{key}:{pk}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: SortOrder) -> tuple[int, int]:
    try:
        kind, key, pk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        if kind != sort:
            raise ValueError(kind)
        return int(key), int(pk)
    except ValueError:
        raise ValueError(
            f"the cursor {cursor!r} does not belong to a search sorted by {sort} — start again without it"
        ) from None
