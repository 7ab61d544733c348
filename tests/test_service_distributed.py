"""The service in distributed mode: with a `distributed:` section its crawl jobs queue (platform, term) items
in Redis for `fengxiang crawl-worker` processes instead of crawling, against a real redis-server.

Queued once however often the job ticks while the items wait; nothing crawled in the service (but news, which
workers do not share); Redis away → the run fails with the URL and the fix, never the password, and the next
tick queues once Redis answers; and end to end, a tick then one worker fill the store from the Weibo sandbox.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from fengxiang import service
from fengxiang.cli import main
from fengxiang.config import Config, load_config
from fengxiang.crawl import CrawlRun
from fengxiang.service import enqueue_source
from fengxiang.service_lock import service_files
from fengxiang.service_log import secrets_of
from fengxiang.service_state import read_state
from fengxiang.work_queue import WorkQueue
from sandbox.scenario import build_scenario
from sandbox.weibo import WeiboReplica
from store.base import SourceHealth
from tests import crawl_helpers

pytest_plugins = ["tests.redis_server"]

PASSWORD = "hunter2-redis-password"
TERMS = ["启航汽车", "qihang", "澜颜"]  # the watchlist's positive terms (招聘 is excluded)


def write_config(folder: Path, redis_url: str, sources: dict[str, Any], **sections: Any) -> Path:
    config = {
        "store": "sqlite:///data/store.db",
        "watchlist": [{"name": "启航汽车", "query": "启航汽车 OR qihang -招聘"}, {"name": "澜颜", "query": "澜颜"}],
        "sources": sources,
        "distributed": {"redis": redis_url},
        **sections,
    }
    path = folder / "fengxiang.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def with_password(url: str) -> str:
    return url.replace("redis://", f"redis://:{PASSWORD}@")


@pytest.fixture
def local_crawls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The platforms the service crawls itself: `fengxiang.service.crawl` replaced by a recorder."""
    crawled: list[str] = []

    def fake_crawl(config: Config, platform: str, store: object, **options: object) -> CrawlRun:
        crawled.append(platform)
        now = datetime.now(UTC)
        return CrawlRun(platform, 0, SourceHealth(platform, now, now, "ok"), Path("crawl.log"), 0.0)

    monkeypatch.setattr(service, "crawl", fake_crawl)
    return crawled


def run_once(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """`fengxiang run --once`: each job's printed line, by job."""
    capsys.readouterr()
    assert main(["run", "--once", "--config", str(config)]) == 0
    return {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}


def test_each_tick_queues_the_search_platforms_terms_once_and_crawls_only_news_here(
    tmp_path: Path,
    redis_client: redis.Redis,
    redis_url: str,
    local_crawls: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    sources = {"weibo": {}, "bilibili": {}, "news": {"feeds": ["http://127.0.0.1:9/rss"]}}
    config = write_config(tmp_path, redis_url, sources)
    first = run_once(config, capsys)
    for platform in ("weibo", "bilibili"):
        line = first[f"crawl:{platform}"]
        assert " ok " in line and "3 terms queued for crawl-workers, 0 still queued from before" in line
        assert "`fengxiang crawl-worker` crawls them" in line
    assert local_crawls == ["news"]  # feeds are not shared by term: the service still reads them itself
    again = run_once(config, capsys)  # the workers have not come yet: nothing is queued twice
    assert "0 terms queued for crawl-workers, 3 still queued from before" in again["crawl:weibo"]
    assert "(queue: 6 pending, 0 in flight)" in again["crawl:bilibili"]
    assert local_crawls == ["news", "news"]

    capsys.readouterr()
    main(["status", "--json", "--config", str(config)])
    status = json.loads(capsys.readouterr().out)
    by_platform = {"bilibili": 3, "weibo": 3, "xiaohongshu": 0, "zhihu": 0}
    assert status["queue"] == {
        "redis": redis_url,
        "pending": 6,
        "pending_by_platform": by_platform,
        "in_flight": 0,
        "done": 0,
    }
    assert {source["source"]: source["crawled_by"] for source in status["sources"]} == {
        "weibo": "crawl-workers",
        "bilibili": "crawl-workers",
        "news": "service",
    }

    queue = WorkQueue(redis_client)
    claimed = []
    while claim := queue.claim("test", lease=60, timeout=0):
        claimed.append((claim.item.platform, claim.item.term))
    assert sorted(claimed) == sorted((platform, term) for platform in ("weibo", "bilibili") for term in TERMS)


def test_unusable_redis_fails_the_run_with_the_url_and_the_fix_but_not_the_password(
    tmp_path: Path, start_redis: Callable[..., Any], unused_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    guarded = start_redis("--requirepass", "the-right-password")
    nowhere = f"redis://127.0.0.1:{unused_port}/0"
    for url, says in (
        (with_password(nowhere), f"cannot reach Redis at {nowhere}"),
        (with_password(guarded.url), f"Redis at {guarded.url} refused the credentials"),
    ):
        config = load_config(write_config(tmp_path, url, {"weibo": {}}))
        result = enqueue_source(config, "weibo")
        assert result.outcome == "failed" and says in result.summary, result.summary
        assert "nothing queued, the next run tries again" in result.summary and PASSWORD not in result.summary
        capsys.readouterr()
        main(["status", "--config", str(config.config_file)])  # the rest of the status still shows
        shown = capsys.readouterr().out
        assert f"queue     {says}" in shown and "source    weibo: enabled" in shown and PASSWORD not in shown


def test_the_service_log_masks_the_passwords_in_the_redis_and_store_urls(tmp_path: Path) -> None:
    store_password = "es-" + PASSWORD
    path = write_config(tmp_path, with_password("redis://127.0.0.1:6379/0"), {"weibo": {}})
    text = path.read_text(encoding="utf-8").replace(
        "sqlite:///data/store.db", f"https://fengxiang:{store_password}@es:9200"
    )
    path.write_text(text, encoding="utf-8")
    secrets = secrets_of(load_config(path))  # what the service's log filter replaces, whatever a library logs
    assert {PASSWORD, store_password} <= secrets


def job_state(config: Path, job_id: str) -> dict[str, Any]:
    state = read_state(service_files(load_config(config)).state) or {}
    return dict(state.get("jobs", {}).get(job_id, {}))


def wait_for(what: str, condition: Callable[[], bool], process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the service died (exit {process.returncode}) while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.2)


@pytest.mark.slow
def test_the_service_outlives_a_redis_outage_and_queues_once_redis_is_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Imported here: at the top it would come before pytest registers the module as a plugin (above).
    from tests.redis_server import REDIS_SERVER, RedisServer

    if not Path(REDIS_SERVER).exists():
        pytest.skip(f"redis-server is not installed at {REDIS_SERVER}")
    server = RedisServer(tmp_path, "--requirepass", PASSWORD)  # its port chosen; not started yet
    config = write_config(tmp_path, with_password(server.url), {"weibo": {"interval": "1s"}})
    output = tmp_path / "service.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "fengxiang.cli", "run", "--config", str(config)], stdout=out, stderr=out
        )
    try:
        wait_for("two failed ticks", lambda: job_state(config, "crawl:weibo").get("failures", 0) >= 2, process)
        assert f"cannot reach Redis at {server.url}" in job_state(config, "crawl:weibo")["last_summary"]
        with server:
            wait_for(
                "a tick after Redis came", lambda: job_state(config, "crawl:weibo").get("last_outcome") == "ok", process
            )
            # Ticks every second: the first after Redis came queued the 3 terms, the later ones none again.
            assert "(queue: 3 pending, 0 in flight)" in job_state(config, "crawl:weibo")["last_summary"]
            capsys.readouterr()
            main(["status", "--config", str(config)])
            assert f"queue     {server.url}: 3 pending, 0 in flight, 0 done" in capsys.readouterr().out
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = (tmp_path / "data" / "logs" / "service.log").read_text(encoding="utf-8")
    assert f"cannot reach Redis at {server.url}" in log and "3 terms queued for crawl-workers" in log
    assert PASSWORD not in log + output.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_service_tick_and_one_crawl_worker_fill_the_store_from_the_weibo_sandbox(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = build_scenario(posts=120, days=2, seed=11)
    with contextmanager(crawl_helpers.serve_site)("weibo", tmp_path, scenario, WeiboReplica(scenario)) as site:
        config = yaml.safe_load(site.config.read_text(encoding="utf-8"))
        config["watchlist"] = [{"name": "启航汽车", "query": "启航汽车 -招聘"}]  # one term: one worker crawl
        config["distributed"] = {"redis": redis_url}
        site.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

        tick = run_once(site.config, capsys)
        assert "1 terms queued for crawl-workers" in tick["crawl:weibo"]
        assert not site.mentions()  # queued, not crawled

        capsys.readouterr()
        assert main(["crawl-worker", "--once", "--config", str(site.config)]) == 0
        assert capsys.readouterr().out.startswith("weibo 启航汽车: ok — ")

        mentions = site.mentions()
        assert mentions and all(mention.platform == "weibo" for mention in mentions.values())
        assert any("启航汽车" in mention.text for mention in mentions.values())
        stats = WorkQueue(redis_client).stats()
        assert (stats.pending, stats.in_flight, stats.done) == (0, 0, 1)
        main(["status", "--json", "--config", str(site.config)])
        (weibo,) = json.loads(capsys.readouterr().out)["sources"]
        assert (weibo["crawled_by"], weibo["status"], weibo["items"]) == ("crawl-workers", "ok", len(mentions))
