"""A fengxiang config that crawls the sandbox: its brands, its address, no politeness delay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def crawl_config(
    base_url: str, watchlist: list[dict[str, str]], *, store: str = "sqlite:///data/sandbox.db", **weibo: Any
) -> dict[str, Any]:
    """The config as data; ``weibo`` overrides or adds ``sources.weibo`` keys (lookback, max_pages, …)."""
    source = {
        "base_url": base_url,
        "login_url": f"{base_url}/signin/qrcode?url=/",
        "politeness": {"enabled": False},  # politeness is for real sites
        **weibo,
    }
    return {"store": store, "watchlist": watchlist, "sources": {"weibo": source}}


def write_crawl_config(path: Path, base_url: str, watchlist: list[dict[str, str]], **options: Any) -> Path:
    path.write_text(
        yaml.safe_dump(crawl_config(base_url, watchlist, **options), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path
