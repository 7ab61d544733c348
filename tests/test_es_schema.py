"""The Elasticsearch schema: what `install` sends a (recorded) cluster, and the monthly index of a mention."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from fengxiang.config import RetentionConfig
from fengxiang.query import parse, to_elasticsearch
from store.es_schema import MAPPINGS_DIR, SINGLE_INDICES, install, mention_index
from tests.es_recorder import EsRecorder

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _file(relative: str) -> dict[str, Any]:
    return json.loads((MAPPINGS_DIR / relative).read_text(encoding="utf-8"))


def _files(folder: str) -> dict[str, dict[str, Any]]:
    return {path.stem: _file(f"{folder}/{path.name}") for path in sorted((MAPPINGS_DIR / folder).glob("*.json"))}


def _template_puts(recorder: EsRecorder) -> list[tuple[str, Any]]:
    prefixes = ("/_ilm/", "/_component_template/", "/_index_template/")
    return [(request.path, request.body) for request in recorder.requests if request.path.startswith(prefixes)]


def test_install_sends_the_policy_then_every_template_exactly_as_its_file(
    recorder: EsRecorder, recorded_client: Elasticsearch
) -> None:
    install(recorded_client, now=NOW)

    expected = [
        ("/_ilm/policy/fengxiang-mentions", _file("ilm-mentions.json")),
        *((f"/_component_template/{name}", body) for name, body in _files("component_templates").items()),
        *((f"/_index_template/{name}", body) for name, body in _files("index_templates").items()),
    ]
    assert _template_puts(recorder) == expected
    assert {request.method for request in recorder.requests if request.path.startswith("/_")} == {"PUT"}


def test_install_creates_this_months_mention_index_and_every_single_index(
    recorder: EsRecorder, recorded_client: Elasticsearch
) -> None:
    created = install(recorded_client, now=NOW)

    assert created == ["fengxiang-mentions-2026.11", *SINGLE_INDICES]
    # Created bare: the index templates give them their settings, mappings and alias.
    assert [(request.path, request.body) for request in recorder.of("PUT", "/fengxiang-")] == [
        (f"/{index}", None) for index in created
    ]


def test_a_second_install_resends_the_same_templates_and_creates_nothing(
    recorder: EsRecorder, recorded_client: Elasticsearch
) -> None:
    install(recorded_client, now=NOW)
    first_templates = _template_puts(recorder)
    recorder.requests.clear()

    assert install(recorded_client, now=NOW) == []

    assert _template_puts(recorder) == first_templates  # harmless: identical bodies replace themselves
    assert recorder.of("PUT", "/fengxiang-") == []
    assert [request.path for request in recorder.of("HEAD", "/")] == [
        "/fengxiang-mentions-2026.11",
        *(f"/{index}" for index in SINGLE_INDICES),
    ]


def test_an_index_another_process_created_meanwhile_is_not_an_error(
    recorder: EsRecorder, recorded_client: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(recorded_client, now=NOW)
    # Every HEAD answers "missing", as if each index appeared right after it was asked about.
    monkeypatch.setattr(recorded_client.indices, "exists", lambda **_: False)

    assert install(recorded_client, now=NOW) == []
    assert len(recorder.of("PUT", "/fengxiang-")) == 2 * (1 + len(SINGLE_INDICES))


@pytest.mark.parametrize(
    ("created_at", "index"),
    [
        (datetime(2026, 10, 31, 15, 59, 59, tzinfo=UTC), "fengxiang-mentions-2026.10"),  # 23:59:59 in Beijing
        (datetime(2026, 10, 31, 16, 0, 0, tzinfo=UTC), "fengxiang-mentions-2026.11"),  # 00:00 on 1 Nov in Beijing
        (datetime.fromisoformat("2026-11-01T00:30:00+09:00"), "fengxiang-mentions-2026.10"),  # Tokyo, 23:30 Beijing
        (datetime(2025, 12, 31, 16, 0, tzinfo=UTC), "fengxiang-mentions-2026.01"),
    ],
)
def test_a_mention_goes_to_the_index_of_its_month_in_beijing_time(created_at: datetime, index: str) -> None:
    assert mention_index(created_at) == index


def test_a_time_without_zone_has_no_month_index() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        mention_index(datetime(2026, 11, 1))


def test_the_templates_fit_together() -> None:
    components = _files("component_templates")
    templates = _files("index_templates")
    mentions = templates["fengxiang-mentions"]

    for template in templates.values():
        assert set(template["composed_of"]) <= set(components)
    assert set(SINGLE_INDICES) == {pattern for t in templates.values() for pattern in t["index_patterns"]} - {
        "fengxiang-mentions-*"
    }
    assert mentions["template"]["settings"]["index"]["lifecycle"]["name"] == "fengxiang-mentions"
    assert list(mentions["template"]["aliases"]) == ["fengxiang-mentions"]


def test_match_text_is_the_field_type_the_query_compiler_needs() -> None:
    properties = _file("component_templates/fengxiang-mentions-mappings.json")["template"]["mappings"]["properties"]
    clauses = json.dumps(to_elasticsearch(parse('蔚来 OR "NIO ET5"')))

    # wildcard and regexp clauses over whole texts need the wildcard type (on keyword they hit ignore_above).
    assert '"wildcard": {"match_text"' in clauses and '"regexp": {"match_text"' in clauses
    assert properties["match_text"] == {"type": "wildcard"}
    assert properties["tokens"]["analyzer"] == "fengxiang_tokens"
    settings = _file("component_templates/fengxiang-settings.json")["template"]["settings"]
    assert settings["analysis"]["analyzer"]["fengxiang_tokens"] == {"type": "custom", "tokenizer": "whitespace"}


def test_mention_indices_outlive_the_configured_retention() -> None:
    retention = RetentionConfig().mentions
    assert retention is not None
    delete_after = _file("ilm-mentions.json")["policy"]["phases"]["delete"]["min_age"]

    # An index is created with its month's first mention and holds up to 31 days more of them.
    assert delete_after == f"{retention.days + 31}d"


def test_the_readme_names_every_file() -> None:
    readme = (MAPPINGS_DIR / "README.md").read_text(encoding="utf-8")
    for path in sorted(MAPPINGS_DIR.rglob("*.json")):
        assert str(path.relative_to(MAPPINGS_DIR)) in readme, path
