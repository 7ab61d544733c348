"""A per-platform rate limit that holds across every process and machine crawling that platform.

A token bucket kept in Redis under ``fengxiang:rate:<platform>`` (a HASH: ``tokens``, and ``at``, the
Redis time they were counted at). The bucket holds up to ``burst`` tokens and refills at
``rate_per_second``; each request takes one. One Lua script refills by the time elapsed and takes a
token, or says how long until one is there — atomically, and timed by Redis' own clock (``TIME``), so
workers whose clocks disagree still share one rate. An idle bucket expires once it would be full
again: a missing bucket is a full one.

Waiting is the caller's: :meth:`RateLimiter.acquire` sleeps (synchronous code);
:meth:`RateLimiter.try_acquire` returns the wait, for asyncio or Twisted to sleep on without blocking.
A wait is not a reservation — after it the caller asks again, and may have to wait again when another
worker took the token first; the rate holds either way.
"""

from __future__ import annotations

import time

import redis

__all__ = ["RateLimiter"]

# KEYS: the bucket. ARGV: rate per second, burst. Returns 0 (a token taken) or the seconds until one is
# there, as a string: Redis would truncate a Lua number in a reply to an integer.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RateLimiter:
    """At most ``burst`` requests at once, then ``rate_per_second``, to ``platform`` from all workers together."""

    def __init__(self, client: redis.Redis, platform: str, rate_per_second: float, burst: int = 1) -> None:
        if rate_per_second <= 0:
            raise ValueError(f"{platform}: the rate must be positive, not {rate_per_second}")
        if burst < 1:
            raise ValueError(f"{platform}: the burst must be at least 1 request, not {burst}")
        self.platform = platform
        self.rate_per_second = rate_per_second
        self.burst = burst
        self._key = f"fengxiang:rate:{platform}"
        self._take = client.register_script(_TAKE)

    def try_acquire(self) -> float:
        """Take a token: 0.0 if one was there, otherwise the seconds to wait before asking again."""
        return float(self._take(keys=[self._key], args=[self.rate_per_second, self.burst]))

    def acquire(self, timeout: float | None = None) -> float:
        """Wait for a token and take it; the seconds waited. TimeoutError if none comes within ``timeout``."""
        started = time.monotonic()
        while True:
            wait = self.try_acquire()
            waited = time.monotonic() - started
            if wait == 0:
                return waited
            if timeout is not None and waited + wait > timeout:
                raise TimeoutError(
                    f"{self.platform}: no request allowed within {timeout} s at {self.rate_per_second}/s "
                    "shared by all workers — raise the timeout or the platform's rate"
                )
            time.sleep(wait)
