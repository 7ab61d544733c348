"""`fengxiang demo` as a new user runs it: the cycle on the sandbox, the robot's messages, the report, the
dashboard — and Ctrl-C (SIGINT to the terminal's process group) stopping everything it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sandbox.replicas import SEARCH_PLATFORMS
from store.base import Window
from store.model import EARLIEST_POST
from store.sqlite import SQLiteStore


def test_the_demo_fills_the_store_alerts_the_group_serves_the_dashboard_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    demo = subprocess.Popen(
        [sys.executable, "-m", "fengxiang.cli", "demo", "--folder", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it: Ctrl-C goes to the whole group
    )
    assert demo.stdout is not None
    printed: list[str] = []
    deadline = time.monotonic() + 420
    url = None
    while url is None:
        line = demo.stdout.readline()
        assert line or demo.poll() is None, "the demo ended early:\n" + "".join(printed)
        assert time.monotonic() < deadline, "no dashboard URL in time:\n" + "".join(printed)
        printed.append(line)
        found = re.search(r"dashboard: (http://127\.0\.0\.1:\d+)", line)
        url = found.group(1) if found else None
    output = "".join(printed)
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as answer:
            assert answer.status == 200
    finally:
        os.killpg(demo.pid, signal.SIGINT)
    assert demo.wait(timeout=60) == 0
    time.sleep(1)
    try:
        os.killpg(demo.pid, 0)
        leftover = True
    except ProcessLookupError:
        leftover = False
    assert not leftover, "a process the demo started outlived Ctrl-C"

    received = re.search(r"the WeCom group robot received (\d+) messages", output)
    assert received and int(received.group(1)) >= 1, output
    assert "新预警" in output  # the messages themselves are printed, not only counted
    for job in ("crawl:weibo", *(f"crawl:{name}" for name in SEARCH_PLATFORMS), "crawl:news", "alerts", "send"):
        assert re.search(rf"^{re.escape(job)}\s+ok\s", output, re.MULTILINE), f"{job} not ok:\n{output}"
    with SQLiteStore(folder / "data" / "demo.db") as store:
        counts = store.counts(Window(since=EARLIEST_POST, until=datetime.now(UTC) + timedelta(days=1)))
    assert set(counts.by_platform) == {"weibo", *SEARCH_PLATFORMS, "news"}
    assert f"mentions stored   {counts.total:,}" in output
    assert list((folder / "reports").glob("*.md")) and list((folder / "reports").glob("*.html"))
