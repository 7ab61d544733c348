"""Shared test helpers: a mention factory, a store fixture per backend, the sandbox's WeCom robot."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sandbox.robot import RobotReplica
from sandbox.server import SandboxServer
from store.model import Mention
from store.sqlite import SQLiteStore

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


# The Elasticsearch backend joins this table when FENGXIANG_TEST_ES_URL is set.
BACKENDS: dict[str, Callable[[Path], Any]] = {"sqlite": lambda folder: SQLiteStore(folder / "store.db")}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh, empty store of each backend: the contract tests run once per backend."""
    backend = BACKENDS[request.param](tmp_path)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def robot() -> Iterator[RobotReplica]:
    """The sandbox's WeCom robot on loopback, taking the key "duty" (a module may define its own robot)."""
    replica = RobotReplica(keys={"duty"})
    with SandboxServer([replica]) as server:
        replica.bind(server.base_url)
        yield replica
