"""A loopback stand-in for the few Elasticsearch endpoints the store's schema and bulk code call.

It records every request (method, path, query parameters, body; a ``_bulk`` body as its list of NDJSON
lines) and answers as Elasticsearch 8/9 does, with the ``X-Elastic-Product`` header the official client
insists on. It keeps indices and documents in memory, enough for ``exists``/``create``, ``ids`` searches
over an index pattern and ``_bulk`` index/delete. Two switches make it misbehave: ``bulk_overloads``
answers that many ``_bulk`` requests with a whole-request 429, and ``refuse`` maps a document id to the
per-item error its index action gets.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

_ACKNOWLEDGED = {"acknowledged": True}
_TEMPLATE_PREFIXES = ("/_component_template/", "/_index_template/", "/_ilm/policy/")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    body: Any  # parsed JSON, a list of parsed NDJSON lines for _bulk, None without a body
    raw: bytes  # the body as sent


@dataclass
class EsRecorder:
    requests: list[Recorded] = field(default_factory=list)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # index → _id → _source
    bulk_overloads: int = 0
    refuse: dict[str, dict[str, Any]] = field(default_factory=dict)  # _id → the error object to answer

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval: shutdown() waits for the loop's next look at the stop flag.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> EsRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def of(self, method: str, path_prefix: str) -> list[Recorded]:
        """The recorded requests with this method whose path starts with ``path_prefix``."""
        return [
            request for request in self.requests if request.method == method and request.path.startswith(path_prefix)
        ]

    def answer(self, request: Recorded) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(request)
            return self._route(request)

    def _route(self, request: Recorded) -> tuple[int, Any]:
        method, path = request.method, request.path
        if method == "PUT" and path.startswith(_TEMPLATE_PREFIXES):
            return 200, _ACKNOWLEDGED
        if path.endswith("/_bulk"):
            return self._bulk(request.body)
        if path.endswith("/_search"):
            return 200, self._search(path.split("/")[1], request.body)
        index = path.strip("/")
        if method == "HEAD":
            return (200 if index in self.documents else 404), None
        if method == "PUT":
            return self._create_index(index)
        return 400, _error("unsupported_by_recorder", f"{method} {path}", 400)

    def _create_index(self, index: str) -> tuple[int, Any]:
        if index in self.documents:
            return 400, _error("resource_already_exists_exception", f"index [{index}] already exists", 400)
        self.documents[index] = {}
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": index}

    def _search(self, pattern: str, body: dict[str, Any]) -> dict[str, Any]:
        wanted = set(body["query"]["ids"]["values"])
        fields = body.get("_source", {}).get("includes", [])  # the top-level fields to return
        hits = [
            {"_index": index, "_id": doc_id, "_score": 1.0}
            | ({"_source": {name: value for name, value in source.items() if name in fields}} if fields else {})
            for index, docs in sorted(self.documents.items())
            if fnmatch.fnmatchcase(index, pattern)
            for doc_id, source in docs.items()
            if doc_id in wanted
        ][: body.get("size", 10)]
        return {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": 1.0, "hits": hits},
        }

    def _bulk(self, lines: list[dict[str, Any]]) -> tuple[int, Any]:
        if self.bulk_overloads:
            self.bulk_overloads -= 1
            return 429, _error("es_rejected_execution_exception", "rejected execution of bulk request", 429)
        items = []
        pending = iter(lines)
        for header in pending:
            ((operation, meta),) = header.items()
            source = next(pending) if operation == "index" else None
            items.append({operation: self._bulk_item(operation, meta, source)})
        errors = any("error" in item for entry in items for item in entry.values())
        return 200, {"took": 3, "errors": errors, "items": items}

    def _bulk_item(self, operation: str, meta: dict[str, Any], source: Any) -> dict[str, Any]:
        index, doc_id = meta["_index"], meta["_id"]
        item: dict[str, Any] = {"_index": index, "_id": doc_id}
        if operation == "index" and doc_id in self.refuse:
            return {**item, "status": 400, "error": self.refuse[doc_id]}
        docs = self.documents.setdefault(index, {})
        if operation == "delete":
            found = docs.pop(doc_id, None) is not None
            return {**item, "result": "deleted" if found else "not_found", "status": 200 if found else 404}
        created = doc_id not in docs
        docs[doc_id] = source
        return {**item, "result": "created" if created else "updated", "status": 201 if created else 200}


def _error(kind: str, reason: str, status: int) -> dict[str, Any]:
    cause = {"type": kind, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def _handler_for(recorder: EsRecorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
        # Headers and body leave in one packet: sent apart, delayed ACKs cost ~40 ms a request.
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            params = dict(parse_qsl(url.query))
            status, answer = recorder.answer(Recorded(self.command, url.path, params, _parse(url.path, raw), raw))
            payload = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the recorded requests are the log

    return Handler


def _parse(path: str, raw: bytes) -> Any:
    if not raw:
        return None
    if path.endswith("/_bulk"):
        return [json.loads(line) for line in raw.decode().splitlines() if line]
    return json.loads(raw)
