"""Mentions flattened into the rows the SQLite store writes.

Preparing a row is pure CPU work (folding, index tokens, JSON) with no database access, so an
import can prepare rows in worker processes while the main process writes (see fengxiang.ingest);
`prepare_row` is a plain function for that reason, and rows are named tuples because they
pickle several times faster than dataclasses (the rows cross a process boundary).
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from fengxiang.textmatch import fold, index_document_folded
from store.model import Author, Mention, account_key
from store.sqlite_derived import ALL


class AuthorRow(NamedTuple):
    key: str  # unique per platform: "weibo:1234567890", or "weibo:name:某某" for imports without ids
    platform: str
    name: str | None
    followers: int | None
    verified: bool | None
    verified_type: int | None
    profile: str  # JSON of every profile field given

    def values(self, now: int) -> tuple[object, ...]:
        return (
            self.key,
            self.platform,
            self.name,
            self.followers,
            self.verified,
            self.verified_type,
            self.profile,
            now,
        )


class MentionRow(NamedTuple):
    id: str
    platform: str
    created_at: int  # Unix seconds
    utc_offset: int  # minutes
    author: AuthorRow | None
    parent_author: AuthorRow | None  # the reposted root's author: kept as a profile, no facts counted
    sentiment: str | None
    engagement: int
    match_text: str
    fts_tokens: str
    doc: str
    scopes: tuple[str, ...]
    keywords: tuple[str, ...]


def prepare_row(mention: Mention, folded_text: str | None = None) -> MentionRow:
    """The row for a mention; pass ``fold(mention.text)`` when it is at hand, to save folding again."""
    created_at = int(mention.created_at.timestamp())
    offset = mention.created_at.utcoffset() or timedelta()
    match_text = fold(mention.text) if folded_text is None else folded_text
    return MentionRow(
        id=mention.id,
        platform=mention.platform,
        created_at=created_at,
        utc_offset=int(offset.total_seconds() // 60),
        author=author_row(mention.author, mention.platform),
        parent_author=author_row(mention.parent_author, mention.platform),
        sentiment=mention.sentiment.label if mention.sentiment else None,
        engagement=mention.metrics.engagement,
        match_text=match_text,
        fts_tokens=index_document_folded(match_text),
        doc=mention.model_dump_json(exclude_none=True),  # == to_json_dict(), serialised in Rust
        scopes=(ALL, *mention.brands),
        keywords=tuple(mention.keywords),
    )


def author_row(author: Author | None, platform: str) -> AuthorRow | None:
    """The authors-table row of a profile posted on ``platform``; None without an id or a name."""
    if author is None:
        return None
    key = account_key(author.id, author.name, platform)
    if key is None:
        return None
    return AuthorRow(
        key=key,
        platform=platform,
        name=author.name,
        followers=author.followers,
        verified=author.verified,
        verified_type=author.verified_type,
        profile=author.model_dump_json(exclude_none=True, exclude={"id"}),
    )
