"""The sandbox robots themselves: their control endpoints, rolling rate window, faults and routes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.robot import RobotReplica
from sandbox.server import SandboxServer


@pytest.fixture
def robot() -> Iterator[RobotReplica]:
    replica = RobotReplica(limit=2, window=0.5)
    with SandboxServer([replica]):
        yield replica


def call(url: str, body: Any = None, method: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        content = error.read()
        try:
            return error.code, json.loads(content)
        except ValueError:
            return error.code, content.decode()


TEXT = {"msgtype": "text", "text": {"content": "你好"}}


def test_the_rate_window_rolls(robot: RobotReplica) -> None:
    url = robot.wecom_url("k")
    answers = [call(url, TEXT)[1]["errcode"] for _ in range(3)]
    assert answers == [0, 0, 45009]
    time.sleep(0.55)
    assert call(url, TEXT)[1]["errcode"] == 0
    assert call(robot.wecom_url("another-robot"), TEXT)[1]["errcode"] == 0  # the limit is per robot


def test_faults_messages_and_reset_over_http(robot: RobotReplica) -> None:
    base = robot.wecom_url("k").split("/cgi-bin")[0]
    assert call(f"{base}/__sandbox__/robot/fault", {"answer": "-1", "count": 2, "channel": "wecom"}) == (200, {"ok": 1})

    assert call(robot.dingtalk_url("t"), {"msgtype": "text", "text": {"content": "x"}})[1]["errcode"] == 0
    assert [call(robot.wecom_url("k"), TEXT)[1]["errcode"] for _ in range(3)] == [-1, -1, 0]

    status, listing = call(f"{base}/__sandbox__/robot/messages")
    assert status == 200 and [(m["channel"], m["key"]) for m in listing["messages"]] == [
        ("dingtalk", "t"),
        ("wecom", "k"),
    ]
    assert listing["messages"][1]["body"] == TEXT

    assert call(f"{base}/__sandbox__/robot/reset", {}) == (200, {"ok": 1})
    assert robot.messages == []
    assert call(f"{base}/__sandbox__/robot/fault", {"answer": "teapot"})[0] == 400


def test_the_gateway_answers_500_and_the_webhook_takes_any_json(robot: RobotReplica) -> None:
    robot.fail_next("500", channel="feishu")
    status, page = call(robot.feishu_url("tok"), {"msg_type": "text", "content": {"text": "x"}})
    assert status == 500 and "Internal Server Error" in page
    assert call(robot.webhook_url("ops"), {"anything": [1, 2]}) == (200, {"ok": True})
    assert call(robot.webhook_url("ops"), [1, 2])[0] == 400
    assert call(robot.feishu_url("").rstrip("/"), TEXT)[0] == 404  # the bare prefix is no robot


def test_fail_next_rejects_what_it_cannot_answer(robot: RobotReplica) -> None:
    with pytest.raises(ValueError, match="unknown answer"):
        robot.fail_next("sometimes")
    with pytest.raises(ValueError, match="unknown channel"):
        robot.fail_next("45009", channel="slack")


def test_keys_outside_the_configured_set_are_invalid() -> None:
    replica = RobotReplica(keys={"good"})
    with SandboxServer([replica]):
        assert call(replica.wecom_url("good"), TEXT)[1]["errcode"] == 0
        assert call(replica.wecom_url("bad"), TEXT)[1]["errcode"] == 93000
        assert call(replica.dingtalk_url("bad"), TEXT)[1]["errcode"] == 300001
        assert call(replica.feishu_url("bad"), {"msg_type": "text"})[1]["code"] == 19001
