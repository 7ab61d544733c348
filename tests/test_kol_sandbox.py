"""`fengxiang kol` after a real sandbox crawl: the ranking a PR manager would agree with.

The sandbox plants one influencer per brand (below the 大V follower line, reposted by many small
accounts), an account with two million bought followers whose promotions nobody touches, and a
copy-paste 水军 wave; the crawl (a `scrapy crawl` subprocess against the Weibo replica) stores what
the real site would give, and the test reads the real command's JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from fengxiang.synthetic import BEIJING, BRANDS, official_accounts
from sandbox.config import write_crawl_config
from sandbox.scenario import Scenario, build_scenario
from sandbox.server import SandboxServer
from sandbox.weibo import WeiboReplica

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=BEIJING)
OFFICIAL = official_accounts()


def fengxiang(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fengxiang.cli", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def kol_json(config: Path, brand: str, *extra: str) -> dict[str, Any]:
    done = fengxiang(config, "kol", "--brand", brand, "--until", NOW.isoformat(), "--since", "30d", "--json", *extra)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    (report,) = document["brands"]
    return report


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(3000, now=NOW)


@pytest.fixture(scope="module")
def crawled(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("kol")
    # Search answers carry full timestamps today ("Sat Nov 22 10:00:00 +0800 2025"); "mixed" would date
    # most of this past scenario's posts by day only, judged against the real clock.
    server = SandboxServer([WeiboReplica(scenario, time_style="absolute")]).start()
    watchlist = [{**entry, "official_accounts": [OFFICIAL[entry["name"]]]} for entry in scenario.watchlist]
    config = write_crawl_config(
        folder / "fengxiang.yaml",
        server.base_url,
        watchlist,
        store="sqlite:///kol.db",
        lookback="30d",
        max_pages=500,
        request_timeout="5s",
    )
    try:
        done = fengxiang(config, "crawl", "weibo", "--json")
        assert done.returncode == 0, done.stderr
        yield config
    finally:
        server.stop()


@pytest.mark.parametrize("brand", [brand.name for brand in BRANDS])
def test_the_planted_influencer_ranks_in_the_top_three_of_its_brand(crawled: Path, scenario: Scenario, brand: str):
    report = kol_json(crawled, brand)
    top = [author["id"] for author in report["authors"][:3]]
    planted = f"weibo:{scenario.kol_uids[brand]}"
    assert planted in top, [(a["name"], a["score"]) for a in report["authors"][:5]]
    influencer = next(author for author in report["authors"] if author["id"] == planted)
    assert influencer["candidate"] and influencer["segment"] == "KOL"
    components = influencer["components"]
    assert components["influence"]["reposted_by"] >= 8
    assert components["consistency"]["h_index"] >= 3
    assert influencer["why"], "every listed account says why it is there"


@pytest.mark.parametrize("brand", [brand.name for brand in BRANDS])
def test_bought_followers_stay_out_of_the_top_ten(crawled: Path, scenario: Scenario, brand: str):
    everyone = kol_json(crawled, brand, "--all", "--limit", "100000")
    ids = [author["id"] for author in everyone["authors"]]
    bought = f"weibo:{scenario.bought_follower_uid}"
    if bought not in ids:
        pytest.skip(f"the bought-follower account posted nothing about {brand} in this scenario")
    assert ids.index(bought) >= 10
    account = everyone["authors"][ids.index(bought)]
    assert not account["candidate"]
    assert account["components"]["reach"]["capped"]
    assert account["hollow_followers"]
    assert any("买粉" in reason for reason in account["why"])


def test_the_water_army_wave_is_flagged(crawled: Path, scenario: Scenario):
    report = kol_json(crawled, "启航汽车", "--segment", "疑似水军", "--limit", "100000")
    flagged = {author["id"] for author in report["authors"]}
    wave_accounts = {f"weibo:{post.user.id}" for post in scenario.posts if post.mid in scenario.wave_mids}
    assert wave_accounts, "the scenario plants a wave"
    assert len(wave_accounts & flagged) >= 0.9 * len(wave_accounts)
    assert len(flagged - wave_accounts) <= 0.1 * len(flagged), "organic accounts are not called 水军"
    assert all(author["segment"] == "疑似水军" and not author["candidate"] for author in report["authors"])


def test_official_accounts_are_their_own_segment(crawled: Path):
    report = kol_json(crawled, "启航汽车", "--segment", "官方")
    assert [author["name"] for author in report["authors"]] == ["启航汽车"]
    assert kol_json(crawled, "启航汽车", "--segment", "official")["authors"] == report["authors"]
    candidates = kol_json(crawled, "启航汽车")
    assert "启航汽车" not in {author["name"] for author in candidates["authors"]}


def test_scores_are_stable_when_the_same_crawl_runs_again(crawled: Path, scenario: Scenario):
    before = kol_json(crawled, "启航汽车", "--all", "--limit", "100000")
    done = fengxiang(crawled, "crawl", "weibo", "--json")
    assert done.returncode == 0, done.stderr
    after = kol_json(crawled, "启航汽车", "--all", "--limit", "100000")
    assert after["authors"] == before["authors"]


def test_the_text_listing_explains_each_candidate(crawled: Path, scenario: Scenario):
    done = fengxiang(crawled, "kol", "--brand", "启航汽车", "--until", NOW.isoformat(), "--since", "30d")
    assert done.returncode == 0, done.stderr
    influencer = scenario.users[scenario.kol_uids["启航汽车"]].screen_name
    assert influencer in done.stdout
    assert "KOL 候选" in done.stdout and "被 " in done.stdout and "h 指数" in done.stdout


def test_an_unknown_brand_or_segment_is_a_usage_error(crawled: Path):
    done = fengxiang(crawled, "kol", "--brand", "不存在的品牌")
    assert done.returncode == 2
    assert "not on the watchlist" in done.stderr
    done = fengxiang(crawled, "kol", "--segment", "水军")
    assert done.returncode == 2
    assert "unknown segment '水军'" in done.stderr and "疑似水军 (spam)" in done.stderr


def test_official_accounts_are_validated_config(tmp_path: Path):
    config = tmp_path / "fengxiang.yaml"
    config.write_text(
        yaml.safe_dump({"watchlist": [{"name": "启航汽车", "query": "启航汽车", "official_accounts": "启航汽车"}]}),
        encoding="utf-8",
    )
    done = fengxiang(config, "check")
    assert done.returncode == 2
    assert "official_accounts" in done.stderr
