"""``fengxiang status``: is the service running, what are its jobs doing, are the sources healthy,
is anything stuck in the outbox. Reads the lock and the state file the service writes, and the store;
in distributed mode also the crawl queue's backlog in Redis.

A source that crawl-workers crawl shows the newest run any worker recorded: each worker's run is one
search term, so "last run" is that term's outcome and "items" that term's mentions.
"""

from __future__ import annotations

import sys
from contextlib import closing
from datetime import datetime
from typing import Any

import orjson
from redis import RedisError

from crawlers.registry import SEARCH_PLATFORMS
from dashboard.data import SourceStatus, sources
from fengxiang.config import Config
from fengxiang.crawl_worker import open_queue
from fengxiang.service_lock import lock_holder, service_files
from fengxiang.service_state import read_state
from fengxiang.work_queue import RedisUnavailable, shown_url
from store.base import Store

EXIT_OK, EXIT_NOT_RUNNING = 0, 1


def show(config: Config, store: Store, *, as_json: bool) -> int:
    """Exit 0 when a service is running, 1 when none is (scripts and health checks can test that)."""
    files = service_files(config)
    holder = lock_holder(files.lock)
    state = read_state(files.state) or {}
    status = {
        "running": holder is not None,
        "pid": holder.pid if holder else None,
        "service": _service_part(state, running=holder is not None),
        "jobs": list(state.get("jobs", {}).values()) if holder else [],
        "sources": [_source_json(source, config) for source in sources(store, config)],
        "outbox": store.outbox_backlog(),
        "queue": _queue_part(config),
    }
    if as_json:
        sys.stdout.write(orjson.dumps(status, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print(status, config)
    return EXIT_OK if holder else EXIT_NOT_RUNNING


def _service_part(state: dict[str, Any], *, running: bool) -> dict[str, Any]:
    keys = ("started_at", "stopped_at", "config", "config_loaded_at", "config_error")
    part = {key: state.get(key) for key in keys}
    part["status"] = state.get("status", "running") if running else "stopped"
    return part


def _queue_part(config: Config) -> dict[str, Any] | None:
    """The crawl queue's backlog in distributed mode (None otherwise): a growing ``pending`` means too few
    workers, a stuck ``in_flight`` dead ones (their items come back when a live worker next claims)."""
    if config.distributed is None:
        return None
    url = shown_url(config.distributed.redis.get_secret_value())
    try:
        with closing(open_queue(config)) as queue:
            backlog = queue.stats()
    except RedisUnavailable as error:  # its message names the URL and what to check; status shows the rest
        return {"redis": url, "error": str(error)}
    except RedisError as error:
        return {"redis": url, "error": f"Redis at {url} failed: {type(error).__name__}: {error}"}
    return {
        "redis": url,
        "pending": backlog.pending,
        "pending_by_platform": backlog.pending_by_platform,
        "in_flight": backlog.in_flight,
        "done": backlog.done,
    }


def _source_json(source: SourceStatus, config: Config) -> dict[str, Any]:
    latest = source.latest
    by_workers = config.distributed is not None and source.source in SEARCH_PLATFORMS
    return {
        "source": source.source,
        "enabled": source.enabled,
        "crawled_by": "crawl-workers" if by_workers else "service",
        "status": latest.status if latest else None,
        "last_run": latest.finished_at.isoformat() if latest else None,
        "last_success": source.last_success.isoformat() if source.last_success else None,
        "items": latest.items if latest else None,
        "error": latest.error if latest else None,
    }


def _print(status: dict[str, Any], config: Config) -> None:
    service = status["service"]
    zone = config.tzinfo
    if status["running"]:
        print(f"service   running, pid {status['pid']}, since {_local(service['started_at'], zone)}")
        if service.get("config_error"):
            print(f"  config  NOT reloaded, the previous one is in force: {service['config_error']}")
    else:
        stopped = f", stopped {_local(service['stopped_at'], zone)}" if service.get("stopped_at") else ""
        print(f"service   not running{stopped} — start it with: fengxiang run")
    for job in status["jobs"]:
        last = (
            f"{_local(job['last_finished'] or job['last_started'], zone)} {job['last_outcome']}"
            if job.get("last_started")
            else "not yet"
        )
        print(f"  job {job['id']:<18} {job['schedule']:<12} last {last:<22} next {_local(job['next_run'], zone)}")
        if job.get("last_summary") and job.get("last_outcome") not in ("ok", "running"):
            print(f"      {job['last_summary']}")
    for source in status["sources"]:
        state = "enabled" if source["enabled"] else "disabled"
        if source["crawled_by"] == "crawl-workers":
            state += " (crawl-workers: one term per run)"
        if source["status"] is None:
            print(f"source    {source['source']}: {state}, never crawled")
            continue
        print(
            f"source    {source['source']}: {state}, last run {_local(source['last_run'], zone)} {source['status']} "
            f"({source['items']} items), last success {_local(source['last_success'], zone)}"
        )
        if source["error"]:
            print(f"      {source['error']}")
    outbox = status["outbox"]
    print(
        f"outbox    {outbox.get('pending', 0)} waiting, {outbox.get('sending', 0)} sending, "
        f"{outbox.get('failed', 0)} failed, {outbox.get('sent', 0)} sent"
    )
    queue = status["queue"]
    if queue is not None and "error" in queue:
        print(f"queue     {queue['error']}")
    elif queue is not None:
        print(
            f"queue     {queue['redis']}: {queue['pending']:,} pending{_pending_split(queue['pending_by_platform'])}, "
            f"{queue['in_flight']:,} in flight, {queue['done']:,} done"
        )


def _pending_split(pending_by_platform: dict[str, int]) -> str:
    """`` (weibo 9, zhihu 3)`` when more than one platform waits: which workers are too few; else nothing."""
    waiting = [(platform, count) for platform, count in pending_by_platform.items() if count]
    if len(waiting) < 2:
        return ""
    return " (" + ", ".join(f"{platform} {count:,}" for platform, count in waiting) + ")"


def _local(stamp: str | None, zone: Any) -> str:
    if not stamp:
        return "—"
    return datetime.fromisoformat(stamp).astimezone(zone).strftime("%m-%d %H:%M:%S")
