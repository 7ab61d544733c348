"""`make bench`: crawl + analyse + store Weibo posts from the sandbox, politeness off; then Bilibili and
the news feeds, each alone, for their throughput (no floor beside those: the Weibo one shows the method).

Target: 10,000 posts in <= 30 s on this machine (issue [weibo]). Prints one JSON document (also
written to bench-results/crawl.json). Beside it, in the same run, the transport floor a
MediaCrawler-style script gets from the same sandbox: every search page fetched one after another
over a kept-alive connection, its JSON parsed and stored raw in SQLite — no long texts, comments,
cleaning or analysis. The ratio shows what the full pipeline costs over merely downloading.

FENGXIANG_BENCH_CRAWL_POSTS sets the scenario size (default 16,000 generated, about 11,000 of
them Weibo posts a watchlist query matches).
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawlers.spiders.weibo_shapes import SEARCH_REALTIME, is_end_of_results, mblogs_in, search_url
from fengxiang.query import parse
from fengxiang.synthetic import BEIJING, demo_watchlist
from sandbox.config import write_crawl_config
from sandbox.news import NewsReplica
from sandbox.replicas import search_replicas
from sandbox.scenario import build_scenario
from sandbox.server import SandboxServer
from sandbox.weibo import WeiboReplica
from store.base import Window
from store.model import EARLIEST_POST
from store.sqlite import SQLiteStore

TARGET_SECONDS_PER_10K = 30.0


def timed_crawl(platform: str, config: Path) -> tuple[float, dict[str, Any]]:
    """`fengxiang crawl <platform> --json`: its wall time and its outcome; a failed crawl ends the benchmark."""
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-m", "fengxiang.cli", "crawl", platform, "--json", "--config", str(config)],
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"the {platform} crawl failed: {finished.stdout.decode()} {finished.stderr.decode()}")
    return seconds, json.loads(finished.stdout)[0]


def crawl_ours(config: Path) -> dict[str, Any]:
    seconds, outcome = timed_crawl("weibo", config)
    store = SQLiteStore(config.parent / "crawl.db")
    try:
        total = store.counts(Window(since=EARLIEST_POST, until=datetime.now(UTC) + timedelta(days=2))).total
    finally:
        store.close()
    comments = _count_comments(config.parent / "crawl.db")
    return {
        "seconds": round(seconds, 2),
        "status": outcome["status"],
        "mentions_stored": total,
        "posts_stored": total - comments,
        "comments_stored": comments,
        "search_pages": outcome["detail"].get("pages", 0),
        "posts_per_s": round((total - comments) / seconds, 1),
        "seconds_per_10k_posts": round(seconds * 10_000 / max(total - comments, 1), 2),
    }


def crawl_other(platform: str, config: Path) -> dict[str, Any]:
    """`fengxiang crawl <platform>` on a fresh store: throughput in stored mentions (posts and comments) a second."""
    seconds, outcome = timed_crawl(platform, config)
    stored = outcome["detail"].get("new", 0)
    return {
        "seconds": round(seconds, 2),
        "status": outcome["status"],
        "mentions_stored": stored,
        "pages": outcome["detail"].get("pages", 0),
        "mentions_per_s": round(stored / seconds, 1),
    }


def other_platforms(size: int) -> dict[str, Any]:
    """Every other platform (Bilibili, Xiaohongshu and Zhihu, whose runs include starting Chromium to
    sign, and the news feeds), each crawled alone against its replica of the same synthetic world."""
    news = NewsReplica(size // 4, days=7)
    searchable = search_replicas(size, days=7, now=datetime.now(BEIJING))
    with (
        tempfile.TemporaryDirectory() as folder,
        SandboxServer([*searchable.values(), news]) as server,
    ):
        results = {}
        for platform in (*searchable, "news"):
            config = write_crawl_config(
                Path(folder) / f"{platform}.yaml",
                server.base_url,
                demo_watchlist(),
                store=f"sqlite:///{platform}.db",
                platforms=tuple(searchable),
                news_feeds=news.feed_urls(),
                lookback="30d",
            )
            results[platform] = crawl_other(platform, config)
        return results


def _count_comments(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM mentions WHERE id LIKE 'weibo:c%'").fetchone()[0]


def fetch_floor(base_url: str, terms: list[str], db: Path) -> dict[str, Any]:
    """Sequential keep-alive fetches of every realtime search page, raw JSON into SQLite."""
    host = urlsplit(base_url)
    connection = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE posts (id TEXT PRIMARY KEY, raw TEXT)")
    pages = posts = 0
    started = time.perf_counter()
    for term in terms:
        page = 1
        while True:
            url = search_url("", term, SEARCH_REALTIME, page)
            connection.request("GET", url)
            answer = json.loads(connection.getresponse().read())
            if is_end_of_results(answer):
                break
            rows = [(str(mblog["id"]), json.dumps(mblog, ensure_ascii=False)) for mblog in mblogs_in(answer)]
            conn.executemany("INSERT OR REPLACE INTO posts VALUES (?, ?)", rows)
            conn.commit()
            pages += 1
            page += 1
    seconds = time.perf_counter() - started
    posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    conn.close()
    return {
        "seconds": round(seconds, 2),
        "search_pages": pages,
        "posts_stored_raw": posts,
        "posts_per_s": round(posts / seconds, 1),
        "note": "search pages only, no long texts, comments, cleaning, analysis or watchlist check",
    }


def main() -> None:
    size = int(os.environ.get("FENGXIANG_BENCH_CRAWL_POSTS", "16000"))
    started = time.perf_counter()
    scenario = build_scenario(posts=size, days=7)
    build_seconds = time.perf_counter() - started
    terms = list(dict.fromkeys(term for entry in scenario.watchlist for term in parse(entry["query"]).terms()))
    with tempfile.TemporaryDirectory() as folder, SandboxServer([WeiboReplica(scenario)]) as server:
        config = write_crawl_config(
            Path(folder) / "fengxiang.yaml",
            server.base_url,
            scenario.watchlist,
            store="sqlite:///crawl.db",
            lookback="30d",
            max_pages=1000,
        )
        ours = crawl_ours(config)
        floor = fetch_floor(server.base_url, terms, Path(folder) / "floor.db")
    result = {
        "benchmark": "crawl",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "scenario": {
            "generated_posts": size,
            "weibo_posts": len(scenario.posts),
            "build_seconds": round(build_seconds, 2),
        },
        "ours": ours,
        "baseline_fetch_floor": floor,
        "other_platforms": other_platforms(size),
        "ratio_seconds_ours_over_floor": round(ours["seconds"] / max(floor["seconds"], 1e-9), 2),
        "target": {
            "seconds_per_10k_posts": TARGET_SECONDS_PER_10K,
            "met": ours["seconds_per_10k_posts"] <= TARGET_SECONDS_PER_10K,
        },
    }
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    (out / "crawl.json").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
