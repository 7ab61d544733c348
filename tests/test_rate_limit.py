"""The Redis token bucket: a burst, then the rate — shared by every process limiting the same platform."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest
import redis

from fengxiang.rate_limit import RateLimiter
from fengxiang.work_queue import connect_redis

pytest_plugins = ["tests.redis_server"]

FORK = multiprocessing.get_context("fork")


def test_a_burst_is_free_then_each_request_waits_its_turn(redis_client: redis.Redis) -> None:
    limiter = RateLimiter(redis_client, "weibo", rate_per_second=10, burst=3)
    assert [limiter.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.try_acquire()
    assert 0 < wait <= 0.1
    time.sleep(wait)
    assert limiter.try_acquire() == 0.0  # the token it waited for


def test_platforms_have_buckets_of_their_own(redis_client: redis.Redis) -> None:
    weibo = RateLimiter(redis_client, "weibo", rate_per_second=1, burst=1)
    bilibili = RateLimiter(redis_client, "bilibili", rate_per_second=1, burst=1)
    assert weibo.try_acquire() == 0.0
    assert weibo.try_acquire() > 0
    assert bilibili.try_acquire() == 0.0


def test_acquire_gives_up_at_its_timeout_without_sleeping_in_vain(redis_client: redis.Redis) -> None:
    limiter = RateLimiter(redis_client, "weibo", rate_per_second=0.5, burst=1)
    assert limiter.acquire(timeout=1) < 0.5
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"weibo: no request allowed within 0\.2 s"):
        limiter.acquire(timeout=0.2)
    assert time.monotonic() - started < 0.2  # the wait (2 s) was known to be too long: no sleep


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_a_rate_and_a_burst_must_be_positive(redis_client: redis.Redis, rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="weibo: the"):
        RateLimiter(redis_client, "weibo", rate_per_second=rate, burst=burst)


def acquire_many(url: str, count: int, rate: float, burst: int, times: Any, go: Any) -> None:
    """A worker process: take ``count`` tokens, reporting the moment each was granted."""
    limiter = RateLimiter(connect_redis(url), "weibo", rate_per_second=rate, burst=burst)
    go.wait()
    for _ in range(count):
        limiter.acquire(timeout=30)
        times.put(time.time())  # one machine: the processes share its clock


@pytest.mark.slow
def test_the_rate_holds_across_processes(redis_client: redis.Redis, redis_url: str) -> None:
    rate, burst, each = 20.0, 4, 20
    times, go = FORK.Queue(), FORK.Event()
    workers = [FORK.Process(target=acquire_many, args=(redis_url, each, rate, burst, times, go)) for _ in range(2)]
    for worker in workers:
        worker.start()
    go.set()
    granted = sorted(times.get(timeout=30) for _ in range(2 * each))
    for worker in workers:
        worker.join(timeout=10)
        assert worker.exitcode == 0

    # After the burst, the other 36 tokens come at 20 a second from one shared bucket: at least 1.8 s.
    # (Two separate buckets would let each process finish in (20 - 4) / 20 = 0.8 s.)
    assert granted[-1] - granted[0] >= (2 * each - burst) / rate - 0.1  # scheduling jitter
