"""The 新KOL提及 rule: an influential account of the watched space mentions a brand for the first time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from alerts import new_kol
from alerts.evaluate import detect
from fengxiang.config import Config
from store.sqlite import SQLiteStore
from tests.conftest import SHANGHAI, make_mention

NOW = datetime(2026, 11, 20, 20, 0, tzinfo=SHANGHAI)
INFLUENCER = {"id": "weibo:777", "name": "老周聊车", "followers": 260_000, "verified": True, "verified_type": 0}


def config(**rules: object) -> Config:
    return Config.model_validate(
        {
            "watchlist": [
                {"name": "启航汽车", "query": "启航汽车"},
                {"name": "星河手机", "query": "星河手机"},
            ],
            "alerts": {"rules": rules},
        }
    )


def person(number: int, followers: int = 300) -> dict[str, object]:
    return {"id": f"weibo:{number}", "name": f"车主{number}", "followers": followers, "verified": False}


def everyday(store: SQLiteStore, *, days_back: int = 20) -> None:
    """A steady trickle of small accounts about both brands since ``days_back`` days ago."""
    mentions = []
    for hour in range(0, days_back * 24, 5):
        at = NOW - timedelta(hours=hour, minutes=7)
        for brand in ("启航汽车", "星河手机"):
            author = person(1000 + hour % 97)
            mentions.append(
                make_mention(f"{brand}的体验还行，第{hour}小时", created_at=at, author=author, brands=[brand])
            )
    store.upsert(mentions)


def influencer_on(
    store: SQLiteStore, brand: str, *, start: datetime, posts: int = 5, author: dict[str, object] = INFLUENCER
) -> None:
    """The influencer's posts about ``brand``, each reposted by eight small accounts and well answered."""
    mentions = []
    for index in range(posts):
        at = start + timedelta(hours=9 * index)
        root = make_mention(
            f"{brand}深度体验第{index}篇：说点真话",
            id=f"weibo:9{index}{len(brand)}{start.day}",
            created_at=at,
            author=author,
            brands=[brand],
            metrics={"reposts": 80, "comments": 60, "likes": 900},
            sentiment={"label": "negative"},
        )
        mentions.append(root)
        for fan in range(8):
            mentions.append(
                make_mention(
                    f"说得对//@老周聊车:{root.text}",
                    created_at=at + timedelta(minutes=5 + fan),
                    author=person(5000 + 10 * index + fan),
                    brands=[brand],
                    parent_id=root.id,
                    parent_author=author,
                    metrics={"reposts": 0, "comments": 0, "likes": 1},
                )
            )
    store.upsert(mentions)


@pytest.fixture
def store(tmp_path) -> SQLiteStore:
    opened = SQLiteStore(tmp_path / "store.db")
    yield opened
    opened.close()


def new_kol_signals(store: SQLiteStore, cfg: Config) -> list:
    return [signal for signal in detect(store, cfg, NOW) if signal.rule == "new_kol"]


def test_a_competitors_kol_turning_to_the_brand_is_announced_once_with_its_score(store):
    everyday(store)
    influencer_on(store, "星河手机", start=NOW - timedelta(days=10))
    influencer_on(store, "启航汽车", start=NOW - timedelta(hours=10), posts=1)
    (signal,) = new_kol_signals(store, config())
    assert (signal.brand, signal.key, signal.severity) == ("启航汽车", "weibo:777", "high")  # a negative post
    facts = dict(signal.facts)
    assert "老周聊车" in facts["账号"] and "KOL 分" in facts
    assert "此前从未提及启航汽车" in facts["首次提及"]
    assert signal.posts and signal.posts[0].author == "老周聊车"


def test_an_account_that_spoke_of_the_brand_before_is_not_new(store):
    everyday(store)
    influencer_on(store, "星河手机", start=NOW - timedelta(days=10))
    influencer_on(store, "启航汽车", start=NOW - timedelta(days=5), posts=1)
    influencer_on(store, "启航汽车", start=NOW - timedelta(hours=10), posts=1)
    assert new_kol_signals(store, config()) == []


def test_a_store_that_has_just_met_the_brand_calls_nobody_new(store):
    everyday(store, days_back=3)
    influencer_on(store, "星河手机", start=NOW - timedelta(days=2), posts=4)
    influencer_on(store, "启航汽车", start=NOW - timedelta(hours=10), posts=1)
    assert new_kol_signals(store, config()) == []
    # …unless the team says a shorter history is enough.
    assert len(new_kol_signals(store, config(new_kol={"min_history": "1d"}))) == 1


def test_an_account_without_standing_elsewhere_is_not_a_new_kol(store):
    everyday(store)
    influencer_on(store, "启航汽车", start=NOW - timedelta(hours=10), posts=1)  # no standing anywhere else
    assert new_kol_signals(store, config()) == []


def test_a_big_account_is_left_to_the_big_account_rule(store):
    big = {**INFLUENCER, "followers": 900_000}
    everyday(store)
    influencer_on(store, "星河手机", start=NOW - timedelta(days=10), author=big)
    influencer_on(store, "启航汽车", start=NOW - timedelta(hours=10), posts=1, author=big)
    assert new_kol_signals(store, config()) == []
    assert len(new_kol_signals(store, config(big_account={"enabled": False}))) == 1


def test_the_rule_can_be_switched_off(store):
    everyday(store)
    influencer_on(store, "星河手机", start=NOW - timedelta(days=10))
    influencer_on(store, "启航汽车", start=NOW - timedelta(hours=10), posts=1)
    assert new_kol_signals(store, config(new_kol={"enabled": False})) == []


def test_the_service_reuses_the_space_scoring_for_half_an_hour_unless_the_kol_settings_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scored: list[datetime] = []

    def counting_report(store: object, settings: Config, now: datetime) -> object:
        scored.append(now)
        return object()

    monkeypatch.setattr(new_kol, "space_report", counting_report)
    scores = new_kol.SpaceScores(max_age=timedelta(minutes=30))
    settings = config()
    start = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
    first = scores.report(None, settings, start)  # type: ignore[arg-type]
    assert scores.report(None, settings, start + timedelta(minutes=29)) is first  # type: ignore[arg-type]
    assert len(scored) == 1
    scores.report(None, settings, start + timedelta(minutes=30))  # type: ignore[arg-type]
    assert len(scored) == 2
    stricter = settings.model_copy(update={"kol": settings.kol.model_copy(update={"min_score": 90.0})})
    scores.report(None, stricter, start + timedelta(minutes=31))  # type: ignore[arg-type]
    assert len(scored) == 3
    scores.report(None, stricter, start)  # type: ignore[arg-type]  # a replay of an earlier time: no stale future
    assert len(scored) == 4
