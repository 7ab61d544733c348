"""Every dashboard page run by Streamlit's AppTest over a small world: the numbers shown are the store's."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
import yaml
from streamlit.testing.v1 import AppTest

from dashboard.data import Selection, kol_report
from dashboard.passwords import hash_password
from dashboard.widgets import number
from fengxiang.config import load_config
from fengxiang.query import parse
from fengxiang.stats import negative_share
from store.base import MentionFilter, Window
from store.model import author_key
from store.sqlite import SQLiteStore
from tests.dashboard_world import build_world, world_end

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
BRAND = "启航汽车"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime]:
    end = world_end()
    return build_world(tmp_path_factory.mktemp("world"), end), end


@pytest.fixture
def world_copy(world: tuple[Path, datetime], tmp_path: Path) -> tuple[Path, datetime]:
    """A private copy for tests that change the store (relabel, acknowledge)."""
    config, end = world
    for name in ("fengxiang.yaml", "store.db"):
        shutil.copy(config.parent / name, tmp_path / name)
    return tmp_path / "fengxiang.yaml", end


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture(autouse=True)
def keep_main_module() -> Iterator[None]:
    """AppTest leaves the app script installed as ``__main__``; multiprocessing's spawned workers
    (fengxiang ingest) would then run the dashboard instead of starting, and later tests hang."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def run_page(
    config: Path, end: datetime, page: str, monkeypatch: pytest.MonkeyPatch, brand: str | None = None
) -> AppTest:
    monkeypatch.setenv("FENGXIANG_CONFIG", str(config))
    app = AppTest.from_file(APP, default_timeout=120)
    app.session_state["until"] = end  # pin "now": the numbers below are computed for the same window
    app.session_state["range"] = "7 天"
    if brand:
        app.session_state["brand"] = brand
    app.run()
    if page != "overview":
        app.switch_page(f"views/{page}.py").run()
    assert not app.exception, app.exception
    return app


def selection(end: datetime, brand: str | None = BRAND) -> Selection:
    return Selection(brand, end - timedelta(days=7), end)


def metric_values(app: AppTest) -> dict[str, str]:
    return {item.label: item.value for item in app.metric}


def texts(app: AppTest) -> list[str]:
    return [item.value for item in app.text]


def test_overview_shows_the_stores_numbers(world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    config, end = world
    app = run_page(config, end, "overview", monkeypatch, brand=BRAND)
    with SQLiteStore(config.parent / "store.db") as store:
        window = selection(end).window
        counts = store.counts(window)
        audience = store.audience(window)
        share = negative_share(counts)
        where = MentionFilter(brand=BRAND, since=window.since, until=window.until)
        authors = {author_key(mention) for mention in store.iter_mentions(where)} - {None}
    assert audience.voices == len(authors)  # the rollup's answer, checked against every mention
    shown = metric_values(app)
    assert shown["声量"] == number(counts.total)
    assert shown["负面占比"] == f"{share:.1%}"
    assert shown["发声账号"] == number(audience.voices)
    assert shown["覆盖粉丝"] == number(audience.reach)
    assert counts.total > 0
    platforms = app.dataframe[0].value
    assert platforms["提及"].sum() == counts.total
    captions = " ".join(item.value for item in app.caption)
    assert "负面声量激增" in captions  # the incident is marked on the trend


def test_overview_of_every_brand_compares_their_share_of_voice(
    world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, end = world
    app = run_page(config, end, "overview", monkeypatch)
    voice = app.dataframe[1].value
    with SQLiteStore(config.parent / "store.db") as store:
        for brand, mentions in zip(voice["品牌"], voice["提及"], strict=True):
            assert mentions == store.counts(Window(end - timedelta(days=7), end, brand=brand)).total
    assert abs(voice["份额"].sum() - 1.0) < 1e-9
    assert voice["提及"].iloc[0] == voice["提及"].max()  # the incident brand leads


def test_mentions_are_the_newest_first_as_plain_text(
    world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, end = world
    app = run_page(config, end, "mentions", monkeypatch, brand=BRAND)
    with SQLiteStore(config.parent / "store.db") as store:
        newest = store.search(MentionFilter(brand=BRAND, since=end - timedelta(days=7), until=end), limit=1).items[0]
    assert texts(app)[1] == newest.text
    assert not [item for item in app.markdown if newest.text in item.value]  # never as Markdown
    assert app.get("popover"), "every card offers the sentiment correction"


def test_a_bad_search_is_shown_with_its_position(world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    config, end = world
    app = run_page(config, end, "mentions", monkeypatch, brand=BRAND)
    app.text_input(key="mentions_text").input("刹车 AND (").run()
    assert app.error[0].value.startswith("搜索条件有误")
    assert app.code[0].value.splitlines()[-1].endswith("^")
    app.text_input(key="mentions_text").input("刹车").run()
    assert not app.error
    assert all("刹车" in text for text in texts(app)[1::2])


def test_filtering_by_sentiment(world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    config, end = world
    app = run_page(config, end, "mentions", monkeypatch, brand=BRAND)
    app.multiselect(key="mentions_sentiment").select("负面").run()
    headers = texts(app)[0::2]
    assert headers and all(" · 负面" in header for header in headers)


def test_relabel_is_stored_shown_and_counted(
    world_copy: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, end = world_copy
    app = run_page(config, end, "mentions", monkeypatch, brand=BRAND)
    with SQLiteStore(config.parent / "store.db") as store:
        newest = store.search(MentionFilter(brand=BRAND, since=end - timedelta(days=7), until=end), limit=1).items[0]
        before = store.counts(selection(end).window).by_sentiment
    target = "positive" if newest.sentiment_label != "positive" else "negative"
    app.button(key=f"relabel-{target}-{newest.id}").click().run()
    assert not app.exception
    assert app.success[0].value.startswith("已更正为")
    assert "已人工更正" in texts(app)[0]
    with SQLiteStore(config.parent / "store.db") as store:
        stored = store.get(newest.id)
        after = store.counts(selection(end).window).by_sentiment
    assert stored is not None and stored.sentiment is not None
    assert (stored.sentiment.label, stored.sentiment.corrected_by) == (target, "看板")
    assert after[target] == before.get(target, 0) + 1


def test_hot_words_table_and_cloud(world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    config, end = world
    app = run_page(config, end, "hot_words", monkeypatch, brand=BRAND)
    with SQLiteStore(config.parent / "store.db") as store:
        top = store.top_keywords(selection(end).window, limit=30)
    table = app.dataframe[0].value
    assert list(zip(table["词"], table["提及"], strict=True)) == top
    assert app.get("image"), "the word cloud is drawn"


def test_kol_lists_the_candidates_with_their_components(
    world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, end = world
    app = run_page(config, end, "kol", monkeypatch, brand=BRAND)
    with SQLiteStore(config.parent / "store.db") as store:
        report = kol_report(store, load_config(config), selection(end))
    table = app.dataframe[0].value
    assert list(table["账号"]) == [author.name for author in report.candidates]
    assert list(table["KOL 分"]) == [round(author.score, 1) for author in report.candidates]
    assert {"覆盖", "互动", "影响力", "持续性"} <= set(table.columns)
    assert metric_values(app)["KOL 候选"] == str(len(report.candidates))


def test_kol_asks_for_a_brand(world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    config, end = world
    app = run_page(config, end, "kol", monkeypatch)
    assert "请在左侧选择一个监测词" in app.info[0].value


def test_alerts_list_acknowledge_and_resolve(
    world_copy: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, end = world_copy
    app = run_page(config, end, "alerts", monkeypatch, brand=BRAND)
    with SQLiteStore(config.parent / "store.db") as store:
        expected = [
            i for i in store.incidents(brand=BRAND, since=end - timedelta(days=7), limit=500) if i.opened_at < end
        ]
    table = app.dataframe[0].value
    assert list(table["编号"]) == [incident.pk for incident in expected]
    chosen = expected[0]
    assert chosen.status == "open"
    app.button(key=f"ack-{chosen.pk}").click().run()
    assert app.success[0].value == f"#{chosen.pk} 已确认"
    app.button(key=f"resolve-{chosen.pk}").click().run()
    with SQLiteStore(config.parent / "store.db") as store:
        stored = store.incident(chosen.pk)
        events = [event.kind for event in store.incident_events(chosen.pk)]
    assert stored is not None and stored.status == "resolved" and stored.acknowledged_by == "看板"
    assert events[-2:] == ["acknowledged", "resolved"]


def test_alert_detail_shows_the_posts_behind_it(world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    config, end = world
    app = run_page(config, end, "alerts", monkeypatch, brand=BRAND)
    with SQLiteStore(config.parent / "store.db") as store:
        newest = store.incidents(brand=BRAND, since=end - timedelta(days=7), limit=1)[0]
        evidence = [store.get(mention_id) for mention_id in newest.evidence[:20]]
    posts = [mention.text for mention in evidence if mention is not None]
    assert posts and set(posts) <= set(texts(app))


def test_sources_show_health_and_the_failing_one(world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    config, end = world
    app = run_page(config, end, "sources", monkeypatch)
    assert app.error[0].value == "最近一次运行失败：B站"
    table = app.dataframe[0].value.set_index("数据源")
    assert table.loc["微博（weibo）", "本次条数"] == 45
    assert "HTTP 418" in table.loc["B站（bilibili）", "最近错误"]


def test_a_password_guards_every_page(world_copy: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    config, _ = world_copy
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["dashboard"]["password_hash"] = hash_password("correct horse")
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("FENGXIANG_CONFIG", str(config))
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.metric and app.text_input[0].label == "密码"
    app.text_input[0].input("wrong")
    app.button[0].click().run()
    assert app.error[0].value == "密码不对，请重试"
    app.text_input[0].input("correct horse")
    app.button[0].click().run()
    assert "声量" in metric_values(app)


def test_watchlist_checks_the_query_as_typed_and_previews_matches(
    world: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, end = world
    app = run_page(config, end, "watchlist", monkeypatch)
    app.text_area[0].input("启航汽车 AND (刹车 OR").run()
    assert app.error[0].value.startswith("检索式有误")
    pointer = app.code[0].value.splitlines()
    assert pointer[0] == "启航汽车 AND (刹车 OR" and pointer[1].endswith("^")
    app.text_area[0].input("启航汽车 AND 刹车").run()
    with SQLiteStore(config.parent / "store.db") as store:
        where = MentionFilter(since=end - timedelta(days=7), until=end, text=parse("启航汽车 AND 刹车"))
        expected = sum(1 for _ in store.iter_mentions(where))
    assert 0 < expected < 1000
    assert app.success[0].value == f"语法正确。近 7 天已存储的提及中有 {expected} 条符合。"
    assert all("刹车" in text for text in texts(app)[1::2])


def test_watchlist_saves_the_file_and_the_dashboard_follows(
    world_copy: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, end = world_copy
    app = run_page(config, end, "watchlist", monkeypatch)
    app.selectbox(key="watchlist_choice").select("＋ 新建监测词").run()
    app.text_input(key="watchlist-new-name").input("云帆咖啡").run()
    app.text_area(key="watchlist-new-query").input("云帆咖啡 OR YUNFAN").run()
    app.button(key="watchlist-new-save").click().run()
    assert not app.exception and app.success[0].value.startswith("已保存“云帆咖啡”")
    assert load_config(config).entry_named("云帆咖啡") is not None
    assert "云帆咖啡" in app.selectbox(key="brand").options
    assert (config.parent / "fengxiang.yaml.bak").exists()
    assert config.read_text(encoding="utf-8").startswith("# the dashboard tests' world")  # comments kept


def test_watchlist_refuses_to_overwrite_someone_elses_edit(
    world_copy: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, end = world_copy
    app = run_page(config, end, "watchlist", monkeypatch)
    app.text_area[0].input("启航汽车 OR 启航Q7").run()
    elsewhere = config.read_text(encoding="utf-8").replace("dashboard tests' world", "edited by hand")
    config.write_text(elsewhere, encoding="utf-8")
    app.button(key="watchlist-0-save").click().run()
    assert app.error[0].value.startswith("没有保存")
    assert config.read_text(encoding="utf-8") == elsewhere


def test_single_sign_on_asks_to_log_in_first(
    world_copy: tuple[Path, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = world_copy
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["dashboard"]["oidc"] = True
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("FENGXIANG_CONFIG", str(config))
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.metric and "没有 [auth] 段" in app.error[0].value  # nothing to sign in with yet
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s3cret"}
    app.run()
    assert not app.metric and [button.label for button in app.button] == ["登录"]
