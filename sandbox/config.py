"""A fengxiang config that crawls the sandbox: its brands, its address, no politeness delay."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


def crawl_config(
    base_url: str,
    watchlist: list[dict[str, str]],
    *,
    store: str = "sqlite:///data/sandbox.db",
    platforms: Sequence[str] = (),
    news_feeds: list[str] | None = None,
    **weibo: Any,
) -> dict[str, Any]:
    """The config as data; ``weibo`` overrides or adds ``sources.weibo`` keys (lookback, max_pages, …).
    ``platforms`` (like ``sandbox.replicas.SEARCH_PLATFORMS``) adds those sources on the same server (their
    replicas must be served there); ``news_feeds`` adds ``sources.news`` reading those feeds."""
    source = {
        "base_url": base_url,
        "login_url": f"{base_url}/signin/qrcode?url=/",
        "politeness": {"enabled": False},  # politeness is for real sites
        **weibo,
    }
    sources = {"weibo": source}
    for platform in platforms:
        sources[platform] = {"base_url": base_url, "politeness": {"enabled": False}}
    if news_feeds:
        sources["news"] = {"feeds": news_feeds, "politeness": {"enabled": False}}
    return {"store": store, "watchlist": watchlist, "sources": sources}


def write_crawl_config(path: Path, base_url: str, watchlist: list[dict[str, str]], **options: Any) -> Path:
    path.write_text(
        yaml.safe_dump(crawl_config(base_url, watchlist, **options), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path
