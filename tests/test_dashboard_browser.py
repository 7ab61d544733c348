"""The dashboard in a real browser: the Debian Chromium, driven by Playwright, against `fengxiang
dashboard` serving the small world of tests/dashboard_world.py.

Every page must render without an exception and show its key texts; a full-page screenshot of each
lands in test-artifacts/dashboard/<backend>/ for a person to look at. Everything runs twice: on a
SQLite store and on the Elasticsearch store (against tests/es_emulator.py). The 提及 page's sentiment
correction is clicked once and checked in the store. Two standards of DESIGN.md section 6 are checked where they
matter most, in the HTML the browser ends up with: a secret from the environment (an alert robot's
webhook) never reaches a page, and a post's text is shown as plain text — markup in it is neither
rendered nor run.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import BrowserContext, Locator, Page, expect, sync_playwright

from crawlers.login import CHROMIUM, CHROMIUM_ARGS
from fengxiang.config import Config, load_config
from fengxiang.dashboard_commands import serving
from store.base import Store
from store.open import open_store
from tests.conftest import make_mention
from tests.dashboard_world import SHANGHAI, build_world
from tests.es_emulator import EsEmulator

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing: the Debian chromium package is not installed; `make test` installs it",
)
pytestmark = [pytest.mark.slow, needs_chromium]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "dashboard"
TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1400, "height": 1000}

# A post whose text tries every way of becoming markup: HTML, a script, Markdown emphasis and a
# javascript: link (its URL is one too). The dashboard must show it character for character.
BRAND = "启航汽车"
MARKUP = "<b>粗体</b><script>alert(1)</script> **星号** [链接](javascript:alert(1))"
MARKUP_ID = "weibo:4999000000000001"

CHART = "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"


@dataclass(frozen=True)
class PageSpec:
    url_path: str  # "" for the default page: Streamlit serves it at / only (/overview says "Page not found")
    screenshot: str
    header: str  # the start of the page's st.header
    texts: tuple[str, ...]  # more texts the page must show: section titles and values from the world
    cells: tuple[str, ...] = ()  # texts in a table (st.dataframe draws on a canvas; its cells are an ARIA grid)
    brand: str | None = None  # chosen in the sidebar first (the KOL page needs one)
    drawing: str | None = None  # a chart or picture that must have been drawn


PAGES = [
    PageSpec("", "overview", "总览", ("声量", "负面占比", "声量趋势"), cells=("微博", BRAND), drawing=CHART),
    PageSpec("mentions", "mentions", "提及", ("更正情感",)),
    PageSpec("hot-words", "hot_words", "热词", ("词云", "高频词", "上升词"), drawing="[data-testid='stImage'] img"),
    PageSpec("kol", "kol", "KOL", ("KOL 候选", "为什么是他们", BRAND), brand=BRAND),
    PageSpec(
        "alerts",
        "alerts",
        "预警",
        ("查看事件", "时间线", "相关帖子", f"{BRAND} · "),
        cells=("进行中", BRAND),
        brand=BRAND,
    ),
    PageSpec(
        "sources",
        "sources",
        "数据源",
        ("最近一次运行失败", "失败", "每次运行的条数"),
        cells=("bilibili", "HTTP 418"),
        drawing=CHART,
    ),
    PageSpec("watchlist", "watchlist", "监测词", ("编辑", "检索式", "语法正确", BRAND)),
]


@dataclass
class Dashboard:
    url: str
    folder: Path
    log_file: Path
    token: str  # in the webhook URL the dashboard's environment holds: must never reach a page
    config: Config
    artifacts: Path  # where its screenshots go: one folder per store backend

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


def add_markup_post(store: Store) -> None:
    """The newest mention of the world (so the first card on 提及), written before the server starts."""
    at = (datetime.now(SHANGHAI) - timedelta(minutes=2)).replace(microsecond=0)
    mention = make_mention(
        MARKUP,
        id=MARKUP_ID,
        url="javascript:alert(1)",
        created_at=at,
        brands=[BRAND],
        sentiment={"label": "neutral"},
    )
    store.upsert([mention])


def world_with_webhook(folder: Path) -> Path:
    """The world's config plus a WeCom robot whose URL comes from ``$TEST_WEBHOOK`` (a secret)."""
    config = yaml.safe_load((folder / "fengxiang.yaml").read_text(encoding="utf-8"))
    config["alerts"] = {"channels": [{"type": "wecom", "webhook": "${TEST_WEBHOOK}"}]}
    path = folder / "dashboard.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=["sqlite", "es-emulator"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The world's store: a SQLite file, or the Elasticsearch store on the emulator (tests/es_emulator.py):
    the dashboard must work unchanged on either."""
    if request.param == "sqlite":
        yield "sqlite:///store.db"
        return
    with EsEmulator() as emulator:
        yield emulator.url


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory, store_url: str) -> Iterator[Dashboard]:
    backend = "sqlite" if store_url.startswith("sqlite") else "elasticsearch"
    folder = tmp_path_factory.mktemp("dashboard-world")
    # The generated posts end on an hour before our post, which ends before the dashboard's "now".
    end = (datetime.now(SHANGHAI) - timedelta(minutes=2)).replace(minute=0, second=0, microsecond=0)
    build_world(folder, end, store_url)
    token = uuid.uuid4().hex
    webhook = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={token}"
    config = load_config(world_with_webhook(folder), environ={**os.environ, "TEST_WEBHOOK": webhook})
    with closing(open_store(config)) as store:
        add_markup_post(store)
    log_file = folder / "dashboard.log"
    with log_file.open("w+b") as log, pytest.MonkeyPatch.context() as patch:
        # start() hands the environment to the server, whose config cannot load without the
        # variable: every page that renders proves the secret is live inside the dashboard.
        patch.setenv("TEST_WEBHOOK", webhook)
        with serving(config, log) as (url, _):
            patch.undo()
            yield Dashboard(url, folder, log_file, token, config, ARTIFACTS / backend)


@pytest.fixture(scope="module")
def browser_context() -> Iterator[BrowserContext]:
    """One Chromium and one context for the module: its HTTP cache spares every page a reload of
    Streamlit's scripts. Each tab is still a Streamlit session of its own."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        # A team in China: Chinese locale, Beijing time (charts draw times in the browser's zone).
        context = chromium.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(TIMEOUT_MS)
        yield context
        context.close()
        chromium.close()


@pytest.fixture
def tab(browser_context: BrowserContext, dashboard: Dashboard) -> Iterator[Page]:
    """A new tab (a new Streamlit session); no page may open a dialog — a script in a post ran."""
    page = browser_context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield page
    finally:
        page.close()
    assert not dialogs, f"a page opened a dialog (a script ran): {dialogs}"


@contextlib.contextmanager
def server_output_on_failure(dashboard: Dashboard) -> Iterator[None]:
    """Print the server's output when the block fails: pytest shows it beside the failure."""
    try:
        yield
    except BaseException:
        print(f"--- dashboard output ({dashboard.log_file}) ---\n{dashboard.log()}")
        raise


def wait_for_run(page: Page) -> None:
    """Until Streamlit is connected, has finished running the script and has drawn every element:
    what Streamlit's own end-to-end tests wait on (``wait_for_app_run`` in e2e_playwright/conftest.py)."""
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached")
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=TIMEOUT_MS)


def heading(page: Page, text: str) -> Locator:
    return page.get_by_role("heading", name=text).first


def open_page(page: Page, dashboard: Dashboard, url_path: str, header: str) -> None:
    page.goto(f"{dashboard.url}/{url_path}", wait_until="commit")
    expect(heading(page, header).or_(page.get_by_test_id("stException")).first).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_run(page)
    assert_no_exception(page)
    expect(page.get_by_text("Page not found"), f"/{url_path} is not a page of the app").to_have_count(0)
    expect(heading(page, header)).to_be_visible(timeout=TIMEOUT_MS)


def choose_brand(page: Page, header: str, brand: str) -> None:
    """Pick the brand in the sidebar; the page re-runs with its header naming the brand."""
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="监测词").click()
    page.get_by_role("option", name=brand, exact=True).click()
    expect(heading(page, f"{header} · {brand}")).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_run(page)
    assert_no_exception(page)


def assert_no_exception(page: Page) -> None:
    exceptions = page.get_by_test_id("stException")
    shown = [exceptions.nth(i).inner_text() for i in range(exceptions.count())]
    assert not shown, "the page shows an exception:\n" + "\n\n".join(shown)


def screenshot(page: Page, folder: Path, name: str) -> None:
    """The whole page. Streamlit scrolls inside its main area, not the document, so the window is
    made as tall as that area's content for the picture."""
    height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
            ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
                .map(element => element.scrollHeight))"""
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height), 12_000)})
    page.wait_for_timeout(300)  # charts re-lay themselves out to the new size
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True, animations="disabled")
    page.set_viewport_size(VIEWPORT)


@pytest.mark.parametrize("spec", PAGES, ids=[spec.screenshot for spec in PAGES])
def test_page_shows_its_key_texts_and_no_secret(tab: Page, dashboard: Dashboard, spec: PageSpec) -> None:
    with server_output_on_failure(dashboard):
        open_page(tab, dashboard, spec.url_path, spec.header)
        if spec.brand:
            choose_brand(tab, spec.header, spec.brand)
        main = tab.get_by_test_id("stMain")
        for text in spec.texts:
            expect(main.get_by_text(text).filter(visible=True).first, f"{text!r} on /{spec.url_path}").to_be_visible(
                timeout=TIMEOUT_MS
            )
        for text in spec.cells:
            expect(main.get_by_test_id("stDataFrame").get_by_text(text).first, f"{text!r} in a table").to_be_attached(
                timeout=TIMEOUT_MS
            )
        if spec.drawing:
            expect(main.locator(spec.drawing).first).to_be_visible(timeout=TIMEOUT_MS)
        screenshot(tab, dashboard.artifacts, spec.screenshot)
        assert dashboard.token not in tab.content(), f"the webhook's secret is in the HTML of /{spec.url_path}"


def test_post_text_is_shown_as_plain_text(tab: Page, dashboard: Dashboard) -> None:
    with server_output_on_failure(dashboard):
        open_page(tab, dashboard, "mentions", "提及")
        choose_brand(tab, "提及", BRAND)
        expect(tab.get_by_text(MARKUP, exact=True)).to_be_visible(timeout=TIMEOUT_MS)  # every character, as typed
        assert tab.locator("b", has_text="粗体").count() == 0
        assert tab.locator("strong, em", has_text="星号").count() == 0
        assert tab.locator("script", has_text="alert(1)").count() == 0
        assert tab.locator("a[href^='javascript']").count() == 0
        assert tab.get_by_role("link", name="链接").count() == 0


def test_relabel_from_the_mentions_page(tab: Page, dashboard: Dashboard) -> None:
    names = {"负面": "negative", "中性": "neutral", "正面": "positive"}
    with server_output_on_failure(dashboard):
        open_page(tab, dashboard, "mentions", "提及")
        expect(tab.get_by_text(MARKUP, exact=True)).to_be_visible(timeout=TIMEOUT_MS)  # the newest post: the first card
        tab.get_by_role("button", name="更正情感").first.click()
        popover = tab.get_by_test_id("stPopoverBody")
        expect(popover).to_be_visible(timeout=TIMEOUT_MS)
        choices = {name: popover.get_by_role("button", name=name, exact=True) for name in names}
        chosen = next(name for name, button in choices.items() if button.is_enabled())
        choices[chosen].click()

        expect(tab.get_by_text(f"已更正为{chosen}")).to_be_visible(timeout=TIMEOUT_MS)
        wait_for_run(tab)
        assert_no_exception(tab)
        expect(tab.get_by_text("已人工更正").first).to_be_visible(timeout=TIMEOUT_MS)
        tab.screenshot(path=dashboard.artifacts / "mentions_relabelled.png", animations="disabled")  # the top will do

    with closing(open_store(dashboard.config)) as store:
        corrected = store.corrections()
    assert [(m.id, m.sentiment.label if m.sentiment else None) for m in corrected] == [(MARKUP_ID, names[chosen])]
    assert corrected[0].sentiment is not None and corrected[0].sentiment.corrected_by


def test_the_secret_is_not_in_the_server_output(dashboard: Dashboard) -> None:
    assert dashboard.token not in dashboard.log()
