"""The Redis work queue: de-duplication, leases, recovery, and worker processes that share it (or die)."""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis

from fengxiang.work_queue import RedisUnavailable, WorkItem, WorkQueue, connect_redis

if TYPE_CHECKING:  # imported by pytest as a plugin: importing it here first would keep pytest from rewriting it
    from tests.redis_server import RedisServer

pytest_plugins = ["tests.redis_server"]

# Worker processes run this module's functions: forking needs no re-import of the test module by name.
FORK = multiprocessing.get_context("fork")
LONG = 60.0  # a lease no test outlives
LATER = 3600.0  # seconds: recovering "an hour from now" expires every lease of these tests


def push_terms(queue: WorkQueue, count: int) -> list[str]:
    items = [WorkItem("weibo", f"品牌{number}") for number in range(count)]
    assert all(queue.push(item) for item in items)
    return [item.key for item in items]


def counts(queue: WorkQueue) -> tuple[int, int, int]:
    """Pending, in flight, done: over every platform."""
    stats = queue.stats()
    return stats.pending, stats.in_flight, stats.done


def redis_now(client: redis.Redis) -> float:
    seconds, microseconds = client.time()
    return seconds + microseconds / 1e6


# -- the items ------------------------------------------------------------------------------------------------


def test_an_item_is_known_by_platform_and_term_and_survives_json() -> None:
    item = WorkItem("weibo", "蔚来 ES8", datetime(2026, 11, 29, 8, 0, tzinfo=UTC))
    assert item.key == "weibo:蔚来 ES8"
    assert WorkItem.from_json(item.to_json()) == item
    assert WorkItem("weibo", "蔚来 ES8").key == item.key  # when it was queued is not part of the key


@pytest.mark.parametrize(("platform", "term"), [("", "蔚来"), ("weibo:cn", "蔚来"), ("weibo", "  ")])
def test_an_item_needs_a_platform_name_and_a_term(platform: str, term: str) -> None:
    with pytest.raises(ValueError, match="work item"):
        WorkItem(platform, term)


# -- one process ----------------------------------------------------------------------------------------------


def test_a_key_already_pending_or_in_flight_is_refused(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    assert queue.push(WorkItem("weibo", "蔚来"))
    assert not queue.push(WorkItem("weibo", "蔚来"))  # pending
    assert queue.push(WorkItem("bilibili", "蔚来"))  # another platform's term is other work
    assert counts(queue) == (2, 0, 0)

    claim = queue.claim("worker-1", lease=LONG, timeout=0, platforms=["weibo"])
    assert claim is not None
    assert not queue.push(WorkItem("weibo", "蔚来"))  # in flight
    assert queue.done(claim)
    assert queue.push(WorkItem("weibo", "蔚来"))  # finished: it may be queued again
    assert counts(queue) == (2, 0, 1)


def test_items_are_claimed_oldest_first_and_once(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    keys = push_terms(queue, 3)
    claims = [queue.claim("worker-1", lease=LONG, timeout=0) for _ in keys]
    assert [claim.item.key for claim in claims if claim] == keys
    assert queue.claim("worker-1", lease=LONG, timeout=0) is None
    with pytest.raises(ValueError, match="positive number of seconds"):
        queue.claim("worker-1", lease=0, timeout=0)
    assert counts(queue) == (0, 3, 0)


def test_claim_waits_for_an_item_up_to_its_timeout(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    started = time.monotonic()
    assert queue.claim("worker-1", lease=LONG, timeout=0.3) is None
    assert time.monotonic() - started >= 0.3

    late_push = threading.Timer(0.3, queue.push, [WorkItem("weibo", "蔚来")])
    late_push.start()
    claim = queue.claim("worker-1", lease=LONG, timeout=10)
    late_push.join()
    assert claim is not None and claim.item.key == "weibo:蔚来"


def test_an_expired_lease_puts_the_item_back_at_the_front(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    first, _ = push_terms(queue, 2)
    claim = queue.claim("worker-1", lease=0.3, timeout=0)
    assert claim is not None
    assert queue.recover_expired() == 0  # the lease still runs
    time.sleep(0.5)
    assert queue.recover_expired() == 1
    assert counts(queue) == (2, 0, 0)
    again = queue.claim("worker-2", lease=LONG, timeout=0)
    assert again is not None and again.item.key == first


def test_a_heartbeat_extends_the_lease(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    push_terms(queue, 1)
    claim = queue.claim("worker-1", lease=10, timeout=0)
    assert claim is not None
    assert queue.extend(claim, lease=100)
    now = redis_now(redis_client)
    assert queue.recover_expired(now=now + 50) == 0  # past the first lease, within the extended one
    assert queue.recover_expired(now=now + 150) == 1


def test_a_recovered_claim_can_neither_be_extended_nor_acknowledged(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    push_terms(queue, 1)
    lost = queue.claim("worker-1", lease=LONG, timeout=0)
    assert lost is not None
    assert queue.recover_expired(now=redis_now(redis_client) + LATER) == 1

    assert not queue.extend(lost, lease=LONG)
    assert not queue.done(lost)  # the item is pending again: it stays pending
    assert counts(queue) == (1, 0, 0)

    current = queue.claim("worker-2", lease=LONG, timeout=0)
    assert current is not None and current.item == lost.item
    assert not queue.done(lost)  # now another worker holds it: its claim stays
    assert not queue.extend(lost, lease=LONG)
    assert counts(queue) == (0, 1, 0)
    assert queue.recover_expired(now=redis_now(redis_client) + LONG / 2) == 0  # and so does its lease

    assert queue.done(current)
    assert counts(queue) == (0, 0, 1)


def test_recovery_run_concurrently_requeues_each_item_once(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    keys = push_terms(queue, 50)
    while queue.claim("worker-1", lease=LONG, timeout=0):
        pass
    later = redis_now(redis_client) + LATER
    with ThreadPoolExecutor(4) as pool:
        recovered = list(pool.map(lambda _: queue.recover_expired(now=later), range(4)))
    assert sum(recovered) == 50
    reclaimed = []
    while claim := queue.claim("worker-2", lease=LONG, timeout=0):
        reclaimed.append(claim.item.key)
    assert sorted(reclaimed) == sorted(keys)


# -- platforms ------------------------------------------------------------------------------------------------


def push_platform(queue: WorkQueue, platform: str, count: int) -> list[str]:
    items = [WorkItem(platform, f"品牌{number}") for number in range(count)]
    assert all(queue.push(item) for item in items)
    return [item.key for item in items]


def claim_all(queue: WorkQueue, platforms: list[str], limit: int = 1000) -> list[str]:
    keys = []
    while len(keys) < limit and (claim := queue.claim("worker-1", lease=LONG, timeout=0, platforms=platforms)):
        keys.append(claim.item.key)
    return keys


def test_a_worker_serving_one_platform_never_claims_anothers(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    weibo = push_platform(queue, "weibo", 3)
    bilibili = push_platform(queue, "bilibili", 2)
    assert claim_all(queue, ["weibo"]) == weibo  # oldest first, and none of bilibili's
    stats = queue.stats()
    assert stats.pending_by_platform == {"bilibili": 2, "weibo": 0, "xiaohongshu": 0, "zhihu": 0}
    assert stats.in_flight_by_platform == {"weibo": 3}
    assert (stats.pending, stats.in_flight, stats.done) == (2, 3, 0)
    assert stats.has_work(["bilibili"]) and stats.has_work(["weibo"]) and not stats.has_work(["zhihu"])
    assert claim_all(queue, ["bilibili"]) == bilibili


def test_a_platform_the_queue_does_not_hold_is_refused(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    with pytest.raises(ValueError, match="news: the queue 'crawl' holds bilibili, weibo, xiaohongshu, zhihu"):
        queue.push(WorkItem("news", "蔚来"))  # no worker would ever claim it
    with pytest.raises(ValueError, match="news: the queue"):
        queue.claim("worker-1", lease=LONG, timeout=0, platforms=["weibo", "news"])
    with pytest.raises(ValueError, match="no platform: the queue"):
        queue.claim("worker-1", lease=LONG, timeout=0, platforms=[])


def test_a_worker_serving_several_platforms_takes_them_in_turn(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    weibo = push_platform(queue, "weibo", 40)  # queued first, and the longest list: it must not starve the others
    bilibili = push_platform(queue, "bilibili", 40)
    zhihu = push_platform(queue, "zhihu", 3)
    claimed = claim_all(queue, ["weibo", "bilibili", "zhihu"], limit=30)
    assert claimed[:9] == [key for turn in zip(weibo, bilibili, zhihu, strict=False) for key in turn]
    # zhihu is empty now: its turn goes to the next platform with work, and weibo and bilibili alternate.
    assert claimed[9:] == [key for turn in zip(weibo[3:], bilibili[3:], strict=False) for key in turn][:21]
    rest = claim_all(queue, ["weibo", "bilibili", "zhihu"])
    assert sorted(claimed + rest) == sorted(weibo + bilibili + zhihu)  # each once


def test_recovery_returns_an_item_to_the_front_of_its_own_platforms_list(redis_client: redis.Redis) -> None:
    queue = WorkQueue(redis_client)
    weibo = push_platform(queue, "weibo", 3)
    bilibili = push_platform(queue, "bilibili", 3)
    assert claim_all(queue, ["weibo"], limit=1) == weibo[:1]
    assert claim_all(queue, ["bilibili"], limit=1) == bilibili[:1]
    assert queue.recover_expired(now=redis_now(redis_client) + LATER) == 2

    def pending(platform: str) -> list[str]:
        return redis_client.lrange(f"fengxiang:queue:{{crawl}}:pending:{platform}", 0, -1)  # type: ignore[return-value]

    assert pending("weibo") == weibo and pending("bilibili") == bilibili  # each at the front of its own list
    assert queue.stats().pending_by_platform == {"bilibili": 3, "weibo": 3, "xiaohongshu": 0, "zhihu": 0}


def test_an_unreachable_redis_is_named_without_its_password(unused_port: int) -> None:
    url = f"redis://fengxiang:s3cret-pw@127.0.0.1:{unused_port}/0"
    with pytest.raises(RedisUnavailable, match="is redis-server running") as raised:
        connect_redis(url)
    assert f"redis://127.0.0.1:{unused_port}/0" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value) and raised.value.__cause__ is None


def test_wrong_credentials_are_named_without_the_password(start_redis: Callable[..., RedisServer]) -> None:
    server = start_redis("--requirepass", "the-right-one")
    with pytest.raises(RedisUnavailable, match="refused the credentials") as raised:
        connect_redis(server.url.replace("redis://", "redis://:s3cret-pw@"))
    assert server.url in str(raised.value) and "s3cret-pw" not in str(raised.value)


def test_a_url_that_is_not_redis_is_refused_without_its_password() -> None:
    with pytest.raises(RedisUnavailable, match="not a Redis URL") as raised:
        connect_redis("http://fengxiang:s3cret-pw@127.0.0.1:6379/0")
    assert "s3cret-pw" not in str(raised.value)


# -- worker processes -----------------------------------------------------------------------------------------


def drain(url: str, worker: str, record: Path, go: Any, platforms: list[str] | None = None) -> None:
    """A worker process: claim, "crawl", acknowledge and record each item of ``platforms`` (default: all),
    until no work of theirs is left anywhere.

    Only acknowledged items are recorded: the record shows what the queue counted as done, and by whom.
    """
    queue = WorkQueue(connect_redis(url))
    serving = platforms or list(queue.platforms)
    go.wait()
    with record.open("a", encoding="utf-8") as out:
        while True:
            claim = queue.claim(worker, lease=LONG, timeout=0.2, platforms=serving)
            if claim is None:
                queue.recover_expired()  # what a worker does while idle: pick up the dead's work
                if not queue.stats().has_work(serving):
                    return
                continue
            time.sleep(0.002)  # the crawl: long enough for the workers to interleave
            if queue.done(claim):
                print(claim.item.key, file=out, flush=True)


def claim_and_hang(url: str, count: int, lease: float, holding: Any) -> None:
    """A worker process that claims ``count`` items and then hangs, like a crawl stuck on a dead connection."""
    queue = WorkQueue(connect_redis(url))
    for _ in range(count):
        assert queue.claim("doomed", lease=lease, timeout=5) is not None
    holding.set()
    time.sleep(600)


def run_drainers(url: str, records: dict[str, Path], platforms: dict[str, list[str]] | None = None) -> None:
    """Worker processes named as ``records``' keys, each serving its ``platforms`` (default: all)."""
    go = FORK.Event()
    serving = platforms or {}
    workers = [
        FORK.Process(target=drain, args=(url, name, record, go, serving.get(name))) for name, record in records.items()
    ]
    for worker in workers:
        worker.start()
    go.set()  # both started: now they compete for the items
    for worker in workers:
        worker.join(timeout=30)
        if worker.is_alive():
            worker.kill()
        assert worker.exitcode == 0, f"{worker.name} ended with {worker.exitcode}"


def recorded(record: Path) -> list[str]:
    return record.read_text(encoding="utf-8").splitlines()


def test_two_worker_processes_do_every_item_exactly_once(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    queue = WorkQueue(redis_client)
    keys = push_terms(queue, 200)
    records = {name: tmp_path / f"{name}.txt" for name in ("worker-1", "worker-2")}
    run_drainers(redis_url, records)

    done_by = {name: recorded(record) for name, record in records.items()}
    assert Counter(key for keys_done in done_by.values() for key in keys_done) == Counter(keys)
    assert all(done_by.values()), "both workers should have had a share of the work"
    assert counts(queue) == (0, 0, 200)


@pytest.mark.slow
def test_a_killed_workers_items_are_recovered_after_its_lease_and_done_once(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    queue = WorkQueue(redis_client)
    keys = push_terms(queue, 20)
    holding = FORK.Event()
    doomed = FORK.Process(target=claim_and_hang, args=(redis_url, 3, 3.0, holding))
    doomed.start()
    assert holding.wait(timeout=10), "the doomed worker did not claim its items"
    doomed.kill()
    doomed.join()
    assert doomed.exitcode == -signal.SIGKILL
    assert counts(queue) == (17, 3, 0)
    assert queue.recover_expired() == 0  # its lease still runs: nobody else may take its items yet

    survivor = tmp_path / "survivor.txt"
    run_drainers(redis_url, {"survivor": survivor})  # it recovers the dead worker's items once their lease ends

    assert Counter(recorded(survivor)) == Counter(keys)
    assert counts(queue) == (0, 0, 20)


def test_workers_serving_different_platforms_share_the_queue_and_keep_to_their_platforms(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    queue = WorkQueue(redis_client)
    weibo, bilibili = push_platform(queue, "weibo", 100), push_platform(queue, "bilibili", 100)
    platforms = {"weibo-only": ["weibo"], "bilibili-only": ["bilibili"], "both": ["weibo", "bilibili"]}
    records = {name: tmp_path / f"{name}.txt" for name in platforms}
    run_drainers(redis_url, records, platforms)

    done_by = {name: recorded(record) for name, record in records.items()}
    assert Counter(key for keys_done in done_by.values() for key in keys_done) == Counter(weibo + bilibili)
    assert done_by["weibo-only"] and all(key.startswith("weibo:") for key in done_by["weibo-only"])
    assert done_by["bilibili-only"] and all(key.startswith("bilibili:") for key in done_by["bilibili-only"])
    assert counts(queue) == (0, 0, 200)
