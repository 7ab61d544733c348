"""The alerts end to end: two weeks of synthetic mentions with an incident, `fengxiang alerts run`,
and the loopback WeCom robot that receives (or refuses) the messages."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
import yaml

from alerts.channels import channel_for
from alerts.sender import Sender
from fengxiang.cli import main
from fengxiang.config import load_config
from fengxiang.synthetic import BIG_BRAND as BIG_BRAND_PROFILE
from fengxiang.synthetic import demo_watchlist, generate_mentions
from sandbox.robot import RobotReplica
from store.model import Mention
from store.sqlite import SQLiteStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 11, 20, 0, 0, tzinfo=SHANGHAI)
INCIDENT = END - timedelta(days=4)  # where the generator starts the big brand's incident
QUIET_BRAND = "澜颜"
BIG_BRAND = BIG_BRAND_PROFILE.name


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding two weeks of the synthetic world, built once and copied per test."""
    folder = tmp_path_factory.mktemp("history")
    with SQLiteStore(folder / "store.db") as store:
        store.upsert(Mention.model_validate(m) for m in generate_mentions(20_000, seed=7, end=END, days=14))
    return folder / "store.db"


@pytest.fixture
def config_file(tmp_path: Path, history: Path, robot: RobotReplica) -> Path:
    robot.reset()
    (tmp_path / "store.db").write_bytes(history.read_bytes())
    config = {
        "store": "sqlite:///store.db",
        "watchlist": demo_watchlist(),
        "alerts": {"channels": [{"type": "wecom", "name": "公关值班群", "webhook": robot.wecom_url("duty")}]},
    }
    path = tmp_path / "fengxiang.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def alerts_run(config_file: Path, at: datetime, *options: str) -> int:
    return main(["alerts", "run", "--config", str(config_file), "--at", at.isoformat(), *options])


def run_alerts(config_file: Path, at: datetime, capsys: pytest.CaptureFixture[str]) -> dict:
    assert alerts_run(config_file, at, "--wait", "5", "--json") == 0
    return orjson.loads(capsys.readouterr().out)


def contents(robot: RobotReplica) -> list[str]:
    return [message.body["markdown"]["content"] for message in robot.messages_for("wecom", "duty")]


def test_the_incident_sends_one_clear_message_and_a_quiet_brand_none(
    config_file: Path, robot: RobotReplica, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_alerts(config_file, INCIDENT + timedelta(hours=4), capsys)
    spikes = [text for text in contents(robot) if "负面声量激增" in text]
    assert len(spikes) == 1
    [spike] = spikes
    assert BIG_BRAND in spike and "基线" in spike and "原文" in spike  # brand, numbers vs baseline, post links
    assert len(spike.encode()) <= 4096
    assert not [text for text in contents(robot) if QUIET_BRAND in text]
    assert result["delivery"]["failed"] == 0 and result["delivery"]["sent"] == len(contents(robot))

    before = len(robot.messages)
    again = run_alerts(config_file, INCIDENT + timedelta(hours=4), capsys)
    assert len(robot.messages) == before  # running again sends nothing new
    assert again["evaluation"]["queued"] == 0
    run_alerts(config_file, INCIDENT + timedelta(hours=4, minutes=10), capsys)
    assert len([text for text in contents(robot) if "负面声量激增" in text]) == 1  # the spike goes on: no repeat


def test_incidents_are_listed_and_the_backtest_explains_what_would_have_fired(
    config_file: Path, robot: RobotReplica, capsys: pytest.CaptureFixture[str]
) -> None:
    run_alerts(config_file, INCIDENT + timedelta(hours=4), capsys)
    assert main(["alerts", "list", "--config", str(config_file), "--since", "30d", "--json"]) == 0
    incidents = orjson.loads(capsys.readouterr().out)
    assert any(i["rule"] == "negative_spike" and i["brand"] == BIG_BRAND for i in incidents)

    assert main(["alerts", "backtest", "--config", str(config_file), "--days", "30", "--json"]) == 0
    findings = orjson.loads(capsys.readouterr().out)
    spike = next(f for f in findings if f["rule"] == "negative_spike" and f["brand"] == BIG_BRAND)
    assert spike["explanation"] and spike["episodes"]
    first = datetime.fromisoformat(spike["episodes"][0]["start"])
    assert INCIDENT - timedelta(hours=1) <= first <= INCIDENT + timedelta(hours=12)
    quiet = next(f for f in findings if f["rule"] == "negative_spike" and f["brand"] == QUIET_BRAND)
    assert quiet["episodes"] == []


def test_a_45009_storm_delivers_everything_once_when_the_limit_lifts(
    config_file: Path, robot: RobotReplica, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(config_file)
    robot.fail_next("45009", count=4)
    alerts_run(config_file, INCIDENT + timedelta(hours=4), "--wait", "0")
    capsys.readouterr()
    clock = [datetime.now(SHANGHAI)]
    channels = {channel.label: channel_for(channel) for channel in config.alerts.channels}
    with SQLiteStore(config_file.parent / "store.db") as store:
        queued = store.outbox_backlog()
        sender = Sender(
            store,
            channels,
            clock=lambda: clock[0],
            sleep=lambda s: clock.__setitem__(0, clock[0] + timedelta(seconds=s)),
        )
        sender.drain(until=clock[0] + timedelta(hours=1))
        backlog = store.outbox_backlog()
    assert backlog["pending"] == 0 and backlog["failed"] == 0 and backlog["sent"] == sum(queued.values())
    texts = contents(robot)
    assert len(texts) == len(set(texts)) == backlog["sent"]  # each once, none twice


def test_a_refused_key_is_recorded_as_a_visible_permanent_failure(
    config_file: Path, robot: RobotReplica, capsys: pytest.CaptureFixture[str]
) -> None:
    robot.fail_next("93000", count=100)
    code = alerts_run(config_file, INCIDENT + timedelta(hours=4), "--wait", "0")
    out = capsys.readouterr().out
    assert code == 1 and "93000" in out and "duty" not in out  # the key is a secret: never printed
    with SQLiteStore(config_file.parent / "store.db") as store:
        failed = store.outbox_items(status="failed")
    assert failed and all("93000" in (item.detail or item.last_error or "") for item in failed)
