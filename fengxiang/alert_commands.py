"""``fengxiang alerts run|test|list|backtest``: the alert commands behind the CLI's argument parsing."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any, TextIO

import orjson

from alerts.backtest import BacktestFinding, backtest
from alerts.channels import Channel, channel_for
from alerts.evaluate import Evaluation, evaluate
from alerts.message import SEVERITY_LABELS, AlertMessage
from alerts.sender import DrainReport, Sender
from fengxiang.config import Config
from fengxiang.service_lock import LockHolder, lock_holder, service_files
from store.base import Incident, Store

EXIT_OK, EXIT_PARTIAL = 0, 1


def channels_of(config: Config) -> dict[str, Channel]:
    return {channel.label: channel_for(channel) for channel in config.alerts.channels}


def run(config: Config, store: Store, *, now: datetime, wait: timedelta, as_json: bool) -> int:
    """Evaluate once, then deliver what is due, waiting up to ``wait`` for rate limits and retries."""
    evaluation = evaluate(store, config, now)
    delivery = deliver(store, config, wait)
    if as_json:
        _print_json({"evaluation": _evaluation_json(evaluation), "delivery": _delivery_json(delivery)})
    else:
        _print_evaluation(evaluation, config)
        print_delivery(delivery)
    return EXIT_PARTIAL if isinstance(delivery, DrainReport) and delivery.failed else EXIT_OK


def deliver(store: Store, config: Config, wait: timedelta) -> DrainReport | LockHolder:
    """Send what is due, waiting up to ``wait`` for rate limits and retries — unless a service runs on
    this store (the holder is returned): it delivers, and a second sender could post a message twice."""
    service = lock_holder(service_files(config).lock)
    if service is not None:
        return service
    return Sender(store, channels_of(config)).drain(until=datetime.now(config.tzinfo) + wait)


def test(config: Config, *, now: datetime, as_json: bool) -> int:
    """One test message straight to each channel (not through the outbox), and each robot's answer."""
    message = AlertMessage(
        kind="test",
        title="测试消息",
        severity="low",
        brand=None,
        rule="test",
        facts=[("说明", "风向 fengxiang 告警通道测试：收到这条消息说明机器人配置正确。")],
        at=now.isoformat(),
    )
    answers = [(label, channel.send(message)) for label, channel in channels_of(config).items()]
    if as_json:
        _print_json([{"channel": label, "outcome": d.outcome, "detail": d.detail} for label, d in answers])
    else:
        for label, delivery in answers:
            print(f"{label}: {delivery.outcome} — {delivery.detail}")
        if not answers:
            print("no channel is configured — add one under alerts.channels (type: wecom, webhook: ${…})")
    return EXIT_OK if answers and all(d.outcome == "sent" for _, d in answers) else EXIT_PARTIAL


def list_incidents(
    store: Store, *, status: str | None, brand: str | None, since: datetime, limit: int, as_json: bool
) -> int:
    incidents = store.incidents(status=status, brand=brand, since=since, limit=limit)
    if as_json:
        _print_json([_incident_json(incident) for incident in incidents])
        return EXIT_OK
    if not incidents:
        print("no incidents in this period")
    for incident in incidents:
        state = "处理中 open" if incident.status == "open" else "已恢复 resolved"
        ack = f", acknowledged by {incident.acknowledged_by}" if incident.acknowledged_by else ""
        print(
            f"#{incident.pk} {incident.opened_at:%m-%d %H:%M} 【{SEVERITY_LABELS[incident.severity]}】"
            f"{incident.brand or '—'} · {incident.title}  [{state}{ack}]"
        )
        for label, value in incident.message.facts[:3]:
            print(f"      {label}: {value}")
    return EXIT_OK


def run_backtest(store: Store, config: Config, *, now: datetime, days: int, brand: str | None, as_json: bool) -> int:
    findings = backtest(store, config, now=now, days=days, brand=brand)
    if as_json:
        _print_json([finding.to_json_dict() for finding in findings])
        return EXIT_OK
    print(f"what each rule would have fired over the last {days} days (as of {now:%Y-%m-%d %H:%M}):")
    for finding in findings:
        _print_finding(finding)
    return EXIT_OK


# -- printing ---------------------------------------------------------------------------------------


def _print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.pk,
        "rule": incident.rule,
        "brand": incident.brand,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "opened_at": incident.opened_at.isoformat(),
        "seen_at": incident.seen_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "volume": incident.volume,
        "peak_volume": incident.peak_volume,
        "acknowledged_by": incident.acknowledged_by,
        "facts": [list(fact) for fact in incident.message.facts],
        "evidence": list(incident.evidence[:20]),
    }


def _evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "at": evaluation.at.isoformat(),
        "signals": [
            {"rule": s.rule, "brand": s.brand, "key": s.key, "severity": s.severity, "volume": s.volume}
            for s in evaluation.signals
        ],
        "changes": [
            {"event": change.event.kind if change.event else "updated", **_incident_json(incident)}
            for change, incident in zip(evaluation.changes, evaluation.incidents, strict=True)
        ],
        "queued": evaluation.queued,
    }


def _delivery_json(delivery: DrainReport | LockHolder) -> dict[str, Any]:
    if isinstance(delivery, LockHolder):
        return {"left_to_service": delivery.pid}
    return {"sent": delivery.sent, "retried": delivery.retried, "failed": delivery.failed, "waiting": delivery.waiting}


def _print_evaluation(evaluation: Evaluation, config: Config) -> None:
    print(
        f"evaluated {len(config.watchlist)} watchlist entries at {evaluation.at:%Y-%m-%d %H:%M}: "
        f"{len(evaluation.signals)} rules firing, {evaluation.count('opened')} opened, "
        f"{evaluation.count('escalated')} escalated, {evaluation.count('resolved')} resolved"
    )
    for change, incident in zip(evaluation.changes, evaluation.incidents, strict=True):
        event = change.event.kind if change.event else "ongoing"
        label = SEVERITY_LABELS[incident.severity]
        print(f"  {event:<10} #{incident.pk} 【{label}】{incident.brand or '—'} · {incident.title}")


def print_delivery(delivery: DrainReport | LockHolder, out: TextIO | None = None) -> None:
    out = out or sys.stdout  # looked up at call time: tests and pipes replace sys.stdout
    if isinstance(delivery, LockHolder):
        print(f"delivery: left to the running service (pid {delivery.pid}), which sends the queued messages", file=out)
        return
    print(
        f"delivery: {delivery.sent} sent, {delivery.failed} failed, {delivery.waiting} waiting "
        "(quiet hours, rate limit or retry)",
        file=out,
    )
    for line in delivery.lines:
        print(f"  {line}", file=out)


def _print_finding(finding: BacktestFinding) -> None:
    state = "disabled" if not finding.enabled else f"{len(finding.episodes)} incident(s)"
    print(f"  {finding.brand or '—'} · {finding.title} ({finding.rule}): {state}")
    print(f"      {finding.explanation}")
    for episode in finding.episodes[:5]:
        print(f"      {episode.start:%m-%d %H:%M}  {episode.summary}")
    if len(finding.episodes) > 5:
        print(f"      … and {len(finding.episodes) - 5} more")
