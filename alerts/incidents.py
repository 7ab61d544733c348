"""The incident lifecycle: opened → updated → resolved, and which changes deserve a message.

A message goes out only when an incident opens, escalates materially (a severity level up, or its
headline number doubled since the last message), or resolves. A fingerprint that fires again within
the cooldown after it resolved reopens the same incident quietly instead of opening a new one, so a
rule flapping around its threshold does not ring the group every few minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from alerts.message import AlertMessage, MessageKind, severity_rank
from alerts.signals import CLUSTER_RULES, NOTIFIES_RESOLUTION, RULE_TITLES, Signal
from fengxiang.config import Config, QuietHours
from store.base import Incident, IncidentChange, IncidentEvent, NewOutboxItem

_EVIDENCE_KEPT = 500  # mention ids kept per incident: enough for the dashboard's list of posts


@dataclass(frozen=True)
class Policy:
    channels: tuple[str, ...]  # channel labels every message fans out to
    cooldown: timedelta
    resolve_after: timedelta
    quiet_hours: QuietHours | None
    zone: tzinfo
    dashboard_url: str | None = None
    notify_min_severity: str = "medium"

    @classmethod
    def from_config(cls, config: Config) -> Policy:
        alerts = config.alerts
        return cls(
            channels=tuple(channel.label for channel in alerts.channels),
            cooldown=alerts.cooldown,
            resolve_after=alerts.resolve_after,
            quiet_hours=alerts.quiet_hours,
            zone=config.tzinfo,
            dashboard_url=alerts.dashboard_url,
            notify_min_severity=alerts.notify_min_severity,
        )


def plan_changes(
    signals: Iterable[Signal],
    open_incidents: Sequence[Incident],
    recently_resolved: Sequence[Incident],
    now: datetime,
    policy: Policy,
) -> list[IncidentChange]:
    """What this evaluation does: ``recently_resolved`` are incidents resolved within the cooldown."""
    by_fingerprint = {incident.fingerprint: incident for incident in open_incidents}
    resolved_by_fingerprint: dict[str, Incident] = {}
    for incident in recently_resolved:  # newest first: the newest of each fingerprint is the one to reopen
        resolved_by_fingerprint.setdefault(incident.fingerprint, incident)
    changes: list[IncidentChange] = []
    fired: set[str] = set()
    for signal in signals:
        current = by_fingerprint.get(signal.fingerprint) or _same_wave(signal, open_incidents)
        if current is not None:
            if current.fingerprint in fired:  # two clusters of one wave: the first one speaks for both
                continue
            changes.append(_update(current, signal, now, policy))
        elif (previous := resolved_by_fingerprint.get(signal.fingerprint)) is not None:
            changes.append(_reopen(previous, signal, now, policy))
        else:
            changes.append(_open(signal, now, policy))
        fired.add(changes[-1].incident.fingerprint)
    for incident in open_incidents:
        if incident.fingerprint not in fired and now - incident.seen_at >= policy.resolve_after:
            changes.append(_resolve(incident, now, policy))
    return changes


def _same_wave(signal: Signal, open_incidents: Sequence[Incident]) -> Incident | None:
    """A copy-paste cluster seen under another first member is the same wave if they share posts."""
    if signal.rule not in CLUSTER_RULES:
        return None
    members = set(signal.evidence)
    return next(
        (
            incident
            for incident in open_incidents
            if incident.rule == signal.rule and incident.brand == signal.brand and members & set(incident.evidence)
        ),
        None,
    )


def _open(signal: Signal, now: datetime, policy: Policy) -> IncidentChange:
    incident = Incident(
        fingerprint=signal.fingerprint,
        rule=signal.rule,
        brand=signal.brand,
        severity=signal.severity,
        status="open",
        title=signal.title,
        opened_at=now,
        seen_at=now,
        volume=signal.volume,
        peak_volume=signal.volume,
        notified_severity=signal.severity,
        notified_volume=signal.volume,
        notified_at=now,
        message=_message("opened", signal, now, policy),
        evidence=signal.evidence[:_EVIDENCE_KEPT],
    )
    event = IncidentEvent(now, "opened", signal.severity, signal.volume)
    return IncidentChange(incident, event, _outbox(incident, "opened", now, policy))


def _update(incident: Incident, signal: Signal, now: datetime, policy: Policy) -> IncidentChange:
    escalated = severity_rank(signal.severity) > severity_rank(incident.notified_severity) or (
        incident.notified_volume > 0 and signal.volume >= 2 * incident.notified_volume
    )
    kind: MessageKind = "escalated" if escalated else "opened"
    updated = replace(
        incident,
        severity=signal.severity,
        seen_at=now,
        volume=signal.volume,
        peak_volume=max(incident.peak_volume, signal.volume),
        message=_message(kind, signal, now, policy, incident.pk),
        evidence=_merged_evidence(incident.evidence, signal.evidence),
    )
    if not escalated:
        return IncidentChange(updated)
    updated = replace(updated, notified_severity=signal.severity, notified_volume=signal.volume, notified_at=now)
    event = IncidentEvent(now, "escalated", signal.severity, signal.volume, _escalation_note(incident, signal))
    return IncidentChange(updated, event, _outbox(updated, "escalated", now, policy))


def _reopen(previous: Incident, signal: Signal, now: datetime, policy: Policy) -> IncidentChange:
    reopened = replace(previous, status="open", resolved_at=None, seen_at=now)
    change = _update(reopened, signal, now, policy)
    if change.event is not None:  # reopened and worse than last said: the escalation message covers it
        return change
    return replace(change, event=IncidentEvent(now, "reopened", signal.severity, signal.volume, "冷却期内再次触发"))


def _resolve(incident: Incident, now: datetime, policy: Policy) -> IncidentChange:
    resolved = replace(incident, status="resolved", resolved_at=now)
    event = IncidentEvent(now, "resolved", incident.severity, incident.volume)
    if incident.rule not in NOTIFIES_RESOLUTION:
        return IncidentChange(resolved, event)
    quiet_for = now - incident.seen_at
    message = replace(
        incident.message,
        kind="resolved",
        at=now.isoformat(),
        facts=[*incident.message.facts[:1], ("峰值", f"{incident.peak_volume:g}"), ("已平稳", _hours(quiet_for))],
        posts=[],
    )
    resolved = replace(resolved, message=message)
    return IncidentChange(resolved, event, _outbox(resolved, "resolved", now, policy))


def _merged_evidence(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*new, *old)))[:_EVIDENCE_KEPT]


def _escalation_note(incident: Incident, signal: Signal) -> str:
    if severity_rank(signal.severity) > severity_rank(incident.notified_severity):
        return f"{incident.notified_severity} → {signal.severity}"
    return f"{incident.notified_volume:g} → {signal.volume:g}"


def _hours(duration: timedelta) -> str:
    return f"{duration.total_seconds() / 3600:.1f} 小时"


def _message(
    kind: MessageKind, signal: Signal, now: datetime, policy: Policy, incident_pk: int | None = None
) -> AlertMessage:
    return AlertMessage(
        kind=kind,
        title=RULE_TITLES[signal.rule],
        severity=signal.severity,
        brand=signal.brand,
        rule=signal.rule,
        facts=list(signal.facts),
        posts=list(signal.posts),
        link=f"{policy.dashboard_url}/alerts" if policy.dashboard_url else None,
        incident_id=incident_pk,
        at=now.isoformat(),
    )


def _outbox(incident: Incident, kind: MessageKind, now: datetime, policy: Policy) -> tuple[NewOutboxItem, ...]:
    # A resolution is worth saying only where the opening was said.
    said = incident.notified_severity if kind == "resolved" else incident.severity
    if severity_rank(said) < severity_rank(policy.notify_min_severity):
        return ()
    not_before = release_time(now, incident.severity, policy)
    event_key = f"{incident.fingerprint}@{int(incident.opened_at.timestamp())}/{kind}@{int(now.timestamp())}"
    return tuple(
        NewOutboxItem(
            channel=channel,
            kind=kind,
            message=incident.message,
            dedupe_key=f"{event_key}/{channel}",
            not_before=not_before,
            incident_pk=incident.pk,
        )
        for channel in policy.channels
    )


def release_time(now: datetime, severity: str, policy: Policy) -> datetime:
    """When a message may go out: now, or — in quiet hours, unless critical — when they end."""
    if policy.quiet_hours is None or severity == "critical":
        return now
    start, end = policy.quiet_hours.minutes()
    local = now.astimezone(policy.zone)
    minute = local.hour * 60 + local.minute
    quiet = start <= minute < end if start < end else (minute >= start or minute < end)
    if not quiet:
        return now
    ends = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends
