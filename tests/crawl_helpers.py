"""What the end-to-end crawl tests share: running the real `fengxiang crawl` and reading its store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from fengxiang.synthetic import BEIJING, demo_watchlist
from sandbox.server import SandboxServer
from store.base import MentionFilter
from store.model import Mention
from store.sqlite import SQLiteStore

World = TypeVar("World")
Replica = TypeVar("Replica")


def run_crawl(platform: str, config: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """`fengxiang crawl <platform> --json` in a subprocess: its exit code and the platform's outcome."""
    finished = subprocess.run(
        [sys.executable, "-m", "fengxiang.cli", "crawl", platform, "--json", "--config", str(config)],
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=180,
        check=False,
    )
    assert finished.stdout, finished.stderr.decode()
    return finished.returncode, json.loads(finished.stdout)[0]


def stored_mentions(db: Path) -> dict[str, Mention]:
    store = SQLiteStore(db)
    try:
        return {mention.id: mention for mention in store.iter_mentions(MentionFilter())}
    finally:
        store.close()


def last_evening() -> datetime:
    """The latest 20:00 in Beijing that has passed: the end of a world whose held-back hours are daytime.
    The synthetic posts follow the day's rhythm, so a world ending at the real time of a run in the
    Beijing night holds back hours with hardly a post, and "new posts after the clock moves" finds none."""
    now = datetime.now(BEIJING)
    evening = now.replace(hour=20, minute=0, second=0, microsecond=0)
    return evening if evening <= now else evening - timedelta(days=1)


# Two of the demo watchlist's search terms, whose cursors the platform tests check.
TERMS = ("启航汽车", "澜颜")


@dataclass
class CrawlSite(Generic[World, Replica]):
    """A platform's replica served on loopback, and a config that crawls it into ``folder/crawl.db``."""

    platform: str
    world: World
    replica: Replica
    server: SandboxServer
    folder: Path
    config: Path

    def crawl(self) -> tuple[int, dict[str, Any]]:
        return run_crawl(self.platform, self.config)

    def mentions(self) -> dict[str, Mention]:
        return stored_mentions(self.folder / "crawl.db")

    def cursors(self) -> dict[str, str | None]:
        store = SQLiteStore(self.folder / "crawl.db")
        try:
            return {term: store.get_cursor(self.platform, f"search:{term}") for term in TERMS}
        finally:
            store.close()


def serve_site(
    platform: str, folder: Path, world: World, replica: Replica, **source: Any
) -> Iterator[CrawlSite[World, Replica]]:
    """Serve ``replica`` and write the config (politeness off, a month of lookback; ``source`` overrides)."""
    server = SandboxServer([replica]).start()  # type: ignore[list-item]
    settings = {
        "base_url": server.base_url,  # for the browser-signed platforms the signing page is served there too
        "politeness": {"enabled": False},
        "lookback": "30d",
        "max_pages": 500,
        "request_timeout": "5s",
        **source,
    }
    config = {"store": "sqlite:///crawl.db", "watchlist": demo_watchlist(), "sources": {platform: settings}}
    path = folder / "fengxiang.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        yield CrawlSite(platform, world, replica, server, folder, path)
    finally:
        server.stop()
