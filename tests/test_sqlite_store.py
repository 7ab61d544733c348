"""What only the SQLite backend has to get right: files, locks, crashes, migrations, readers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest

from fengxiang.query import parse
from store.base import MentionFilter, StoreError, Window
from store.sqlite import SQLiteStore
from tests.conftest import make_mention

ALL_TIME = Window(
    since=make_mention().created_at.replace(year=2001), until=make_mention().created_at.replace(year=2030)
)


def test_the_file_is_in_wal_mode_with_the_current_schema(tmp_path):
    SQLiteStore(tmp_path / "s.db").close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 8
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"mentions", "authors", "timeline", "keyword_days", "mention_fts", "source_health"} <= tables
    assert "authors_by_name" in tables  # an index: sqlite_master lists those too


def test_reopening_keeps_the_data_and_does_not_migrate_twice(tmp_path):
    with SQLiteStore(tmp_path / "s.db") as store:
        store.upsert([make_mention(id="weibo:1")])
    with SQLiteStore(tmp_path / "s.db") as store:
        assert store.get("weibo:1") is not None


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    SQLiteStore(tmp_path / "s.db").close()
    sqlite3.connect(tmp_path / "s.db").execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"newer than this fengxiang knows.*upgrade"):
        SQLiteStore(tmp_path / "s.db")


def test_a_path_that_cannot_hold_a_database_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match=r"cannot create the folder.*choose a writable path"):
        SQLiteStore(blocker / "sub" / "s.db")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    (tmp_path / "notes.db").write_text("这不是数据库" * 200)
    with pytest.raises(StoreError, match="not a fengxiang SQLite store"):
        SQLiteStore(tmp_path / "notes.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions, so a read-only file is writable")
def test_a_read_only_file_is_a_clear_error(tmp_path):
    SQLiteStore(tmp_path / "s.db").close()
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(StoreError, match="not writable"):
            SQLiteStore(tmp_path / "s.db").upsert([make_mention()])
    finally:
        os.chmod(tmp_path, 0o700)


def test_a_store_locked_by_another_writer_is_a_clear_error(tmp_path):
    store = SQLiteStore(tmp_path / "s.db", busy_timeout_ms=200)
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="another process is writing to it"):
            store.upsert([make_mention()])
    finally:
        other.execute("ROLLBACK")
    assert store.upsert([make_mention()]).inserted == 1  # usable again once the lock is gone


def _write_posts(path: Path, count: int) -> None:
    with path.open("wb") as out:
        for i in range(count):
            post = {
                "id": f"weibo:{10**15 + i}",
                "text": f"启航汽车 第{i}条 续航不错",
                "created_at": "2026-11-20T10:00:00+08:00",
                "brands": ["启航汽车"],
                "author": {"id": f"weibo:{i % 500}", "name": f"用户{i % 500}"},
            }
            out.write(orjson.dumps(post) + b"\n")


def _ingest_process(config: Path, posts: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fengxiang.cli",
            "ingest",
            str(posts),
            "--config",
            str(config),
            "--workers",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _count(db: Path) -> int:
    with SQLiteStore(db) as reader:
        return reader.counts(ALL_TIME).total


@pytest.mark.slow
def test_kill_9_during_ingest_keeps_every_committed_batch_and_a_rerun_completes(tmp_path):
    posts, db, config = tmp_path / "posts.jsonl", tmp_path / "data" / "s.db", tmp_path / "fengxiang.yaml"
    total = 60_000
    _write_posts(posts, total)
    config.write_text(f"store: sqlite:///{db}\n")
    writer = _ingest_process(config, posts)
    seen = [0]
    deadline = time.monotonic() + 60
    while seen[-1] < 6_000 and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        if db.exists():
            seen.append(_count(db))  # a reader beside the writer: works, and sees whole batches only
    assert writer.poll() is None, "the ingest finished before it could be killed; make the file bigger"
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    assert seen == sorted(seen) and all(n % 2_000 == 0 for n in seen)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    after_kill = _count(db)
    assert after_kill >= seen[-1] and after_kill % 2_000 == 0 and after_kill < total

    rerun = _ingest_process(config, posts)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    with SQLiteStore(db) as store:
        assert store.counts(ALL_TIME).total == total
        assert store.counts(Window(ALL_TIME.since, ALL_TIME.until, brand="启航汽车")).total == total
        assert sqlite3.connect(db).execute("SELECT count(*) FROM mentions").fetchone()[0] == total
    assert f"{total - after_kill:,} new, {after_kill:,} updated".encode() in out


@pytest.mark.parametrize(
    ("few", "cap", "recent"),
    [(10_000, 50_000, 20_000), (0, 50_000, 2), (0, 0, 2), (0, 50_000, 100), (0, 0, 0)],
    ids=["from-candidates", "recent-walk-then-candidates", "recent-walk-then-full-walk", "walk-small-scope", "walk"],
)
def test_every_search_plan_finds_the_same_pages(tmp_path, monkeypatch, few, cap, recent):
    """Rare terms start from full-text candidates, common ones walk the newest mentions: same pages."""
    import store.sqlite

    for name, value in (("_FEW_CANDIDATES", few), ("_CANDIDATE_CAP", cap), ("_RECENT_WALK", recent)):
        monkeypatch.setattr(store.sqlite, name, value)
    texts = ["启航 刹车 异响", "启航 续航", "QIHANG 刹车", "onion", "刹车片", "车", "！！！", "启航 退款"] * 5
    days = [make_mention().created_at.replace(day=1 + i % 19) for i in range(len(texts))]
    with SQLiteStore(tmp_path / "s.db") as db:
        db.upsert(
            [make_mention(t, id=f"weibo:{i}", created_at=d) for i, (t, d) in enumerate(zip(texts, days, strict=True))]
        )
        for query in ["刹车", "qihang OR 续航", "车 -刹车", "启航 -续航", "！！！", "NOT 车"]:
            parsed = parse(query)
            seen, cursor = [], None
            while True:
                page = db.search(MentionFilter(text=parsed), limit=3, cursor=cursor)
                seen += page.items
                if not (cursor := page.next_cursor):
                    break
            expected = sorted(((m.created_at, int(m.id.split(":")[1])) for m in seen), reverse=True)
            assert [(m.created_at, int(m.id.split(":")[1])) for m in seen] == expected, query
            assert sorted(m.id for m in seen) == sorted(f"weibo:{i}" for i, t in enumerate(texts) if parsed.matches(t))


def test_the_bounded_top_authors_ranking_equals_grouping_everything(tmp_path, monkeypatch):
    """Big windows rank authors by visiting them in order of their all-time count; small ones group."""
    import store.sqlite

    texts = [f"启航 {i}" for i in range(300)]
    authors = [{"id": f"weibo:{(i * i) % 37}", "name": "x"} for i in range(300)]
    days = [make_mention().created_at.replace(month=10, day=1 + i % 28) for i in range(300)]
    with SQLiteStore(tmp_path / "s.db") as db:
        db.upsert(
            [
                make_mention(t, author=a, created_at=d, brands=["启航汽车"], metrics={"likes": i % 13})
                for i, (t, a, d) in enumerate(zip(texts, authors, days, strict=True))
            ]
        )
        windows = [Window(days[0].replace(day=3), days[0].replace(day=20), brand="启航汽车"), ALL_TIME]
        direct = [db.top_authors(w, limit=7) for w in windows]
        monkeypatch.setattr(store.sqlite, "_DIRECT_RANKING_LIMIT", 0)
        monkeypatch.setattr(store.sqlite, "_AUTHOR_BATCH", 3)
        bounded = [db.top_authors(w, limit=7) for w in windows]
    assert [[(a.author.id, a.mentions, a.engagement) for a in r] for r in bounded] == [
        [(a.author.id, a.mentions, a.engagement) for a in r] for r in direct
    ]
    assert len(direct[0]) == 7


def test_a_screen_name_two_authors_share_resolves_to_the_one_updated_last(tmp_path, monkeypatch):
    import store.sqlite

    clock = [1_800_000_000]
    monkeypatch.setattr(store.sqlite, "time", SimpleNamespace(time=lambda: clock[0]))
    with SQLiteStore(tmp_path / "s.db") as db:
        db.upsert([make_mention("a", author={"id": "weibo:1", "name": "同名"})])
        clock[0] += 60
        db.upsert([make_mention("b", author={"name": "同名"})])  # an import without ids
        assert db.author_ids_by_name("weibo", ["同名"]) == {"同名": "weibo:name:同名"}
        clock[0] += 60
        db.upsert([make_mention("c", author={"id": "weibo:1", "name": "同名", "followers": 5})])
        assert db.author_ids_by_name("weibo", ["同名"]) == {"同名": "weibo:1"}
