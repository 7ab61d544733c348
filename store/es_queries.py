"""The read side of the Elasticsearch store as pure functions: request bodies in, Store values out.

Each ``*_request`` builds the body of a ``POST fengxiang-mentions/_search`` (send it whole, as
``client.search(index=MENTIONS_ALIAS, body=...)``: it uses the REST names like ``_source``); the matching
``read_*`` turns Elasticsearch's answer into what ``store.sqlite.SQLiteStore`` returns for the same call.

Times are compared in whole seconds, as SQLite stores them: a mention at 10:00:00.5 is inside a window
ending at 10:00:01 and outside one ending at 10:00:00.9, in both backends. Ties in time are broken by
``stored_seq`` (when a mention was first stored), as SQLite breaks them by row number, then by id.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fengxiang.query import to_elasticsearch
from store.base import (
    SENTIMENT_BUCKETS,
    UNLABELED,
    Bucket,
    Counts,
    Interval,
    MentionFilter,
    Page,
    SortOrder,
    Split,
    Window,
)
from store.es_bulk import DERIVED_FIELDS
from store.model import Mention

DEFAULT_ZONE = "Asia/Shanghai"
ITER_CHUNK = 2000  # mentions per request while exporting, as SQLite reads them
# Far more platforms than fengxiang crawls; imports may name a few more. A terms aggregation returns only
# its `size` biggest buckets, so this must exceed the platforms ever stored.
_MAX_PLATFORMS = 100
# Every monthly index is a shard that ranks its own keywords; a deep per-shard list keeps the merged top
# `limit` exact unless one month's ranking is far from the window's.
_MIN_KEYWORD_SHARD_SIZE = 1000
# The aggregations splitting mentions by sentiment or platform. A mention not analysed yet has no
# sentiment.label: `missing` counts it under UNLABELED, as SQLite does.
_SPLIT_TERMS: dict[Split, dict[str, Any]] = {
    "sentiment": {"terms": {"field": "sentiment.label", "missing": UNLABELED, "size": len(SENTIMENT_BUCKETS)}},
    "platform": {"terms": {"field": "platform", "size": _MAX_PLATFORMS}},
}
_SORT_FIELDS: dict[SortOrder, str] = {"time": "created_at", "engagement": "engagement"}


# -- filters -------------------------------------------------------------------------------------


def mention_query(where: MentionFilter) -> dict[str, Any]:
    """A ``bool`` query of filter clauses only: nothing is scored, and Elasticsearch caches filters."""
    clauses: list[dict[str, Any]] = []
    if where.since is not None or where.until is not None:
        bounds = {"gte": where.since, "lt": where.until}
        clauses.append({"range": {"created_at": {op: es_time(at) for op, at in bounds.items() if at is not None}}})
    if where.brand is not None:
        clauses.append({"term": {"brands": where.brand}})
    if where.sentiments:
        clauses.append(_sentiment_clause(where.sentiments))
    if where.platforms:
        clauses.append({"terms": {"platform": list(where.platforms)}})
    if where.text is not None:
        clauses.append(to_elasticsearch(where.text))
    return {"bool": {"filter": clauses}}


def _window_query(window: Window) -> dict[str, Any]:
    return mention_query(
        MentionFilter(brand=window.brand, since=window.since, until=window.until, platforms=window.platforms)
    )


def _sentiment_clause(sentiments: tuple[str, ...]) -> dict[str, Any]:
    labels = [label for label in sentiments if label != UNLABELED]
    alternatives: list[dict[str, Any]] = [{"terms": {"sentiment.label": labels}}] if labels else []
    if UNLABELED in sentiments:
        alternatives.append({"bool": {"must_not": [{"exists": {"field": "sentiment.label"}}]}})
    return {"bool": {"should": alternatives, "minimum_should_match": 1}}


def es_time(moment: datetime) -> str:
    """A bound in whole seconds, cut as SQLite's ``int(moment.timestamp())`` cuts it."""
    return datetime.fromtimestamp(int(moment.timestamp()), UTC).isoformat()


# -- counts ---------------------------------------------------------------------------------------


def counts_request(window: Window) -> dict[str, Any]:
    return {
        "size": 0,
        "track_total_hits": True,  # by default the total stops at 10,000
        "query": _window_query(window),
        "aggs": {
            "by_sentiment": _SPLIT_TERMS["sentiment"],
            "by_platform": _SPLIT_TERMS["platform"],
            "engagement": {"sum": {"field": "engagement"}},
        },
    }


def read_counts(response: dict[str, Any]) -> Counts:
    aggregations = response["aggregations"]
    return Counts(
        total=response["hits"]["total"]["value"],
        by_sentiment=_bucket_counts(aggregations["by_sentiment"]),
        by_platform=_bucket_counts(aggregations["by_platform"]),
        engagement=round(aggregations["engagement"]["value"]),  # a sum is a double, even over longs
    )


def _bucket_counts(aggregation: dict[str, Any]) -> dict[str, int]:
    return {bucket["key"]: bucket["doc_count"] for bucket in aggregation["buckets"]}


# -- histogram ------------------------------------------------------------------------------------


def histogram_request(
    window: Window, *, interval: Interval = "day", split: Split = "sentiment", zone: str = DEFAULT_ZONE
) -> dict[str, Any]:
    """Local hours or days of ``zone``, from the one holding ``since`` to the one holding the window's
    last second, every one of them present (``min_doc_count: 0`` fills the empty ones, ``extended_bounds``
    those at either end) as in SQLite."""
    last_second = int(window.until.timestamp()) - 1
    # An empty window still asks for the bucket of `since`: a `max` below `min` is a 400 error.
    last = datetime.fromtimestamp(max(last_second, int(window.since.timestamp())), UTC)
    return {
        "size": 0,
        "query": _window_query(window),
        "aggs": {
            "buckets": {
                "date_histogram": {
                    "field": "created_at",
                    "calendar_interval": interval,
                    "time_zone": zone,
                    "min_doc_count": 0,
                    "extended_bounds": {"min": es_time(window.since), "max": es_time(last)},
                },
                "aggs": {"split": _SPLIT_TERMS[split]},
            }
        },
    }


def read_histogram(response: dict[str, Any], *, zone: str = DEFAULT_ZONE) -> list[Bucket]:
    local = ZoneInfo(zone)
    return [
        Bucket(
            start=datetime.fromtimestamp(bucket["key"] // 1000, local),  # key: the start in epoch milliseconds
            total=bucket["doc_count"],
            split=_bucket_counts(bucket["split"]),
        )
        for bucket in response["aggregations"]["buckets"]["buckets"]
    ]


# -- keywords -------------------------------------------------------------------------------------


def top_keywords_request(window: Window, *, limit: int = 20) -> dict[str, Any]:
    return {
        "size": 0,
        "query": _window_query(window),
        "aggs": {
            "keywords": {
                "terms": {
                    "field": "keywords",
                    "size": limit,
                    "shard_size": max(_MIN_KEYWORD_SHARD_SIZE, 2 * limit),
                    "order": [{"_count": "desc"}, {"_key": "asc"}],  # SQLite's ties: the word, in code point order
                }
            }
        },
    }


def read_top_keywords(response: dict[str, Any]) -> list[tuple[str, int]]:
    return list(_bucket_counts(response["aggregations"]["keywords"]).items())


# -- mentions -------------------------------------------------------------------------------------


def search_request(
    where: MentionFilter, *, sort: SortOrder = "time", limit: int = 50, cursor: str | None = None
) -> dict[str, Any]:
    """Newest (or most engaged) first, the mention id breaking ties; ``limit + 1`` hits, the extra one
    telling whether another page follows."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    request = _hits_request(where, _sort(sort, "desc"), limit + 1)
    if cursor is not None:
        request["search_after"] = _decode_cursor(cursor, sort)
    return request


def read_page(response: dict[str, Any], *, sort: SortOrder = "time", limit: int = 50) -> Page:
    hits = response["hits"]["hits"]
    next_cursor = _encode_cursor(sort, hits[limit - 1]["sort"]) if len(hits) > limit else None
    return Page(items=[mention_from_source(hit["_source"]) for hit in hits[:limit]], next_cursor=next_cursor)


def iter_request(where: MentionFilter, *, after: Sequence[Any] | None = None, size: int = ITER_CHUNK) -> dict[str, Any]:
    """One chunk of ``iter_mentions``: oldest first, after the ``sort`` values of the previous chunk's last hit."""
    request = _hits_request(where, _sort("time", "asc"), size)
    if after is not None:
        request["search_after"] = list(after)
    return request


def read_chunk(response: dict[str, Any]) -> tuple[list[Mention], list[Any] | None]:
    """The chunk's mentions and the ``after`` of the next request; None when this chunk was empty."""
    hits = response["hits"]["hits"]
    return [mention_from_source(hit["_source"]) for hit in hits], (hits[-1]["sort"] if hits else None)


def _sort(order: SortOrder, direction: str) -> list[dict[str, str]]:
    return [{_SORT_FIELDS[order]: direction}, {"stored_seq": direction}, {"id": direction}]


def _hits_request(where: MentionFilter, sort: list[dict[str, str]], size: int) -> dict[str, Any]:
    return {
        "size": size,
        "track_total_hits": False,  # paging needs no total: let Elasticsearch stop counting
        "query": mention_query(where),
        "sort": sort,
        "_source": {"excludes": list(DERIVED_FIELDS)},  # match_text and tokens alone double a hit
    }


def mention_from_source(source: dict[str, Any]) -> Mention:
    """The mention a document holds. Derived fields are dropped here too, so a whole stored document
    (a ``get``) reads back as the mention that was written and not with them as extra fields."""
    return Mention.model_validate({name: value for name, value in source.items() if name not in DERIVED_FIELDS})


def _encode_cursor(sort: SortOrder, values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort, *values]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: SortOrder) -> list[Any]:
    try:
        kind, *values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if kind != sort or len(values) != len(_sort(sort, "desc")):
            raise ValueError(kind)
    except (ValueError, TypeError):  # bad base64, UTF-8 or JSON are ValueErrors; JSON not a list, a TypeError
        raise ValueError(
            f"the cursor {cursor!r} does not belong to a search sorted by {sort} — start again without it"
        ) from None
    return values
