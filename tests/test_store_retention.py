"""Store contract: ``purge`` — the nightly retention clean-up deletes old data and nothing else.

The world is two months of synthetic mentions; the purge cuts it at a point inside. Everything a
window from the cutoff on shows must be what it showed before, and nothing before the cutoff may
be left, whatever the batch size, however often the purge runs.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.message import AlertMessage
from fengxiang.config import KolConfig
from fengxiang.query import fts_match_expression, parse
from fengxiang.synthetic import BIG_BRAND, generate_mentions
from kol.report import build_report
from store.base import MentionFilter, NewOutboxItem, PurgeReport, SourceHealth, Window
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.conftest import SHANGHAI, make_mention

END = datetime(2026, 11, 20, tzinfo=SHANGHAI)
MIDNIGHT = END - timedelta(days=30)  # what the service passes: a local midnight
MID_DAY = MIDNIGHT + timedelta(hours=13, minutes=37, seconds=11)  # the cutoff is exact at any second
LONG_AGO = END - timedelta(days=400)
KEEP = {"health_before": None, "outbox_before": None}
OLD_TEXT, NEW_TEXT = "旧帖独有的说法彗星尾巴", "新帖独有的说法流星雨"


def _world(count: int = 3_000) -> list[Mention]:
    mentions = [Mention.model_validate(m) for m in generate_mentions(count, seed=5, end=END, days=60)]
    return [
        *mentions,
        make_mention(OLD_TEXT, created_at=MIDNIGHT - timedelta(days=3)),
        make_mention(NEW_TEXT, created_at=MIDNIGHT + timedelta(days=3)),
    ]


@pytest.fixture
def world(store: Any) -> Any:
    store.upsert(_world())
    return store


def _windows(cutoff: datetime) -> list[Window]:
    """Windows from the cutoff on: whole and partial days and hours, all mentions and one brand."""
    spans = [
        (cutoff, END),
        (cutoff, cutoff + timedelta(days=1)),
        (cutoff + timedelta(hours=5, minutes=30), END - timedelta(hours=3, minutes=7)),
        (cutoff + timedelta(days=10), cutoff + timedelta(days=17, hours=2)),
    ]
    return [Window(since, until, brand) for since, until in spans for brand in (None, BIG_BRAND.name)]


def _snapshot(store: Any, window: Window) -> dict[str, Any]:
    """Every aggregate the dashboard, the alerts and the reports read of a window."""
    where = MentionFilter(brand=window.brand, since=window.since, until=window.until)
    kol = build_report(store, window.brand, window.since, window.until, KolConfig())
    return {
        "counts": store.counts(window),
        "days": store.histogram(window),
        "hours": store.histogram(window, interval="hour", split="platform"),
        "keywords": store.top_keywords(window, limit=50),
        "authors": store.top_authors(window, limit=20),
        "audience": store.audience(window),
        "posts": store.author_posts(window),
        "kol": [(a.author_id, a.score, a.segment, a.estimated_reach) for a in kol.authors],
        "page": [m.id for m in store.search(where, sort="engagement", limit=30).items],
        "text": [m.id for m in store.search(MentionFilter(text=parse("试驾"), **_bounds(where))).items],
        "all": [m.id for m in store.iter_mentions(where)],
    }


def _bounds(where: MentionFilter) -> dict[str, Any]:
    return {"brand": where.brand, "since": where.since, "until": where.until}


@pytest.mark.parametrize("cutoff", [MIDNIGHT, MID_DAY], ids=["midnight", "mid-day"])
def test_every_aggregate_from_the_cutoff_on_is_unchanged(world: Any, cutoff: datetime) -> None:
    before = [_snapshot(world, window) for window in _windows(cutoff)]
    older = world.counts(Window(LONG_AGO, cutoff)).total
    assert world.purge(mentions_before=cutoff, **KEEP).mentions == older > 1_000
    assert [_snapshot(world, window) for window in _windows(cutoff)] == before


@pytest.mark.parametrize("cutoff", [MIDNIGHT, MID_DAY], ids=["midnight", "mid-day"])
def test_nothing_before_the_cutoff_is_left(world: Any, cutoff: datetime) -> None:
    old = Window(LONG_AGO, cutoff, BIG_BRAND.name)
    assert world.counts(old).total > 0
    world.purge(mentions_before=cutoff, **KEEP)
    for window in (old, Window(LONG_AGO, cutoff)):
        assert world.counts(window).total == 0
        assert all(bucket.total == 0 for bucket in world.histogram(window))
        assert world.top_keywords(window) == [] and world.top_authors(window) == []
        assert world.audience(window).voices == 0 and world.author_posts(window) == []
    assert min(m.created_at for m in world.iter_mentions(MentionFilter())) >= cutoff
    assert world.counts(Window(LONG_AGO, END)).total == world.counts(Window(cutoff, END)).total


def test_purged_texts_are_not_found_any_more(world: Any) -> None:
    def found(text: str) -> list[str]:
        return [m.text for m in world.search(MentionFilter(text=parse(text))).items]

    assert found(OLD_TEXT) == [OLD_TEXT]
    world.purge(mentions_before=MIDNIGHT, **KEEP)
    assert found(OLD_TEXT) == [] and found(NEW_TEXT) == [NEW_TEXT]


def test_the_full_text_index_forgets_every_purged_mention(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.upsert(_world())
        store.purge(mentions_before=MIDNIGHT, **KEEP)
        conn = sqlite3.connect(tmp_path / "s.db")
    for text in ("启航", "试驾", OLD_TEXT):
        expression = fts_match_expression(parse(text))
        indexed = {
            pk for (pk,) in conn.execute("SELECT rowid FROM mention_fts WHERE mention_fts MATCH ?", (expression,))
        }
        stored = {pk for (pk,) in conn.execute("SELECT pk FROM mentions WHERE instr(match_text, ?)", (text,))}
        assert indexed == stored


def test_corrections_of_purged_mentions_go_with_them(world: Any) -> None:
    old = make_mention("旧帖被人工改了标签", created_at=MIDNIGHT - timedelta(days=1))
    new = make_mention("新帖被人工改了标签", created_at=MIDNIGHT + timedelta(days=1))
    world.upsert([old, new])
    for mention in (old, new):
        world.correct_sentiment(mention.id, "negative", by="值班", at=END)
    world.purge(mentions_before=MIDNIGHT, **KEEP)
    assert [m.id for m in world.corrections()] == [new.id]
    assert world.get(old.id) is None
    world.upsert([old])  # crawled again: a new mention, with the model's label
    assert world.get(old.id).sentiment is None and [m.id for m in world.corrections()] == [new.id]


def test_a_second_purge_deletes_nothing(world: Any) -> None:
    first = world.purge(mentions_before=MIDNIGHT, **KEEP)
    after = [_snapshot(world, window) for window in _windows(MIDNIGHT)]
    assert first.mentions > 0
    assert world.purge(mentions_before=MIDNIGHT, **KEEP) == PurgeReport()
    assert [_snapshot(world, window) for window in _windows(MIDNIGHT)] == after


def test_no_cutoff_keeps_everything(world: Any) -> None:
    everything = world.counts(Window(LONG_AGO, END))
    world.record_health(SourceHealth("weibo", LONG_AGO, LONG_AGO, "ok"))
    world.record_health(SourceHealth("weibo", END, END, "ok"))
    assert world.purge(mentions_before=None, health_before=None, outbox_before=None) == PurgeReport()
    assert world.counts(Window(LONG_AGO, END)) == everything
    assert len(world.health_history("weibo")) == 2


def test_authors_go_when_no_remaining_mention_refers_to_them(store: Any) -> None:
    def by(author: str, at: datetime, **fields: Any) -> Mention:
        return make_mention(created_at=at, author={"id": f"weibo:{author}", "name": author}, **fields)

    old, new = MIDNIGHT - timedelta(days=2), MIDNIGHT + timedelta(days=2)
    store.upsert(
        [
            by("gone", old),
            by("root", old),  # reposted by a newer mention
            by("hop", old),  # named in a newer mention's repost chain
            by("both", old),
            by("both", new),
            by("reposter", new, text="转发//@hop:说得对", parent_author={"id": "weibo:root", "name": "root"}),
        ]
    )
    store.purge(mentions_before=MIDNIGHT, **KEEP)
    keys = ["weibo:gone", "weibo:root", "weibo:hop", "weibo:both", "weibo:reposter"]
    assert sorted(store.author_profiles(keys)) == sorted(keys[1:])
    assert store.author_ids_by_name("weibo", ["hop", "gone"]) == {"hop": "weibo:hop"}


def test_an_author_deleted_by_a_purge_can_post_again(store: Any) -> None:
    author = {"id": "weibo:7", "name": "老用户", "followers": 50}
    store.upsert([make_mention(created_at=MIDNIGHT - timedelta(days=1), author=author)])
    store.upsert([make_mention(created_at=MIDNIGHT + timedelta(days=1), author={"id": "weibo:8", "followers": 1})])
    store.purge(mentions_before=MIDNIGHT, **KEEP)
    store.upsert([make_mention(created_at=MIDNIGHT + timedelta(days=2), author=author)])
    top = store.top_authors(Window(MIDNIGHT + timedelta(days=2), END))
    assert [(a.author.id, a.author.followers, a.mentions) for a in top] == [("weibo:7", 50, 1)]
    assert store.audience(Window(MIDNIGHT, END)).reach == 51


def test_health_keeps_the_newest_run_of_every_source(store: Any) -> None:
    def run(source: str, at: datetime, status: Any = "ok") -> None:
        store.record_health(SourceHealth(source, at, at + timedelta(minutes=2), status))

    for day in range(5):
        run("weibo", MIDNIGHT - timedelta(days=day + 1))
        run("bilibili", MIDNIGHT - timedelta(days=day + 1), "failed")
    run("weibo", MIDNIGHT + timedelta(hours=1))
    run("news", MIDNIGHT + timedelta(hours=2))
    latest = store.latest_health()
    report = store.purge(mentions_before=None, health_before=MIDNIGHT, outbox_before=None)
    assert report == PurgeReport(source_health=5 + 4)
    assert store.latest_health() == latest
    assert [h.started_at for h in store.health_history("bilibili")] == [MIDNIGHT - timedelta(days=1)]
    assert [h.started_at for h in store.health_history("weibo")] == [MIDNIGHT + timedelta(hours=1)]


def test_the_outbox_loses_only_old_finished_messages(store: Any) -> None:
    old, recent = MIDNIGHT - timedelta(days=3), MIDNIGHT + timedelta(days=1)
    message = AlertMessage(
        kind="opened", title="负面声量激增", severity="high", brand="启航汽车", rule="negative_spike"
    )
    keys = ("sent", "failed", "pending", "sending", "recent")
    store.enqueue([NewOutboxItem("值班群", "opened", message, key, old) for key in keys], now=old)
    claimed = {item.dedupe_key: item.pk for item in store.claim_due("值班群", old, 10)}
    store.mark_sent(claimed["sent"], old, "ok")
    store.mark_failed(claimed["failed"], old, "HTTP 500")
    store.mark_retry(claimed["pending"], old, "HTTP 429")
    store.mark_sent(claimed["recent"], recent, "ok")  # created long ago, delivered after the cutoff
    report = store.purge(mentions_before=None, health_before=None, outbox_before=MIDNIGHT)
    assert report == PurgeReport(outbox=2)
    left = {item.dedupe_key: item.status for item in store.outbox_items()}
    assert left == {"pending": "pending", "sending": "sending", "recent": "sent"}


def _purged_copy(source: Path, folder: Path, batch: int) -> tuple[PurgeReport, dict[str, list[tuple[Any, ...]]]]:
    """What a purge with this batch size deletes from a copy of the store, and every table it leaves."""
    folder.mkdir()
    shutil.copy(source, folder / "s.db")
    with SQLiteStore(folder / "s.db") as store:
        report = store.purge(mentions_before=MID_DAY, health_before=MIDNIGHT, outbox_before=MIDNIGHT, batch=batch)
    return report, dict(_tables(folder / "s.db"))


def _tables(path: Path) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    conn = sqlite3.connect(path)
    # The full-text index's pages and the purge counters (one per transaction) depend on the batches.
    names = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'mention_fts%' AND name != 'store_counters'"
    )
    for (name,) in names.fetchall():
        yield name, sorted(conn.execute(f"SELECT * FROM {name}"), key=repr)
    conn.close()


def test_small_batches_leave_the_same_store_as_one_big_batch(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.upsert(_world(600))
        for day in range(3):
            store.record_health(SourceHealth("weibo", LONG_AGO + timedelta(days=day), LONG_AGO, "ok"))
    small = _purged_copy(tmp_path / "s.db", tmp_path / "small", batch=7)
    big = _purged_copy(tmp_path / "s.db", tmp_path / "big", batch=1_000_000)
    assert small == big
    report, tables = small
    assert report.mentions > 10 * 7 and report.authors > 7 and report.source_health == 2
    assert tables["mentions"] and tables["timeline"]


def test_a_writer_in_another_process_forgets_the_authors_a_purge_deleted(tmp_path: Path) -> None:
    author = {"id": "weibo:7", "name": "老用户", "followers": 50}
    fresh = make_mention(created_at=MIDNIGHT + timedelta(days=2), author=author)
    with SQLiteStore(tmp_path / "s.db") as dashboard, SQLiteStore(tmp_path / "s.db") as service:
        dashboard.upsert([make_mention(created_at=MIDNIGHT - timedelta(days=1), author=author)])  # caches the author
        dashboard.upsert([make_mention(created_at=MIDNIGHT + timedelta(days=1), author={"id": "weibo:8"})])
        assert service.purge(mentions_before=MIDNIGHT, **KEEP).authors == 1
        service.upsert([fresh])  # the author comes back under a new pk
        dashboard.correct_sentiment(fresh.id, "negative", by="值班", at=END)
        [top] = dashboard.top_authors(Window(MIDNIGHT + timedelta(days=2), END))
    assert (top.author.id, top.author.followers, top.mentions) == ("weibo:7", 50, 1)
