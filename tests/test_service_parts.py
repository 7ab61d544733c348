"""The service's parts without running it: secrets kept out of logs, the one-service lock, config reloads
that keep what works, and `fengxiang status` when no service runs."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from fengxiang.cli import main
from fengxiang.config import load_config
from fengxiang.service import Service
from fengxiang.service_lock import ServiceAlreadyRunning, ServiceLock, lock_holder, service_files
from fengxiang.service_log import JsonLines, SecretFilter, event, secrets_of
from fengxiang.service_state import read_state

WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
COOKIE = "SUB=_2A25LsecretSUBvalue; SUBP=0033WrSXqPxfM725Ws9jqgMF55529P9D9W"


def write(folder: Path, **sections: object) -> Path:
    config = {
        "store": "sqlite:///data/store.db",
        "watchlist": [{"name": "启航汽车", "query": "启航汽车"}],
        "sources": {"weibo": {"base_url": "http://127.0.0.1:9", "interval": "15m", "cookie": COOKIE}},
        "alerts": {"channels": [{"type": "wecom", "webhook": WEBHOOK}]},
        **sections,
    }
    path = folder / "fengxiang.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_no_secret_reaches_a_log_line_in_the_message_its_fields_or_a_traceback(tmp_path: Path) -> None:
    config = load_config(write(tmp_path))
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLines())
    handler.addFilter(SecretFilter(secrets_of(config)))
    log = logging.getLogger("test.secrets")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        log.warning("posting to %s failed", WEBHOOK)
        event(log, "delivery", channel="wecom", detail=f"errcode 93000: invalid webhook url, key={ROBOT_KEY}")
        try:
            raise ConnectionError(f"cannot reach {WEBHOOK}")
        except ConnectionError:
            log.exception("send failed with cookie %s", COOKIE.split(";")[0])
    finally:
        log.removeHandler(handler)
    written = out.getvalue()
    lines = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    assert len(lines) == 3
    for secret in (ROBOT_KEY, "_2A25LsecretSUBvalue", "0033WrSXqPxfM725Ws9jqgMF55529P9D9W"):
        assert secret not in written
    assert lines[0]["event"] == "posting to *** failed"
    assert lines[1]["channel"] == "wecom" and "key=***" in lines[1]["detail"]
    assert "ConnectionError: cannot reach ***" in lines[2]["error"]


def test_one_service_per_store_and_the_refusal_names_the_holder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path))
    files = service_files(config)
    assert files.lock == tmp_path / "data" / "store.db.service.lock"
    assert lock_holder(files.lock) is None
    with ServiceLock(files.lock) as first:
        first.acquire(config.config_file)
        holder = lock_holder(files.lock)
        assert holder is not None and holder.config == str(config.config_file)
        with pytest.raises(ServiceAlreadyRunning) as refused:
            ServiceLock(files.lock).acquire(config.config_file)
        assert f"pid {holder.pid}" in str(refused.value) and f"kill -TERM {holder.pid}" in str(refused.value)
    assert lock_holder(files.lock) is None  # released: the next service starts
    with ServiceLock(files.lock) as again:
        again.acquire(config.config_file)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    service = Service(load_config(write(tmp_path)))
    service._reconcile()
    service.scheduler.start(paused=True)  # the jobs exist with their next runs; none runs
    service._publish()
    yield service
    service.scheduler.shutdown(wait=False)


def schedules(service: Service) -> dict[str, str]:
    state = read_state(service.files.state)
    assert state is not None
    return {job_id: job["schedule"] for job_id, job in state["jobs"].items()}


def test_a_changed_config_reschedules_what_changed_and_keeps_the_rest(tmp_path: Path, service: Service) -> None:
    assert schedules(service) == {
        "crawl:weibo": "every 15m",
        "alerts": "every 5m",
        "send": "every 30s",
        "report": "daily 08:30",
        "retention": "daily 04:17",
        "config": "every 30s",
    }
    send_next = service.scheduler.get_job("send").next_run_time
    sources = {
        "weibo": {"base_url": "http://127.0.0.1:9", "interval": "5m"},
        "news": {"feeds": ["http://127.0.0.1:9/rss"], "interval": "1h"},
    }
    write(tmp_path, sources=sources, report={"time": "07:45"})
    service.reload("test")
    assert schedules(service) == {
        "crawl:weibo": "every 5m",
        "crawl:news": "every 1h",
        "alerts": "every 5m",
        "send": "every 30s",
        "report": "daily 07:45",
        "retention": "daily 04:17",
        "config": "every 30s",
    }
    assert service.scheduler.get_job("send").next_run_time == send_next  # untouched jobs keep their turn
    assert service.config.report.time == "07:45"

    write(tmp_path, sources={"news": sources["news"]})  # weibo gone from the config: its job goes
    service.reload("test")
    assert "crawl:weibo" not in schedules(service)


def test_a_broken_config_is_reported_and_the_running_one_stays(tmp_path: Path, service: Service) -> None:
    write(tmp_path, service={"alerts_interval": "soon"})
    service.reload("SIGHUP")
    state = read_state(service.files.state)
    assert state is not None
    assert "alerts_interval" in state["config_error"] and "30s, 15m" in state["config_error"]
    assert service.config.service.alerts_interval.total_seconds() == 300
    assert schedules(service)["alerts"] == "every 5m"

    write(tmp_path, store="sqlite:///elsewhere.db")
    service.reload("the file changed")
    state = read_state(service.files.state)
    assert state is not None and "restart the service" in state["config_error"]
    assert service.config.store == "sqlite:///data/store.db"

    write(tmp_path)
    service.reload("the file changed")
    state = read_state(service.files.state)
    assert state is not None and state["config_error"] is None


def test_status_says_when_no_service_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path)
    assert main(["status", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "not running" in out and "fengxiang run" in out
    assert "weibo: enabled" in out and "never crawled" in out
    assert "0 waiting" in out
    assert ROBOT_KEY not in out


def test_alerts_run_leaves_delivery_to_a_running_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two senders on one outbox could post a message twice (alerts/sender.py): the CLI only evaluates."""
    config = write(tmp_path)
    assert main(["alerts", "run", "--config", str(config), "--wait", "0"]) == 0
    assert "delivery: 0 sent" in capsys.readouterr().out
    with ServiceLock(service_files(load_config(config)).lock) as lock:
        lock.acquire(config)
        assert main(["alerts", "run", "--config", str(config), "--wait", "0"]) == 0
    out = capsys.readouterr().out
    assert f"left to the running service (pid {os.getpid()})" in out and "sent" not in out
