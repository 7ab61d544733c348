"""The sandbox's HTTP server: platform replicas on loopback, with a fault switch.

One ``ThreadingHTTPServer`` serves every replica (Weibo now; the other platforms and the WeCom robot
later). A replica is a set of routes, ``path -> handler``; a handler takes a :class:`Request` and
returns a :class:`Response`. The server itself only dispatches, applies the fault switch, counts
requests and answers the control endpoints under ``/__sandbox__/``:

* ``POST /__sandbox__/fault``  body ``{"mode": "http418", "count": 3, "after": 0, "path": "/api/"}``
  — the next ``count`` requests (all of them when ``count`` is absent) whose path starts with
  ``path`` get the fault, after ``after`` such requests went through normally; ``{"mode": "none"}``
  clears it.
* ``GET /__sandbox__/stats`` — requests served per path, and faults injected.
* ``POST /__sandbox__/reset`` — clear the fault and the counters.

Replicas may add their own control endpoints under ``/__sandbox__/<platform>/``; those, like the
server's, are never faulted or counted. A route ending in ``/*`` answers every path under it (a
robot's ``/hook/<token>``), when no exact route does; a replica with a ``bind(base_url)`` method is
told the server's address once it listens.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import orjson

__all__ = ["FAULT_MODES", "FaultSwitch", "Replica", "Request", "Response", "SandboxServer"]

# none: answer normally. The others are what real platforms do to crawlers:
FAULT_MODES = (
    "none",
    "http418",  # "I'm a teapot": Weibo's rate-limit answer
    "http432",  # Weibo's anti-crawler answer
    "login",  # a JSON body saying login is required (Weibo: {"ok":-100,"url":…passport…})
    "visitor",  # the visitor-verification HTML page instead of JSON (Weibo: "Sina Visitor System")
    "busy",  # HTTP 200 and JSON saying "too frequent" instead of data (Weibo: {"ok":0,"msg":"请求过于频繁…"})
    "truncated",  # the normal body cut off halfway: invalid JSON
    "slow",  # the normal body after a delay (``delay`` seconds, default 5)
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]  # first value of each parameter
    headers: Mapping[str, str]
    cookies: dict[str, str]
    body: bytes = b""

    def json(self) -> object:
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, data: object, status: int = 200) -> Response:
        # orjson writes compact JSON with non-ASCII kept, the byte shape of the real APIs, and is several
        # times faster than json on big search pages.
        return cls(status=status, body=orjson.dumps(data))

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status=status, body=text.encode(), content_type="text/html; charset=utf-8")


Handler = Callable[[Request], Response]


class Replica(Protocol):
    """A platform (or robot) the sandbox imitates."""

    def routes(self) -> dict[str, Handler]:
        """Exact paths this replica answers, like ``/api/container/getIndex`` (``/prefix/*``: all under it)."""

    def fault_response(self, mode: str, normal: Response) -> Response:
        """What this platform sends for a fault mode (``normal`` is the answer it replaces)."""


@dataclass
class _Fault:
    mode: str = "none"
    count: int | None = None  # None: until cleared
    after: int = 0
    path: str = "/"
    delay: float = 5.0


class FaultSwitch:
    """Thread-safe: which fault the next requests get."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fault = _Fault()
        self.injected: Counter[str] = Counter()

    def set(self, mode: str, *, count: int | None = None, after: int = 0, path: str = "/", delay: float = 5.0) -> None:
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r} — use one of {', '.join(FAULT_MODES)}")
        with self._lock:
            self._fault = _Fault(mode, count, after, path, delay)

    def clear(self) -> None:
        self.set("none")

    def take(self, path: str) -> tuple[str, float]:
        """The fault (and delay) for a request to ``path``; counts it down."""
        with self._lock:
            fault = self._fault
            if fault.mode == "none" or not path.startswith(fault.path):
                return "none", 0.0
            if fault.after > 0:
                fault.after -= 1
                return "none", 0.0
            if fault.count is not None:
                if fault.count <= 0:
                    return "none", 0.0
                fault.count -= 1
            self.injected[fault.mode] += 1
            return fault.mode, fault.delay


class SandboxServer:
    """Serve replicas on ``host:port`` (port 0: any free port) in a background thread."""

    def __init__(self, replicas: list[Replica], host: str = "127.0.0.1", port: int = 0) -> None:
        self.faults = FaultSwitch()
        self.requests: Counter[str] = Counter()
        self._routes: dict[str, tuple[Replica, Handler]] = {}
        self._prefix_routes: dict[str, tuple[Replica, Handler]] = {}
        for replica in replicas:
            for path, handler in replica.routes().items():
                if path.endswith("/*"):
                    self._prefix_routes[path[:-1]] = (replica, handler)
                else:
                    self._routes[path] = (replica, handler)
        self._counter_lock = threading.Lock()
        self._httpd = _Server((host, port), _handler_class(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        for replica in replicas:
            bind = getattr(replica, "bind", None)
            if callable(bind):
                bind(self.base_url)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def dispatch(self, request: Request) -> tuple[Response, float]:
        """The response to a request, and how long to wait before sending it."""
        if request.path.startswith("/__sandbox__/"):
            # Control endpoints: the server's own, or a replica's (like moving its clock on).
            control = self._routes.get(request.path)
            return (control[1](request) if control else self._control(request)), 0.0
        with self._counter_lock:
            self.requests[request.path] += 1
        route = self._routes.get(request.path) or self._prefix_route(request.path)
        if route is None:
            return Response.json({"ok": 0, "msg": "not found", "path": request.path}, status=404), 0.0
        replica, handler = route
        mode, delay = self.faults.take(request.path)
        response = handler(request)
        if mode == "none":
            return response, 0.0
        if mode == "slow":
            return response, delay
        return replica.fault_response(mode, response), 0.0

    def _prefix_route(self, path: str) -> tuple[Replica, Handler] | None:
        matches = [prefix for prefix in self._prefix_routes if path.startswith(prefix) and len(path) > len(prefix)]
        return self._prefix_routes[max(matches, key=len)] if matches else None

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/__sandbox__/")
        if action == "fault" and request.method == "POST":
            spec = request.json()
            if not isinstance(spec, dict):
                return Response.json({"ok": 0, "msg": "send a JSON object"}, status=400)
            try:
                self.faults.set(
                    str(spec.get("mode", "none")),
                    count=spec.get("count"),
                    after=int(spec.get("after", 0)),
                    path=str(spec.get("path", "/")),
                    delay=float(spec.get("delay", 5.0)),
                )
            except ValueError as err:
                return Response.json({"ok": 0, "msg": str(err)}, status=400)
            return Response.json({"ok": 1})
        if action == "stats":
            return Response.json({"ok": 1, "requests": dict(self.requests), "faults": dict(self.faults.injected)})
        if action == "reset" and request.method == "POST":
            self.faults.clear()
            with self._counter_lock:
                self.requests.clear()
            self.faults.injected.clear()
            return Response.json({"ok": 1})
        return Response.json({"ok": 0, "msg": f"unknown control action {action!r}"}, status=404)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A crawler that timed out or was killed hangs up mid-answer: expected here, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _handler_class(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real sites: crawlers reuse connections
        # Headers and body go out in separate writes; with Nagle's algorithm on, the body then waits
        # for the client's delayed ACK (~40 ms a request on loopback).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            cookies = SimpleCookie()
            cookies.load(self.headers.get("Cookie", ""))
            request = Request(
                method=method,
                path=parts.path,
                query={key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()},
                headers=dict(self.headers.items()),
                cookies={key: morsel.value for key, morsel in cookies.items()},
                body=body,
            )
            response, delay = server.dispatch(request)
            if delay:
                time.sleep(delay)
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the crawler's own log says what it fetched; per-request lines would drown it

    return _Handler
