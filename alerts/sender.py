"""The sender: drains the persisted alert outbox into the configured channels.

Per channel, messages go out oldest first, one at a time, at most ``per_minute`` of them in any
rolling ``window`` (sends already recorded in the store count, so a restart does not reset the
limit). A "retry" answer schedules the message again with exponential backoff and jitter; one
that says how long to wait (``retry_after``: a rate limit such as WeCom's errcode 45009) pauses the
whole channel for that long and does not use up an attempt. Retries older than ``give_up_after``
become failed, as do messages for a channel label the config no longer has.

Why a killed sender loses nothing and doubles at most one message: every message is claimed
(status `sending`) in one transaction before its POST and marked `sent` in another after it. A
sender killed between the POST and that second commit leaves the message `sending`; the next
drain begins with ``release_claims()``, which puts it back to pending, and it is sent again —
the one possible duplicate. Since a sender has one message in flight at a time, no other message
can be in that window: a message claimed but not yet posted is simply sent once, later. This
assumes one sender per store at a time (the service), as ``release_claims`` takes back every claim.

Logs name channels by their label and quote the channel's answer (``Delivery.detail``), never a
webhook URL.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from alerts.message import Delivery
from store.base import OutboxItem, Store

if TYPE_CHECKING:
    from alerts.channels import Channel

log = logging.getLogger("fengxiang.alerts")

_ORPHAN_BATCH = 100  # messages of a vanished channel failed per transaction
_MIN_NAP = 0.01  # seconds: a floor on sleeps, so a rounding slip can never spin the loop


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0  # pending messages left for later: not due yet, rate-limited or paused
    lines: list[str] = field(default_factory=list)  # one per delivery attempt, for the CLI


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Sender:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = 5.0,
        backoff_max: float = 600.0,
        give_up_after: timedelta = timedelta(hours=24),
        window: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        if backoff_base <= 0 or backoff_max < backoff_base:
            raise ValueError("backoff_base must be positive and backoff_max at least backoff_base")
        for label, channel in channels.items():
            if channel.per_minute < 1:
                raise ValueError(f"channel {label}: per_minute must be at least 1")
        self.store = store
        self.channels = channels
        self._clock = clock
        self._sleep = sleep
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._give_up_after = give_up_after
        self._window = timedelta(seconds=window)
        self._rng = rng or random.Random()
        self._paused_until: dict[str, datetime] = {}  # channels that answered with a rate limit

    def drain(self, *, until: datetime | None = None) -> DrainReport:
        """Deliver what is due now; with ``until``, also wait for (and deliver) what falls due
        before then. Returns once nothing more can go out before ``until``."""
        report = DrainReport()
        released = self.store.release_claims()
        if released:
            log.warning("%d alert message(s) left mid-send by a stopped sender are queued again", released)
        while True:
            now = self._clock()
            due = self.store.outbox_due()
            if self._deliver_due(due, now, report):
                continue  # sending took time: look again before sleeping
            wake = self._next_wake(due, now)
            if until is None or wake is None or wake > until:
                break
            self._sleep(max((wake - now).total_seconds(), _MIN_NAP))
        report.waiting = self.store.outbox_backlog().get("pending", 0)
        return report

    # -- one pass over the channels -------------------------------------------------------

    def _deliver_due(self, due: Mapping[str, datetime], now: datetime, report: DrainReport) -> bool:
        """Send or settle what is due now on every channel; False when nothing could be done."""
        worked = False
        for label, due_at in due.items():
            if due_at > now:
                continue
            channel = self.channels.get(label)
            if channel is None:
                worked |= self._fail_orphans(label, now, report)
            else:
                worked |= self._drain_channel(label, channel, now, report)
        return worked

    def _drain_channel(self, label: str, channel: Channel, now: datetime, report: DrainReport) -> bool:
        worked = False
        while self._may_send(label, channel, now):
            claimed = self.store.claim_due(label, now, 1)  # one in flight: at most one duplicate per kill
            if not claimed:
                break
            self._deliver(claimed[0], channel, report)
            worked = True
        return worked

    def _may_send(self, label: str, channel: Channel, now: datetime) -> bool:
        if self._paused_until.get(label, now) > now:
            return False
        return self.store.sent_count(label, now - self._window) < channel.per_minute

    def _fail_orphans(self, label: str, now: datetime, report: DrainReport) -> bool:
        detail = f"channel {label} is no longer in the config"
        claimed = self.store.claim_due(label, now, _ORPHAN_BATCH)
        for item in claimed:
            self.store.mark_failed(item.pk, now, detail, count_attempt=False)
            self._note(report, "failed", item, detail)
        return bool(claimed)

    # -- one message ----------------------------------------------------------------------

    def _deliver(self, item: OutboxItem, channel: Channel, report: DrainReport) -> None:
        try:
            delivery = channel.send(item.message)
        # A broken channel must not stop the others. Only the type is kept: the text may hold the URL.
        except Exception as exc:
            delivery = Delivery("retry", f"the channel raised {type(exc).__name__}")
        at = self._clock()
        if delivery.outcome == "sent":
            self.store.mark_sent(item.pk, at, delivery.detail)
            self._note(report, "sent", item, delivery.detail)
        elif delivery.outcome == "failed":
            self.store.mark_failed(item.pk, at, delivery.detail)
            self._note(report, "failed", item, delivery.detail)
        else:
            self._retry(item, delivery, at, report)

    def _retry(self, item: OutboxItem, delivery: Delivery, at: datetime, report: DrainReport) -> None:
        rate_limited = delivery.retry_after is not None
        attempts = item.attempts + (0 if rate_limited else 1)
        deadline = max(item.created_at, item.not_before) + self._give_up_after
        if at >= deadline:
            detail = f"gave up after {attempts} attempts: {delivery.detail}"
            self.store.mark_failed(item.pk, at, detail, count_attempt=not rate_limited)
            self._note(report, "failed", item, detail)
        elif delivery.retry_after is not None:
            # A zero wait would retry in a tight loop; the store keeps whole seconds anyway.
            resume = at + timedelta(seconds=max(delivery.retry_after, 1.0))
            self._paused_until[item.channel] = max(resume, self._paused_until.get(item.channel, resume))
            self.store.mark_retry(item.pk, resume, delivery.detail, count_attempt=False)
            wait = (resume - at).total_seconds()
            self._note(report, "retry", item, f"{delivery.detail} — {item.channel} paused for {wait:.0f} s")
        else:
            retry_at = min(at + self._backoff(attempts), deadline)  # the last try lands on the deadline
            self.store.mark_retry(item.pk, retry_at, delivery.detail)
            wait = (retry_at - at).total_seconds()
            self._note(report, "retry", item, f"{delivery.detail} — attempt {attempts}, next in {wait:.0f} s")

    def _backoff(self, attempts: int) -> timedelta:
        """Doubling waits up to backoff_max, each between half and all of its step, so that many
        messages failing together do not come back in lockstep."""
        step = min(self._backoff_max, self._backoff_base * 2 ** min(attempts - 1, 32))
        return timedelta(seconds=step * self._rng.uniform(0.5, 1.0))

    def _note(self, report: DrainReport, outcome: str, item: OutboxItem, detail: str) -> None:
        if outcome == "sent":
            report.sent += 1
        elif outcome == "retry":
            report.retried += 1
        else:
            report.failed += 1
        line = f"{outcome:<6} #{item.pk} {item.channel} {item.kind} 「{item.message.title}」: {detail}"
        report.lines.append(line)
        log.log(logging.INFO if outcome == "sent" else logging.WARNING, "%s", line)

    # -- waiting ----------------------------------------------------------------------------

    def _next_wake(self, due: Mapping[str, datetime], now: datetime) -> datetime | None:
        """The earliest moment some channel can do something: its next message is due, its pause
        is over and its rate limit has a free slot. None when the outbox has nothing pending."""
        wakes = []
        for label, due_at in due.items():
            channel = self.channels.get(label)
            if channel is None:
                wakes.append(due_at)
            else:
                paused = self._paused_until.get(label, due_at)
                wakes.append(max(due_at, paused, self._slot_opens(label, channel, now)))
        return min(wakes, default=None)

    def _slot_opens(self, label: str, channel: Channel, now: datetime) -> datetime:
        """Now when the channel is under its limit, else when the send holding the limit leaves the
        window: a send recorded at second s (the store keeps whole seconds) counts through s + window."""
        limit = channel.per_minute
        times = self.store.sent_times(label, now - self._window)
        if len(times) < limit:
            return now
        return times[-limit] + self._window + timedelta(seconds=1)
