"""One service per store: an advisory lock on a file beside the store, naming who holds it.

Two services on one store would crawl everything twice and, worse, both drain the alert outbox
(the sender assumes it is alone: see alerts/sender.py). ``flock`` is released by the kernel when
the holder dies, however it dies, so a killed service never leaves a stale lock behind; the file
itself stays and only says who held it last.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from fengxiang.config import Config, SqliteLocation

__all__ = ["LockHolder", "ServiceAlreadyRunning", "ServiceLock", "lock_holder", "service_files"]


class ServiceAlreadyRunning(Exception):
    """Another service holds the store's lock; the message names it and what to do."""


@dataclass(frozen=True)
class LockHolder:
    pid: int
    started_at: str
    config: str


@dataclass(frozen=True)
class ServiceFiles:
    lock: Path  # held while a service runs
    state: Path  # the running service's jobs, last and next runs, for `fengxiang status`


def service_files(config: Config) -> ServiceFiles:
    """Beside a SQLite store (so two configs naming one store share one lock); otherwise under data/."""
    location = config.store_location()
    if isinstance(location, SqliteLocation):
        base = location.path.with_name(location.path.name + ".service")
    else:  # Elasticsearch: one service per config folder (several machines: see the README's scaling notes)
        base_dir = config.config_file.parent if config.config_file else Path.cwd()
        base = base_dir / "data" / "service"
    return ServiceFiles(lock=base.with_name(base.name + ".lock"), state=base.with_name(base.name + ".json"))


class ServiceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self, config_file: Path | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ServiceAlreadyRunning(_refusal(self.path)) from None
        handle.seek(0)
        handle.truncate()
        holder = {"pid": os.getpid(), "started_at": datetime.now(UTC).isoformat(), "config": str(config_file or "")}
        handle.write(json.dumps(holder))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> ServiceLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def lock_holder(path: Path) -> LockHolder | None:
    """Who runs the service on this store now, or None when nobody does."""
    try:
        handle = path.open("r", encoding="utf-8")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(path)
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _read_holder(path: Path) -> LockHolder:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        data = {}
    return LockHolder(
        pid=int(data.get("pid", 0)), started_at=str(data.get("started_at", "?")), config=data.get("config", "")
    )


def _refusal(path: Path) -> str:
    holder = _read_holder(path)
    return (
        f"another `fengxiang run` (pid {holder.pid}, started {holder.started_at[:19]}, config {holder.config or '?'}) "
        f"already serves this store (lock {path}) — two would crawl twice and double alerts. "
        f"Use `fengxiang status` to see it, or stop it first: kill -TERM {holder.pid}"
    )
