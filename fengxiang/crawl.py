"""``fengxiang crawl``: each platform's crawl in its own ``scrapy crawl`` subprocess.

A subprocess per run because Twisted's reactor cannot be restarted inside one process, and so that
a crawl that hangs or dies never takes the caller (the CLI, the 24×7 scheduler) with it. The crawl
records its own outcome in the store; when the process dies before it could (killed, crashed, out
of time), this module records a ``failed`` health record instead, so no run goes unaccounted for.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawlers.registry import PLATFORMS
from fengxiang.config import Config, SourceConfig
from store.base import SourceHealth, Store

__all__ = ["CrawlRun", "crawl", "log_file_for"]

_GRACE = timedelta(seconds=60)  # beyond the spider's own time limit, before the process is stopped
_STOP_WAIT = 30.0  # seconds a stopping crawl gets to store its last batch
_POLL = 0.5  # seconds between looks at the process, the clock and the stop request


@dataclass
class CrawlRun:
    platform: str
    exit_code: int
    health: SourceHealth
    log_file: Path
    seconds: float


def log_file_for(config: Config, platform: str) -> Path:
    """The last run's log: next to the store's default folder, one file per platform."""
    base_dir = config.config_file.parent if config.config_file else Path.cwd()
    return base_dir / "data" / "logs" / f"crawl-{platform}.log"


def crawl(
    config: Config,
    platform: str,
    store: Store,
    *,
    stop: threading.Event | None = None,
    terms: Sequence[str] = (),
    log_file: Path | None = None,
) -> CrawlRun:
    """Run one platform's crawl to its end (or its time limit) and return its health record.

    Setting ``stop`` (the service shutting down) asks the crawl to finish its batch and end early.
    ``terms`` restricts the search to those watchlist terms (a crawl worker's one term); ``log_file``
    replaces the platform's usual log, so that crawls of one platform running side by side keep theirs.
    """
    if platform not in PLATFORMS:
        raise ValueError(f"no crawler for {platform!r} — available: {', '.join(PLATFORMS)}")
    if config.config_file is None:
        raise ValueError("crawling needs a config file (the crawler process reads it)")
    source = config.sources.get(platform) or SourceConfig()
    log_file = log_file or log_file_for(config, platform)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    clock = time.monotonic()
    command = [sys.executable, "-m", "scrapy", "crawl", platform, "-s", f"FENGXIANG_CONFIG={config.config_file}"]
    if terms:
        command += ["-a", f"only_terms={json.dumps(list(terms), ensure_ascii=False)}"]
    # The crawl reads secrets from the config's ${VARS} in its inherited environment, never from argv.
    environment = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawlers.settings"}
    with log_file.open("wb") as log:
        # A session of its own: Ctrl-C in a terminal reaches only the caller, which then asks the crawl
        # to stop exactly once (a second SIGINT would make Scrapy quit without storing its batch).
        process = subprocess.Popen(
            command, env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
        exit_code, problem = _wait(process, source.timeout + _GRACE, stop or threading.Event())
    health = _recorded_since(store, platform, started)
    if health is None:
        health = SourceHealth(
            source=platform,
            started_at=started,
            finished_at=datetime.now(UTC),
            status="failed",
            error=(problem or f"the crawler process ended (exit code {exit_code}) without recording its outcome")
            + f" — see {log_file}",
        )
        store.record_health(health)
    return CrawlRun(platform, exit_code, health, log_file, time.monotonic() - clock)


def _wait(process: subprocess.Popen[bytes], limit: timedelta, stop: threading.Event) -> tuple[int, str | None]:
    """Wait for the crawl; stop it (gently, then not) on Ctrl-C, on ``stop`` or past ``limit``."""
    deadline = time.monotonic() + limit.total_seconds()
    try:
        while True:
            try:
                return process.wait(timeout=_POLL), None
            except subprocess.TimeoutExpired:
                pass
            if stop.is_set():
                problem = "stopped: the service is shutting down"
                break
            if time.monotonic() >= deadline:
                problem = f"timed out after {int(limit.total_seconds())} s"
                break
    except KeyboardInterrupt:
        problem = "interrupted"
    # SIGINT first: Scrapy then finishes its batch and records its outcome itself.
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=_STOP_WAIT), problem
    except subprocess.TimeoutExpired:
        # The whole session, not just Scrapy: its analysis worker, and for browser-signed platforms
        # Playwright's driver and Chromium, would otherwise outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.wait(), problem


def _recorded_since(store: Store, platform: str, started: datetime) -> SourceHealth | None:
    for health in store.latest_health():
        if health.source == platform and health.started_at >= started - timedelta(seconds=1):
            return health
    return None
