"""The dashboard's data layer and login hashes, without Streamlit."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboard.data import Selection, fold_near_duplicates, overview, share_of_voice_brands, sources
from dashboard.passwords import hash_password, verify_password
from fengxiang.config import ConfigError, load_config
from store.base import SourceHealth
from tests.conftest import SHANGHAI, make_mention

END = datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)


def _config(tmp_path: Path, **sections: Any) -> Path:
    path = tmp_path / "fengxiang.yaml"
    settings = {"store": "sqlite:///store.db", **sections}
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


def test_the_previous_period_is_as_long_and_just_before() -> None:
    week = Selection("启航汽车", END - timedelta(days=7), END)
    assert week.previous == Selection("启航汽车", END - timedelta(days=14), END - timedelta(days=7))
    assert week.window.brand == "启航汽车"


def test_near_duplicates_fold_into_the_first_row_in_order() -> None:
    base = 0x0F0F_0F0F_0F0F_0F0F
    posts = [
        make_mention("第一条", simhash=base),
        make_mention("完全不同", simhash=~base & (2**64 - 1)),
        make_mention("第一条的转载", simhash=base ^ 0b111),  # 3 bits away: folds
        make_mention("远一点", simhash=base ^ 0b1111),  # 4 bits away: its own row
        make_mention("没有指纹"),
        make_mention("也没有指纹"),
    ]
    rows = fold_near_duplicates(posts)
    assert [row.mention.text for row in rows] == ["第一条", "完全不同", "远一点", "没有指纹", "也没有指纹"]
    assert rows[0].copies == [posts[2].id] and rows[0].size == 2
    assert all(row.size == 1 for row in rows[1:])


def test_share_of_voice_is_the_brand_and_its_competitors(tmp_path: Path) -> None:
    watchlist = [
        {"name": "启航汽车", "query": "启航汽车", "competitors": ["星河汽车"]},
        {"name": "星河汽车", "query": "星河汽车"},
    ]
    config = load_config(_config(tmp_path, watchlist=watchlist))
    assert share_of_voice_brands(config, "启航汽车") == ["启航汽车", "星河汽车"]
    assert share_of_voice_brands(config, None) == ["启航汽车", "星河汽车"]
    assert share_of_voice_brands(config, "星河汽车") == ["星河汽车"]


def test_sources_list_configured_ones_first_with_their_last_success_and_error(tmp_path: Path, store: Any) -> None:
    config = load_config(_config(tmp_path, sources={"weibo": {}, "zhihu": {"enabled": False}}))
    for hours, status, error in ((3, "ok", None), (2, "failed", "HTTP 418"), (1, "failed", "HTTP 418")):
        finished = END - timedelta(hours=hours)
        store.record_health(SourceHealth("weibo", finished, finished, status, items=5, error=error))
    store.record_health(SourceHealth("news", END, END, "ok", items=3))  # ran, no longer configured
    found = {status.source: status for status in sources(store, config)}
    assert list(found) == ["weibo", "zhihu", "news"]
    weibo = found["weibo"]
    assert weibo.latest is not None and weibo.latest.status == "failed"
    assert weibo.last_success == END - timedelta(hours=3)
    assert weibo.last_error is not None and weibo.last_error.finished_at == END - timedelta(hours=1)
    assert [run.status for run in weibo.runs] == ["failed", "failed", "ok"]
    assert found["zhihu"].latest is None and not found["zhihu"].enabled
    assert found["news"].enabled is False


def test_password_hashes_verify_only_the_password() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert not verify_password("correct horse", "scrypt$broken")
    assert hash_password("correct horse") != stored  # salted


def test_a_password_instead_of_a_hash_is_refused(tmp_path: Path) -> None:
    path = _config(tmp_path, dashboard={"password_hash": "hunter2hunter2"})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "fengxiang dashboard --hash-password" in message
    assert "hunter2hunter2" not in message


def test_the_platform_split_lists_every_enabled_source_even_a_quiet_one(store: Any) -> None:
    store.upsert(
        [
            make_mention("微博上的一条", id="weibo:1"),
            make_mention("微博上的又一条", id="weibo:2"),
            make_mention(
                "B站的一条", id="bilibili:BV1xx", platform="bilibili", author={"id": "bilibili:7", "name": "UP"}
            ),
        ]
    )
    found = overview(
        store, Selection(None, END - timedelta(days=1), END), [], sources=("weibo", "xiaohongshu", "zhihu")
    )
    assert found.platforms == {"weibo": 2, "bilibili": 1, "xiaohongshu": 0, "zhihu": 0}
    assert list(found.platforms)[:2] == ["weibo", "bilibili"]  # busiest first; quiet sources after
