"""Every alert channel against the sandbox robots over real loopback HTTP.

What the robot receives (shape, markup, @ of the on-duty members, signatures it accepts), how each
of its answers maps to sent / retry / failed, trimming to the robot's size limit, and that the
webhook URL — the robot's credential — shows up in no detail, repr or log line.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from alerts.channels import Channel, DingTalkChannel, FeishuChannel, WeComChannel, channel_for
from alerts.channels.http import post_json, scrub
from alerts.channels.wecom import wecom_delivery
from alerts.message import AlertMessage, Delivery, PostLine
from fengxiang.config import AlertChannel
from sandbox.robot import RobotReplica
from sandbox.server import SandboxServer

WECOM_KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_TOKEN, DINGTALK_SIGNED, DINGTALK_SECRET = "dt0c23a7f1e9b4", "dt9f8e7d6c5b4a", "SEC1a2b3c4d5e6f7a8b9c0d"
FEISHU_TOKEN, FEISHU_SIGNED, FEISHU_SECRET = "fs-b43e7bea-88fd", "fs-c55f8cfb-99ae", "qT5x8yNw2kLm"
KEYS = {WECOM_KEY, "wecom-limited", DINGTALK_TOKEN, DINGTALK_SIGNED, FEISHU_TOKEN, FEISHU_SIGNED}
CLIENT_TIMEOUT = timedelta(seconds=0.3)
LIMIT, WINDOW = 5, 2.0


@pytest.fixture(scope="module")
def robot() -> Iterator[RobotReplica]:
    replica = RobotReplica(
        keys=KEYS,
        secrets={DINGTALK_SIGNED: DINGTALK_SECRET, FEISHU_SIGNED: FEISHU_SECRET},
        limit=LIMIT,
        window=WINDOW,
        timeout_delay=1.0,
    )
    with SandboxServer([replica]) as server:
        yield replica
        server.faults.clear()


@pytest.fixture(autouse=True)
def fresh_robot(robot: RobotReplica) -> None:
    robot.reset()


# ------------------------------------------------------------------------------------------------ helpers


def config(kind: str, webhook: str, **fields: Any) -> AlertChannel:
    fields.setdefault("timeout", CLIENT_TIMEOUT)
    return AlertChannel(type=kind, webhook=webhook, name=f"{kind} 值班群", **fields)  # type: ignore[arg-type]


def post(text: str = "启航汽车刹车失灵，4S店还说是正常现象，太离谱了", **fields: Any) -> PostLine:
    values: dict[str, Any] = {
        "text": text,
        "url": "https://m.weibo.cn/status/5230754395068367",
        "author": "数码老王",
        "followers": 123_456,
        "engagement": 5321,
        "sentiment": "negative",
        "created_at": "2026-11-23T19:42:00+08:00",
        "copies": 5,
    }
    values.update(fields)
    return PostLine(**values)


def alert(severity: str = "critical", kind: str = "opened", posts: list[PostLine] | None = None) -> AlertMessage:
    return AlertMessage(
        kind=kind,  # type: ignore[arg-type]
        title="负面声量激增",
        severity=severity,  # type: ignore[arg-type]
        brand="启航汽车",
        rule="negative_spike",
        facts=[("负面提及", "42（基线 9.5，×4.4）"), ("时间窗", "最近 1 小时")],
        posts=[post()] if posts is None else posts,
        link="http://127.0.0.1:8501/incidents?id=12",
        incident_id=12,
        at="2026-11-23T20:00:00+08:00",
    )


def long_posts(count: int = 40) -> list[PostLine]:
    """Posts as long as a post line gets (80 characters of three-byte Chinese), each a different author."""
    return [post("舆情" * 30 + f"第{number}条", author=f"作者{number}" * 5) for number in range(count)]


def assert_secret_free(*things: object, secrets: tuple[str, ...]) -> None:
    for thing in things:
        text = repr(thing) + str(thing)
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {text!r}"


def wait_for_messages(robot: RobotReplica, count: int) -> None:
    """A held ("timeout") answer is still taken by the robot: wait for it, so it lands in this test."""
    deadline = time.monotonic() + 3
    while len(robot.messages) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(robot.messages) == count


def raw_post(url: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.loads(response.read())


def wecom(robot: RobotReplica, key: str = WECOM_KEY, **fields: Any) -> WeComChannel:
    fields.setdefault("mention_users", ["zhangsan", "lisi"])
    return WeComChannel(config("wecom", robot.wecom_url(key), **fields))


def dingtalk(robot: RobotReplica, token: str = DINGTALK_SIGNED, **fields: Any) -> DingTalkChannel:
    fields.setdefault("secret", DINGTALK_SECRET if token == DINGTALK_SIGNED else None)
    fields.setdefault("mention_users", ["manager4220"])
    fields.setdefault("mention_mobiles", ["13800001111"])
    clock = fields.pop("clock", time.time)
    return DingTalkChannel(config("dingtalk", robot.dingtalk_url(token), **fields), clock=clock)


def feishu(robot: RobotReplica, token: str = FEISHU_SIGNED, **fields: Any) -> FeishuChannel:
    fields.setdefault("secret", FEISHU_SECRET if token == FEISHU_SIGNED else None)
    fields.setdefault("mention_users", ["ou_7d8a6e6df7621556ce0d21922b676706", "duty@qihang.example"])
    clock = fields.pop("clock", time.time)
    return FeishuChannel(config("feishu", robot.feishu_url(token), **fields), clock=clock)


# ------------------------------------------------------------------------------------------------ WeCom


def test_wecom_posts_one_markdown_message_with_everything_the_team_needs(robot: RobotReplica) -> None:
    delivery = wecom(robot).send(alert(severity="high"))

    assert delivery == Delivery("sent", "errcode 0: ok")
    [message] = robot.messages
    assert (message.channel, message.key, message.body["msgtype"]) == ("wecom", WECOM_KEY, "markdown")
    content = message.body["markdown"]["content"]
    assert content.startswith("### 【橙色预警】启航汽车 · 负面声量激增\n")
    for expected in (
        "新预警 · 橙色 · 2026-11-23 20:00 · 事件 #12",
        "> 负面提及：**42（基线 9.5，×4.4）**",
        "**1.** 启航汽车刹车失灵，4S店还说是正常现象，太离谱了",
        "数码老王 · 粉丝 12.3万 · 互动 5321 · 同文 ×5 · 负面 · 11-23 19:42",
        "[原文](https://m.weibo.cn/status/5230754395068367)",
        "[查看详情](http://127.0.0.1:8501/incidents?id=12)",
    ):
        assert expected in content
    assert "<@" not in content  # not critical: nobody is called


def test_wecom_critical_calls_the_on_duty_members_by_id_and_by_mobile(robot: RobotReplica) -> None:
    channel = wecom(robot, mention_mobiles=["13800001111"])

    delivery = channel.send(alert(severity="critical"))

    assert delivery.outcome == "sent" and "on-duty @ by mobile sent" in delivery.detail
    markdown, text = robot.messages
    assert "\n<@zhangsan> <@lisi> 请值班同事立即处理\n" in markdown.body["markdown"]["content"]
    assert text.body == {
        "msgtype": "text",
        "text": {
            "content": "【红色预警】启航汽车 · 负面声量激增：请值班同事立即处理",
            "mentioned_mobile_list": ["13800001111"],
        },
    }


@pytest.mark.parametrize(("severity", "kind"), [("high", "opened"), ("critical", "resolved"), ("critical", "test")])
def test_wecom_calls_nobody_unless_a_critical_incident_opens_or_escalates(
    robot: RobotReplica, severity: str, kind: str
) -> None:
    wecom(robot, mention_mobiles=["13800001111"]).send(alert(severity, kind))

    [message] = robot.messages
    assert "<@" not in message.body["markdown"]["content"]


def test_wecom_never_calls_everyone_even_when_configured_ids_look_like_it(robot: RobotReplica) -> None:
    # The config refuses "all"; ids with markup in them are skipped here too.
    channel = wecom(robot, mention_users=["zhangsan", "<@all>", "a b"])
    content = channel.render(alert())["markdown"]["content"]
    assert re.findall(r"<@[^>]*>", content) == ["<@zhangsan>"]


@pytest.mark.parametrize(
    ("answer", "outcome", "retry_after", "code"),
    [
        ("45009", "retry", 60.0, "errcode 45009: api freq out of limit"),
        ("-1", "retry", None, "errcode -1: system busy"),
        ("93000", "failed", None, "errcode 93000: invalid webhook url"),
        ("40008", "failed", None, "errcode 40008: invalid message type"),
        ("40058", "failed", None, "errcode 40058: content exceed max length"),
        ("44004", "failed", None, "errcode 44004: empty content"),
        ("500", "retry", None, "HTTP 500"),
    ],
)
def test_wecom_answers_map_to_deliveries(
    robot: RobotReplica, answer: str, outcome: str, retry_after: float | None, code: str
) -> None:
    robot.fail_next(answer)
    channel = wecom(robot)

    delivery = channel.send(alert(severity="high"))

    assert (delivery.outcome, delivery.retry_after) == (outcome, retry_after)
    assert delivery.detail.startswith(code)
    assert robot.messages == []
    assert_secret_free(delivery, channel, secrets=(WECOM_KEY,))


def test_wecom_unknown_key_is_a_configuration_error_that_names_no_key(robot: RobotReplica) -> None:
    channel = wecom(robot, key="not-a-real-key-123")

    delivery = channel.send(alert())

    assert delivery.outcome == "failed"
    assert delivery.detail.startswith("errcode 93000: invalid webhook url")
    assert_secret_free(delivery, channel, secrets=("not-a-real-key-123",))


def test_wecom_rate_limit_of_the_robot_itself_is_a_retry_after_a_minute(robot: RobotReplica) -> None:
    channel = wecom(robot, key="wecom-limited")

    deliveries = [channel.send(alert(severity="low")) for _ in range(LIMIT + 1)]

    assert [d.outcome for d in deliveries] == ["sent"] * LIMIT + ["retry"]
    assert deliveries[-1].retry_after == 60.0 and deliveries[-1].detail.startswith("errcode 45009")
    assert len(robot.messages) == LIMIT


def test_wecom_mobile_follow_up_that_fails_does_not_resend_the_alert(robot: RobotReplica) -> None:
    channel = wecom(robot, key="wecom-limited", mention_mobiles=["13800001111"])
    for _ in range(LIMIT - 1):
        channel.send(alert(severity="low"))

    delivery = channel.send(alert())  # the alert takes the last slot; its @ follow-up hits the limit

    assert delivery.outcome == "sent"
    assert "the on-duty @ by mobile was not sent: errcode 45009" in delivery.detail


def test_wecom_timeout_is_a_retry(robot: RobotReplica) -> None:
    robot.fail_next("timeout")
    channel = wecom(robot)

    started = time.monotonic()
    delivery = channel.send(alert())

    assert delivery == Delivery("retry", "no answer within 0.3 s")
    assert time.monotonic() - started < 0.9
    assert_secret_free(delivery, channel, secrets=(WECOM_KEY,))
    wait_for_messages(robot, 1)  # the robot did post it: why the outbox retries only what it must


def test_wecom_trims_many_long_posts_to_4096_bytes_dropping_whole_posts(robot: RobotReplica) -> None:
    channel = wecom(robot)

    delivery = channel.send(alert(posts=long_posts(40)))

    assert delivery.outcome == "sent"  # the robot took it: within its limit
    content = robot.messages[0].body["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    shown = len(re.findall(r"^\*\*\d+\.\*\* ", content, re.MULTILINE))
    assert 0 < shown < 40
    assert f"另有 {40 - shown} 条未列出" in content
    assert content.count("<font") == content.count("</font>")
    assert content.count("[原文](") == shown
    assert "<@zhangsan> <@lisi>" in content  # the call to the on-duty members survives trimming
    assert content.rstrip().endswith("[查看详情](http://127.0.0.1:8501/incidents?id=12)")


def test_wecom_content_never_exceeds_4096_bytes_even_from_the_facts_alone() -> None:
    message = alert(posts=long_posts(10))
    huge = AlertMessage(**{**message.__dict__, "facts": [(f"指标{n}", "数值" * 80) for n in range(60)]})
    content = WeComChannel(config("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x")).render(huge)
    text = content["markdown"]["content"]
    assert len(text.encode("utf-8")) <= 4096
    assert text.endswith("（内容过长，其余已略）</font>")
    assert text.count("**") % 2 == 0


def test_wecom_hostile_posts_cannot_call_everyone_link_or_colour(robot: RobotReplica) -> None:
    hostile = [
        post("@all <@all> @所有人 快看", author="<@all>"),
        post("[点我领奖](http://evil.example) 或 http://evil.example/x", url="javascript:alert(1)"),
        post('<font color="warning">官方</font><a href="http://evil.example">通知</a>', author="**客服**"),
        post("# 标题\n> 引用\n- 列表\n\n第二段", url='https://m.weibo.cn/x"><a href="http://evil.example'),
    ]
    wecom(robot).send(alert(severity="high", posts=hostile))

    content = robot.messages[0].body["markdown"]["content"]
    assert "@" not in content  # not critical: no @ at all, of anyone
    assert "evil.example" not in content and "http://evil" not in content
    assert "<a" not in content
    links = re.findall(r"\]\(([^)]*)\)", content)
    weibo = "https://m.weibo.cn/status/5230754395068367"
    assert links == [weibo, weibo, "http://127.0.0.1:8501/incidents?id=12"]  # posts 2 and 4 had no link of ours
    assert content.count('<font color="warning">') == 1  # ours, on the meta line
    assert not re.search(r"^\s*(#|>|-)", content.split("**代表性帖文**")[1], re.MULTILINE)


def test_wecom_replica_checks_the_shape_like_the_real_robot(robot: RobotReplica) -> None:
    url = robot.wecom_url(WECOM_KEY)
    too_long = {"msgtype": "markdown", "markdown": {"content": "舆" * 1366}}  # 4098 bytes
    assert raw_post(url, json.dumps({"msgtype": "card"}).encode())["errcode"] == 40008
    answer = raw_post(url, json.dumps(too_long, ensure_ascii=False).encode())
    assert answer["errcode"] == 40058 and "exceed max length 4096" in answer["errmsg"]
    assert raw_post(url, b'{"msgtype": "markdown", "markdown": {"content": ""}}')["errcode"] == 44004
    assert raw_post(url, b"not json")["errcode"] == 40035
    assert wecom_delivery(answer, url).outcome == "failed"
    assert robot.messages == []


# ------------------------------------------------------------------------------------------------ DingTalk


def test_dingtalk_signed_markdown_is_accepted_and_calls_the_on_duty(robot: RobotReplica) -> None:
    delivery = dingtalk(robot).send(alert())

    assert delivery == Delivery("sent", "errcode 0: ok")
    [message] = robot.messages
    assert message.body["msgtype"] == "markdown"
    assert message.body["markdown"]["title"] == "【红色预警】启航汽车 · 负面声量激增"
    assert message.body["at"] == {"atMobiles": ["13800001111"], "atUserIds": ["manager4220"], "isAtAll": False}
    text = message.body["markdown"]["text"]
    assert text.startswith("### 🔴 【红色预警】启航汽车 · 负面声量激增\n\n")
    assert "@manager4220 @13800001111 请值班同事立即处理" in text
    assert "[原文](https://m.weibo.cn/status/5230754395068367)" in text


def test_dingtalk_non_critical_calls_nobody(robot: RobotReplica) -> None:
    body = dingtalk(robot).render(alert(severity="medium"))
    assert body["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": False}
    assert "@" not in body["markdown"]["text"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"secret": "SECwrong"}, "sign not match"),
        ({"clock": lambda: time.time() - 7200}, "invalid timestamp"),  # two hours off
        ({"secret": None}, "timestamp and sign are required"),
    ],
    ids=["wrong secret", "stale timestamp", "unsigned"],
)
def test_dingtalk_bad_signature_is_a_configuration_error(robot: RobotReplica, fields: dict, reason: str) -> None:
    channel = dingtalk(robot, **fields)

    delivery = channel.send(alert())

    assert delivery.outcome == "failed" and delivery.detail.startswith("errcode 310000")
    assert reason in delivery.detail
    assert_secret_free(delivery, channel, secrets=(DINGTALK_SIGNED, DINGTALK_SECRET))


@pytest.mark.parametrize(
    ("answer", "outcome", "retry_after", "code"),
    [
        ("45009", "retry", 60.0, "errcode 130101: send too fast"),
        ("-1", "retry", None, "errcode -1"),
        ("93000", "failed", None, "errcode 300001: token is not exist"),
        ("310000", "failed", None, "errcode 310000"),
        ("500", "retry", None, "HTTP 500"),
        ("timeout", "retry", None, "no answer within 0.3 s"),
    ],
)
def test_dingtalk_answers_map_to_deliveries(
    robot: RobotReplica, answer: str, outcome: str, retry_after: float | None, code: str
) -> None:
    robot.fail_next(answer, channel="dingtalk")
    channel = dingtalk(robot, token=DINGTALK_TOKEN)

    delivery = channel.send(alert())

    assert (delivery.outcome, delivery.retry_after) == (outcome, retry_after)
    assert delivery.detail.startswith(code)
    assert_secret_free(delivery, channel, secrets=(DINGTALK_TOKEN,))
    wait_for_messages(robot, 1 if answer == "timeout" else 0)


def test_dingtalk_rate_limit_of_the_robot_itself(robot: RobotReplica) -> None:
    channel = dingtalk(robot, token=DINGTALK_TOKEN)
    deliveries = [channel.send(alert(severity="low")) for _ in range(LIMIT + 1)]
    assert [d.outcome for d in deliveries][-2:] == ["sent", "retry"]
    assert deliveries[-1].detail.startswith("errcode 130101") and deliveries[-1].retry_after == 60.0


def test_dingtalk_trims_to_its_size_limit(robot: RobotReplica) -> None:
    delivery = dingtalk(robot).send(alert(posts=long_posts(120)))

    assert delivery.outcome == "sent"
    text = robot.messages[0].body["markdown"]["text"]
    assert len(text.encode("utf-8")) <= 20_000
    assert re.search(r"另有 \d+ 条未列出", text)


# ------------------------------------------------------------------------------------------------ Feishu


def test_feishu_signed_card_is_accepted_in_the_severity_colour(robot: RobotReplica) -> None:
    delivery = feishu(robot).send(alert())

    assert delivery == Delivery("sent", "code 0: success")
    [message] = robot.messages
    body = message.body
    assert body["msg_type"] == "interactive" and body["timestamp"].isdigit() and body["sign"]
    header = body["card"]["header"]
    assert header == {
        "title": {"tag": "plain_text", "content": "【红色预警】启航汽车 · 负面声量激增"},
        "template": "red",
    }
    markdown, action = body["card"]["elements"]
    content = markdown["text"]["content"]
    assert markdown["text"]["tag"] == "lark_md"
    assert "<at id=ou_7d8a6e6df7621556ce0d21922b676706></at> <at email=duty@qihang.example></at>" in content
    assert "[原文](https://m.weibo.cn/status/5230754395068367)" in content
    assert action["actions"][0]["url"] == "http://127.0.0.1:8501/incidents?id=12"


def test_feishu_non_critical_calls_nobody_and_needs_no_secret(robot: RobotReplica) -> None:
    delivery = feishu(robot, token=FEISHU_TOKEN).send(alert(severity="low", kind="resolved"))

    assert delivery.outcome == "sent"
    body = robot.messages[0].body
    assert "sign" not in body and body["card"]["header"]["template"] == "green"
    assert "<at" not in body["card"]["elements"][0]["text"]["content"]


def test_feishu_wrong_secret_is_refused(robot: RobotReplica) -> None:
    channel = feishu(robot, secret="not-the-secret")

    delivery = channel.send(alert())

    assert delivery.outcome == "failed" and delivery.detail.startswith("code 19021: sign match fail")
    assert_secret_free(delivery, channel, secrets=(FEISHU_SIGNED, FEISHU_SECRET))


@pytest.mark.parametrize(
    ("answer", "outcome", "code"),
    [
        ("45009", "retry", "code 9499: too many request"),  # sent with HTTP 400
        ("11232", "retry", "code 11232: frequency limited"),
        ("93000", "failed", "code 19001"),
        ("19024", "failed", "code 19024: Key Words Not Found"),
        ("500", "retry", "HTTP 500"),
    ],
)
def test_feishu_answers_map_to_deliveries(robot: RobotReplica, answer: str, outcome: str, code: str) -> None:
    robot.fail_next(answer, channel="feishu")
    channel = feishu(robot, token=FEISHU_TOKEN)

    delivery = channel.send(alert())

    assert delivery.outcome == outcome and delivery.detail.startswith(code)
    assert_secret_free(delivery, channel, secrets=(FEISHU_TOKEN,))


def test_feishu_request_stays_under_20_kb(robot: RobotReplica) -> None:
    delivery = feishu(robot).send(alert(posts=long_posts(150)))

    assert delivery.outcome == "sent"
    body = json.dumps(robot.messages[0].body, ensure_ascii=False, separators=(",", ":"))
    assert len(body.encode("utf-8")) <= 20 * 1024


def test_every_kind_of_message_passes_a_yujing_keyword_check() -> None:
    keyworded = RobotReplica(keywords=["预警"])
    with SandboxServer([keyworded]):
        for kind in ("opened", "escalated", "resolved", "test"):
            message = alert(severity="medium", kind=kind)
            assert DingTalkChannel(config("dingtalk", keyworded.dingtalk_url("t"))).send(message).outcome == "sent"
            assert FeishuChannel(config("feishu", keyworded.feishu_url("t"))).send(message).outcome == "sent"
        keyworded.keywords = ["日报"]
        refused = FeishuChannel(config("feishu", keyworded.feishu_url("t"))).send(alert())
        assert refused.detail.startswith("code 19024")


# ------------------------------------------------------------------------------------------------ plain webhook


def test_webhook_posts_the_alert_as_documented_json(robot: RobotReplica) -> None:
    channel = channel_for(config("webhook", robot.webhook_url("ops-bridge")))

    delivery = channel.send(alert())

    assert delivery == Delivery("sent", "HTTP 200")
    [message] = robot.messages
    body = message.body
    assert (body["source"], body["version"], body["summary"]) == ("fengxiang", 1, "【红色预警】启航汽车 · 负面声量激增")
    assert (
        AlertMessage.from_json_dict({k: v for k, v in body.items() if k in AlertMessage.__dataclass_fields__})
        == alert()
    )


@pytest.mark.parametrize(
    ("answer", "outcome"), [("45009", "retry"), ("-1", "retry"), ("93000", "failed"), ("500", "retry")]
)
def test_webhook_status_maps_to_deliveries(robot: RobotReplica, answer: str, outcome: str) -> None:
    robot.fail_next(answer, channel="webhook")
    assert channel_for(config("webhook", robot.webhook_url("ops-bridge"))).send(alert()).outcome == outcome


# ------------------------------------------------------------------------------------------------ the transport


def test_every_config_type_gets_its_channel(robot: RobotReplica) -> None:
    kinds = {"wecom": WeComChannel, "dingtalk": DingTalkChannel, "feishu": FeishuChannel}
    for kind, cls in kinds.items():
        channel: Channel = channel_for(config(kind, robot.wecom_url("x")))
        assert isinstance(channel, cls) and channel.label == f"{kind} 值班群"


def test_a_robot_that_is_down_is_a_retry_that_names_no_url() -> None:
    with SandboxServer([RobotReplica()]) as gone:
        url = f"{gone.base_url}/cgi-bin/webhook/send?key={WECOM_KEY}"
    channel = WeComChannel(config("wecom", url))

    delivery = channel.send(alert())

    assert delivery == Delivery("retry", "connection refused")
    assert_secret_free(delivery, channel, secrets=(WECOM_KEY, url))


def test_an_answer_that_is_not_the_robots_is_a_retry() -> None:
    with SandboxServer([RobotReplica()]) as server:
        server.faults.set("truncated", count=1)  # a body cut off on the way back
        delivery = WeComChannel(config("wecom", f"{server.base_url}/cgi-bin/webhook/send?key={WECOM_KEY}")).send(
            alert()
        )
    assert delivery == Delivery("retry", "HTTP 200 without the robot's answer")


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://qyapi.example/cgi-bin/webhook/send?key={WECOM_KEY}",
        f"http://qyapi.example:99999/cgi-bin/webhook/send?key={WECOM_KEY}",
        f"http://qyapi.example/cgi-bin/webhook/send?key={WECOM_KEY}&x=a b",
        f"qyapi/cgi-bin/webhook/send?key={WECOM_KEY}",
    ],
)
def test_a_broken_url_fails_without_repeating_it(url: str) -> None:
    delivery = post_json(url, {"msgtype": "text"}, timeout=0.3)
    assert isinstance(delivery, Delivery) and delivery.outcome == "failed"
    assert_secret_free(delivery, secrets=(WECOM_KEY, "qyapi"))


def test_robot_words_are_scrubbed_of_the_credential() -> None:
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
    assert scrub(f"invalid webhook url {WECOM_KEY}, hint: [x]", url) == "invalid webhook url ***, hint: [x]"
    feishu_url = "https://open.feishu.cn/open-apis/bot/v2/hook/b43e7bea-88fd-436e"
    assert scrub("token b43e7bea-88fd-436e invalid", feishu_url) == "token *** invalid"


def test_channels_show_their_label_never_their_url(robot: RobotReplica) -> None:
    channels = [
        wecom(robot),
        dingtalk(robot),
        feishu(robot),
        channel_for(config("webhook", robot.webhook_url("hook-n4me"))),
    ]
    assert [repr(channel) for channel in channels] == [
        "WeComChannel('wecom 值班群')",
        "DingTalkChannel('dingtalk 值班群')",
        "FeishuChannel('feishu 值班群')",
        "WebhookChannel('webhook 值班群')",
    ]
    assert_secret_free(
        *channels,
        *(vars(channel) for channel in channels),
        secrets=(WECOM_KEY, DINGTALK_SIGNED, DINGTALK_SECRET, FEISHU_SIGNED, FEISHU_SECRET, "hook-n4me"),
    )


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu", "webhook"])
def test_each_channel_carries_its_configured_rate_limit_to_the_sender(kind: str) -> None:
    config = AlertChannel(type=kind, webhook="https://robot.example/send?key=k", per_minute=7)  # type: ignore[arg-type]
    assert channel_for(config).per_minute == 7
