"""The Elasticsearch store: the Store protocol over a cluster, for a deployment that outgrew one SQLite file.

Mentions live in monthly indices behind one alias (store/es_schema.py), written in bulk
(store/es_bulk.py) and read through request bodies pinned against the SQLite store's answers
(store/es_queries.py). This module adds the authors' profiles, the author and influence queries, the
retention purge and the glue; the alert outbox, incidents, crawl records and sentiment corrections are
mixins of their own (store/es_outbox.py, es_incidents.py, es_records.py, es_corrections.py).

Read-your-writes: Elasticsearch shows a write to searches only after a refresh (every second by
default). Every method that writes refreshes what it wrote before returning, so a caller reading next
sees it, as with SQLite. That costs a refresh per upsert batch, cheap at crawl batch sizes.

Differences from SQLite a user could see, all documented in docs/deployment.md: aggregations over many
monthly indices rank terms per index first (``shard_size`` keeps them exact unless one month's ranking
is far from the window's); there are no transactions, so a write killed half-way leaves half a batch,
which the next crawl's upsert completes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch, TransportError
from elasticsearch import ConnectionError as EsConnectionError

from fengxiang.work_queue import shown_url
from store import es_queries as queries
from store.base import (
    Audience,
    AuthorPost,
    AuthorStats,
    Bucket,
    Counts,
    Interval,
    MatchSample,
    MentionFilter,
    Page,
    PurgeReport,
    SortOrder,
    Split,
    StoreError,
    UpsertResult,
    Window,
)
from store.es_bulk import write_mentions
from store.es_common import AUTHORS_INDEX
from store.es_corrections import EsCorrectionsMixin
from store.es_incidents import EsIncidentsMixin
from store.es_outbox import EsOutboxMixin
from store.es_records import EsRecordsMixin
from store.es_schema import MENTION_INDEX_PATTERN, MENTIONS_ALIAS, install
from store.model import Author, Mention, repost_hops
from store.sqlite_rows import AuthorRow, author_row

_PAGE = 5000  # hits per request while walking a window (author posts, purge scans)
_TERMS_CHUNK = 10_000  # keys per terms query or aggregation (Elasticsearch allows 65,536 terms)
_MIN_SHARD_SIZE = 1000  # see es_queries: every monthly index ranks its own terms first
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")


class ElasticsearchStore(EsOutboxMixin, EsIncidentsMixin, EsRecordsMixin, EsCorrectionsMixin):
    """``store: http://host:9200`` (or https, with ``user:password@`` in the URL)."""

    def __init__(self, url: str, *, timezone_name: str = "Asia/Shanghai", request_timeout: float = 30) -> None:
        self.url = url
        self._zone_name = timezone_name
        self._zone = ZoneInfo(timezone_name)
        # Connection errors and 502-504 are retried by the client; a 429 is left to the bulk writer's backoff.
        self._client = Elasticsearch(url, request_timeout=request_timeout, retry_on_timeout=True, max_retries=3)
        self._written_profiles: dict[str, dict[str, Any]] = {}  # author key → the profile this store wrote last
        with _translated_errors(self.url, "opening it"):
            # Idempotent, so every start (service, dashboard, CLI) installs: a new version's templates
            # then reach the cluster without a separate step. What it created shows in `fengxiang check`.
            self.created_indices = install(self._client, now=datetime.now(UTC))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ElasticsearchStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------

    def upsert(self, mentions: Iterable[Mention]) -> UpsertResult:
        """Write a batch: the authors' profiles first, then the mentions, then refresh both."""
        latest = list({mention.id: mention for mention in mentions}.values())  # the last copy of an id wins
        if not latest:
            return UpsertResult()
        latest = self._honour_corrections(latest)  # a person's label outlives the model's
        self._write_profiles(latest)
        return self._write_mentions(latest)

    def _write_mentions(self, mentions: list[Mention]) -> UpsertResult:
        """Write mentions as they are (no corrections applied) and make them searchable."""
        result = write_mentions(self._client, mentions)
        self._client.indices.refresh(index=f"{MENTION_INDEX_PATTERN},{AUTHORS_INDEX}")
        if result.errors:
            first = result.errors[0]
            raise StoreError(
                f"Elasticsearch refused {result.failed} of {len(mentions)} mentions (the others are stored);"
                f" the first, {first.mention_id}: {first.error} — fix the mapping or the posts, then write them again"
            )
        return UpsertResult(inserted=result.inserted, updated=result.updated)

    def _write_profiles(self, mentions: Sequence[Mention]) -> None:
        """Keep the newest profile of every author, the posts' own and the reposted roots'; a field a
        post lacks keeps its old value (a partial update merges). A post's own author wins over the same
        account quoted as a root in one batch. Profiles this store wrote unchanged are not written again."""
        newest: dict[str, AuthorRow] = {}
        for mention in mentions:
            root = author_row(mention.parent_author, mention.platform)
            if root is not None:
                newest.setdefault(root.key, root)
        for mention in mentions:
            own = author_row(mention.author, mention.platform)
            if own is not None:
                newest[own.key] = own
        changed = {key: _profile_fields(row) for key, row in newest.items()}
        changed = {key: doc for key, doc in changed.items() if self._written_profiles.get(key) != doc}
        if not changed:
            return
        now = _iso(datetime.now(UTC), precise=True)
        body = [line for key, doc in changed.items() for line in _author_update(key, doc, now)]
        response = self._client.bulk(operations=body)
        if response["errors"]:
            refused = next(item["update"] for item in response["items"] if "error" in item["update"])
            raise StoreError(f"Elasticsearch refused the profile {refused['_id']}: {refused['error']} — see its log")
        self._written_profiles.update(changed)

    # -- reading mentions -------------------------------------------------------------------

    def get(self, mention_id: str) -> Mention | None:
        hits = self._client.search(index=MENTIONS_ALIAS, query={"ids": {"values": [mention_id]}}, size=1)
        found = hits["hits"]["hits"]
        return queries.mention_from_source(found[0]["_source"]) if found else None

    def search(
        self, where: MentionFilter, *, sort: SortOrder = "time", limit: int = 50, cursor: str | None = None
    ) -> Page:
        request = queries.search_request(where, sort=sort, limit=limit, cursor=cursor)
        return queries.read_page(self._search_mentions(request), sort=sort, limit=limit)

    def iter_mentions(self, where: MentionFilter) -> Iterator[Mention]:
        after: list[Any] | None = None
        while True:
            mentions, after = queries.read_chunk(self._search_mentions(queries.iter_request(where, after=after)))
            yield from mentions
            if len(mentions) < queries.ITER_CHUNK:
                return

    def counts(self, window: Window) -> Counts:
        return queries.read_counts(self._search_mentions(queries.counts_request(window)))

    def histogram(self, window: Window, *, interval: Interval = "day", split: Split = "sentiment") -> list[Bucket]:
        request = queries.histogram_request(window, interval=interval, split=split, zone=self._zone_name)
        return queries.read_histogram(self._search_mentions(request), zone=self._zone_name)

    def top_keywords(self, window: Window, *, limit: int = 20) -> list[tuple[str, int]]:
        request = queries.top_keywords_request(window, limit=limit)
        return queries.read_top_keywords(self._search_mentions(request))

    def keyword_counts(self, window: Window, words: Collection[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(set(words))):
            aggregation = {"terms": {"field": "keywords", "include": chunk, "size": len(chunk)}}
            found.update(self._bucket_counts(_window_filter(window), aggregation))
        return {word: found.get(word, 0) for word in words}

    def match_sample(self, where: MentionFilter, *, cap: int, keep: int, budget: float) -> MatchSample:
        if where.text is None or where.since is None or where.until is None:
            raise ValueError("a match sample needs a text query and both ends of the window")
        # Every stored mention of the window, as SQLite's preview reads them: other filters are ignored.
        request = queries.search_request(MentionFilter(since=where.since, until=where.until, text=where.text))
        request.update(size=keep, track_total_hits=cap, _source=False, timeout=f"{max(1, int(budget * 1000))}ms")
        response = self._search_mentions(request)
        total = response["hits"]["total"]["value"]
        ids = [hit["_id"] for hit in response["hits"]["hits"]]
        return MatchSample(ids, min(total, cap), bool(response.get("timed_out")))

    def _search_mentions(self, request: dict[str, Any]) -> dict[str, Any]:
        """A whole request body of es_queries (REST names like ``_source``) sent to the mentions alias."""
        return self._client.search(index=MENTIONS_ALIAS, body=request).body

    # -- authors and influence --------------------------------------------------------------

    def top_authors(self, window: Window, *, limit: int = 10) -> list[AuthorStats]:
        """The most active authors of a window (ties: more engagement first, then the author key)."""
        aggregation = {
            "terms": {
                "field": "author_key",
                "size": limit,
                "shard_size": max(_MIN_SHARD_SIZE, 10 * limit),
                "order": [{"_count": "desc"}, {"engagement": "desc"}, {"_key": "asc"}],
            },
            "aggs": {"engagement": {"sum": {"field": "engagement"}}},
        }
        response = self._client.search(
            index=MENTIONS_ALIAS, size=0, query=_window_filter(window), aggs={"authors": aggregation}
        )
        ranked = response["aggregations"]["authors"]["buckets"]
        profiles = self._profile_documents([bucket["key"] for bucket in ranked])
        return [
            AuthorStats(
                author=_author(bucket["key"], profiles[bucket["key"]]),
                platform=profiles[bucket["key"]]["platform"],
                mentions=bucket["doc_count"],
                engagement=round(bucket["engagement"]["value"]),
            )
            for bucket in ranked
            if bucket["key"] in profiles
        ]

    def audience(self, window: Window) -> Audience:
        """Distinct authors with a stored profile, and their newest follower counts summed."""
        voices = reach = 0
        for keys in _chunks(self._window_author_keys(window)):
            response = self._client.search(
                index=AUTHORS_INDEX,
                size=0,
                track_total_hits=True,
                query={"terms": {"key": keys}},
                aggs={"reach": {"sum": {"field": "followers"}}},
            )
            voices += response["hits"]["total"]["value"]
            reach += round(response["aggregations"]["reach"]["value"])
        return Audience(voices, reach)

    def _window_author_keys(self, window: Window) -> Iterator[str]:
        """Every author key of the window's mentions, once each, through a composite aggregation's pages."""
        composite: dict[str, Any] = {"size": _TERMS_CHUNK, "sources": [{"key": {"terms": {"field": "author_key"}}}]}
        while True:
            response = self._client.search(
                index=MENTIONS_ALIAS, size=0, query=_window_filter(window), aggs={"keys": {"composite": composite}}
            )
            page = response["aggregations"]["keys"]
            yield from (bucket["key"]["key"] for bucket in page["buckets"])
            if len(page["buckets"]) < _TERMS_CHUNK or "after_key" not in page:
                return
            composite = {**composite, "after": page["after_key"]}

    def author_posts(self, window: Window) -> list[AuthorPost]:
        fields = [
            "id", "platform", "author_key", "created_at", "metrics", "sentiment.label", "simhash", "parent_id",
            "parent_author_key", "text",
        ]  # fmt: skip
        return [_author_post(source, self._zone) for source in self._walk(_window_filter(window), fields)]

    def author_profiles(self, author_ids: Collection[str]) -> dict[str, Author]:
        return {key: _author(key, doc) for key, doc in self._profile_documents(list(author_ids)).items()}

    def _profile_documents(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(keys):
            response = self._client.mget(index=AUTHORS_INDEX, ids=chunk)
            found.update((doc["_id"], doc["_source"]) for doc in response["docs"] if doc.get("found"))
        return found

    def author_ids_by_name(self, platform: str, names: Collection[str]) -> dict[str, str]:
        """Screen name → author key; of two authors with one name, the one updated last."""
        found: dict[str, str] = {}
        for chunk in _chunks(list(names)):
            response = self._client.search(
                index=AUTHORS_INDEX,
                size=len(chunk) * 2,  # room for two accounts sharing a name
                query={"bool": {"filter": [{"term": {"platform": platform}}, {"terms": {"name": chunk}}]}},
                sort=[{"updated_at": "asc"}, {"key": "asc"}],
                source={"includes": ["key", "name"]},
            )
            found.update((hit["_source"]["name"], hit["_source"]["key"]) for hit in response["hits"]["hits"])
        return found

    def earlier_mention_counts(self, brand: str, author_ids: Collection[str], before: datetime) -> dict[str, int]:
        found: dict[str, int] = {}
        window = Window(since=datetime(1970, 1, 1, tzinfo=UTC), until=before, brand=brand)
        for chunk in _chunks(sorted(set(author_ids))):
            aggregation = {"terms": {"field": "author_key", "include": chunk, "size": len(chunk)}}
            found.update(self._bucket_counts(_window_filter(window), aggregation))
        return {key: found.get(key, 0) for key in author_ids}

    def _bucket_counts(self, query: dict[str, Any], terms: dict[str, Any]) -> dict[str, int]:
        response = self._client.search(index=MENTIONS_ALIAS, size=0, query=query, aggs={"terms": terms})
        return {bucket["key"]: bucket["doc_count"] for bucket in response["aggregations"]["terms"]["buckets"]}

    def _walk(self, query: dict[str, Any], fields: list[str]) -> Iterator[dict[str, Any]]:
        """The ``_source`` (only ``fields``) of every matching mention, oldest first (ties: stored order)."""
        after: list[Any] | None = None
        while True:
            response = self._client.search(
                index=MENTIONS_ALIAS,
                size=_PAGE,
                query=query,
                sort=[{"created_at": "asc"}, {"stored_seq": "asc"}, {"id": "asc"}],
                source={"includes": fields},
                search_after=after,
                track_total_hits=False,
            )
            hits = response["hits"]["hits"]
            yield from (hit["_source"] for hit in hits)
            if len(hits) < _PAGE:
                return
            after = hits[-1]["sort"]

    # -- retention --------------------------------------------------------------------------

    def purge(
        self,
        *,
        mentions_before: datetime | None,
        health_before: datetime | None,
        outbox_before: datetime | None,
        batch: int = 5000,
    ) -> PurgeReport:
        """Each kind with one delete-by-query (Elasticsearch deletes in scroll batches of its own, so a
        killed purge leaves a consistent store and the next one continues). Aggregates need no upkeep
        here: they are computed from the mentions at query time."""
        report = PurgeReport()
        if mentions_before is not None:
            report.mentions = self._purge_mentions(mentions_before, batch)
            if report.mentions:
                report.authors = self._purge_orphan_authors()
        if health_before is not None:
            report.source_health = self._purge_health(health_before)
        if outbox_before is not None:
            report.outbox = self._purge_outbox(outbox_before)
        return report

    def _purge_mentions(self, before: datetime, batch: int) -> int:
        old = {"range": {"created_at": {"lt": queries.es_time(before)}}}
        ids = [source["id"] for source in self._walk(old, ["id"])]
        self._purge_corrections(ids)
        response = self._client.delete_by_query(
            index=MENTIONS_ALIAS, query=old, refresh=True, conflicts="proceed", scroll_size=batch
        )
        return int(response["deleted"])

    def _purge_orphan_authors(self) -> int:
        """Delete the profiles no remaining mention posted, reposted or names in a repost chain. A
        profile rewritten after the scan started (a crawler met the author again) is kept."""
        scanned_at = _iso(datetime.now(UTC), precise=True)
        referenced = self._referenced_keys()
        chain_names = self._repost_chain_names()
        doomed = [
            key
            for key, platform, name in self._profiles_before(scanned_at)
            if key not in referenced and (platform, name) not in chain_names
        ]
        deleted = 0
        for chunk in _chunks(doomed):
            query = {"bool": {"filter": [{"ids": {"values": chunk}}, {"range": {"updated_at": {"lte": scanned_at}}}]}}
            response = self._client.delete_by_query(index=AUTHORS_INDEX, query=query, refresh=True)
            deleted += int(response["deleted"])
        self._written_profiles.clear()
        return deleted

    def _referenced_keys(self) -> set[str]:
        keys: set[str] = set()
        for field in ("author_key", "parent_author_key"):
            composite: dict[str, Any] = {"size": _TERMS_CHUNK, "sources": [{"key": {"terms": {"field": field}}}]}
            while True:
                response = self._client.search(index=MENTIONS_ALIAS, size=0, aggs={"keys": {"composite": composite}})
                page = response["aggregations"]["keys"]
                keys.update(bucket["key"]["key"] for bucket in page["buckets"])
                if len(page["buckets"]) < _TERMS_CHUNK or "after_key" not in page:
                    break
                composite = {**composite, "after": page["after_key"]}
        return keys

    def _repost_chain_names(self) -> set[tuple[str, str]]:
        """(platform, screen name) of every account a stored repost's chain names."""
        reposts = {"wildcard": {"match_text": {"value": "*//@*"}}}
        return {
            (source["platform"], name)
            for source in self._walk(reposts, ["platform", "text"])
            for name in repost_hops(source.get("text"))
        }

    def _profiles_before(self, scanned_at: str) -> Iterator[tuple[str, str, str | None]]:
        after: list[Any] | None = None
        while True:
            response = self._client.search(
                index=AUTHORS_INDEX,
                size=_PAGE,
                query={"range": {"updated_at": {"lte": scanned_at}}},
                sort=[{"key": "asc"}],
                source={"includes": ["key", "platform", "name"]},
                search_after=after,
            )
            hits = response["hits"]["hits"]
            yield from ((hit["_source"]["key"], hit["_source"]["platform"], hit["_source"].get("name")) for hit in hits)
            if len(hits) < _PAGE:
                return
            after = hits[-1]["sort"]


# -- documents ------------------------------------------------------------------------------------


def _profile_fields(row: AuthorRow) -> dict[str, Any]:
    """The fields of an authors document a post gives; the ones it lacks are left out, so the
    partial update keeps their stored values."""
    fields = {
        "key": row.key,
        "platform": row.platform,
        "name": row.name,
        "followers": row.followers,
        "verified": row.verified,
        "verified_type": row.verified_type,
        "profile": orjson.loads(row.profile),
    }
    return {name: value for name, value in fields.items() if value is not None}


def _author_update(key: str, doc: dict[str, Any], now: str) -> list[dict[str, Any]]:
    return [
        {"update": {"_index": AUTHORS_INDEX, "_id": key}},
        {"doc": {**doc, "updated_at": now}, "doc_as_upsert": True},
    ]


def _author(key: str, doc: dict[str, Any]) -> Author:
    return Author.model_validate({**doc.get("profile", {}), "id": key})


def _author_post(source: dict[str, Any], zone: ZoneInfo) -> AuthorPost:
    metrics = source.get("metrics", {})
    text = source.get("text")
    return AuthorPost(
        mention_id=source["id"],
        platform=source["platform"],
        author_id=source.get("author_key"),
        created_at=datetime.fromtimestamp(int(datetime.fromisoformat(source["created_at"]).timestamp()), zone),
        reposts=metrics.get("reposts") or 0,
        comments=metrics.get("comments") or 0,
        likes=metrics.get("likes") or 0,
        sentiment=(source.get("sentiment") or {}).get("label"),
        simhash=source.get("simhash"),
        parent_id=source.get("parent_id"),
        parent_author_id=source.get("parent_author_key"),
        text=text if text and "//@" in text else None,  # only reposts' chains are read (see AuthorPost)
    )


def _window_filter(window: Window) -> dict[str, Any]:
    return queries.mention_query(
        MentionFilter(brand=window.brand, since=window.since, until=window.until, platforms=window.platforms)
    )


def _iso(moment: datetime, *, precise: bool = False) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds" if precise else "seconds")


def _chunks(items: Iterable[_T], size: int = _TERMS_CHUNK) -> Iterator[list[_T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# -- errors ---------------------------------------------------------------------------------------


@contextmanager
def _translated_errors(url: str, action: str) -> Iterator[None]:
    """Turn the client's exceptions into StoreErrors that name the cluster (password hidden), the
    cause and the fix."""
    try:
        yield
    except (ApiError, TransportError) as error:
        raise StoreError(f"Elasticsearch store {shown_url(url)}, {action}: {_hint(error)}") from None


def _hint(error: ApiError | TransportError) -> str:
    if isinstance(error, EsConnectionError):
        return "it does not answer — start Elasticsearch or fix the URL in `store:`"
    if isinstance(error, AuthenticationException):
        return "it refused the credentials — put the right user and password in the `store:` URL"
    if isinstance(error, AuthorizationException):
        return "the user may not do this — grant it the fengxiang-* indices (read, write, manage)"
    if isinstance(error, ApiError):
        return f"it answered {error.meta.status}: {_reason(error)}"
    return str(error)


def _reason(error: ApiError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    cause = body.get("error", {})
    if isinstance(cause, dict):
        return f"{cause.get('type')}: {cause.get('reason')}"
    return str(cause or error.message)


def _guarded(method: Callable[..., Any], action: str) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: ElasticsearchStore, *args: Any, **kwargs: Any) -> Iterator[Any]:
            with _translated_errors(self.url, action):
                yield from method(self, *args, **kwargs)

        return generator

    @functools.wraps(method)
    def call(self: ElasticsearchStore, *args: Any, **kwargs: Any) -> Any:
        with _translated_errors(self.url, action):
            return method(self, *args, **kwargs)

    return call


def _guard_public_methods(cls: type[ElasticsearchStore]) -> None:
    """Every Store method of the class and its mixins answers client errors with a StoreError."""
    for name, method in inspect.getmembers(cls, inspect.isfunction):
        if not name.startswith("_") and name != "close":
            setattr(cls, name, _guarded(method, name))


_guard_public_methods(ElasticsearchStore)
