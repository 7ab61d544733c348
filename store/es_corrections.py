"""Manual sentiment corrections in Elasticsearch (index ``fengxiang-corrections``, ``_id`` the mention id),
with the semantics of store/sqlite_corrections.py.

A correction replaces the model's label everywhere because the corrected mention is written with the
person's label in ``sentiment.label``, which every count, histogram and search reads. Every upsert passes
its batch through ``_honour_corrections`` first (one ``mget`` of the batch's ids), so a re-crawl or
``fengxiang reanalyze`` keeps the person's label and only refreshes ``model_label``.

Without transactions the two writes are ordered so that a crash between them heals: ``correct_sentiment``
stores the correction before the mention (the next upsert of the mention, or correcting it again, applies
it), ``undo_correction`` gives the mention the model's label back before deleting the correction (a crash
leaves the correction in force, and undoing again finishes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from store.base import StoreError, UpsertResult
from store.es_bulk import DERIVED_FIELDS
from store.es_common import CORRECTIONS_INDEX, EsStateBase, Source, es_date, get_source, hits, index_all
from store.es_queries import mention_from_source
from store.es_schema import MENTIONS_ALIAS
from store.model import Mention, Sentiment
from store.sqlite_corrections import check_label

_NEWEST_FIRST = [{"at": "desc"}, {"mention_id": "desc"}]
_IDS_PER_SEARCH = 1000


class EsCorrectionsMixin(EsStateBase):
    if TYPE_CHECKING:  # store/elasticsearch.py's, on the same store

        def get(self, mention_id: str) -> Mention | None: ...

        def _write_mentions(self, mentions: list[Mention]) -> UpsertResult: ...

    def correct_sentiment(self, mention_id: str, label: str, *, by: str, at: datetime) -> Mention:
        check_label(label)
        mention = self.get(mention_id)
        if mention is None:
            raise StoreError(
                f"no stored mention has the id {mention_id!r} — give the mention's full id as the store has it "
                "(platform:identifier, like weibo:5230754395068367)"
            )
        previous = get_source(self._client, CORRECTIONS_INDEX, mention_id)
        model_label = previous["model_label"] if previous is not None else mention.sentiment_label
        correction = _correction_document(mention_id, label, model_label, by, at)
        self._client.index(index=CORRECTIONS_INDEX, id=mention_id, document=correction, refresh=True)
        self._write_mentions(self._honour_corrections([mention]))
        return self._stored_mention(mention_id)

    def undo_correction(self, mention_id: str) -> Mention | None:
        previous = get_source(self._client, CORRECTIONS_INDEX, mention_id)
        if previous is None:
            return None
        mention = self.get(mention_id)
        if mention is not None:
            self._write_mentions([_model_labelled(mention, previous["model_label"])])
        self._client.delete(index=CORRECTIONS_INDEX, id=mention_id, refresh=True)
        return None if mention is None else self._stored_mention(mention_id)

    def corrections(self, *, since: datetime | None = None, brand: str | None = None) -> list[Mention]:
        """The corrected mentions, newest correction first (ties: by mention id, descending)."""
        query = {"range": {"at": {"gte": es_date(since)}}} if since is not None else {"match_all": {}}
        ids = [hit["_id"] for hit in hits(self._client, CORRECTIONS_INDEX, query, _NEWEST_FIRST, source=False)]
        mentions: dict[str, Mention] = {}
        for start in range(0, len(ids), _IDS_PER_SEARCH):
            mentions.update(self._mentions(ids[start : start + _IDS_PER_SEARCH], brand))
        return [mentions[mention_id] for mention_id in ids if mention_id in mentions]

    def _mentions(self, ids: Sequence[str], brand: str | None) -> dict[str, Mention]:
        clauses: list[Source] = [{"ids": {"values": list(ids)}}]
        if brand is not None:
            clauses.append({"term": {"brands": brand}})
        response = self._client.search(
            index=MENTIONS_ALIAS,
            query={"bool": {"filter": clauses}},
            size=2 * len(ids),  # room for a stale copy a move between months left behind
            source_excludes=list(DERIVED_FIELDS),
        )
        return {hit["_id"]: mention_from_source(hit["_source"]) for hit in response["hits"]["hits"]}

    def _stored_mention(self, mention_id: str) -> Mention:
        mention = self.get(mention_id)
        assert mention is not None  # written just now (purges take only old ones)
        return mention

    def _honour_corrections(self, mentions: list[Mention]) -> list[Mention]:
        """The mentions to write: one with a stored correction keeps the corrected label (its incoming
        label becomes ``model_label``); one arriving with correction fields but no stored correction (an
        export of corrected mentions imported into another store) records its correction. One ``mget``,
        and a write only when a correction is recorded or its model label moved."""
        if not mentions:
            return mentions
        found = self._client.mget(index=CORRECTIONS_INDEX, ids=list({mention.id for mention in mentions}))["docs"]
        stored: dict[str, Source] = {doc["_id"]: doc["_source"] for doc in found if doc.get("found")}
        changed: dict[str, Source] = {}
        written: list[Mention] = []
        for mention in mentions:
            correction = stored.get(mention.id)
            sentiment = mention.sentiment
            if correction is None:
                if sentiment is not None and sentiment.corrected_by is not None:
                    changed[mention.id] = _adopted(mention.id, sentiment)
                written.append(mention)
                continue
            model_label = _model_label(sentiment, correction)
            if model_label != correction.get("model_label"):
                correction = stored[mention.id] = changed[mention.id] = {**correction, "model_label": model_label}
            written.append(self._corrected(mention, correction))
        if changed:
            index_all(self._client, CORRECTIONS_INDEX, changed.items())
        return written

    def _corrected(self, mention: Mention, correction: Source) -> Mention:
        probs = mention.sentiment.probs if mention.sentiment else None
        sentiment = Sentiment(
            label=correction["label"],
            probs=probs or None,
            corrected_by=correction["by"],
            corrected_at=self._when(correction["at"]),
            model_label=correction.get("model_label"),
        )
        return mention.model_copy(update={"sentiment": sentiment})

    def _purge_corrections(self, mention_ids: Sequence[str]) -> int:
        """Delete the corrections of these (purged) mentions; how many there were."""
        if not mention_ids:
            return 0
        response = self._client.delete_by_query(
            index=CORRECTIONS_INDEX, query={"ids": {"values": list(mention_ids)}}, refresh=True
        )
        return int(response["deleted"])


def _correction_document(mention_id: str, label: str, model_label: str | None, by: str, at: datetime) -> Source:
    return {"mention_id": mention_id, "label": label, "model_label": model_label, "by": by, "at": es_date(at)}


def _adopted(mention_id: str, sentiment: Sentiment) -> Source:
    """The correction a corrected mention from another store carries."""
    at = sentiment.corrected_at or datetime.now(UTC)
    return _correction_document(mention_id, sentiment.label, sentiment.model_label, sentiment.corrected_by or "", at)


def _model_label(sentiment: Sentiment | None, correction: Source) -> str | None:
    """What the model says of an incoming mention: its label, unless the mention is a copy of a corrected
    one (then its ``model_label``); a mention without analysis leaves the last known model label."""
    if sentiment is None:
        return correction.get("model_label")
    if sentiment.corrected_by is not None:
        return sentiment.model_label
    return sentiment.label


def _model_labelled(mention: Mention, model_label: str | None) -> Mention:
    """The mention with the model's label back (no sentiment when the model never labelled it)."""
    probs = mention.sentiment.probs if mention.sentiment else None
    sentiment = Sentiment.model_validate({"label": model_label, "probs": probs}) if model_label else None
    return mention.model_copy(update={"sentiment": sentiment})
