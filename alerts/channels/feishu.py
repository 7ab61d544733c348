"""Feishu (飞书) custom robot: one interactive card per alert.

``POST https://open.feishu.cn/open-apis/bot/v2/hook/<token>`` with ``{"msg_type": "interactive",
"card": …}``. A card renders best of the robot's formats: its header takes the severity's colour
(red, orange, yellow, blue; green once resolved) and the body is one ``lark_md`` block, with a
button to the dashboard. The whole request may hold 20 KB; the markdown keeps within 18,000 bytes.
A robot takes 100 messages a minute (and 5 a second).

Signing (签名校验), when the robot has a secret: ``timestamp`` (seconds, within an hour of Feishu's
clock) and ``sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))`` go in the body.

Calling the on-duty members: ``<at id=…></at>`` in the markdown, with their open_id / user_id
(``mention_users``; an entry that is an e-mail address becomes ``<at email=…></at>``). A Feishu
custom robot cannot @ by mobile number, so ``mention_mobiles`` are not used here.

Answers: ``{"code": 0, "msg": "success"}`` (older robots: ``{"StatusCode": 0}``). 9499 and 11232
(too many requests — sometimes with HTTP 400) are worth a retry; 19021 (signature), 19022 (IP),
19024 (keyword), 19001 (bad parameter or token) and every other code are not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

from alerts.channels.http import by_status, coded_delivery, post_json, robot_reply
from alerts.markdown import (
    facts,
    fit_blocks,
    headline,
    meta_line,
    on_duty_users,
    post_blocks,
    safe_link,
)
from alerts.message import AlertMessage, Delivery
from fengxiang.config import AlertChannel

__all__ = ["MAX_MARKDOWN_BYTES", "FeishuChannel", "feishu_delivery", "feishu_sign"]

MAX_MARKDOWN_BYTES = 18_000  # of the 20 KB a request may hold: the rest is the card around it
RATE_LIMIT_WAIT = 60.0
_RETRY = {9499: RATE_LIMIT_WAIT, 11232: RATE_LIMIT_WAIT}
_TEMPLATE = {"critical": "red", "high": "orange", "medium": "yellow", "low": "blue"}


class FeishuChannel:
    def __init__(self, config: AlertChannel, *, clock: Callable[[], float] = time.time) -> None:
        self.label = config.label
        self.per_minute = config.per_minute  # the sender keeps to it
        self._config = config
        self._timeout = config.timeout.total_seconds()
        self._clock = clock

    def __repr__(self) -> str:
        return f"FeishuChannel({self.label!r})"

    def render(self, message: AlertMessage) -> dict[str, Any]:
        text = {"tag": "lark_md", "content": self._markdown(message)}
        elements: list[dict[str, Any]] = [{"tag": "div", "text": text}]
        dashboard = safe_link(message.link)
        if dashboard:
            label = {"tag": "plain_text", "content": "查看详情"}
            elements.append(
                {"tag": "action", "actions": [{"tag": "button", "text": label, "url": dashboard, "type": "primary"}]}
            )
        template = {"resolved": "green", "test": "grey"}.get(message.kind, _TEMPLATE[message.severity])
        card = {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": headline(message)}, "template": template},
            "elements": elements,
        }
        body: dict[str, Any] = {"msg_type": "interactive", "card": card}
        if self._config.secret is not None:
            timestamp = str(int(self._clock()))
            sign = feishu_sign(self._config.secret.get_secret_value(), timestamp)
            body = {"timestamp": timestamp, "sign": sign, **body}
        return body

    def send(self, message: AlertMessage) -> Delivery:
        url = self._config.webhook.get_secret_value()
        answer = post_json(url, self.render(message), timeout=self._timeout)
        if isinstance(answer, Delivery):
            return answer
        reply = robot_reply(answer, "code", "StatusCode")
        if reply is None:
            return by_status(answer, robot=True)
        return feishu_delivery(reply, url)

    def _markdown(self, message: AlertMessage) -> str:
        head = [meta_line(message)]
        if message.mentions_on_duty:
            called = [_at(user) for user in on_duty_users(self._config.mention_users)]
            if called:
                head.append(" ".join(called) + " 请值班同事立即处理")
        head += [f"**{label}**：{value}" for label, value in facts(message)]
        posts = post_blocks(message)
        if posts:
            head.append("\n**代表性帖文**")
        tail = ["这是一条测试消息：收到即说明机器人配置正确。"] if message.kind == "test" else []
        return fit_blocks(
            head,
            posts,
            tail,
            MAX_MARKDOWN_BYTES,
            separator="\n",
            omitted=lambda count: f"另有 {count} 条未列出",
            cut="（内容过长，其余已略）",
        )


def feishu_sign(secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(key="timestamp\\nsecret", msg=b"")): Feishu signs with the key alone."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_delivery(answer: dict[str, Any], url: str) -> Delivery:
    """A Feishu robot's JSON answer as a delivery (``url`` only to mask it out of the message)."""
    return coded_delivery(
        answer, url, code_keys=("code", "StatusCode"), message_keys=("msg", "StatusMessage"), retry=_RETRY, label="code"
    )


def _at(user: str) -> str:
    return f"<at email={user}></at>" if "@" in user else f"<at id={user}></at>"
