"""The Elasticsearch emulator (tests/es_emulator.py) through the official client: what it answers, and
what it refuses the way Elasticsearch would (or as unsupported)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch

from fengxiang.query import compile_matcher, parse, to_elasticsearch
from fengxiang.textmatch import fold
from store import es_queries, es_schema
from store.base import Window
from store.es_bulk import write_mentions
from tests.conftest import SHANGHAI, make_mention
from tests.es_emulator import EsEmulator

MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "name": {"type": "keyword"},
        "tags": {"type": "keyword"},
        "n": {"type": "long"},
        "score": {"type": "double"},
        "ok": {"type": "boolean"},
        "at": {"type": "date"},
        "body": {"type": "text", "analyzer": "fengxiang_tokens"},
        "plain": {"type": "text"},
        "hidden": {"type": "keyword", "index": False, "doc_values": False},
        "blob": {"type": "object", "enabled": False},
        "match_text": {"type": "wildcard"},
        "author": {"properties": {"id": {"type": "keyword"}, "followers": {"type": "long"}}},
        "loose": {"dynamic": False, "properties": {"kept": {"type": "keyword"}}},
    },
}
SETTINGS = {"analysis": {"analyzer": {"fengxiang_tokens": {"type": "custom", "tokenizer": "whitespace"}}}}


@pytest.fixture(scope="module")
def emulator() -> Iterator[EsEmulator]:
    with EsEmulator() as running:
        yield running


@pytest.fixture
def es(emulator: EsEmulator) -> Iterator[Elasticsearch]:
    emulator.reset()
    emulator.time_out_searches = False
    client = Elasticsearch(emulator.url)
    yield client
    client.close()


def docs_index(es: Elasticsearch, docs: list[dict[str, Any]], index: str = "docs") -> None:
    """An index with MAPPINGS holding ``docs`` (ids "0", "1", ...), refreshed."""
    es.indices.create(index=index, mappings=MAPPINGS, settings=SETTINGS)
    for number, doc in enumerate(docs):
        es.index(index=index, id=str(number), document=doc)
    es.indices.refresh(index=index)


def refused(call: Any, status: int, kind: str | None) -> ApiError:
    """The error of a refused call: its HTTP status and (unless None) its error type checked."""
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.meta.status == status, caught.value.info
    assert kind is None or caught.value.error == kind, caught.value.info
    return caught.value


def search_refused(es: Elasticsearch, status: int, kind: str | None, **search: Any) -> ApiError:
    return refused(lambda: es.search(**search), status, kind)


def root_reason(error: ApiError) -> str:
    return error.info["error"]["root_cause"][0]["reason"]


def ids(response: Any) -> list[str]:
    return [hit["_id"] for hit in response["hits"]["hits"]]


def matching(es: Elasticsearch, query: dict[str, Any], index: str = "docs") -> list[str]:
    return sorted(ids(es.search(index=index, query=query, size=100)))


# -- cluster, templates, indices -------------------------------------------------------------------


def test_info_and_ping(es: Elasticsearch, emulator: EsEmulator) -> None:
    assert es.info()["version"]["number"] == "8.15.0"
    assert es.info()["tagline"] == "You Know, for Search"
    assert es.ping()
    assert ("GET", "/") in emulator.requests


def test_a_newer_clients_api_version_is_refused_as_elasticsearch_8_refuses_it(emulator: EsEmulator) -> None:
    """The project pins the 8.x Python client: the 9.x one sends compatible-with=9, which an 8.x cluster refuses."""
    headers = {"Accept": "application/vnd.elasticsearch+json; compatible-with=9"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(emulator.url, headers=headers), timeout=10)
    assert refused.value.code == 400
    assert json.load(refused.value)["error"]["type"] == "media_type_header_exception"


def test_install_applies_templates_and_a_new_month_joins_the_alias(es: Elasticsearch) -> None:
    created = es_schema.install(es, now=datetime(2026, 11, 20, tzinfo=UTC))
    assert "fengxiang-mentions-2026.11" in created and "fengxiang-outbox" in created
    assert es_schema.install(es, now=datetime(2026, 11, 20, tzinfo=UTC)) == []
    es.index(index="fengxiang-mentions-2026.12", id="m", document={"id": "m", "platform": "weibo"})
    assert set(es.indices.get_alias(name="fengxiang-mentions")) == {
        "fengxiang-mentions-2026.11",
        "fengxiang-mentions-2026.12",
    }
    mapping = es.indices.get_mapping(index="fengxiang-mentions-2026.12")["fengxiang-mentions-2026.12"]["mappings"]
    assert mapping["properties"]["match_text"] == {"type": "wildcard"}
    assert (
        es.indices.get_index_template(name="fengxiang-mentions")["index_templates"][0]["index_template"]["priority"]
        == 200
    )
    assert "fengxiang-mentions" in es.ilm.get_lifecycle(name="fengxiang-mentions")
    error = refused(
        lambda: es.index(index="fengxiang-mentions", id="x", document={}), 400, "illegal_argument_exception"
    )
    assert "no write index is defined for alias [fengxiang-mentions]" in error.info["error"]["reason"]


def test_template_refusals(es: Elasticsearch) -> None:
    refused(
        lambda: es.indices.put_index_template(name="t", index_patterns=["t-*"], composed_of=["nope"]),
        400,
        "invalid_index_template_exception",
    )
    es.indices.put_index_template(name="a", index_patterns=["logs-*"], priority=5)
    refused(
        lambda: es.indices.put_index_template(name="b", index_patterns=["logs-x*"], priority=5),
        400,
        "illegal_argument_exception",
    )
    refused(lambda: es.indices.get_index_template(name="missing"), 404, "resource_not_found_exception")
    error = refused(
        lambda: es.indices.put_index_template(name="c", index_patterns=["c*"], data_stream={}),
        400,
        "emulator_unsupported_exception",
    )
    assert "[data_stream]" in error.info["error"]["reason"]


def test_index_lifecycle_and_refusals(es: Elasticsearch) -> None:
    es.indices.create(index="docs", mappings=MAPPINGS, settings=SETTINGS)
    assert es.indices.exists(index="docs") and not es.indices.exists(index="other")
    refused(lambda: es.indices.create(index="docs"), 400, "resource_already_exists_exception")
    refused(lambda: es.indices.create(index="Upper"), 400, "invalid_index_name_exception")
    refused(lambda: es.indices.delete(index="doc*"), 400, "illegal_argument_exception")
    refused(
        lambda: es.indices.create(index="x", mappings={"properties": {"f": {"type": "geo_point"}}}),
        400,
        "emulator_unsupported_exception",
    )
    refused(
        lambda: es.indices.create(index="y", mappings={"properties": {"f": {"type": "text", "analyzer": "nope"}}}),
        400,
        "mapper_parsing_exception",
    )
    es.indices.delete(index="docs")
    refused(lambda: es.indices.delete(index="docs"), 404, "index_not_found_exception")


def test_index_expressions(es: Elasticsearch) -> None:
    docs_index(es, [{"name": "a"}], index="docs-1")
    docs_index(es, [{"name": "b"}], index="docs-2")
    assert sorted(ids(es.search(index="docs-*"))) == ["0", "0"]
    assert len(ids(es.search(index="docs-1,docs-2"))) == 2
    empty = es.search(index="nothing-*", size=0, aggs={"t": {"terms": {"field": "name"}}, "s": {"sum": {"field": "n"}}})
    assert empty["hits"]["total"]["value"] == 0
    assert empty["aggregations"] == {
        "t": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []},
        "s": {"value": 0.0},
    }
    search_refused(es, 404, "index_not_found_exception", index="missing")
    search_refused(es, 404, "index_not_found_exception", index="docs-1,missing")
    refused(lambda: es.count(index="missing"), 404, "index_not_found_exception")
    refused(lambda: es.get(index="missing", id="0"), 404, "index_not_found_exception")


# -- documents ---------------------------------------------------------------------------------------


def test_index_get_create_and_optimistic_concurrency(es: Elasticsearch) -> None:
    docs_index(es, [])
    first = es.index(index="docs", id="1", document={"name": "a"})
    assert (first["result"], first["_version"], first.meta.status) == ("created", 1, 201)
    second = es.index(index="docs", id="1", document={"name": "b"})
    assert (second["result"], second["_version"], second["_seq_no"]) == ("updated", 2, first["_seq_no"] + 1)
    got = es.get(index="docs", id="1")
    assert (got["found"], got["_source"], got["_seq_no"], got["_primary_term"]) == (
        True,
        {"name": "b"},
        second["_seq_no"],
        1,
    )
    assert es.exists(index="docs", id="1") and not es.exists(index="docs", id="2")
    refused(lambda: es.get(index="docs", id="2"), 404, None)
    refused(lambda: es.create(index="docs", id="1", document={"name": "c"}), 409, "version_conflict_engine_exception")
    refused(
        lambda: es.index(index="docs", id="1", document={"name": "c"}, op_type="create"),
        409,
        "version_conflict_engine_exception",
    )
    stale = refused(
        lambda: es.index(index="docs", id="1", document={"name": "c"}, if_seq_no=first["_seq_no"], if_primary_term=1),
        409,
        "version_conflict_engine_exception",
    )
    assert "required seqNo" in stale.info["error"]["reason"]
    fresh = es.index(index="docs", id="1", document={"name": "c"}, if_seq_no=second["_seq_no"], if_primary_term=1)
    assert fresh["_version"] == 3
    auto = es.index(index="docs", document={"name": "auto"})
    assert len(auto["_id"]) == 20 and es.get(index="docs", id=auto["_id"])["_source"] == {"name": "auto"}


def test_delete(es: Elasticsearch) -> None:
    docs_index(es, [{"name": "a"}])
    refused(
        lambda: es.delete(index="docs", id="0", if_seq_no=99, if_primary_term=1),
        409,
        "version_conflict_engine_exception",
    )
    assert es.delete(index="docs", id="0")["result"] == "deleted"
    gone = es.options(ignore_status=404).delete(index="docs", id="0")
    assert (gone.meta.status, gone["result"]) == (404, "not_found")
    assert es.index(index="docs", id="0", document={"name": "a"})["_version"] == 3  # the tombstone's version counts


def test_near_real_time(es: Elasticsearch) -> None:
    docs_index(es, [])
    es.index(index="docs", id="1", document={"name": "a"})
    assert es.get(index="docs", id="1")["found"]  # get is realtime
    assert es.search(index="docs")["hits"]["total"]["value"] == 0
    assert es.count(index="docs")["count"] == 0
    assert es.delete_by_query(index="docs", query={"match_all": {}})["deleted"] == 0
    es.indices.refresh(index="docs")
    assert ids(es.search(index="docs")) == ["1"]
    es.index(index="docs", id="2", document={"name": "b"}, refresh="wait_for")
    assert es.count(index="docs")["count"] == 2
    es.delete(index="docs", id="1")
    assert es.count(index="docs")["count"] == 2
    assert es.index(index="docs", id="3", document={}, refresh=True)["forced_refresh"] is True
    assert es.count(index="docs")["count"] == 2


def test_mapping_validation(es: Elasticsearch) -> None:
    docs_index(es, [])
    error = refused(
        lambda: es.index(index="docs", document={"name": "a", "extra": 1}), 400, "strict_dynamic_mapping_exception"
    )
    assert (
        error.info["error"]["reason"]
        == "mapping set to strict, dynamic introduction of [extra] within [_doc] is not allowed"
    )
    error = refused(
        lambda: es.index(index="docs", document={"author": {"x": 1}}), 400, "strict_dynamic_mapping_exception"
    )
    assert "within [author]" in error.info["error"]["reason"]
    refused(lambda: es.index(index="docs", document={"n": "many"}), 400, "document_parsing_exception")
    refused(lambda: es.index(index="docs", document={"at": "yesterday"}), 400, "document_parsing_exception")
    refused(lambda: es.index(index="docs", document={"ok": "yes"}), 400, "document_parsing_exception")
    refused(lambda: es.index(index="docs", document={"author": "someone"}), 400, "document_parsing_exception")
    source = {
        "n": "12",
        "loose": {"kept": "k", "free": {"any": [1, {"x": None}]}},
        "blob": {"whatever": [1, "2"]},
        "ok": "false",
    }
    es.index(index="docs", id="1", document=source, refresh=True)
    assert es.get(index="docs", id="1")["_source"] == source
    assert matching(es, {"term": {"n": 12}}) == ["1"]
    assert matching(es, {"term": {"loose.kept": "k"}}) == ["1"]
    assert matching(es, {"term": {"loose.free.any": 1}}) == []  # dynamic false: kept, not indexed
    assert matching(es, {"exists": {"field": "blob"}}) == []  # enabled false: stored, not searchable
    assert matching(es, {"term": {"ok": False}}) == ["1"]


def test_update(es: Elasticsearch) -> None:
    docs_index(es, [{"name": "a", "author": {"id": "x", "followers": 1}, "tags": ["t1", "t2"]}])
    updated = es.update(index="docs", id="0", doc={"author": {"followers": 2}, "tags": ["t3"]})
    assert updated["result"] == "updated"
    assert es.get(index="docs", id="0")["_source"] == {
        "name": "a",
        "author": {"id": "x", "followers": 2},
        "tags": ["t3"],
    }
    noop = es.update(index="docs", id="0", doc={"name": "a"})
    assert (noop["result"], noop["_version"], noop["_shards"]["total"]) == ("noop", 2, 0)
    assert es.update(index="docs", id="0", doc={"name": "a"}, detect_noop=False)["result"] == "updated"
    refused(lambda: es.update(index="docs", id="new", doc={"name": "n"}), 404, "document_missing_exception")
    assert es.update(index="docs", id="new", doc={"name": "n"}, doc_as_upsert=True)["result"] == "created"
    assert es.update(index="docs", id="up", doc={"name": "d"}, upsert={"name": "u"})["result"] == "created"
    assert es.get(index="docs", id="up")["_source"] == {"name": "u"}
    seq_no = es.get(index="docs", id="up")["_seq_no"]
    refused(
        lambda: es.update(index="docs", id="up", doc={"name": "z"}, if_seq_no=seq_no + 5, if_primary_term=1),
        409,
        "version_conflict_engine_exception",
    )
    assert (
        es.update(index="docs", id="up", doc={"name": "z"}, if_seq_no=seq_no, if_primary_term=1)["result"] == "updated"
    )
    refused(
        lambda: es.update(index="docs", id="up", script={"source": "ctx._source.n = 1"}),
        400,
        "emulator_unsupported_exception",
    )
    refused(lambda: es.update(index="docs", id="up", doc={"extra": 1}), 400, "strict_dynamic_mapping_exception")


def test_bulk(es: Elasticsearch) -> None:
    docs_index(es, [{"name": "old"}])
    response = es.bulk(
        refresh=True,
        operations=[
            {"index": {"_index": "docs", "_id": "1"}},
            {"name": "a"},
            {"create": {"_index": "docs", "_id": "0"}},
            {"name": "clash"},
            {"create": {"_index": "docs"}},
            {"name": "auto"},
            {"update": {"_index": "docs", "_id": "1"}},
            {"doc": {"tags": ["x"]}},
            {"update": {"_index": "docs", "_id": "nope"}},
            {"doc": {"tags": ["x"]}},
            {"delete": {"_index": "docs", "_id": "missing"}},
            {"delete": {"_index": "docs", "_id": "0", "if_seq_no": 99, "if_primary_term": 1}},
            {"index": {"_index": "docs", "_id": "bad"}},
            {"n": "x"},
        ],
    )
    statuses = [(action, item["status"]) for entry in response["items"] for action, item in entry.items()]
    assert statuses == [
        ("index", 201),
        ("create", 409),
        ("create", 201),
        ("update", 200),
        ("update", 404),
        ("delete", 404),
        ("delete", 409),
        ("index", 400),
    ]
    assert response["errors"] is True
    assert response["items"][1]["create"]["error"]["type"] == "version_conflict_engine_exception"
    assert response["items"][5]["delete"]["result"] == "not_found"
    assert es.count(index="docs")["count"] == 3  # refresh=true made them visible
    assert es.bulk(operations=[{"delete": {"_index": "docs", "_id": "1"}}])["errors"] is False
    refused(
        lambda: es.bulk(operations=[{"index": {"_index": "docs", "routing": "r"}}, {}]),
        400,
        "emulator_unsupported_exception",
    )


def test_mget(es: Elasticsearch) -> None:
    docs_index(es, [{"name": "a", "n": 1}, {"name": "b", "n": 2}])
    got = es.mget(index="docs", ids=["0", "9", "1"])["docs"]
    assert [(d["_id"], d["found"]) for d in got] == [("0", True), ("9", False), ("1", True)]
    got = es.mget(docs=[{"_index": "docs", "_id": "1", "_source": ["n"]}, {"_index": "nope", "_id": "1"}])["docs"]
    assert got[0]["_source"] == {"n": 2}
    assert got[1]["error"]["type"] == "index_not_found_exception"


# -- search --------------------------------------------------------------------------------------


def test_sort_paging_and_hit_shape(es: Elasticsearch) -> None:
    docs_index(es, [{"name": f"d{i}", "n": i % 3, "at": f"2026-11-2{i % 5}T10:00:00+08:00"} for i in range(7)])
    response = es.search(index="docs", sort=[{"n": "desc"}, {"name": "asc"}], size=3, seq_no_primary_term=True)
    hits = response["hits"]["hits"]
    assert [h["_source"]["name"] for h in hits] == ["d2", "d5", "d1"]
    assert hits[0]["sort"] == [2, "d2"] and hits[0]["_score"] is None and "_seq_no" in hits[0]
    assert es.search(index="docs", sort=[{"n": "asc"}], from_=5, size=5)["hits"]["hits"][0]["_source"]["name"] == "d2"
    seen: list[str] = []
    after: list[Any] | None = None
    while True:
        page = es.search(index="docs", sort=[{"at": "asc"}, {"name": "desc"}], size=2, search_after=after)["hits"][
            "hits"
        ]
        if not page:
            break
        seen += [h["_id"] for h in page]
        after = page[-1]["sort"]
    assert sorted(seen) == [str(i) for i in range(7)] and len(seen) == 7
    assert after is not None and isinstance(after[0], int)  # dates sort as epoch millis
    assert after[0] == int(datetime(2026, 11, 24, 10, tzinfo=SHANGHAI).timestamp() * 1000)


def test_sort_refusals_and_missing(es: Elasticsearch) -> None:
    docs_index(es, [{"name": "a", "n": 1}, {"name": "b"}])
    error = search_refused(es, 400, "search_phase_execution_exception", index="docs", sort=["_id"])
    assert "indices.id_field_data.enabled" in root_reason(error)
    search_refused(es, 400, "search_phase_execution_exception", index="docs", sort=[{"plain": "asc"}])
    search_refused(es, 400, "search_phase_execution_exception", index="docs", sort=[{"hidden": "asc"}])
    error = search_refused(es, 400, "search_phase_execution_exception", index="docs", sort=[{"nope": "asc"}])
    assert root_reason(error) == "No mapping found for [nope] in order to sort on"
    assert len(ids(es.search(index="docs", sort=[{"nope": {"order": "asc", "unmapped_type": "long"}}]))) == 2
    hits = es.search(index="docs", sort=[{"n": "desc"}])["hits"]["hits"]
    assert [h["sort"] for h in hits] == [[1], [-(2**63)]]
    assert ids(es.search(index="docs", sort=[{"n": {"order": "asc", "missing": "_first"}}])) == ["1", "0"]
    search_refused(es, 400, "search_phase_execution_exception", index="docs", size=10_001)
    search_refused(es, 400, "illegal_argument_exception", index="docs", search_after=[1])


def test_source_filtering_totals_and_timeouts(es: Elasticsearch, emulator: EsEmulator) -> None:
    docs_index(es, [{"name": "a", "author": {"id": "x", "followers": 3}, "tags": ["t"]}] * 3)
    hit = es.search(index="docs", source_includes=["author.*"], size=1)["hits"]["hits"][0]
    assert hit["_source"] == {"author": {"id": "x", "followers": 3}}
    hit = es.search(index="docs", source={"excludes": ["author.followers", "tags"]}, size=1)["hits"]["hits"][0]
    assert hit["_source"] == {"name": "a", "author": {"id": "x"}}
    assert "_source" not in es.search(index="docs", source=False)["hits"]["hits"][0]
    assert es.search(index="docs", track_total_hits=2)["hits"]["total"] == {"value": 2, "relation": "gte"}
    assert "total" not in es.search(index="docs", track_total_hits=False)["hits"]
    assert es.search(index="docs", timeout="150ms")["timed_out"] is False
    emulator.time_out_searches = True
    assert es.search(index="docs")["timed_out"] is True
    search_refused(es, 400, "parse_exception", index="docs", timeout="soon")
    error = search_refused(
        es,
        400,
        "emulator_unsupported_exception",
        index="docs",
        body={"query": {"match_all": {}}, "collapse": {"field": "name"}},
    )
    assert "[collapse]" in error.info["error"]["reason"]


# -- queries -------------------------------------------------------------------------------------


@pytest.fixture
def sample(es: Elasticsearch) -> Elasticsearch:
    docs_index(
        es,
        [
            {
                "name": "alpha",
                "tags": ["red", "blue"],
                "n": 5,
                "score": 1.5,
                "ok": True,
                "at": "2026-11-20T23:30:00+08:00",
                "body": "Hello big World",
                "plain": "Hello, big world!",
                "author": {"id": "u1"},
            },
            {
                "name": "beta",
                "tags": ["blue"],
                "n": 10,
                "at": "2026-11-21T00:30:00+08:00",
                "body": "hello world",
                "author": [{"id": "u2"}, {"id": "u3"}],
            },
            {"name": "gamma", "n": 15, "ok": False, "at": 1_795_000_000_000, "hidden": "h"},
        ],
    )
    return es


def test_term_terms_range_exists_ids(sample: Elasticsearch) -> None:
    es = sample
    assert matching(es, {"term": {"tags": "blue"}}) == ["0", "1"]
    assert matching(es, {"term": {"tags": {"value": "RED", "case_insensitive": True}}}) == ["0"]
    assert matching(es, {"terms": {"name": ["alpha", "gamma", "zeta"]}}) == ["0", "2"]
    assert matching(es, {"term": {"author.id": "u3"}}) == ["1"]  # arrays of objects flatten
    assert matching(es, {"range": {"n": {"gt": 5, "lte": 15}}}) == ["1", "2"]
    assert matching(es, {"range": {"name": {"gte": "b"}}}) == ["1", "2"]
    assert matching(es, {"range": {"at": {"gte": "2026-11-20T16:00:00Z", "lt": "2026-11-21"}}}) == ["1"]
    # A date-only lte (or gt) covers its whole day, here in Beijing time.
    assert matching(es, {"range": {"at": {"lte": "2026-11-20", "time_zone": "+08:00"}}}) == ["0", "2"]
    assert matching(es, {"range": {"at": {"gt": "2026-11-20", "time_zone": "Asia/Shanghai"}}}) == ["1"]
    assert matching(es, {"range": {"at": {"lte": 1_795_000_000_000}}}) == ["2"]
    assert matching(es, {"term": {"at": "2026-11-20T15:30:00Z"}}) == ["0"]
    assert matching(es, {"term": {"ok": "true"}}) == ["0"]
    assert matching(es, {"exists": {"field": "tags"}}) == ["0", "1"]
    assert matching(es, {"exists": {"field": "author"}}) == ["0", "1"]
    assert matching(es, {"ids": {"values": ["2", "7"]}}) == ["2"]
    assert matching(es, {"term": {"unmapped": "x"}}) == []
    error = search_refused(es, 400, "search_phase_execution_exception", index="docs", query={"term": {"hidden": "h"}})
    assert "Cannot search on field [hidden]" in root_reason(error)
    search_refused(es, 400, "search_phase_execution_exception", index="docs", query={"term": {"n": "many"}})
    error = search_refused(es, 400, "emulator_unsupported_exception", index="docs", query={"fuzzy": {"name": "alfa"}})
    assert "[fuzzy]" in error.info["error"]["reason"]
    search_refused(es, 400, "emulator_unsupported_exception", index="docs", query={"range": {"at": {"gte": "now-1d"}}})


def test_bool(sample: Elasticsearch) -> None:
    es = sample
    blue, five = {"term": {"tags": "blue"}}, {"term": {"n": 5}}
    assert matching(es, {"bool": {"should": [five, {"term": {"n": 15}}]}}) == ["0", "2"]
    assert matching(es, {"bool": {"filter": [blue], "should": [five]}}) == ["0", "1"]  # should is optional here
    assert matching(es, {"bool": {"filter": [blue], "should": [five], "minimum_should_match": 1}}) == ["0"]
    assert matching(es, {"bool": {"must_not": [blue]}}) == ["2"]
    assert matching(es, {"bool": {"must": {"match_all": {}}, "must_not": {"exists": {"field": "ok"}}}}) == ["1"]
    assert matching(es, {"bool": {"filter": [{"bool": {"should": [blue], "must_not": [five]}}]}}) == ["1"]
    scores = [h["_score"] for h in es.search(index="docs", query={"bool": {"filter": [blue]}})["hits"]["hits"]]
    assert scores == [0.0, 0.0]


def test_prefix_wildcard_regexp_match(sample: Elasticsearch) -> None:
    es = sample
    assert matching(es, {"prefix": {"name": "al"}}) == ["0"]
    assert matching(es, {"wildcard": {"name": {"value": "?et*"}}}) == ["1"]
    assert matching(es, {"wildcard": {"name": "*MM*"}}) == []
    assert matching(es, {"wildcard": {"name": {"value": "*MM*", "case_insensitive": True}}}) == ["2"]
    assert matching(es, {"regexp": {"name": "(al|be)[a-z]{2,3}"}}) == ["0", "1"]
    assert matching(es, {"regexp": {"name": "[^a].*a"}}) == ["1", "2"]
    assert matching(es, {"match": {"body": "Hello nothing"}}) == ["0"]  # fengxiang_tokens: whitespace, case kept
    assert matching(es, {"match": {"body": {"query": "hello world", "operator": "and"}}}) == ["1"]
    assert matching(es, {"match_phrase": {"body": "big World"}}) == ["0"]
    assert matching(es, {"match_phrase": {"body": "World big"}}) == []
    assert matching(es, {"match": {"plain": "WORLD"}}) == ["0"]  # the standard analyzer lowercases
    assert matching(es, {"match": {"name": "beta"}}) == ["1"]
    search_refused(es, 400, "search_phase_execution_exception", index="docs", query={"wildcard": {"n": "1*"}})
    search_refused(es, 400, "emulator_unsupported_exception", index="docs", query={"regexp": {"name": "a&b"}})


TEXTS = [
    "蔚来的服务还不错",
    "I love NIO ES8!",
    "nio",
    "union station",
    "价格 99.9 元",
    "a+b=c",
    "say #hi @nio <3 ~ok",
    "C:\\path*?",
]
QUERIES = [
    "蔚来",
    "nio",
    "NIO OR 价格",
    "nio -love",
    '"99.9"',
    "a+b",
    "#hi",
    "@nio",
    "<3",
    "~ok",
    "ES8",
    '"path*?"',
    "服务 AND 不错",
    "station OR (love AND -es8)",
]


def test_text_queries_agree_with_the_sqlite_matcher(es: Elasticsearch) -> None:
    docs_index(es, [{"match_text": f" {fold(text)} "} for text in TEXTS])
    for query in QUERIES:
        parsed = parse(query)
        expected = sorted(str(n) for n, text in enumerate(TEXTS) if compile_matcher(parsed)(fold(text)))
        assert matching(es, to_elasticsearch(parsed)) == expected, query


# -- aggregations ----------------------------------------------------------------------------------


def test_terms_aggregation(sample: Elasticsearch) -> None:
    es = sample
    aggs = es.search(
        index="docs",
        size=0,
        aggs={
            "tags": {"terms": {"field": "tags", "missing": "none"}},
            "by_total": {
                "terms": {"field": "name", "order": {"total": "desc"}},
                "aggs": {"total": {"sum": {"field": "n"}}},
            },
            "top1": {"terms": {"field": "tags", "size": 1}},
            "stats_order": {
                "terms": {"field": "name", "order": [{"st.max": "asc"}]},
                "aggs": {"st": {"stats": {"field": "n"}}},
            },
            "picked": {"terms": {"field": "name", "include": "a.*|g.*", "exclude": ["gamma"]}},
            "numbers": {"terms": {"field": "n", "order": {"_key": "desc"}}},
            "flags": {"terms": {"field": "ok"}},
            "days": {"terms": {"field": "at", "size": 1, "order": {"_key": "asc"}}},
        },
    )["aggregations"]
    assert [(b["key"], b["doc_count"]) for b in aggs["tags"]["buckets"]] == [("blue", 2), ("none", 1), ("red", 1)]
    assert [(b["key"], b["total"]["value"]) for b in aggs["by_total"]["buckets"]] == [
        ("gamma", 15.0),
        ("beta", 10.0),
        ("alpha", 5.0),
    ]
    assert aggs["top1"]["sum_other_doc_count"] == 1 and aggs["top1"]["doc_count_error_upper_bound"] == 0
    assert [b["key"] for b in aggs["stats_order"]["buckets"]] == ["alpha", "beta", "gamma"]
    assert [b["key"] for b in aggs["picked"]["buckets"]] == ["alpha"]
    assert [b["key"] for b in aggs["numbers"]["buckets"]] == [15, 10, 5]
    assert [(b["key"], b["key_as_string"]) for b in aggs["flags"]["buckets"]] == [(0, "false"), (1, "true")]
    assert aggs["days"]["buckets"][0]["key_as_string"] == "2026-11-18T11:06:40.000Z"
    search_refused(
        es,
        400,
        "aggregation_execution_exception",
        index="docs",
        aggs={"t": {"terms": {"field": "name", "order": {"nope": "asc"}}}},
    )
    search_refused(es, 400, "search_phase_execution_exception", index="docs", aggs={"t": {"terms": {"field": "plain"}}})


def test_metrics(sample: Elasticsearch) -> None:
    aggs = sample.search(
        index="docs",
        size=0,
        aggs={
            "sum": {"sum": {"field": "n"}},
            "min": {"min": {"field": "n"}},
            "max": {"max": {"field": "score"}},
            "avg": {"avg": {"field": "n"}},
            "count": {"value_count": {"field": "tags"}},
            "distinct": {"cardinality": {"field": "tags", "precision_threshold": 100}},
            "stats": {"stats": {"field": "n"}},
            "latest": {"max": {"field": "at"}},
            "none": {
                "filter": {"term": {"name": "zeta"}},
                "aggs": {"min": {"min": {"field": "n"}}, "sum": {"sum": {"field": "n"}}},
            },
        },
    )["aggregations"]
    assert (aggs["sum"]["value"], aggs["min"]["value"], aggs["max"]["value"], aggs["avg"]["value"]) == (
        30.0,
        5.0,
        1.5,
        10.0,
    )
    assert (aggs["count"]["value"], aggs["distinct"]["value"]) == (3, 2)
    assert aggs["stats"] == {"count": 3, "min": 5.0, "max": 15.0, "avg": 10.0, "sum": 30.0}
    assert aggs["latest"]["value_as_string"] == "2026-11-20T16:30:00.000Z"
    assert aggs["none"] == {"doc_count": 0, "min": {"value": None}, "sum": {"value": 0.0}}
    search_refused(
        sample, 400, "search_phase_execution_exception", index="docs", aggs={"s": {"sum": {"field": "name"}}}
    )
    search_refused(
        sample,
        400,
        "aggregation_initialization_exception",
        index="docs",
        aggs={"s": {"sum": {"field": "n"}, "aggs": {"x": {"max": {"field": "n"}}}}},
    )


def test_unsupported_aggregations_are_named(sample: Elasticsearch) -> None:
    error = search_refused(
        sample,
        400,
        "emulator_unsupported_exception",
        index="docs",
        aggs={"h": {"histogram": {"field": "n", "interval": 5}}},
    )
    assert "[histogram]" in error.info["error"]["reason"]
    error = search_refused(
        sample, 400, "emulator_unsupported_exception", index="docs", aggs={"b": {"max_bucket": {"buckets_path": "x"}}}
    )
    assert "pipeline aggregation [max_bucket]" in error.info["error"]["reason"]
    error = search_refused(
        sample,
        400,
        "emulator_unsupported_exception",
        index="docs",
        aggs={"t": {"terms": {"field": "name", "script": "x"}}},
    )
    assert "[script]" in error.info["error"]["reason"]


def test_date_histogram_in_shanghai_days(es: Elasticsearch) -> None:
    docs_index(
        es,
        [
            {"at": "2026-11-20T23:30:00+08:00", "name": "a"},
            {"at": "2026-11-20T16:10:00Z", "name": "b"},
            {"at": "2026-11-22T08:00:00+08:00", "name": "a"},
        ],
    )
    histogram = {
        "field": "at",
        "calendar_interval": "day",
        "time_zone": "Asia/Shanghai",
        "min_doc_count": 0,
        "extended_bounds": {"min": "2026-11-18T16:00:00+00:00", "max": "2026-11-23T00:00:00+08:00"},
    }
    buckets = es.search(
        index="docs", size=0, aggs={"d": {"date_histogram": histogram, "aggs": {"n": {"terms": {"field": "name"}}}}}
    )["aggregations"]["d"]["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in buckets] == [
        ("2026-11-19T00:00:00.000+08:00", 0),
        ("2026-11-20T00:00:00.000+08:00", 1),
        ("2026-11-21T00:00:00.000+08:00", 1),
        ("2026-11-22T00:00:00.000+08:00", 1),
        ("2026-11-23T00:00:00.000+08:00", 0),
    ]
    assert buckets[1]["key"] == int(datetime(2026, 11, 20, tzinfo=SHANGHAI).timestamp() * 1000)
    assert [b["key"] for b in buckets[2]["n"]["buckets"]] == ["b"] and buckets[0]["n"]["buckets"] == []
    filled = es.search(index="docs", size=0, aggs={"d": {"date_histogram": {"field": "at", "fixed_interval": "12h"}}})
    assert [(b["key_as_string"], b["doc_count"]) for b in filled["aggregations"]["d"]["buckets"]] == [
        ("2026-11-20T12:00:00.000Z", 2),
        ("2026-11-21T00:00:00.000Z", 0),
        ("2026-11-21T12:00:00.000Z", 0),
        ("2026-11-22T00:00:00.000Z", 1),
    ]
    sparse = {"field": "at", "fixed_interval": "12h", "min_doc_count": 1}
    sparse_buckets = es.search(index="docs", size=0, aggs={"d": {"date_histogram": sparse}})["aggregations"]["d"]
    assert [b["doc_count"] for b in sparse_buckets["buckets"]] == [2, 1]
    search_refused(
        es,
        400,
        "illegal_argument_exception",
        index="docs",
        aggs={"d": {"date_histogram": {"field": "at", "calendar_interval": "2d"}}},
    )
    bad_bounds = {**histogram, "extended_bounds": {"min": "2026-11-25", "max": "2026-11-20"}}
    search_refused(es, 400, "illegal_argument_exception", index="docs", aggs={"d": {"date_histogram": bad_bounds}})


def test_dst_days_and_hours(es: Elasticsearch) -> None:
    docs_index(es, [{"at": "2026-03-08T05:00:00Z"}, {"at": "2026-03-09T05:00:00Z"}])
    days = es.search(
        index="docs",
        size=0,
        aggs={
            "d": {
                "date_histogram": {
                    "field": "at",
                    "calendar_interval": "1d",
                    "time_zone": "America/New_York",
                    "min_doc_count": 0,
                }
            }
        },
    )
    assert [b["key_as_string"] for b in days["aggregations"]["d"]["buckets"]] == [
        "2026-03-08T00:00:00.000-05:00",
        "2026-03-09T00:00:00.000-04:00",
    ]


def test_composite_paging_filters_top_hits_global(sample: Elasticsearch) -> None:
    es = sample
    sources = [
        {"tag": {"terms": {"field": "tags", "missing_bucket": True}}},
        {"name": {"terms": {"field": "name", "order": "desc"}}},
    ]
    keys, after = [], None
    while True:
        composite: dict[str, Any] = {"sources": sources, "size": 2, **({"after": after} if after else {})}
        result = es.search(index="docs", size=0, aggs={"c": {"composite": composite}})["aggregations"]["c"]
        keys += [(b["key"]["tag"], b["key"]["name"], b["doc_count"]) for b in result["buckets"]]
        if len(result["buckets"]) < 2:
            break
        after = result["after_key"]
    assert keys == [(None, "gamma", 1), ("blue", "beta", 1), ("blue", "alpha", 1), ("red", "alpha", 1)]
    aggs = es.search(
        index="docs",
        size=0,
        query={"term": {"name": "alpha"}},
        aggs={
            "f": {"filters": {"filters": {"z_blue": {"term": {"tags": "blue"}}, "a_all": {"match_all": {}}}}},
            "top": {"top_hits": {"size": 1, "sort": [{"n": "desc"}], "_source": ["name"]}},
            "all": {
                "global": {},
                "aggs": {"top": {"top_hits": {"sort": [{"n": "desc"}], "_source": False, "size": 2}}},
            },
        },
    )["aggregations"]
    assert list(aggs["f"]["buckets"]) == ["a_all", "z_blue"] and aggs["f"]["buckets"]["z_blue"]["doc_count"] == 1
    assert aggs["top"]["hits"]["hits"][0]["_source"] == {"name": "alpha"}
    assert aggs["all"]["doc_count"] == 3 and ids(aggs["all"]["top"]) == ["2", "1"]


# -- count, delete_by_query, the store's own requests ------------------------------------------------


def test_count_and_delete_by_query(sample: Elasticsearch) -> None:
    es = sample
    assert es.count(index="docs", query={"term": {"tags": "blue"}})["count"] == 2
    es.index(index="docs", id="1", document={"name": "beta2"})  # changed since the last refresh
    error = refused(lambda: es.delete_by_query(index="docs", query={"match_all": {}}), 409, None)
    assert error.info["failures"][0]["cause"]["type"] == "version_conflict_engine_exception"
    es.indices.refresh(index="docs")
    es.index(index="docs", id="2", document={"name": "gamma2"})
    done = es.delete_by_query(index="docs", query={"match_all": {}}, conflicts="proceed", refresh=True)
    assert (done["total"], done["version_conflicts"], done["failures"]) == (2, 1, [])
    assert ids(es.search(index="docs")) == ["2"]
    refused(
        lambda: es.delete_by_query(index="docs", query={"match_all": {}}, wait_for_completion=False),
        400,
        "emulator_unsupported_exception",
    )


def test_store_writes_mentions_and_counts_them(es: Elasticsearch) -> None:
    es_schema.install(es, now=datetime(2026, 11, 20, tzinfo=UTC))
    mentions = [
        make_mention(
            "蔚来 nice",
            brands=["蔚来"],
            sentiment={"label": "positive", "probs": {"negative": 0.1, "neutral": 0.2, "positive": 0.7}},
        ),
        make_mention("蔚来 meh", brands=["蔚来"]),
        make_mention("理想 october", brands=["理想"], created_at=datetime(2026, 10, 2, 9, tzinfo=SHANGHAI)),
    ]
    result = write_mentions(es, mentions)
    assert (result.inserted, result.failed) == (3, 0)
    es.indices.refresh(index=es_schema.MENTION_INDEX_PATTERN)
    window = Window(
        since=datetime(2026, 10, 1, tzinfo=SHANGHAI), until=datetime(2026, 12, 1, tzinfo=SHANGHAI), brand="蔚来"
    )
    counts = es_queries.read_counts(
        es.search(index=es_schema.MENTIONS_ALIAS, body=es_queries.counts_request(window)).body
    )
    assert (counts.total, counts.by_sentiment, counts.by_platform) == (2, {"positive": 1, "unlabeled": 1}, {"weibo": 2})
    assert counts.engagement == 12
    moved = make_mention("理想 moved", id=mentions[2].id, created_at=datetime(2026, 11, 25, tzinfo=SHANGHAI))
    assert write_mentions(es, [moved]).updated == 1
    es.indices.refresh(index=es_schema.MENTION_INDEX_PATTERN)
    where = es.search(index=es_schema.MENTIONS_ALIAS, query={"ids": {"values": [moved.id]}})
    assert [hit["_index"] for hit in where["hits"]["hits"]] == ["fengxiang-mentions-2026.11"]
