"""Distributed crawling: ``fengxiang crawl-worker`` processes sharing crawl work through Redis.

The work is one search term of one platform (a :class:`~fengxiang.work_queue.WorkItem`):
:func:`enqueue` queues every (platform, term) of the config, and each worker claims an item, runs
that term's crawl (:func:`fengxiang.crawl.crawl`, restricted to the term) and acknowledges it. While
the crawl runs a heartbeat thread extends the claim's lease; a worker that is killed stops extending
it, so the item goes back to the queue when the lease runs out and another worker crawls it again.
Crawling a term twice is harmless (mentions are upserted by id, the cursor only moves forward);
never crawling it is what the leases prevent.

A worker claims only the platforms it serves (:func:`served_platforms`, ``--platforms``): by default
every enabled search platform of its config, or fewer on a machine without Chromium or with a login or
IP of its own for one platform.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import redis

from crawlers.registry import SEARCH_PLATFORMS
from fengxiang.config import Config
from fengxiang.crawl import CrawlRun, crawl, log_file_for
from fengxiang.work_queue import Claim, WorkItem, WorkQueue, connect_redis
from store.base import Store

__all__ = ["CrawlWorker", "ItemOutcome", "enqueue", "open_queue", "served_platforms", "worker_name"]

log = logging.getLogger(__name__)

_CLAIM_WAIT = 1.0  # seconds a claim waits for work before the worker looks at its stop request again
_BEATS_PER_LEASE = 3  # heartbeats per lease: two may be missed (a busy machine) before the lease runs out
_POLL = 0.5  # seconds between the heartbeat thread's looks at the worker's stop request


def open_queue(config: Config) -> WorkQueue:
    """The crawl queue in ``distributed.redis``; ValueError when the config has no ``distributed:``."""
    if config.distributed is None:
        raise ValueError("distributed crawling needs a distributed: section with redis: redis://host:6379/0")
    return WorkQueue(connect_redis(config.distributed.redis.get_secret_value()))


def enqueue(config: Config, queue: WorkQueue, platforms: Sequence[str]) -> tuple[list[WorkItem], list[WorkItem]]:
    """Queue one item per (platform, watchlist search term): the items queued, and those already queued."""
    cannot = [platform for platform in platforms if platform not in SEARCH_PLATFORMS]
    if cannot:
        raise ValueError(
            f"{', '.join(cannot)}: not crawled by search term — "
            f"crawl-workers share only {', '.join(sorted(SEARCH_PLATFORMS))}"
        )
    queued: list[WorkItem] = []
    already: list[WorkItem] = []
    for platform in platforms:
        for term in config.search_terms():
            item = WorkItem(platform, term)
            (queued if queue.push(item) else already).append(item)
    return queued, already


def served_platforms(config: Config, requested: Sequence[str] | None = None) -> list[str]:
    """The platforms a worker crawls: ``requested`` once checked, or every enabled search platform.

    ValueError, naming the platforms this config's workers can serve, for one that is not a search
    platform or not enabled: its items would never be queued, and the worker would wait for nothing.
    """
    enabled = [platform for platform in config.enabled_sources() if platform in SEARCH_PLATFORMS]
    if requested is None:
        if not enabled:
            raise ValueError(
                f"no search platform is enabled in {config.config_file} — enable one of "
                f"{', '.join(sorted(SEARCH_PLATFORMS))} under sources:, e.g. sources.weibo"
            )
        return enabled
    problems = [
        f"{platform}: not enabled in {config.config_file} (enable sources.{platform} there)"
        if platform in SEARCH_PLATFORMS
        else f"{platform}: not a platform crawl-workers crawl ({', '.join(sorted(SEARCH_PLATFORMS))})"
        for platform in requested
        if platform not in enabled
    ]
    if problems or not requested:
        problems = problems or ["no platform given"]
        raise ValueError(
            f"{'; '.join(problems)} — this config's workers can serve {', '.join(enabled) or 'none'}: "
            f"--platforms {','.join(enabled) or 'weibo'}"
        )
    return list(dict.fromkeys(requested))


def worker_name() -> str:
    """Unique among the workers on every machine, and readable in `fengxiang status` and logs."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class ItemOutcome:
    claim: Claim
    run: CrawlRun
    acknowledged: bool  # False: stopped, or the lease was lost — the item is (or will be) crawled again


class CrawlWorker:
    """Claims items of ``platforms`` one at a time and crawls them until ``stopping`` is set (or, ``once``,
    none of them is left)."""

    def __init__(
        self, config: Config, queue: WorkQueue, store: Store, stopping: threading.Event, platforms: Sequence[str]
    ) -> None:
        assert config.distributed is not None, "open_queue() checked the config"
        self.config = config
        self.queue = queue
        self.store = store
        self.stopping = stopping
        self.platforms = list(platforms)  # served_platforms() checked them
        self.name = worker_name()
        self.lease = config.distributed.lease.total_seconds()

    def outcomes(self, *, once: bool = False) -> Iterator[ItemOutcome]:
        """Each item's outcome as its crawl ends."""
        while not self.stopping.is_set():
            self.queue.recover_expired()  # any worker may return a dead worker's items
            claim = self.queue.claim(self.name, self.lease, timeout=_CLAIM_WAIT, platforms=self.platforms)
            if claim is not None:
                yield self.work_on(claim)
            elif once and not self.queue.stats().has_work(self.platforms):
                # In-flight items count: a killed worker's item comes back when its lease runs out.
                return

    def work_on(self, claim: Claim) -> ItemOutcome:
        item = claim.item
        crawl_stop = threading.Event()  # the worker is stopping, or another worker may hold the item now
        finished = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(claim, crawl_stop, finished), name="lease-heartbeat", daemon=True
        )
        heartbeat.start()
        try:
            log_file = log_file_for(self.config, item.platform).with_name(f"crawl-{item.platform}-{self.name}.log")
            run = crawl(self.config, item.platform, self.store, stop=crawl_stop, terms=[item.term], log_file=log_file)
        finally:
            finished.set()
            heartbeat.join()
        # A stopped crawl is unfinished work: left unacknowledged, its lease runs out and it is crawled again.
        acknowledged = not crawl_stop.is_set() and self.queue.done(claim)
        return ItemOutcome(claim, run, acknowledged)

    def _heartbeat(self, claim: Claim, crawl_stop: threading.Event, finished: threading.Event) -> None:
        interval = self.lease / _BEATS_PER_LEASE
        next_beat = time.monotonic() + interval
        while not finished.wait(_POLL):
            if self.stopping.is_set():
                crawl_stop.set()
            if time.monotonic() < next_beat:
                continue
            next_beat += interval
            try:
                held = self.queue.extend(claim, self.lease)
            except redis.RedisError as error:  # Redis away for a moment: the lease may outlast it
                log.warning("%s: could not extend the lease of %s: %s", self.name, claim.item.key, error)
                continue
            if not held:
                log.warning("%s: lost %s (its lease ran out): stopping its crawl", self.name, claim.item.key)
                crawl_stop.set()
                return
