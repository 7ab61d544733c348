"""DingTalk (钉钉) custom robot: one markdown message per alert.

``POST https://oapi.dingtalk.com/robot/send?access_token=T`` with
``{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {"atMobiles", "atUserIds", "isAtAll"}}``.
``title`` is what the conversation list and the notification show; ``text`` is the markdown. A
robot takes 20 messages a minute; we keep ``text`` within 20,000 bytes.

Signing (加签), when the robot has a secret: ``sign = urlencode(base64(HMAC-SHA256(key=secret,
msg=f"{timestamp}\\n{secret}")))`` with ``timestamp`` in milliseconds (within an hour of DingTalk's
clock), appended as ``&timestamp=…&sign=…``.

Calling the on-duty members: ``at.atMobiles`` / ``at.atUserIds`` list them, and the text has to
name each one as ``@13800001111`` / ``@userid`` for the mention to show; ``isAtAll`` is always
false. Post text cannot @ anyone: its ``@`` is neutralised, and only listed members are called.

Errors: 130101 (send too fast, 20 a minute) and -1 (busy) are worth a retry; 310000 (keyword,
signature or IP check failed), 300001 (token invalid) and every other code are not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from alerts.channels.http import by_status, coded_delivery, post_json, robot_reply
from alerts.markdown import (
    facts,
    fit_blocks,
    headline,
    meta_line,
    on_duty_mobiles,
    on_duty_users,
    post_blocks,
    safe_link,
)
from alerts.message import AlertMessage, Delivery
from fengxiang.config import AlertChannel

__all__ = ["MAX_TEXT_BYTES", "DingTalkChannel", "dingtalk_delivery", "dingtalk_sign"]

MAX_TEXT_BYTES = 20_000
RATE_LIMIT_WAIT = 60.0
# 410100 is the "sent too fast" code of DingTalk's newer robot documentation.
_RETRY = {-1: None, 130101: RATE_LIMIT_WAIT, 410100: RATE_LIMIT_WAIT}
# Severity as a coloured badge: DingTalk's markdown has no font colours worth trusting.
_BADGE = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵"}


class DingTalkChannel:
    def __init__(self, config: AlertChannel, *, clock: Callable[[], float] = time.time) -> None:
        self.label = config.label
        self.per_minute = config.per_minute  # the sender keeps to it
        self._config = config
        self._timeout = config.timeout.total_seconds()
        self._clock = clock

    def __repr__(self) -> str:
        return f"DingTalkChannel({self.label!r})"

    def render(self, message: AlertMessage) -> dict[str, Any]:
        users, mobiles = self._on_duty(message)
        return {
            "msgtype": "markdown",
            "markdown": {"title": headline(message), "text": self._text(message, users + mobiles)},
            "at": {"atMobiles": mobiles, "atUserIds": users, "isAtAll": False},
        }

    def send(self, message: AlertMessage) -> Delivery:
        base = self._config.webhook.get_secret_value()
        url = base
        if self._config.secret is not None:
            timestamp = str(round(self._clock() * 1000))
            sign = dingtalk_sign(self._config.secret.get_secret_value(), timestamp)
            url += f"{'&' if '?' in url else '?'}timestamp={timestamp}&sign={quote_plus(sign)}"
        answer = post_json(url, self.render(message), timeout=self._timeout)
        if isinstance(answer, Delivery):
            return answer
        reply = robot_reply(answer, "errcode")
        if reply is None:
            return by_status(answer, robot=True)
        return dingtalk_delivery(reply, base)

    def _on_duty(self, message: AlertMessage) -> tuple[list[str], list[str]]:
        if not message.mentions_on_duty:
            return [], []
        return on_duty_users(self._config.mention_users), on_duty_mobiles(self._config.mention_mobiles)

    def _text(self, message: AlertMessage, called: list[str]) -> str:
        head = [f"### {_BADGE[message.severity]} {headline(message)}", meta_line(message)]
        if called:
            head.append(" ".join(f"@{who}" for who in called) + " 请值班同事立即处理")
        head += [f"> {label}：**{value}**" if value else f"> {label}" for label, value in facts(message)]
        posts = post_blocks(message, line_break="  \n")  # two spaces: DingTalk's line break within a block
        if posts:
            head.append("**代表性帖文**")
        tail = []
        dashboard = safe_link(message.link)
        if dashboard:
            tail.append(f"[查看详情]({dashboard})")
        if message.kind == "test":
            tail.append("这是一条测试消息：收到即说明机器人配置正确。")
        # Blank lines between blocks: DingTalk joins single-newline lines into one paragraph.
        return fit_blocks(
            head,
            posts,
            tail,
            MAX_TEXT_BYTES,
            separator="\n\n",
            omitted=lambda count: f"另有 {count} 条未列出",
            cut="（内容过长，其余已略）",
        )


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret")), before URL-encoding."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_delivery(answer: dict[str, Any], url: str) -> Delivery:
    """A DingTalk robot's JSON answer as a delivery (``url`` only to mask it out of the errmsg)."""
    return coded_delivery(answer, url, code_keys=("errcode",), message_keys=("errmsg",), retry=_RETRY, label="errcode")
