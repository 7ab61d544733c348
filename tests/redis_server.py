"""A real, throwaway ``redis-server`` for tests: loopback, a free port, nothing persisted.

Test modules use it with ``pytest_plugins = ["tests.redis_server"]`` and ask for ``redis_url`` (one
server per module), ``redis_client`` (an emptied database per test), ``start_redis`` (servers with
options of their own) or ``unused_port``. The tests skip when
``redis-server`` is not installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis

from fengxiang.work_queue import connect_redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
_START_TIMEOUT = 10.0  # seconds for the server to answer PING


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """``with RedisServer(folder) as server:`` a running server at ``server.url``, stopped on exit.

    ``options`` go to redis-server's command line, e.g. ``("--requirepass", "secret")``.
    """

    def __init__(self, folder: Path, *options: str) -> None:
        self.folder = folder
        self.options = options
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._log = folder / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisServer:
        command = [
            REDIS_SERVER,
            *("--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder)),
            *("--save", "", "--appendonly", "no"),  # no persistence: nothing written, nothing loaded
            *self.options,
        ]
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            self._wait_for_ping()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _wait_for_ping(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"redis-server exited at start:\n{self._log.read_text(errors='replace')}")
                try:
                    client.ping()
                    return
                except redis.AuthenticationError:
                    return  # it answers: it wants the password it was started with
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer PING within {_START_TIMEOUT} s")
                time.sleep(0.05)
        finally:
            client.close()


def _skip_without_redis_server() -> None:
    if not Path(REDIS_SERVER).exists():
        pytest.skip(f"redis-server is not installed at {REDIS_SERVER} (Debian: apt-get install redis-server)")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _skip_without_redis_server()
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def start_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RedisServer]]:
    """Starts another server with options of its own: ``start_redis("--requirepass", "x")``; stopped after the test."""
    _skip_without_redis_server()
    with ExitStack() as servers:
        yield lambda *options: servers.enter_context(RedisServer(tmp_path_factory.mktemp("redis"), *options))


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on: where a Redis is not."""
    return free_port()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = connect_redis(redis_url)
    client.flushdb()  # each test starts from an empty database
    yield client
    client.close()
