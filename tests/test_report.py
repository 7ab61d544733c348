"""The daily report (舆情日报): two weeks of synthetic mentions with an incident, alert rules evaluated
on the incident day, then `fengxiang report` for that day — its numbers against `fengxiang stats`,
its incidents, its escaping of hostile posts, and its summary on the loopback WeCom robot."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
import yaml

from alerts.channels import channel_for
from alerts.channels.wecom import MAX_CONTENT_BYTES, WeComChannel
from alerts.evaluate import evaluate
from crawlers.login import CHROMIUM
from fengxiang.cli import main
from fengxiang.config import AlertChannel, Config, load_config
from fengxiang.report import DailyReport, build_report
from fengxiang.report_commands import queue_report, write_report_files
from fengxiang.report_render import summary_message, to_html, to_markdown
from fengxiang.synthetic import BIG_BRAND as BIG_BRAND_PROFILE
from fengxiang.synthetic import demo_watchlist, generate_mentions
from sandbox.robot import RobotReplica
from store.base import Window
from store.model import Mention
from store.sqlite import SQLiteStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 11, 20, 0, 0, tzinfo=SHANGHAI)
INCIDENT = END - timedelta(days=4)  # where the generator starts the big brand's incident
DAY = INCIDENT.date()
BIG_BRAND = BIG_BRAND_PROFILE.name
HOSTILE_TEXT = "<script>alert(1)</script> [点我领奖](javascript:alert(1)) # 标题 @all 启航汽车刹车失灵"
HOSTILE_AUTHOR = "<img src=x onerror=alert(2)>"
SAFE_URL = "https://m.weibo.cn/detail/5999999999999999"


def watchlist() -> list[dict]:
    entries = demo_watchlist()
    entries[0]["competitors"] = list(BIG_BRAND_PROFILE.competitors)
    return entries


def hostile(number: int, url: str, engagement: int) -> Mention:
    """A negative post of the incident day written to break out of the report's markup."""
    return Mention.model_validate(
        {
            "id": f"weibo:{5_999_999_999_999_990 + number}",
            "text": f"{HOSTILE_TEXT} {number}",
            "url": url,
            "created_at": INCIDENT + timedelta(hours=10, minutes=number),
            "author": {"id": f"66600{number}", "name": HOSTILE_AUTHOR, "followers": 10},
            "metrics": {"reposts": engagement, "comments": 0, "likes": 0},
            "sentiment": {"label": "negative"},
            "brands": [BIG_BRAND],
            "keywords": ["刹车失灵"],
        }
    )


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks of the synthetic world, the alert rules run through the incident day, and two hostile
    posts (one linked by javascript:, one by https:) more engaging than any other: built once."""
    path = tmp_path_factory.mktemp("history") / "store.db"
    config = Config.model_validate({"watchlist": watchlist()})  # no channels: incidents, no messages
    with SQLiteStore(path) as store:
        store.upsert(Mention.model_validate(m) for m in generate_mentions(20_000, seed=7, end=END, days=14))
        store.upsert([hostile(1, "javascript:alert(1)", 9_000_000), hostile(2, SAFE_URL, 8_000_000)])
        for hours in (2, 6, 12, 20):
            evaluate(store, config, INCIDENT + timedelta(hours=hours))
    return path


@pytest.fixture
def config_file(tmp_path: Path, history: Path, robot: RobotReplica) -> Path:
    robot.reset()
    (tmp_path / "store.db").write_bytes(history.read_bytes())
    config = {
        "store": "sqlite:///store.db",
        "watchlist": watchlist(),
        "alerts": {
            "channels": [{"type": "wecom", "name": "公关值班群", "webhook": robot.wecom_url("duty")}],
            "dashboard_url": "https://fengxiang.example.com",
        },
    }
    path = tmp_path / "fengxiang.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def report(config_file: Path) -> DailyReport:
    config = load_config(config_file)
    with SQLiteStore(config_file.parent / "store.db") as store:
        return build_report(store, config, DAY)


def run(config_file: Path, *options: str) -> int:
    return main(["report", "--config", str(config_file), *options])


def test_the_headline_numbers_are_those_of_fengxiang_stats(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, "--date", DAY.isoformat(), "--json") == 0
    data = orjson.loads(capsys.readouterr().out)
    window = ["--since", DAY.isoformat(), "--until", (DAY + timedelta(days=1)).isoformat()]
    assert main(["stats", "--config", str(config_file), *window, "--top", "5", "--json"]) == 0
    stats = orjson.loads(capsys.readouterr().out)
    headline = data["headline"]
    assert data["since"] == stats["since"] and data["until"] == stats["until"]
    for key in ("volume", "negative_share", "engagement"):
        assert headline[key] == stats[key]
    assert headline["sentiment"] == stats["sentiment"] and headline["platforms"] == stats["platforms"]
    assert headline["negatives"]["current"] == stats["sentiment"]["negative"]
    assert [w["word"] for w in data["hot_words"]] == [w["word"] for w in stats["top_keywords"]]
    assert [w["word"] for w in data["rising_words"]] == [w["word"] for w in stats["rising_keywords"]]
    assert headline["volume"]["current"] > 2 * headline["volume"]["previous"] > 0  # the incident day stands out


def test_every_change_is_against_the_day_before(config_file: Path, report: DailyReport) -> None:
    config = load_config(config_file)
    with SQLiteStore(config_file.parent / "store.db") as store:
        day_before = build_report(store, config, DAY - timedelta(days=1))
        counted = store.counts(Window(since=report.since - timedelta(days=1), until=report.since))
    headline = report.headline
    assert headline.volume.previous == day_before.headline.volume.current == counted.total
    assert headline.negatives.previous == day_before.headline.negatives.current == counted.by_sentiment["negative"]
    assert headline.incidents.previous == day_before.headline.incidents.current
    negatives_before = counted.by_sentiment["negative"]
    assert headline.negatives.change == round(
        ((headline.negatives.current or 0) - negatives_before) / negatives_before, 4
    )
    assert [point.start.date() for point in report.daily] == [DAY - timedelta(days=n) for n in range(6, -1, -1)]
    assert len(report.hourly) == 24 and sum(p.total for p in report.hourly) == headline.volume.current


def test_the_days_incidents_are_listed_with_their_first_source(config_file: Path, report: DailyReport) -> None:
    assert (report.headline.incidents.current or 0) > 0
    [spike] = [incident for incident in report.incidents if incident.rule == "negative_spike"]
    assert spike.brand == BIG_BRAND and spike.severity in ("high", "critical")
    assert report.incidents[0].severity == report.worst_severity  # most severe first
    with SQLiteStore(config_file.parent / "store.db") as store:
        [stored] = [i for i in store.incidents(limit=500) if i.pk == spike.pk]
        evidence = [store.get(mention_id) for mention_id in stored.evidence[:200]]
    earliest = min((m for m in evidence if m), key=lambda m: m.created_at)
    assert spike.first_source is not None and spike.first_source.id == earliest.id
    assert spike.authors > 1 and spike.platforms and spike.posts
    assert spike.sentiment.get("negative", 0) > 0
    text = to_markdown(report)
    assert "负面声量激增" in text and "首发" in text and earliest.url and earliest.url in text


def test_share_of_voice_counts_the_brand_against_its_competitors(report: DailyReport) -> None:
    [voice] = report.share_of_voice
    assert list(voice.counts) == [BIG_BRAND, *BIG_BRAND_PROFILE.competitors]
    assert voice.counts[BIG_BRAND] > max(voice.counts.values()) / 2
    assert sum(voice.share(name) or 0 for name in voice.counts) == pytest.approx(1.0)


def test_hostile_posts_are_inert_in_markdown_and_html(report: DailyReport) -> None:
    assert [post.text.split()[-1] for post in report.negatives[:2]] == ["1", "2"]  # the most engaging
    markdown, html = to_markdown(report), to_html(report)

    assert "<script" not in markdown and "<img" not in markdown and "](javascript" not in markdown.lower()
    assert "[点我领奖]" not in markdown and "@all" not in markdown
    assert not [line for line in markdown.splitlines() if line.startswith("#") and "标题" in line]
    assert f"[原文]({SAFE_URL})" in markdown  # the https post keeps its link

    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html  # shown, as text
    assert not re.search(r"href=\"(?!https?://)", html)  # every link is http(s)
    assert 'href="javascript' not in html.lower() and f'href="{SAFE_URL}"' in html


class _Tags(HTMLParser):
    """Every element and attribute of a page, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] == "style":
            self.styles.append(data)


def test_the_html_loads_nothing_from_outside(report: DailyReport) -> None:
    page = _Tags()
    page.feed(to_html(report))
    names = {tag for tag, _ in page.tags}
    assert {"svg", "style"} <= names
    assert not names & {"script", "link", "iframe", "img", "object", "embed", "image", "use", "base"}
    attributes = [(tag, name, value or "") for tag, attrs in page.tags for name, value in attrs.items()]
    assert not [a for a in attributes if a[1] in ("src", "srcset", "xlink:href") or a[1].startswith("on")]
    assert {tag for tag, name, _ in attributes if name == "href"} == {"a"}  # links to posts; nothing is loaded
    styles = "".join(page.styles) + "".join(value for _, name, value in attributes if name == "style")
    assert "url(" not in styles and "@import" not in styles


def test_an_empty_day_says_so(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config_file, "--date", "2026-10-01") == 0
    out = capsys.readouterr().out
    assert "no mentions" in out and "| 声量 | 0 | 0 | — |" in out
    config = load_config(config_file)
    with SQLiteStore(config_file.parent / "store.db") as store:
        empty = build_report(store, config, date(2026, 10, 1))
    assert empty.empty and "no mentions" in to_html(empty)
    assert not empty.incidents and not empty.negatives and not empty.kols


@pytest.mark.parametrize(
    ("date_text", "complaint"),
    [("2099-01-01", "in the future"), ("2026-13-01", "not a date"), ("last week", "not a date")],
)
def test_an_impossible_date_is_a_usage_error(
    config_file: Path, capsys: pytest.CaptureFixture[str], date_text: str, complaint: str
) -> None:
    assert run(config_file, "--date", date_text) == 2
    assert complaint in capsys.readouterr().err


def test_dash_o_writes_markdown_and_html_beside_it(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = config_file.parent / "out" / "daily.md"  # its folder does not exist yet
    assert run(config_file, "--date", DAY.isoformat(), "-o", str(target)) == 0
    assert capsys.readouterr().out == ""
    assert target.read_text(encoding="utf-8").startswith(f"# 舆情日报 · {DAY}")
    assert "<svg" in target.with_suffix(".html").read_text(encoding="utf-8")
    assert sorted(path.name for path in target.parent.iterdir()) == ["daily.html", "daily.md"]  # no temporaries


def test_the_service_writes_the_days_files_into_its_folder(tmp_path: Path, report: DailyReport) -> None:
    written = write_report_files(report, tmp_path / "reports" / "new")
    assert [path.name for path in written] == [f"{DAY}.md", f"{DAY}.html"]
    assert written[0].read_text(encoding="utf-8") == to_markdown(report)


def test_the_summary_reaches_the_wecom_robot_once_however_often_it_is_sent(
    config_file: Path, robot: RobotReplica, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, "--date", DAY.isoformat(), "--send", "-o", str(config_file.parent / "r.md")) == 0
    assert run(config_file, "--date", DAY.isoformat(), "--send", "-o", str(config_file.parent / "r.md")) == 0
    assert "already queued" in capsys.readouterr().err
    [message] = robot.messages_for("wecom", "duty")
    content = message.body["markdown"]["content"]
    assert len(content.encode()) <= MAX_CONTENT_BYTES
    assert f"【舆情日报】{DAY}" in content and "负面提及" in content and "代表性帖文" in content
    assert "[查看详情](https://fengxiang.example.com)" in content
    assert "＜script＞" in content and "<script" not in content and "](javascript" not in content  # inert text


def test_the_summary_fits_wecom_even_when_every_fact_is_long(report: DailyReport) -> None:
    channel = WeComChannel(AlertChannel.model_validate({"type": "wecom", "webhook": "https://robot.example/k"}))
    message = summary_message(report, "https://fengxiang.example.com")
    bloated = replace(message, facts=[(label, value * 40) for label, value in message.facts])
    assert len(channel.render(bloated)["markdown"]["content"].encode()) <= MAX_CONTENT_BYTES
    assert "（内容过长，其余已略）" in channel.render(bloated)["markdown"]["content"]


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu", "webhook"])
def test_every_channel_renders_the_summary(report: DailyReport, kind: str) -> None:
    channel = channel_for(AlertChannel.model_validate({"type": kind, "webhook": "https://robot.example/hook"}))
    body = orjson.dumps(channel.render(summary_message(report, "https://fengxiang.example.com"))).decode()
    assert "舆情日报" in body and "预警" in body  # DingTalk and Feishu robots may demand the keyword 预警
    assert f"{report.headline.volume.current:,}" in body


def test_queueing_a_day_twice_queues_it_once(config_file: Path, report: DailyReport) -> None:
    config = load_config(config_file)
    now = datetime(2026, 11, 17, 8, 30, tzinfo=SHANGHAI)
    with SQLiteStore(config_file.parent / "store.db") as store:
        assert queue_report(store, config, report, now) == 1
        assert queue_report(store, config, report, now + timedelta(hours=1)) == 0
        [item] = store.outbox_items()
    assert item.kind == "report" and item.dedupe_key == f"report:{DAY}:公关值班群"


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: `make system` installs it")
def test_pdf_is_printed_beside_the_markdown(config_file: Path) -> None:
    target = config_file.parent / "daily.md"
    assert run(config_file, "--date", DAY.isoformat(), "-o", str(target), "--pdf") == 0
    assert target.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
