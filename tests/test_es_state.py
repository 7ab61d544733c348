"""The Elasticsearch store's non-mention state (outbox, incidents, cursors, health, corrections, moving
state), on the Elasticsearch emulator: what only a store without transactions must show (racing senders and
writers, a crash between two writes), and what the suites shared with SQLite do not reach.

The suites every backend runs (the outbox in test_alert_outbox.py, corrections in
test_store_corrections.py, the store contract) are not repeated here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from elasticsearch import Elasticsearch

from alerts.incidents import Policy, plan_changes
from alerts.message import AlertMessage
from alerts.signals import Signal
from store.base import IncidentChange, NewOutboxItem, SourceHealth, StoreState
from store.elasticsearch import ElasticsearchStore
from store.es_common import CORRECTIONS_INDEX, INCIDENTS_INDEX, OUTBOX_INDEX
from store.es_schema import MENTIONS_ALIAS, install
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.conftest import SHANGHAI, make_mention
from tests.es_emulator import EsEmulator

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
LATER = T0 + timedelta(days=2)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EsEmulator]:
    with EsEmulator() as es:
        yield es


@pytest.fixture
def store(emulator: EsEmulator) -> Iterator[ElasticsearchStore]:
    emulator.reset()
    with ElasticsearchStore(emulator.url) as opened:
        yield opened


def count_labelled(store: ElasticsearchStore, label: str) -> int:
    return int(store._client.count(index=MENTIONS_ALIAS, query={"term": {"sentiment.label": label}})["count"])


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def message(title: str = "负面声量激增", **fields: Any) -> AlertMessage:
    return AlertMessage(kind="opened", title=title, severity="high", brand="启航汽车", rule="negative_spike", **fields)


def item(key: str, *, channel: str = "值班群", not_before: datetime = T0, **fields: Any) -> NewOutboxItem:
    return NewOutboxItem(channel, "opened", message(key), f"{key}|{channel}", not_before, **fields)


def titles(items: list[Any]) -> list[str]:
    return [i.message.title for i in items]


# -- the outbox ------------------------------------------------------------------------------------


def test_a_sender_that_loses_a_race_skips_the_message_and_takes_the_next(
    store: ElasticsearchStore, emulator: EsEmulator
) -> None:
    rival = ElasticsearchStore(emulator.url)

    class Slow(ElasticsearchStore):
        raced = False

        def _claim(self, hit: dict[str, Any]) -> bool:  # the rival claims between our search and our write
            if not self.raced:
                self.raced = True
                assert titles(rival.claim_due("值班群", T0, 1)) == ["1"]
            return super()._claim(hit)

    store.enqueue([item(str(n)) for n in range(1, 5)], now=T0)
    assert titles(Slow(emulator.url).claim_due("值班群", T0, 2)) == ["2", "3"]
    assert titles(store.outbox_items(status="sending")) == ["3", "2", "1"]


def test_two_senders_racing_never_both_get_a_message(store: ElasticsearchStore, emulator: EsEmulator) -> None:
    store.enqueue([item(str(n)) for n in range(30)], now=T0)
    senders = [ElasticsearchStore(emulator.url), ElasticsearchStore(emulator.url)]
    got: list[list[int]] = [[], []]

    def drain(n: int) -> None:
        while claimed := senders[n].claim_due("值班群", T0, 2):
            got[n] += [i.pk for i in claimed]

    threads = [threading.Thread(target=drain, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(got[0]) & set(got[1])
    assert sorted(got[0] + got[1]) == list(range(1, 31))


def test_two_writers_enqueueing_at_once_never_share_a_pk(store: ElasticsearchStore, emulator: EsEmulator) -> None:
    writers = [ElasticsearchStore(emulator.url), ElasticsearchStore(emulator.url)]

    def write(n: int) -> None:
        for k in range(10):
            writers[n].enqueue([item(f"{n}-{k}"), item("shared")], now=T0)

    threads = [threading.Thread(target=write, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pks = [i.pk for i in store.outbox_items()]
    assert len(pks) == len(set(pks)) == 21  # the shared event once


def test_sent_count_and_times_per_channel(store: ElasticsearchStore) -> None:
    store.enqueue([item(str(n)) for n in range(4)] + [item("x", channel="公关群")], now=T0)
    for n, claimed in enumerate(store.claim_due("值班群", T0, 4)):
        store.mark_sent(claimed.pk, at(30 * n), "ok")
    [other] = store.claim_due("公关群", T0, 1)
    store.mark_sent(other.pk, at(40), "ok")
    assert store.sent_count("值班群", at(30)) == 3
    assert store.sent_times("值班群", at(30)) == [at(30), at(60), at(90)]
    assert store.sent_count("值班群", at(91)) == 0
    assert store.sent_count("公关群", T0) == 1


# -- incidents -------------------------------------------------------------------------------------

POLICY = Policy(
    channels=("值班群", "品牌部"),
    cooldown=timedelta(hours=2),
    resolve_after=timedelta(hours=3),
    quiet_hours=None,
    zone=ZONE,
)


def spike(volume: float = 40, brand: str = "启航汽车", rule: str = "negative_spike") -> Signal:
    return Signal(rule, brand, "", "high", volume, [("负面提及", f"{volume:g}")], [], ("weibo:1", "weibo:2"))


def evaluate(store: Any, signals: list[Signal], now: datetime) -> list[IncidentChange]:  # as alerts.evaluate does
    open_ = store.incidents(status="open", limit=100_000)
    resolved = store.incidents(status="resolved", resolved_since=now - POLICY.cooldown, limit=100_000)
    changes = plan_changes(signals, open_, resolved, now, POLICY)
    store.apply_incident_changes(changes)
    return changes


def test_an_incident_is_stored_with_its_pk_its_timeline_and_its_messages(store: ElasticsearchStore) -> None:
    changes = plan_changes([spike()], [], [], T0, POLICY)
    [stored] = store.apply_incident_changes(changes)
    assert stored.pk == 1 and stored == replace(changes[0].incident, pk=1)
    assert store.incident(1) == stored
    queued = store.outbox_items()
    assert {i.channel for i in queued} == {"值班群", "品牌部"}
    assert {(i.incident_pk, i.message.incident_id) for i in queued} == {(1, 1)}
    assert stored.message.incident_id is None  # the incident's own message is stored as given, like SQLite

    evaluate(store, [spike(45)], at(300))  # numbers refreshed, nothing to say
    assert store.incident(1).volume == 45  # type: ignore[union-attr]
    assert len(store.outbox_items()) == 2
    evaluate(store, [spike(100)], at(600))  # doubled: escalated
    assert [e.kind for e in store.incident_events(1)] == ["opened", "escalated"]
    assert store.incident_events(1)[0] == changes[0].event
    assert len(store.outbox_items()) == 4
    assert store.incident(99) is None and store.incident_events(99) == []


def test_a_crash_between_the_incident_and_its_messages_is_healed_by_the_next_evaluation(
    store: ElasticsearchStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: Any, **__: Any) -> int:
        raise ConnectionError("killed")

    with monkeypatch.context() as patched:
        patched.setattr(ElasticsearchStore, "enqueue", crash)
        with pytest.raises(ConnectionError):
            evaluate(store, [spike()], T0)
    assert [i.status for i in store.incidents()] == ["open"]
    assert store.outbox_items() == []
    assert evaluate(store, [spike(41)], at(300))[0].outbox == ()  # the plan has nothing to say …
    assert sorted(i.kind for i in store.outbox_items()) == ["opened", "opened"]  # … the messages go out anyway
    evaluate(store, [spike(42)], at(600))
    assert len(store.outbox_items()) == 2


def test_incidents_filter_and_list_newest_first(store: ElasticsearchStore) -> None:
    store.apply_incident_changes(plan_changes([spike()], [], [], T0, POLICY))
    store.apply_incident_changes(plan_changes([spike(brand="星河手机")], [], [], at(60), POLICY))
    third = plan_changes([spike(brand="星河手机", rule="volume_spike")], [], [], at(60), POLICY)
    store.apply_incident_changes(third)
    assert [i.pk for i in store.incidents()] == [3, 2, 1]  # opened_at, then pk, newest first
    assert [i.pk for i in store.incidents(limit=2)] == [3, 2]
    assert [i.pk for i in store.incidents(brand="启航汽车")] == [1]
    assert store.resolve_incident(2, by="小李", at=at(3600))
    assert [i.pk for i in store.incidents(status="open")] == [3, 1]
    assert [i.pk for i in store.incidents(status="resolved", resolved_since=at(3600))] == [2]
    assert store.incidents(resolved_since=at(3601)) == []
    assert store.resolve_incident(1, by="小李", at=at(120))
    # since: opened since then, still open, or resolved since then
    assert [i.pk for i in store.incidents(since=at(1800))] == [3, 2]
    assert [i.pk for i in store.incidents(since=at(121))] == [3, 2]
    assert [i.pk for i in store.incidents(since=at(120))] == [3, 2, 1]  # 1 resolved then


def test_acknowledge_once_and_resolve_by_hand_with_timeline_events(store: ElasticsearchStore) -> None:
    [incident] = store.apply_incident_changes(plan_changes([spike()], [], [], T0, POLICY))
    pk = incident.pk
    assert pk is not None
    assert store.acknowledge_incident(pk, by="小王", at=at(60))
    assert not store.acknowledge_incident(pk, by="小李", at=at(90))
    assert not store.acknowledge_incident(99, by="小李", at=at(90))
    acknowledged = store.incident(pk)
    assert acknowledged is not None and (acknowledged.acknowledged_at, acknowledged.acknowledged_by) == (at(60), "小王")

    assert store.resolve_incident(pk, by="小李", at=at(1800))
    closed = store.incident(pk)
    assert closed is not None and closed.status == "resolved" and closed.resolved_at == at(1800)
    events = store.incident_events(pk)
    assert [e.kind for e in events] == ["opened", "acknowledged", "resolved"]
    assert (events[1].note, events[-1].severity, events[-1].volume) == ("小王", "high", 40)
    assert "小李" in events[-1].note
    assert not store.resolve_incident(pk, by="小王", at=at(3600))
    assert not store.resolve_incident(99, by="小王", at=at(3600))


def test_an_evaluation_keeps_an_acknowledgement_made_after_it_read_the_incident(store: ElasticsearchStore) -> None:
    evaluate(store, [spike()], T0)
    seen = store.incidents(status="open")  # the next evaluation reads …
    assert store.acknowledge_incident(1, by="小王", at=at(60))  # … a person acknowledges …
    store.apply_incident_changes(plan_changes([spike(100)], seen, [], at(300), POLICY))  # … it writes
    incident = store.incident(1)
    assert incident is not None and (incident.acknowledged_by, incident.volume) == ("小王", 100)
    assert [e.kind for e in store.incident_events(1)] == ["opened", "acknowledged", "escalated"]


def test_an_incident_closed_by_hand_lives_on_like_one_the_rules_resolved(store: ElasticsearchStore) -> None:
    evaluate(store, [spike()], T0)
    [incident] = store.incidents()
    pk = incident.pk
    assert pk is not None
    assert store.resolve_incident(pk, by="小李", at=at(1800))
    assert evaluate(store, [], at(3600)) == []
    relapse = evaluate(store, [spike()], at(7200))
    assert relapse[0].event is not None and relapse[0].event.kind == "reopened" and relapse[0].outbox == ()
    assert [(i.pk, i.status) for i in store.incidents()] == [(pk, "open")]
    assert [e.kind for e in store.incident_events(pk)] == ["opened", "resolved", "reopened"]
    assert store.resolve_incident(pk, by="小李", at=at(3 * 3600))
    evaluate(store, [spike()], at(5 * 3600 + 60))
    assert [i.pk for i in store.incidents()] == [2, pk]


# -- cursors, health, document frequencies, purges -------------------------------------------------


def test_cursors_are_kept_per_source_and_key(store: ElasticsearchStore) -> None:
    assert store.get_cursor("weibo", "蔚来") is None
    store.set_cursor("weibo", "蔚来", "5230754395068367")
    store.set_cursor("weibo", "蔚来", "5230754395068999")
    store.set_cursor("news", "蔚来", "x")
    assert store.get_cursor("weibo", "蔚来") == "5230754395068999"
    assert store.get_cursor("news", "蔚来") == "x"


def test_health_latest_history_and_purge_keeps_the_newest_run_of_every_source(store: ElasticsearchStore) -> None:
    midnight = T0 - timedelta(hours=10)

    def run(source: str, started: datetime, status: Any = "ok") -> None:
        store.record_health(SourceHealth(source, started, started + timedelta(minutes=2), status, 3, None, {"n": 1}))

    for day in range(5):
        run("weibo", midnight - timedelta(days=day + 1))
        run("bilibili", midnight - timedelta(days=day + 1), "failed")
    run("weibo", midnight + timedelta(hours=1))
    run("news", midnight + timedelta(hours=2))
    latest = store.latest_health()
    assert [(h.source, h.started_at) for h in latest] == [
        ("bilibili", midnight - timedelta(days=1)),
        ("news", midnight + timedelta(hours=2)),
        ("weibo", midnight + timedelta(hours=1)),
    ]
    assert latest[0].detail == {"n": 1} and latest[0].status == "failed" and latest[0].started_at.tzinfo == ZONE
    assert [h.started_at for h in store.health_history("weibo", limit=2)] == [
        midnight + timedelta(hours=1),
        midnight - timedelta(days=1),
    ]
    assert store._purge_health(midnight) == 5 + 4
    assert store._purge_health(midnight) == 0
    assert store.latest_health() == latest
    assert [h.started_at for h in store.health_history("bilibili")] == [midnight - timedelta(days=1)]


def test_the_outbox_purge_loses_only_old_finished_messages(store: ElasticsearchStore) -> None:
    old, cutoff, recent = T0 - timedelta(days=3), T0, T0 + timedelta(days=1)
    keys = ("sent", "failed", "pending", "sending", "recent")
    store.enqueue([NewOutboxItem("值班群", "opened", message(), key, old) for key in keys], now=old)
    claimed = {i.dedupe_key: i.pk for i in store.claim_due("值班群", old, 10)}
    store.mark_sent(claimed["sent"], old, "ok")
    store.mark_failed(claimed["failed"], old, "HTTP 500")
    store.mark_retry(claimed["pending"], old, "HTTP 429")
    store.mark_sent(claimed["recent"], recent, "ok")  # created long ago, delivered after the cutoff
    assert store._purge_outbox(cutoff) == 2
    assert store._purge_outbox(cutoff) == 0
    assert {i.dedupe_key: i.status for i in store.outbox_items()} == {
        "pending": "pending",
        "sending": "sending",
        "recent": "sent",
    }


def test_document_frequencies_are_replaced_whole(store: ElasticsearchStore) -> None:
    assert store.document_frequencies() == ({}, 0)
    store.save_document_frequencies({"刹车": 3, "续航": 1}, 10)
    store.save_document_frequencies({"刹车": 4}, 12)
    assert store.document_frequencies() == ({"刹车": 4}, 12)


# -- moving a store --------------------------------------------------------------------------------


def _busy(store: Any) -> None:
    """A store with some of everything."""
    evaluate(store, [spike()], T0)
    evaluate(store, [spike(100)], at(600))
    store.acknowledge_incident(1, by="小王", at=at(700))
    store.enqueue([item("test")], now=T0)
    [claimed, *_] = store.claim_due("值班群", T0, 10)
    store.mark_sent(claimed.pk, at(5), "errcode 0: ok")
    store.set_cursor("weibo", "蔚来", "523")
    store.record_health(SourceHealth("news", T0, at(30), "ok"))
    store.record_health(SourceHealth("weibo", T0, at(60), "degraded", 7, "1 page refused", {"pages": 3}))
    store.save_document_frequencies({"刹车": 3}, 10)


def test_state_moves_whole_keeping_pks_and_importing_twice_changes_nothing(
    store: ElasticsearchStore, emulator: EsEmulator
) -> None:
    _busy(store)
    state = store.export_state()
    assert [i.pk for i, _ in state.incidents] == [1] and [e.kind for e in state.incidents[0][1]] == [
        "opened",
        "escalated",
        "acknowledged",
    ]
    assert [i.pk for i in state.outbox] == [1, 2, 3, 4, 5]
    assert [h.source for h in state.health] == ["news", "weibo"]  # oldest first: as recorded, when finished

    emulator.reset()
    other = ElasticsearchStore(emulator.url)
    install(other._client, now=T0)
    other.import_state(state)
    assert other.export_state() == state
    other.import_state(state)
    assert other.export_state() == state
    assert other.get_cursor("weibo", "蔚来") == "523"

    # later pks continue above the imported ones
    [fresh] = other.apply_incident_changes(plan_changes([spike(brand="星河手机")], [], [], at(900), POLICY))
    assert fresh.pk == 2
    assert other.enqueue([item("after")], now=T0) == 1
    assert max(i.pk for i in other.outbox_items()) == 8  # 5 imported, the new incident's 2 messages, this one


def test_state_moves_between_sqlite_and_elasticsearch_unchanged(store: ElasticsearchStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as sqlite, SQLiteStore(tmp_path / "back.db") as back:
        _busy(sqlite)
        state = sqlite.export_state()
        store.import_state(state)
        assert store.export_state() == state
        back.import_state(store.export_state())
        assert back.export_state() == state


def test_importing_an_empty_state_writes_nothing(store: ElasticsearchStore) -> None:
    store.import_state(StoreState())
    assert store.export_state() == StoreState()


# -- sentiment corrections -------------------------------------------------------------------------


def negative(text: str, **fields: Any) -> Mention:
    fields.setdefault("sentiment", {"label": "negative", "probs": {"negative": 0.7, "neutral": 0.2, "positive": 0.1}})
    return make_mention(text, brands=["启航汽车"], **fields)


class _Counting:
    """A client that records which of its methods were called."""

    def __init__(self, client: Elasticsearch) -> None:
        self.client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.client, name)


def test_honouring_corrections_costs_one_mget_per_batch(store: ElasticsearchStore) -> None:
    plain = [negative(f"启航 {n}") for n in range(5)]
    counting = _Counting(store._client)
    store._client = counting  # type: ignore[assignment]
    assert store._honour_corrections(plain) == plain
    assert counting.calls == ["mget"]
    store._client = counting.client
    store.upsert(plain)
    store.correct_sentiment(plain[0].id, "positive", by="小李", at=LATER)
    store._client = counting  # type: ignore[assignment]
    counting.calls.clear()
    honoured = store._honour_corrections(plain)
    assert counting.calls == ["mget"]  # the model label did not move: nothing to write
    assert honoured[0].sentiment.label == "positive" and honoured[1:] == plain[1:]  # type: ignore[union-attr]


def test_purging_mentions_takes_their_corrections(store: ElasticsearchStore) -> None:
    kept, purged = negative("启航 留下"), negative("启航 删掉")
    store.upsert([kept, purged])
    for mention in (kept, purged):
        store.correct_sentiment(mention.id, "positive", by="小李", at=LATER)
    assert store._purge_corrections([purged.id, "weibo:404"]) == 1
    assert store._purge_corrections([]) == 0
    assert [m.id for m in store.corrections()] == [kept.id]
    assert store._client.count(index=CORRECTIONS_INDEX)["count"] == 1


def test_state_indices_are_written_refreshed(store: ElasticsearchStore) -> None:
    """Every write is visible to the next search at once (the emulator never refreshes on its own)."""
    store.enqueue([item("a")], now=T0)
    evaluate(store, [spike()], T0)
    assert store._client.count(index=OUTBOX_INDEX)["count"] == 3
    assert store._client.count(index=INCIDENTS_INDEX)["count"] == 1
