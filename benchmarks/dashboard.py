"""`make bench`: the dashboard's speed and memory on a store of 1,000,000 mentions.

Prints one JSON document (also written to bench-results/dashboard.json), the targets and whether
they are met first: every page renders in at most 1.5 s in the browser once it has been loaded
before (``page_seconds_after_first_load``), and the dashboard process stays under 1 GB
(``peak_rss_mb``).

The store. 1,000,000 synthetic mentions (fengxiang/synthetic.py, seed 11, the demo watchlist's
brands) over the 90 days up to the current hour, so the dashboard's "now" windows hit data. They go
in through the project's fastest bulk path, the one ``fengxiang ingest`` takes (as
benchmarks/run.py does): JSON lines, rows prepared in worker processes, written under
``SQLiteStore.bulk_load()``. The alert rules then run as ``fengxiang alerts run --at`` at a few
moments after the generator's incident starts and at the end, so incidents exist, and each
configured source gets a few health rows. The finished store is kept under bench-results/ keyed by
(mentions, seed, date and hour of its end): a run within the same hour reuses it (the build takes
minutes), a later one rebuilds, because the store's "now" must be the dashboard's. A store is only
reused when its build finished (a marker written last).

Server side. For each page, the data-layer functions it calls (dashboard/data.py; watchlist calls
none), for the selections {biggest brand, all brands} x {7 days, 30 days} ending at the store's
end: the first call on a freshly opened store with the store's files dropped from the OS page
cache (posix_fadvise DONTNEED: as cold as an unprivileged process can make it), then the same call
again on that connection. Neither passes through Streamlit's cache: the second call is what a page
costs each time the cache's lifetime (``dashboard.cache_ttl``, a minute by default) runs out. The
alerts page's figure is ``incidents`` plus ``incident_detail`` of the newest incident. The KOL
report runs once (no timeout) for the biggest brand over 7 and 30 days only.

Baseline, in the same run and for the same selections: the overview's numbers computed the naive
way — the window's mentions read with ``iter_mentions`` into a pandas DataFrame, then volume,
sentiment split, distinct authors and the daily trend. A read still going after 60 s is stopped and
reported with how far it got.

Browser. ``fengxiang dashboard`` (``dashboard_commands.serving``) on the store, with
``dashboard: {refresh: 10m}``; headless Debian Chromium through Playwright, one tab — one
Streamlit session, as one user — with the default selection (all brands, 7 days; the KOL page then
only asks for a brand). The dashboard is opened once, then every page of dashboard/app.py's
PAGE_LIST is reached by clicking its entry in the sidebar, twice round: the first round fills
Streamlit's cache (``first_load_s``), the second is the figure the target is about
(``after_first_load_s``). A page is timed from the click until Streamlit has finished running it:
its header is visible, then ``stApp`` says ``data-test-script-state="notRunning"`` with the
connection ``CONNECTED`` and no loading skeleton left (the signal Streamlit's own end-to-end tests
wait on). For comparison, one page opened in a new tab (a new session: new websocket, the app script
from the top) is timed too. The dashboard's RSS (VmRSS of the server and any children, from /proc)
is sampled after every page; the peak is reported.

FENGXIANG_BENCH_DASHBOARD_MENTIONS sets the store size (default 1,000,000).
"""

from __future__ import annotations

import ast
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import yaml

from crawlers.login import CHROMIUM, CHROMIUM_ARGS
from dashboard import data
from dashboard.data import MentionQuery, Selection
from fengxiang.brands import BrandTagger
from fengxiang.cli import main as cli_main
from fengxiang.config import Config, load_config
from fengxiang.dashboard_commands import serving
from fengxiang.ingest import LineParser, default_workers, ingest
from fengxiang.synthetic import BIG_BRAND, BRANDS, demo_watchlist, generate_mentions, write_jsonl
from store.base import MentionFilter, SourceHealth
from store.sqlite import SQLiteStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED, DAYS = 11, 90
TARGETS = {"page_seconds_after_first_load_max": 1.5, "peak_rss_mb_max": 1024}
SPANS = {"7d": timedelta(days=7), "30d": timedelta(days=30)}
BASELINE_LIMIT_S = 60.0
RESULTS = Path("bench-results")
PAGE_TIMEOUT_MS = 180_000  # a page slower than this is reported as timed out, with a screenshot
DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"
# The incident of the generator's big brand starts 4 days before the end (fengxiang/synthetic.py
# _timeline); the rules run a few hours into it, a day in, and at the end.
ALERT_RUNS_AFTER_END = (
    timedelta(days=-4, hours=2),
    timedelta(days=-4, hours=8),
    timedelta(days=-3, hours=6),
    timedelta(),
)
HEALTH_RUNS = 6


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ the store


def write_config(folder: Path, db: Path) -> Path:
    config = {
        "store": f"sqlite:///{db.resolve()}",
        "watchlist": demo_watchlist(),
        "sources": {
            "weibo": {"base_url": "http://127.0.0.1:9/weibo"},
            "bilibili": {"base_url": "http://127.0.0.1:9/bilibili"},
        },
        "dashboard": {"refresh": "10m"},
    }
    path = folder / "fengxiang.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def build_store(folder: Path, count: int, end: datetime) -> dict[str, Any]:
    """Mentions, incidents and source health into ``folder/store.db``; what each step took."""
    db = folder / "store.db"
    config_path = write_config(folder, db)
    lines = folder / "mentions.jsonl"
    started = time.perf_counter()
    progress(f"store: generating {count:,} mentions")
    write_jsonl(lines, generate_mentions(count, seed=SEED, end=end, days=DAYS, analysed=True))
    generated = time.perf_counter()
    workers = default_workers()
    progress(f"store: ingesting with {workers} preparing worker(s)")
    parser = LineParser(timezone=SHANGHAI, tag_brands=BrandTagger([(e["name"], e["query"]) for e in demo_watchlist()]))
    with SQLiteStore(db) as store, lines.open("rb") as source:
        report = ingest(source, store, parser=parser, workers=workers)
    lines.unlink()
    ingested = time.perf_counter()
    progress("store: alert rules")
    for offset in ALERT_RUNS_AFTER_END:
        at = (end + offset).isoformat()
        with open(os.devnull, "w") as quiet, redirect_stdout(quiet):
            code = cli_main(["alerts", "run", "--config", str(config_path), "--at", at])
        if code != 0:
            raise RuntimeError(f"fengxiang alerts run --at {at} exited with {code}")
    alerted = time.perf_counter()
    with SQLiteStore(db) as store:
        for run in range(HEALTH_RUNS):
            finished = end - timedelta(hours=HEALTH_RUNS - run)
            store.record_health(SourceHealth("weibo", finished - timedelta(minutes=3), finished, "ok", items=400 + run))
            store.record_health(
                SourceHealth(
                    "bilibili",
                    finished - timedelta(minutes=1),
                    finished,
                    "failed" if run % 2 else "degraded",
                    items=0 if run % 2 else 12,
                    error="HTTP 412 (blocked)" if run % 2 else None,
                )
            )
        incidents = len(store.incidents(limit=10_000))
    return {
        "mentions": report.stored.inserted,
        "rejected": report.rejected,
        "workers": workers,
        "seconds": {
            "generate_jsonl": round(generated - started, 1),
            "ingest": round(ingested - generated, 1),
            "alert_rules": round(alerted - ingested, 1),
            "total": round(time.perf_counter() - started, 1),
        },
        "ingest_mentions_per_s": round(report.stored.inserted / (ingested - generated)),
        "alert_runs_at": [(end + offset).isoformat() for offset in ALERT_RUNS_AFTER_END],
        "incidents": incidents,
        "disk_mb": round(sum(p.stat().st_size for p in folder.glob("store.db*")) / 2**20),
    }


def cached_store(count: int, end: datetime) -> tuple[Path, dict[str, Any]]:
    """The store for (count, seed, end hour): reused when a finished build is on disk, else built
    (older cached stores are removed: they are no use once the hour has passed)."""
    key = f"dashboard-store-{count}-{SEED}-{end:%Y%m%d%H}"
    folder = RESULTS / key
    marker = folder / "built.json"
    if marker.exists():
        progress(f"store: reusing {folder}")
        return folder, {**json.loads(marker.read_text(encoding="utf-8")), "reused_from_cache": str(folder)}
    for old in RESULTS.glob("dashboard-store-*"):
        shutil.rmtree(old, ignore_errors=True)
    folder.mkdir(parents=True)
    built = build_store(folder, count, end)
    marker.write_text(json.dumps(built, ensure_ascii=False), encoding="utf-8")
    return folder, {**built, "reused_from_cache": None}


def drop_os_cache(db: Path) -> None:
    """Ask the kernel to forget the store's pages (clean pages only; no privileges needed)."""
    for path in db.parent.glob(db.name + "*"):
        with path.open("rb") as file:
            os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


# ------------------------------------------------------------------------------------------------ server side


def selections(end: datetime) -> dict[str, Selection]:
    return {
        f"{brand or 'all'}/{span}": Selection(brand, end - length, end)
        for brand in (BIG_BRAND.name, None)
        for span, length in SPANS.items()
    }


def page_calls(config: Config) -> dict[str, Callable[[SQLiteStore, Selection], Any]]:
    """url path -> what the page asks the data layer (dashboard/pages/*.py and the brief's list)."""

    def alerts(store: SQLiteStore, selection: Selection) -> Any:
        found = data.incidents(store, selection)
        return found, (data.incident_detail(store, found[0].pk) if found else None)

    return {
        "overview": lambda store, s: data.overview(store, s, data.share_of_voice_brands(config, s.brand)),
        "mentions": lambda store, s: data.mentions(store, s, MentionQuery()),
        "hot-words": lambda store, s: data.hot_words(store, s),
        "alerts": alerts,
        "sources": lambda store, s: data.sources(store, config),
    }


def cold_and_warm(db: Path, action: Callable[[SQLiteStore], Any]) -> dict[str, Any]:
    drop_os_cache(db)
    with SQLiteStore(db) as store:
        started = time.perf_counter()
        action(store)
        first = time.perf_counter() - started
        started = time.perf_counter()
        action(store)
        second = time.perf_counter() - started
    return {"first_s": round(first, 3), "second_s": round(second, 3)}


def server_side(db: Path, config: Config, end: datetime) -> dict[str, Any]:
    calls = page_calls(config)
    result: dict[str, Any] = {}
    for page, call in calls.items():
        result[page] = {}
        for name, selection in selections(end).items():
            progress(f"server side: {page} {name}")
            result[page][name] = cold_and_warm(db, lambda store, c=call, s=selection: c(store, s))
    result["kol"] = {}
    for span, length in SPANS.items():
        selection = Selection(BIG_BRAND.name, end - length, end)
        progress(f"server side: kol {BIG_BRAND.name}/{span} (one run, no timeout)")
        drop_os_cache(db)
        with SQLiteStore(db) as store:
            started = time.perf_counter()
            report = data.kol_report(store, config, selection)
            seconds = time.perf_counter() - started
        result["kol"][f"{BIG_BRAND.name}/{span}"] = {"first_s": round(seconds, 3), "authors": len(report.authors)}
    return result


def baseline_overview(db: Path, selection: Selection) -> dict[str, Any]:
    """Volume, sentiment split, distinct authors and the daily trend from a DataFrame of the window."""
    drop_os_cache(db)
    with SQLiteStore(db) as store:
        started = time.perf_counter()
        rows = []
        where = MentionFilter(brand=selection.brand, since=selection.since, until=selection.until)
        stopped = False
        for mention in store.iter_mentions(where):
            rows.append((mention.created_at, mention.sentiment_label, mention.author.id if mention.author else None))
            if len(rows) % 10_000 == 0 and time.perf_counter() - started > BASELINE_LIMIT_S:
                stopped = True
                break
        read = time.perf_counter() - started
        frame = pd.DataFrame(rows, columns=["created_at", "sentiment", "author"])
        volume = len(frame)
        split = frame["sentiment"].value_counts().to_dict()
        authors = frame["author"].nunique()
        trend = frame.groupby(pd.to_datetime(frame["created_at"], utc=True).dt.tz_convert(SHANGHAI).dt.date).size()
        total = time.perf_counter() - started
    result: dict[str, Any] = {
        "first_s": round(total, 3),
        "read_s": round(read, 3),
        "mentions_read": volume,
        "distinct_authors": int(authors),
        "days": len(trend),
        "sentiments": {str(k): int(v) for k, v in split.items()},
    }
    if stopped:
        result["stopped_after_s"] = BASELINE_LIMIT_S
        result["note"] = f"read stopped after {BASELINE_LIMIT_S:.0f} s: the numbers cover only the mentions read"
    return result


def baseline(db: Path, end: datetime) -> dict[str, Any]:
    result = {}
    for name, selection in selections(end).items():
        progress(f"baseline: {name}")
        result[name] = baseline_overview(db, selection)
    return result


# ------------------------------------------------------------------------------------------------ browser


def descendants(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(descendants(int(child)))
    return found


def rss_mb(pid: int) -> float:
    total_kb = 0
    for process in set(descendants(pid)):
        try:
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def page_list() -> list[tuple[str, str, str, str]]:
    """dashboard/app.py's PAGE_LIST, read without running the app (importing it would)."""
    module = ast.parse((DASHBOARD_DIR / "app.py").read_text(encoding="utf-8"))
    for node in module.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGE_LIST" for t in node.targets):
            return [tuple(entry) for entry in ast.literal_eval(node.value)]
    raise RuntimeError("dashboard/app.py has no PAGE_LIST")


def finished(page: Any, title: str, started: float) -> float:
    """Seconds from ``started`` until Streamlit has finished running the page titled ``title``."""
    steps = [
        # the header, or the exception a broken page shows instead
        (
            "header visible",
            page.get_by_role("heading", name=title).or_(page.get_by_test_id("stException")).first,
            "visible",
        ),
        ("connected", page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']"), "attached"),
        ("script not running", page.locator("[data-testid='stApp'][data-test-script-state='notRunning']"), "attached"),
        ("no loading skeleton", page.get_by_test_id("stSkeleton").first, "detached"),
    ]
    for step, locator, state in steps:
        left = PAGE_TIMEOUT_MS - (time.perf_counter() - started) * 1000
        try:
            locator.wait_for(state=state, timeout=max(left, 1))
        except Exception as problem:  # Playwright's TimeoutError: name the signal that never came
            raise LoadTimeout(step) from problem
    return round(time.perf_counter() - started, 3)


class LoadTimeout(Exception):
    """A page did not finish within PAGE_TIMEOUT_MS; names the signal that never came."""


def navigate(page: Any, title: str) -> float:
    """Click the page's entry in the sidebar, as a user does, and time the page's run."""
    started = time.perf_counter()
    page.locator("[data-testid='stSidebarNavLink']", has_text=title).first.click()
    return finished(page, title, started)


def browser(config_path: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    config = load_config(config_path)
    pages = page_list()
    result: dict[str, Any] = {"pages": {}, "rss_mb_samples": []}
    with tempfile.TemporaryFile() as log, serving(config, log, timeout=120) as (url, process):
        with sync_playwright() as playwright:
            result["rss_mb_at_start"] = rss_mb(process.pid)
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            result["load_average_before"] = [round(x, 1) for x in os.getloadavg()]
            tab = context.new_page()
            started = time.perf_counter()
            tab.goto(url, timeout=PAGE_TIMEOUT_MS)
            result["opening_the_dashboard_s"] = finished(tab, pages[0][1], started)
            for round_name in ("first_load_s", "after_first_load_s"):
                for _file, title, url_path, _icon in pages:
                    progress(f"browser: {url_path} ({round_name})")
                    try:
                        seconds: float | None = navigate(tab, title)
                    except LoadTimeout as stuck:
                        seconds = None
                        result.setdefault("timeouts", []).append({"page": url_path, "waiting_for": str(stuck)})
                    page = result["pages"].setdefault(url_path, {})
                    page[round_name] = seconds
                    page["exceptions_shown"] = tab.get_by_test_id("stException").count()
                    result["rss_mb_samples"].append(
                        {"after": f"{url_path} {round_name}", "rss_mb": rss_mb(process.pid)}
                    )
            # For comparison: a page opened in a new tab starts a new Streamlit session (the page's
            # scripts from the browser's cache, a new websocket, the app script run from the top).
            fresh = context.new_page()
            started = time.perf_counter()
            fresh.goto(f"{url}/{pages[1][2]}", timeout=PAGE_TIMEOUT_MS)
            result["new_tab_mentions_page_s"] = finished(fresh, pages[1][1], started)
            result["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
            context.close()
            chromium.close()
        log.seek(0)
        printed = log.read().decode("utf-8", errors="replace")
        if "Traceback" in printed:
            result["server_log_tail"] = printed[-3000:]
    result["peak_rss_mb"] = max(sample["rss_mb"] for sample in result["rss_mb_samples"])
    return result


# ------------------------------------------------------------------------------------------------ report


def targets_met(pages: dict[str, Any], peak: float) -> dict[str, Any]:
    limit = TARGETS["page_seconds_after_first_load_max"]
    seconds = {name: page["after_first_load_s"] for name, page in pages.items()}  # None: timed out
    slowest = max(seconds, key=lambda name: float("inf") if seconds[name] is None else seconds[name])
    return {
        "page_seconds_after_first_load": {
            "target": f"<= {limit} for every page",
            "value": seconds,
            "slowest": slowest,
            "met": all(value is not None and value <= limit for value in seconds.values()),
        },
        "peak_rss_mb": {
            "target": f"< {TARGETS['peak_rss_mb_max']}",
            "value": peak,
            "met": peak < TARGETS["peak_rss_mb_max"],
        },
    }


def main() -> None:
    started = time.perf_counter()
    count = int(os.environ.get("FENGXIANG_BENCH_DASHBOARD_MENTIONS", "1000000"))
    end = datetime.now(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    RESULTS.mkdir(exist_ok=True)
    folder, built = cached_store(count, end)
    db = folder / "store.db"
    config_path = folder / "fengxiang.yaml"
    config = load_config(config_path)
    ours = server_side(db, config, end)
    naive = baseline(db, end)
    loads = browser(config_path)
    targets = targets_met(loads["pages"], loads["peak_rss_mb"])
    overview_vs_baseline = {
        name: {
            "ours_first_s": ours["overview"][name]["first_s"],
            "baseline_first_s": naive[name]["first_s"],
            "baseline_over_ours": round(naive[name]["first_s"] / max(ours["overview"][name]["first_s"], 1e-6), 1),
        }
        for name in naive
    }
    result = {
        "benchmark": "dashboard",
        "targets": targets,
        "all_targets_met": all(target["met"] for target in targets.values()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        },
        "store": {"mentions": count, "days": DAYS, "seed": SEED, "end": end.isoformat(), "build": built},
        "browser": loads,
        "server_side_seconds": ours,
        "overview_vs_baseline_first_call": overview_vs_baseline,
        "baseline_overview_iter_mentions_pandas": naive,
        "brands": [brand.name for brand in BRANDS],
        "seconds": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    (RESULTS / "dashboard.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
