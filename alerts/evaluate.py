"""One evaluation: every detector over every watchlist entry, then the incident lifecycle, stored with
the messages it queues in one transaction — so a crash never leaves an incident without its message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from alerts.detectors import detect_brand, load_brand_view, source_failures
from alerts.incidents import Policy, plan_changes
from alerts.new_kol import SpaceScores, new_kols
from alerts.signals import Signal
from fengxiang.config import Config
from store.base import Incident, IncidentChange, Store

_HEALTH_RUNS = 50  # enough of each source's history to tell how long it has been failing


@dataclass
class Evaluation:
    at: datetime
    signals: list[Signal] = field(default_factory=list)
    changes: list[IncidentChange] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)  # as stored, in the order of `changes`

    def count(self, event_kind: str) -> int:
        return sum(1 for change in self.changes if change.event is not None and change.event.kind == event_kind)

    @property
    def queued(self) -> int:
        return sum(len(change.outbox) for change in self.changes)


def detect(store: Store, config: Config, now: datetime, space_scores: SpaceScores | None = None) -> list[Signal]:
    signals: list[Signal] = []
    scores = space_scores or SpaceScores()  # scores the space once, and only when some entry has new_kol on
    for entry in config.watchlist:
        view = load_brand_view(store, entry.name, now)
        rules = config.rules_for(entry)
        signals += detect_brand(store, view, rules)
        if rules.new_kol.enabled:
            signals += new_kols(store, view, rules, scores.report(store, config, now))
    rule = config.alerts.rules.source_failure
    if rule.enabled:
        sources = {health.source for health in store.latest_health()}
        history = {source: store.health_history(source, limit=_HEALTH_RUNS) for source in sorted(sources)}
        signals += source_failures(history, rule)
    return signals


def evaluate(store: Store, config: Config, now: datetime, space_scores: SpaceScores | None = None) -> Evaluation:
    """One evaluation of every rule; ``space_scores`` lets a long-running caller reuse the new_kol rule's scoring."""
    policy = Policy.from_config(config)
    signals = detect(store, config, now, space_scores)
    open_incidents = store.incidents(status="open", limit=100_000)
    recently_resolved = store.incidents(status="resolved", resolved_since=now - policy.cooldown, limit=100_000)
    changes = plan_changes(signals, open_incidents, recently_resolved, now, policy)
    stored = store.apply_incident_changes(changes)
    return Evaluation(now, signals, changes, stored)
