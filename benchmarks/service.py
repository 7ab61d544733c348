"""`make bench`: the 24×7 service left running on the sandbox — does it keep going, without errors and
without growing?

Runs the real `fengxiang run` against every replica of the sandbox (Weibo, Bilibili, Xiaohongshu and
Zhihu — those two start Chromium at every crawl —, news) and its WeCom robot, with intervals far shorter
than a real deployment's (crawls every minute or two, the alert rules every 15 s), so an hour here is a
few days of a real service's job runs. The sandbox's world is the live one (sandbox.scenario.live_clock:
its incident broke an hour before the start) and its clock moves with the real one, so every crawl finds
the posts written since the last. Half-way, the config is edited (a source's interval changes), which
the service must pick up without a restart. At the end: SIGTERM.

Reports job runs and outcomes, log lines by level, messages the robot took, the service process's
resident memory sampled every 5 s (the first sample after warm-up, the peak, the last, and the
least-squares slope in MB per hour: growth would show as a clearly positive slope), and any Chromium a
crawl left running at the end. No baseline runs beside it: the question is whether this service stays
healthy, not how it compares. Prints one JSON document, also written to bench-results/service.json.

FENGXIANG_SOAK_MINUTES sets the duration (default 10; the issue's check is 60).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from fengxiang.synthetic import demo_watchlist
from sandbox.config import crawl_config
from sandbox.news import NewsReplica
from sandbox.replicas import SEARCH_PLATFORMS, search_replicas
from sandbox.robot import RobotReplica
from sandbox.scenario import build_scenario, live_clock
from sandbox.server import SandboxServer
from sandbox.weibo import WeiboReplica
from store.base import Window
from store.model import EARLIEST_POST
from store.sqlite import SQLiteStore

WORLD_POSTS, WORLD_DAYS = 20_000, 8
WARM_UP = 120.0  # seconds before memory samples count (models loaded, first crawls done)
SAMPLE_EVERY = 5.0
ROBOT_KEY = "soak-duty-group"


def resident_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per hour."""
    count = len(samples)
    if count < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / count
    mean_m = sum(m for _, m in samples) / count
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    return sum((t - mean_t) * (m - mean_m) for t, m in samples) / spread * 3600 if spread else 0.0


def write_config(folder: Path, base_url: str, news: NewsReplica, robot: RobotReplica, weibo_interval: str) -> Path:
    config = crawl_config(
        base_url,
        demo_watchlist(),
        store="sqlite:///data/soak.db",
        platforms=SEARCH_PLATFORMS,
        news_feeds=news.feed_urls(),
        lookback=f"{WORLD_DAYS + 1}d",
        interval=weibo_interval,
        max_pages=1000,  # a week of five brands: more than the default 50 pages of a term on the first crawl
    )
    for source, interval in (("bilibili", "2m"), ("xiaohongshu", "3m"), ("zhihu", "3m"), ("news", "3m")):
        config["sources"][source]["interval"] = interval
    config["alerts"] = {"channels": [{"type": "wecom", "name": "值班群", "webhook": robot.wecom_url(ROBOT_KEY)}]}
    config["service"] = {"alerts_interval": "15s", "send_interval": "5s", "config_check_interval": "5s"}
    path = folder / "fengxiang.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def soak(minutes: float) -> dict[str, Any]:
    now, hold_back = live_clock(WORLD_DAYS, incident_age=timedelta(hours=1))
    scenario = build_scenario(WORLD_POSTS, days=WORLD_DAYS, now=now, hold_back=hold_back)
    searchable = search_replicas(WORLD_POSTS, days=WORLD_DAYS, now=now, hold_back=hold_back)
    worlds = [scenario, *(replica.world for replica in searchable.values())]  # type: ignore[attr-defined]
    browsers_before = chromium_pids()
    news = NewsReplica(WORLD_POSTS // 4, days=WORLD_DAYS, end=now - hold_back)
    robot = RobotReplica(keys={ROBOT_KEY})
    seconds = minutes * 60
    with (
        tempfile.TemporaryDirectory() as temporary,
        SandboxServer([WeiboReplica(scenario), *searchable.values(), news, robot]) as server,
    ):
        robot.bind(server.base_url)
        folder = Path(temporary)
        config = write_config(folder, server.base_url, news, robot, "1m")
        output = (folder / "service.out").open("wb")
        service = subprocess.Popen(
            [sys.executable, "-m", "fengxiang.cli", "run", "--config", str(config)], stdout=output, stderr=output
        )
        samples: list[tuple[float, float]] = []
        started = clock = time.monotonic()
        edited = False
        while (elapsed := time.monotonic() - started) < seconds:
            if service.poll() is not None:
                raise SystemExit(f"the service died after {elapsed:.0f} s: see {folder / 'service.out'}")
            memory = resident_mb(service.pid)
            if memory is not None and elapsed >= WARM_UP:
                samples.append((elapsed, memory))
            minutes_passed, clock = (time.monotonic() - clock) / 60, time.monotonic()
            for world in worlds:  # the sandbox's clocks keep pace with the real one
                world.advance(minutes_passed)
            if not edited and elapsed >= seconds / 2:
                write_config(folder, server.base_url, news, robot, "90s")  # picked up by the config job
                edited = True
            time.sleep(SAMPLE_EVERY)
        service.send_signal(signal.SIGTERM)
        stop_started = time.monotonic()
        exit_code = service.wait(timeout=120)
        stop_seconds = time.monotonic() - stop_started
        time.sleep(2)  # a browser closing with its crawl
        result = _results(folder, minutes, samples, exit_code, stop_seconds, len(robot.messages_for("wecom")))
        result["chromium_left_running"] = len(chromium_pids() - browsers_before)  # by crawls that ended
        return result


def chromium_pids() -> set[int]:
    """Chromium processes on the machine: each Xiaohongshu or Zhihu crawl starts one and must end it."""
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip().startswith("chromium"):
                pids.add(int(entry.name))
        except OSError:  # ended while being read
            continue
    return pids


def _results(
    folder: Path, minutes: float, samples: list[tuple[float, float]], exit_code: int, stop_seconds: float, messages: int
) -> dict[str, Any]:
    with SQLiteStore(folder / "data" / "soak.db") as store:
        stored = store.counts(Window(since=EARLIEST_POST, until=datetime.now(UTC) + timedelta(days=30))).total
    lines = [json.loads(line) for line in (folder / "data" / "logs" / "service.log").read_text().splitlines()]
    levels = Counter(line["level"] for line in lines)
    runs: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for line in lines:
        if line["event"] == "job finished":
            runs[line["job"]] += 1
            outcomes[f"{line['job']}:{line['outcome']}"] += 1
    memory = [megabytes for _, megabytes in samples]
    return {
        "minutes": minutes,
        "exit_code": exit_code,
        "stop_seconds": round(stop_seconds, 1),
        "job_runs_logged": dict(runs),  # routine runs (nothing sent, config unchanged) log at debug level
        "outcomes": dict(outcomes),
        "log_lines": dict(levels),
        "errors": [line for line in lines if line["level"] in ("error", "critical")][:10],
        "config_reloads": sum(1 for line in lines if line["event"] == "config reloaded"),
        "robot_messages": messages,
        "memory_mb": {
            "after_warm_up": round(memory[0], 1) if memory else None,
            "peak": round(max(memory), 1) if memory else None,
            "last": round(memory[-1], 1) if memory else None,
            "slope_per_hour": round(slope_per_hour(samples), 2),
            # The first minutes after warm-up still fill caches (the month's KOL scoring, jieba's
            # dictionary in the crawl children is not ours): growth, if any, shows in the second half.
            "slope_per_hour_second_half": round(slope_per_hour(samples[len(samples) // 2 :]), 2),
            "samples": len(memory),
        },
        "stored_mentions": stored,
    }


def main() -> None:
    minutes = float(os.environ.get("FENGXIANG_SOAK_MINUTES", "10"))
    result = {
        "benchmark": "service",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        **soak(minutes),
    }
    result["healthy"] = result["exit_code"] == 0 and not result["errors"] and not result["chromium_left_running"]
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    Path("bench-results").mkdir(exist_ok=True)
    Path("bench-results/service.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
