"""A plain JSON webhook: the alert as data, for scripts, chat bridges and ticket systems.

``POST <webhook>`` with ``Content-Type: application/json; charset=utf-8`` and this body (version 1)::

    {
      "source": "fengxiang",
      "version": 1,
      "summary": "【红色预警】启航汽车 · 负面声量激增",       # one line, safe to show as text
      "kind": "opened",                                    # opened | escalated | resolved | test
      "title": "负面声量激增", "severity": "critical",      # critical | high | medium | low
      "severity_label": "红色", "kind_label": "新预警",
      "brand": "启航汽车", "rule": "negative_spike",
      "facts": [["负面提及", "42（基线 9.5，×4.4）"]],
      "posts": [{"text", "url", "author", "followers", "engagement", "sentiment", "created_at", "copies"}],
      "link": "https://dashboard…/incidents/12", "incident_id": 12, "at": "2026-11-23T20:00:00+08:00"
    }

Everything is as the alert holds it: ``posts[].text``, ``author`` and ``url`` are the internet's words,
unescaped — a receiver that renders them as markup or HTML must escape them itself. Any 2xx answer
is ``sent``; 429 and 5xx are worth a retry (``Retry-After`` is honoured); other statuses fail.
"""

from __future__ import annotations

from typing import Any

from alerts.channels.http import by_status, post_json
from alerts.markdown import headline
from alerts.message import KIND_LABELS, SEVERITY_LABELS, AlertMessage, Delivery
from fengxiang.config import AlertChannel

__all__ = ["WebhookChannel"]

VERSION = 1


class WebhookChannel:
    def __init__(self, config: AlertChannel) -> None:
        self.label = config.label
        self.per_minute = config.per_minute  # the sender keeps to it
        self._config = config
        self._timeout = config.timeout.total_seconds()

    def __repr__(self) -> str:
        return f"WebhookChannel({self.label!r})"

    def render(self, message: AlertMessage) -> dict[str, Any]:
        return {
            "source": "fengxiang",
            "version": VERSION,
            "summary": headline(message),
            "severity_label": SEVERITY_LABELS[message.severity],
            "kind_label": KIND_LABELS[message.kind],
            **message.to_json_dict(),
        }

    def send(self, message: AlertMessage) -> Delivery:
        answer = post_json(self._config.webhook.get_secret_value(), self.render(message), timeout=self._timeout)
        return answer if isinstance(answer, Delivery) else by_status(answer)
