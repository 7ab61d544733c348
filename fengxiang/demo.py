"""``fengxiang demo`` (``make demo``): a new user's first five minutes, offline, through the real commands.

Starts the sandbox on loopback — Weibo, Bilibili, Xiaohongshu, Zhihu and three news sites serving one synthetic world
whose 启航汽车 braking incident broke three hours ago, and a WeCom group robot — writes a config for
it in a fresh folder, runs one cycle of the service (`fengxiang run --once`: crawl every source →
analyse → store → alert rules → the robot), prints the messages the robot received, writes
yesterday's 舆情日报, and opens the dashboard on the result. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from fengxiang import dashboard_commands
from fengxiang.config import load_config
from fengxiang.synthetic import BEIJING, demo_watchlist, official_accounts
from sandbox.config import crawl_config
from sandbox.news import NewsReplica
from sandbox.replicas import SEARCH_PLATFORMS, search_replicas
from sandbox.robot import RobotMessage, RobotReplica
from sandbox.scenario import build_scenario, live_clock
from sandbox.server import SandboxServer
from sandbox.weibo import WeiboReplica
from store.base import Window
from store.open import open_store

WORLD_POSTS = 5000  # about ten days of five brands: a full-looking dashboard, crawled in under a minute
WORLD_DAYS = 10
ROBOT_KEY = "demo-duty-group"
MESSAGE_LINES = 4  # of each robot message, printed: the headline, the colour line, the first facts


def run(args: argparse.Namespace) -> int:
    folder = Path(args.folder).resolve() if args.folder else Path(tempfile.mkdtemp(prefix="fengxiang-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"风向 demo — everything below runs offline, on loopback; files in {folder}")
    robot = RobotReplica(keys={ROBOT_KEY})
    # Chosen now, so the robot's messages can link to the incidents on it.
    dashboard_port = None if args.no_dashboard else args.port or dashboard_commands.free_port()
    with sandbox(robot) as (server, news):
        print(f"sandbox: Weibo, {', '.join(SEARCH_PLATFORMS)}, news sites and a WeCom robot at {server.base_url}")
        config_file = write_config(folder, server.base_url, news, robot, dashboard_port)
        step(folder, "check")
        print(
            "\n# one cycle of the 24×7 service: every source crawled, analysed and stored, the alert rules, the robot"
        )
        cycle = step(folder, "run", "--once")
        print_messages(robot.messages_for("wecom", ROBOT_KEY))
        yesterday = (datetime.now(BEIJING) - timedelta(days=1)).date()
        report = folder / "reports" / f"{yesterday}.md"
        step(folder, "report", "--date", str(yesterday), "-o", str(report.relative_to(folder)))
        summarise(config_file, report)
        if cycle != 0:
            print(f"\nthe cycle ended with exit code {cycle}: see {folder / 'data' / 'logs'}")
            return cycle
        if dashboard_port is None:
            return 0
        return show_dashboard(config_file, dashboard_port)


@contextmanager
def sandbox(robot: RobotReplica) -> Iterator[tuple[SandboxServer, NewsReplica]]:
    now, hold_back = live_clock(WORLD_DAYS)
    weibo = WeiboReplica(build_scenario(WORLD_POSTS, days=WORLD_DAYS, now=now, hold_back=hold_back))
    searchable = search_replicas(WORLD_POSTS, days=WORLD_DAYS, now=now, hold_back=hold_back)
    news = NewsReplica(WORLD_POSTS // 4, days=WORLD_DAYS, end=datetime.now(BEIJING))
    with SandboxServer([weibo, *searchable.values(), news, robot]) as server:
        robot.bind(server.base_url)
        yield server, news


def write_config(
    folder: Path, base_url: str, news: NewsReplica, robot: RobotReplica, dashboard_port: int | None
) -> Path:
    official = official_accounts()
    watchlist = [{**entry, "official_accounts": [official[entry["name"]]]} for entry in demo_watchlist()]
    config = crawl_config(
        base_url,
        watchlist,
        store="sqlite:///data/demo.db",
        platforms=SEARCH_PLATFORMS,
        news_feeds=news.feed_urls(),
        lookback=f"{WORLD_DAYS + 1}d",
        max_pages=1000,  # the first crawl reads ten days back: more than the default 50 pages a term
    )
    config["timezone"] = "Asia/Shanghai"
    config["alerts"] = {
        "channels": [{"type": "wecom", "name": "公关值班群", "webhook": robot.wecom_url(ROBOT_KEY)}],
        "notify_min_severity": "high",  # the group hears of 橙色 and 红色 incidents; the rest are on the dashboard
    }
    if dashboard_port is not None:
        config["alerts"]["dashboard_url"] = f"http://127.0.0.1:{dashboard_port}"
    path = folder / "fengxiang.yaml"
    path.write_text(
        "# written by `fengxiang demo`: the sandbox's sources and robot on loopback\n"
        + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path


def step(folder: Path, *args: str) -> int:
    """One real `fengxiang` command in the demo folder, shown as the user would type it."""
    print(f"\n$ fengxiang {shlex.join(args)}", flush=True)
    return subprocess.run([sys.executable, "-m", "fengxiang.cli", *args], cwd=folder, check=False).returncode


def print_messages(messages: list[RobotMessage]) -> None:
    print(f"\n# the WeCom group robot received {len(messages)} messages:")
    for number, message in enumerate(messages, start=1):
        lines = str(message.body.get("markdown", message.body.get("text", {})).get("content", "")).splitlines()
        print(f"\n--- message {number} ---")
        for line in lines[:MESSAGE_LINES]:
            print(f"  {line}")
        if len(lines) > MESSAGE_LINES:
            print(f"  … ({len(lines) - MESSAGE_LINES} more lines)")


def summarise(config_file: Path, report: Path) -> None:
    config = load_config(config_file)
    store = open_store(config)
    try:
        now = datetime.now(config.tzinfo)
        counts = store.counts(Window(since=now - timedelta(days=WORLD_DAYS + 1), until=now + timedelta(minutes=1)))
        incidents = store.incidents(status=None, brand=None, since=now - timedelta(days=1), limit=200)
        recent = store.counts(Window(since=now - timedelta(hours=6), until=now + timedelta(minutes=1)))
    finally:
        store.close()
    platforms = ", ".join(f"{name} {count:,}" for name, count in counts.by_platform.items())
    print("\n# summary")
    print(f"  mentions stored   {counts.total:,} ({platforms})")
    print(f"  last 6 hours      {recent.total:,} mentions, {recent.by_sentiment.get('negative', 0):,} negative")
    print(f"  incidents open    {sum(1 for incident in incidents if incident.status == 'open')}")
    print(f"  daily report      {report} (and {report.with_suffix('.html').name} beside it)")
    print(f"  service log       {config_file.parent / 'data' / 'logs' / 'service.log'}")


def show_dashboard(config_file: Path, port: int) -> int:
    config = load_config(config_file)
    url = f"http://127.0.0.1:{port}"
    process = dashboard_commands.start(config, port=port, address="127.0.0.1", stdout=subprocess.DEVNULL)
    try:
        dashboard_commands.wait_until_ready(url, process)
        print(f"\n风向看板 dashboard: {url}   (Ctrl-C stops the dashboard and the sandbox)", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        print("\nstopping the demo")
        return 0
    finally:
        dashboard_commands.stop(process)
