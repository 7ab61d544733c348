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


def signing_cost(signatures: int = 300) -> dict[str, Any]:
    """What asking the site's page to sign costs, per browser-signed platform: starting Chromium with the
    page, then one signature (a page.evaluate round trip) — the price of not reimplementing the script."""
    from playwright.sync_api import sync_playwright

    from crawlers.login import CHROMIUM, CHROMIUM_ARGS
    from crawlers.spiders.xiaohongshu import XiaohongshuSpider
    from crawlers.spiders.zhihu import ZhihuSpider

    samples = {
        XiaohongshuSpider: ["/api/sns/web/v1/search/notes", {"keyword": "启航汽车", "page": 1, "page_size": 20}],
        ZhihuSpider: ["/api/v4/search_v3?t=general&q=%E5%90%AF%E8%88%AA&offset=0&limit=20"],
    }
    searchable = search_replicas(200, days=1, now=datetime.now(BEIJING))
    results = {}
    with SandboxServer(list(searchable.values())) as server, sync_playwright() as playwright:
        for spider, args in samples.items():
            started = time.perf_counter()
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(server.base_url + spider.signing_page)
            ready = time.perf_counter() - started
            call = f"(args) => Promise.resolve({spider.sign_function}(...args))"
            started = time.perf_counter()
            for _ in range(signatures):
                page.evaluate(call, args)
            per_signature = (time.perf_counter() - started) / signatures
            browser.close()
            results[spider.platform] = {
                "browser_and_page_seconds": round(ready, 2),
                "ms_per_signature": round(per_signature * 1000, 2),
                "signatures": signatures,
            }
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
        "browser_signing": signing_cost(),
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
