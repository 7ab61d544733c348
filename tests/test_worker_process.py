"""A crawl leaves no process behind: a pool worker ends with its parent, however the parent ends, and a
crawl killed past its time limit takes its whole process group with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

from fengxiang import crawl

PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from fengxiang.worker_process import exit_with_parent
if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=exit_with_parent)
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0]  # noqa: SIM115
    return state != "Z"  # a zombie has ended; only its exit status waits to be read


def test_a_worker_of_a_killed_parent_ends_within_seconds() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    assert alive(worker)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(worker), "the worker outlived its killed parent"


def test_a_crawl_that_ignores_the_stop_request_is_killed_with_all_its_children(monkeypatch) -> None:
    # A crawler deaf to SIGINT, with a child of its own (like Playwright's driver and Chromium).
    script = "trap '' INT; sleep 300 & echo $!; wait"
    process = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    monkeypatch.setattr(crawl, "_STOP_WAIT", 0.5)
    exit_code, problem = crawl._wait(process, timedelta(seconds=0), threading.Event())
    assert exit_code == -signal.SIGKILL and problem is not None and problem.startswith("timed out")
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)
