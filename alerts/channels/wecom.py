"""WeCom (企业微信) group robot: one markdown message per alert.

``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` with
``{"msgtype": "markdown", "markdown": {"content": …}}``; the content may hold at most 4096 bytes of
UTF-8. The robot answers ``{"errcode": 0, "errmsg": "ok"}``; a robot takes 20 messages a minute.

Calling the on-duty members (critical incidents only, :attr:`AlertMessage.mentions_on_duty`): the
markdown message has no ``mentioned_list``, but its content may @ members by id with the
``<@userid>`` extension, so ``mention_users`` go in the message itself, right under the headline
(where trimming never reaches). Members known only by ``mention_mobiles`` can be @-ed by a text
message's ``mentioned_mobile_list`` alone, so for them a short text message follows the markdown
one. If that follow-up fails, the alert itself was still posted: the delivery is ``sent`` (resending
would post the alert twice) and its detail says the @ did not go out.

Errors: -1 (system busy) and 45009 (api freq out of limit: wait a minute) are worth a retry;
93000 (invalid webhook url), 40008 (invalid message type), 40058 (content too long), 44004 (empty
content) and every other code are not — the detail carries the errcode and errmsg.
"""

from __future__ import annotations

from typing import Any

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
    trim_utf8,
)
from alerts.message import AlertMessage, Delivery
from fengxiang.config import AlertChannel

__all__ = ["MAX_CONTENT_BYTES", "MAX_TEXT_BYTES", "WeComChannel", "wecom_delivery"]

MAX_CONTENT_BYTES = 4096  # markdown.content
MAX_TEXT_BYTES = 2048  # text.content
RATE_LIMIT_WAIT = 60.0  # the limit is 20 a minute: after 45009, the next minute is the earliest hope
_RETRY = {-1: None, 45009: RATE_LIMIT_WAIT, 45033: 5.0}  # 45033: too many concurrent calls
# WeCom's three font colours: warning is orange-red, comment grey, info green.
_COLOUR = {"critical": "warning", "high": "warning", "medium": "comment", "low": "info"}


class WeComChannel:
    def __init__(self, config: AlertChannel) -> None:
        self.label = config.label
        self.per_minute = config.per_minute  # the sender keeps to it
        self._config = config
        self._timeout = config.timeout.total_seconds()

    def __repr__(self) -> str:
        return f"WeComChannel({self.label!r})"

    def render(self, message: AlertMessage) -> dict[str, Any]:
        return {"msgtype": "markdown", "markdown": {"content": self._content(message)}}

    def render_mobile_mentions(self, message: AlertMessage) -> dict[str, Any] | None:
        """The text message that @-s on-duty members by mobile number, when there are any to call."""
        mobiles = on_duty_mobiles(self._config.mention_mobiles)
        if not message.mentions_on_duty or not mobiles:
            return None
        content = trim_utf8(f"{headline(message)}：请值班同事立即处理", MAX_TEXT_BYTES)
        return {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": mobiles}}

    def send(self, message: AlertMessage) -> Delivery:
        delivery = self._post(self.render(message))
        follow_up = self.render_mobile_mentions(message)
        if delivery.outcome != "sent" or follow_up is None:
            return delivery
        mentioned = self._post(follow_up)
        if mentioned.outcome == "sent":
            return Delivery("sent", f"{delivery.detail}; on-duty @ by mobile sent")
        return Delivery("sent", f"{delivery.detail}; but the on-duty @ by mobile was not sent: {mentioned.detail}")

    def _post(self, body: dict[str, Any]) -> Delivery:
        url = self._config.webhook.get_secret_value()
        answer = post_json(url, body, timeout=self._timeout)
        if isinstance(answer, Delivery):
            return answer
        reply = robot_reply(answer, "errcode")
        if reply is None:
            return by_status(answer, robot=True)
        return wecom_delivery(reply, url)

    def _content(self, message: AlertMessage) -> str:
        head = [f"### {headline(message)}", f'<font color="{_colour(message)}">{meta_line(message)}</font>']
        users = on_duty_users(self._config.mention_users)
        if message.mentions_on_duty and users:
            head.append(" ".join(f"<@{user}>" for user in users) + " 请值班同事立即处理")
        head += [f"> {label}：**{value}**" if value else f"> {label}" for label, value in facts(message)]
        posts = post_blocks(message, link_prefix=" ", decorate_meta=lambda meta: f'<font color="comment">{meta}</font>')
        if posts:
            head.append("**代表性帖文**")
        tail = []
        dashboard = safe_link(message.link)
        if dashboard:
            tail.append(f"[查看详情]({dashboard})")
        if message.kind == "test":
            tail.append('<font color="comment">这是一条测试消息：收到即说明机器人配置正确。</font>')
        return fit_blocks(
            head,
            posts,
            tail,
            MAX_CONTENT_BYTES,
            separator="\n",
            omitted=lambda count: f'<font color="comment">另有 {count} 条未列出</font>',
            cut='<font color="comment">（内容过长，其余已略）</font>',
        )


def wecom_delivery(answer: dict[str, Any], url: str) -> Delivery:
    """A WeCom robot's JSON answer as a delivery (``url`` only to mask it out of the errmsg)."""
    return coded_delivery(answer, url, code_keys=("errcode",), message_keys=("errmsg",), retry=_RETRY, label="errcode")


def _colour(message: AlertMessage) -> str:
    return "info" if message.kind == "resolved" else _COLOUR[message.severity]
