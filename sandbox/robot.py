"""The group robots alerts go to, imitated on loopback: WeCom, DingTalk, Feishu and a plain webhook.

Each answers the way the real robot does — its success body, its error codes, its checks:

* WeCom ``POST /cgi-bin/webhook/send?key=KEY`` → ``{"errcode": 0, "errmsg": "ok"}``. A key outside
  the configured ones → 93000; JSON it cannot read → 40035; an unknown ``msgtype`` → 40008; empty
  content → 44004; ``markdown.content`` over 4096 bytes (``text.content`` over 2048) → 40058.
* DingTalk ``POST /robot/send?access_token=T[&timestamp=&sign=]`` → ``{"errcode": 0, "errmsg": "ok"}``.
  An unknown token → 300001; with a secret for the token, a missing, wrong or stale (over an hour)
  signature → 310000, as is a message without one of the configured ``keywords``.
* Feishu ``POST /open-apis/bot/v2/hook/<token>`` → ``{"code": 0, "msg": "success", "data": {}}``.
  An unknown token → 19001; with a secret, a bad signature → 19021; missing keywords → 19024.
* A plain webhook ``POST /hooks/<name>`` → HTTP 200 ``{"ok": true}`` for any JSON object.

Each robot takes so many messages per rolling window and answers the next with its rate-limit code
(WeCom 45009, DingTalk 130101, Feishu 9499 with HTTP 400): 20 a minute for WeCom and DingTalk, 100
for Feishu (its 5-a-second limit is not imitated), unless ``limit``/``window`` say otherwise. Only
accepted messages count, and only they are recorded (:attr:`RobotReplica.messages`).

Faults for tests: ``replica.fail_next(answer, count=1, channel=None)`` or ``POST
/__sandbox__/robot/fault`` ``{"answer": "45009", "count": 3, "channel": "wecom"}``. ``answer`` is one
of :data:`ANSWERS`, each given in the robot's own words — "45009" its rate-limit answer, "-1" its
busy answer (Feishu, which documents none, says 11232 "frequency limited"), "93000" its
bad-credential answer, "500" an HTTP 500 page from the gateway, "timeout"
the answer held for ``timeout_delay`` seconds (then the message is taken as usual: the robot did get
it, the client just stopped waiting) — or any other error code of that robot, like "310000" or
"19024". ``GET /__sandbox__/robot/messages`` lists what was accepted, ``POST /__sandbox__/robot/reset``
forgets messages, faults and rate windows. (The server-wide fault switch, ``/__sandbox__/fault``,
replaces the answer *after* the robot took the message: a gateway failing on the way back.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.server import Handler, Request, Response

__all__ = ["ANSWERS", "CHANNELS", "RobotMessage", "RobotReplica"]

CHANNELS = ("wecom", "dingtalk", "feishu", "webhook")
ANSWERS = ("45009", "-1", "93000", "500", "timeout")
REAL_LIMITS = {"wecom": 20, "dingtalk": 20, "feishu": 100}  # messages a minute, per robot
SIGNATURE_WINDOW = 3600.0  # both DingTalk and Feishu refuse a timestamp more than an hour off
WECOM_MARKDOWN_BYTES, WECOM_TEXT_BYTES = 4096, 2048
DINGTALK_TEXT_BYTES = 20_000
FEISHU_BODY_BYTES = 20 * 1024

_WECOM_TYPES = {"text", "markdown", "markdown_v2", "image", "news", "file", "voice", "template_card"}
_DINGTALK_TYPES = {"text", "link", "markdown", "actionCard", "feedCard"}
_FEISHU_TYPES = {"text", "post", "image", "share_chat", "interactive"}
_HINT = ", hint: [1732365600000000000001], more info at https://open.work.weixin.qq.com/devtool/query"
_MESSAGES = {
    # WeCom
    -1: "system busy",
    40008: "invalid message type",
    40035: "invalid args, hint: Warning: wrong json format.",
    40058: "content exceed max length",
    44004: "empty content",
    45009: "api freq out of limit",
    93000: "invalid webhook url",
    # DingTalk
    130101: "send too fast, exceed 20 times per minute",
    300001: "token is not exist",
    310000: "sign not match",
    # Feishu
    9499: "too many request",
    11232: "frequency limited",
    19001: "param invalid: incoming webhook access token invalid",
    19021: "sign match fail or timestamp is not within one hour from current time",
    19022: "Ip Not Allowed",
    19024: "Key Words Not Found",
}
# The named answers, in each robot's own code.
_RATE_LIMITED = {"wecom": 45009, "dingtalk": 130101, "feishu": 9499}
_BUSY = {"wecom": -1, "dingtalk": -1, "feishu": 11232}
_BAD_CREDENTIAL = {"wecom": 93000, "dingtalk": 300001, "feishu": 19001}
_WEBHOOK_STATUS = {"45009": 429, "-1": 503, "93000": 404}


@dataclass(frozen=True)
class RobotMessage:
    """One message a robot accepted."""

    channel: str  # wecom | dingtalk | feishu | webhook
    key: str  # WeCom's key, DingTalk's access_token, Feishu's hook token, the webhook's name
    body: dict[str, Any]
    at: float  # Unix time it was accepted


@dataclass
class _Fault:
    answer: str
    count: int
    channel: str | None


class RobotReplica:
    """The robots on loopback.

    ``keys``: the keys/tokens that exist (None: any). ``secrets``: token → signing secret, for the
    DingTalk and Feishu robots that sign. ``keywords``: words one of which every DingTalk or Feishu
    message must hold (their "custom keywords" security setting). ``limit`` messages per ``window``
    seconds per robot (None: each robot's real limit a minute).
    """

    def __init__(
        self,
        *,
        keys: Iterable[str] | None = None,
        secrets: Mapping[str, str] | None = None,
        keywords: Iterable[str] = (),
        limit: int | None = None,
        window: float = 60.0,
        timeout_delay: float = 5.0,
    ) -> None:
        self.keys = set(keys) if keys is not None else None
        self.secrets = dict(secrets or {})
        self.keywords = list(keywords)
        self.limit = limit
        self.window = window
        self.timeout_delay = timeout_delay
        self.base_url: str | None = None
        self._lock = threading.Lock()
        self._messages: list[RobotMessage] = []
        self._faults: list[_Fault] = []
        self._sent: dict[tuple[str, str], deque[float]] = {}

    # ---- wiring and helpers for tests

    def routes(self) -> dict[str, Handler]:
        return {
            "/cgi-bin/webhook/send": self._wecom,
            "/robot/send": self._dingtalk,
            "/open-apis/bot/v2/hook/*": self._feishu,
            "/hooks/*": self._webhook,
            "/__sandbox__/robot/fault": self._control_fault,
            "/__sandbox__/robot/messages": self._control_messages,
            "/__sandbox__/robot/reset": self._control_reset,
        }

    def bind(self, base_url: str) -> None:
        """Called by the server once it listens: the URL helpers below build on it."""
        self.base_url = base_url

    def wecom_url(self, key: str) -> str:
        return f"{self._base()}/cgi-bin/webhook/send?key={key}"

    def dingtalk_url(self, token: str) -> str:
        return f"{self._base()}/robot/send?access_token={token}"

    def feishu_url(self, token: str) -> str:
        return f"{self._base()}/open-apis/bot/v2/hook/{token}"

    def webhook_url(self, name: str) -> str:
        return f"{self._base()}/hooks/{name}"

    @property
    def messages(self) -> list[RobotMessage]:
        with self._lock:
            return list(self._messages)

    def messages_for(self, channel: str | None = None, key: str | None = None) -> list[RobotMessage]:
        return [m for m in self.messages if channel in (None, m.channel) and key in (None, m.key)]

    def fail_next(self, answer: str, count: int = 1, channel: str | None = None) -> None:
        """Answer the next ``count`` messages (to ``channel``'s robots only, if given) with ``answer``."""
        answer = str(answer).strip()
        if answer not in ANSWERS and not answer.lstrip("-").isdigit():
            raise ValueError(f"unknown answer {answer!r} — use one of {', '.join(ANSWERS)} or a robot's error code")
        if channel is not None and channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r} — use one of {', '.join(CHANNELS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(_Fault(answer, count, channel))

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._faults.clear()
            self._sent.clear()

    def fault_response(self, mode: str, normal: Response) -> Response:
        """The server-wide fault switch, as a robot's gateway shows it."""
        if mode == "truncated":
            return Response(status=normal.status, body=normal.body[: len(normal.body) // 2])
        if mode in ("http418", "http432"):
            return Response(status=int(mode.removeprefix("http")), body=normal.body)
        return _gateway_page(503, "Service Temporarily Unavailable")

    # ---- the robots

    def _wecom(self, request: Request) -> Response:
        if request.method != "POST":
            return _gateway_page(405, "Method Not Allowed")
        key = request.query.get("key", "")
        injected = self._injected("wecom", key)
        if injected is not None:
            return injected
        if not key or (self.keys is not None and key not in self.keys):
            return _wecom_error(93000)
        body = _json_object(request.body)
        if body is None:
            return _wecom_error(40035)
        kind = body.get("msgtype")
        if kind not in _WECOM_TYPES:
            return _wecom_error(40008)
        if kind in ("text", "markdown", "markdown_v2"):
            content = body.get(kind, {}).get("content") if isinstance(body.get(kind), dict) else None
            if not isinstance(content, str) or not content.strip():
                return _wecom_error(44004)
            limit = WECOM_TEXT_BYTES if kind == "text" else WECOM_MARKDOWN_BYTES
            if len(content.encode("utf-8")) > limit:
                return _wecom_error(40058, f"{kind}.content exceed max length {limit}. invalid Request Parameter")
        return self._accept("wecom", key, body) or _wecom_error(0, "ok")

    def _dingtalk(self, request: Request) -> Response:
        if request.method != "POST":
            return _gateway_page(405, "Method Not Allowed")
        token = request.query.get("access_token", "")
        injected = self._injected("dingtalk", token)
        if injected is not None:
            return injected
        if not token or (self.keys is not None and token not in self.keys):
            return _dingtalk_error(300001)
        secret = self.secrets.get(token)
        if secret is not None:
            timestamp, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
            problem = _dingtalk_signature_problem(secret, timestamp, sign)
            if problem:
                return _dingtalk_error(310000, problem)
        body = _json_object(request.body)
        if body is None:
            return _dingtalk_error(40035, "缺少参数 json")
        kind = body.get("msgtype")
        if kind not in _DINGTALK_TYPES:
            return _dingtalk_error(40035, "不合法的 msgtype")
        if kind == "markdown":
            markdown = body.get("markdown")
            if not isinstance(markdown, dict) or not markdown.get("title") or not markdown.get("text"):
                return _dingtalk_error(40035, "缺少参数 markdown.title 或 markdown.text")
            if len(str(markdown["text"]).encode("utf-8")) > DINGTALK_TEXT_BYTES:
                return _dingtalk_error(460101, "message too long")  # the replica's code: DingTalk's is undocumented
        if self.keywords and not self._has_keyword(body):
            return _dingtalk_error(310000, "keywords not in content")
        return self._accept("dingtalk", token, body) or _dingtalk_error(0, "ok")

    def _feishu(self, request: Request) -> Response:
        if request.method != "POST":
            return _gateway_page(405, "Method Not Allowed")
        token = request.path.rsplit("/", 1)[-1]
        injected = self._injected("feishu", token)
        if injected is not None:
            return injected
        if not token or (self.keys is not None and token not in self.keys):
            return _feishu_error(19001)
        if len(request.body) > FEISHU_BODY_BYTES:
            return _feishu_error(19001, "param invalid: request body is over 20 KB")  # the replica's wording
        body = _json_object(request.body)
        if body is None:
            return _feishu_error(19001, "param invalid: body is not a JSON object")
        secret = self.secrets.get(token)
        if secret is not None and not _feishu_signature_ok(secret, body.get("timestamp"), body.get("sign")):
            return _feishu_error(19021)
        if body.get("msg_type") not in _FEISHU_TYPES:
            return _feishu_error(19001, "param invalid: msg_type")
        if body["msg_type"] == "interactive" and not isinstance(body.get("card"), dict):
            return _feishu_error(19001, "param invalid: card")
        if self.keywords and not self._has_keyword(body):
            return _feishu_error(19024)
        return self._accept("feishu", token, body) or Response.json({"code": 0, "data": {}, "msg": "success"})

    def _webhook(self, request: Request) -> Response:
        if request.method != "POST":
            return _gateway_page(405, "Method Not Allowed")
        name = request.path.removeprefix("/hooks/")
        injected = self._injected("webhook", name)
        if injected is not None:
            return injected
        body = _json_object(request.body)
        if body is None:
            return Response.json({"ok": False, "error": "send a JSON object"}, status=400)
        self._record("webhook", name, body)
        return Response.json({"ok": True})

    # ---- shared steps

    def _injected(self, channel: str, key: str) -> Response | None:
        """The injected answer for this request, if a fault is pending (a held answer is None after the wait)."""
        with self._lock:
            fault = next((f for f in self._faults if f.channel in (None, channel)), None)
            if fault is None:
                return None
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)
        if fault.answer == "timeout":
            time.sleep(self.timeout_delay)
            return None
        if fault.answer == "500":
            return _gateway_page(500, "Internal Server Error")
        if channel == "webhook":
            return Response.json({"ok": False}, status=_WEBHOOK_STATUS.get(fault.answer, 500))
        named = {"45009": _RATE_LIMITED, "-1": _BUSY, "93000": _BAD_CREDENTIAL}.get(fault.answer)
        code = named[channel] if named else int(fault.answer)
        return {"wecom": _wecom_error, "dingtalk": _dingtalk_error, "feishu": _feishu_error}[channel](code, None)

    def _accept(self, channel: str, key: str, body: dict[str, Any]) -> Response | None:
        """Take the message unless the robot is over its limit (then: that answer)."""
        limit = self.limit if self.limit is not None else REAL_LIMITS[channel]
        now = time.monotonic()
        with self._lock:
            sent = self._sent.setdefault((channel, key), deque())
            while sent and now - sent[0] >= self.window:
                sent.popleft()
            if len(sent) >= limit:
                over = True
            else:
                over = False
                sent.append(now)
                self._messages.append(RobotMessage(channel, key, body, time.time()))
        if not over:
            return None
        code = _RATE_LIMITED[channel]
        return {"wecom": _wecom_error, "dingtalk": _dingtalk_error, "feishu": _feishu_error}[channel](code, None)

    def _record(self, channel: str, key: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._messages.append(RobotMessage(channel, key, body, time.time()))

    def _has_keyword(self, body: dict[str, Any]) -> bool:
        text = json.dumps(body, ensure_ascii=False)
        return any(word in text for word in self.keywords)

    def _base(self) -> str:
        if self.base_url is None:
            raise RuntimeError("the replica is not served yet — put it in a SandboxServer first")
        return self.base_url

    # ---- control endpoints

    def _control_fault(self, request: Request) -> Response:
        spec = _json_object(request.body) if request.method == "POST" else None
        if spec is None:
            example = '{"answer": "45009", "count": 3}'
            return Response.json({"ok": 0, "msg": f"POST a JSON object like {example}"}, status=400)
        try:
            self.fail_next(str(spec.get("answer", "")), int(spec.get("count", 1)), spec.get("channel"))
        except (TypeError, ValueError) as error:
            return Response.json({"ok": 0, "msg": str(error)}, status=400)
        return Response.json({"ok": 1})

    def _control_messages(self, request: Request) -> Response:
        return Response.json({"ok": 1, "messages": [asdict(message) for message in self.messages]})

    def _control_reset(self, request: Request) -> Response:
        if request.method != "POST":
            return Response.json({"ok": 0, "msg": "POST to reset"}, status=405)
        self.reset()
        return Response.json({"ok": 1})


# ---- answers, in each robot's words


def _wecom_error(code: int, message: str | None = None) -> Response:
    words = message if message is not None else _MESSAGES.get(code, "injected fault")
    return Response.json({"errcode": code, "errmsg": words if code == 0 else words + _HINT})


def _dingtalk_error(code: int, message: str | None = None) -> Response:
    words = message if message is not None else _MESSAGES.get(code, "injected fault")
    return Response.json({"errcode": code, "errmsg": words})


def _feishu_error(code: int, message: str | None = None) -> Response:
    status = 400 if code == 9499 else 200  # Feishu sends its rate-limit answer with HTTP 400
    words = message if message is not None else _MESSAGES.get(code, "injected fault")
    return Response.json({"code": code, "data": {}, "msg": words}, status=status)


def _gateway_page(status: int, reason: str) -> Response:
    page = f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
    return Response.html(page, status)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _dingtalk_signature_problem(secret: str, timestamp: str, sign: str) -> str | None:
    """Why DingTalk would refuse this signature, or None. (The query string arrives URL-decoded.)"""
    if not timestamp.isdigit() or not sign:
        return "sign not match, timestamp and sign are required"
    if abs(time.time() * 1000 - int(timestamp)) > SIGNATURE_WINDOW * 1000:
        return "invalid timestamp"
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return None if hmac.compare_digest(base64.b64encode(digest).decode(), sign) else "sign not match"


def _feishu_signature_ok(secret: str, timestamp: object, sign: object) -> bool:
    if not isinstance(timestamp, str) or not timestamp.isdigit() or not isinstance(sign, str):
        return False
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW:
        return False
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), sign)
