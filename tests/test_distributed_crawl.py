"""Distributed crawling end to end: `fengxiang crawl --enqueue`, then `fengxiang crawl-worker` processes
sharing the Weibo sandbox's search terms through a real redis-server.

The truth is one plain `fengxiang crawl weibo` of the same sandbox: the workers together must store
exactly its mentions and advance exactly its cursors, each queued term acknowledged once — also when
one worker is killed mid-crawl and another takes its term over once the lease runs out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import yaml

from fengxiang.config import load_config
from fengxiang.work_queue import WorkQueue
from sandbox.scenario import Scenario, build_scenario
from sandbox.weibo import WeiboReplica
from store.sqlite import SQLiteStore
from tests import crawl_helpers
from tests.crawl_helpers import CrawlSite

pytest_plugins = ["tests.redis_server"]
pytestmark = pytest.mark.slow

WORKER_TIMEOUT = 120.0  # seconds for the workers to empty the queue


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(posts=120, days=2, seed=11)


@contextmanager
def weibo_site(scenario: Scenario, folder: Path, **settings: object) -> Iterator[CrawlSite[Scenario, WeiboReplica]]:
    """The sandbox's Weibo with one brand of the demo watchlist (five terms: each term is a crawl of its own)."""
    with contextmanager(crawl_helpers.serve_site)("weibo", folder, scenario, WeiboReplica(scenario)) as site:
        config = yaml.safe_load(site.config.read_text(encoding="utf-8"))
        config["watchlist"] = config["watchlist"][:1]
        config.update(settings)
        site.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        yield site


@pytest.fixture(scope="module")
def plain_crawl(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], dict[str, str]]:
    """What one `fengxiang crawl weibo` stores: the mention ids, and the cursor of each term."""
    with weibo_site(scenario, tmp_path_factory.mktemp("plain")) as site:
        code, outcome = site.crawl()
        assert code == 0 and outcome["status"] == "ok", outcome
        return set(site.mentions()), cursors(site)


@pytest.fixture
def site(
    scenario: Scenario, tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> Iterator[CrawlSite[Scenario, WeiboReplica]]:
    # A short lease: the killed worker's term comes back within seconds.
    with weibo_site(scenario, tmp_path, distributed={"redis": redis_url, "lease": "5s"}) as served:
        yield served


def cursors(site: CrawlSite[Scenario, WeiboReplica]) -> dict[str, str]:
    store = SQLiteStore(site.folder / "crawl.db")
    try:
        found = {term: store.get_cursor("weibo", f"search:{term}") for term in load_config(site.config).search_terms()}
    finally:
        store.close()
    return {term: cursor for term, cursor in found.items() if cursor}


def fengxiang(site: CrawlSite[Scenario, WeiboReplica], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "fengxiang.cli", *args, "--config", str(site.config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def start_worker(site: CrawlSite[Scenario, WeiboReplica]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "fengxiang.cli", "crawl-worker", "--once", "--config", str(site.config)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(worker: subprocess.Popen[str]) -> list[str]:
    """The worker's lines, one per item, once it exited cleanly."""
    out, err = worker.communicate(timeout=WORKER_TIMEOUT)
    assert worker.returncode == 0, err
    return out.splitlines()


def enqueue_all(site: CrawlSite[Scenario, WeiboReplica]) -> list[str]:
    terms = load_config(site.config).search_terms()
    queued = fengxiang(site, "crawl", "--enqueue", "weibo")
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.splitlines() == [f"weibo {term}: queued" for term in terms]
    again = fengxiang(site, "crawl", "--enqueue")  # every enabled platform: weibo only
    assert again.stdout.splitlines() == [f"weibo {term}: already queued" for term in terms]
    return terms


def crawled(lines: list[str]) -> list[str]:
    """The terms a worker's lines say it crawled (one line per item: "weibo TERM: ok — …")."""
    return [line.removeprefix("weibo ").partition(": ")[0] for line in lines if line.startswith("weibo ")]


def test_two_workers_crawl_every_term_once_and_store_what_one_crawl_does(
    site: CrawlSite[Scenario, WeiboReplica], redis_client: redis.Redis, plain_crawl: tuple[set[str], dict[str, str]]
) -> None:
    terms = enqueue_all(site)
    workers = [start_worker(site) for _ in range(2)]
    done_by = [crawled(finish(worker)) for worker in workers]
    assert sorted(done_by[0] + done_by[1]) == sorted(terms)  # each term crawled by exactly one of them
    stats = WorkQueue(redis_client).stats()
    assert (stats.pending, stats.in_flight, stats.done) == (0, 0, len(terms))
    expected_ids, expected_cursors = plain_crawl
    assert set(site.mentions()) == expected_ids
    assert cursors(site) == expected_cursors


def test_a_killed_workers_term_is_taken_over_once_its_lease_runs_out(
    site: CrawlSite[Scenario, WeiboReplica], redis_client: redis.Redis, plain_crawl: tuple[set[str], dict[str, str]]
) -> None:
    terms = enqueue_all(site)
    queue = WorkQueue(redis_client)
    doomed, survivor = start_worker(site), start_worker(site)
    crawler = wait_for_crawl(doomed, queue)
    # Its machine dies: the worker and its crawl; nobody acknowledges its term or extends its lease.
    for pid in (doomed.pid, crawler):
        os.kill(pid, signal.SIGKILL)
    finished_before_death = crawled(doomed.communicate()[0].splitlines())
    done_by_survivor = crawled(finish(survivor))  # it waits for the killed worker's term to come back
    assert sorted(finished_before_death + done_by_survivor) == sorted(terms)  # the killed term: the survivor's
    stats = queue.stats()
    assert (stats.pending, stats.in_flight, stats.done) == (0, 0, len(terms))
    expected_ids, expected_cursors = plain_crawl
    assert set(site.mentions()) == expected_ids
    assert cursors(site) == expected_cursors


def wait_for_crawl(worker: subprocess.Popen[str], queue: WorkQueue) -> int:
    """The pid of the worker's `scrapy crawl` once it holds an item and crawls it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        if children and queue.stats().in_flight:
            return int(children[0])
        assert worker.poll() is None, worker.communicate()
        time.sleep(0.05)
    raise AssertionError("the worker started no crawl within 30 s")
