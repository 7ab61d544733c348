"""`fengxiang crawl weibo` end to end against the sandbox's m.weibo.cn replica.

Each test runs the real command (a `scrapy crawl` subprocess) against a SandboxServer on loopback
and checks what the store holds afterwards against the scenario's truth.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawlers.cookies import save_cookies
from fengxiang.brands import BrandTagger
from fengxiang.query import parse
from fengxiang.textmatch import fold
from nlp.clean import clean_post
from sandbox.config import write_crawl_config
from sandbox.scenario import Scenario, WeiboPost, build_scenario
from sandbox.server import SandboxServer
from sandbox.weibo import WeiboReplica
from store.model import Mention
from store.sqlite import SQLiteStore
from tests.crawl_helpers import last_evening, run_crawl, stored_mentions

pytestmark = pytest.mark.slow

COOKIE = "SUB=_2A25secretsessiontoken; SUBP=0033WrSXqPxfM72-secret"


@dataclass
class Site:
    scenario: Scenario
    server: SandboxServer
    folder: Path
    config: Path

    def crawl(self, *, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        return run_crawl("weibo", self.config, env)

    def mentions(self) -> dict[str, Mention]:
        return stored_mentions(self.folder / "crawl.db")

    def cursors(self) -> dict[str, str | None]:
        store = SQLiteStore(self.folder / "crawl.db")
        try:
            return {term: store.get_cursor("weibo", f"search:{term}") for term in ("启航汽车", "澜颜")}
        finally:
            store.close()


def make_site(tmp_path: Path, scenario: Scenario, *, time_style: str = "absolute", **source: Any) -> Iterator[Site]:
    server = SandboxServer([WeiboReplica(scenario, time_style=time_style)]).start()
    path = write_crawl_config(
        tmp_path / "fengxiang.yaml",
        server.base_url,
        scenario.watchlist,
        store="sqlite:///crawl.db",
        **{"lookback": "30d", "max_pages": 500, "request_timeout": "5s", **source},
    )
    try:
        yield Site(scenario, server, tmp_path, path)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(posts=700, days=2, seed=11)


@pytest.fixture
def site(tmp_path: Path, scenario: Scenario) -> Iterator[Site]:
    yield from make_site(tmp_path, scenario)


def on_watchlist(scenario: Scenario) -> dict[str, WeiboPost]:
    """The visible posts a watchlist query matches: what a complete crawl must store."""
    tagger = BrandTagger([(entry["name"], entry["query"]) for entry in scenario.watchlist])
    return {
        f"weibo:{post.mid}": post for post in scenario.visible_posts() if tagger(fold(clean_post(post.full_text).text))
    }


def test_a_crawl_stores_every_matching_post_field_by_field(site: Site) -> None:
    code, outcome = site.crawl()
    assert code == 0 and outcome["status"] == "ok", outcome
    stored = site.mentions()
    expected = on_watchlist(site.scenario)
    posts = {mention_id: m for mention_id, m in stored.items() if getattr(m, "kind", "") != "comment"}
    assert set(posts) == set(expected)  # nothing lost, no fuzzy-search noise kept
    assert not site.scenario.fuzzy_noise_mids & {m.removeprefix("weibo:") for m in posts}
    for mention_id, truth in expected.items():
        mention = stored[mention_id]
        assert mention.text == clean_post(truth.full_text).text, mention_id
        assert mention.created_at == truth.created_at and mention.created_at.utcoffset() == timedelta(hours=8)
        assert mention.url == f"https://m.weibo.cn/detail/{truth.mid}"
        assert mention.author is not None
        assert mention.author.id == f"weibo:{truth.user.id}" and mention.author.name == truth.user.screen_name
        assert mention.author.followers == truth.user.followers
        user = truth.user
        assert (mention.author.verified, mention.author.verified_type) == (user.verified, user.verified_type)
        metrics = mention.metrics
        assert (metrics.reposts, metrics.comments, metrics.likes) == (truth.reposts, truth.comments, truth.likes)
        assert mention.parent_id == truth.expected_parent_id
        assert mention.sentiment is not None and mention.brands and mention.simhash
    long_posts = [stored[f"weibo:{mid}"] for mid in site.scenario.long_mids if f"weibo:{mid}" in stored]
    assert long_posts and all(not getattr(m, "text_truncated", False) for m in long_posts)


def test_hot_comments_of_popular_posts_become_mentions_of_their_post(site: Site) -> None:
    site.crawl()
    stored = site.mentions()
    comments = [m for m in stored.values() if getattr(m, "kind", "") == "comment"]
    assert comments
    expected_posts = on_watchlist(site.scenario)
    for comment in comments:
        post = expected_posts[comment.parent_id or ""]
        assert post.engagement >= 100  # the default comments.min_engagement
        truth = {f"weibo:c{c.id}": c for c in site.scenario.hot_comments(post.mid)}[comment.id]
        assert comment.text == clean_post(truth.text).text and comment.metrics.likes == truth.likes
        assert comment.created_at == truth.created_at
        assert set(stored[comment.parent_id or ""].brands) <= set(comment.brands)  # the post's brands carry over
    popular = [p for p in expected_posts.values() if p.engagement >= 100 and site.scenario.hot_comments(p.mid)]
    commented = {comment.parent_id for comment in comments}
    assert {f"weibo:{p.mid}" for p in popular} == commented


def test_a_second_crawl_doubles_nothing_and_stops_at_the_cursor(tmp_path: Path) -> None:
    scenario = build_scenario(posts=700, days=2, seed=11, hold_back=timedelta(hours=3), now=last_evening())
    for site in make_site(tmp_path, scenario):
        _, first = site.crawl()
        after_first = site.mentions()
        assert first["status"] == "ok" and site.cursors()["启航汽车"]
        terms = len({term for entry in scenario.watchlist for term in parse(entry["query"]).terms()})

        _, second = site.crawl()
        assert site.mentions().keys() == after_first.keys()
        assert second["detail"]["new"] == 0
        # one realtime page per term shows only known posts, plus the one "hot" page per term
        assert second["detail"]["pages"] <= 2 * terms

        scenario.advance(180)
        _, third = site.crawl()
        stored = site.mentions()
        new_posts = set(on_watchlist(scenario)) - set(after_first)
        assert new_posts and new_posts <= set(stored)
        assert third["detail"]["pages"] < first["detail"]["pages"]


def test_a_killed_crawl_resumes_without_loss_or_doubles(tmp_path: Path, scenario: Scenario) -> None:
    # Two requests in flight, each answered after 0.1 s: about 250 pages take long enough to be caught midway.
    for site in make_site(tmp_path, scenario, politeness={"enabled": False, "concurrency": 2}):
        site.server.faults.set("slow", delay=0.1)
        crawler = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "crawl", "weibo", "-s", f"FENGXIANG_CONFIG={site.config}"],
            env={**os.environ, "SCRAPY_SETTINGS_MODULE": "crawlers.settings"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _stored_any(site):
            time.sleep(0.2)
        crawler.send_signal(signal.SIGKILL)
        crawler.wait()
        partial = {i for i, m in site.mentions().items() if getattr(m, "kind", "") != "comment"}
        assert 0 < len(partial) < len(on_watchlist(scenario))
        assert site.cursors() == {"启航汽车": None, "澜颜": None}  # a killed run advances no cursor

        site.server.faults.clear()
        code, outcome = site.crawl()
        assert code == 0 and outcome["status"] == "ok"
        posts = {i for i, m in site.mentions().items() if getattr(m, "kind", "") != "comment"}
        assert posts == set(on_watchlist(scenario))


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("login", "ok:-100"),
        ("visitor", "Sina Visitor System"),
        ("http418", "HTTP 418"),
        ("http432", "HTTP 432"),
        ("truncated", "not valid JSON"),
    ],
)
def test_each_blocking_mode_fails_with_a_clear_recorded_reason(site: Site, mode: str, words: str) -> None:
    site.server.faults.set(mode)
    code, outcome = site.crawl()
    assert code == 1 and outcome["status"] == "failed"
    assert words in outcome["error"]
    assert not site.mentions()
    assert site.cursors() == {"启航汽车": None, "澜颜": None}
    store = SQLiteStore(site.folder / "crawl.db")
    try:
        (health,) = store.latest_health()
    finally:
        store.close()
    assert health.status == "failed" and words in (health.error or "")


def test_an_unanswering_site_fails_on_timeouts(tmp_path: Path, scenario: Scenario) -> None:
    for site in make_site(tmp_path, scenario, request_timeout="1s"):
        site.server.faults.set("slow", delay=3)
        code, outcome = site.crawl()
        assert code == 1 and outcome["status"] == "failed"
        assert "unanswered" in outcome["error"]


def test_a_short_spell_of_blocking_is_backed_off_and_the_crawl_completes(site: Site) -> None:
    site.server.faults.set("http418", count=6, after=20)
    code, outcome = site.crawl()
    assert code == 0 and outcome["status"] == "ok"
    assert outcome["detail"]["throttled"] == 6
    posts = {i for i, m in site.mentions().items() if getattr(m, "kind", "") != "comment"}
    assert posts == set(on_watchlist(site.scenario))


def test_a_cut_off_answer_is_fetched_again(site: Site) -> None:
    site.server.faults.set("truncated", count=2, after=5)
    code, outcome = site.crawl()
    assert code == 0 and outcome["status"] == "ok" and outcome["detail"]["invalid_answers"] == 2
    posts = {i for i, m in site.mentions().items() if getattr(m, "kind", "") != "comment"}
    assert posts == set(on_watchlist(site.scenario))


def test_a_busy_answer_loses_pages_for_this_run_only(site: Site) -> None:
    site.server.faults.set("busy", count=3, after=3, path="/api/container/getIndex")
    code, outcome = site.crawl()
    assert code == 0 and outcome["status"] == "degraded" and "could not be read" in outcome["error"]
    assert outcome["detail"]["lost_pages"] >= 1
    code, outcome = site.crawl()  # the terms that lost pages kept their old cursor: read again in full
    assert outcome["status"] == "ok"
    posts = {i for i, m in site.mentions().items() if getattr(m, "kind", "") != "comment"}
    assert posts == set(on_watchlist(site.scenario))


def test_a_term_with_more_posts_than_max_pages_is_reported(tmp_path: Path, scenario: Scenario) -> None:
    for site in make_site(tmp_path, scenario, max_pages=2):
        code, outcome = site.crawl()
        assert code == 0 and outcome["status"] == "degraded" and outcome["detail"]["capped_terms"] > 0
        assert "max_pages" in outcome["error"]


def test_the_configured_cookie_logs_in_and_never_shows(tmp_path: Path, scenario: Scenario) -> None:
    for site in make_site(tmp_path, scenario, cookie="${WEIBO_COOKIE}", max_pages=1):
        code, outcome = site.crawl(env={"WEIBO_COOKIE": COOKIE})
        assert code == 0 and outcome["detail"]["logged_in"] is True
        log = Path(outcome["log_file"]).read_text(encoding="utf-8")
        for secret in ("secretsessiontoken", "0033WrSXqPxfM72"):
            assert secret not in log and secret not in json.dumps(outcome)


def test_a_saved_login_is_used_and_a_missing_one_crawls_as_visitor(tmp_path: Path, scenario: Scenario) -> None:
    for site in make_site(tmp_path, scenario, max_pages=1):
        _, visitor = site.crawl()
        assert visitor["detail"]["logged_in"] is False
        cookie = {"name": "SUB", "value": "_2A25saved", "domain": "127.0.0.1", "path": "/", "expires": -1}
        save_cookies(tmp_path / "data" / "cookies" / "weibo.json", [cookie])
        _, logged_in = site.crawl()
        assert logged_in["detail"]["logged_in"] is True


def test_relative_times_are_read_to_their_precision(tmp_path: Path, scenario: Scenario) -> None:
    for site in make_site(tmp_path, scenario, time_style="relative"):
        code, _ = site.crawl()
        assert code == 0
        truth = on_watchlist(scenario)
        for mention_id, mention in site.mentions().items():
            if mention_id in truth:
                error = abs(mention.created_at - truth[mention_id].created_at)
                assert error < timedelta(days=1), mention_id
                if truth[mention_id].created_at > datetime.now(tz=mention.created_at.tzinfo) - timedelta(hours=1):
                    assert error < timedelta(minutes=2)


def test_lookback_bounds_the_first_crawl(tmp_path: Path, scenario: Scenario) -> None:
    for site in make_site(tmp_path, scenario, lookback="6h"):
        site.crawl()
        oldest = datetime.now(scenario.now.tzinfo) - timedelta(hours=6, minutes=5)
        posts = [m for m in site.mentions().values() if getattr(m, "kind", "") != "comment"]
        assert posts and all(m.created_at >= oldest for m in posts)


def _stored_any(site: Site) -> bool:
    if not (site.folder / "crawl.db").exists():
        return False
    try:
        return bool(site.mentions())
    except Exception:  # the crawler may be creating the schema right now
        return False
