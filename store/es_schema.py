"""The Elasticsearch schema: the templates and the ILM policy in ``index_mappings/``, installed through the client.

``install`` is safe on every start and sends the same thing each time: it PUTs every policy and template
again (Elasticsearch replaces them with the identical body; templates only shape indices created later,
so nothing existing changes) and creates an index only when a HEAD request says it is missing.

Mentions live in monthly indices named after the month of their ``created_at`` in Beijing time (the zone
of the store's day buckets), all behind the read alias ``fengxiang-mentions``. Writes always name the
month's index, so the alias needs no write index; a new month's index is created by its first write and
joins the alias through the index template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from elasticsearch import BadRequestError, Elasticsearch

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "index_mappings"
MENTIONS_ALIAS = "fengxiang-mentions"
MENTION_INDEX_PATTERN = f"{MENTIONS_ALIAS}-*"
MENTIONS_POLICY = "fengxiang-mentions"
# One index each, named like its template: what the Store protocol keeps besides mentions.
SINGLE_INDICES = (
    "fengxiang-authors",
    "fengxiang-incidents",
    "fengxiang-outbox",
    "fengxiang-source-health",
    "fengxiang-cursors",
    "fengxiang-corrections",
    "fengxiang-document-frequencies",
    "fengxiang-sequences",
)
_MONTH_ZONE = ZoneInfo("Asia/Shanghai")


def mention_index(created_at: datetime) -> str:
    """The monthly index of a mention: ``fengxiang-mentions-YYYY.MM``, the month in Beijing time."""
    if created_at.tzinfo is None:
        raise ValueError(f"created_at {created_at.isoformat()} has no time zone; the month would be a guess")
    return f"{MENTIONS_ALIAS}-{created_at.astimezone(_MONTH_ZONE):%Y.%m}"


@dataclass(frozen=True)
class Schema:
    """The request bodies of ``index_mappings/``, each under its name (the file name without ``.json``)."""

    component_templates: dict[str, dict[str, Any]]
    index_templates: dict[str, dict[str, Any]]
    mentions_policy: dict[str, Any]


def load_schema(directory: Path = MAPPINGS_DIR) -> Schema:
    return Schema(
        component_templates=_load_bodies(directory / "component_templates"),
        index_templates=_load_bodies(directory / "index_templates"),
        mentions_policy=json.loads((directory / "ilm-mentions.json").read_text(encoding="utf-8")),
    )


def _load_bodies(folder: Path) -> dict[str, dict[str, Any]]:
    bodies = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}
    if not bodies:
        raise FileNotFoundError(f"no templates in {folder}: is index_mappings/ next to the store package?")
    return bodies


def install(client: Elasticsearch, schema: Schema | None = None, *, now: datetime) -> list[str]:
    """Install the policy and templates, then create the indices that are missing; the indices created.

    ``now`` picks the current month's mention index, created so that the alias exists (and searches on it
    answer) before the first mention arrives."""
    schema = schema or load_schema()
    # Order matters: an index template may only name component templates that already exist.
    client.ilm.put_lifecycle(name=MENTIONS_POLICY, body=schema.mentions_policy)
    for name, body in schema.component_templates.items():
        client.cluster.put_component_template(name=name, body=body)
    for name, body in schema.index_templates.items():
        client.indices.put_index_template(name=name, body=body)
    return [index for index in (mention_index(now), *SINGLE_INDICES) if _create_if_missing(client, index)]


def _create_if_missing(client: Elasticsearch, index: str) -> bool:
    if client.indices.exists(index=index):
        return False
    try:
        client.indices.create(index=index)
    except BadRequestError as error:
        # Another process (a second service start, the dashboard) created it between our two requests.
        if error.error == "resource_already_exists_exception":
            return False
        raise
    return True
