"""An in-memory stand-in for an Elasticsearch 8/9 cluster over HTTP on loopback — NOT Elasticsearch.

It exists because no Elasticsearch server can be installed here: the Elasticsearch-backed store
(``store/elasticsearch.py``) runs the store contract suite against it. A green run here is evidence about
the requests the store sends, not a run against a live cluster; run the suite against a real cluster
(``FENGXIANG_TEST_ES_URL``) before trusting a release.

What it covers, answering with the bodies, statuses and error shapes Elasticsearch 8 uses:

* cluster info (``GET /``), component and index templates (``index_patterns``, ``composed_of``,
  ``priority``, ``template.settings/mappings/aliases``), ILM policies (stored, never run), index create /
  exists / delete / mapping, aliases from templates, index expressions (names, ``*``, aliases);
* documents: index / create / get / exists / delete / update (``doc``, ``upsert``, ``doc_as_upsert``,
  ``detect_noop``), ``if_seq_no``/``if_primary_term``, ``_bulk``, ``_mget``, validation against the
  mapping (``dynamic: strict`` refusals, type checks, ``enabled: false`` objects kept but not indexed);
* near-real-time visibility: search, count, aggregations and delete-by-query see only refreshed
  documents; get/mget are realtime. There is NO periodic refresh (real clusters refresh every second),
  so a store that forgets ``refresh`` is caught here;
* ``_search`` (query, size/from, sort, search_after, _source filtering, track_total_hits,
  seq_no_primary_term), ``_count``, ``_delete_by_query``;
* queries: match_all, match_none, bool, constant_score, term, terms, range, exists, ids, prefix,
  wildcard, regexp (Lucene syntax), match, match_phrase;
* aggregations: terms, date_histogram, filter, filters, composite (terms sources), global, top_hits,
  sum, min, max, avg, value_count, cardinality, stats.

Refusals it answers as Elasticsearch 8 does (status, error type, mostly the reason too): a missing
concrete index (404), an existing index (400), version conflicts of ``_create``/``op_type=create`` and
stale ``if_seq_no`` (409; per item in ``_bulk``; ``_delete_by_query`` with ``conflicts=abort``),
``dynamic: strict`` and type mismatches, writes through an alias of several indices, sorting on ``_id``,
on text or on an unmapped field without ``unmapped_type``, aggregating text or fields without doc values,
queries on fields neither indexed nor with doc values, ``from + size > 10000``, wildcard index deletes.

Where it differs from Elasticsearch on purpose:

* stricter: any request key, query, aggregation, URL parameter, endpoint or mapping/settings option it
  does not implement is refused with 400 ``emulator_unsupported_exception`` naming it (Elasticsearch
  would accept it); so are date math (``now``), scripts (and so ``_update_by_query``), pipeline
  aggregations, dynamic mapping (``dynamic: true``), ``terms`` ``min_doc_count: 0``, date formats other
  than the default, ``hard_bounds`` and ``wait_for_completion=false``;
* exact where Elasticsearch approximates: ``cardinality``, ``terms`` counts (one shard,
  ``doc_count_error_upper_bound`` always 0);
* scores are not BM25: every matching scoring clause adds 1.0 (filters and must_not add 0), so
  ``_score`` orders only roughly like Elasticsearch's;
* analysis knows the ``whitespace``, ``standard`` (approximated by word runs, CJK characters alone) and
  ``keyword`` tokenizers and the ``lowercase`` filter;
* one shard per index, no replicas; ``took`` is always 1;
* ``emulator.time_out_searches = True`` makes every search answer ``timed_out: true``;
* a bug in the emulator answers 500 ``emulator_internal_exception`` with its traceback.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import math
import re
import secrets
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

VERSION = "8.15.0"
MAX_RESULT_WINDOW = 10_000
DEFAULT_TRACK_TOTAL_HITS = 10_000
LONG_MAX, LONG_MIN = 2**63 - 1, -(2**63)
_COSMETIC_PARAMS = frozenset({"pretty", "human", "error_trace"})


# -- errors ---------------------------------------------------------------------------------------


class EsError(Exception):
    """A refusal, rendered as Elasticsearch's error body: ``root_cause`` may differ from the top type."""

    def __init__(self, status: int, kind: str, reason: str, *, cause: tuple[str, str] | None = None, **extra: Any):
        super().__init__(f"{kind}: {reason}")
        self.status, self.kind, self.reason = status, kind, reason
        self.cause = cause or (kind, reason)
        self.extra = extra

    def error(self) -> dict[str, Any]:
        """The ``error`` object (also what a ``_bulk`` item carries)."""
        root = {"type": self.cause[0], "reason": self.cause[1], **self.extra}
        error: dict[str, Any] = {"root_cause": [root], "type": self.kind, "reason": self.reason, **self.extra}
        if self.cause != (self.kind, self.reason):
            error["caused_by"] = {"type": self.cause[0], "reason": self.cause[1]}
        return error

    def body(self) -> dict[str, Any]:
        return {"error": self.error(), "status": self.status}


def unsupported(feature: str) -> EsError:
    return EsError(400, "emulator_unsupported_exception", f"the Elasticsearch emulator does not implement {feature}")


def illegal(reason: str) -> EsError:
    return EsError(400, "illegal_argument_exception", reason)


def shard_failure(kind: str, reason: str) -> EsError:
    """What a search answers when every shard refused the request (a bad field, sort or window)."""
    return EsError(400, "search_phase_execution_exception", "all shards failed", cause=(kind, reason))


def parsing(reason: str) -> EsError:
    return EsError(400, "parsing_exception", reason)


def index_not_found(name: str) -> EsError:
    error = EsError(404, "index_not_found_exception", f"no such index [{name}]")
    error.extra.update({"resource.type": "index_or_alias", "resource.id": name, "index": name})
    return error


def document_parsing(reason: str) -> EsError:
    return EsError(400, "document_parsing_exception", reason)


def check_keys(where: str, given: Iterable[str], allowed: Iterable[str]) -> None:
    """Refuse any key the emulator does not implement, so nothing is silently ignored."""
    for key in given:
        if key not in allowed:
            raise unsupported(f"[{key}] in {where}")


# -- dates ------------------------------------------------------------------------------------------

_DATE = re.compile(
    r"(?P<y>[+-]?\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)
_EPOCH = re.compile(r"-?\d+(\.\d+)?")
DEFAULT_DATE_FORMAT = "strict_date_optional_time||epoch_millis"


def parse_zone(name: str) -> tzinfo:
    if name in ("Z", "UTC", "utc"):
        return UTC
    offset = re.fullmatch(r"([+-])(\d{1,2})(?::?(\d{2}))?", name)
    if offset:
        sign = -1 if offset[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(offset[2]), minutes=int(offset[3] or 0)))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise illegal(f"Unknown time-zone ID: {name}") from None


def parse_date(value: Any, *, zone: tzinfo = UTC, round_up: bool = False, fmt: str | None = None) -> int:
    """Epoch milliseconds of a date as ``strict_date_optional_time||epoch_millis`` reads it (or
    ``epoch_second``/``epoch_millis`` alone); ``round_up`` fills missing components with their maximum,
    as Elasticsearch does for ``gt``/``lte`` bounds. ``ValueError`` when it does not parse."""
    if fmt not in (None, DEFAULT_DATE_FORMAT, "strict_date_optional_time", "epoch_millis", "epoch_second"):
        raise unsupported(f"the date format [{fmt}]")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(value)
    if isinstance(value, str) and ("now" in value or "||" in value):
        raise unsupported(f"date math [{value}]")
    text = str(value)
    if fmt == "epoch_second":
        return int(float(text) * 1000)
    matched = None if fmt == "epoch_millis" or not isinstance(value, str) else _DATE.fullmatch(text)
    if matched:
        return _date_millis(matched, zone, round_up)
    if _EPOCH.fullmatch(text):
        return int(float(text))
    raise ValueError(value)


def _date_millis(matched: re.Match[str], zone: tzinfo, round_up: bool) -> int:
    def part(name: str, low: int, high: int) -> int:
        return int(matched[name]) if matched[name] is not None else (high if round_up else low)

    year, month = int(matched["y"]), part("mo", 1, 12)
    last_day = (datetime(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    day = part("d", 1, last_day)
    moment = datetime(year, month, day, part("h", 0, 23), part("mi", 0, 59), part("s", 0, 59))
    fraction = matched["f"]
    millis = int((fraction + "00")[:3]) if fraction else (999 if round_up else 0)
    local = moment.replace(tzinfo=parse_zone(matched["z"]) if matched["z"] else zone)
    return int(local.timestamp()) * 1000 + millis


def format_date(millis: int, zone: tzinfo = UTC) -> str:
    """``strict_date_optional_time`` as Elasticsearch prints it: milliseconds, ``Z`` or ``+08:00``."""
    moment = datetime.fromtimestamp(millis // 1000, zone)
    offset = moment.utcoffset() or timedelta(0)
    if offset:
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        suffix = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    else:
        suffix = "Z"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}{suffix}"


# -- analysis ---------------------------------------------------------------------------------------

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_STANDARD_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "whitespace": str.split,
    "standard": _STANDARD_TOKEN.findall,
    "keyword": lambda text: [text],
}
_FILTERS: dict[str, Callable[[str], str]] = {"lowercase": str.lower}


@dataclass(frozen=True)
class Analyzer:
    tokenizer: str
    filters: tuple[str, ...] = ()

    def tokens(self, text: str) -> tuple[str, ...]:
        tokens = _TOKENIZERS[self.tokenizer](text)
        for name in self.filters:
            tokens = [_FILTERS[name](token) for token in tokens]
        return tuple(tokens)


_BUILTIN_ANALYZERS = {
    "standard": Analyzer("standard", ("lowercase",)),
    "whitespace": Analyzer("whitespace"),
    "keyword": Analyzer("keyword"),
}


def analyzers_of(settings: dict[str, Any]) -> dict[str, Analyzer]:
    """The built-in analyzers plus the custom ones of ``index.analysis.analyzer``."""
    analysis = settings.get("analysis", {})
    check_keys("index.analysis", analysis, ("analyzer",))
    found = dict(_BUILTIN_ANALYZERS)
    for name, definition in analysis.get("analyzer", {}).items():
        check_keys(f"analyzer [{name}]", definition, ("type", "tokenizer", "filter"))
        if definition.get("type", "custom") != "custom":
            raise unsupported(f"analyzer type [{definition['type']}]")
        tokenizer, filters = definition.get("tokenizer"), definition.get("filter", [])
        if tokenizer not in _TOKENIZERS:
            raise unsupported(f"the tokenizer [{tokenizer}]")
        for name_of_filter in filters:
            if name_of_filter not in _FILTERS:
                raise unsupported(f"the token filter [{name_of_filter}]")
        found[name] = Analyzer(tokenizer, tuple(filters))
    return found


# -- mappings ---------------------------------------------------------------------------------------

_INTEGER_RANGES = {"long": 63, "integer": 31, "short": 15, "byte": 7}
_FLOATS = ("float", "double", "half_float")
NUMERIC = (*_INTEGER_RANGES, *_FLOATS)
_STRINGS = ("keyword", "wildcard")
_LEAF_PARAMS: dict[str, tuple[str, ...]] = {
    "keyword": ("type", "index", "doc_values"),
    "wildcard": ("type",),
    "text": ("type", "index", "analyzer", "norms"),
    "date": ("type", "index", "doc_values", "format"),
    "boolean": ("type", "index", "doc_values"),
    **{kind: ("type", "index", "doc_values") for kind in NUMERIC},
}


@dataclass(frozen=True)
class FieldSpec:
    path: str
    type: str
    index: bool = True
    doc_values: bool = True
    analyzer: Analyzer | None = None

    @property
    def searchable(self) -> bool:
        """Since 8.1 keyword, numeric, date and boolean fields are searchable through doc values alone."""
        return self.index or (self.doc_values and self.type != "text")

    @property
    def aggregatable(self) -> bool:
        return self.type != "text" and self.doc_values

    def convert(self, value: Any, doc_id: str) -> Any:
        """The indexed form of one source value: a str, int, float, bool, epoch millis or tokens."""
        try:
            return self._convert(value)
        except (ValueError, TypeError, OverflowError):
            preview = json.dumps(value, ensure_ascii=False)
            raise document_parsing(
                f"failed to parse field [{self.path}] of type [{self.type}] in document with id '{doc_id}'. "
                f"Preview of field's value: '{preview}'"
            ) from None

    def _convert(self, value: Any) -> Any:
        if isinstance(value, dict):
            raise ValueError(value)
        if self.type in _STRINGS:
            return keyword_string(value)
        if self.type == "text":
            assert self.analyzer is not None
            return self.analyzer.tokens(keyword_string(value))
        if self.type == "date":
            return parse_date(value)
        if self.type == "boolean":
            return parse_boolean(value)
        return parse_number(self.type, value)


def keyword_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise ValueError(value)
    return str(value)


def parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false", ""):
        return value == "true"
    raise ValueError(value)


def parse_number(kind: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(value)
    number = float(value) if isinstance(value, str) else value
    if not math.isfinite(number):
        raise ValueError(value)
    if kind in _INTEGER_RANGES:
        whole = int(value) if isinstance(value, int) else int(number)  # coerce: decimals are truncated
        if not -(2 ** _INTEGER_RANGES[kind]) <= whole < 2 ** _INTEGER_RANGES[kind]:
            raise ValueError(value)
        return whole
    return float(number)


@dataclass(frozen=True)
class ObjectSpec:
    path: str
    dynamic: str  # "true", "false" or "strict", inherited from the parent object when not set
    enabled: bool = True


class Mapping:
    """One index's mapping, flattened: every leaf field and object under its dotted path."""

    def __init__(self, body: dict[str, Any], analyzers: dict[str, Analyzer]) -> None:
        check_keys("mappings", body, ("dynamic", "properties", "_meta"))
        self.body = body
        self.fields: dict[str, FieldSpec] = {}
        self.objects: dict[str, ObjectSpec] = {"": ObjectSpec("", _dynamic(body.get("dynamic", True)))}
        self._analyzers = analyzers
        self._add_properties(body.get("properties", {}), "")

    def _add_properties(self, properties: dict[str, Any], parent: str) -> None:
        for name, definition in properties.items():
            path = f"{parent}.{name}" if parent else name
            kind = definition.get("type", "object" if "properties" in definition else None)
            if kind == "object":
                self._add_object(path, definition, parent)
            elif kind in _LEAF_PARAMS:
                self.fields[path] = self._leaf(path, kind, definition)
            else:
                raise unsupported(f"the field type [{kind}] of [{path}]")

    def _add_object(self, path: str, definition: dict[str, Any], parent: str) -> None:
        check_keys(f"the mapping of object [{path}]", definition, ("type", "properties", "dynamic", "enabled"))
        dynamic = _dynamic(definition["dynamic"]) if "dynamic" in definition else self.objects[parent].dynamic
        self.objects[path] = ObjectSpec(path, dynamic, bool(definition.get("enabled", True)))
        self._add_properties(definition.get("properties", {}), path)

    def _leaf(self, path: str, kind: str, definition: dict[str, Any]) -> FieldSpec:
        check_keys(f"the mapping of field [{path}]", definition, _LEAF_PARAMS[kind])
        if definition.get("format", DEFAULT_DATE_FORMAT) != DEFAULT_DATE_FORMAT:
            raise unsupported(f"the date format [{definition['format']}] of [{path}]")
        analyzer = None
        if kind == "text":
            name = definition.get("analyzer", "standard")
            if name not in self._analyzers:
                raise EsError(400, "mapper_parsing_exception", f"analyzer [{name}] has not been configured in mappings")
            analyzer = self._analyzers[name]
        return FieldSpec(
            path, kind, bool(definition.get("index", True)), bool(definition.get("doc_values", True)), analyzer
        )

    def index_values(self, source: dict[str, Any], doc_id: str) -> dict[str, list[Any]]:
        """Validate a document against the mapping; the indexed values of every mapped leaf it holds."""
        values: dict[str, list[Any]] = {}
        self._walk_object(source, "", values, doc_id)
        return values

    def _walk_object(self, obj: dict[str, Any], parent: str, out: dict[str, list[Any]], doc_id: str) -> None:
        for key, value in obj.items():
            if not key or any(not part for part in key.split(".")):
                raise document_parsing(f"field name cannot be an empty string or contain empty parts: [{key}]")
            self._walk_key(key.split("."), value, parent, out, doc_id)

    def _walk_key(self, parts: list[str], value: Any, parent: str, out: dict[str, list[Any]], doc_id: str) -> None:
        path = f"{parent}.{parts[0]}" if parent else parts[0]
        if len(parts) == 1:
            self._walk_value(path, parts[0], value, parent, out, doc_id)
        elif path in self.objects:
            if self.objects[path].enabled:
                self._walk_key(parts[1:], value, path, out, doc_id)
        elif path in self.fields:
            raise document_parsing(
                f"Could not dynamically add mapping for field [{path}.{parts[1]}]. "
                f"Existing mapping for [{path}] must be of type object but found [{self.fields[path].type}]."
            )
        else:
            self._unmapped(parts[0], parent)

    def _walk_value(
        self, path: str, name: str, value: Any, parent: str, out: dict[str, list[Any]], doc_id: str
    ) -> None:
        if value is None:
            return
        if isinstance(value, list):
            for item in value:
                self._walk_value(path, name, item, parent, out, doc_id)
        elif path in self.fields:
            out.setdefault(path, []).append(self.fields[path].convert(value, doc_id))
        elif path in self.objects:
            if not isinstance(value, dict):
                raise document_parsing(
                    f"object mapping for [{path}] tried to parse field [{name}] as object, but found a concrete value"
                )
            if self.objects[path].enabled:
                self._walk_object(value, path, out, doc_id)
        else:
            self._unmapped(name, parent)

    def _unmapped(self, name: str, parent: str) -> None:
        dynamic = self.objects[parent].dynamic
        if dynamic == "strict":
            raise EsError(
                400,
                "strict_dynamic_mapping_exception",
                f"mapping set to strict, dynamic introduction of [{name}] within [{parent or '_doc'}] is not allowed",
            )
        if dynamic == "true":
            raise unsupported(
                f"dynamic mapping (a new field [{name}] under [{parent or '_doc'}]; map it or set dynamic false/strict)"
            )


def _dynamic(value: Any) -> str:
    text = str(value).lower()
    if text not in ("true", "false", "strict"):
        raise unsupported(f"dynamic [{value}]")
    return text


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` merged into a copy of ``base``: objects merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def nested_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as a nested object under ``index``, however they were written (flat, dotted, nested)."""
    nested: dict[str, Any] = {}
    for key, value in _flatten(settings):
        parts = key.split(".")
        if parts[0] != "index":
            parts.insert(0, "index")
        target = nested
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return nested


def _flatten(obj: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in obj.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            yield from _flatten(value, path)
        else:
            yield path, value


# -- storage ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    id: str
    source: dict[str, Any]
    seq_no: int
    version: int
    values: dict[str, list[Any]]  # indexed values by dotted field path (see Mapping.index_values)


@dataclass
class Index:
    name: str
    settings: dict[str, Any]  # nested, under "index"
    mapping: Mapping
    aliases: dict[str, dict[str, Any]]
    uuid: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    live: dict[str, Doc] = field(default_factory=dict)  # what get/mget and writes see
    visible: dict[str, Doc] = field(default_factory=dict)  # what searches see: the last refresh
    tombstones: dict[str, int] = field(default_factory=dict)  # deleted id → its last version
    next_seq_no: int = 0

    def refresh(self) -> None:
        self.visible = dict(self.live)

    def write(self, doc_id: str, source: dict[str, Any]) -> Doc:
        values = self.mapping.index_values(source, doc_id)
        previous = self.live.get(doc_id)
        version = (previous.version if previous else self.tombstones.pop(doc_id, 0)) + 1
        doc = Doc(doc_id, source, self.next_seq_no, version, values)
        self.next_seq_no += 1
        self.live[doc_id] = doc
        return doc

    def delete(self, doc_id: str) -> tuple[int, int]:
        """Delete a live document; its (seq_no, version) as the answer reports them."""
        doc = self.live.pop(doc_id)
        self.tombstones[doc_id] = doc.version + 1
        self.next_seq_no += 1
        return self.next_seq_no - 1, doc.version + 1

    def description(self) -> dict[str, Any]:
        settings = deep_merge(self.settings, {"index": {"provided_name": self.name, "uuid": self.uuid}})
        return {"aliases": self.aliases, "mappings": self.mapping.body, "settings": settings}


def doc_meta(index: Index, doc: Doc) -> dict[str, Any]:
    return {"_index": index.name, "_id": doc.id, "_version": doc.version, "_seq_no": doc.seq_no, "_primary_term": 1}


_INVALID_NAME_CHARS = set('\\/*?"<>| ,#:')


def validate_index_name(name: str) -> None:
    problem = None
    if name != name.lower():
        problem = "must be lowercase"
    elif name.startswith(("_", "-", "+")):
        problem = "must not start with '_', '-', or '+'"
    elif _INVALID_NAME_CHARS & set(name):
        problem = 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'
    elif name in (".", "..") or not name:
        problem = "must not be '.', '..' or empty"
    if problem:
        raise EsError(400, "invalid_index_name_exception", f"Invalid index name [{name}], {problem}", index=name)


class Cluster:
    """Indices, templates and policies; every method runs under the emulator's lock."""

    def __init__(self) -> None:
        self.indices: dict[str, Index] = {}
        self.component_templates: dict[str, dict[str, Any]] = {}
        self.index_templates: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}

    # -- index expressions

    def aliases(self) -> dict[str, list[Index]]:
        found: dict[str, list[Index]] = {}
        for index in self.indices.values():
            for alias in index.aliases:
                found.setdefault(alias, []).append(index)
        return found

    def resolve(self, expression: str) -> list[Index]:
        """The indices of ``a,b*,alias``: a missing concrete name is a 404, a wildcard may match nothing."""
        chosen: dict[str, Index] = {}
        aliases = self.aliases()
        for part in expression.split(","):
            if part.startswith("-"):
                raise unsupported(f"index exclusions [{part}]")
            if part in ("_all", "*") or "*" in part:
                pattern = "*" if part == "_all" else part
                chosen.update((i.name, i) for i in self.indices.values() if fnmatch.fnmatchcase(i.name, pattern))
                for alias, members in aliases.items():
                    if fnmatch.fnmatchcase(alias, pattern):
                        chosen.update((i.name, i) for i in members)
            elif part in self.indices:
                chosen[part] = self.indices[part]
            elif part in aliases:
                chosen.update((i.name, i) for i in aliases[part])
            else:
                raise index_not_found(part)
        return [chosen[name] for name in sorted(chosen)]

    def single(self, name: str) -> Index | None:
        """The index a single-document read names (an index or a one-index alias); None when missing."""
        if name in self.indices:
            return self.indices[name]
        members = self.aliases().get(name)
        if not members:
            return None
        if len(members) > 1:
            names = ", ".join(sorted(i.name for i in members))
            raise illegal(
                f"alias [{name}] has more than one index associated with it [{names}], can't execute a single index op"
            )
        return members[0]

    def write_index(self, name: str) -> Index:
        """The index a write goes to, created from the templates when missing (auto-create)."""
        if name in self.indices:
            return self.indices[name]
        members = self.aliases().get(name)
        if members:
            writers = [i for i in members if i.aliases[name].get("is_write_index")]
            if len(writers) == 1 or len(members) == 1:
                return (writers or members)[0]
            raise illegal(
                f"no write index is defined for alias [{name}]. The write index may be explicitly disabled using "
                "is_write_index=false or the alias points to multiple indices without one being designated as a "
                "write index"
            )
        return self.create_index(name, {})

    # -- indices and templates

    def create_index(self, name: str, body: dict[str, Any]) -> Index:
        validate_index_name(name)
        check_keys("the create index request", body, ("settings", "mappings", "aliases"))
        if name in self.indices:
            existing = self.indices[name]
            raise EsError(
                400, "resource_already_exists_exception", f"index [{name}/{existing.uuid}] already exists", index=name
            )
        if name in self.aliases():
            raise EsError(
                400, "invalid_index_name_exception", f"Invalid index name [{name}], already exists as alias", index=name
            )
        template = self._composed_template(name)
        settings = deep_merge(
            {"index": {}},
            deep_merge(nested_settings(template.get("settings", {})), nested_settings(body.get("settings", {}))),
        )
        check_keys(
            "index settings",
            settings["index"],
            (
                "number_of_shards",
                "number_of_replicas",
                "auto_expand_replicas",
                "lifecycle",
                "analysis",
                "refresh_interval",
                "max_result_window",
            ),
        )
        if settings["index"].get("max_result_window", MAX_RESULT_WINDOW) != MAX_RESULT_WINDOW:
            raise unsupported("a max_result_window other than 10000")
        mappings = deep_merge(template.get("mappings", {}), body.get("mappings", {}))
        aliases = {**template.get("aliases", {}), **body.get("aliases", {})}
        for alias, definition in aliases.items():
            check_keys(f"alias [{alias}]", definition, ("is_write_index",))
        index = Index(name, settings, Mapping(mappings, analyzers_of(settings["index"])), aliases)
        self.indices[name] = index
        return index

    def _composed_template(self, name: str) -> dict[str, Any]:
        """The ``template`` part of the highest-priority index template matching ``name``, its
        component templates merged in order beneath it."""
        matching = [
            body
            for body in self.index_templates.values()
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in body["index_patterns"])
        ]
        if not matching:
            return {}
        chosen = max(matching, key=lambda body: body.get("priority", 0))
        parts = [self.component_templates[c].get("template", {}) for c in chosen.get("composed_of", [])]
        return functools.reduce(deep_merge, [*parts, chosen.get("template", {})], {})

    def put_component_template(self, name: str, body: dict[str, Any]) -> None:
        check_keys(f"component template [{name}]", body, ("template", "version", "_meta"))
        _validate_template_part(body.get("template", {}))
        self.component_templates[name] = body

    def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        check_keys(
            f"index template [{name}]",
            body,
            ("index_patterns", "composed_of", "template", "priority", "version", "_meta"),
        )
        patterns = body.get("index_patterns")
        if isinstance(patterns, str):
            body = {**body, "index_patterns": [patterns]}
        elif not patterns:
            raise EsError(
                400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;"
            )
        missing = [c for c in body.get("composed_of", []) if c not in self.component_templates]
        if missing:
            raise EsError(
                400,
                "invalid_index_template_exception",
                f"index_template [{name}] invalid, cause "
                f"[index template [{name}] specifies component templates {missing} that do not exist]".replace("'", ""),
            )
        self._refuse_overlap(name, body)
        _validate_template_part(body.get("template", {}))
        self.index_templates[name] = body

    def _refuse_overlap(self, name: str, body: dict[str, Any]) -> None:
        """Two templates of one priority whose patterns overlap are refused (overlap approximated by
        one pattern matching the other)."""
        for other_name, other in self.index_templates.items():
            if other_name == name or other.get("priority", 0) != body.get("priority", 0):
                continue
            for mine in body["index_patterns"]:
                for theirs in other["index_patterns"]:
                    if fnmatch.fnmatchcase(mine, theirs) or fnmatch.fnmatchcase(theirs, mine):
                        raise illegal(
                            f"index template [{name}] has index patterns "
                            f"{body['index_patterns']} matching patterns from "
                            f"existing templates [{other_name}] with patterns "
                            f"({other_name} => {other['index_patterns']}) "
                            f"that have the same priority [{body.get('priority', 0)}], "
                            "multiple index templates may not "
                            "match during index creation, please use a different priority"
                        )

    def delete_indices(self, expression: str) -> None:
        names = expression.split(",")
        aliases = self.aliases()
        for name in names:
            if "*" in name or name == "_all":
                raise illegal("Wildcard expressions or all indices are not allowed")
            if name in aliases and name not in self.indices:
                raise illegal(
                    f"The provided expression [{name}] matches an alias, specify "
                    "the corresponding concrete indices instead."
                )
            if name not in self.indices:
                raise index_not_found(name)
        for name in names:
            del self.indices[name]


def _validate_template_part(template: dict[str, Any]) -> None:
    check_keys("template", template, ("settings", "mappings", "aliases"))
    settings = nested_settings(template.get("settings", {}))
    analyzers = analyzers_of(settings.get("index", {}))
    if "mappings" in template:
        # A component may use an analyzer another component defines: check the mapping with every
        # analyzer name accepted, the index creation checks it for real.
        Mapping(template["mappings"], _AnyAnalyzer(analyzers))


class _AnyAnalyzer(dict[str, Analyzer]):
    def __contains__(self, name: object) -> bool:
        return True

    def __missing__(self, name: str) -> Analyzer:
        return _BUILTIN_ANALYZERS["standard"]


# -- queries ----------------------------------------------------------------------------------------

Matcher = Callable[[Doc], "float | None"]  # a document's score when it matches, None when it does not
_QUERY_COMMON = ("boost",)


def compile_query(query: Any, index: Index) -> Matcher:
    """A matcher of ``query`` on one index's documents, checked against that index's mapping."""
    if not isinstance(query, dict) or len(query) != 1:
        raise parsing("[_na] query malformed, must start with start_object and hold exactly one query")
    ((kind, body),) = query.items()
    compiler = _QUERY_COMPILERS.get(kind)
    if compiler is None:
        raise unsupported(f"the query [{kind}]")
    return compiler(body, index)


def _match_all(body: dict[str, Any], index: Index) -> Matcher:
    check_keys("[match_all]", body, _QUERY_COMMON)
    return lambda doc: 1.0


def _match_none(body: dict[str, Any], index: Index) -> Matcher:
    check_keys("[match_none]", body, _QUERY_COMMON)
    return lambda doc: None


def _clauses(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _bool(body: dict[str, Any], index: Index) -> Matcher:
    check_keys("[bool]", body, ("must", "filter", "should", "must_not", "minimum_should_match", *_QUERY_COMMON))
    must, filters, should, must_not = (
        [compile_query(clause, index) for clause in _clauses(body.get(occur, []))]
        for occur in ("must", "filter", "should", "must_not")
    )
    wanted = _minimum_should_match(body.get("minimum_should_match"), len(should), bool(must or filters))
    only_filters = not (must or should)

    def match(doc: Doc) -> float | None:
        score = 0.0
        for clause in must:
            clause_score = clause(doc)
            if clause_score is None:
                return None
            score += clause_score
        if any(clause(doc) is None for clause in filters) or any(clause(doc) is not None for clause in must_not):
            return None
        should_scores = [s for s in (clause(doc) for clause in should) if s is not None]
        if len(should_scores) < wanted:
            return None
        if only_filters and not (filters or must_not):
            return 1.0  # an empty bool is a match_all
        return score + sum(should_scores)

    return match


def _minimum_should_match(value: Any, should: int, has_required: bool) -> int:
    if value is None:
        return 1 if should and not has_required else 0
    if isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value)):
        wanted = int(value)
        return max(0, should + wanted if wanted < 0 else wanted)
    raise unsupported(f"minimum_should_match [{value}]")


def _constant_score(body: dict[str, Any], index: Index) -> Matcher:
    check_keys("[constant_score]", body, ("filter", *_QUERY_COMMON))
    inner = compile_query(body["filter"], index)
    boost = float(body.get("boost", 1.0))
    return lambda doc: None if inner(doc) is None else boost


def _single_field(kind: str, body: Any) -> tuple[str, Any]:
    fields = [key for key in body if key not in _QUERY_COMMON] if isinstance(body, dict) else []
    if len(fields) != 1:
        raise parsing(f"[{kind}] query doesn't support multiple fields, found {fields}")
    return fields[0], body[fields[0]]


def _field_options(kind: str, name: str, value: Any, value_key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """``{field: v}`` or ``{field: {value_key: v, options...}}`` as one options dict."""
    if not isinstance(value, dict):
        return {value_key: value}
    check_keys(f"[{kind}] on [{name}]", value, (value_key, *allowed, *_QUERY_COMMON))
    if value_key not in value:
        raise parsing(f"[{kind}] query on [{name}] has no [{value_key}]")
    return value


def _searchable(index: Index, name: str) -> FieldSpec | None:
    """The mapped field a query names (None when unmapped: it matches nothing); a refusal when it cannot
    be searched."""
    if name in ("_id", "_index"):
        return FieldSpec(name, "keyword")
    spec = index.mapping.fields.get(name)
    if spec is not None and not spec.searchable:
        why = "is not indexed." if spec.type == "text" else "is not indexed nor has doc values."
        raise shard_failure(
            "query_shard_exception", f"failed to create query: Cannot search on field [{name}] since it {why}"
        )
    return spec


def _values(doc: Doc, spec: FieldSpec, index: Index) -> list[Any]:
    if spec.path == "_id":
        return [doc.id]
    if spec.path == "_index":
        return [index.name]
    return doc.values.get(spec.path, [])


def _query_value(
    spec: FieldSpec, value: Any, *, round_up: bool = False, fmt: str | None = None, zone: tzinfo = UTC
) -> Any:
    """A query's value in the field's indexed form; a shard failure when it cannot be."""
    try:
        if spec.type == "date":
            return parse_date(value, round_up=round_up, fmt=fmt, zone=zone)
        if spec.type in NUMERIC:
            return float(parse_number("double", value))
        if spec.type == "boolean":
            return parse_boolean(value)
        return keyword_string(value)
    except (ValueError, TypeError):
        raise shard_failure(
            "query_shard_exception",
            f"failed to create query: failed to parse [{value}] for field [{spec.path}] of type [{spec.type}]",
        ) from None


def _term_matcher(spec: FieldSpec, value: Any, index: Index, case_insensitive: bool = False) -> Callable[[Doc], bool]:
    if spec.type == "date":  # a date term is the range its precision covers, like Elasticsearch's
        low, high = _query_value(spec, value), _query_value(spec, value, round_up=True)
        return lambda doc: any(low <= v <= high for v in _values(doc, spec, index))
    wanted = _query_value(spec, value)
    if spec.type == "text":
        return lambda doc: any(wanted in tokens for tokens in _values(doc, spec, index))
    if case_insensitive:
        folded = str(wanted).lower()
        return lambda doc: any(str(v).lower() == folded for v in _values(doc, spec, index))
    return lambda doc: wanted in _values(doc, spec, index)


def _scored(test: Callable[[Doc], bool]) -> Matcher:
    return lambda doc: 1.0 if test(doc) else None


def _term(body: dict[str, Any], index: Index) -> Matcher:
    name, value = _single_field("term", body)
    options = _field_options("term", name, value, "value", ("case_insensitive",))
    spec = _searchable(index, name)
    if spec is None:
        return lambda doc: None
    return _scored(_term_matcher(spec, options["value"], index, bool(options.get("case_insensitive"))))


def _terms_query(body: dict[str, Any], index: Index) -> Matcher:
    name, values = _single_field("terms", body)
    if not isinstance(values, list):
        raise unsupported("a terms lookup (the [terms] query takes a list of values here)")
    spec = _searchable(index, name)
    if spec is None:
        return lambda doc: None
    tests = [_term_matcher(spec, value, index) for value in values]
    return _scored(lambda doc: any(test(doc) for test in tests))


def _ids(body: dict[str, Any], index: Index) -> Matcher:
    check_keys("[ids]", body, ("values", *_QUERY_COMMON))
    wanted = {str(value) for value in body.get("values", [])}
    return _scored(lambda doc: doc.id in wanted)


def _exists(body: dict[str, Any], index: Index) -> Matcher:
    check_keys("[exists]", body, ("field", *_QUERY_COMMON))
    name = body["field"]
    specs = [
        spec
        for path, spec in index.mapping.fields.items()
        if (path == name or path.startswith(name + ".")) and spec.searchable
    ]
    return _scored(lambda doc: any(doc.values.get(spec.path) for spec in specs))


_RANGE_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}


def _range(body: dict[str, Any], index: Index) -> Matcher:
    name, options = _single_field("range", body)
    check_keys(f"[range] on [{name}]", options, (*_RANGE_OPS, "format", "time_zone", *_QUERY_COMMON))
    spec = _searchable(index, name)
    if spec is None:
        return lambda doc: None
    if spec.type == "text":
        raise unsupported("a range query on a text field")
    zone = parse_zone(options.get("time_zone", "UTC"))
    bounds = [
        (
            _RANGE_OPS[op],
            _query_value(spec, options[op], round_up=op in ("gt", "lte"), fmt=options.get("format"), zone=zone),
        )
        for op in _RANGE_OPS
        if options.get(op) is not None
    ]
    return _scored(lambda doc: any(all(op(v, bound) for op, bound in bounds) for v in _values(doc, spec, index)))


def _pattern_query(
    kind: str, value_key: str, to_regex: Callable[[dict[str, Any]], str]
) -> Callable[[dict[str, Any], Index], Matcher]:
    """prefix, wildcard and regexp: a regular expression over keyword values or text tokens."""
    extra = {
        "prefix": ("case_insensitive", "rewrite"),
        "wildcard": ("case_insensitive", "rewrite", "wildcard"),
        "regexp": ("case_insensitive", "flags", "max_determinized_states", "rewrite"),
    }[kind]

    def compile_pattern(body: dict[str, Any], index: Index) -> Matcher:
        name, value = _single_field(kind, body)
        if kind == "wildcard" and isinstance(value, dict) and "wildcard" in value:
            value = {**{k: v for k, v in value.items() if k != "wildcard"}, "value": value["wildcard"]}
        options = _field_options(kind, name, value, value_key, extra)
        spec = _searchable(index, name)
        if spec is None:
            return lambda doc: None
        if spec.type not in ("keyword", "wildcard", "text"):
            raise shard_failure(
                "query_shard_exception",
                f"failed to create query: Can only use {kind} queries on keyword and "
                f"text fields - not on [{name}] which is of type [{spec.type}]",
            )
        regex = re.compile(to_regex(options), re.DOTALL | (re.IGNORECASE if options.get("case_insensitive") else 0))
        if spec.type == "text":
            return _scored(lambda doc: any(regex.fullmatch(t) for tokens in _values(doc, spec, index) for t in tokens))
        return _scored(lambda doc: any(regex.fullmatch(v) for v in _values(doc, spec, index)))

    return compile_pattern


def wildcard_regex(pattern: str) -> str:
    out, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        else:
            out.append({"*": ".*", "?": "."}.get(char) or re.escape(char))
    return "".join(out)


_REGEXP_CLASSES = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": r"[ \t\n\r\f\v]",
    "S": r"[^ \t\n\r\f\v]",
    "w": "[a-zA-Z0-9_]",
    "W": "[^a-zA-Z0-9_]",
}
_REGEXP_OPERATORS_OF_ALL = set("#@&<>~")  # empty language, any string, intersection, intervals, complement


def lucene_regex(pattern: str, flags: str = "ALL") -> str:
    """A Python regex matching what Lucene's RegExp matches (anchor with ``fullmatch``). With
    ``flags: NONE`` the optional operators ``#@&<>~`` are literals; with ALL they are refused."""
    if flags not in ("ALL", "NONE"):
        raise unsupported(f"regexp flags [{flags}] (only ALL and NONE)")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1] if i + 1 < len(pattern) else "\\"
            out.append(_REGEXP_CLASSES.get(escaped) or re.escape(escaped))
            i += 2
        elif char == "[":
            i = _lucene_class(pattern, i, out)
        elif char == '"':
            end = pattern.find('"', i + 1)
            if end < 0:
                raise illegal(f"expected '\"' at position {len(pattern)}")
            out.append(re.escape(pattern[i + 1 : end]))
            i = end + 1
        elif char in _REGEXP_OPERATORS_OF_ALL:
            if flags == "ALL":
                raise unsupported(f"the regexp operator [{char}] (send flags NONE to take it literally)")
            out.append(re.escape(char))
            i += 1
        elif char == "{":
            repeat = re.compile(r"\{\d+(,\d*)?\}").match(pattern, i)
            if repeat is None:
                raise illegal(f"integer expected at position {i + 1}")
            out.append(repeat[0])
            i = repeat.end()
        else:
            out.append(char if char in ".*+?|()" else re.escape(char))
            i += 1
    return "".join(out)


def _lucene_class(pattern: str, start: int, out: list[str]) -> int:
    """Translate ``[...]`` starting at ``start``; the position after it."""
    i, parts = start + 1, ["["]
    if i < len(pattern) and pattern[i] == "^":
        parts.append("^")
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            parts.append(char if char == "-" else re.escape(char))
            i += 1
    if i >= len(pattern):
        raise illegal(f"expected ']' at position {len(pattern)}")
    out.append("".join(parts) + "]")
    return i + 1


def _match(kind: str) -> Callable[[dict[str, Any], Index], Matcher]:
    """match (any token, or all with ``operator: and``) and match_phrase (consecutive tokens)."""

    def compile_match(body: dict[str, Any], index: Index) -> Matcher:
        name, value = _single_field(kind, body)
        options = _field_options(kind, name, value, "query", ("operator",) if kind == "match" else ("slop",))
        if options.get("slop", 0) != 0:
            raise unsupported("match_phrase slop")
        spec = _searchable(index, name)
        if spec is None:
            return lambda doc: None
        if spec.type != "text":
            return _scored(_term_matcher(spec, options["query"], index))
        assert spec.analyzer is not None
        wanted = spec.analyzer.tokens(keyword_string(options["query"]))
        if kind == "match_phrase":
            return _scored(lambda doc: bool(wanted) and any(_has_phrase(t, wanted) for t in _values(doc, spec, index)))
        combine = all if str(options.get("operator", "or")).lower() == "and" else any
        return _scored(
            lambda doc: bool(wanted) and combine(any(w in t for t in _values(doc, spec, index)) for w in wanted)
        )

    return compile_match


def _has_phrase(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    return any(tokens[i : i + len(phrase)] == phrase for i in range(len(tokens) - len(phrase) + 1))


_QUERY_COMPILERS: dict[str, Callable[[Any, Index], Matcher]] = {
    "match_all": _match_all,
    "match_none": _match_none,
    "bool": _bool,
    "constant_score": _constant_score,
    "term": _term,
    "terms": _terms_query,
    "ids": _ids,
    "exists": _exists,
    "range": _range,
    "prefix": _pattern_query("prefix", "value", lambda o: re.escape(keyword_string(o["value"])) + ".*"),
    "wildcard": _pattern_query("wildcard", "value", lambda o: wildcard_regex(keyword_string(o["value"]))),
    "regexp": _pattern_query(
        "regexp", "value", lambda o: lucene_regex(keyword_string(o["value"]), o.get("flags", "ALL"))
    ),
    "match": _match("match"),
    "match_phrase": _match("match_phrase"),
}


# -- hits: sorting and source filtering -------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A searchable document, the index it lives in and its score."""

    index: Index
    doc: Doc
    score: float = 1.0


@dataclass(frozen=True)
class SortSpec:
    field: str  # a field path, "_score" or "_doc"
    descending: bool
    missing: Any = "_last"
    unmapped_type: str | None = None
    mode: str | None = None


def parse_sort(sort: Any) -> list[SortSpec]:
    specs = []
    for item in _clauses(sort):
        if isinstance(item, str):
            specs.append(SortSpec(item, item == "_score"))
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise parsing(f"malformed sort [{item}]")
        ((name, options),) = item.items()
        if isinstance(options, str):
            options = {"order": options}
        check_keys(f"the sort on [{name}]", options, ("order", "missing", "unmapped_type", "mode"))
        order = options.get("order", "desc" if name == "_score" else "asc")
        if order not in ("asc", "desc"):
            raise illegal(f"Unknown SortOrder [{order}]")
        if options.get("mode", "min") not in ("min", "max"):
            raise unsupported(f"sort mode [{options['mode']}]")
        specs.append(
            SortSpec(
                name,
                order == "desc",
                options.get("missing", "_last"),
                options.get("unmapped_type"),
                options.get("mode"),
            )
        )
    return specs


def sort_field(index: Index, spec: SortSpec) -> FieldSpec | None:
    """The field a sort reads in one index; None when unmapped with an ``unmapped_type``."""
    if spec.field == "_id":
        raise shard_failure(
            "illegal_argument_exception",
            "Fielddata access on the _id field is disallowed, you can re-enable "
            "it by updating the dynamic cluster setting: indices.id_field_data.enabled",
        )
    field_spec = index.mapping.fields.get(spec.field)
    if field_spec is None:
        if spec.unmapped_type is None:
            raise shard_failure("query_shard_exception", f"No mapping found for [{spec.field}] in order to sort on")
        if spec.unmapped_type not in _LEAF_PARAMS:
            raise unsupported(f"unmapped_type [{spec.unmapped_type}]")
        return FieldSpec(spec.field, spec.unmapped_type)
    _refuse_fielddata(field_spec)
    return field_spec


def _refuse_fielddata(spec: FieldSpec) -> None:
    if spec.type == "text":
        raise shard_failure(
            "illegal_argument_exception",
            (
                "Text fields are not optimised for operations that require "
                "per-document field data like aggregations and "
                "sorting, so these operations are disabled by default. Please "
                "use a keyword field instead. Alternatively, "
                f"set fielddata=true on [{spec.path}] in order to load field "
                "data by uninverting the inverted index. Note "
                "that this can use significant memory."
            ),
        )
    if not spec.doc_values:
        raise shard_failure(
            "illegal_argument_exception",
            f"Can't load fielddata on [{spec.path}] because fielddata is "
            f"unsupported on fields of type [{spec.type}]. Use doc values instead.",
        )


def sort_output(kind: str, value: Any) -> Any:
    """A sort (or composite key) value as Elasticsearch prints it: dates as epoch millis, booleans 1/0."""
    if kind == "boolean":
        return 1 if value else 0
    if kind in _INTEGER_RANGES or kind == "date":
        return int(value)
    if kind in _FLOATS:
        return float(value)
    return value


def _missing_placeholder(kind: str, spec: SortSpec) -> Any:
    """What a document without the field sorts (and prints) as."""
    last = spec.missing == "_last"
    if spec.missing not in ("_last", "_first"):
        return sort_output(kind, _query_value(FieldSpec(spec.field, kind), spec.missing))
    if kind in _STRINGS:
        return None  # printed as null, placed by the comparator
    if kind in _FLOATS:
        return math.inf if last != spec.descending else -math.inf
    return LONG_MAX if last != spec.descending else LONG_MIN


def sort_values(entry: Entry, specs: list[SortSpec], fields: dict[str, list[FieldSpec | None]]) -> list[Any]:
    values = []
    for position, spec in enumerate(specs):
        if spec.field == "_score":
            values.append(entry.score)
        elif spec.field == "_doc":
            values.append(entry.doc.seq_no)
        else:
            field_spec = fields[entry.index.name][position]
            assert field_spec is not None
            present = entry.doc.values.get(field_spec.path, [])
            if present:
                pick = max if (spec.mode or ("max" if spec.descending else "min")) == "max" else min
                values.append(sort_output(field_spec.type, pick(present)))
            else:
                values.append(_missing_placeholder(field_spec.type, spec))
    return values


def compare_sort_values(a: list[Any], b: list[Any], specs: list[SortSpec]) -> int:
    for left, right, spec in zip(a, b, specs, strict=False):
        if left == right:
            continue
        if left is None or right is None:
            first = spec.missing == "_first"
            return (-1 if first else 1) * (1 if left is None else -1)
        result = -1 if left < right else 1
        return -result if spec.descending else result
    return 0


def parse_source_filter(value: Any) -> tuple[bool, list[str], list[str]]:
    """``_source`` of a request: (whether to return it, includes, excludes)."""
    if value is None or value is True:
        return True, [], []
    if value is False:
        return False, [], []
    if isinstance(value, str):
        return True, [value], []
    if isinstance(value, list):
        return True, list(value), []
    if isinstance(value, dict):
        check_keys("_source", value, ("includes", "excludes", "include", "exclude"))
        includes = _clauses(value.get("includes", value.get("include", [])))
        return True, includes, _clauses(value.get("excludes", value.get("exclude", [])))
    raise parsing(f"unexpected _source [{value}]")


def filter_source(source: dict[str, Any], includes: list[str], excludes: list[str]) -> dict[str, Any]:
    if not includes and not excludes:
        return source
    return _filter_object(source, "", includes, excludes)


def _filter_object(obj: dict[str, Any], prefix: str, includes: list[str], excludes: list[str]) -> dict[str, Any]:
    kept = {}
    for key, value in obj.items():
        path = prefix + key
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in excludes):
            continue
        included = not includes or any(fnmatch.fnmatchcase(path, pattern) for pattern in includes)
        filtered = _filter_value(value, path, [] if included else includes, excludes)
        if included or filtered not in (None, {}, []):
            kept[key] = value if filtered is None else filtered
    return kept


def _filter_value(value: Any, path: str, includes: list[str], excludes: list[str]) -> Any:
    """A nested value filtered (None for a scalar, kept only when its own path was included)."""
    if isinstance(value, dict):
        return _filter_object(value, path + ".", includes, excludes)
    if isinstance(value, list):
        kept = []
        for item in value:
            filtered = _filter_value(item, path, includes, excludes)
            if filtered is None:
                if not includes:
                    kept.append(item)
            elif filtered != {} or not includes:
                kept.append(filtered)
        return kept
    return None


class Hits:
    """Sorting, paging and rendering of a search's (or a top_hits aggregation's) matching entries."""

    def __init__(self, indices: list[Index], request: dict[str, Any]) -> None:
        self.specs = parse_sort(request["sort"]) if request.get("sort") is not None else []
        self.fields = {
            index.name: [None if s.field in ("_score", "_doc") else sort_field(index, s) for s in self.specs]
            for index in indices
        }
        self.source, self.includes, self.excludes = parse_source_filter(request.get("_source"))
        self.seq_no = bool(request.get("seq_no_primary_term"))
        self.version = bool(request.get("version"))
        self.scored = not self.specs or any(s.field == "_score" for s in self.specs)
        after = request.get("search_after")
        if after is not None and not self.specs:
            raise illegal("Sort must contain at least one field.")
        if after is not None and len(after) != len(self.specs):
            raise illegal(f"search_after has {len(after)} value(s) but sort has {len(self.specs)}.")
        self.after = after

    def order(self, entries: list[Entry]) -> list[tuple[Entry, list[Any]]]:
        if not self.specs:
            ranked = sorted(entries, key=lambda e: (-e.score, e.index.name, e.doc.seq_no))
            return [(entry, []) for entry in ranked]
        keyed = [(entry, sort_values(entry, self.specs, self.fields)) for entry in entries]
        keyed.sort(key=functools.cmp_to_key(self._compare))
        if self.after is not None:
            after = [self._after_value(value, position) for position, value in enumerate(self.after)]
            keyed = [(entry, values) for entry, values in keyed if compare_sort_values(values, after, self.specs) > 0]
        return keyed

    def _compare(self, a: tuple[Entry, list[Any]], b: tuple[Entry, list[Any]]) -> int:
        """By the sort values, ties broken by index name and then index order."""
        by_values = compare_sort_values(a[1], b[1], self.specs)
        by_index = (a[0].index.name > b[0].index.name) - (a[0].index.name < b[0].index.name)
        return by_values or by_index or a[0].doc.seq_no - b[0].doc.seq_no

    def _after_value(self, value: Any, position: int) -> Any:
        """A ``search_after`` value as the sort compares it (a date string becomes epoch millis)."""
        kinds = {spec.type for fields in self.fields.values() if (spec := fields[position]) is not None}
        if value is None or not kinds or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return value
        kind = kinds.pop()
        return sort_output(kind, _query_value(FieldSpec(self.specs[position].field, kind), value))

    def render(self, entry: Entry, values: list[Any]) -> dict[str, Any]:
        hit: dict[str, Any] = {
            "_index": entry.index.name,
            "_id": entry.doc.id,
            "_score": entry.score if self.scored else None,
        }
        if self.version:
            hit["_version"] = entry.doc.version
        if self.seq_no:
            hit["_seq_no"], hit["_primary_term"] = entry.doc.seq_no, 1
        if self.source:
            hit["_source"] = filter_source(entry.doc.source, self.includes, self.excludes)
        if self.specs:
            hit["sort"] = values
        return hit

    def max_score(self, page: list[tuple[Entry, list[Any]]]) -> float | None:
        return max((entry.score for entry, _ in page), default=None) if self.scored else None


# -- aggregations -----------------------------------------------------------------------------------

_METRICS = ("sum", "min", "max", "avg", "value_count", "cardinality", "stats")
_PIPELINES = (
    "avg_bucket",
    "max_bucket",
    "min_bucket",
    "sum_bucket",
    "stats_bucket",
    "bucket_script",
    "bucket_selector",
    "bucket_sort",
    "cumulative_sum",
    "derivative",
    "moving_fn",
    "serial_diff",
)


@dataclass(frozen=True)
class AggSpec:
    name: str
    kind: str
    params: Any
    subs: dict[str, AggSpec]
    meta: dict[str, Any] | None


def parse_aggs(aggs: Any) -> dict[str, AggSpec]:
    if not isinstance(aggs, dict):
        raise parsing("aggregations must be an object")
    return {name: _parse_agg(name, body) for name, body in aggs.items()}


def _parse_agg(name: str, body: Any) -> AggSpec:
    kinds = [key for key in body if key not in ("aggs", "aggregations", "meta")]
    if len(kinds) != 1:
        raise parsing(f"Expected exactly one aggregation type in [{name}], found {kinds}")
    kind = kinds[0]
    if kind in _PIPELINES:
        raise unsupported(f"the pipeline aggregation [{kind}] (of [{name}])")
    if kind not in _AGGREGATORS:
        raise unsupported(f"the aggregation [{kind}] (of [{name}])")
    subs = parse_aggs(body.get("aggs", body.get("aggregations", {})))
    if subs and kind in (*_METRICS, "top_hits"):
        raise EsError(
            400,
            "aggregation_initialization_exception",
            f"Aggregator [{name}] of type [{kind}] cannot accept sub-aggregations",
        )
    return AggSpec(name, kind, body[kind], subs, body.get("meta"))


@dataclass
class AggContext:
    indices: list[Index]
    everything: list[Entry]  # the searched indices' refreshed documents, for ``global``
    _matchers: dict[tuple[str, str], Matcher] = field(default_factory=dict)

    def field(self, name: str) -> FieldSpec | None:
        """The field an aggregation reads (None when no searched index maps it); refusals as ES's."""
        if name == "_id":
            sort_field(self.indices[0] if self.indices else _EMPTY, SortSpec("_id", False))
        if name == "_index":
            return FieldSpec("_index", "keyword")
        found = None
        for index in self.indices:
            spec = index.mapping.fields.get(name)
            if spec is not None:
                _refuse_fielddata(spec)
                found = found or spec
        return found

    def matcher(self, query: Any) -> Callable[[Entry], bool]:
        key = json.dumps(query, sort_keys=True)
        for index in self.indices or [_EMPTY]:
            if (key, index.name) not in self._matchers:
                self._matchers[key, index.name] = compile_query(query, index)
        return lambda entry: self._matchers[key, entry.index.name](entry.doc) is not None


def field_values(entry: Entry, spec: FieldSpec) -> list[Any]:
    return [entry.index.name] if spec.path == "_index" else entry.doc.values.get(spec.path, [])


def run_aggs(aggs: dict[str, AggSpec], entries: list[Entry], ctx: AggContext) -> dict[str, Any]:
    results = {}
    for name, agg in aggs.items():
        result = _AGGREGATORS[agg.kind](agg, entries, ctx)
        if agg.meta is not None:
            result = {"meta": agg.meta, **result}
        results[name] = result
    return results


def _bucket(entries: list[Entry], agg: AggSpec, ctx: AggContext, **key: Any) -> dict[str, Any]:
    return {**key, "doc_count": len(entries), **run_aggs(agg.subs, entries, ctx)}


def _params(agg: AggSpec, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(agg.params, dict):
        raise parsing(f"[{agg.kind}] aggregation [{agg.name}] expects an object")
    check_keys(f"the [{agg.kind}] aggregation [{agg.name}]", agg.params, allowed)
    return agg.params


# metrics


def _numeric_values(agg: AggSpec, entries: list[Entry], ctx: AggContext) -> tuple[FieldSpec | None, list[float]]:
    params = _params(agg, ("field",) if agg.kind not in ("cardinality",) else ("field", "precision_threshold"))
    spec = ctx.field(params["field"])
    if spec is None:
        return None, []
    numeric = spec.type in (*NUMERIC, "date", "boolean")
    if not numeric and agg.kind not in ("value_count", "cardinality"):
        raise shard_failure(
            "illegal_argument_exception",
            f"Field [{spec.path}] of type [{spec.type}] is not supported for aggregation [{agg.kind}]",
        )
    return spec, [v for entry in entries for v in field_values(entry, spec)]


def _metric(agg: AggSpec, entries: list[Entry], ctx: AggContext) -> dict[str, Any]:
    spec, values = _numeric_values(agg, entries, ctx)
    if agg.kind == "value_count":
        return {"value": len(values)}
    if agg.kind == "cardinality":
        return {"value": len(set(values))}
    numbers = [float(v) for v in values]
    stats = {
        "count": len(numbers),
        "min": min(numbers) if numbers else None,
        "max": max(numbers) if numbers else None,
        "avg": sum(numbers) / len(numbers) if numbers else None,
        "sum": float(sum(numbers)),
    }
    if agg.kind != "stats":
        result: dict[str, Any] = {"value": stats[agg.kind]}
        _add_date_strings(result, spec, ("value",))
        return result
    _add_date_strings(stats, spec, ("min", "max", "avg", "sum"))
    return stats


def _add_date_strings(result: dict[str, Any], spec: FieldSpec | None, names: tuple[str, ...]) -> None:
    if spec is not None and spec.type == "date":
        for name in names:
            if result.get(name) is not None:
                result[f"{name}_as_string"] = format_date(int(result[name]))


# bucket aggregations


def bucket_key(kind: str | None, value: Any) -> dict[str, Any]:
    if kind == "date":
        return {"key": int(value), "key_as_string": format_date(int(value))}
    if kind == "boolean":
        return {"key": 1 if value else 0, "key_as_string": "true" if value else "false"}
    return {"key": sort_output(kind or "keyword", value)}


def _terms_agg(agg: AggSpec, entries: list[Entry], ctx: AggContext) -> dict[str, Any]:
    params = _params(agg, ("field", "size", "shard_size", "missing", "min_doc_count", "include", "exclude", "order"))
    size, min_doc_count = int(params.get("size", 10)), int(params.get("min_doc_count", 1))
    if size <= 0:
        raise illegal(f"[size] must be greater than 0. Found [{size}] in [{agg.name}]")
    if min_doc_count == 0:
        raise unsupported("terms min_doc_count 0")
    spec = ctx.field(params["field"])
    kind = spec.type if spec else "keyword"
    missing = None
    if "missing" in params:
        missing = _query_value(spec or FieldSpec(params["field"], "keyword"), params["missing"])
    groups: dict[Any, list[Entry]] = {}
    for entry in entries:
        values = set(field_values(entry, spec)) if spec else set()
        for value in values or ({missing} if missing is not None else set()):
            groups.setdefault(value, []).append(entry)
    keep = _include_exclude(params, kind)
    buckets = [
        _bucket(group, agg, ctx, **bucket_key(kind, value))
        for value, group in groups.items()
        if keep(value) and len(group) >= min_doc_count
    ]
    buckets.sort(key=functools.cmp_to_key(_bucket_order(params.get("order", {"_count": "desc"}), agg)))
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": sum(b["doc_count"] for b in buckets[size:]),
        "buckets": buckets[:size],
    }


def _include_exclude(params: dict[str, Any], kind: str) -> Callable[[Any], bool]:
    def test(rule: Any, default: bool) -> Callable[[Any], bool]:
        if rule is None:
            return lambda value: default
        if isinstance(rule, str):
            regex = re.compile(lucene_regex(rule), re.DOTALL)
            return lambda value: bool(regex.fullmatch(str(value)))
        if isinstance(rule, list):
            wanted = {_query_value(FieldSpec("include", kind), item) for item in rule}
            return lambda value: value in wanted
        raise unsupported(f"include/exclude [{rule}]")

    include, exclude = test(params.get("include"), True), test(params.get("exclude"), False)
    return lambda value: include(value) and not exclude(value)


def _bucket_order(order: Any, agg: AggSpec) -> Callable[[dict[str, Any], dict[str, Any]], int]:
    """A comparator of buckets by ``order`` (object or list), ties broken by key ascending."""
    rules = [item for rule in _clauses(order) for item in rule.items()]
    if not any(path == "_key" for path, _ in rules):
        rules.append(("_key", "asc"))
    for path, direction in rules:
        if direction not in ("asc", "desc"):
            raise illegal(f"Unknown order direction [{direction}]")
        if path not in ("_count", "_key"):
            _check_order_path(path, agg)

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for path, direction in rules:
            left, right = _order_value(a, path), _order_value(b, path)
            if left == right:
                continue
            if left is None or right is None:
                return 1 if left is None else -1  # buckets without a value go last
            result = -1 if left < right else 1
            return -result if direction == "desc" else result
        return 0

    return compare


def _check_order_path(path: str, agg: AggSpec) -> None:
    name, _, metric = path.partition(".")
    sub = agg.subs.get(name)
    if sub is None or ">" in path:
        raise EsError(
            400,
            "aggregation_execution_exception",
            f"Invalid aggregator order path [{path}]. The provided "
            f"aggregation [{name}] either does not exist, or is a pipeline "
            "aggregation and cannot be used to sort the buckets.",
        )
    if sub.kind == "stats" and not metric:
        raise EsError(
            400,
            "aggregation_execution_exception",
            f"Invalid aggregation order path [{path}]. When ordering on "
            "a multi-value metrics aggregation a metric name must be specified.",
        )
    if sub.kind not in (*_METRICS, "filter", "global"):
        raise unsupported(f"ordering buckets by a [{sub.kind}] sub-aggregation")


def _order_value(bucket: dict[str, Any], path: str) -> Any:
    if path == "_count":
        return bucket["doc_count"]
    if path == "_key":
        return bucket["key"]
    name, _, metric = path.partition(".")
    result = bucket[name]
    return result[metric] if metric else result.get("value", result.get("doc_count"))


# date_histogram

_CALENDAR_UNITS = {
    "minute": "minute",
    "1m": "minute",
    "hour": "hour",
    "1h": "hour",
    "day": "day",
    "1d": "day",
    "week": "week",
    "1w": "week",
    "month": "month",
    "1M": "month",
    "quarter": "quarter",
    "1q": "quarter",
    "year": "year",
    "1y": "year",
}
_FIXED_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass(frozen=True)
class Rounding:
    zone: tzinfo
    unit: str | None = None  # a calendar unit
    fixed: int = 0  # or a fixed interval in milliseconds

    def round(self, millis: int) -> int:
        if self.unit is None:
            offset = self._offset(millis)
            local = millis + offset
            return local - local % self.fixed - offset
        moment = datetime.fromtimestamp(millis // 1000, self.zone).replace(tzinfo=None)
        if self.unit == "minute":
            start = moment.replace(second=0, microsecond=0)
        elif self.unit == "hour":
            start = moment.replace(minute=0, second=0, microsecond=0)
        else:
            start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            if self.unit == "week":
                start -= timedelta(days=start.weekday())
            elif self.unit in ("month", "quarter", "year"):
                month = {"month": start.month, "quarter": start.month - (start.month - 1) % 3, "year": 1}[self.unit]
                start = start.replace(day=1, month=month)
        return int(start.replace(tzinfo=self.zone).timestamp()) * 1000

    def next(self, key: int) -> int:
        if self.unit is None:
            return key + self.fixed
        if self.unit in ("minute", "hour"):
            step = 60_000 if self.unit == "minute" else 3_600_000
            candidate = self.round(key + step)
            return candidate if candidate > key else self.round(key + 2 * step)
        local = datetime.fromtimestamp(key // 1000, self.zone).replace(tzinfo=None)
        if self.unit in ("day", "week"):
            later = local + timedelta(days=1 if self.unit == "day" else 7)
        else:
            months = {"month": 1, "quarter": 3, "year": 12}[self.unit]
            total = local.month - 1 + months
            later = local.replace(year=local.year + total // 12, month=total % 12 + 1)
        return self.round(int(later.replace(hour=12, tzinfo=self.zone).timestamp()) * 1000)

    def _offset(self, millis: int) -> int:
        offset = datetime.fromtimestamp(millis // 1000, self.zone).utcoffset() or timedelta(0)
        return int(offset.total_seconds()) * 1000


def _rounding(params: dict[str, Any], zone: tzinfo) -> Rounding:
    calendar, fixed = params.get("calendar_interval"), params.get("fixed_interval")
    if calendar is not None and fixed is not None:
        raise illegal("Cannot use [fixed_interval] with [calendar_interval] configuration option.")
    if calendar is not None:
        if calendar not in _CALENDAR_UNITS:
            raise illegal(f"The supplied interval [{calendar}] could not be parsed as a calendar interval.")
        return Rounding(zone, unit=_CALENDAR_UNITS[calendar])
    if fixed is not None:
        matched = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(fixed))
        if not matched or int(matched[1]) == 0:
            raise EsError(
                400,
                "illegal_argument_exception",
                f"failed to parse setting [date_histogram.fixedInterval] "
                f"with value [{fixed}] as a time value: unit is missing or unrecognized",
            )
        return Rounding(zone, fixed=int(matched[1]) * _FIXED_UNITS[matched[2]])
    raise illegal("Invalid interval specified, must be non-null and non-empty")


def _date_histogram(agg: AggSpec, entries: list[Entry], ctx: AggContext) -> dict[str, Any]:
    params = _params(
        agg, ("field", "calendar_interval", "fixed_interval", "time_zone", "min_doc_count", "extended_bounds", "format")
    )
    if params.get("format", "strict_date_optional_time") != "strict_date_optional_time":
        raise unsupported(f"date_histogram format [{params['format']}]")
    zone = parse_zone(params.get("time_zone", "UTC"))
    rounding = _rounding(params, zone)
    min_doc_count = int(params.get("min_doc_count", 0))  # unlike terms, histograms fill gaps by default
    spec = ctx.field(params["field"])
    if spec is not None and spec.type != "date":
        raise unsupported(f"a date_histogram on a [{spec.type}] field")
    groups: dict[int, list[Entry]] = {}
    for entry in entries:
        for key in {rounding.round(v) for v in (field_values(entry, spec) if spec else [])}:
            groups.setdefault(key, []).append(entry)
    keys = sorted(groups)
    if min_doc_count == 0:
        keys = _filled_keys(keys, _extended_bounds(params, zone, rounding, agg.name), rounding)
    buckets = [
        _bucket(groups.get(key, []), agg, ctx, key_as_string=format_date(key, zone), key=key)
        for key in keys
        if len(groups.get(key, [])) >= min_doc_count
    ]
    return {"buckets": buckets}


def _extended_bounds(params: dict[str, Any], zone: tzinfo, rounding: Rounding, name: str) -> list[int]:
    bounds = params.get("extended_bounds")
    if bounds is None:
        return []
    check_keys("extended_bounds", bounds, ("min", "max"))
    low, high = (parse_date(bounds[side], zone=zone) if side in bounds else None for side in ("min", "max"))
    if low is not None and high is not None and low > high:
        raise illegal(
            f"[extended_bounds.min][{low}] cannot be greater than [extended_bounds.max][{high}] for histogram [{name}]"
        )
    return [rounding.round(bound) for bound in (low, high) if bound is not None]


def _filled_keys(keys: list[int], bounds: list[int], rounding: Rounding) -> list[int]:
    every = keys + bounds
    if not every:
        return []
    filled, key, last = [], min(every), max(every)
    while key <= last:
        filled.append(key)
        key = rounding.next(key)
    return filled


# single-bucket and multi-bucket aggregations over queries


def _filter(agg: AggSpec, entries: list[Entry], ctx: AggContext) -> dict[str, Any]:
    test = ctx.matcher(agg.params)
    return _bucket([entry for entry in entries if test(entry)], agg, ctx)


def _filters(agg: AggSpec, entries: list[Entry], ctx: AggContext) -> dict[str, Any]:
    params = _params(agg, ("filters",))
    filters = params["filters"]
    if isinstance(filters, list):
        return {"buckets": [_filter(AggSpec(agg.name, "filter", q, agg.subs, None), entries, ctx) for q in filters]}
    return {
        "buckets": {
            name: _filter(AggSpec(agg.name, "filter", filters[name], agg.subs, None), entries, ctx)
            for name in sorted(filters)
        }
    }


def _global(agg: AggSpec, entries: list[Entry], ctx: AggContext) -> dict[str, Any]:
    _params(agg, ())
    return _bucket(ctx.everything, agg, ctx)


def _top_hits(agg: AggSpec, entries: list[Entry], ctx: AggContext) -> dict[str, Any]:
    params = _params(agg, ("size", "from", "sort", "_source", "seq_no_primary_term", "version"))
    hits = Hits(ctx.indices, params)
    start = int(params.get("from", 0))
    page = hits.order(entries)[start : start + int(params.get("size", 3))]
    return {
        "hits": {
            "total": {"value": len(entries), "relation": "eq"},
            "max_score": hits.max_score(page),
            "hits": [hits.render(entry, values) for entry, values in page],
        }
    }


# composite


def _composite(agg: AggSpec, entries: list[Entry], ctx: AggContext) -> dict[str, Any]:
    params = _params(agg, ("sources", "size", "after"))
    sources = [_composite_source(source, ctx) for source in params["sources"]]
    groups: dict[tuple[Any, ...], list[Entry]] = {}
    for entry in entries:
        for key in _composite_keys(entry, sources):
            groups.setdefault(key, []).append(entry)
    specs = [SortSpec(name, order == "desc", "_first" if order == "asc" else "_last") for name, _, order, _ in sources]

    def compare(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
        return compare_sort_values(list(a), list(b), specs)

    keys = sorted(groups, key=functools.cmp_to_key(compare))
    if "after" in params:
        after = [params["after"].get(name) for name, *_ in sources]
        keys = [key for key in keys if compare_sort_values(list(key), after, specs) > 0]
    keys = keys[: int(params.get("size", 10))]
    buckets = [_bucket(groups[key], agg, ctx, key=dict(zip((s[0] for s in sources), key, strict=True))) for key in keys]
    result: dict[str, Any] = {"buckets": buckets}
    if buckets:
        result = {"after_key": buckets[-1]["key"], **result}
    return result


def _composite_source(source: dict[str, Any], ctx: AggContext) -> tuple[str, FieldSpec | None, str, bool]:
    ((name, definition),) = source.items()
    ((kind, options),) = definition.items()
    if kind != "terms":
        raise unsupported(f"the composite source [{kind}] (only terms)")
    check_keys(f"composite source [{name}]", options, ("field", "missing_bucket", "order"))
    return (
        name,
        ctx.field(options["field"]),
        options.get("order", "asc"),
        bool(options.get("missing_bucket")),
    )


def _composite_keys(entry: Entry, sources: list[tuple[str, FieldSpec | None, str, bool]]) -> list[tuple[Any, ...]]:
    keys: list[tuple[Any, ...]] = [()]
    for _, spec, _, missing_bucket in sources:
        values = sorted({sort_output(spec.type, v) for v in field_values(entry, spec)}) if spec else []
        if not values:
            if not missing_bucket:
                return []
            values = [None]
        keys = [(*key, value) for key in keys for value in values]
    return keys


_AGGREGATORS: dict[str, Callable[[AggSpec, list[Entry], AggContext], dict[str, Any]]] = {
    **{kind: _metric for kind in _METRICS},
    "terms": _terms_agg,
    "date_histogram": _date_histogram,
    "filter": _filter,
    "filters": _filters,
    "global": _global,
    "top_hits": _top_hits,
    "composite": _composite,
}
_EMPTY = Index("_emulator_empty", {"index": {}}, Mapping({"dynamic": False}, _BUILTIN_ANALYZERS), {})


# -- the REST API -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: Any  # parsed JSON, a list of parsed NDJSON lines for _bulk, None without a body

    def check_params(self, *allowed: str) -> None:
        for name in self.params:
            if name not in allowed and name not in _COSMETIC_PARAMS:
                raise unsupported(f"the URL parameter [{name}] of {self.method} {self.path}")

    def flag(self, name: str) -> bool:
        value = self.params.get(name, "false")
        if value not in ("true", "false", ""):
            raise illegal(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
        return value != "false"

    def refresh(self) -> str | None:
        """``"true"`` or ``"wait_for"`` when the write must be visible before the answer, else None."""
        value = self.params.get("refresh")
        if value in (None, "false"):
            return None
        if value not in ("", "true", "wait_for"):
            raise illegal(f"Unknown value for refresh: [{value}].")
        return value or "true"

    def int_param(self, name: str) -> int | None:
        value = self.params.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise illegal(f"Failed to parse int parameter [{name}] with value [{value}]") from None

    def json_body(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise parsing("request body must be a JSON object")
        return self.body


def conflict(index: Index, reason: str) -> EsError:
    return EsError(409, "version_conflict_engine_exception", reason, index_uuid=index.uuid, shard="0", index=index.name)


def check_cas(index: Index, doc_id: str, if_seq_no: int | None, if_primary_term: int | None) -> None:
    """The optimistic concurrency check of ``if_seq_no``/``if_primary_term``."""
    if if_seq_no is None and if_primary_term is None:
        return
    if if_seq_no is None or if_primary_term is None:
        raise EsError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: ifSeqNo is unassigned, but primary term is [0];"
            if if_seq_no is not None
            else "Validation Failed: 1: ifSeqNo is unassigned, but primary term is set;",
        )
    current = index.live.get(doc_id)
    required = f"[{doc_id}]: version conflict, required seqNo [{if_seq_no}], primary term [{if_primary_term}]."
    if current is None:
        raise conflict(index, f"{required} but no document was found")
    if current.seq_no != if_seq_no or if_primary_term != 1:
        raise conflict(index, f"{required} current document has seqNo [{current.seq_no}] and primary term [1]")


def validate_id(doc_id: str) -> None:
    if not doc_id:
        raise EsError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: if _id is specified it must not be empty;",
        )
    if len(doc_id.encode()) > 512:
        raise EsError(
            400,
            "action_request_validation_exception",
            f"Validation Failed: 1: id [{doc_id}] is too long, must be no longer "
            f"than 512 bytes but was: {len(doc_id.encode())};",
        )


def write_answer(
    index: Index, doc: Doc, result: str, *, seq_no: int | None = None, version: int | None = None, shards: int = 1
) -> dict[str, Any]:
    return {
        "_index": index.name,
        "_id": doc.id,
        "_version": doc.version if version is None else version,
        "result": result,
        "_shards": {"total": shards, "successful": shards, "failed": 0},
        "_seq_no": doc.seq_no if seq_no is None else seq_no,
        "_primary_term": 1,
    }


def _source_of(value: Any, doc_id: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise document_parsing(f"failed to parse: the source of document [{doc_id}] is not an object")
    return json.loads(json.dumps(value))  # a copy the caller cannot change behind our back


_ROUTES: list[tuple[frozenset[str], re.Pattern[str], str]] = [
    (frozenset(methods.split()), re.compile(pattern), handler)
    for methods, pattern, handler in [
        ("GET HEAD", r"/", "root"),
        ("GET", r"/_cluster/health(?:/(?P<index>[^/]+))?", "cluster_health"),
        ("GET HEAD PUT POST DELETE", r"/_component_template(?:/(?P<name>[^/]+))?", "component_template"),
        ("GET HEAD PUT POST DELETE", r"/_index_template(?:/(?P<name>[^/]+))?", "index_template"),
        ("GET PUT DELETE", r"/_ilm/policy(?:/(?P<name>[^/]+))?", "ilm_policy"),
        ("GET POST", r"(?:/(?P<index>[^/_][^/]*))?/_refresh", "refresh"),
        ("POST PUT", r"(?:/(?P<index>[^/_][^/]*))?/_bulk", "bulk"),
        ("GET POST", r"(?:/(?P<index>[^/_][^/]*))?/_mget", "mget"),
        ("GET POST", r"(?:/(?P<index>[^/]+))?/_search", "search"),
        ("GET POST", r"(?:/(?P<index>[^/]+))?/_count", "count"),
        ("POST", r"/(?P<index>[^/_][^/]*)/_delete_by_query", "delete_by_query"),
        ("GET", r"(?:/(?P<index>[^/_][^/]*))?/_mapping", "mapping"),
        ("GET HEAD", r"/_alias/(?P<name>[^/]+)", "alias"),
        ("PUT POST", r"/(?P<index>[^/_][^/]*)/_doc/(?P<id>[^/]+)", "index_doc"),
        ("POST", r"/(?P<index>[^/_][^/]*)/_doc", "index_doc"),
        ("PUT POST", r"/(?P<index>[^/_][^/]*)/_create/(?P<id>[^/]+)", "create_doc"),
        ("GET HEAD", r"/(?P<index>[^/_][^/]*)/_doc/(?P<id>[^/]+)", "get_doc"),
        ("GET HEAD", r"/(?P<index>[^/_][^/]*)/_source/(?P<id>[^/]+)", "get_source"),
        ("DELETE", r"/(?P<index>[^/_][^/]*)/_doc/(?P<id>[^/]+)", "delete_doc"),
        ("POST", r"/(?P<index>[^/_][^/]*)/_update/(?P<id>[^/]+)", "update_doc"),
        ("GET HEAD PUT DELETE", r"/(?P<index>[^/_][^/]*)", "index"),
    ]
]


class Api:
    """The REST endpoints over a Cluster: each handler answers (status, body) or raises EsError."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.time_out_searches = False

    def handle(self, request: Request) -> tuple[int, Any]:
        for methods, pattern, handler in _ROUTES:
            matched = pattern.fullmatch(request.path)
            if matched and request.method in methods:
                groups = {k: unquote(v) for k, v in matched.groupdict().items() if v is not None}
                return getattr(self, handler)(request, **groups)
        raise unsupported(f"the endpoint {request.method} {request.path}")

    # -- cluster, templates, policies

    def root(self, request: Request) -> tuple[int, Any]:
        request.check_params()
        return 200, {
            "name": "es-emulator",
            "cluster_name": "fengxiang-emulator",
            "cluster_uuid": "emulator-not-elasticsearch",
            "version": {
                "number": VERSION,
                "build_flavor": "default",
                "build_type": "emulator",
                "build_hash": "emulator",
                "build_date": "2024-08-05T10:05:34.233336849Z",
                "build_snapshot": False,
                "lucene_version": "9.11.1",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
            },
            "tagline": "You Know, for Search",
        }

    def cluster_health(self, request: Request, index: str | None = None) -> tuple[int, Any]:
        request.check_params("wait_for_status", "timeout")
        indices = self.cluster.resolve(index) if index else list(self.cluster.indices.values())
        return 200, {
            "cluster_name": "fengxiang-emulator",
            "status": "green",
            "timed_out": False,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
            "active_primary_shards": len(indices),
            "active_shards": len(indices),
            "relocating_shards": 0,
            "initializing_shards": 0,
            "unassigned_shards": 0,
        }

    def component_template(self, request: Request, name: str | None = None) -> tuple[int, Any]:
        store = self.cluster.component_templates
        if request.method in ("PUT", "POST") and name:
            request.check_params("create", "master_timeout")
            self._refuse_existing(request, store, f"component template [{name}] already exists", name)
            self.cluster.put_component_template(name, request.json_body())
            return 200, {"acknowledged": True}
        if request.method == "DELETE" and name:
            users = [t for t, body in self.cluster.index_templates.items() if name in body.get("composed_of", [])]
            if users:
                raise illegal(
                    f"component templates [{name}] cannot be removed as they are still in use by index templates "
                    f"[{', '.join(users)}]"
                )
        found = self._templates(request, store, name, "component template")
        if request.method == "DELETE":
            return self._delete_templates(store, found)
        return 200, {"component_templates": [{"name": n, "component_template": body} for n, body in found.items()]}

    def index_template(self, request: Request, name: str | None = None) -> tuple[int, Any]:
        store = self.cluster.index_templates
        if request.method in ("PUT", "POST") and name:
            request.check_params("create", "master_timeout", "cause")
            self._refuse_existing(request, store, f"index template [{name}] already exists", name)
            self.cluster.put_index_template(name, request.json_body())
            return 200, {"acknowledged": True}
        found = self._templates(request, store, name, "index template")
        if request.method == "DELETE":
            return self._delete_templates(store, found)
        return 200, {"index_templates": [{"name": n, "index_template": body} for n, body in found.items()]}

    @staticmethod
    def _refuse_existing(request: Request, store: dict[str, Any], reason: str, name: str) -> None:
        if request.flag("create") and name in store:
            raise illegal(reason)

    @staticmethod
    def _delete_templates(store: dict[str, Any], found: dict[str, Any]) -> tuple[int, Any]:
        for name in found:
            del store[name]
        return 200, {"acknowledged": True}

    @staticmethod
    def _templates(request: Request, store: dict[str, Any], name: str | None, what: str) -> dict[str, Any]:
        """GET, HEAD or DELETE of templates by name or pattern; a 404 when nothing matches."""
        if request.method not in ("GET", "HEAD", "DELETE") or (request.method == "DELETE" and not name):
            raise unsupported(f"the endpoint {request.method} {request.path}")
        request.check_params("master_timeout", "local", "flat_settings")
        pattern = name or "*"
        found = {n: body for n, body in sorted(store.items()) if fnmatch.fnmatchcase(n, pattern)}
        if not found and ((name and "*" not in name) or request.method == "HEAD"):
            raise EsError(404, "resource_not_found_exception", f"{what} matching [{name}] not found")
        return found

    def ilm_policy(self, request: Request, name: str | None = None) -> tuple[int, Any]:
        request.check_params("master_timeout", "timeout")
        policies = self.cluster.policies
        if request.method == "PUT" and name:
            body = request.json_body()
            check_keys(f"lifecycle policy [{name}]", body, ("policy",))
            version = policies.get(name, {}).get("version", 0) + 1
            policies[name] = {
                "version": version,
                "modified_date": datetime.now(UTC).isoformat(),
                "policy": body["policy"],
            }
            return 200, {"acknowledged": True}
        if name and name not in policies:
            raise EsError(404, "resource_not_found_exception", f"Lifecycle policy not found: {name}")
        if request.method == "DELETE" and name:
            del policies[name]
            return 200, {"acknowledged": True}
        if request.method != "GET":
            raise unsupported(f"the endpoint {request.method} {request.path}")
        return 200, {n: body for n, body in policies.items() if name in (None, n)}

    # -- indices

    def index(self, request: Request, index: str) -> tuple[int, Any]:
        if request.method == "PUT":
            request.check_params("wait_for_active_shards", "timeout", "master_timeout")
            self.cluster.create_index(index, request.json_body())
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": index}
        if request.method == "DELETE":
            request.check_params("timeout", "master_timeout")
            self.cluster.delete_indices(index)
            return 200, {"acknowledged": True}
        request.check_params("flat_settings", "local")
        found = self.cluster.resolve(index)
        if not found:
            raise index_not_found(index)
        return 200, {i.name: i.description() for i in found}

    def mapping(self, request: Request, index: str = "_all") -> tuple[int, Any]:
        request.check_params()
        return 200, {i.name: {"mappings": i.mapping.body} for i in self.cluster.resolve(index)}

    def alias(self, request: Request, name: str) -> tuple[int, Any]:
        request.check_params()
        found = {
            i.name: {"aliases": {a: d for a, d in i.aliases.items() if fnmatch.fnmatchcase(a, name)}}
            for i in self.cluster.indices.values()
        }
        found = {n: body for n, body in found.items() if body["aliases"]}
        if not found:
            return 404, {"error": f"alias [{name}] missing", "status": 404}
        return 200, found

    def refresh(self, request: Request, index: str = "_all") -> tuple[int, Any]:
        request.check_params()
        indices = self.cluster.resolve(index)
        for found in indices:
            found.refresh()
        return 200, {"_shards": {"total": len(indices), "successful": len(indices), "failed": 0}}

    def _refresh_after(self, request: Request, indices: Iterable[Index], answer: dict[str, Any]) -> dict[str, Any]:
        mode = request.refresh()
        if mode is None:
            return answer
        for index in indices:
            index.refresh()
        return {**answer, "forced_refresh": True} if mode == "true" and "result" in answer else answer

    # -- documents

    def index_doc(self, request: Request, index: str, id: str | None = None) -> tuple[int, Any]:
        request.check_params("refresh", "op_type", "if_seq_no", "if_primary_term", "timeout", "wait_for_active_shards")
        op_type = request.params.get("op_type", "index")
        if op_type not in ("index", "create"):
            raise illegal(f"opType must be 'create' or 'index', found: [{op_type}]")
        target = self.cluster.write_index(index)
        status, answer = self._put(
            target,
            id,
            request.json_body(),
            create=op_type == "create",
            if_seq_no=request.int_param("if_seq_no"),
            if_primary_term=request.int_param("if_primary_term"),
        )
        return status, self._refresh_after(request, [target], answer)

    def create_doc(self, request: Request, index: str, id: str) -> tuple[int, Any]:
        request.check_params("refresh", "timeout", "wait_for_active_shards")
        target = self.cluster.write_index(index)
        status, answer = self._put(target, id, request.json_body(), create=True)
        return status, self._refresh_after(request, [target], answer)

    @staticmethod
    def _put(
        index: Index,
        doc_id: str | None,
        body: Any,
        *,
        create: bool,
        if_seq_no: int | None = None,
        if_primary_term: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        if doc_id is None:
            doc_id = secrets.token_urlsafe(15)
        validate_id(doc_id)
        if create and if_seq_no is not None:
            raise EsError(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: create operations do not support compare and set. use index instead;",
            )
        existing = index.live.get(doc_id)
        if create and existing is not None:
            raise conflict(
                index, f"[{doc_id}]: version conflict, document already exists (current version [{existing.version}])"
            )
        check_cas(index, doc_id, if_seq_no, if_primary_term)
        doc = index.write(doc_id, _source_of(body, doc_id))
        return (200, write_answer(index, doc, "updated")) if existing else (201, write_answer(index, doc, "created"))

    def update_doc(self, request: Request, index: str, id: str) -> tuple[int, Any]:
        request.check_params(
            "refresh", "if_seq_no", "if_primary_term", "retry_on_conflict", "timeout", "wait_for_active_shards"
        )
        target = self.cluster.write_index(index)
        retry = request.int_param("retry_on_conflict")
        status, answer = self._update(
            target, id, request.json_body(), request.int_param("if_seq_no"), request.int_param("if_primary_term"), retry
        )
        return status, self._refresh_after(request, [target], answer)

    @staticmethod
    def _update(
        index: Index,
        doc_id: str,
        body: dict[str, Any],
        if_seq_no: int | None,
        if_primary_term: int | None,
        retry_on_conflict: int | None,
    ) -> tuple[int, dict[str, Any]]:
        check_keys("the update request", body, ("doc", "upsert", "doc_as_upsert", "detect_noop"))
        validate_id(doc_id)
        problems = []
        if "doc" not in body:
            problems.append("script or doc is missing")
        if if_seq_no is not None and retry_on_conflict:
            problems.append("compare and write operations can not retry")
        if if_seq_no is not None and ("upsert" in body or body.get("doc_as_upsert")):
            problems.append("upsert requests don't support `if_seq_no` and `if_primary_term`")
        if problems:
            listed = "".join(f"{n}: {p};" for n, p in enumerate(problems, 1))
            raise EsError(400, "action_request_validation_exception", f"Validation Failed: {listed}")
        current = index.live.get(doc_id)
        if current is None:
            if "upsert" not in body and not body.get("doc_as_upsert"):
                raise EsError(
                    404,
                    "document_missing_exception",
                    f"[{doc_id}]: document missing",
                    index_uuid=index.uuid,
                    shard="0",
                    index=index.name,
                )
            doc = index.write(doc_id, _source_of(body.get("upsert", body["doc"]), doc_id))
            return 201, write_answer(index, doc, "created")
        check_cas(index, doc_id, if_seq_no, if_primary_term)
        merged = deep_merge(current.source, _source_of(body["doc"], doc_id))
        if body.get("detect_noop", True) and merged == current.source:
            return 200, write_answer(index, current, "noop", shards=0)
        return 200, write_answer(index, index.write(doc_id, merged), "updated")

    def delete_doc(self, request: Request, index: str, id: str) -> tuple[int, Any]:
        request.check_params("refresh", "if_seq_no", "if_primary_term", "timeout", "wait_for_active_shards")
        target = self._existing(index)
        status, answer = self._delete(target, id, request.int_param("if_seq_no"), request.int_param("if_primary_term"))
        return status, self._refresh_after(request, [target], answer)

    @staticmethod
    def _delete(
        index: Index, doc_id: str, if_seq_no: int | None, if_primary_term: int | None
    ) -> tuple[int, dict[str, Any]]:
        check_cas(index, doc_id, if_seq_no, if_primary_term)
        if doc_id not in index.live:
            index.next_seq_no += 1  # a delete of nothing is still an operation with its sequence number
            missing = Doc(doc_id, {}, index.next_seq_no - 1, 1, {})
            return 404, write_answer(index, missing, "not_found")
        doc = index.live[doc_id]
        seq_no, version = index.delete(doc_id)
        return 200, write_answer(index, doc, "deleted", seq_no=seq_no, version=version)

    def _existing(self, name: str) -> Index:
        found = self.cluster.single(name)
        if found is None:
            raise index_not_found(name)
        return found

    def get_doc(self, request: Request, index: str, id: str) -> tuple[int, Any]:
        request.check_params("_source", "_source_includes", "_source_excludes", "realtime")
        target = self._existing(index)
        doc = target.live.get(id)
        if doc is None:
            return 404, {"_index": target.name, "_id": id, "found": False}
        wanted, includes, excludes = _url_source_filter(request)
        answer = {**doc_meta(target, doc), "found": True}
        if wanted:
            answer["_source"] = filter_source(doc.source, includes, excludes)
        return 200, answer

    def get_source(self, request: Request, index: str, id: str) -> tuple[int, Any]:
        request.check_params("_source_includes", "_source_excludes", "realtime")
        target = self._existing(index)
        doc = target.live.get(id)
        if doc is None:
            raise EsError(404, "resource_not_found_exception", f"Document not found [{target.name}]/[{id}]")
        _, includes, excludes = _url_source_filter(request)
        return 200, filter_source(doc.source, includes, excludes)

    def mget(self, request: Request, index: str | None = None) -> tuple[int, Any]:
        request.check_params("_source", "_source_includes", "_source_excludes", "realtime")
        body = request.json_body()
        check_keys("the mget request", body, ("docs", "ids"))
        wanted = body.get("docs") or [{"_id": doc_id} for doc_id in body.get("ids", [])]
        if not wanted:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: no documents to get;")
        default_source = _url_source_filter(request)
        return 200, {"docs": [self._mget_one(spec, index, default_source, n) for n, spec in enumerate(wanted)]}

    def _mget_one(
        self, spec: dict[str, Any], index: str | None, default_source: tuple[bool, list[str], list[str]], position: int
    ) -> dict[str, Any]:
        check_keys("an mget doc", spec, ("_index", "_id", "_source"))
        name, doc_id = spec.get("_index", index), str(spec["_id"])
        if name is None:
            raise EsError(
                400,
                "action_request_validation_exception",
                f"Validation Failed: 1: index is missing for doc {position};",
            )
        try:
            target = self._existing(name)
        except EsError as error:
            return {"_index": name, "_id": doc_id, "error": error.error()}
        doc = target.live.get(doc_id)
        if doc is None:
            return {"_index": target.name, "_id": doc_id, "found": False}
        wanted, includes, excludes = parse_source_filter(spec["_source"]) if "_source" in spec else default_source
        answer = {**doc_meta(target, doc), "found": True}
        if wanted:
            answer["_source"] = filter_source(doc.source, includes, excludes)
        return answer

    # -- bulk

    def bulk(self, request: Request, index: str | None = None) -> tuple[int, Any]:
        request.check_params("refresh", "timeout", "wait_for_active_shards")
        actions = _bulk_actions(request.body or [], index)
        touched: dict[str, Index] = {}
        items = [self._bulk_item(action, meta, source, touched) for action, meta, source in actions]
        self._refresh_after(request, touched.values(), {})
        errors = any("error" in outcome for item in items for outcome in item.values())
        return 200, {"errors": errors, "took": 1, "items": items}

    def _bulk_item(self, action: str, meta: dict[str, Any], source: Any, touched: dict[str, Index]) -> dict[str, Any]:
        name, doc_id = meta["_index"], meta.get("_id")  # no _id: an index or create with an automatic id
        if_seq_no, if_primary_term = meta.get("if_seq_no"), meta.get("if_primary_term")
        try:
            target = self._existing(name) if action == "delete" else self.cluster.write_index(name)
            touched[target.name] = target
            if action in ("index", "create"):
                status, answer = self._put(
                    target,
                    doc_id,
                    source,
                    create=action == "create",
                    if_seq_no=if_seq_no,
                    if_primary_term=if_primary_term,
                )
            elif action == "update":
                status, answer = self._update(
                    target, meta["_id"], source, if_seq_no, if_primary_term, meta.get("retry_on_conflict")
                )
            else:
                status, answer = self._delete(target, meta["_id"], if_seq_no, if_primary_term)
        except EsError as error:
            item_error = {"type": error.kind, "reason": error.reason, **error.extra}
            return {action: {"_index": name, "_id": doc_id, "status": error.status, "error": item_error}}
        return {action: {**answer, "status": status}}

    # -- search

    def search(self, request: Request, index: str = "_all") -> tuple[int, Any]:
        request.check_params(
            "size",
            "from",
            "_source",
            "_source_includes",
            "_source_excludes",
            "seq_no_primary_term",
            "track_total_hits",
            "timeout",
            "version",
        )
        body = _search_body(request)
        indices = self.cluster.resolve(index)
        size, start = int(body.get("size", 10)), int(body.get("from", 0))
        if size < 0 or start < 0:
            raise illegal(f"[{'size' if size < 0 else 'from'}] parameter cannot be negative")
        if "search_after" in body and start > 0:
            raise illegal("`from` parameter must be set to 0 when `search_after` is used.")
        if start + size > MAX_RESULT_WINDOW:
            raise shard_failure(
                "illegal_argument_exception",
                (
                    "Result window is too large, from + size must be less than "
                    f"or equal to: [{MAX_RESULT_WINDOW}] but was "
                    f"[{start + size}]. See the scroll api for a more efficient way "
                    "to request large data sets. This limit can "
                    "be set by changing the [index.max_result_window] index level setting."
                ),
            )
        aggs = parse_aggs(body.get("aggs", body.get("aggregations", {})))
        _check_timeout(body.get("timeout"))
        matched = self._matching(indices, body.get("query", {"match_all": {}}))
        hits = Hits(indices, body)
        page = hits.order(matched)[start : start + size]
        answer: dict[str, Any] = {
            "took": 1,
            "timed_out": self.time_out_searches,
            "_shards": {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0},
            "hits": {
                **_total(len(matched), body.get("track_total_hits", DEFAULT_TRACK_TOTAL_HITS)),
                "max_score": hits.max_score(page),
                "hits": [hits.render(entry, values) for entry, values in page],
            },
        }
        if aggs:
            everything = [Entry(i, doc) for i in indices for doc in i.visible.values()]
            answer["aggregations"] = run_aggs(aggs, matched, AggContext(indices, everything))
        return 200, answer

    @staticmethod
    def _matching(indices: list[Index], query: Any) -> list[Entry]:
        """The refreshed documents matching ``query``, each with its score (the query is checked even
        when no index is searched)."""
        entries = []
        for index in indices or [_EMPTY]:
            matcher = compile_query(query, index)
            for doc in index.visible.values():
                score = matcher(doc)
                if score is not None:
                    entries.append(Entry(index, doc, score))
        return entries

    def count(self, request: Request, index: str = "_all") -> tuple[int, Any]:
        request.check_params()
        body = request.json_body()
        check_keys("the count request", body, ("query",))
        indices = self.cluster.resolve(index)
        matched = self._matching(indices, body.get("query", {"match_all": {}}))
        return 200, {
            "count": len(matched),
            "_shards": {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0},
        }

    def delete_by_query(self, request: Request, index: str) -> tuple[int, Any]:
        request.check_params("refresh", "conflicts", "slices", "wait_for_completion", "timeout", "scroll_size")
        if not request.flag("wait_for_completion") and "wait_for_completion" in request.params:
            raise unsupported("wait_for_completion=false (tasks)")
        conflicts = request.params.get("conflicts", "abort")
        if conflicts not in ("abort", "proceed"):
            raise illegal(f'conflicts may only be "proceed" or "abort" but was [{conflicts}]')
        body = request.json_body()
        check_keys("the delete_by_query request", body, ("query",))
        if "query" not in body:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: query is missing;")
        indices = self.cluster.resolve(index)
        matched = sorted(self._matching(indices, body["query"]), key=lambda e: (e.index.name, e.doc.seq_no))
        deleted, failures, version_conflicts = 0, [], 0
        for entry in matched:
            live = entry.index.live.get(entry.doc.id)
            if live is None or live.seq_no != entry.doc.seq_no:
                version_conflicts += 1
                if conflicts == "abort":
                    failures.append(_conflict_failure(entry, live))
                    break
                continue
            entry.index.delete(entry.doc.id)
            deleted += 1
        if request.refresh() is not None:
            for found in indices:
                found.refresh()
        answer = {
            "took": 1,
            "timed_out": False,
            "total": len(matched),
            "deleted": deleted,
            "batches": math.ceil(len(matched) / 1000),
            "version_conflicts": version_conflicts,
            "noops": 0,
            "retries": {"bulk": 0, "search": 0},
            "throttled_millis": 0,
            "requests_per_second": -1.0,
            "throttled_until_millis": 0,
            "failures": failures,
        }
        return (409 if failures else 200), answer


def _conflict_failure(entry: Entry, live: Doc | None) -> dict[str, Any]:
    required = f"[{entry.doc.id}]: version conflict, required seqNo [{entry.doc.seq_no}], primary term [1]."
    found = (
        "but no document was found"
        if live is None
        else f"current document has seqNo [{live.seq_no}] and primary term [1]"
    )
    cause = conflict(entry.index, f"{required} {found}")
    return {
        "index": entry.index.name,
        "id": entry.doc.id,
        "cause": {"type": cause.kind, "reason": cause.reason, **cause.extra},
        "status": 409,
    }


def _url_source_filter(request: Request) -> tuple[bool, list[str], list[str]]:
    value = request.params.get("_source")
    wanted = value not in ("false",)
    includes = value.split(",") if value not in (None, "true", "false", "") else []
    includes += [p for p in request.params.get("_source_includes", "").split(",") if p]
    excludes = [p for p in request.params.get("_source_excludes", "").split(",") if p]
    return wanted, includes, excludes


_SEARCH_KEYS = (
    "query",
    "size",
    "from",
    "sort",
    "search_after",
    "_source",
    "track_total_hits",
    "seq_no_primary_term",
    "version",
    "timeout",
    "aggs",
    "aggregations",
)


def _search_body(request: Request) -> dict[str, Any]:
    """The search body with the URL parameters applied over it (they win, as in Elasticsearch)."""
    body = dict(request.json_body())
    check_keys("the search request", body, _SEARCH_KEYS)
    if "aggs" in body and "aggregations" in body:
        raise parsing("Found two aggregation type definitions in [aggs] and [aggregations]")
    params = request.params
    for name in ("size", "from"):
        if name in params:
            body[name] = request.int_param(name)
    for name in ("seq_no_primary_term", "version"):
        if name in params:
            body[name] = request.flag(name)
    if "track_total_hits" in params:
        value = params["track_total_hits"]
        body["track_total_hits"] = value in ("true", "") if value in ("true", "false", "") else int(value)
    if any(name in params for name in ("_source", "_source_includes", "_source_excludes")):
        wanted, includes, excludes = _url_source_filter(request)
        body["_source"] = {"includes": includes, "excludes": excludes} if wanted else False
    if "timeout" in params:
        body["timeout"] = params["timeout"]
    return body


def _check_timeout(value: Any) -> None:
    if value is not None and not re.fullmatch(r"-1|\d+(nanos|micros|ms|s|m|h|d)", str(value)):
        raise EsError(
            400,
            "parse_exception",
            f"failed to parse setting [timeout] with value [{value}] as a time value: unit is missing or unrecognized",
        )


def _total(count: int, track: Any) -> dict[str, Any]:
    if track is False:
        return {}
    if track is True:
        return {"total": {"value": count, "relation": "eq"}}
    limit = int(track)
    return {"total": {"value": min(count, limit), "relation": "gte" if count > limit else "eq"}}


def _bulk_actions(lines: list[Any], index: str | None) -> list[tuple[str, dict[str, Any], Any]]:
    """The (action, metadata, source) of a _bulk body, checked whole before anything runs (as ES does)."""
    actions, position = [], 0
    while position < len(lines):
        header = lines[position]
        if not isinstance(header, dict) or len(header) != 1:
            raise illegal(f"Malformed action/metadata line [{position + 1}], expected a single action object")
        ((action, meta),) = header.items()
        if action not in ("index", "create", "update", "delete"):
            raise illegal(
                f"Malformed action/metadata line [{position + 1}], expected field [create], [delete], [index] or "
                f"[update] but found [{action}]"
            )
        check_keys(
            f"the bulk {action} metadata",
            meta,
            ("_index", "_id", "if_seq_no", "if_primary_term", *(("retry_on_conflict",) if action == "update" else ())),
        )
        meta = {**meta, "_index": meta.get("_index", index)}
        if meta["_index"] is None:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
        if action in ("update", "delete") and meta.get("_id") is None:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
        if meta.get("_id") is not None:
            meta["_id"] = str(meta["_id"])
        source = None
        if action != "delete":
            position += 1
            if position >= len(lines):
                raise illegal("The bulk request must be terminated by a newline [\\n]")
            source = lines[position]
        actions.append((action, meta, source))
        position += 1
    return actions


# -- the HTTP server --------------------------------------------------------------------------------


class EsEmulator:
    """The emulator on a loopback port: ``with EsEmulator() as es: Elasticsearch(es.url)``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._api = Api(Cluster())
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the loop's next look at the stop flag.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def time_out_searches(self) -> bool:
        return self._api.time_out_searches

    @time_out_searches.setter
    def time_out_searches(self, value: bool) -> None:
        self._api.time_out_searches = value

    def __enter__(self) -> EsEmulator:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """A fresh cluster: no index, template or policy."""
        with self._lock:
            self._api.cluster = Cluster()

    def answer(self, method: str, target: str, raw: bytes) -> tuple[int, Any]:
        url = urlsplit(target)
        with self._lock:
            self.requests.append((method, url.path))
            try:
                body = _parse_body(url.path, raw)
                return self._api.handle(
                    Request(
                        method, url.path.rstrip("/") or "/", dict(parse_qsl(url.query, keep_blank_values=True)), body
                    )
                )
            except EsError as error:
                return error.status, error.body()
            except Exception as error:  # an emulator bug: answer it, with its traceback, instead of hanging up
                trace = "".join(traceback.format_exception(error))
                return 500, EsError(500, "emulator_internal_exception", trace).body()


def _parse_body(path: str, raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        if path.endswith("/_bulk"):
            return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise EsError(400, "x_content_parse_exception", f"Failed to parse the request body: {error}") from None


# Elasticsearch 8 answers requests for its own API version or 7's (REST compatibility), and refuses a
# newer client's: the 9.x Python client fails against an 8.x cluster this way.
_COMPATIBLE_WITH = ("7", "8")
_MEDIA_TYPE_REFUSAL = {
    "error": {
        "root_cause": [
            {"type": "media_type_header_exception", "reason": "Invalid media-type value on headers [Accept]"}
        ],
        "type": "media_type_header_exception",
        "reason": "Invalid media-type value on headers [Accept]",
    },
    "status": 400,
}


def _handler_for(emulator: EsEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
        wbufsize = 1 << 16  # headers and body leave in one packet
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            accept = self.headers.get("Accept", "")
            compatible = re.search(r"compatible-with=(\d+)", accept)
            if compatible and compatible[1] not in _COMPATIBLE_WITH:  # e.g. the 9.x Python client
                status, answer = 400, _MEDIA_TYPE_REFUSAL
            else:
                status, answer = emulator.answer(self.command, self.path, raw)
            payload = (
                b"" if answer is None or self.command == "HEAD" else json.dumps(answer, ensure_ascii=False).encode()
            )
            self.send_response(status)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header(
                "Content-Type",
                f"application/vnd.elasticsearch+json;compatible-with={compatible[1]}"
                if compatible
                else "application/json",
            )
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # ``emulator.requests`` is the log

    return Handler
