"""Shared test helpers: a mention factory, a store fixture per backend, the sandbox's WeCom robot."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sandbox.robot import RobotReplica
from sandbox.server import SandboxServer
from store.elasticsearch import ElasticsearchStore
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.es_emulator import EsEmulator
from tests.es_recorder import EsRecorder

SHANGHAI = timezone(timedelta(hours=8))
_ids = itertools.count(5_230_000_000_000_000)


def make_mention(text: str = "蔚来的服务还不错", **fields: Any) -> Mention:
    """A valid Weibo-shaped mention; keyword arguments override any field."""
    data: dict[str, Any] = {
        "id": f"weibo:{next(_ids)}",
        "text": text,
        "created_at": datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI),
        "author": {"id": "weibo:1001", "name": "数码老王", "followers": 1200, "verified": False},
        "metrics": {"reposts": 1, "comments": 2, "likes": 3},
    }
    data.update(fields)
    return Mention.model_validate(data)


# A live cluster for the Elasticsearch backend's contract run. The tests delete its fengxiang-* indices:
# point it at a throwaway cluster only.
LIVE_ES_URL = os.environ.get("FENGXIANG_TEST_ES_URL")
NO_LIVE_ES = (
    "FENGXIANG_TEST_ES_URL is not set, so no live Elasticsearch ran this test "
    "(its es-emulator run used tests/es_emulator.py, a stand-in, not Elasticsearch)"
)


def _sqlite_store(request: pytest.FixtureRequest, folder: Path) -> Any:
    return SQLiteStore(folder / "store.db")


def _emulated_es_store(request: pytest.FixtureRequest, folder: Path) -> Any:
    emulator = EsEmulator().__enter__()  # a cluster of its own: a migration test opens two stores
    request.addfinalizer(lambda: emulator.__exit__(None, None, None))
    return ElasticsearchStore(emulator.url)


def _live_es_store(request: pytest.FixtureRequest, folder: Path) -> Any:
    if not LIVE_ES_URL:
        pytest.skip(NO_LIVE_ES)
    if getattr(request.node, "live_es_opened", False):
        pytest.skip("one live cluster cannot hold two stores at once (FENGXIANG_TEST_ES_URL names one)")
    request.node.live_es_opened = True
    with Elasticsearch(LIVE_ES_URL) as client:
        client.indices.delete(index="fengxiang-*", expand_wildcards="all", ignore_unavailable=True)
    return ElasticsearchStore(LIVE_ES_URL)


# Every backend the contract tests run against; a test module may take `open_backend` for its own stores.
BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Any]] = {
    "sqlite": _sqlite_store,
    "es-emulator": _emulated_es_store,
    "es-live": _live_es_store,
}


@pytest.fixture(params=list(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh, empty store of each backend: the contract tests run once per backend."""
    backend = BACKENDS[request.param](request, tmp_path)
    yield backend
    backend.close()


@pytest.fixture
def recorder() -> Iterator[EsRecorder]:
    """The recording Elasticsearch stand-in (tests/es_recorder.py) that pins request bodies."""
    with EsRecorder() as server:
        yield server


@pytest.fixture
def recorded_client(recorder: EsRecorder) -> Elasticsearch:
    return Elasticsearch(recorder.url)


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """`fengxiang run` run in-process points the root logger at the test's captured stderr, which pytest
    closes afterwards: later tests' log records would fail on it. Drop what the test added (pytest's own
    capture handlers come and go by themselves)."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in before and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(scope="module")
def robot() -> Iterator[RobotReplica]:
    """The sandbox's WeCom robot on loopback, taking the key "duty" (a module may define its own robot)."""
    replica = RobotReplica(keys={"duty"})
    with SandboxServer([replica]) as server:
        replica.bind(server.base_url)
        yield replica
