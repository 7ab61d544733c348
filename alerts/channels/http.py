"""One way to POST JSON to a robot, shared by every channel, that never leaks the webhook URL.

The robot URL carries its credential (``?key=``, ``?access_token=``, ``/hook/<token>``), and the
standard library's exceptions like to repeat it: ``ValueError("unknown url type: '…'")``,
``InvalidURL`` with the path, ``HTTPError.url``. So :func:`post_json` never passes an exception's
text on: it catches everything, and builds every detail itself from the kind of failure.

Transport trouble (refused, reset, timed out, DNS) is worth a retry; an HTTP 429 or 5xx too; any
other HTTP status is the caller's to read (robots answer some errors with a 4xx *and* a JSON code,
Feishu's rate limit for one), falling back on :func:`by_status`.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from alerts.message import Delivery

__all__ = ["HttpAnswer", "by_status", "post_json", "robot_reply", "scrub"]

_MAX_ANSWER_BYTES = 64 * 1024  # a robot answers in a few dozen bytes; never read a runaway body whole
_USER_AGENT = "fengxiang-alerts/1"


@dataclass(frozen=True)
class HttpAnswer:
    """What the robot said: the status, its JSON (None when the body is not JSON), any Retry-After."""

    status: int
    data: Any
    retry_after: float | None = None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A robot never redirects; following one would re-send the alert (as a GET, body dropped) elsewhere.
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, payload: dict[str, Any], *, timeout: float) -> HttpAnswer | Delivery:
    """POST ``payload`` as UTF-8 JSON; the answer, or a retry/failed :class:`Delivery` if there is none."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if not _is_web_address(url):
        return Delivery("failed", "the webhook is not a valid http(s) URL")
    try:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": _USER_AGENT},
        )
    except ValueError:  # its message holds the URL
        return Delivery("failed", "the webhook is not a valid http(s) URL")
    try:
        with _opener.open(request, timeout=timeout) as response:
            return _answer(response.status, response.headers, response.read(_MAX_ANSWER_BYTES))
    except urllib.error.HTTPError as error:  # a real answer, with a status >= 300
        try:
            content = error.read(_MAX_ANSWER_BYTES)
        except (OSError, http.client.HTTPException):
            content = b""
        finally:
            error.close()
        return _answer(error.code, error.headers, content)
    except urllib.error.URLError as error:
        return _transport_failure(error.reason, timeout)
    except (ValueError, http.client.InvalidURL):  # their messages hold the URL
        return Delivery("failed", "the webhook is not a valid http(s) URL")
    except (OSError, http.client.HTTPException) as error:
        return _transport_failure(error, timeout)
    except Exception as error:  # anything else urllib may raise: its text is not ours to pass on
        return Delivery("retry", f"unexpected error ({type(error).__name__})")


def by_status(answer: HttpAnswer, *, robot: bool = False) -> Delivery:
    """The outcome by HTTP status alone: 2xx sent, 429 and 5xx worth a retry, anything else failed.

    ``robot``: the answer should have been a robot's JSON. A 2xx without it came from something in
    between (a proxy's login page, a cut-off body), so nothing says the message was posted: retry.
    """
    if 200 <= answer.status < 300:
        if robot:
            return Delivery("retry", f"HTTP {answer.status} without the robot's answer")
        return Delivery("sent", f"HTTP {answer.status}")
    if answer.status == 429 or answer.status >= 500:
        return Delivery("retry", f"HTTP {answer.status}", answer.retry_after)
    return Delivery("failed", f"HTTP {answer.status}")


def robot_reply(answer: HttpAnswer, *code_keys: str) -> dict[str, Any] | None:
    """The robot's own JSON reply (holding one of ``code_keys``), or None when the status says it all.

    A 429 or 5xx is a retry whatever the body says (a gateway in front of the robot may have written
    it); so is a body that is not the robot's JSON, left to :func:`by_status`.
    """
    if answer.status == 429 or answer.status >= 500 or not isinstance(answer.data, dict):
        return None
    return answer.data if any(key in answer.data for key in code_keys) else None


def coded_delivery(
    answer: dict[str, Any],
    url: str,
    *,
    code_keys: tuple[str, ...],
    message_keys: tuple[str, ...],
    retry: Mapping[int, float | None],
    label: str,
) -> Delivery:
    """A robot's JSON answer as a delivery: code 0 sent, a code in ``retry`` (with its wait) retried,
    any other failed. ``url`` only masks the key out of the robot's message."""
    raw = next((answer[key] for key in code_keys if key in answer), -1)
    try:
        code = int(raw)
    except (TypeError, ValueError):
        code = -1
    said = next((answer[key] for key in message_keys if key in answer), "")
    detail = f"{label} {code}: {scrub(said, url)}"
    if code == 0:
        return Delivery("sent", detail)
    if code in retry:
        return Delivery("retry", detail, retry[code])
    return Delivery("failed", detail)


def scrub(text: object, url: str, limit: int = 200) -> str:
    """A robot's own words (``errmsg``), cut short, with the webhook URL's credential masked if it is there.

    No robot is known to echo its key, so this is a second line of defence: it masks the query's
    values and the path words that look like tokens (8+ characters with a digit: not "webhook").
    """
    words = " ".join(str(text).split())[:limit]
    parts = urlsplit(url)
    secrets = [value for _, value in parse_qsl(parts.query) if len(value) >= 4]
    secrets += [word for word in parts.path.split("/") if len(word) >= 8 and any(c.isdigit() for c in word)]
    for secret in sorted(secrets, key=len, reverse=True):
        words = words.replace(secret, "***")
    return words


def _is_web_address(url: str) -> bool:
    # urllib would also fetch ftp:// and file:// addresses; a robot is only ever http(s).
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)


def _answer(status: int, headers: Any, content: bytes) -> HttpAnswer:
    try:
        data = json.loads(content.decode("utf-8")) if content else None
    except (UnicodeDecodeError, ValueError):
        data = None
    return HttpAnswer(status, data, _retry_after(headers.get("Retry-After") if headers else None))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _transport_failure(reason: object, timeout: float) -> Delivery:
    """A detail built from the kind of failure only: the exception's own text may name the URL."""
    if isinstance(reason, TimeoutError | socket.timeout):
        return Delivery("retry", f"no answer within {timeout:g} s")
    if isinstance(reason, ssl.SSLCertVerificationError):
        return Delivery("failed", "the robot's TLS certificate was not trusted")
    if isinstance(reason, ssl.SSLError):
        return Delivery("retry", "the TLS handshake failed")
    if isinstance(reason, socket.gaierror):
        return Delivery("retry", "the robot's host name did not resolve")
    if isinstance(reason, ConnectionRefusedError):
        return Delivery("retry", "connection refused")
    if isinstance(reason, ConnectionError | http.client.HTTPException):
        return Delivery("retry", f"connection lost ({type(reason).__name__})")
    if isinstance(reason, OSError):
        return Delivery("retry", f"network error ({type(reason).__name__})")
    # urllib's own complaints ("no host given", "unknown url type: …") are strings: the URL is unusable.
    return Delivery("failed", "the webhook is not a usable http(s) URL")
