"""The Elasticsearch store's reads: the request bodies, and answers shaped as Elasticsearch 8/9 gives them read
into the values a SQLite store filled with the same mentions returns for the same call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fengxiang.query import parse, to_elasticsearch
from store.base import UNLABELED, MentionFilter, Window
from store.es_bulk import DERIVED_FIELDS, mention_document
from store.es_queries import (
    counts_request,
    histogram_request,
    iter_request,
    mention_from_source,
    read_chunk,
    read_counts,
    read_histogram,
    read_page,
    read_top_keywords,
    search_request,
    top_keywords_request,
)
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.conftest import SHANGHAI, make_mention

NIO = "蔚来"
EXCLUDED = {"excludes": list(DERIVED_FIELDS)}
SHARDS = {"total": 2, "successful": 2, "skipped": 0, "failed": 0}
SENTIMENT_AGG = {"terms": {"field": "sentiment.label", "missing": UNLABELED, "size": 4}}
PLATFORM_AGG = {"terms": {"field": "platform", "size": 100}}


def _at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


EARLY = make_mention(
    id="weibo:1",
    created_at=_at(20, 9, 15),
    sentiment={"label": "positive"},
    brands=[NIO],
    keywords=["交付", "服务"],
)
MORNING = make_mention(
    id="weibo:2",
    created_at=_at(20, 10, 30),
    sentiment={"label": "negative"},
    brands=[NIO],
    keywords=["服务", "门店"],
    metrics={"reposts": 10, "comments": 0, "likes": 5},
)
NIGHT = make_mention(id="bilibili:3", created_at=_at(20, 23, 59, 59), brands=[NIO], keywords=["服务", "交付", "门店"])
OTHER_BRAND = make_mention(
    id="zhihu:4", created_at=_at(21, 0), sentiment={"label": "neutral"}, brands=["理想"], keywords=["续航"]
)
AT_THE_END = make_mention(
    id="weibo:5", created_at=_at(21, 8), sentiment={"label": "positive"}, brands=[NIO], keywords=["交付"]
)
# [20 Nov 09:00, 21 Nov 08:00) in Beijing: EARLY, MORNING and NIGHT; AT_THE_END is on the open end.
WINDOW = Window(since=_at(20, 9), until=_at(21, 8), brand=NIO)
WINDOW_RANGE = {"range": {"created_at": {"gte": "2026-11-20T01:00:00+00:00", "lt": "2026-11-21T00:00:00+00:00"}}}


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    store = SQLiteStore(Path(tmp_path_factory.mktemp("sqlite")) / "store.db")
    store.upsert([EARLY, MORNING, NIGHT, OTHER_BRAND, AT_THE_END])
    yield store
    store.close()


def _answer(*, total: int = 0, hits: list[dict[str, Any]] | None = None, **aggregations: Any) -> dict[str, Any]:
    """A search response as Elasticsearch gives it."""
    answer: dict[str, Any] = {
        "took": 4,
        "timed_out": False,
        "_shards": SHARDS,
        "hits": {"total": {"value": total, "relation": "eq"}, "max_score": None, "hits": hits or []},
    }
    if aggregations:
        answer["aggregations"] = aggregations
    return answer


def _terms(*buckets: tuple[str, int], other: int = 0) -> dict[str, Any]:
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": other,
        "buckets": [{"key": key, "doc_count": n} for key, n in buckets],
    }


def _hit(mention: Mention, millis: int, stored_seq: int = 7) -> dict[str, Any]:
    """A sorted hit: ``_source`` filtered as the request's ``excludes`` asks, sort values (created_at,
    stored_seq, id)."""
    source = {name: value for name, value in mention_document(mention).items() if name not in DERIVED_FIELDS}
    return {
        "_index": "fengxiang-mentions-2026.11",
        "_id": mention.id,
        "_score": None,
        "_source": source,
        "sort": [millis, stored_seq, mention.id],
    }


# -- counts ---------------------------------------------------------------------------------------


def test_counts_request_filters_the_half_open_window_brand_and_platforms() -> None:
    window = Window(since=_at(20, 9), until=_at(21, 8), brand=NIO, platforms=("weibo", "bilibili"))

    assert counts_request(window) == {
        "size": 0,
        "track_total_hits": True,
        "query": {
            "bool": {
                "filter": [WINDOW_RANGE, {"term": {"brands": NIO}}, {"terms": {"platform": ["weibo", "bilibili"]}}]
            }
        },
        "aggs": {
            "by_sentiment": SENTIMENT_AGG,
            "by_platform": PLATFORM_AGG,
            "engagement": {"sum": {"field": "engagement"}},
        },
    }


def test_every_brand_has_no_brand_filter_and_bounds_are_cut_to_whole_seconds_like_sqlites() -> None:
    window = Window(since=_at(20, 9).replace(microsecond=700_000), until=_at(21, 8).replace(microsecond=300_000))

    assert counts_request(window)["query"] == {"bool": {"filter": [WINDOW_RANGE]}}


def test_counts_read_like_sqlite(sqlite: SQLiteStore) -> None:
    answer = _answer(
        total=3,
        by_sentiment=_terms(("negative", 1), ("positive", 1), (UNLABELED, 1)),
        by_platform=_terms(("weibo", 2), ("bilibili", 1)),
        engagement={"value": 27.0},
    )

    assert read_counts(answer) == sqlite.counts(WINDOW)


# -- histogram ------------------------------------------------------------------------------------


def test_daily_histogram_request_zero_fills_from_the_first_to_the_last_second_of_the_window() -> None:
    assert histogram_request(WINDOW) == {
        "size": 0,
        "query": {"bool": {"filter": [WINDOW_RANGE, {"term": {"brands": NIO}}]}},
        "aggs": {
            "buckets": {
                "date_histogram": {
                    "field": "created_at",
                    "calendar_interval": "day",
                    "time_zone": "Asia/Shanghai",
                    "min_doc_count": 0,
                    "extended_bounds": {"min": "2026-11-20T01:00:00+00:00", "max": "2026-11-20T23:59:59+00:00"},
                },
                "aggs": {"split": SENTIMENT_AGG},
            }
        },
    }


def test_daily_histogram_reads_like_sqlite_partial_days_and_an_empty_one_included(sqlite: SQLiteStore) -> None:
    answer = _answer(
        total=3,
        buckets={
            "buckets": [
                {
                    "key_as_string": "2026-11-20T00:00:00.000+08:00",
                    "key": 1795104000000,
                    "doc_count": 3,
                    "split": _terms(("negative", 1), ("positive", 1), (UNLABELED, 1)),
                },
                {
                    "key_as_string": "2026-11-21T00:00:00.000+08:00",
                    "key": 1795190400000,
                    "doc_count": 0,
                    "split": _terms(),
                },
            ]
        },
    )

    buckets = read_histogram(answer)

    assert buckets == sqlite.histogram(WINDOW, interval="day")
    assert [bucket.start.isoformat() for bucket in buckets] == [
        "2026-11-20T00:00:00+08:00",
        "2026-11-21T00:00:00+08:00",
    ]


# 09:30 to 11:00: the 09:00 hour is partial (EARLY, at 09:15, is outside it); 11:00 is not a bucket.
HOURS = Window(since=_at(20, 9, 30), until=_at(20, 11), brand=NIO)


def test_hourly_histogram_request_by_platform_in_another_zone() -> None:
    histogram = histogram_request(HOURS, interval="hour", split="platform", zone="Asia/Tokyo")["aggs"]["buckets"]

    assert histogram == {
        "date_histogram": {
            "field": "created_at",
            "calendar_interval": "hour",
            "time_zone": "Asia/Tokyo",
            "min_doc_count": 0,
            "extended_bounds": {"min": "2026-11-20T01:30:00+00:00", "max": "2026-11-20T02:59:59+00:00"},
        },
        "aggs": {"split": PLATFORM_AGG},
    }


def test_hourly_histogram_by_platform_reads_like_sqlite(sqlite: SQLiteStore) -> None:
    answer = _answer(
        total=1,
        buckets={
            "buckets": [
                {
                    "key_as_string": "2026-11-20T09:00:00.000+08:00",
                    "key": 1795136400000,
                    "doc_count": 0,
                    "split": _terms(),
                },
                {
                    "key_as_string": "2026-11-20T10:00:00.000+08:00",
                    "key": 1795140000000,
                    "doc_count": 1,
                    "split": _terms(("weibo", 1)),
                },
            ]
        },
    )

    assert read_histogram(answer) == sqlite.histogram(HOURS, interval="hour", split="platform")


def test_an_empty_window_still_asks_valid_bounds() -> None:
    bounds = histogram_request(Window(since=_at(20, 9), until=_at(20, 9)))["aggs"]["buckets"]["date_histogram"]

    assert bounds["extended_bounds"] == {"min": "2026-11-20T01:00:00+00:00", "max": "2026-11-20T01:00:00+00:00"}


# -- keywords -------------------------------------------------------------------------------------


def test_top_keywords_request_ranks_by_count_then_word() -> None:
    assert top_keywords_request(WINDOW, limit=2) == {
        "size": 0,
        "query": {"bool": {"filter": [WINDOW_RANGE, {"term": {"brands": NIO}}]}},
        "aggs": {
            "keywords": {
                "terms": {
                    "field": "keywords",
                    "size": 2,
                    "shard_size": 1000,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
        },
    }


def test_top_keywords_read_like_sqlite_ties_by_word(sqlite: SQLiteStore) -> None:
    answer = _answer(total=3, keywords=_terms(("服务", 3), ("交付", 2), other=2))  # 门店 ties with 交付

    assert read_top_keywords(answer) == sqlite.top_keywords(WINDOW, limit=2) == [("服务", 3), ("交付", 2)]


# -- search and export ----------------------------------------------------------------------------

IN_WINDOW = MentionFilter(brand=NIO, since=WINDOW.since, until=WINDOW.until)


def test_search_request_filters_everything_a_mention_filter_holds() -> None:
    query = parse("服务 -投诉")
    where = MentionFilter(
        brand=NIO,
        since=WINDOW.since,
        until=WINDOW.until,
        sentiments=("negative", UNLABELED),
        platforms=("weibo",),
        text=query,
    )

    assert search_request(where, limit=20) == {
        "size": 21,
        "track_total_hits": False,
        "query": {
            "bool": {
                "filter": [
                    WINDOW_RANGE,
                    {"term": {"brands": NIO}},
                    {
                        "bool": {
                            "should": [
                                {"terms": {"sentiment.label": ["negative"]}},
                                {"bool": {"must_not": [{"exists": {"field": "sentiment.label"}}]}},
                            ],
                            "minimum_should_match": 1,
                        }
                    },
                    {"terms": {"platform": ["weibo"]}},
                    to_elasticsearch(query),
                ]
            }
        },
        "sort": [{"created_at": "desc"}, {"stored_seq": "desc"}, {"id": "desc"}],
        "_source": EXCLUDED,
    }


def test_search_by_engagement_sorts_by_it() -> None:
    assert search_request(MentionFilter(), sort="engagement")["sort"] == [
        {"engagement": "desc"},
        {"stored_seq": "desc"},
        {"id": "desc"},
    ]


def test_pages_read_like_sqlite_and_the_cursor_continues_after_the_last_mention(sqlite: SQLiteStore) -> None:
    first = read_page(
        _answer(hits=[_hit(NIGHT, 1795190399000), _hit(MORNING, 1795141800000), _hit(EARLY, 1795137300000)]),
        limit=2,
    )
    sqlite_first = sqlite.search(IN_WINDOW, limit=2)
    assert first.items == sqlite_first.items == [NIGHT, MORNING]
    assert first.next_cursor is not None

    following = search_request(IN_WINDOW, limit=2, cursor=first.next_cursor)
    assert following["search_after"] == [1795141800000, 7, "weibo:2"]
    last = read_page(_answer(hits=[_hit(EARLY, 1795137300000)]), limit=2)
    assert last.items == sqlite.search(IN_WINDOW, limit=2, cursor=sqlite_first.next_cursor).items == [EARLY]
    assert last.next_cursor is None


def test_a_cursor_of_another_sort_or_garbage_is_refused() -> None:
    cursor = read_page(_answer(hits=[_hit(NIGHT, 1795190399000), _hit(MORNING, 1795141800000)]), limit=1).next_cursor
    assert cursor is not None

    for wrong in (cursor, "bm90IGpzb24", "MTI"):
        with pytest.raises(ValueError, match="does not belong to a search sorted by engagement"):
            search_request(IN_WINDOW, sort="engagement", cursor=wrong)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        search_request(IN_WINDOW, limit=0)


def test_export_chunks_go_oldest_first_after_the_previous_chunk() -> None:
    assert iter_request(IN_WINDOW, after=[1795141800000, "weibo:2"]) == {
        "size": 2000,
        "track_total_hits": False,
        "query": {"bool": {"filter": [WINDOW_RANGE, {"term": {"brands": NIO}}]}},
        "sort": [{"created_at": "asc"}, {"stored_seq": "asc"}, {"id": "asc"}],
        "_source": EXCLUDED,
        "search_after": [1795141800000, "weibo:2"],
    }
    assert "search_after" not in iter_request(IN_WINDOW)


def test_export_chunks_read_like_sqlite_until_one_is_empty(sqlite: SQLiteStore) -> None:
    hits = [_hit(EARLY, 1795137300000), _hit(MORNING, 1795141800000), _hit(NIGHT, 1795190399000)]

    assert read_chunk(_answer(hits=hits)) == (list(sqlite.iter_mentions(IN_WINDOW)), [1795190399000, 7, "bilibili:3"])
    assert read_chunk(_answer()) == ([], None)


def test_a_whole_stored_document_reads_back_as_the_mention_written(tmp_path: Path) -> None:
    repost = make_mention(
        "//@蔚来: 交付了",
        id="weibo:6",
        kind="repost",
        parent_id="weibo:0",
        parent_author={"id": "2002", "name": "蔚来"},
        sentiment={"label": "positive", "probs": {"negative": 0.1, "neutral": 0.2, "positive": 0.7}},
        simhash=0x1234,
    )
    with SQLiteStore(tmp_path / "store.db") as sqlite:
        sqlite.upsert([repost])

        assert mention_from_source(mention_document(repost)) == sqlite.get("weibo:6") == repost
