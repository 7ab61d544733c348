"""A reliable work queue on Redis: crawl work shared by any number of worker processes on any machines.

The unit of work is one search term of one platform (a :class:`WorkItem`). The queue guarantees:

* **no duplicates** — an item whose key (platform + term) is already pending or being worked on is
  refused by :meth:`WorkQueue.push`, so each term's incremental cursor has one writer at a time;
* **nothing lost** — :meth:`WorkQueue.claim` moves an item from "pending" to "in flight" with a lease
  deadline in one step, so there is no moment at which a dying worker holds an item nobody knows of;
  items whose lease ran out (the worker was killed, hung, lost its network) go back to the front of
  their platform's pending list with :meth:`WorkQueue.recover_expired`, which any worker or the
  scheduler may call;
* **one acknowledgement** — every claim carries a random token; :meth:`WorkQueue.done` and
  :meth:`WorkQueue.extend` act only while that token still holds the item, so a worker that comes
  back after its item was recovered (and perhaps claimed by another worker) changes nothing.

Each platform has a pending list of its own, so a worker can claim only the platforms it serves
(``crawl-worker --platforms weibo``: a machine without Chromium, or with its own Weibo login). Within a
platform items are claimed oldest first. A worker serving several platforms takes them in turn: each
claim looks first at the platform after the one that worker (its WorkQueue) last claimed from (round
robin), so a long list never starves a short one, and an idle platform costs no turn.

Redis keys, for a queue named ``crawl`` (the ``{crawl}`` hash tag keeps them in one Redis Cluster slot,
which scripts touching several keys need):

* ``fengxiang:queue:{crawl}:pending:<platform>`` LIST of that platform's item keys waiting, oldest first
  (one per platform the queue knows, :data:`crawlers.registry.SEARCH_PLATFORMS`: no SCAN needed)
* ``fengxiang:queue:{crawl}:items``     HASH item key → item JSON, for every item pending or in flight
                                        (so "is this key queued?" is one HSETNX)
* ``fengxiang:queue:{crawl}:in_flight`` ZSET item key, scored by its lease deadline (Redis' clock)
* ``fengxiang:queue:{crawl}:claims``    HASH item key → the token of the claim holding it
* ``fengxiang:queue:{crawl}:done``      STRING count of items acknowledged since the queue began

An item key is ``<platform>:<term>`` (a platform never contains ``:``), so a script that finds a key
in flight knows which platform's list it goes back to.

Every change is one Lua script: Redis runs a script without interleaving any other command, so each
step is atomic without the retry loops MULTI/WATCH needs under contention, and it costs one round
trip. Lease deadlines use Redis' own clock (``TIME``), so workers whose clocks disagree still agree
on when a lease ran out. Scripts that write after reading ``TIME`` need Redis 5 or later.

Claiming polls (a script cannot block, and a blocking ``BLMOVE`` into a processing list followed by a
separate lease step would leave a window in which a killed worker's item sits in no lease at all):
an idle worker tries every :data:`POLL_INTERVAL` seconds, nothing next to crawls that take minutes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

from crawlers.registry import SEARCH_PLATFORMS

__all__ = [
    "POLL_INTERVAL",
    "SOCKET_TIMEOUT",
    "Claim",
    "QueueStats",
    "RedisUnavailable",
    "WorkItem",
    "WorkQueue",
    "connect_redis",
    "shown_url",
]

POLL_INTERVAL = 0.1  # seconds between an idle worker's claims: 10 idle workers cost Redis 100 tiny calls a second
# Every call here is one short script (claims poll, nothing blocks in Redis), so a Redis that has not
# answered within this many seconds is gone: the call fails instead of hanging a worker or the service's
# job forever. The URL's own ?socket_timeout= / ?socket_connect_timeout= win.
SOCKET_TIMEOUT = 10.0


class RedisUnavailable(ConnectionError):
    """Redis cannot be used: not reachable, or it refused the URL's credentials."""


def shown_url(url: str) -> str:
    """The URL without credentials or options (where a password may hide), fit for messages and logs."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def connect_redis(url: str) -> redis.Redis:
    """A client for ``url`` (``redis://[[user]:password@]host:port/db``), checked with a PING."""
    try:
        client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )
        client.ping()
    except ValueError as error:  # redis-py's message names the accepted schemes, never the URL
        raise RedisUnavailable(f"not a Redis URL: {shown_url(url)} — {error}") from None
    except redis.AuthenticationError:
        raise RedisUnavailable(
            f"Redis at {shown_url(url)} refused the credentials: check the user and password in the URL"
        ) from None
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise RedisUnavailable(
            f"cannot reach Redis at {shown_url(url)} ({error}) — is redis-server running, and is the URL right?"
        ) from None
    return client


@dataclass(frozen=True)
class WorkItem:
    """One search term of one platform, to be crawled by whichever worker claims it."""

    platform: str
    term: str
    enqueued_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        # The key joins the two with ':', so a platform containing one would make keys ambiguous.
        if not self.platform or ":" in self.platform:
            raise ValueError(f"a work item's platform must be a platform name like 'weibo', not {self.platform!r}")
        if not self.term.strip():
            raise ValueError("a work item's search term is empty")

    @property
    def key(self) -> str:
        """What makes two items the same work: the platform and the term (not when it was queued)."""
        return f"{self.platform}:{self.term}"

    def to_json(self) -> str:
        return json.dumps(
            {"platform": self.platform, "term": self.term, "enqueued_at": self.enqueued_at.isoformat()},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkItem:
        data = json.loads(text)
        return cls(data["platform"], data["term"], datetime.fromisoformat(data["enqueued_at"]))


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one item: valid until :meth:`WorkQueue.done`, or until its lease is recovered."""

    item: WorkItem
    worker: str
    token: str  # tells this claim from a later claim of the same item


@dataclass(frozen=True)
class QueueStats:
    pending_by_platform: dict[str, int]  # every platform of the queue, 0 included
    in_flight_by_platform: dict[str, int]  # only the platforms with an item in flight
    done: int  # acknowledged since the queue began

    @property
    def pending(self) -> int:
        return sum(self.pending_by_platform.values())

    @property
    def in_flight(self) -> int:
        return sum(self.in_flight_by_platform.values())

    def has_work(self, platforms: Iterable[str]) -> bool:
        """Whether an item of ``platforms`` is pending, or in flight (it comes back if its worker dies)."""
        return any(self.pending_by_platform.get(name) or self.in_flight_by_platform.get(name) for name in platforms)


# Redis' clock in seconds, as a float: the one clock every worker shares.
_SERVER_NOW = """
local function server_now()
  local time = redis.call('TIME')
  return tonumber(time[1]) + tonumber(time[2]) / 1000000
end
"""

# KEYS: items, pending. ARGV: item key, item JSON. Returns 1 if queued, 0 if the key is already queued.
_PUSH = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
"""

# KEYS: in_flight, claims, items, then the pending lists to try, in turn order. ARGV: token, lease seconds.
# Returns {key, item JSON} from the first list that has an item, or nil when all are empty.
_CLAIM = (
    _SERVER_NOW
    + """
for i = 4, #KEYS do
  local key = redis.call('LPOP', KEYS[i])
  if key then
    redis.call('ZADD', KEYS[1], server_now() + tonumber(ARGV[2]), key)
    redis.call('HSET', KEYS[2], key, ARGV[1])
    return {key, redis.call('HGET', KEYS[3], key)}
  end
end
return false
"""
)

# KEYS: in_flight, claims. ARGV: item key, token, lease seconds. Returns 1, or 0 if the claim was lost.
_EXTEND = (
    _SERVER_NOW
    + """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('ZADD', KEYS[1], server_now() + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

# KEYS: in_flight, claims, items, done. ARGV: item key, token. Returns 1, or 0 if the claim was lost.
_ACKNOWLEDGE = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('INCR', KEYS[4])
return 1
"""

# KEYS: in_flight, claims, then every platform's pending list. ARGV: now (Redis-clock seconds, or '' for
# Redis' TIME), then the platforms of those lists in the same order. Returns how many items went back.
_RECOVER = (
    _SERVER_NOW
    + """
local now = tonumber(ARGV[1]) or server_now()
local pending = {}
for i = 3, #KEYS do
  pending[ARGV[i - 1]] = KEYS[i]
end
local recovered = 0
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  local list = pending[string.match(key, '^[^:]+')]
  -- A platform this queue does not know (pushed by a queue with other platforms) stays in flight: not lost.
  if list then
    redis.call('ZREM', KEYS[1], key)
    redis.call('HDEL', KEYS[2], key)
    redis.call('LPUSH', list, key)  -- to the front of its platform's list: these items have waited longest
    recovered = recovered + 1
  end
end
return recovered
"""
)


class WorkQueue:
    """The queue named ``name`` in the Redis that ``client`` talks to (see :func:`connect_redis`).

    It holds items of ``platforms`` (by default every search platform), one pending list each.
    """

    def __init__(self, client: redis.Redis, name: str = "crawl", platforms: Iterable[str] = SEARCH_PLATFORMS) -> None:
        self.name = name
        self.platforms = tuple(sorted(platforms))
        prefix = f"fengxiang:queue:{{{name}}}:"
        self._pending = {platform: f"{prefix}pending:{platform}" for platform in self.platforms}
        self._items = prefix + "items"
        self._in_flight = prefix + "in_flight"
        self._claims = prefix + "claims"
        self._done = prefix + "done"
        self._last_claimed: str | None = None  # the platform this object claimed from last: whose turn is next
        self._redis = client
        self._push = client.register_script(_PUSH)
        self._claim = client.register_script(_CLAIM)
        self._extend = client.register_script(_EXTEND)
        self._acknowledge = client.register_script(_ACKNOWLEDGE)
        self._recover = client.register_script(_RECOVER)

    def push(self, item: WorkItem) -> bool:
        """Queue ``item``; False (and nothing changes) if its key is already pending or in flight."""
        self._known([item.platform])  # an item of a platform without a list here would never be claimed
        return self._push(keys=[self._items, self._pending[item.platform]], args=[item.key, item.to_json()]) == 1

    def claim(self, worker: str, lease: float, timeout: float, platforms: Sequence[str] | None = None) -> Claim | None:
        """An item of ``platforms`` (default: all the queue's), held by ``worker`` for ``lease`` seconds; None if
        none came within ``timeout``.

        Each platform's oldest item first; the platforms in turn (the module docstring says how).
        """
        _check_lease(lease)
        serving = self._known(self.platforms if platforms is None else platforms)
        deadline = time.monotonic() + timeout
        while True:
            claim = self._try_claim(worker, lease, self._in_turn(serving))
            remaining = deadline - time.monotonic()
            if claim is not None or remaining <= 0:
                return claim
            time.sleep(min(POLL_INTERVAL, remaining))

    def extend(self, claim: Claim, lease: float) -> bool:
        """Heartbeat: the lease ends ``lease`` seconds from now; False if the item was recovered: stop work on it."""
        _check_lease(lease)
        keys = [self._in_flight, self._claims]
        return self._extend(keys=keys, args=[claim.item.key, claim.token, lease]) == 1

    def done(self, claim: Claim) -> bool:
        """Acknowledge: the item leaves the queue; False if the item was recovered, when nothing changes."""
        keys = [self._in_flight, self._claims, self._items, self._done]
        return self._acknowledge(keys=keys, args=[claim.item.key, claim.token]) == 1

    def recover_expired(self, now: float | None = None) -> int:
        """Put items whose lease ran out back at the front of their platform's list; how many.

        ``now`` is a time on Redis' clock (Unix seconds); by default Redis' current time.
        """
        keys = [self._in_flight, self._claims, *self._pending.values()]
        return int(self._recover(keys=keys, args=["" if now is None else now, *self._pending]))

    def stats(self) -> QueueStats:
        with self._redis.pipeline() as pipe:  # MULTI/EXEC: the numbers of one moment
            for key in self._pending.values():
                pipe.llen(key)
            pipe.zrange(self._in_flight, 0, -1)  # one item per busy worker: short
            pipe.get(self._done)
            *pending, in_flight, done = pipe.execute()
        # An item key starts with its platform and a ':' (WorkItem.key).
        in_flight_by_platform = Counter(key.partition(":")[0] for key in in_flight)
        return QueueStats(
            pending_by_platform=dict(zip(self._pending, pending, strict=True)),
            in_flight_by_platform=dict(in_flight_by_platform),
            done=int(done or 0),
        )

    def close(self) -> None:
        """Let go of the Redis connections (a long-running caller that opens a queue per use)."""
        self._redis.close()

    def _known(self, platforms: Sequence[str]) -> tuple[str, ...]:
        """``platforms`` once each, checked: a platform without a list here would be pushed or polled in vain."""
        unknown = [platform for platform in platforms if platform not in self._pending]
        if unknown or not platforms:
            raise ValueError(
                f"{', '.join(unknown) or 'no platform'}: the queue {self.name!r} holds {', '.join(self.platforms)}"
            )
        return tuple(dict.fromkeys(platforms))

    def _in_turn(self, platforms: tuple[str, ...]) -> tuple[str, ...]:
        """``platforms`` starting after the one last claimed from: round robin, so none starves."""
        if self._last_claimed not in platforms:
            return platforms
        start = platforms.index(self._last_claimed) + 1
        return platforms[start:] + platforms[:start]

    def _try_claim(self, worker: str, lease: float, platforms: tuple[str, ...]) -> Claim | None:
        # The worker's name in the token shows in the claims hash who holds what.
        token = f"{worker}/{uuid.uuid4().hex}"
        keys = [self._in_flight, self._claims, self._items, *(self._pending[platform] for platform in platforms)]
        found: Any = self._claim(keys=keys, args=[token, lease])
        if found is None:
            return None
        claim = Claim(WorkItem.from_json(found[1]), worker, token)
        self._last_claimed = claim.item.platform
        return claim


def _check_lease(lease: float) -> None:
    # A lease of 0 or less would be expired the moment it is granted: another worker could take the item.
    if lease <= 0:
        raise ValueError(f"a lease must be a positive number of seconds, not {lease}")
