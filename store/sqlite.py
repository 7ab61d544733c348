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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson

from fengxiang.query import Query, compile_sql, fts_match_expression
from store import sqlite_authors as authors
from store import sqlite_corrections as corrections
from store import sqlite_derived as derived
from store import sqlite_incidents as incidents
from store import sqlite_outbox as outbox
from store import sqlite_preview as preview
from store import sqlite_retention as retention
from store import sqlite_state as state
from store.base import (
    UNLABELED,
    Audience,
    AuthorPost,
    AuthorStats,
    Bucket,
    Counts,
    Incident,
    IncidentChange,
    IncidentEvent,
    Interval,
    MatchSample,
    MentionFilter,
    NewOutboxItem,
    OutboxItem,
    Page,
    PurgeReport,
    SortOrder,
    SourceHealth,
    Split,
    StoreError,
    StoreState,
    UpsertResult,
    Window,
)
from store.model import Author, Mention
from store.sqlite_derived import ALL
from store.sqlite_rows import AuthorRow, MentionRow, prepare_row

_IN_CHUNK = 500  # ids per `IN (…)` lookup, well under SQLite's variable limit
_BULK_CHECKPOINT_PAGES = 100_000  # ≈ 400 MB of write-ahead log between checkpoints during bulk loads
_AUTHOR_CACHE_LIMIT = 1_000_000  # author id → pk entries kept between batches
_VOLUME_KEYS = {"bucket": "{hour} / {per}", "platform": "platform", "sentiment": "sentiment"}
_AUTHOR_BATCH = 200  # candidates per step of the top-authors ranking
_BOUNDED_RANKING_STEPS = 25
_DIRECT_RANKING_LIMIT = 20_000  # windows with fewer mentions are ranked by grouping them all
# Search plans (see _find_page), tuned on 1,000,000 mentions: starting from the full-text candidates
# costs ≈10 µs each; walking the timeline and checking each text ≈2 µs a mention.
_FEW_CANDIDATES = 10_000
_CANDIDATE_CAP = 50_000
_RECENT_WALK = 20_000
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)  # the open end of "from then on" windows
_Item = TypeVar("_Item")
_Found = TypeVar("_Found")


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (executescript would commit our transaction)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("store") / "migrations"
    scripts = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return [(int(name.split("_", 1)[0]), (folder / name).read_text(encoding="utf-8")) for name in scripts]


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
        self._author_pks: dict[str, int] = {}  # author id → pk, for authors this store has written
        self._author_profiles: dict[str, AuthorRow] = {}
        self._author_deletions = 0  # retention.author_deletions when the two caches above were filled
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
        """Apply the pending numbered scripts, under the write lock: two processes opening a new
        store at once (the service and the dashboard) must not both create its tables."""
        migrations = _migrations()
        newest = migrations[-1][0]
        if self._conn.execute("PRAGMA user_version").fetchone()[0] == newest:
            return
        with self._write() as conn:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current > newest:
                raise StoreError(
                    f"the store {self.path} has schema version {current}, newer than this fengxiang knows "
                    f"({newest}) — upgrade fengxiang"
                )
            for version, script in migrations:
                if version > current:
                    for statement in _statements(script):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {version}")

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

    def preparer(self) -> Callable[[Mention, str], MentionRow]:
        """The picklable CPU-only half of ``upsert``, for preparing rows in worker processes."""
        return prepare_row

    def upsert(self, mentions: Iterable[Mention]) -> UpsertResult:
        return self.upsert_prepared([prepare_row(mention) for mention in mentions])

    def upsert_prepared(self, prepared: Iterable[MentionRow]) -> UpsertResult:
        """Write one batch in one transaction: after a crash either all of it is there or none."""
        latest = {row.id: row for row in prepared}  # the last copy of an id wins
        if not latest:
            return UpsertResult()
        with self._write() as conn:
            return self._upsert_rows(conn, list(latest.values()))

    def _upsert_rows(self, conn: sqlite3.Connection, rows: list[MentionRow]) -> UpsertResult:
        """The body of ``upsert_prepared``, inside the caller's transaction; ids are unique."""
        rows = corrections.honour(conn, rows, self._zone)  # a person's label outlives the model's
        author_pks = self._upsert_authors(conn, rows)
        stored = self._stored(conn, [row.id for row in rows])
        fresh = [row for row in rows if row.id not in stored]
        known = [row for row in rows if row.id in stored]
        next_pk = conn.execute("SELECT coalesce(max(pk), 0) + 1 FROM mentions").fetchone()[0]
        pks = {row.id: next_pk + i for i, row in enumerate(fresh)}
        pks.update((mention_id, old.mention_pk) for mention_id, (old, _) in stored.items())
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
        derived.retract(conn, [stored[row.id][0] for row in known], offset=self._offset)
        derived.add(conn, [_facts(row, pks, author_pks) for row in rows], offset=self._offset)
        return UpsertResult(inserted=len(fresh), updated=len(known))

    def _upsert_authors(self, conn: sqlite3.Connection, rows: list[MentionRow]) -> dict[str, int]:
        """Keep the newest profile of every author, the posts' own and the reposted roots'; a field
        missing from a post keeps its old value. Where a batch has both, a post's own author wins.

        Authors post again and again with the same profile, so a profile already written by this
        store is not written again.
        """
        deletions = retention.author_deletions(conn)
        if deletions != self._author_deletions:  # a purge (in any process) deleted authors this cache may hold
            self._author_pks.clear()
            self._author_profiles.clear()
            self._author_deletions = deletions
        newest = {row.parent_author.key: row.parent_author for row in rows if row.parent_author is not None}
        newest.update((row.author.key, row.author) for row in rows if row.author is not None)
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

    # -- sentiment corrections --------------------------------------------------------------

    def correct_sentiment(self, mention_id: str, label: str, *, by: str, at: datetime) -> Mention:
        corrections.check_label(label)
        with self._write() as conn:
            mention = corrections.record(conn, mention_id, label, by, at)
            self._upsert_rows(conn, [prepare_row(mention)])
        return self._stored_mention(mention_id)

    def undo_correction(self, mention_id: str) -> Mention | None:
        with self._write() as conn:
            mention = corrections.remove(conn, mention_id)
            if mention is None:
                return None
            self._upsert_rows(conn, [prepare_row(mention)])
        return self._stored_mention(mention_id)

    def corrections(self, *, since: datetime | None = None, brand: str | None = None) -> list[Mention]:
        with self._errors("read"):
            return corrections.select(self._conn, since=since, brand=brand)

    def _stored_mention(self, mention_id: str) -> Mention:
        mention = self.get(mention_id)
        assert mention is not None  # written in the transaction just committed (purges take only old ones)
        return mention

    @staticmethod
    def _stored(conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[derived.Facts, str]]:
        """The facts and folded text already stored for these ids: what an update must retract."""
        stored: dict[str, tuple[derived.Facts, str]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(f"SELECT {derived.STORED} FROM mentions m WHERE m.id IN ({marks})", chunk):
                mention_id, facts, text = derived.stored_facts(row)
                stored[mention_id] = (facts, text)
        return stored

    @staticmethod
    def _reindex_text(
        conn: sqlite3.Connection,
        fresh: list[MentionRow],
        known: list[MentionRow],
        stored: dict[str, tuple[derived.Facts, str]],
        pks: dict[str, int],
    ) -> None:
        changed = [row for row in known if stored[row.id][1] != row.match_text]
        derived.forget_text(conn, [(pks[row.id], stored[row.id][1]) for row in changed])
        conn.executemany(
            "INSERT INTO mention_fts (rowid, tokens) VALUES (?, ?)",
            [(pks[row.id], row.fts_tokens) for row in [*fresh, *changed]],
        )

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
        after = _decode_cursor(cursor, sort) if cursor else None
        page = _PageQuery(replace(where, text=None), sort, after, limit + 1)
        with self._errors("search"):
            found = self._find_page(page, where.text)
            marks = ",".join("?" * len(found))
            docs = dict(
                self._conn.execute(f"SELECT pk, doc FROM mentions WHERE pk IN ({marks})", [pk for _, pk in found])
            )
        items = [Mention.model_validate_json(docs[pk]) for _, pk in found[:limit]]
        next_cursor = _encode_cursor(sort, *found[limit - 1]) if len(found) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    def _find_page(self, page: _PageQuery, text: Query | None) -> list[tuple[int, int]]:
        """The (sort key, mention pk) of one page, by the cheapest of three plans.

        A text query can be answered by walking the scope newest first and checking each text (fast
        when the words are common, since a page fills up early) or by starting from the full-text
        candidates (fast when they are few). A capped count of the candidates picks the plan; when
        they are many, the walk is first tried over the newest mentions only.
        """
        if text is None:
            return self._walk(page, None)
        expression = fts_match_expression(text)
        candidates = _CANDIDATE_CAP + 1
        if expression is not None:
            candidates = self._conn.execute(
                "SELECT count(*) FROM (SELECT rowid FROM mention_fts WHERE mention_fts MATCH ? LIMIT ?)",
                (expression, _CANDIDATE_CAP + 1),
            ).fetchone()[0]
        if candidates <= _FEW_CANDIDATES:
            return self._from_candidates(page, text)
        if page.sort == "time":
            recent = self._walk_recent(page, text)
            if recent is not None:
                return recent
        return self._from_candidates(page, text) if candidates <= _CANDIDATE_CAP else self._walk(page, text)

    def _walk(
        self, page: _PageQuery, text: Query | None, extra: str = "", extra_params: tuple[Any, ...] = ()
    ) -> list[tuple[int, int]]:
        clauses, params = page.clauses(_TIMELINE_COLUMNS)
        exact, exact_params = self._text_clause(text, prefilter=False)
        key = _TIMELINE_COLUMNS[page.sort_column]
        return self._conn.execute(
            f"SELECT {key}, t.mention_pk FROM timeline t CROSS JOIN mentions m ON m.pk = t.mention_pk"
            f" WHERE {' AND '.join([*clauses, *exact])}{extra} ORDER BY {key} DESC, t.mention_pk DESC LIMIT ?",
            [*params, *exact_params, *extra_params, page.limit],
        ).fetchall()

    def _walk_recent(self, page: _PageQuery, text: Query) -> list[tuple[int, int]] | None:
        """Walk only the newest _RECENT_WALK mentions of the page's scope; None when they do not
        hold a whole page (then nothing can be concluded about older ones)."""
        clauses, params = page.clauses(_TIMELINE_COLUMNS)
        oldest = self._conn.execute(
            f"SELECT t.created_at FROM timeline t WHERE {' AND '.join(clauses)}"
            " ORDER BY t.created_at DESC, t.mention_pk DESC LIMIT 1 OFFSET ?",
            [*params, _RECENT_WALK],
        ).fetchone()
        if oldest is None:  # the whole scope is small: walking all of it is the answer
            return self._walk(page, text)
        found = self._walk(page, text, " AND t.created_at >= ?", (oldest[0],))
        return found if len(found) == page.limit else None

    def _from_candidates(self, page: _PageQuery, text: Query) -> list[tuple[int, int]]:
        candidates, candidate_params = self._text_clause(text, prefilter=True)
        if page.where.brand is None:  # every mention is in scope '': the timeline adds nothing
            clauses, params = page.clauses(_MENTION_COLUMNS)
            key = _MENTION_COLUMNS[page.sort_column]
            source, pk = "mentions m", "m.pk"
        else:
            clauses, params = page.clauses(_TIMELINE_COLUMNS)
            key = _TIMELINE_COLUMNS[page.sort_column]
            source = "mentions m CROSS JOIN timeline t ON t.created_at = m.created_at AND t.mention_pk = m.pk"
            pk = "t.mention_pk"
        return self._conn.execute(
            f"SELECT {key}, {pk} FROM {source} WHERE {' AND '.join([*candidates, *clauses])}"
            f" ORDER BY {key} DESC, {pk} DESC LIMIT ?",
            [*candidate_params, *params, page.limit],
        ).fetchall()

    @staticmethod
    def _text_clause(text: Query | None, *, prefilter: bool) -> tuple[list[str], list[Any]]:
        if text is None:
            return [], []
        compiled = compile_sql(
            text, text_column="m.match_text", rowid_column="m.pk", fts_table="mention_fts", prefilter=prefilter
        )
        return [f"({compiled.where})"], list(compiled.params)

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

    def _filter_clauses(self, where: MentionFilter) -> tuple[list[str], list[Any]]:
        clauses, params = _plain_filters(where, _TIMELINE_COLUMNS)
        text_clauses, text_params = self._text_clause(where.text, prefilter=True)
        return [*clauses, *text_clauses], [*params, *text_params]

    # -- aggregates -------------------------------------------------------------------------
    # Whole hours (whole days for keywords) inside a window come from the rollups; the partial
    # hour or day at either end comes from the timeline itself, so every answer is exact.

    def _volume(self, window: Window, group_by: tuple[str, ...], *, hours_per_bucket: int = 1) -> list[tuple[Any, ...]]:
        """Mentions and engagement of the window, grouped by any of "bucket" (local hours divided
        by ``hours_per_bucket``), "platform" and "sentiment" ('' = not analysed): rows of
        (*group, mentions, engagement). SQLite sums the rollup, so few rows reach Python."""
        since, until = _seconds(window)
        first_hour, end_hour = self._whole_units(since, until, 3_600)
        scope = window.brand or ALL
        platforms, platform_params = _platform_clause("platform", window.platforms)
        hour_of_post = f"(created_at + {self._offset}) / 3600"
        rollup_keys = [_VOLUME_KEYS[key].format(hour="hour", per=hours_per_bucket) for key in group_by]
        edge_keys = [_VOLUME_KEYS[key].format(hour=hour_of_post, per=hours_per_bucket) for key in group_by]
        edge_keys = [key.replace("sentiment", "coalesce(sentiment, '')") for key in edge_keys]
        grouping = f" GROUP BY {', '.join(str(i + 1) for i in range(len(group_by)))}" if group_by else ""
        totals: dict[tuple[Any, ...], list[int]] = {}
        with self._errors("read"):
            parts = []
            if first_hour < end_hour:
                parts.append(
                    self._conn.execute(
                        f"SELECT {''.join(k + ', ' for k in rollup_keys)}sum(n), sum(engagement) FROM volume_hours"
                        f" WHERE scope = ? AND hour >= ? AND hour < ?{platforms}{grouping}",
                        (scope, first_hour, end_hour, *platform_params),
                    )
                )
            for edge_since, edge_until in self._edges(since, until, first_hour, end_hour, 3_600):
                parts.append(
                    self._conn.execute(
                        f"SELECT {''.join(k + ', ' for k in edge_keys)}count(*), sum(engagement) FROM timeline"
                        f" WHERE scope = ? AND created_at >= ? AND created_at < ?{platforms}{grouping}",
                        (scope, edge_since, edge_until, *platform_params),
                    )
                )
            for rows in parts:
                for *group, n, engagement in rows:
                    if n:
                        total = totals.setdefault(tuple(group), [0, 0])
                        total[0] += n
                        total[1] += engagement
        return [(*group, n, engagement) for group, (n, engagement) in totals.items()]

    def _whole_units(self, since: int, until: int, width: int) -> tuple[int, int]:
        """The local hours (or days) that lie wholly inside [since, until), as [first, end)."""
        first = -(-(since + self._offset) // width)
        end = (until + self._offset) // width
        return first, max(first, end)

    def _edges(self, since: int, until: int, first: int, end: int, width: int) -> list[tuple[int, int]]:
        """The parts of [since, until) outside the whole units [first, end)."""
        if first >= end:
            return [(since, until)] if since < until else []
        start, stop = first * width - self._offset, end * width - self._offset
        return [(a, b) for a, b in ((since, start), (stop, until)) if a < b]

    def counts(self, window: Window) -> Counts:
        counts = Counts()
        for platform, sentiment, n, engagement in self._volume(window, ("platform", "sentiment")):
            label = sentiment or UNLABELED
            counts.total += n
            counts.engagement += engagement
            counts.by_sentiment[label] = counts.by_sentiment.get(label, 0) + n
            counts.by_platform[platform] = counts.by_platform.get(platform, 0) + n
        return counts

    def match_sample(self, where: MentionFilter, *, cap: int, keep: int, budget: float) -> MatchSample:
        if where.text is None or where.since is None or where.until is None:
            raise ValueError("a match sample needs a text query and both ends of the window")
        window = [int(where.since.timestamp()), int(where.until.timestamp())]
        with self._errors("read"):
            return preview.match_sample(self.path, where.text, window, cap, keep, budget)

    def audience(self, window: Window) -> Audience:
        since, until = _seconds(window)
        if window.platforms:  # the per-day rollup has no platform: read the window from the timeline
            days, edges = (0, 0), [(since, until)]
        else:
            first_day, end_day = self._whole_units(since, until, 86_400)
            days, edges = (first_day, end_day), self._edges(since, until, first_day, end_day, 86_400)
        with self._errors("read"):
            return authors.audience(self._conn, window.brand or ALL, days, edges, window.platforms)

    def histogram(self, window: Window, *, interval: Interval = "day", split: Split = "sentiment") -> list[Bucket]:
        hours_per_bucket = 1 if interval == "hour" else 24
        since, until = _seconds(window)
        first = (since + self._offset) // 3_600 // hours_per_bucket
        last = (until - 1 + self._offset) // 3_600 // hours_per_bucket
        width = hours_per_bucket * 3_600
        buckets = {
            index: Bucket(start=datetime.fromtimestamp(index * width - self._offset, self._zone), total=0, split={})
            for index in range(first, last + 1)
        }
        for index, label, n, _ in self._volume(window, ("bucket", split), hours_per_bucket=hours_per_bucket):
            bucket = buckets[index]
            label = (label or UNLABELED) if split == "sentiment" else label
            bucket.total += n
            bucket.split[label] = bucket.split.get(label, 0) + n
        return list(buckets.values())

    def top_keywords(self, window: Window, *, limit: int = 20) -> list[tuple[str, int]]:
        totals = self._keyword_totals(window, None)
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]

    def keyword_counts(self, window: Window, words: Collection[str]) -> dict[str, int]:
        totals = self._keyword_totals(window, frozenset(words))
        return {word: totals.get(word, 0) for word in words}

    def _keyword_totals(self, window: Window, words: frozenset[str] | None) -> Counter[str]:
        """Mentions per keyword in the window (only ``words`` when given)."""
        since, until = _seconds(window)
        first_day, end_day = self._whole_units(since, until, 86_400)
        if window.platforms:  # the daily rollup has no platform: count from the timeline
            first_day = end_day = first_day
        scope = window.brand or ALL
        totals: Counter[str] = Counter()
        platforms, platform_params = _platform_clause("platform", window.platforms)
        with self._errors("read"):
            if first_day < end_day:
                sql = "SELECT keyword, sum(n) FROM keyword_days WHERE scope = ? AND day >= ? AND day < ?"
                if words is None:
                    totals.update(dict(self._conn.execute(f"{sql} GROUP BY keyword", (scope, first_day, end_day))))
                for chunk in _chunks(sorted(words or ())):
                    marks = ",".join("?" * len(chunk))
                    totals.update(
                        dict(
                            self._conn.execute(
                                f"{sql} AND keyword IN ({marks}) GROUP BY keyword", (scope, first_day, end_day, *chunk)
                            )
                        )
                    )
            for edge_since, edge_until in self._edges(since, until, first_day, end_day, 86_400):
                for (text,) in self._conn.execute(
                    "SELECT keywords FROM timeline WHERE scope = ? AND created_at >= ? AND created_at < ?"
                    f" AND keywords != ''{platforms}",
                    (scope, edge_since, edge_until, *platform_params),
                ):
                    found = text.split("\t")
                    totals.update(found if words is None else [word for word in found if word in words])
        return totals

    def top_authors(self, window: Window, *, limit: int = 10) -> list[AuthorStats]:
        """The most active authors of a window (ties: more engagement first), exactly."""
        with self._errors("read"):
            volume = sum(n for n, _ in self._volume(window, ()))
            ranking = None
            if volume > _DIRECT_RANKING_LIMIT and not window.platforms:  # the rollups have no platform
                ranking = self._rank_authors_by_bound(window, limit)
            if ranking is None:
                ranking = self._rank_authors_directly(window, limit)
            profiles = self._author_profiles_for([pk for _, _, pk in ranking])
        return [
            AuthorStats(author=profiles[pk][0], platform=profiles[pk][1], mentions=-n, engagement=-engagement)
            for n, engagement, pk in ranking
        ]

    def _rank_authors_directly(self, window: Window, limit: int) -> list[tuple[int, int, int]]:
        clauses, params = self._filter_clauses(
            MentionFilter(brand=window.brand, since=window.since, until=window.until, platforms=window.platforms)
        )
        where = " AND ".join(clauses)
        return self._conn.execute(
            "SELECT -count(*) AS n, -sum(t.engagement) AS e, t.author_pk FROM timeline t"
            f" WHERE {where} AND t.author_pk IS NOT NULL GROUP BY t.author_pk ORDER BY n, e, t.author_pk LIMIT ?",
            [*params, limit],
        ).fetchall()

    def _rank_authors_by_bound(self, window: Window, limit: int) -> list[tuple[int, int, int]] | None:
        """Rank without grouping every mention of a big window: visit authors by their all-time
        count, which bounds their count in any window; once that bound falls below the current last
        place, no later author can enter the ranking. None when that takes too many steps."""
        scope = window.brand or ALL
        ranking: list[tuple[int, int, int]] = []  # (-mentions, -engagement, author_pk)
        after: tuple[int, int] | None = None  # (all-time count, author_pk) of the last author visited
        for _ in range(_BOUNDED_RANKING_STEPS):
            page = "" if after is None else " AND (n < ? OR (n = ? AND author_pk > ?))"
            candidates = self._conn.execute(
                f"SELECT n, author_pk FROM author_totals WHERE scope = ?{page} ORDER BY n DESC, author_pk LIMIT ?",
                (scope, *(() if after is None else (after[0], *after)), _AUTHOR_BATCH),
            ).fetchall()
            if not candidates:
                return ranking
            counts = self._author_counts(window, [pk for _, pk in candidates])
            ranking += [(-n, -engagement, author_pk) for author_pk, (n, engagement) in counts.items()]
            ranking = sorted(ranking)[:limit]
            after = (candidates[-1][0], candidates[-1][1])
            if len(ranking) == limit and after[0] < -ranking[-1][0]:
                return ranking
        return None

    def _author_counts(self, window: Window, author_pks: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(mentions, engagement) in the window of each of these authors: whole days from the daily
        rollup, the partial days at either end from the timeline."""
        since, until = _seconds(window)
        first_day, end_day = self._whole_units(since, until, 86_400)
        scope, marks = window.brand or ALL, ",".join("?" * len(author_pks))
        parts = []
        if first_day < end_day:
            parts.append(
                self._conn.execute(
                    "SELECT author_pk, sum(n), sum(engagement) FROM author_days"
                    f" WHERE scope = ? AND day >= ? AND day < ? AND author_pk IN ({marks}) GROUP BY author_pk",
                    (scope, first_day, end_day, *author_pks),
                )
            )
        for edge_since, edge_until in self._edges(since, until, first_day, end_day, 86_400):
            parts.append(
                self._conn.execute(
                    "SELECT author_pk, count(*), sum(engagement) FROM timeline WHERE scope = ? AND created_at >= ?"
                    f" AND created_at < ? AND author_pk IN ({marks}) GROUP BY author_pk",
                    (scope, edge_since, edge_until, *author_pks),
                )
            )
        counts: dict[int, tuple[int, int]] = {}
        for rows in parts:
            for author_pk, n, engagement in rows:
                before = counts.get(author_pk, (0, 0))
                counts[author_pk] = (before[0] + n, before[1] + engagement)
        return counts

    def _author_profiles_for(self, pks: list[int]) -> dict[int, tuple[Author, str]]:
        marks = ",".join("?" * len(pks))
        rows = self._conn.execute(f"SELECT pk, id, platform, profile FROM authors WHERE pk IN ({marks})", pks)
        return {pk: (authors.profile(author_id, profile), platform) for pk, author_id, platform, profile in rows}

    # -- authors and influence (kol/) -------------------------------------------------------

    def author_posts(self, window: Window) -> list[AuthorPost]:
        with self._errors("read"):
            return authors.author_posts(self._conn, window, zone=self._zone)

    def author_profiles(self, author_ids: Collection[str]) -> dict[str, Author]:
        with self._errors("read"):
            return _by_chunks(partial(authors.profiles, self._conn), author_ids)

    def author_ids_by_name(self, platform: str, names: Collection[str]) -> dict[str, str]:
        with self._errors("read"):
            return _by_chunks(partial(authors.keys_by_name, self._conn, platform), names)

    def earlier_mention_counts(self, brand: str, author_ids: Collection[str], before: datetime) -> dict[str, int]:
        """All-time counts (a rollup) minus the counts from ``before`` on: recent windows are cheap."""
        with self._errors("read"):
            totals = _by_chunks(partial(authors.brand_totals, self._conn, brand), author_ids)
            active = [pk for pk, n in totals.values() if n]
            later = _by_chunks(partial(self._author_counts, Window(before, _END_OF_TIME, brand)), active)
        earlier = {key: n - later.get(pk, (0, 0))[0] for key, (pk, n) in totals.items()}
        return {key: earlier.get(key, 0) for key in author_ids}

    # -- corpus statistics ------------------------------------------------------------------

    def save_document_frequencies(self, frequencies: Mapping[str, int], documents: int) -> None:
        """Replace the corpus' word document frequencies (see ``fengxiang reanalyze``)."""
        with self._write() as conn:
            conn.execute("DELETE FROM document_frequencies")
            conn.executemany("INSERT INTO document_frequencies (word, df) VALUES (?, ?)", frequencies.items())
            conn.execute(
                "INSERT INTO corpus_facts (name, value) VALUES ('documents', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (documents,),
            )

    def document_frequencies(self) -> tuple[dict[str, int], int]:
        """The saved frequencies and the number of documents they count ({} and 0 if never learned)."""
        with self._errors("read"):
            row = self._conn.execute("SELECT value FROM corpus_facts WHERE name = 'documents'").fetchone()
            if row is None:
                return {}, 0
            return dict(self._conn.execute("SELECT word, df FROM document_frequencies")), row[0]

    # -- alert outbox -----------------------------------------------------------------------

    def enqueue(self, items: Sequence[NewOutboxItem], *, now: datetime) -> int:
        with self._write() as conn:
            return outbox.insert_outbox(conn, items, now=now)

    def claim_due(self, channel: str, now: datetime, limit: int) -> list[OutboxItem]:
        with self._write() as conn:
            return outbox.claim_due(conn, channel, now, limit, zone=self._zone)

    def mark_sent(self, pk: int, at: datetime, detail: str) -> None:
        with self._write() as conn:
            outbox.mark_sent(conn, pk, at, detail)

    def mark_retry(self, pk: int, next_attempt_at: datetime, detail: str, *, count_attempt: bool = True) -> None:
        with self._write() as conn:
            outbox.mark_retry(conn, pk, next_attempt_at, detail, count_attempt=count_attempt)

    def mark_failed(self, pk: int, at: datetime, detail: str, *, count_attempt: bool = True) -> None:
        with self._write() as conn:
            outbox.mark_failed(conn, pk, at, detail, count_attempt=count_attempt)

    def release_claims(self) -> int:
        with self._write() as conn:
            return outbox.release_claims(conn)

    def sent_count(self, channel: str, since: datetime) -> int:
        with self._errors("read"):
            return outbox.sent_count(self._conn, channel, since)

    def sent_times(self, channel: str, since: datetime) -> list[datetime]:
        with self._errors("read"):
            return outbox.sent_times(self._conn, channel, since, zone=self._zone)

    def outbox_due(self) -> dict[str, datetime]:
        with self._errors("read"):
            return outbox.outbox_due(self._conn, zone=self._zone)

    def outbox_items(self, *, status: str | None = None, limit: int = 100) -> list[OutboxItem]:
        with self._errors("read"):
            return outbox.outbox_items(self._conn, status=status, limit=limit, zone=self._zone)

    def outbox_backlog(self) -> dict[str, int]:
        with self._errors("read"):
            return outbox.outbox_backlog(self._conn)

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
        return [self._health(row) for row in rows]

    def health_history(self, source: str, *, limit: int = 50) -> list[SourceHealth]:
        with self._errors("read"):
            rows = self._conn.execute(
                "SELECT source, started_at, finished_at, status, items, error, detail FROM source_health"
                " WHERE source = ? ORDER BY finished_at DESC, pk DESC LIMIT ?",
                (source, limit),
            ).fetchall()
        return [self._health(row) for row in rows]

    def _health(self, row: Sequence[Any]) -> SourceHealth:
        source, started, finished, status, items, error, detail = row
        return SourceHealth(
            source=source,
            started_at=datetime.fromtimestamp(started, self._zone),
            finished_at=datetime.fromtimestamp(finished, self._zone),
            status=status,
            items=items,
            error=error,
            detail=orjson.loads(detail),
        )

    # -- retention --------------------------------------------------------------------------

    def purge(
        self,
        *,
        mentions_before: datetime | None,
        health_before: datetime | None,
        outbox_before: datetime | None,
        batch: int = 5000,
    ) -> PurgeReport:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        cutoffs = retention.Cutoffs(*(_unix(moment) for moment in (mentions_before, health_before, outbox_before)))
        with self._errors("purge"):
            return retention.purge(self._write, self._conn, cutoffs, batch=batch, offset=self._offset)

    # -- incidents --------------------------------------------------------------------------

    def apply_incident_changes(self, changes: Sequence[IncidentChange]) -> list[Incident]:
        # The outbox ages (retry give-up) from when a message was written, even for a replayed evaluation.
        with self._write() as conn:
            return incidents.apply_changes(conn, changes, written_at=datetime.now(self._zone))

    def incidents(
        self,
        *,
        status: str | None = None,
        brand: str | None = None,
        since: datetime | None = None,
        resolved_since: datetime | None = None,
        limit: int = 100,
    ) -> list[Incident]:
        with self._errors("read"):
            return incidents.select_incidents(
                self._conn,
                self._zone,
                status=status,
                brand=brand,
                since=since,
                resolved_since=resolved_since,
                limit=limit,
            )

    def incident_events(self, incident_pk: int) -> list[IncidentEvent]:
        with self._errors("read"):
            return incidents.select_events(self._conn, incident_pk, self._zone)

    def acknowledge_incident(self, incident_pk: int, *, by: str, at: datetime) -> bool:
        with self._write() as conn:
            return incidents.acknowledge(conn, incident_pk, by, at)

    def resolve_incident(self, incident_pk: int, *, by: str, at: datetime) -> bool:
        with self._write() as conn:
            return incidents.resolve(conn, incident_pk, by, at)

    def incident(self, pk: int) -> Incident | None:
        with self._errors("read"):
            return incidents.select_incident(self._conn, pk, self._zone)

    # -- moving a store (fengxiang migrate) -------------------------------------------------

    def export_state(self) -> StoreState:
        with self._errors("read"):
            return state.export_state(self._conn, self._zone)

    def import_state(self, imported: StoreState) -> None:
        with self._write() as conn:
            state.import_state(conn, imported)


def _facts(row: MentionRow, pks: dict[str, int], author_pks: dict[str, int]) -> derived.Facts:
    author_pk = author_pks[row.author.key] if row.author else None
    return derived.Facts(
        pks[row.id],
        row.created_at,
        row.platform,
        row.sentiment,
        author_pk,
        row.engagement,
        row.scopes,
        tuple(row.keywords),
    )


def _columns(row: MentionRow, author_pks: dict[str, int]) -> tuple[Any, ...]:
    author_pk = author_pks[row.author.key] if row.author else None
    return (
        row.id,
        row.platform,
        row.created_at,
        row.utc_offset,
        author_pk,
        row.sentiment,
        row.engagement,
        row.match_text,
        row.doc,
    )


_TIMELINE_COLUMNS = {
    "scope": "t.scope", "created_at": "t.created_at", "engagement": "t.engagement", "sentiment": "t.sentiment",
    "platform": "t.platform", "pk": "t.mention_pk",
}  # fmt: skip
_MENTION_COLUMNS = {
    "scope": None,
    "created_at": "m.created_at",
    "engagement": "m.engagement",
    "sentiment": "m.sentiment",
    "platform": "m.platform",
    "pk": "m.pk",
}  # fmt: skip  (mentions has no scope: it stands for scope '', every mention)


def _plain_filters(where: MentionFilter, columns: Mapping[str, str | None]) -> tuple[list[str], list[Any]]:
    """WHERE clauses for every filter but the text query, on the given table's columns."""
    clauses: list[str] = []
    params: list[Any] = []
    if columns["scope"]:
        clauses.append(f"{columns['scope']} = ?")
        params.append(where.brand or ALL)
    if where.since is not None:
        clauses.append(f"{columns['created_at']} >= ?")
        params.append(int(where.since.timestamp()))
    if where.until is not None:
        clauses.append(f"{columns['created_at']} < ?")
        params.append(int(where.until.timestamp()))
    if where.sentiments:
        clauses.append(_sentiment_clause(str(columns["sentiment"]), where.sentiments))
        params += [label for label in where.sentiments if label != UNLABELED]
    if where.platforms:
        clauses.append(f"{columns['platform']} IN ({','.join('?' * len(where.platforms))})")
        params += list(where.platforms)
    return clauses, params


@dataclass(frozen=True)
class _PageQuery:
    where: MentionFilter  # every filter but the text query
    sort: SortOrder
    after: tuple[int, int] | None  # (sort key, mention pk) of the previous page's last mention
    limit: int  # rows to fetch: one more than the page, to know whether another page follows

    @property
    def sort_column(self) -> str:
        return "created_at" if self.sort == "time" else "engagement"

    def clauses(self, columns: Mapping[str, str | None]) -> tuple[list[str], list[Any]]:
        clauses, params = _plain_filters(self.where, columns)
        if self.after is not None:
            clauses.append(f"({columns[self.sort_column]}, {columns['pk']}) < (?, ?)")
            params += list(self.after)
        return clauses, params


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _seconds(window: Window) -> tuple[int, int]:
    return int(window.since.timestamp()), int(window.until.timestamp())


def _platform_clause(column: str, platforms: tuple[str, ...]) -> tuple[str, list[str]]:
    if not platforms:
        return "", []
    return f" AND {column} IN ({','.join('?' * len(platforms))})", list(platforms)


def _chunks(items: Sequence[_Item]) -> Iterator[Sequence[_Item]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _by_chunks(
    lookup: Callable[[Sequence[_Item]], Mapping[_Item, _Found]], items: Iterable[_Item]
) -> dict[_Item, _Found]:
    """``lookup`` run over IN-list-sized chunks of ``items`` (each item once), answers merged."""
    found: dict[_Item, _Found] = {}
    for chunk in _chunks(list(dict.fromkeys(items))):
        found.update(lookup(chunk))
    return found


def _sentiment_clause(column: str, sentiments: tuple[str, ...]) -> str:
    labels = [label for label in sentiments if label != UNLABELED]
    parts = [f"{column} IN ({','.join('?' * len(labels))})"] if labels else []
    if UNLABELED in sentiments:
        parts.append(f"{column} IS NULL")
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
