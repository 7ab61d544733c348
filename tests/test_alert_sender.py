"""The sender drains the outbox: rate limits, retries, give-up, vanished channels, and kill -9."""

from __future__ import annotations

import logging
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from alerts.message import AlertMessage, Delivery
from alerts.sender import Sender
from store.base import NewOutboxItem
from store.sqlite import SQLiteStore
from tests.conftest import SHANGHAI
from tests.outbox_drainer import FileChannel

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
RATE_LIMITED = Delivery("retry", "errcode 45009: api freq out of limit", retry_after=60)
ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self) -> None:
        self.now = T0
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeChannel:
    """Answers every send with ``answer(title, now)`` (sent by default) and remembers each call."""

    def __init__(
        self,
        label: str,
        clock: FakeClock,
        *,
        per_minute: int = 20,
        answer: Callable[[str, datetime], Delivery] | None = None,
    ) -> None:
        self.label = label
        self.per_minute = per_minute
        self.clock = clock
        self.answer = answer or (lambda title, now: Delivery("sent", "errcode 0: ok"))
        self.calls: list[tuple[str, datetime, str]] = []  # (title, when, outcome)

    def send(self, message: AlertMessage) -> Delivery:
        delivery = self.answer(message.title, self.clock.now)
        self.calls.append((message.title, self.clock.now, delivery.outcome))
        return delivery

    @property
    def delivered(self) -> list[str]:
        return [title for title, _, outcome in self.calls if outcome == "sent"]

    @property
    def send_times(self) -> list[datetime]:
        return [when for _, when, outcome in self.calls if outcome == "sent"]


def enqueue(store: SQLiteStore, channel: str, titles: list[str], *, not_before: datetime = T0) -> None:
    store.enqueue(
        [
            NewOutboxItem(
                channel=channel,
                kind="opened",
                message=AlertMessage(
                    kind="opened", title=title, severity="high", brand="启航汽车", rule="volume_spike"
                ),
                dedupe_key=f"{title}|{channel}",
                not_before=not_before,
            )
            for title in titles
        ],
        now=T0,
    )


def titles(n: int, prefix: str = "m") -> list[str]:
    return [f"{prefix}{i:02}" for i in range(n)]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path: Path):
    with SQLiteStore(tmp_path / "s.db") as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def sender(store: SQLiteStore, clock: FakeClock, *channels: FakeChannel, **options) -> Sender:
    return Sender(
        store, {c.label: c for c in channels}, clock=clock, sleep=clock.sleep, rng=random.Random(7), **options
    )


def test_25_messages_at_20_a_minute_go_out_20_now_and_5_after_the_window(store, clock):
    duty = FakeChannel("值班群", clock)
    enqueue(store, "值班群", titles(25))

    report = sender(store, clock, duty).drain()
    assert (report.sent, report.waiting) == (20, 5)
    assert duty.delivered == titles(20)  # oldest first

    clock.advance(59)
    assert sender(store, clock, duty).drain().sent == 0  # a new sender (a restart) still counts them
    clock.advance(2)
    assert sender(store, clock, duty).drain().sent == 5
    assert duty.delivered == titles(25)


def test_with_until_the_sender_sleeps_to_the_next_free_slot(store, clock):
    duty = FakeChannel("值班群", clock)
    enqueue(store, "值班群", titles(45))

    report = sender(store, clock, duty).drain(until=at(600))
    assert (report.sent, report.waiting) == (45, 0)
    assert duty.delivered == titles(45)
    times = duty.send_times
    for start in times:  # never more than 20 in any rolling minute
        assert sum(start <= t < start + timedelta(seconds=60) for t in times) <= 20
    assert times[-1] - T0 < timedelta(seconds=125)  # and no slower than that
    assert clock.now < at(600)  # returned when the outbox was empty, not at `until`


def test_a_rate_limit_storm_delivers_everything_once_without_using_attempts(store, clock):
    def robot(title: str, now: datetime) -> Delivery:
        return RATE_LIMITED if now < at(200) else Delivery("sent", "errcode 0: ok")

    duty = FakeChannel("值班群", clock, answer=robot)
    enqueue(store, "值班群", titles(10))

    report = sender(store, clock, duty).drain(until=at(3600))
    assert sorted(duty.delivered) == titles(10)  # each exactly once
    assert report.retried == len(duty.calls) - 10 <= 4  # the channel paused: one probe a minute, not a flood
    assert all(item.attempts == 1 for item in store.outbox_items(status="sent"))
    assert all(when >= at(200) for when in duty.send_times)


def test_a_failed_attempt_is_retried_with_growing_waits_until_it_goes_through(store, clock):
    answers = iter([Delivery("retry", "HTTP 502")] * 3)
    duty = FakeChannel("值班群", clock, answer=lambda title, now: next(answers, Delivery("sent", "errcode 0: ok")))
    enqueue(store, "值班群", ["m"])

    report = sender(store, clock, duty).drain(until=at(3600))
    assert (report.sent, report.retried, report.failed) == (1, 3, 0)
    [sent] = store.outbox_items(status="sent")
    assert (sent.attempts, sent.last_error) == (4, "HTTP 502")
    when = [t for _, t, _ in duty.calls]
    waits = [(b - a).total_seconds() for a, b in pairwise(when)]
    for n, wait in enumerate(waits):  # 5 s doubling, each with jitter between half and all of it (+1 s rounding)
        assert 5 * 2**n / 2 <= wait <= 5 * 2**n + 1
    assert len(report.lines) == 4 and "HTTP 502" in report.lines[0]


def test_a_permanent_failure_is_recorded_and_not_retried(store, clock):
    duty = FakeChannel("值班群", clock, answer=lambda title, now: Delivery("failed", "errcode 93000: invalid webhook"))
    enqueue(store, "值班群", ["m"])

    report = sender(store, clock, duty).drain(until=at(3600))
    assert (report.sent, report.failed, len(duty.calls)) == (0, 1, 1)
    [failed] = store.outbox_items(status="failed")
    assert failed.last_error == "errcode 93000: invalid webhook"
    assert sender(store, clock, duty).drain().failed == 0 and len(duty.calls) == 1


def test_retries_give_up_after_24_hours(store, clock):
    duty = FakeChannel("值班群", clock, answer=lambda title, now: Delivery("retry", "HTTP 503"))
    enqueue(store, "值班群", ["m"])

    report = sender(store, clock, duty).drain(until=at(48 * 3600))
    assert (report.sent, report.failed) == (0, 1)
    [failed] = store.outbox_items(status="failed")
    assert failed.last_error == f"gave up after {len(duty.calls)} attempts: HTTP 503"
    assert failed.attempts == len(duty.calls)
    assert duty.calls[-1][1] == at(24 * 3600)  # the last try lands on the deadline


def test_messages_for_a_channel_no_longer_in_the_config_fail_with_a_clear_message(store, clock):
    duty = FakeChannel("值班群", clock)
    enqueue(store, "旧群", ["old"])
    enqueue(store, "值班群", ["new"])

    report = sender(store, clock, duty).drain()
    assert (report.sent, report.failed) == (1, 1)
    [failed] = store.outbox_items(status="failed")
    assert (failed.channel, failed.attempts) == ("旧群", 0)
    assert failed.last_error == "channel 旧群 is no longer in the config"


def test_two_channels_are_independent(store, clock):
    busy = FakeChannel("值班群", clock)
    limited = FakeChannel(
        "公关群", clock, answer=lambda title, now: RATE_LIMITED if now < at(30) else Delivery("sent", "ok")
    )
    enqueue(store, "值班群", titles(25))
    enqueue(store, "公关群", titles(3, "p"))

    first = sender(store, clock, busy, limited).drain()
    assert busy.delivered == titles(20)  # one channel paused does not hold the other
    assert limited.delivered == [] and len(limited.calls) == 1  # nor does it hammer the paused one
    assert first.waiting == 5 + 3

    sender(store, clock, busy, limited).drain(until=at(120))
    assert limited.delivered == titles(3, "p") and min(limited.send_times) == at(60)
    assert busy.delivered == titles(25) and min(busy.send_times[20:]) == at(61)


def test_without_until_only_what_is_due_now_goes_out(store, clock):
    duty = FakeChannel("值班群", clock)
    enqueue(store, "值班群", ["after quiet hours"], not_before=at(3600))

    assert sender(store, clock, duty).drain().waiting == 1
    assert sender(store, clock, duty).drain(until=at(1800)).sent == 0
    assert clock.slept == []  # nothing falls due before `until`: no sleep at all
    assert sender(store, clock, duty).drain(until=at(7200)).sent == 1
    assert clock.now == at(3600)


def test_a_message_left_sending_by_a_killed_sender_is_sent_again(store, clock, caplog):
    duty = FakeChannel("值班群", clock)
    enqueue(store, "值班群", ["in flight"])
    store.claim_due("值班群", T0, 1)  # the killed sender's claim

    with caplog.at_level(logging.WARNING, logger="fengxiang.alerts"):
        assert sender(store, clock, duty).drain().sent == 1
    assert "queued again" in caplog.text


def test_logs_name_the_channel_and_never_the_webhook_url(store, clock, caplog):
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-KEY"
    answers = iter([RuntimeError(f"POST {url} timed out"), Delivery("retry", "HTTP 502"), Delivery("sent", "ok")])

    def answer(title: str, now: datetime) -> Delivery:
        found = next(answers)
        if isinstance(found, Exception):
            raise found
        return found

    duty = FakeChannel("值班群", clock, answer=answer)
    duty.url = url  # type: ignore[attr-defined]
    enqueue(store, "值班群", ["m"])
    with caplog.at_level(logging.DEBUG, logger="fengxiang.alerts"):
        report = sender(store, clock, duty).drain(until=at(600))
    assert report.sent == 1
    assert "SECRET-KEY" not in caplog.text and "SECRET-KEY" not in "".join(report.lines)
    assert "值班群" in caplog.text and "the channel raised RuntimeError" in caplog.text


@pytest.mark.slow
def test_a_sender_killed_mid_drain_loses_nothing_and_doubles_at_most_one(tmp_path):
    db, delivered = tmp_path / "s.db", tmp_path / "delivered.txt"
    wanted = titles(200)
    with SQLiteStore(db) as store:
        enqueue(store, "file", wanted, not_before=datetime.now(UTC))
    drainer = subprocess.Popen([sys.executable, "-m", "tests.outbox_drainer", str(db), str(delivered)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while len(_lines(delivered)) < 20 and drainer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert drainer.poll() is None, "the drain finished before it could be killed; add messages"
    drainer.send_signal(signal.SIGKILL)
    drainer.wait()
    assert 20 <= len(_lines(delivered)) < len(wanted)

    with SQLiteStore(db) as store:
        in_flight = [item.message.title for item in store.outbox_items(status="sending")]
        assert len(in_flight) <= 1  # one message in flight at a time
        Sender(store, {"file": FileChannel(delivered)}).drain()
        assert store.outbox_backlog() == {"pending": 0, "sending": 0, "sent": 200, "failed": 0}
    copies = Counter(_lines(delivered))
    assert set(copies) == set(wanted)  # nothing lost
    doubled = [title for title, n in copies.items() if n > 1]
    assert doubled in ([], in_flight) and max(copies.values()) <= 2  # at most the one posted, not yet marked sent


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []
