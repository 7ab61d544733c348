"""The incident lifecycle: one message per opening, material escalation and resolution — no more."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.incidents import Policy, plan_changes, release_time
from alerts.signals import Signal
from fengxiang.config import QuietHours
from store.base import Incident, IncidentChange
from store.sqlite import SQLiteStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)
POLICY = Policy(
    channels=("值班群", "品牌部"),
    cooldown=timedelta(hours=2),
    resolve_after=timedelta(hours=3),
    quiet_hours=None,
    zone=SHANGHAI,
)


def spike(severity: str = "high", volume: float = 40, rule: str = "negative_spike", key: str = "") -> Signal:
    return Signal(rule, "启航汽车", key, severity, volume, [("负面提及", f"{volume:g}")], [], ("weibo:1", "weibo:2"))  # type: ignore[arg-type]


class Ledger:
    """Plays the store's part: applies changes, hands back open and recently resolved incidents."""

    def __init__(self) -> None:
        self.incidents: dict[int, Incident] = {}

    def run(self, signals: list[Signal], now: datetime, policy: Policy = POLICY) -> list[IncidentChange]:
        open_ = [i for i in self.incidents.values() if i.status == "open"]
        resolved = sorted(
            (i for i in self.incidents.values() if i.status == "resolved" and i.resolved_at >= now - policy.cooldown),  # type: ignore[operator]
            key=lambda i: i.resolved_at,  # type: ignore[arg-type,return-value]
            reverse=True,
        )
        changes = plan_changes(signals, open_, resolved, now, policy)
        for change in changes:
            incident = change.incident
            if incident.pk is None:
                incident = replace(incident, pk=len(self.incidents) + 1)
            self.incidents[incident.pk] = incident  # type: ignore[index]
        return changes


def messages(changes: list[IncidentChange]) -> list[tuple[str, str]]:
    return [(item.kind, item.channel) for change in changes for item in change.outbox]


def test_an_incident_opens_with_one_message_per_channel_and_running_again_sends_nothing() -> None:
    ledger = Ledger()
    assert messages(ledger.run([spike()], NOON)) == [("opened", "值班群"), ("opened", "品牌部")]
    assert messages(ledger.run([spike(volume=45)], NOON + timedelta(minutes=5))) == []
    [incident] = ledger.incidents.values()
    assert incident.volume == 45 and incident.status == "open"


def test_escalation_is_one_message_for_a_level_up_or_a_doubling() -> None:
    ledger = Ledger()
    ledger.run([spike("medium", 40)], NOON)
    assert messages(ledger.run([spike("high", 50)], NOON + timedelta(minutes=5))) == [
        ("escalated", "值班群"),
        ("escalated", "品牌部"),
    ]
    assert messages(ledger.run([spike("high", 70)], NOON + timedelta(minutes=10))) == []  # not doubled since 50
    assert [kind for kind, _ in messages(ledger.run([spike("high", 100)], NOON + timedelta(minutes=15)))] == [
        "escalated",
        "escalated",
    ]
    assert messages(ledger.run([spike("medium", 100)], NOON + timedelta(minutes=20))) == []  # a level down: quiet


def test_an_incident_resolves_after_staying_quiet_and_a_relapse_within_the_cooldown_reopens_it_quietly() -> None:
    ledger = Ledger()
    ledger.run([spike()], NOON)
    assert messages(ledger.run([], NOON + timedelta(hours=2))) == []  # quiet, not yet long enough
    resolved = ledger.run([], NOON + timedelta(hours=3))
    assert messages(resolved) == [("resolved", "值班群"), ("resolved", "品牌部")]
    assert resolved[0].incident.status == "resolved"
    relapse = ledger.run([spike()], NOON + timedelta(hours=4))
    assert messages(relapse) == [] and relapse[0].event is not None and relapse[0].event.kind == "reopened"
    assert len(ledger.incidents) == 1
    # after the cooldown, the same fingerprint is a new incident
    ledger.run([], NOON + timedelta(hours=7, minutes=1))
    assert messages(ledger.run([spike()], NOON + timedelta(hours=10))) == [("opened", "值班群"), ("opened", "品牌部")]
    assert len(ledger.incidents) == 2


def test_an_incident_closed_by_hand_lives_on_like_one_the_rules_resolved(tmp_path) -> None:
    store = SQLiteStore(tmp_path / "store.db")

    def evaluate(signals: list[Signal], now: datetime) -> list[IncidentChange]:  # as alerts.evaluate does
        open_ = store.incidents(status="open")
        resolved = store.incidents(status="resolved", resolved_since=now - POLICY.cooldown)
        changes = plan_changes(signals, open_, resolved, now, POLICY)
        store.apply_incident_changes(changes)
        return changes

    evaluate([spike()], NOON)
    [incident] = store.incidents()
    assert store.resolve_incident(incident.pk, by="小李", at=NOON + timedelta(minutes=30))  # type: ignore[arg-type]
    assert evaluate([], NOON + timedelta(hours=1)) == []  # closed: nothing left to resolve or to announce
    # a relapse within the cooldown reopens the same incident quietly
    relapse = evaluate([spike()], NOON + timedelta(hours=2))
    assert messages(relapse) == [] and relapse[0].event is not None and relapse[0].event.kind == "reopened"
    assert [(i.pk, i.status) for i in store.incidents()] == [(incident.pk, "open")]
    kinds = [event.kind for event in store.incident_events(incident.pk)]  # type: ignore[arg-type]
    assert kinds == ["opened", "resolved", "reopened"]
    # closed by hand again, then quiet past the cooldown: the same fingerprint opens a new incident
    assert store.resolve_incident(incident.pk, by="小李", at=NOON + timedelta(hours=3))  # type: ignore[arg-type]
    assert not store.resolve_incident(incident.pk, by="小王", at=NOON + timedelta(hours=3))  # type: ignore[arg-type]
    fresh = evaluate([spike()], NOON + timedelta(hours=5, minutes=1))
    assert messages(fresh) == [("opened", "值班群"), ("opened", "品牌部")]
    assert len(store.incidents()) == 2
    store.close()


def test_event_rules_close_without_a_resolution_message() -> None:
    ledger = Ledger()
    ledger.run([spike(rule="viral_post", key="weibo:9")], NOON)
    assert messages(ledger.run([], NOON + timedelta(hours=4))) == []


def test_blue_incidents_are_recorded_but_not_pushed() -> None:
    ledger = Ledger()
    changes = ledger.run([spike("low")], NOON)
    assert messages(changes) == [] and changes[0].incident.status == "open"
    assert messages(ledger.run([], NOON + timedelta(hours=4))) == []  # nor is their resolution


def test_quiet_hours_hold_all_but_critical_messages_until_they_end() -> None:
    policy = replace(POLICY, quiet_hours=QuietHours.model_validate("23:00-08:00"))
    night = datetime(2026, 11, 20, 2, 30, tzinfo=SHANGHAI)
    assert release_time(night, "high", policy) == datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)
    assert release_time(night, "critical", policy) == night
    late = datetime(2026, 11, 20, 23, 15, tzinfo=SHANGHAI)
    assert release_time(late, "medium", policy) == datetime(2026, 11, 21, 8, 0, tzinfo=SHANGHAI)
    assert release_time(NOON, "medium", policy) == NOON
    [first, _] = Ledger().run([spike("high")], night, policy)[0].outbox
    assert first.not_before == datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)


def test_a_copy_paste_wave_seen_under_another_first_post_stays_one_incident() -> None:
    ledger = Ledger()
    wave = Signal("copy_paste", "启航汽车", "weibo:100", "high", 20, [], [], ("weibo:100", "weibo:101", "weibo:102"))
    ledger.run([wave], NOON)
    later = replace(wave, key="weibo:101", evidence=("weibo:101", "weibo:102", "weibo:103"), volume=25)
    assert messages(ledger.run([later], NOON + timedelta(hours=1))) == []
    assert len(ledger.incidents) == 1


def test_the_same_event_gets_the_same_dedupe_keys_so_a_retried_evaluation_cannot_double_it() -> None:
    first = Ledger().run([spike()], NOON)
    second = Ledger().run([spike()], NOON)
    assert [item.dedupe_key for item in first[0].outbox] == [item.dedupe_key for item in second[0].outbox]
    assert len({item.dedupe_key for item in first[0].outbox}) == 2  # one per channel
