"""`fengxiang migrate`: a store moves whole (mentions, corrections, authors, state), a stopped migration
resumes where it stopped, and a finished or foreign destination is not written over by accident.

Written against the Store protocol: the ``new_source`` and ``new_destination`` factories take every
backend of ``tests.conftest.BACKENDS``, so the same tests cover SQLite → Elasticsearch and back."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from alerts.incidents import Policy, plan_changes
from alerts.message import AlertMessage, Severity
from alerts.signals import Signal
from fengxiang.cli import main
from fengxiang.migrate import CHECKPOINT_SOURCE, DestinationNotEmpty, migrate, read_checkpoint, summary_lines
from store.base import MentionFilter, NewOutboxItem, SourceHealth, Store, StoreError, StoreState, Window
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.conftest import BACKENDS, SHANGHAI, make_mention

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)
TIE = datetime(2026, 9, 7, 9, 30, 15, tzinfo=SHANGHAI)  # five mentions posted within this one second
EVERYTHING = Window(since=datetime(2020, 1, 1, tzinfo=SHANGHAI), until=datetime(2027, 1, 1, tzinfo=SHANGHAI))
POLICY = Policy(
    channels=("值班群", "品牌部"),
    cooldown=timedelta(hours=2),
    resolve_after=timedelta(hours=3),
    quiet_hours=None,
    zone=SHANGHAI,
)
SOURCE_NAME = "sqlite:////data/old.db"
MENTIONS = 40
BATCH = 7  # small, so that batch boundaries fall inside the tie


def _factory(backend: str, request: pytest.FixtureRequest, tmp_path: Path, role: str) -> Iterator[Callable[[], Store]]:
    opened: list[Store] = []

    def new() -> Store:
        folder = tmp_path / f"{role}-{len(opened)}"
        folder.mkdir()
        opened.append(BACKENDS[backend](request, folder))
        return opened[-1]

    yield new
    for store in opened:
        store.close()


@pytest.fixture(params=list(BACKENDS))
def new_source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens a fresh, empty store of one backend (each call a new one)."""
    yield from _factory(request.param, request, tmp_path, "source")


@pytest.fixture(params=list(BACKENDS))
def new_destination(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    yield from _factory(request.param, request, tmp_path, "destination")


# -- a store worth moving -----------------------------------------------------------------------


def mentions() -> list[Mention]:
    """Four months of mentions of two brands by six authors, five of them within one second (stored
    in falling id order, so a backend ordering ties by its own row numbers disagrees with the ids)."""
    found = []
    for i in range(MENTIONS - 5):
        brand = ("启航汽车", "星河手机")[i % 2]
        found.append(
            make_mention(
                f"{brand} 第{i}条 刹车 续航",
                id=f"weibo:{1000 + i}",
                created_at=datetime(2026, 8, 1, tzinfo=SHANGHAI) + timedelta(days=3 * i, minutes=i),
                author={"id": f"weibo:{i % 6}", "name": f"用户{i % 6}", "followers": 100 * (i % 6)},
                brands=[brand],
                keywords=["刹车", "续航"][: 1 + i % 2],
                sentiment={"label": ("negative", "neutral", "positive")[i % 3]},
                metrics={"reposts": i, "comments": 1, "likes": 2 * i},
            )
        )
    found += [
        make_mention(f"启航汽车 同一秒 {k}", id=f"weibo:{2000 + k}", created_at=TIE, brands=["启航汽车"])
        for k in (5, 1, 4, 2, 3)
    ]
    return found


def evaluate(store: Store, signals: list[Signal], now: datetime) -> None:
    """One evaluation of the alert rules, as alerts.evaluate does it."""
    open_ = store.incidents(status="open")
    resolved = store.incidents(status="resolved", resolved_since=now - POLICY.cooldown)
    store.apply_incident_changes(plan_changes(signals, open_, resolved, now, POLICY))


def spike(severity: Severity, volume: float, key: str = "") -> Signal:
    return Signal(
        "negative_spike", "启航汽车", key, severity, volume, [("负面提及", f"{volume:g}")], [], ("weibo:1000",)
    )


def fill(store: Store) -> None:
    """Mentions, a correction, cursors, health history, incidents with their timelines and messages (sent,
    failed, retried, pending; the oldest purged, so outbox pks have a gap), word frequencies."""
    store.upsert(mentions())
    store.correct_sentiment("weibo:1004", "positive", by="小李", at=NOON)
    store.set_cursor("weibo", "since:启航汽车", "5230754395068367")
    store.set_cursor("news", "feed:sina", "2026-11-20T11:00:00+08:00")
    statuses: tuple[Literal["ok", "degraded", "failed"], ...] = ("ok", "degraded", "failed", "ok")
    for hour, status in enumerate(statuses):
        started = NOON - timedelta(hours=10 - hour)
        store.record_health(
            SourceHealth(
                "weibo", started, started + timedelta(minutes=3), status, items=10 * hour, detail={"new": hour}
            )
        )
    store.record_health(SourceHealth("news", NOON, NOON + timedelta(minutes=1), "failed", error="timeout"))
    test = AlertMessage(kind="test", title="测试消息", severity="low", brand=None, rule="test")
    two_days_ago = NOON - timedelta(days=2)
    store.enqueue([NewOutboxItem("品牌部", "test", test, f"test|{n}", two_days_ago) for n in (1, 2)], now=two_days_ago)
    [claimed] = store.claim_due("品牌部", two_days_ago, 1)
    store.mark_sent(claimed.pk, two_days_ago, "ok")  # purged below; the other test message stays pending
    store.purge(mentions_before=None, health_before=None, outbox_before=NOON - timedelta(days=1))
    evaluate(store, [spike("high", 40), spike("medium", 20, key="risk")], NOON)
    evaluate(store, [spike("critical", 90), spike("medium", 20, key="risk")], NOON + timedelta(hours=1))
    first, second = sorted(store.incidents(), key=lambda incident: incident.pk or 0)
    assert first.pk is not None and second.pk is not None
    store.acknowledge_incident(first.pk, by="小王", at=NOON + timedelta(minutes=30))
    store.resolve_incident(second.pk, by="小李", at=NOON + timedelta(hours=2))
    now = datetime.now(SHANGHAI)  # the store stamps incident messages with the time they are written
    sent, failed, retried, *_ = store.claim_due("值班群", now, 10)
    store.mark_sent(sent.pk, now, "ok")
    store.mark_failed(failed.pk, now, "errcode 93000: invalid webhook")
    store.mark_retry(retried.pk, now + timedelta(hours=1), "errcode 45009: api freq out of limit")
    store.save_document_frequencies({"刹车": 12, "续航": 5, "服务": 3}, 40)


def without_checkpoints(state: StoreState) -> StoreState:
    return replace(state, cursors=[cursor for cursor in state.cursors if cursor[0] != CHECKPOINT_SOURCE])


def assert_same(source: Store, destination: Store) -> None:
    """Everything a user or the service can read is the same in both stores."""
    for brand in (None, "启航汽车", "星河手机"):
        window = replace(EVERYTHING, brand=brand)
        assert destination.counts(window) == source.counts(window)
        assert destination.top_authors(window) == source.top_authors(window)
        assert destination.top_keywords(window) == source.top_keywords(window)
        assert destination.histogram(window, interval="day") == source.histogram(window, interval="day")
    assert documents(destination.iter_mentions(MentionFilter())) == documents(source.iter_mentions(MentionFilter()))
    assert [m.to_json_dict() for m in destination.corrections()] == [m.to_json_dict() for m in source.corrections()]
    authors = [f"weibo:{i}" for i in range(6)] + ["weibo:1001"]
    assert destination.author_profiles(authors) == source.author_profiles(authors)
    assert without_checkpoints(destination.export_state()) == without_checkpoints(source.export_state())
    for incident in source.incidents():
        assert incident.pk is not None
        assert destination.incident(incident.pk) == incident
        assert destination.incident_events(incident.pk) == source.incident_events(incident.pk)
    assert destination.outbox_backlog() == source.outbox_backlog()


def documents(found: Iterable[Mention]) -> dict[str, dict[str, Any]]:
    """By id: backends may order the mentions of one second differently."""
    return {mention.id: mention.to_json_dict() for mention in found}


# -- destinations that count, fail or reorder ---------------------------------------------------


class Killed(Exception):
    """Stands for the process dying (kill -9, a power cut): nothing catches it."""


class Recording:
    """Passes everything to a store, noting the ids upserted; dies at the ``die_at``-th upsert or checkpoint."""

    def __init__(self, store: Store, *, die_at_upsert: int = 0, die_at_checkpoint: int = 0) -> None:
        self.store = store
        self.upserted: list[str] = []
        self.upserts = self.checkpoints = 0
        self.die_at_upsert, self.die_at_checkpoint = die_at_upsert, die_at_checkpoint

    def upsert(self, batch: Iterable[Mention]) -> Any:
        batch = list(batch)
        self.upserts += 1
        if self.upserts == self.die_at_upsert:
            raise Killed
        self.upserted += [mention.id for mention in batch]
        return self.store.upsert(batch)

    def set_cursor(self, source: str, key: str, value: str) -> None:
        self.checkpoints += source == CHECKPOINT_SOURCE
        if self.checkpoints == self.die_at_checkpoint:
            raise Killed
        self.store.set_cursor(source, key, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class TiesReversed:
    """A source that hands out the mentions of one second in the opposite order (as another backend might)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def iter_mentions(self, where: MentionFilter) -> Iterator[Mention]:
        found = list(self.store.iter_mentions(where))
        return iter(sorted(found, key=lambda m: (int(m.created_at.timestamp()), -found.index(m))))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


# -- the migration ------------------------------------------------------------------------------


def test_everything_arrives(new_source, new_destination):
    source, destination = new_source(), new_destination()
    fill(source)
    seen: list[int] = []
    report = migrate(
        source, destination, source_name=SOURCE_NAME, batch=BATCH, progress=lambda r: seen.append(r.copied)
    )
    assert_same(source, destination)
    assert [m.id for m in destination.corrections()] == ["weibo:1004"]
    corrected = destination.get("weibo:1004")
    assert corrected is not None and corrected.sentiment is not None
    assert (corrected.sentiment.label, corrected.sentiment.corrected_by) == ("positive", "小李")
    assert (report.total, report.copied, report.copied_now, report.rejected) == (MENTIONS, MENTIONS, MENTIONS, 0)
    assert seen == [min(MENTIONS, BATCH * n) for n in range(1, -(-MENTIONS // BATCH) + 1)]
    assert report.state is not None and len(report.state.incidents) == 2 and len(report.state.outbox) == 7
    assert "migrate: done — 40 mentions" in summary_lines(report)[-1]
    finished = read_checkpoint(destination, SOURCE_NAME)
    assert finished is not None and finished.done_at is not None


@pytest.mark.parametrize("die_at", [{"die_at_upsert": 3}, {"die_at_checkpoint": 4}])
def test_a_stopped_migration_resumes_without_losing_or_repeating_mentions(new_source, new_destination, die_at):
    source, destination = new_source(), new_destination()
    fill(source)
    dying = Recording(destination, **die_at)
    with pytest.raises(Killed):
        migrate(source, dying, source_name=SOURCE_NAME, batch=BATCH)
    checkpoint = read_checkpoint(destination, SOURCE_NAME)
    assert checkpoint is not None and checkpoint.copied == 2 * BATCH  # checkpoint 1 is the start, 2 and 3 the batches
    assert (checkpoint.second, len(checkpoint.ids)) == (int(TIE.timestamp()), 1)  # the cut is inside the tie
    assert destination.counts(EVERYTHING).total == len(dying.upserted)

    resumed = Recording(destination)
    report = migrate(TiesReversed(source), resumed, source_name=SOURCE_NAME, batch=BATCH)
    before = dying.upserted if "die_at_upsert" in die_at else dying.upserted[: 2 * BATCH]
    assert len(resumed.upserted) == MENTIONS - 2 * BATCH  # not from the start
    assert sorted(before + resumed.upserted) == sorted(m.id for m in mentions())  # each once, none lost
    assert (report.resumed_after, report.copied, report.copied_now) == (2 * BATCH, MENTIONS, MENTIONS - 2 * BATCH)
    assert "resumed after 14 mentions" in summary_lines(report)[0]
    assert_same(source, destination)


def test_a_migration_killed_between_a_batch_and_its_checkpoint_writes_that_batch_again(new_source, new_destination):
    source, destination = new_source(), new_destination()
    fill(source)
    with pytest.raises(Killed):  # checkpoint 1 is the start, 2 the first batch's, 3 the second's
        migrate(source, Recording(destination, die_at_checkpoint=3), source_name=SOURCE_NAME, batch=BATCH)
    resumed = Recording(destination)
    migrate(source, resumed, source_name=SOURCE_NAME, batch=BATCH)
    assert len(resumed.upserted) == MENTIONS - BATCH  # the unconfirmed second batch again, not the first
    assert_same(source, destination)


def test_running_a_finished_migration_again_copies_nothing_and_says_so(new_source, new_destination):
    source, destination = new_source(), new_destination()
    fill(source)
    migrate(source, destination, source_name=SOURCE_NAME, batch=BATCH)
    again = Recording(destination)
    report = migrate(source, again, source_name=SOURCE_NAME, batch=BATCH)
    assert again.upserted == [] and report.already_done is not None and report.copied_now == 0
    assert "nothing copied; pass --restart" in summary_lines(report)[0]
    assert_same(source, destination)


def test_restart_copies_everything_again(new_source, new_destination):
    source, destination = new_source(), new_destination()
    fill(source)
    migrate(source, destination, source_name=SOURCE_NAME, batch=BATCH)
    source.upsert([make_mention("启航汽车 迁移之后", id="weibo:3000", created_at=NOON, brands=["启航汽车"])])
    again = Recording(destination)
    report = migrate(source, again, source_name=SOURCE_NAME, batch=BATCH, restart=True)
    assert len(again.upserted) == MENTIONS + 1 and report.copied == MENTIONS + 1 and report.resumed_after == 0
    assert_same(source, destination)


def test_a_destination_with_data_of_its_own_is_refused_unless_merging_is_asked_for(new_source, new_destination):
    source, destination = new_source(), new_destination()
    fill(source)
    destination.upsert([make_mention("别的店铺", id="weibo:9")])
    with pytest.raises(DestinationNotEmpty, match=r"1 mentions.*--into-nonempty"):
        migrate(source, destination, source_name=SOURCE_NAME)
    assert read_checkpoint(destination, SOURCE_NAME) is None

    only_a_cursor = new_destination()
    only_a_cursor.set_cursor("weibo", "since:x", "1")
    with pytest.raises(DestinationNotEmpty, match="1 crawl cursors"):
        migrate(source, only_a_cursor, source_name=SOURCE_NAME)

    report = migrate(source, destination, source_name=SOURCE_NAME, into_nonempty=True)
    assert report.copied == MENTIONS and destination.counts(EVERYTHING).total == MENTIONS + 1


def test_another_source_is_refused_after_a_migration(new_source, new_destination):
    source, destination = new_source(), new_destination()
    fill(source)
    migrate(source, destination, source_name=SOURCE_NAME)
    with pytest.raises(DestinationNotEmpty):
        migrate(new_source(), destination, source_name="sqlite:////data/other.db")


def test_a_mention_the_destination_refuses_costs_only_itself(new_source, new_destination):
    source, destination = new_source(), new_destination()
    fill(source)

    class Picky(Recording):
        def upsert(self, batch: Iterable[Mention]) -> Any:
            batch = list(batch)
            if any(mention.id == "weibo:1010" for mention in batch):
                raise StoreError("Elasticsearch refused 1 of 7 mentions (the others are stored)")
            return super().upsert(batch)

    report = migrate(source, Picky(destination), source_name=SOURCE_NAME, batch=BATCH)
    assert (report.copied, report.rejected, report.rejected_ids) == (MENTIONS - 1, 1, ["weibo:1010"])
    assert destination.get("weibo:1010") is None and destination.counts(EVERYTHING).total == MENTIONS - 1
    assert "refused 1 mentions: weibo:1010" in "\n".join(summary_lines(report))


def test_a_destination_that_stops_answering_stops_the_migration(new_source, new_destination):
    source, destination = new_source(), new_destination()
    fill(source)

    class Down(Recording):
        def upsert(self, batch: Iterable[Mention]) -> Any:
            raise StoreError("cannot reach Elasticsearch")

        def get_cursor(self, source: str, key: str) -> str | None:
            raise StoreError("cannot reach Elasticsearch")

    with pytest.raises(StoreError, match="cannot reach"):
        migrate(source, Down(destination), source_name=SOURCE_NAME, batch=BATCH)


# -- import_state -------------------------------------------------------------------------------


def test_importing_state_twice_is_importing_it_once_and_later_pks_continue_above(new_source, new_destination):
    source, destination = new_source(), new_destination()
    fill(source)
    state = source.export_state()
    destination.import_state(state)
    destination.import_state(state)
    assert destination.export_state() == state
    assert state.outbox[0].pk > 1  # the purged message's pk stays unused: pks were kept

    evaluate(destination, [spike("high", 40, key="new")], NOON + timedelta(hours=5))
    newest = max(destination.incidents(), key=lambda incident: incident.pk or 0)
    assert newest.pk > max(incident.pk or 0 for incident, _ in state.incidents)
    imported = {item.pk for item in state.outbox}
    new_messages = [item for item in destination.outbox_items() if item.pk not in imported]
    assert new_messages and min(item.pk for item in new_messages) > max(imported)
    assert newest.pk in {item.incident_pk for item in new_messages}


def test_imported_records_replace_the_ones_with_the_same_keys(new_destination):
    destination = new_destination()
    fill(destination)
    state = destination.export_state()
    changed = replace(
        state,
        cursors=[(source, key, "changed") for source, key, _ in state.cursors],
        health=[replace(health, items=999) for health in state.health],
        incidents=[(replace(incident, title="改过"), events[:1]) for incident, events in state.incidents],
        outbox=[replace(item, attempts=7) for item in state.outbox],
    )
    destination.import_state(changed)
    assert destination.export_state() == changed


# -- the command --------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_command_moves_a_store_shows_progress_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with SQLiteStore(tmp_path / "old.db") as old:
        fill(old)
    code, out, err = run(
        capsys, "migrate", "--from", "sqlite:///old.db", "--to", "sqlite:///new/fx.db", "--batch", "10"
    )
    assert code == 0, err
    assert f"migrate: sqlite:///{tmp_path}/old.db → sqlite:///{tmp_path}/new/fx.db" in err
    progress = [
        line for line in err.splitlines() if re.fullmatch(r"migrate: [\d,]+ / 40 mentions \(.*\), [\d,]+/s", line)
    ]
    assert [line.split()[1] for line in progress] == ["10", "20", "30", "40"]
    assert "(25.0%)" in progress[0] and "(100.0%)" in progress[-1]
    assert "migrate: done — 40 mentions" in out and "2 incidents, 7 outbox messages" in out
    with SQLiteStore(tmp_path / "old.db") as old, SQLiteStore(tmp_path / "new" / "fx.db") as new:
        assert_same(old, new)

    code, out, _ = run(capsys, "migrate", "--from", "sqlite:///old.db", "--to", "sqlite:///new/fx.db")
    assert code == 0 and "was migrated here already" in out and "--restart" in out
    code, out, _ = run(capsys, "migrate", "--from", "sqlite:///old.db", "--to", "sqlite:///new/fx.db", "--restart")
    assert code == 0 and "migrate: done — 40 mentions (40 by this run" in out


def test_the_command_refuses_what_it_cannot_do(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with SQLiteStore(tmp_path / "old.db") as old:
        fill(old)
    with SQLiteStore(tmp_path / "busy.db") as busy:
        busy.upsert([make_mention("别的", id="weibo:9")])
    code, _, err = run(capsys, "migrate", "--from", "sqlite:///old.db", "--to", "sqlite:///busy.db")
    assert (
        code == 2 and "fengxiang migrate: the destination is not empty (1 mentions)" in err and "--into-nonempty" in err
    )
    code, _, err = run(capsys, "migrate", "--from", "sqlite:///typo.db", "--to", "sqlite:///new.db")
    assert code == 2 and "no such file" in err and not (tmp_path / "typo.db").exists()
    code, _, err = run(capsys, "migrate", "--from", "sqlite:///old.db", "--to", f"sqlite:///{tmp_path}/old.db")
    assert code == 2 and "both name" in err
    code, _, err = run(capsys, "migrate", "--from", "sqlite:///old.db", "--to", "ftp://x", "--batch", "5")
    assert code == 2 and "--to ftp://x: not a store this program knows" in err
    assert run(capsys, "migrate", "--from", "sqlite:///old.db", "--to", "sqlite:///n.db", "--batch", "0")[0] == 2


def test_the_command_never_shows_a_password(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with SQLiteStore(tmp_path / "old.db") as old:
        fill(old)
    # Port 1 on loopback: nothing answers, so the run ends at opening the destination.
    code, out, err = run(capsys, "migrate", "--from", "sqlite:///old.db", "--to", "http://elastic:hunter2@127.0.0.1:1")
    assert code == 3, err
    assert "hunter2" not in out + err
    assert "http://elastic:***@127.0.0.1:1" in err
