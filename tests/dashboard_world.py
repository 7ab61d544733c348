"""A small world for the dashboard's tests: two weeks of the synthetic brands ending at the current
hour, the incidents the alert rules open on it, and a healthy and a failing source."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from fengxiang.cli import main
from fengxiang.config import parse_store_location
from fengxiang.synthetic import demo_watchlist, generate_mentions
from store.base import SourceHealth
from store.model import Mention
from store.open import open_location

SHANGHAI = ZoneInfo("Asia/Shanghai")
MENTIONS = 6_000
DAYS = 14
INCIDENT_AFTER = timedelta(days=DAYS - 4)  # where the generator starts the big brand's incident
FAILURE = "HTTP 418 — the platform refused the crawler (blocked); log in again or slow down"


def world_end() -> datetime:
    return datetime.now(SHANGHAI).replace(minute=0, second=0, microsecond=0)


def build_world(folder: Path, end: datetime, store_url: str = "sqlite:///store.db") -> Path:
    """Write ``fengxiang.yaml`` into ``folder`` and fill the store it names (by default a SQLite file
    beside it); the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "store": store_url,
        "watchlist": demo_watchlist(),
        "sources": {
            "weibo": {"base_url": "http://127.0.0.1:9/weibo"},
            "bilibili": {"base_url": "http://127.0.0.1:9/bilibili"},
        },
        "dashboard": {"refresh": "10m", "cache_ttl": "1m"},
    }
    path = folder / "fengxiang.yaml"
    path.write_text("# the dashboard tests' world\n" + yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    start = end - timedelta(days=DAYS)
    with closing(open_location(parse_store_location(store_url, folder), "Asia/Shanghai")) as store:
        store.upsert(Mention.model_validate(m) for m in generate_mentions(MENTIONS, seed=11, end=end, days=DAYS))
        for run in range(6):
            finished = end - timedelta(hours=6 - run)
            store.record_health(SourceHealth("weibo", finished - timedelta(minutes=3), finished, "ok", items=40 + run))
            store.record_health(
                SourceHealth("bilibili", finished - timedelta(minutes=1), finished, "failed", error=FAILURE)
            )
    for hours in (2, 8, 30):
        at = start + INCIDENT_AFTER + timedelta(hours=hours)
        assert main(["alerts", "run", "--config", str(path), "--at", at.isoformat()]) == 0
    return path
