"""``fengxiang run``: the 24×7 service — APScheduler 3.x in one process, wiring the parts together.

Jobs (each ``max_instances=1`` and coalescing: a run still going when the next is due is not
doubled, and runs missed while the machine slept become one run, if no later than
``service.misfire_grace``):

* ``crawl:<source>`` every ``sources.<source>.interval`` — a ``scrapy crawl`` subprocess with a time
  limit (fengxiang/crawl.py), so a hung or crashed crawl never takes the service with it; with a
  ``distributed:`` section, a search platform's job queues its terms for ``fengxiang crawl-worker``
  processes instead (:func:`enqueue_source`);
* ``alerts`` every ``service.alerts_interval`` — the rules over the store, incidents into the outbox;
* ``send`` every ``service.send_interval`` — the outbox drained into the channels;
* ``report`` daily at ``report.time`` — yesterday's 舆情日报 written to ``report.folder`` and, with
  ``report.send``, queued for the channels;
* ``retention`` nightly — records older than ``retention.*`` deleted;
* ``config`` every ``service.config_check_interval`` — the config file re-read when it changed (or
  at once on SIGHUP); a config that does not validate is logged and the running one stays.

SIGTERM or SIGINT stop the service: nothing new starts, a running crawl is asked to finish its
batch (SIGINT to Scrapy, which records its outcome), and the lock is released. One service per
store (fengxiang/service_lock.py).
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from redis import RedisError

from alerts.evaluate import evaluate
from alerts.new_kol import SpaceScores
from alerts.sender import Sender
from crawlers.registry import SEARCH_PLATFORMS
from fengxiang.alert_commands import channels_of
from fengxiang.config import Config, ConfigError, format_duration, load_config
from fengxiang.crawl import crawl
from fengxiang.crawl_worker import enqueue, open_queue
from fengxiang.report import build_report
from fengxiang.report_commands import queue_report, write_report_files
from fengxiang.service_lock import ServiceLock, service_files
from fengxiang.service_log import SecretFilter, event, secrets_of
from fengxiang.service_state import ServiceState
from fengxiang.work_queue import RedisUnavailable, shown_url
from store.base import Store
from store.open import open_store

__all__ = ["JobResult", "Service", "default_log_file"]

log = logging.getLogger("fengxiang.service")

RETENTION_AT = (4, 17)  # local time of the nightly clean-up: after midnight's report data settled, off the hour
_THREADS = 16  # jobs running at once: one per source (crawls mostly wait on their process) and the rest
_CRAWL_STAGGER = timedelta(seconds=10)  # between first crawls at start: not every source at once on 2 cores
_FIRST_ALERTS = timedelta(seconds=5)


@dataclass(frozen=True)
class JobResult:
    outcome: str  # ok | degraded | failed | error
    summary: str
    routine: bool = False  # nothing happened (nothing to send, the config unchanged): logged at debug level


def default_log_file(config: Config) -> Path:
    if config.service.log_file is not None:
        return _relative_to_config(config, config.service.log_file)
    return _relative_to_config(config, Path("data/logs/service.log"))


def _relative_to_config(config: Config, path: Path) -> Path:
    if path.is_absolute():
        return path
    return (config.config_file.parent if config.config_file else Path.cwd()) / path


@contextmanager
def _opened(config: Config) -> Iterator[Store]:
    # A connection per job run: jobs run on several threads, and a run that fails leaves nothing open.
    store = open_store(config)
    try:
        yield store
    finally:
        store.close()


# -- the work of each job, as plain functions of the config --------------------------------------------------


def crawl_source(config: Config, platform: str, stop: threading.Event) -> JobResult:
    with _opened(config) as store:
        run = crawl(config, platform, store, stop=stop)
    detail = run.health.detail
    summary = f"{detail.get('new', 0)} new, {detail.get('updated', 0)} updated in {run.seconds:.0f} s"
    if run.health.error:
        summary += f"; {run.health.error}"
    return JobResult(run.health.status, summary)


def enqueue_source(config: Config, platform: str) -> JobResult:
    """Distributed mode's crawl job: queue the platform's (platform, term) items for the crawl-workers.

    Nothing is crawled here. An item still pending or in flight is not pushed again (the queue refuses
    its key), so a tick that comes while the workers are behind adds nothing. Items of a dead worker
    are recovered by the workers, before each claim: only a worker can act on them, and one place
    doing it keeps "who recovers" simple. Redis not answering fails this run with the URL (never its
    password) and the fix; the service goes on and the next tick tries again.
    """
    assert config.distributed is not None, "only called in distributed mode"
    try:
        with closing(open_queue(config)) as queue:
            queued, already = enqueue(config, queue, [platform])
            backlog = queue.stats()
    except RedisUnavailable as error:  # its message names the URL without credentials, and what to check
        return JobResult("failed", f"nothing queued, the next run tries again: {error} (distributed.redis)")
    except RedisError as error:  # reached, then failed mid-way: whatever was pushed stays queued
        where = shown_url(config.distributed.redis.get_secret_value())
        return JobResult("failed", f"queueing at Redis {where} failed: {type(error).__name__}: {error}")
    return JobResult(
        "ok",
        f"{len(queued)} terms queued for crawl-workers, {len(already)} still queued from before; "
        f"`fengxiang crawl-worker` crawls them (queue: {backlog.pending} pending, {backlog.in_flight} in flight)",
    )


def evaluate_alerts(config: Config, space_scores: SpaceScores) -> JobResult:
    with _opened(config) as store:
        evaluation = evaluate(store, config, datetime.now(config.tzinfo), space_scores)
    summary = (
        f"{len(evaluation.signals)} rules firing, {evaluation.count('opened')} opened, "
        f"{evaluation.count('escalated')} escalated, {evaluation.count('resolved')} resolved, "
        f"{evaluation.queued} messages queued"
    )
    return JobResult("ok", summary)


def send_outbox(config: Config) -> JobResult:
    with _opened(config) as store:
        report = Sender(store, channels_of(config)).drain()
    outcome = "failed" if report.failed else "ok"
    summary = f"{report.sent} sent, {report.failed} failed, {report.waiting} waiting"
    return JobResult(outcome, summary, routine=not (report.sent or report.failed or report.retried))


def daily_report(config: Config) -> JobResult:
    day = (datetime.now(config.tzinfo) - timedelta(days=1)).date()
    with _opened(config) as store:
        report = build_report(store, config, day)
        paths = write_report_files(report, _relative_to_config(config, config.report.folder))
        queued = queue_report(store, config, report, datetime.now(config.tzinfo)) if config.report.send else 0
    return JobResult("ok", f"report of {day}: {', '.join(str(path) for path in paths)}; {queued} messages queued")


def clean_up(config: Config) -> JobResult:
    now = datetime.now(config.tzinfo)
    retention = config.retention

    def cutoff(keep: timedelta | None) -> datetime | None:
        return None if keep is None else (now - keep).replace(hour=0, minute=0, second=0, microsecond=0)

    with _opened(config) as store:
        purged = store.purge(
            mentions_before=cutoff(retention.mentions),
            health_before=cutoff(retention.source_health),
            outbox_before=cutoff(retention.outbox),
        )
    return JobResult(
        "ok",
        f"deleted {purged.mentions} mentions, {purged.authors} authors no mention names any more, "
        f"{purged.source_health} crawl records, {purged.outbox} messages",
    )


# -- the service ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """One job as the config asks for it."""

    trigger: BaseTrigger
    schedule: str  # in words, for status and for noticing a change
    work: Callable[[Config], JobResult]
    first_run: datetime | None  # None: when the trigger first fires


class Service:
    def __init__(self, config: Config, *, secrets: SecretFilter | None = None) -> None:
        if config.config_file is None:
            raise ValueError("the service needs a config file (its crawls and reloads read it)")
        self.config = config
        self.files = service_files(config)
        self.state = ServiceState(self.files.state, config=config.config_file)
        self.stopping = threading.Event()
        self._reload_requested = threading.Event()
        self._reload_lock = threading.Lock()
        self._config_digest = _digest(config.config_file)
        self._schedules: dict[str, str] = {}
        self._secrets = secrets
        self._space_scores = SpaceScores()  # the new_kol rule's month of scoring, reused between evaluations
        # Yesterday's report, when the service was down at report.time: owed until every source crawled once.
        self._report_owed = self._report_missed(config, datetime.now(config.tzinfo))
        self._running = 0  # job runs under way; guarded by _idle
        self._idle = threading.Condition()
        self.scheduler = BackgroundScheduler(
            timezone=config.tzinfo,
            executors={"default": ThreadPoolExecutor(max_workers=_THREADS)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    # -- running

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT. Raises ServiceAlreadyRunning when the store has a service."""
        with ServiceLock(self.files.lock) as lock, self._signals():
            lock.acquire(self.config.config_file)
            event(log, "service started", config=str(self.config.config_file), store=self.config.store)
            self._reconcile()
            self.scheduler.start()
            self._publish()
            while not self.stopping.wait(0.5):
                if self._reload_requested.is_set():
                    self._reload_requested.clear()
                    self.reload("SIGHUP")
            self._shutdown()

    def run_once(self) -> list[tuple[str, JobResult]]:
        """Every job that gathers and alerts, once, in order (crawls → alerts → send): the demo's cycle.
        SIGINT or SIGTERM end it after the running step (a crawl stores its batch first). In distributed
        mode a search platform's step only queues its terms: it does not wait for the workers."""
        with ServiceLock(self.files.lock) as lock, self._signals():
            lock.acquire(self.config.config_file)
            config = self.config
            steps: list[tuple[str, Callable[[Config], JobResult]]] = [
                (f"crawl:{platform}", _crawl_work(platform, self.stopping)) for platform in config.enabled_sources()
            ]
            steps += [("alerts", self._evaluate_alerts), ("send", send_outbox)]
            results = []
            for job_id, work in steps:
                if self.stopping.is_set():
                    break
                results.append((job_id, self._run_job(job_id, work)))
            return results

    def _shutdown(self) -> None:
        event(log, "service stopping: no new runs; running crawls are asked to finish their batch")
        self.state.set_status("stopping")
        # Not shutdown(wait=True): it holds the scheduler's lock while it waits, and a job ending
        # meanwhile (publishing its next run) would wait for that lock forever.
        self.scheduler.shutdown(wait=False)
        with self._idle:
            self._idle.wait_for(lambda: self._running == 0)  # crawls see `stopping` and stop their process
        self.state.set_status("stopped")
        event(log, "service stopped")

    @contextmanager
    def _signals(self) -> Iterator[None]:
        # Handlers only set events: logging from a signal handler can deadlock on the logging lock.
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.stopping.set()

        def reload(_signum: int, _frame: FrameType | None) -> None:
            self._reload_requested.set()

        previous = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    # -- jobs

    def _run_job(self, job_id: str, work: Callable[[Config], JobResult]) -> JobResult:
        config = self.config  # one config for the whole run, even if a reload happens meanwhile
        self.state.started(job_id)
        event(log, "job started", level=logging.DEBUG, job=job_id)
        clock = time.monotonic()
        try:
            result = work(config)
        except Exception as exc:  # one failing run must never stop the service: log it, try again next time
            log.exception("job %s failed", job_id, extra={"fields": {"job": job_id}, "event": "job failed"})
            result = JobResult("error", f"{type(exc).__name__}: {exc}")
        level = logging.WARNING if result.outcome in ("failed", "error") else logging.INFO
        if result.routine and level == logging.INFO:
            level = logging.DEBUG
        seconds = round(time.monotonic() - clock, 2)
        event(
            log,
            "job finished",
            level=level,
            job=job_id,
            outcome=result.outcome,
            seconds=seconds,
            summary=result.summary,
        )
        self.state.finished(job_id, result.outcome, result.summary)
        self._publish()
        return result

    def _job(self, job_id: str, work: Callable[[Config], JobResult]) -> None:
        with self._idle:
            if self.stopping.is_set():
                return
            self._running += 1
        try:
            self._run_job(job_id, work)
            if self._report_owed and self._every_source_crawled():
                self._report_owed = False
                self.scheduler.modify_job("report", next_run_time=datetime.now(self.config.tzinfo))
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def _evaluate_alerts(self, config: Config) -> JobResult:
        return evaluate_alerts(config, self._space_scores)

    def _skipped(self, scheduled: JobExecutionEvent) -> None:
        why = "still running from last time" if scheduled.code == EVENT_JOB_MAX_INSTANCES else "missed"
        event(log, "run skipped", level=logging.WARNING, job=scheduled.job_id, reason=why)

    def _plans(self, config: Config) -> dict[str, _Plan]:
        now = datetime.now(config.tzinfo)
        service = config.service
        plans: dict[str, _Plan] = {}
        last_runs = self._last_crawls()
        for index, (platform, source) in enumerate(config.enabled_sources().items()):
            last = last_runs.get(platform)
            due = last + source.interval if last else now
            first = max(due, now + index * _CRAWL_STAGGER)
            plans[f"crawl:{platform}"] = _Plan(
                _every(source.interval),
                f"every {format_duration(source.interval)}",
                _crawl_work(platform, self.stopping),
                first,
            )
        plans["alerts"] = _Plan(
            _every(service.alerts_interval),
            f"every {format_duration(service.alerts_interval)}",
            self._evaluate_alerts,
            now + _FIRST_ALERTS,
        )
        plans["send"] = _Plan(
            _every(service.send_interval), f"every {format_duration(service.send_interval)}", send_outbox, now
        )
        hour, minute = config.report.hour_minute()
        plans["report"] = _Plan(
            CronTrigger(hour=hour, minute=minute, timezone=config.tzinfo),
            f"daily {config.report.time}",
            daily_report,
            None,
        )
        plans["retention"] = _Plan(
            CronTrigger(hour=RETENTION_AT[0], minute=RETENTION_AT[1], timezone=config.tzinfo),
            f"daily {RETENTION_AT[0]:02d}:{RETENTION_AT[1]:02d}",
            clean_up,
            None,
        )
        plans["config"] = _Plan(
            _every(service.config_check_interval),
            f"every {format_duration(service.config_check_interval)}",
            lambda _config: self._check_config_file(),
            None,
        )
        return plans

    def _reconcile(self) -> None:
        """Make the scheduler's jobs what the config asks for; an unchanged job keeps its next run."""
        plans = self._plans(self.config)
        grace = int(self.config.service.misfire_grace.total_seconds())
        for job_id in set(self._schedules) - set(plans):
            self.scheduler.remove_job(job_id)
            del self._schedules[job_id]
            event(log, "job removed", job=job_id)
        for job_id, plan in plans.items():
            if job_id in self._schedules:
                if self._schedules[job_id] != plan.schedule:
                    self.scheduler.reschedule_job(job_id, trigger=plan.trigger)
                    event(log, "job rescheduled", job=job_id, schedule=plan.schedule)
                self.scheduler.modify_job(job_id, misfire_grace_time=grace)
            else:
                options = {"next_run_time": plan.first_run} if plan.first_run else {}
                self.scheduler.add_job(
                    self._job,
                    plan.trigger,
                    args=(job_id, plan.work),
                    id=job_id,
                    name=job_id,
                    misfire_grace_time=grace,
                    **options,
                )
            self._schedules[job_id] = plan.schedule

    def _publish(self) -> None:
        if self.stopping.is_set():
            return  # the scheduler is being shut down: its jobs are no longer anyone's schedule
        jobs = {job.id: (self._schedules.get(job.id, "?"), job.next_run_time) for job in self.scheduler.get_jobs()}
        self.state.schedule(jobs)

    def _last_crawls(self) -> dict[str, datetime]:
        """When each source last started a crawl: a restart does not crawl what was crawled a minute ago."""
        with _opened(self.config) as store:
            return {health.source: health.started_at for health in store.latest_health()}

    def _every_source_crawled(self) -> bool:
        crawls = [job_id for job_id in self._schedules if job_id.startswith("crawl:")]
        return all(self.state.runs(job_id) for job_id in crawls)

    def _report_missed(self, config: Config, now: datetime) -> bool:
        hour, minute = config.report.hour_minute()
        yesterday = (now - timedelta(days=1)).date()
        folder = _relative_to_config(config, config.report.folder)
        return (now.hour, now.minute) >= (hour, minute) and not (folder / f"{yesterday}.md").exists()

    # -- config reloads

    def _check_config_file(self) -> JobResult:
        assert self.config.config_file is not None
        digest = _digest(self.config.config_file)
        if digest == self._config_digest:
            return JobResult("ok", "unchanged", routine=True)
        self.reload("the file changed")
        return JobResult("ok", "reloaded")

    def reload(self, reason: str) -> None:
        path = self.config.config_file
        assert path is not None
        with self._reload_lock:
            self._config_digest = _digest(path)
            try:
                config = load_config(path)
            except ConfigError as exc:  # the message names the key and the fix, never a secret's value
                event(
                    log,
                    "config not reloaded: the running one stays",
                    level=logging.ERROR,
                    reason=reason,
                    error=str(exc),
                )
                self.state.config_reloaded(str(exc))
                return
            if config.store_location() != self.config.store_location():
                problem = "store: changed — restart the service to move to another store"
                event(
                    log, "config not reloaded: the running one stays", level=logging.ERROR, reason=reason, error=problem
                )
                self.state.config_reloaded(problem)
                return
            self.config = config
            if self._secrets is not None:
                self._secrets.update(secrets_of(config))
            self._reconcile()
            self.state.config_reloaded(None)
            event(log, "config reloaded", reason=reason, sources=",".join(config.enabled_sources()) or "none")
        self._publish()


def _crawl_work(platform: str, stop: threading.Event) -> Callable[[Config], JobResult]:
    """A source's job: crawled here, or queued for the crawl-workers — decided by each run's config, so adding
    or removing ``distributed:`` takes effect at the next run without a restart. News is always crawled here:
    it reads feeds, not a search per term that workers could share."""

    def work(config: Config) -> JobResult:
        if config.distributed is not None and platform in SEARCH_PLATFORMS:
            return enqueue_source(config, platform)
        return crawl_source(config, platform, stop)

    return work


def _every(interval: timedelta) -> IntervalTrigger:
    return IntervalTrigger(seconds=max(1, int(interval.total_seconds())))


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""  # gone for a moment (an editor's save): the next check sees it again
