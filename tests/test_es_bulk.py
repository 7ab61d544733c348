"""Mentions into Elasticsearch: the document of a mention and the bulk requests (against a recorded cluster)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from unittest.mock import ANY

import pytest
from elasticsearch import Elasticsearch
from elasticsearch.helpers import actions as bulk_helpers

from store.es_bulk import DERIVED_FIELDS, DocumentError, mention_document, write_mentions
from store.es_schema import MAPPINGS_DIR
from tests.conftest import make_mention
from tests.es_recorder import EsRecorder

OCTOBER_LAST_SECOND = datetime(2026, 10, 31, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on 31 Oct in Beijing
NOVEMBER_FIRST_SECOND = datetime(2026, 10, 31, 16, 0, 0, tzinfo=UTC)  # 00:00:00 on 1 Nov in Beijing


def _bulk_lines(recorder: EsRecorder) -> list[list[dict[str, Any]]]:
    return [request.body for request in recorder.of("PUT", "/_bulk")]


def test_two_mentions_become_this_bulk_request(recorder: EsRecorder, recorded_client: Elasticsearch) -> None:
    late = make_mention(
        "蔚来ET5交付了！",
        id="weibo:1",
        created_at=OCTOBER_LAST_SECOND,
        kind="repost",
        parent_id="weibo:0",
        parent_author={"id": "2002", "name": "蔚来"},
        sentiment={"label": "positive", "probs": {"negative": 0.1, "neutral": 0.2, "positive": 0.7}},
        keywords=["交付"],
        brands=["蔚来"],
        simhash=0x1234,
    )
    early = make_mention("门店排队", id="weibo:2", created_at=NOVEMBER_FIRST_SECOND, author=None)

    result = write_mentions(recorded_client, [late, early])

    (search,) = recorder.of("POST", "/fengxiang-mentions-*/_search")
    assert search.body == {
        "query": {"ids": {"values": ["weibo:1", "weibo:2"]}},
        "size": 4,
        "_source": {"includes": ["stored_seq"]},
    }
    (bulk,) = recorder.of("PUT", "/_bulk")
    assert bulk.raw.endswith(b"\n")
    lines = [json.loads(line) for line in bulk.raw.decode().splitlines()]
    first_seq, second_seq = lines[1].pop("stored_seq"), lines[3].pop("stored_seq")
    assert 0 < first_seq < second_seq  # new mentions get increasing sequence numbers: their stored order
    assert lines == [
        {"index": {"_index": "fengxiang-mentions-2026.10", "_id": "weibo:1"}},
        {
            "id": "weibo:1",
            "platform": "weibo",
            "text": "蔚来ET5交付了！",
            "created_at": "2026-10-31T15:59:59Z",
            "author": {"id": "weibo:1001", "name": "数码老王", "followers": 1200, "verified": False},
            "metrics": {"reposts": 1, "comments": 2, "likes": 3},
            "parent_id": "weibo:0",
            "parent_author": {"id": "2002", "name": "蔚来"},
            "sentiment": {"label": "positive", "probs": {"negative": 0.1, "neutral": 0.2, "positive": 0.7}},
            "keywords": ["交付"],
            "brands": ["蔚来"],
            "simhash": "0000000000001234",
            "kind": "repost",
            "match_text": " 蔚来et5交付了! ",
            "tokens": "蔚 来 et5 交 付 了",
            "engagement": 6,
            "author_key": "weibo:1001",
            "parent_author_key": "weibo:2002",
        },
        {"index": {"_index": "fengxiang-mentions-2026.11", "_id": "weibo:2"}},
        {
            "id": "weibo:2",
            "platform": "weibo",
            "text": "门店排队",
            "created_at": "2026-10-31T16:00:00Z",
            "metrics": {"reposts": 1, "comments": 2, "likes": 3},
            "keywords": [],
            "brands": [],
            "match_text": " 门店排队 ",
            "tokens": "门 店 排 队",
            "engagement": 6,
        },
    ]
    assert result.inserted == 2 and result.updated == 0 and result.errors == []


def test_every_field_of_the_document_is_mapped() -> None:
    mappings = json.loads((MAPPINGS_DIR / "component_templates/fengxiang-mentions-mappings.json").read_text())
    properties = mappings["template"]["mappings"]["properties"]
    mention = make_mention(
        kind="post",
        parent_id="weibo:0",
        parent_author={"id": "2002"},
        sentiment={"label": "negative"},
        simhash=1,
    )

    document = mention_document(mention)

    assert set(document) <= set(properties)
    assert set(document) - set(mention.to_json_dict()) == set(DERIVED_FIELDS)


def test_writing_the_same_mentions_again_updates_them(recorder: EsRecorder, recorded_client: Elasticsearch) -> None:
    mentions = [make_mention(), make_mention()]
    write_mentions(recorded_client, mentions)

    first_seqs = {doc_id: doc["stored_seq"] for docs in recorder.documents.values() for doc_id, doc in docs.items()}

    result = write_mentions(recorded_client, mentions)

    assert (result.inserted, result.updated, result.failed) == (0, 2, 0)
    stored = {doc_id: doc["stored_seq"] for docs in recorder.documents.values() for doc_id, doc in docs.items()}
    assert stored == first_seqs  # a rewrite keeps the stored order


def test_a_mention_whose_time_moved_to_another_month_is_deleted_from_the_old_one(
    recorder: EsRecorder, recorded_client: Elasticsearch
) -> None:
    # A re-crawl read "3小时前" an hour later: the same post, now in the next month.
    write_mentions(recorded_client, [make_mention(id="weibo:7", created_at=OCTOBER_LAST_SECOND)])

    result = write_mentions(recorded_client, [make_mention(id="weibo:7", created_at=NOVEMBER_FIRST_SECOND)])

    assert _bulk_lines(recorder)[-1][0::2] == [
        {"index": {"_index": "fengxiang-mentions-2026.11", "_id": "weibo:7"}},
        {"delete": {"_index": "fengxiang-mentions-2026.10", "_id": "weibo:7"}},
    ]
    assert recorder.documents == {"fengxiang-mentions-2026.10": {}, "fengxiang-mentions-2026.11": {"weibo:7": ANY}}
    assert (result.inserted, result.updated, result.failed) == (0, 1, 0)


def test_a_move_within_one_call_leaves_one_copy_whatever_the_chunks(
    recorder: EsRecorder, recorded_client: Elasticsearch
) -> None:
    first = make_mention(id="weibo:8", created_at=OCTOBER_LAST_SECOND)
    moved = make_mention(id="weibo:8", created_at=NOVEMBER_FIRST_SECOND)

    in_one_chunk = write_mentions(recorded_client, [first, moved])
    assert [lines[0] for lines in _bulk_lines(recorder)] == [
        {"index": {"_index": "fengxiang-mentions-2026.11", "_id": "weibo:8"}}
    ]
    recorder.documents.clear()

    in_two_chunks = write_mentions(recorded_client, [first, moved], chunk_size=1)

    assert {index: set(docs) for index, docs in recorder.documents.items() if docs} == {
        "fengxiang-mentions-2026.11": {"weibo:8"}
    }
    assert (in_one_chunk.inserted, in_two_chunks.inserted, in_two_chunks.updated) == (1, 1, 1)


def test_mentions_are_sent_chunk_size_at_a_time(recorder: EsRecorder, recorded_client: Elasticsearch) -> None:
    result = write_mentions(recorded_client, [make_mention() for _ in range(5)], chunk_size=2)

    assert [len(lines) // 2 for lines in _bulk_lines(recorder)] == [2, 2, 1]
    assert result.inserted == 5


def test_an_overloaded_cluster_gets_the_same_request_again_after_a_backoff(
    recorder: EsRecorder, recorded_client: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(bulk_helpers.time, "sleep", sleeps.append)
    recorder.bulk_overloads = 1

    result = write_mentions(recorded_client, [make_mention(), make_mention()], initial_backoff=0.5)

    first, second = recorder.of("PUT", "/_bulk")
    assert first.raw == second.raw
    assert sleeps == [0.5]
    assert (result.inserted, result.failed) == (2, 0)


def test_a_cluster_overloaded_past_the_retries_fails_those_documents_only(
    recorder: EsRecorder, recorded_client: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_helpers.time, "sleep", lambda seconds: None)
    recorder.bulk_overloads = 3
    mentions = [make_mention(), make_mention(), make_mention()]

    result = write_mentions(recorded_client, mentions, chunk_size=2, max_retries=2)

    assert [(error.mention_id, error.status) for error in result.errors] == [(m.id, 429) for m in mentions[:2]]
    assert result.inserted == 1


def test_one_refused_document_is_counted_and_the_others_are_stored(
    recorder: EsRecorder, recorded_client: Elasticsearch
) -> None:
    mentions = [make_mention(), make_mention(), make_mention()]
    recorder.refuse[mentions[1].id] = {"type": "document_parsing_exception", "reason": "failed to parse [created_at]"}

    result = write_mentions(recorded_client, mentions)

    assert result.errors == [
        DocumentError(mentions[1].id, 400, "document_parsing_exception: failed to parse [created_at]")
    ]
    assert (result.inserted, result.updated, result.failed) == (2, 0, 1)
    assert set(recorder.documents["fengxiang-mentions-2026.11"]) == {mentions[0].id, mentions[2].id}
