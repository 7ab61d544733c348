"""Weibo's QR login page, imitated: what `fengxiang login weibo` drives in a browser, offline.

The real flow (passport.weibo.com, 2025): the sign-in page shows a QR code from
``/sso/v2/qrcode/image`` and polls ``/sso/v2/qrcode/check?qrid=…``, whose ``retcode`` is 50114001
while nobody has scanned, 50114002 once the app has scanned (waiting for "confirm" on the phone),
50114004 when the code expired, and 20000000 with a ``data.url`` to go on to once confirmed — by then
the ``SUB`` and ``SUBP`` session cookies are set. Here, in one origin:

* ``GET /signin/qrcode?url=/`` — the page: a QR code (an SVG that only looks like one) and a script
  polling the check every 500 ms; on success it goes to ``url`` (a path on this origin).
* ``GET /signin/qrcode/check?qrid=…`` — the status above; the success answer sets the cookies.
* ``GET /`` — a minimal m.weibo.cn home page, logged in or not.
* ``POST /__sandbox__/weibo/login/scan`` body ``{"qrid": …, "confirm": true}`` (both optional; no
  qrid: the newest code) — the phone app scanning the code, and confirming unless ``confirm`` is false.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

from sandbox.server import Handler, Request, Response

__all__ = ["CONFIRMED", "EXPIRED", "SCANNED", "WAITING", "WeiboLoginReplica"]

WAITING = 50114001
SCANNED = 50114002
EXPIRED = 50114004
CONFIRMED = 20000000
_MESSAGES = {WAITING: "未使用", SCANNED: "已扫描，请在手机上确认", EXPIRED: "二维码已过期", CONFIRMED: "succ"}
_YEAR = 365 * 24 * 3600


@dataclass
class _QrCode:
    redirect: str
    shown_at: float = field(default_factory=time.monotonic)
    status: int = WAITING
    set_cookies: list[str] = field(default_factory=list)  # the session, made when the phone confirms


class WeiboLoginReplica:
    """QR login on loopback; ``qr_lifetime`` is how long a code can be scanned (Weibo's last about 3 min)."""

    def __init__(self, qr_lifetime: float = 180.0) -> None:
        self.qr_lifetime = qr_lifetime
        self._lock = threading.Lock()
        self._codes: dict[str, _QrCode] = {}  # insertion order: the last one is the newest

    def routes(self) -> dict[str, Handler]:
        return {
            "/": self._home,
            "/signin/qrcode": self._signin_page,
            "/signin/qrcode/check": self._check,
            "/__sandbox__/weibo/login/scan": self._scan,
        }

    def fault_response(self, mode: str, normal: Response) -> Response:
        return normal  # the login pages are not what the fault switch is for

    def _signin_page(self, request: Request) -> Response:
        redirect = request.query.get("url", "/")
        if not redirect.startswith("/") or redirect.startswith("//"):
            redirect = "/"  # only paths on this origin: the sandbox is no open redirector
        qrid = secrets.token_hex(16)
        with self._lock:
            self._codes[qrid] = _QrCode(redirect)
        return Response.html(_PAGE.format(qr=_qr_svg(qrid), qrid=_js(qrid)))

    def _check(self, request: Request) -> Response:
        qrid = request.query.get("qrid", "")
        with self._lock:
            code = self._codes.get(qrid)
            if code is not None and code.status != CONFIRMED and self._expired(code):
                code.status = EXPIRED
            status = code.status if code else EXPIRED
        if status != CONFIRMED or code is None:
            return Response.json({"retcode": status, "msg": _MESSAGES[status], "data": None})
        response = Response.json({"retcode": CONFIRMED, "msg": _MESSAGES[CONFIRMED], "data": {"url": code.redirect}})
        response.headers += [("Set-Cookie", line) for line in code.set_cookies]
        return response

    def _scan(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Response.json({"ok": 0, "msg": 'send a JSON object like {"qrid": "…"} or nothing'}, status=400)
        with self._lock:
            qrid = str(body.get("qrid") or next(reversed(self._codes), ""))
            code = self._codes.get(qrid)
            if code is None:
                return Response.json({"ok": 0, "msg": "no such QR code — open /signin/qrcode first"}, status=404)
            if code.status == EXPIRED or self._expired(code):
                code.status = EXPIRED
                return Response.json({"ok": 0, "msg": "the QR code has expired — reload the page"}, status=409)
            code.status = CONFIRMED if body.get("confirm", True) else SCANNED
            if code.status == CONFIRMED:
                code.set_cookies = [
                    f"SUB=_2A25{secrets.token_urlsafe(48)}; Max-Age={_YEAR}; Path=/; HttpOnly",
                    f"SUBP=0033WrSXqPxfM725Ws9jqgMF55529P9D9W{secrets.token_hex(20)}; Max-Age={_YEAR}; Path=/",
                ]
            return Response.json({"ok": 1, "qrid": qrid, "retcode": code.status})

    def _home(self, request: Request) -> Response:
        logged_in = request.cookies.get("SUB", "").startswith("_2A25")
        body = "<p>已登录</p>" if logged_in else '<p>未登录 · <a href="/signin/qrcode?url=/">登录</a></p>'
        return Response.html(
            f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>微博</title>'
            f"</head><body><h1>微博</h1>{body}</body></html>"
        )

    def _expired(self, code: _QrCode) -> bool:
        return time.monotonic() - code.shown_at > self.qr_lifetime


def _js(text: str) -> str:
    # A JavaScript string literal that is also safe inside <script>.
    return json.dumps(text).replace("<", "\\u003c")


def _qr_svg(seed: str, size: int = 25) -> str:
    """An SVG that looks like a QR code: the three finder squares and pseudo-random modules."""
    bits = int.from_bytes(hashlib.shake_256(seed.encode()).digest(size * size // 8 + 1), "big")
    finders = [(0, 0), (size - 7, 0), (0, size - 7)]

    def in_finder(x: int, y: int) -> tuple[int, int] | None:
        # Each finder with its one-module white margin.
        return next(((x - fx, y - fy) for fx, fy in finders if -1 <= x - fx <= 7 and -1 <= y - fy <= 7), None)

    dark = []
    for y in range(size):
        for x in range(size):
            local = in_finder(x, y)
            if local is None:
                on = bool((bits >> (y * size + x)) & 1)
            else:
                lx, ly = local
                ring = max(abs(lx - 3), abs(ly - 3))  # 0-1: centre block, 2: white gap, 3: border, 4: margin
                on = ring in (0, 1, 3)
            if on:
                dark.append(f"M{x} {y}h1v1h-1z")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 {size + 4} {size + 4}" width="180" height="180"'
        f' shape-rendering="crispEdges" role="img" aria-label="登录二维码"><rect x="-2" y="-2" width="{size + 4}"'
        f' height="{size + 4}" fill="#fff"/><path fill="#000" d="{"".join(dark)}"/></svg>'
    )


_PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>微博登录</title>
<style>
body {{ font-family: sans-serif; background: #f2f2f5; margin: 0; }}
main {{ width: 320px; margin: 60px auto; padding: 24px; background: #fff; border-radius: 8px; text-align: center; }}
h1 {{ font-size: 18px; color: #333; }}
#status {{ color: #808080; font-size: 14px; }}
</style></head>
<body><main>
<h1>扫码登录</h1>
<div id="qrcode">{qr}</div>
<p id="status">打开微博App，扫一扫登录</p>
</main>
<script>
const qrid = {qrid};
const statusLine = document.getElementById("status");
async function poll() {{
  let answer;
  try {{
    const response = await fetch("/signin/qrcode/check?qrid=" + encodeURIComponent(qrid),
                                 {{ headers: {{ "X-Requested-With": "XMLHttpRequest" }} }});
    answer = await response.json();
  }} catch (error) {{
    setTimeout(poll, 500);
    return;
  }}
  if (answer.retcode === 20000000) {{
    statusLine.textContent = "登录成功，正在跳转…";
    location.href = answer.data.url;
  }} else if (answer.retcode === 50114004) {{
    statusLine.textContent = "二维码已过期，请刷新页面";
  }} else {{
    statusLine.textContent = answer.retcode === 50114002 ? "扫描成功，请在手机上确认登录" : "打开微博App，扫一扫登录";
    setTimeout(poll, 500);
  }}
}}
poll();
</script>
</body></html>
"""
