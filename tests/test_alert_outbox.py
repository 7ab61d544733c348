"""The persisted alert outbox, in every store backend (the `store` fixture): what the sender and the incident code
rely on. Two tests reach into SQLite itself (reopening the file, its transaction)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

import pytest

from alerts.message import AlertMessage, PostLine
from store.base import NewOutboxItem
from store.sqlite import SQLiteStore
from store.sqlite_outbox import insert_outbox
from tests.conftest import SHANGHAI

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)


def message(title: str = "负面声量激增", **fields: Any) -> AlertMessage:
    return AlertMessage(kind="opened", title=title, severity="high", brand="启航汽车", rule="negative_spike", **fields)


def item(key: str, *, channel: str = "值班群", not_before: datetime = T0, **fields: Any) -> NewOutboxItem:
    return NewOutboxItem(
        channel=channel,
        kind="opened",
        message=message(key),
        dedupe_key=f"{key}|{channel}",
        not_before=not_before,
        **fields,
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_enqueueing_the_same_event_twice_is_a_no_op(store):
    assert store.enqueue([item("a"), item("b"), item("a")], now=T0) == 2
    assert store.enqueue([item("a")], now=at(5)) == 0
    assert store.enqueue([item("a", channel="公关群")], now=at(5)) == 1  # same event, another channel
    assert store.outbox_backlog() == {"pending": 3, "sending": 0, "sent": 0, "failed": 0}


def test_a_message_comes_back_as_it_went_in(store):
    post = PostLine(
        "车机又黑屏了", "https://weibo.com/1/2", "数码老王", 1200, 56, "negative", "2026-11-20T09:58:00+08:00"
    )
    sent = message(facts=[("负面提及", "42（基线 9.5，×4.4）")], posts=[post], incident_id=7, at=T0.isoformat())
    store.enqueue([NewOutboxItem("值班群", "opened", sent, "incident-7|opened|值班群", T0, incident_pk=7)], now=at(-10))
    [claimed] = store.claim_due("值班群", T0, 10)
    assert claimed.message == sent
    assert (claimed.kind, claimed.dedupe_key, claimed.incident_pk) == ("opened", "incident-7|opened|值班群", 7)
    assert (claimed.created_at, claimed.not_before, claimed.next_attempt_at) == (at(-10), T0, T0)
    assert (claimed.status, claimed.attempts, claimed.last_error, claimed.sent_at) == ("sending", 0, None, None)


def test_claims_take_the_oldest_due_messages_of_one_channel(store):
    store.enqueue([item("1"), item("2"), item("other", channel="公关群"), item("3")], now=T0)
    assert [i.message.title for i in store.claim_due("值班群", T0, 2)] == ["1", "2"]
    assert [i.message.title for i in store.claim_due("值班群", T0, 2)] == ["3"]
    assert store.claim_due("值班群", T0, 2) == []  # claimed messages are not handed out twice
    assert store.outbox_backlog() == {"pending": 1, "sending": 3, "sent": 0, "failed": 0}


def test_quiet_hours_hold_a_message_until_not_before(store):
    morning = at(8 * 3600)
    store.enqueue([item("night", not_before=morning)], now=T0)
    assert store.claim_due("值班群", morning - timedelta(seconds=1), 10) == []
    assert store.outbox_due() == {"值班群": morning}
    assert [i.message.title for i in store.claim_due("值班群", morning, 10)] == ["night"]


def test_a_retry_waits_for_its_next_attempt_and_a_rate_limit_answer_uses_no_attempt(store):
    store.enqueue([item("a")], now=T0)
    [claimed] = store.claim_due("值班群", T0, 1)
    store.mark_retry(claimed.pk, at(30), "HTTP 502")
    assert store.claim_due("值班群", at(29), 1) == []
    [again] = store.claim_due("值班群", at(30), 1)
    assert (again.attempts, again.last_error) == (1, "HTTP 502")

    store.mark_retry(again.pk, at(90.2), "errcode 45009: api freq out of limit", count_attempt=False)
    [pending] = store.outbox_items(status="pending")
    assert pending.attempts == 1
    assert pending.next_attempt_at == at(91)  # rounded up: never tried before the time asked for


def test_sent_and_failed_messages_keep_the_channels_answer(store):
    store.enqueue([item("ok"), item("bad")], now=T0)
    ok, bad = store.claim_due("值班群", T0, 2)
    store.mark_retry(ok.pk, T0, "HTTP 502")
    store.claim_due("值班群", T0, 1)
    store.mark_sent(ok.pk, at(3), "errcode 0: ok")
    store.mark_failed(bad.pk, at(4), "errcode 93000: invalid webhook key")

    [sent] = store.outbox_items(status="sent")
    assert (sent.sent_at, sent.attempts, sent.detail, sent.last_error) == (at(3), 2, "errcode 0: ok", "HTTP 502")
    [failed] = store.outbox_items(status="failed")
    assert (failed.failed_at, failed.attempts) == (at(4), 1)
    assert failed.detail == failed.last_error == "errcode 93000: invalid webhook key"


def test_release_claims_puts_what_a_killed_sender_left_sending_back(store):
    store.enqueue([item("posted"), item("in flight")], now=T0)
    posted, _ = store.claim_due("值班群", T0, 2)
    store.mark_sent(posted.pk, at(1), "errcode 0: ok")

    assert store.release_claims() == 1
    assert store.release_claims() == 0
    assert [i.message.title for i in store.claim_due("值班群", at(2), 10)] == ["in flight"]


def test_sent_count_survives_reopening_the_store(tmp_path):
    with SQLiteStore(tmp_path / "s.db") as store:
        store.enqueue([item(str(n)) for n in range(4)] + [item("x", channel="公关群")], now=T0)
        for n, claimed in enumerate(store.claim_due("值班群", T0, 4)):
            store.mark_sent(claimed.pk, at(30 * n), "ok")
        [other] = store.claim_due("公关群", T0, 1)
        store.mark_sent(other.pk, at(40), "ok")
    with SQLiteStore(tmp_path / "s.db") as store:
        assert store.sent_count("值班群", at(30)) == 3
        assert store.sent_times("值班群", at(30)) == [at(30), at(60), at(90)]
        assert store.sent_count("值班群", at(91)) == 0
        assert store.sent_count("公关群", T0) == 1


def test_listing_is_newest_first_and_backlog_counts_every_status(store):
    store.enqueue([item(str(n)) for n in range(5)], now=T0)
    first, second = store.claim_due("值班群", T0, 2)
    store.mark_sent(first.pk, T0, "ok")
    store.mark_failed(second.pk, T0, "errcode 93000: invalid webhook key")
    store.claim_due("值班群", T0, 1)

    assert [i.message.title for i in store.outbox_items()] == ["4", "3", "2", "1", "0"]
    assert [i.message.title for i in store.outbox_items(limit=2)] == ["4", "3"]
    assert [i.message.title for i in store.outbox_items(status="pending")] == ["4", "3"]
    assert store.outbox_backlog() == {"pending": 2, "sending": 1, "sent": 1, "failed": 1}
    with pytest.raises(ValueError, match="unknown outbox status 'done'"):
        store.outbox_items(status="done")


def test_insert_outbox_joins_the_callers_transaction(tmp_path):
    SQLiteStore(tmp_path / "s.db").close()
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    assert insert_outbox(conn, [item("a")], now=T0) == 1
    conn.execute("ROLLBACK")  # the incident write failed: its messages go with it
    assert conn.execute("SELECT count(*) FROM alert_outbox").fetchone()[0] == 0


def test_bad_arguments_are_clear_errors(store):
    with pytest.raises(ValueError, match="no time zone"):
        store.enqueue([item("a")], now=datetime(2026, 11, 20, 10, 0))
    with pytest.raises(ValueError, match="no message 99 in the alert outbox"):
        store.mark_sent(99, T0, "ok")
