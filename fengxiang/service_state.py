"""What the running service tells `fengxiang status`: its jobs, their schedules, last and next runs.

The scheduler keeps next-run times in memory only, so the service writes them (with each job's
last outcome) to a small JSON file whenever a job starts or ends. The write is atomic (temporary
file, rename): a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["JobState", "ServiceState", "read_state"]


@dataclass
class JobState:
    id: str
    schedule: str  # "every 15m", "daily 08:30"
    next_run: str | None = None
    last_started: str | None = None
    last_finished: str | None = None
    last_outcome: str | None = None  # ok | degraded | failed | error | running | missed
    last_summary: str | None = None  # "weibo: ok — 120 new …" or the error
    runs: int = 0
    failures: int = 0


@dataclass
class _Snapshot:
    pid: int
    started_at: str
    config: str
    status: str = "running"  # running | stopping | stopped
    stopped_at: str | None = None
    config_loaded_at: str | None = None
    config_error: str | None = None  # the last reload that failed (the old config stays in force)
    jobs: dict[str, JobState] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ServiceState:
    def __init__(self, path: Path, *, config: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        now = _now()
        self._snapshot = _Snapshot(pid=os.getpid(), started_at=now, config=str(config or ""), config_loaded_at=now)

    def schedule(self, jobs: dict[str, tuple[str, datetime | None]]) -> None:
        """The scheduler's jobs now: id → (schedule in words, next run). Jobs no longer scheduled go."""
        with self._lock:
            known = self._snapshot.jobs
            for job_id in set(known) - set(jobs):
                del known[job_id]
            for job_id, (schedule, next_run) in jobs.items():
                state = known.setdefault(job_id, JobState(id=job_id, schedule=schedule))
                state.schedule = schedule
                state.next_run = next_run.isoformat(timespec="seconds") if next_run else None
            self._write()

    def started(self, job_id: str) -> None:
        with self._lock:
            job = self._snapshot.jobs.setdefault(job_id, JobState(id=job_id, schedule="once"))
            job.last_started, job.last_outcome, job.last_summary = _now(), "running", None
            self._write()

    def finished(self, job_id: str, outcome: str, summary: str | None) -> None:
        with self._lock:
            job = self._snapshot.jobs.setdefault(job_id, JobState(id=job_id, schedule="once"))
            job.last_finished, job.last_outcome, job.last_summary = _now(), outcome, summary
            job.runs += 1
            job.failures += outcome in ("failed", "error")
            self._write()

    def runs(self, job_id: str) -> int:
        with self._lock:
            job = self._snapshot.jobs.get(job_id)
            return job.runs if job else 0

    def config_reloaded(self, error: str | None) -> None:
        with self._lock:
            if error is None:
                self._snapshot.config_loaded_at = _now()
            self._snapshot.config_error = error
            self._write()

    def set_status(self, status: str) -> None:
        with self._lock:
            self._snapshot.status = status
            if status == "stopped":
                self._snapshot.stopped_at = _now()
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        temporary.write_text(json.dumps(asdict(self._snapshot), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)


def read_state(path: Path) -> dict[str, Any] | None:
    """The last state a service wrote, or None when no service ever ran on this store."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # written by an older or foreign version: status then shows the store's side only
    return data
