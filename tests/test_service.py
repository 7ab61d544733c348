"""The 24×7 service end to end: `fengxiang run` as a real process, second-scale intervals, the sandbox's Weibo
with an incident that broke three hours ago, and its WeCom robot.

Crawl → stored mentions → incidents → one message each → yesterday's report with `fengxiang stats`' numbers;
a second service on the same store refused; SIGTERM in the middle of a crawl leaves nothing half done.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from crawl_helpers import stored_mentions

from fengxiang.cli import main
from fengxiang.config import load_config
from fengxiang.synthetic import BEIJING, demo_watchlist
from sandbox.config import crawl_config
from sandbox.robot import RobotReplica
from sandbox.scenario import build_live_scenario
from sandbox.server import SandboxServer
from sandbox.weibo import WeiboReplica
from store.base import MentionFilter
from store.open import open_store
from store.sqlite import SQLiteStore
from tests.es_emulator import EsEmulator

ROBOT_KEY = "duty-7f3a9c51e2b84d06"  # long enough to count as a secret: it must never reach the log
ES_PASSWORD = "es-secret-0c1d2e3f4a5b"
SQLITE_STORE = "sqlite:///data/service.db"
BRAND = demo_watchlist()[0]  # 启航汽车, the brand with the incident


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, RobotReplica]]:
    robot = RobotReplica(keys={ROBOT_KEY})
    with SandboxServer([WeiboReplica(build_live_scenario(3000, days=8)), robot]) as server:
        robot.bind(server.base_url)
        yield server.base_url, robot


@pytest.fixture(params=["sqlite", "es-emulator"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Where the service stores: a SQLite file, or the Elasticsearch store (on tests/es_emulator.py) behind a
    URL with a password, which must stay out of every log like the robot's key."""
    if request.param == "sqlite":
        yield SQLITE_STORE
        return
    with EsEmulator() as emulator:
        yield emulator.url.replace("http://", f"http://fengxiang:{ES_PASSWORD}@")


def write_config(folder: Path, base_url: str, robot: RobotReplica, store_url: str = SQLITE_STORE, **weibo: Any) -> Path:
    config = crawl_config(base_url, [BRAND], store=store_url, lookback="9d", interval="1h", **weibo)
    config["alerts"] = {"channels": [{"type": "wecom", "name": "值班群", "webhook": robot.wecom_url(ROBOT_KEY)}]}
    config["service"] = {"alerts_interval": "2s", "send_interval": "1s", "config_check_interval": "1s"}
    config["report"] = {"time": "00:00"}  # already past today, and no report of yesterday yet: it runs soon after start
    path = folder / "fengxiang.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def start_service(config: Path) -> subprocess.Popen[bytes]:
    output = (config.parent / "service.out").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "fengxiang.cli", "run", "--config", str(config)], stdout=output, stderr=output
    )


def status(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    main(["status", "--config", str(config), "--json"])
    return json.loads(capsys.readouterr().out)


def wait_for(what: str, condition: Callable[[], bool], service: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert service.poll() is None, f"the service died (exit {service.returncode}) while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.5)


def job(state: dict[str, Any], job_id: str) -> dict[str, Any]:
    return next((item for item in state["jobs"] if item["id"] == job_id), {})


def stop(service: subprocess.Popen[bytes]) -> int:
    if service.poll() is None:
        service.send_signal(signal.SIGTERM)
    return service.wait(timeout=90)


def test_the_service_crawls_alerts_once_per_incident_reports_and_refuses_a_second_copy(
    tmp_path: Path, sandbox: tuple[str, RobotReplica], store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base_url, robot = sandbox
    robot.reset()
    config = write_config(tmp_path, base_url, robot, store_url)
    service = start_service(config)
    try:
        wait_for("finished crawl", lambda: job(status(config, capsys), "crawl:weibo").get("runs", 0) >= 1, service)
        crawled_at = job(status(config, capsys), "crawl:weibo")["last_finished"]
        # Three evaluations after the crawl: the incident is opened once and then only seen again.
        wait_for(
            "alert evaluations after the crawl",
            lambda: (
                (alerts := job(status(config, capsys), "alerts")).get("last_started", "") > crawled_at
                and alerts["runs"] >= 4
            ),
            service,
        )
        wait_for("the daily report", lambda: job(status(config, capsys), "report").get("runs", 0) >= 1, service)
        wait_for("an empty outbox", lambda: status(config, capsys)["outbox"]["pending"] == 0, service)

        second = subprocess.run(
            [sys.executable, "-m", "fengxiang.cli", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 3
        assert f"(pid {service.pid}," in second.stderr and "already serves this store" in second.stderr

        edited = yaml.safe_load(config.read_text(encoding="utf-8"))
        edited["service"]["alerts_interval"] = "3s"
        config.write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
        wait_for(
            "the edited config in force",
            lambda: job(status(config, capsys), "alerts").get("schedule") == "every 3s",
            service,
            timeout=30,
        )

        running = status(config, capsys)
        assert running["running"] and running["pid"] == service.pid
        assert {item["id"] for item in running["jobs"]} == {
            "crawl:weibo",
            "alerts",
            "send",
            "report",
            "retention",
            "config",
        }
        assert all(item["next_run"] for item in running["jobs"])
        assert [source["status"] for source in running["sources"]] == ["ok"]
    finally:
        assert stop(service) == 0
    assert status(config, capsys)["running"] is False

    with closing(open_store(load_config(config))) as store:
        assert sum(1 for _ in store.iter_mentions(MentionFilter())) > 500
        incidents = store.incidents(
            status=None, brand=None, since=datetime.now(BEIJING) - timedelta(days=30), limit=100
        )
        sent = store.outbox_items(status="sent", limit=500)
    pushed = [incident for incident in incidents if incident.severity != "low"]  # 蓝色 is recorded, not pushed
    assert pushed, "the live incident opened nothing"
    per_incident = Counter(item.incident_pk for item in sent if item.incident_pk is not None)
    assert set(per_incident) == {incident.pk for incident in pushed}
    assert set(per_incident.values()) == {1}, "an incident was messaged more than once"
    contents = [message.body["markdown"]["content"] for message in robot.messages_for("wecom", ROBOT_KEY)]
    assert len(contents) == len(sent)
    reports = [content for content in contents if "舆情日报" in content]
    assert len(reports) == 1

    yesterday = (datetime.now(BEIJING) - timedelta(days=1)).date()
    capsys.readouterr()
    main(
        [
            "stats",
            "--config",
            str(config),
            "--since",
            str(yesterday),
            "--until",
            str(yesterday + timedelta(days=1)),
            "--json",
        ]
    )
    volume = json.loads(capsys.readouterr().out)["volume"]["current"]
    assert volume > 0
    written = (tmp_path / "data" / "reports" / f"{yesterday}.md").read_text(encoding="utf-8")
    assert f"{volume:,}" in written and f"{volume:,}" in reports[0]
    assert (tmp_path / "data" / "reports" / f"{yesterday}.html").exists()

    log_lines = (tmp_path / "data" / "logs" / "service.log").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in log_lines]
    assert {"service started", "job finished", "service stopped"} <= {line["event"] for line in events}
    everything_written = "\n".join(log_lines) + (tmp_path / "service.out").read_text(encoding="utf-8")
    assert ROBOT_KEY not in everything_written and ES_PASSWORD not in everything_written


def crawler_processes(config: Path) -> list[int]:
    """Scrapy processes crawling with this config (the service starts them in sessions of their own)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "scrapy crawl" in command and str(config) in command:
            found.append(int(entry.name))
    return found


def test_sigterm_during_a_crawl_stores_whole_batches_and_the_next_crawl_completes_the_set(
    tmp_path: Path, sandbox: tuple[str, RobotReplica], capsys: pytest.CaptureFixture[str]
) -> None:
    base_url, robot = sandbox
    (tmp_path / "reference").mkdir()
    reference = write_config(tmp_path / "reference", base_url, robot)
    assert main(["crawl", "weibo", "--config", str(reference)]) == 0
    expected = set(stored_mentions(tmp_path / "reference" / "data" / "service.db"))

    slow = tmp_path / "slow"
    slow.mkdir()
    config = write_config(slow, base_url, robot, politeness={"enabled": True, "delay": 0.1, "concurrency": 1})
    database = slow / "data" / "service.db"
    service = start_service(config)
    try:
        wait_for("a crawl under way", lambda: bool(crawler_processes(config)), service, timeout=60)
        wait_for("some stored mentions", lambda: database.exists() and len(stored_mentions(database)) > 0, service)
    finally:
        assert stop(service) == 0
    assert crawler_processes(config) == [], "the crawl outlived the service"

    with SQLiteStore(database) as store:
        health = {record.source: record for record in store.latest_health()}["weibo"]
        assert store.outbox_backlog()["sending"] == 0
    assert health.status != "ok" and "stopped" in (health.error or "")
    partial = set(stored_mentions(database))
    assert partial and partial < expected
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    fast = yaml.safe_load(config.read_text(encoding="utf-8"))
    fast["sources"]["weibo"]["politeness"] = {"enabled": False}
    config.write_text(yaml.safe_dump(fast, allow_unicode=True), encoding="utf-8")
    assert main(["crawl", "weibo", "--config", str(config)]) == 0
    assert set(stored_mentions(database)) == expected  # nothing lost, nothing doubled
