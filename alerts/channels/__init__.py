"""Where alerts go: the group robots (WeCom, DingTalk, Feishu) and a plain JSON webhook.

Every channel renders an :class:`~alerts.message.AlertMessage` into the JSON body its robot takes
(:meth:`Channel.render`, no network: tests and previews look at it) and sends it
(:meth:`Channel.send`), turning the robot's answer into a :class:`~alerts.message.Delivery`: sent,
worth a retry (with ``retry_after`` when the robot says how long), or failed for good. ``send``
never raises for anything the network or the robot does, and nothing it returns or raises, nor a
channel's repr, holds the webhook URL: that URL is the robot's credential.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from alerts.channels.dingtalk import DingTalkChannel
from alerts.channels.feishu import FeishuChannel
from alerts.channels.webhook import WebhookChannel
from alerts.channels.wecom import WeComChannel
from alerts.message import AlertMessage, Delivery
from fengxiang.config import AlertChannel

__all__ = ["Channel", "DingTalkChannel", "FeishuChannel", "WeComChannel", "WebhookChannel", "channel_for"]


class Channel(Protocol):
    label: str  # what logs show for this channel: its name, or its type — never the URL
    per_minute: int  # messages the robot accepts a minute: the sender keeps under it

    def render(self, message: AlertMessage) -> dict[str, Any]:
        """The JSON body the robot gets for ``message``."""

    def send(self, message: AlertMessage) -> Delivery:
        """Deliver ``message`` once (the outbox retries); never raises for network or robot trouble."""


_KINDS: dict[str, Callable[[AlertChannel], Channel]] = {
    "wecom": WeComChannel,
    "dingtalk": DingTalkChannel,
    "feishu": FeishuChannel,
    "webhook": WebhookChannel,
}


def channel_for(config: AlertChannel) -> Channel:
    """The channel for one ``alerts.channels`` entry of the config."""
    return _KINDS[config.type](config)
