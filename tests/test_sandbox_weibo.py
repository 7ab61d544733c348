"""The Weibo replica over real loopback HTTP: shapes, paging, quirks, faults and the visibility clock."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from fengxiang.query import parse
from fengxiang.synthetic import BEIJING, generate_mentions
from nlp.clean import clean_post
from sandbox.scenario import LONG_TEXT_CHARS, Scenario, build_scenario, mid_to_bid
from sandbox.server import SandboxServer
from sandbox.weibo import WeiboReplica, render_created_at, render_text

NOW = datetime(2026, 11, 23, 20, 0, tzinfo=BEIJING)
POSTS = 800
BRAND = "启航汽车"
END_OF_RESULTS = '{"ok":0,"msg":"这里还没有内容","data":{"cards":[]}}'.encode()
NO_COMMENTS = {"ok": 0, "errno": "100011", "msg": "暂无数据"}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(POSTS, now=NOW)


@pytest.fixture(scope="module")
def base_url(scenario: Scenario) -> Iterator[str]:
    with SandboxServer([WeiboReplica(scenario, time_style="absolute")]) as server:
        yield server.base_url


# ------------------------------------------------------------------------------------------------ helpers


def fetch(url: str, *, cookie: str | None = None, data: dict | None = None) -> tuple[int, str, bytes]:
    """(status, content type, body) — errors are answers too."""
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def get_json(url: str, **kwargs: Any) -> dict:
    status, _, body = fetch(url, **kwargs)
    assert status == 200
    return json.loads(body)


def search_url(base_url: str, q: str, page: int | None = None, search_type: int = 61) -> str:
    containerid = quote(f"100103type={search_type}&q={q}&t=", safe="")
    url = f"{base_url}/api/container/getIndex?containerid={containerid}&page_type=searchall"
    return url if page is None else f"{url}&page={page}"


def mblogs(cards: list[dict]) -> list[dict]:
    """The posts of a page, the way a crawler has to read them."""
    found = []
    for card in cards:
        if str(card.get("card_type")) == "9" and "mblog" in card:
            found.append(card["mblog"])
        elif card.get("card_type") == 11:
            found.extend(mblogs(card.get("card_group", [])))
    return found


def crawl(base_url: str, q: str, search_type: int = 61) -> tuple[list[dict], list[dict]]:
    """Every page of a search: (the pages' data, the posts in order); ends on the exact end message."""
    pages: list[dict] = []
    posts: list[dict] = []
    for page in range(1, 1000):
        status, _, body = fetch(search_url(base_url, q, page, search_type))
        assert status == 200
        if body == END_OF_RESULTS:
            return pages, posts
        data = json.loads(body)["data"]
        pages.append(data)
        posts.extend(mblogs(data["cards"]))
    raise AssertionError("search never ended")


def absolute_time(text: str) -> datetime:
    return datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")


def followers(value: int | str) -> int:
    if isinstance(value, int):
        return value
    return round(float(value.removesuffix("万")) * 10_000)


# ------------------------------------------------------------------------------------------------- search


def test_search_pages_through_every_match_to_the_exact_end_message(scenario: Scenario, base_url: str) -> None:
    pages, posts = crawl(base_url, BRAND)
    expected = scenario.search(BRAND, "realtime")
    assert [post["mid"] for post in posts] == [post.mid for post in expected]
    assert len(pages) == -(-len(expected) // 10)
    assert [data["cardlistInfo"]["page"] for data in pages] == [*range(2, len(pages) + 1), None]
    assert all(data["cardlistInfo"]["total"] == len(expected) for data in pages)
    status, _, body = fetch(search_url(base_url, BRAND, len(pages) + 5))
    assert (status, body) == (200, END_OF_RESULTS)


def test_search_cards_come_in_every_real_shape(base_url: str) -> None:
    pages, _ = crawl(base_url, BRAND)
    cards = [card for data in pages for card in data["cards"]]
    assert any(card["card_type"] == "9" for card in cards)  # the type as a string
    groups = [card for card in cards if card["card_type"] == 11]
    assert any(inner["card_type"] in (9, "9") and "mblog" in inner for g in groups for inner in g["card_group"])
    no_post = [card for card in cards if not mblogs([card])]
    assert no_post and {card["card_type"] for card in no_post} <= {11, 58}
    assert any(card["card_type"] == 11 and card["card_group"][0]["card_type"] == 10 for card in no_post)
    post_card = next(card for card in cards if card["card_type"] == 9)
    bid = post_card["mblog"]["bid"]
    assert post_card["scheme"].startswith(f"https://m.weibo.cn/status/{bid}?mblogid={bid}&luicode=10000011&lfid=")
    for mblog in mblogs(cards):
        assert mblog["id"] == mblog["idstr"] == mblog["mid"] and mblog["bid"] == mid_to_bid(mblog["mid"])
        assert isinstance(mblog["user"]["id"], int) and isinstance(mblog["reposts_count"], int)
        assert "raw_text" not in mblog and mblog["visible"] == {"type": 0, "list_id": 0}
        if mblog["pic_num"]:
            assert len(mblog["pics"]) == mblog["pic_num"] == len(mblog["pic_ids"])


def test_realtime_search_is_newest_first_and_hot_search_by_engagement(base_url: str) -> None:
    _, realtime = crawl(base_url, BRAND, search_type=61)
    times = [absolute_time(mblog["created_at"]) for mblog in realtime]
    assert times == sorted(times, reverse=True)
    _, hot = crawl(base_url, BRAND, search_type=1)
    engagement = [m["reposts_count"] + m["comments_count"] + m["attitudes_count"] for m in hot]
    assert engagement == sorted(engagement, reverse=True) and engagement[0] > engagement[-1]
    assert {m["mid"] for m in hot} == {m["mid"] for m in realtime}


def test_fuzzy_search_returns_posts_the_watchlist_rejects(scenario: Scenario, base_url: str) -> None:
    _, posts = crawl(base_url, BRAND)
    mids = {mblog["mid"] for mblog in posts}
    noise = [post for post in scenario.posts if post.mid in scenario.fuzzy_noise_mids]
    assert {post.mid for post in noise if "启航" in post.text} <= mids
    assert any("启航" in post.text for post in noise)
    queries = [parse(entry["query"]) for entry in scenario.watchlist]
    for post in noise:
        assert not any(query.matches(post.full_text) for query in queries), post.full_text
    # Recruitment posts are found too; the watchlist's NOT 招聘 drops them.
    assert any("招聘" in clean_post(mblog["text"]).text for mblog in posts)


def test_max_pages_caps_the_search_like_the_real_site(scenario: Scenario) -> None:
    with SandboxServer([WeiboReplica(scenario, page_size=5, max_pages=3)]) as server:
        pages, posts = crawl(server.base_url, BRAND)
    assert len(pages) == 3 and len(posts) == 15 and pages[-1]["cardlistInfo"]["page"] is None


# ---------------------------------------------------------------------------------------------- post text


def test_every_post_cleans_back_to_its_plain_text(scenario: Scenario) -> None:
    replica = WeiboReplica(scenario, time_style="absolute")
    for post in scenario.posts:
        mblog = replica.mblog(post, NOW)
        listed = clean_post(mblog["text"]).text
        own = clean_post(post.text).text
        assert clean_post(render_text(post.text)).text == own  # what /statuses/extend serves
        assert mblog["isLongText"] == (post.mid in scenario.long_mids) == (len(post.text) > LONG_TEXT_CHARS)
        if mblog["isLongText"]:
            assert mblog["text"].endswith(f'...<a href="/status/{post.mid}">全文</a>')
            assert own.startswith(listed) and len(listed) >= LONG_TEXT_CHARS - 40
        else:
            assert listed == own, post.mid
        root = mblog.get("retweeted_status")
        assert (root is not None) == (post.retweeted is not None)
        if root is not None and not post.retweeted_deleted:
            assert f"weibo:{root['mid']}" == post.expected_parent_id


def test_full_text_of_every_post_equals_its_synthetic_mention(scenario: Scenario) -> None:
    mentions = {m["id"]: m for m in generate_mentions(POSTS, seed=7, end=NOW, days=3, analysed=False)}

    def root_of(mention_id: str) -> str:
        parent = mentions[mention_id].get("parent_id")
        return mention_id if parent is None else root_of(parent)

    planters = {scenario.bought_follower_uid, *scenario.kol_uids.values()}
    for post in scenario.posts:
        mention = mentions.get("weibo:" + post.mid)
        if mention is None:  # a planted post (or a repost of an influencer's), on a slot another platform's mention had
            assert post.mid in scenario.fuzzy_noise_mids or (post.retweeted or post).user.id in planters
        elif post.retweeted_deleted:
            assert mention["text"].startswith(post.full_text + "//@")
        else:
            assert post.full_text == mention["text"]
        if mention is not None and "parent_id" in mention:
            assert post.expected_parent_id == root_of(mention["id"])


def test_extend_returns_the_whole_long_text(scenario: Scenario, base_url: str) -> None:
    assert scenario.long_mids
    for mid in sorted(scenario.long_mids)[:10]:
        post = next(p for p in scenario.posts if p.mid == mid)
        answer = get_json(f"{base_url}/statuses/extend?id={mid}")
        assert answer["ok"] == 1 and answer["data"]["ok"] == 1
        assert clean_post(answer["data"]["longTextContent"]).text == clean_post(post.text).text
        assert answer["data"]["comments_count"] == post.comments
    assert get_json(f"{base_url}/statuses/extend?id=123")["ok"] == 0


def test_text_markup_is_the_real_sites(scenario: Scenario) -> None:
    replica = WeiboReplica(scenario, time_style="absolute")
    texts = [replica.mblog(post, NOW)["text"] for post in scenario.posts]
    assert any(
        '<span class="url-icon"><img alt=[怒] src="https://h5.sinaimg.cn/m/emoticon/icon/default/d_nu-' in t
        for t in texts
    )
    assert any('<span class="surl-text">#' in t and "containerid=231522type%3D1" in t for t in texts)
    assert any(re.search(r"//<a href='/n/[^']+'>@[^<]+</a>:", t) for t in texts)


def test_reposts_of_deleted_roots_show_the_deletion_notice(scenario: Scenario) -> None:
    replica = WeiboReplica(scenario)
    reposts = [post for post in scenario.posts if post.retweeted_deleted]
    assert reposts and scenario.deleted_root_mids
    for post in reposts:
        assert post.retweeted is not None and post.retweeted.mid in scenario.deleted_root_mids
        root = replica.mblog(post, NOW)["retweeted_status"]
        assert root["user"] is None and root["text"].startswith("抱歉，此微博已被作者删除。查看帮助：<a ")
        assert root["mid"] == post.retweeted.mid and scenario.post(root["mid"]) is None


# -------------------------------------------------------------------------------------- users and counts


def test_profile_card_and_printed_follower_counts(scenario: Scenario, base_url: str) -> None:
    for uid in [*sorted(scenario.big_accounts), scenario.bought_follower_uid]:
        user = scenario.users[uid]
        info = get_json(f"{base_url}/api/container/getIndex?containerid=100505{uid}")["data"]["userInfo"]
        assert (info["id"], info["screen_name"], info["verified"]) == (int(uid), user.screen_name, user.verified)
        assert followers(info["followers_count"]) == followers(info["followers_count_str"]) == user.followers
    by_type = get_json(f"{base_url}/api/container/getIndex?type=uid&value={scenario.bought_follower_uid}")
    assert by_type["data"]["userInfo"]["followers_count_str"] == "200万"
    assert fetch(f"{base_url}/api/container/getIndex?containerid=1005051")[2] == END_OF_RESULTS
    printed = [
        u for u in map(WeiboReplica(scenario)._user, scenario.users.values()) if isinstance(u["followers_count"], str)
    ]
    assert printed and all(re.fullmatch(r"\d+(\.\d)?万", u["followers_count"]) for u in printed)


def test_planted_accounts(scenario: Scenario) -> None:
    bought = [post for post in scenario.posts if post.user.id == scenario.bought_follower_uid]
    assert len(bought) >= 3 and all(post.engagement <= 2 for post in bought)
    assert scenario.users[scenario.bought_follower_uid].followers == 2_000_000
    assert scenario.big_accounts and all(scenario.users[uid].followers >= 500_000 for uid in scenario.big_accounts)
    wave = [post for post in scenario.posts if post.mid in scenario.wave_mids]
    assert len(wave) >= 5 and len({post.user.id for post in wave}) > len(wave) // 2
    assert all(post.user.followers < 100 for post in wave)
    incident = [post for post in scenario.posts if post.mid in scenario.incident_mids]
    assert incident and all("刹车" in post.full_text for post in incident)


# ---------------------------------------------------------------------------------------------- comments


def test_hotflow_pages_hottest_first_to_the_end(scenario: Scenario, base_url: str) -> None:
    post = max(scenario.posts, key=lambda p: len(scenario.hot_comments(p.mid)))
    expected = scenario.hot_comments(post.mid)
    assert len(expected) > 20
    url = f"{base_url}/comments/hotflow?id={post.mid}&mid={post.mid}&max_id_type=0"
    served, max_id = [], None
    while max_id != 0:
        answer = get_json(url if max_id is None else f"{url}&max_id={max_id}")
        assert answer["ok"] == 1 and answer["data"]["total_number"] == post.comments
        served.extend(answer["data"]["data"])
        max_id = answer["data"]["max_id"]
    assert [c["idstr"] for c in served] == [c.id for c in expected]
    assert [c["like_count"] for c in served] == sorted((c["like_count"] for c in served), reverse=True)
    first = served[0]
    assert first["rootidstr"] == first["idstr"] == str(first["id"]) and first["bid"] == post.bid
    assert first["comments"] is False or first["comments"][0]["rootidstr"] == first["idstr"]
    assert absolute_time(first["created_at"]) >= post.created_at and first["source"].startswith("来自")
    past_end = get_json(f"{url}&max_id={served[-1]['id']}")
    assert past_end == NO_COMMENTS
    quiet = next(p for p in scenario.posts if p.comments == 0)
    assert get_json(f"{base_url}/comments/hotflow?id={quiet.mid}&mid={quiet.mid}&max_id_type=0") == NO_COMMENTS


# ------------------------------------------------------------------------------------------ login probe


@pytest.mark.parametrize(
    ("cookie", "login"), [("SUB=_2A25LxYzAbCdEf; SUBP=0033", True), ("SUB=guest", False), (None, False)]
)
def test_api_config_says_whether_the_cookie_is_logged_in(base_url: str, cookie: str | None, login: bool) -> None:
    answer = get_json(f"{base_url}/api/config", cookie=cookie)
    assert answer["ok"] == 1 and answer["preferQuickapp"] == 0
    assert answer["data"]["login"] is login and re.fullmatch(r"[0-9a-f]{6}", answer["data"]["st"])
    assert ("uid" in answer["data"]) is login


# ------------------------------------------------------------------------------------------------ faults


@pytest.mark.parametrize("mode", ["http418", "http432", "login", "visitor", "truncated"])
def test_fault_modes_hit_only_the_chosen_requests(base_url: str, mode: str) -> None:
    url = search_url(base_url, BRAND)
    normal = fetch(url)
    fetch(f"{base_url}/__sandbox__/fault", data={"mode": mode, "count": 1, "after": 1, "path": "/api/container/"})
    try:
        assert fetch(url) == normal  # `after` lets one through
        status, content_type, body = fetch(url)
        assert fetch(url) == normal  # `count` was one
    finally:
        fetch(f"{base_url}/__sandbox__/reset", data={})
    if mode.startswith("http"):
        assert (status, body) == (int(mode[4:]), b"")
    elif mode == "login":
        assert status == 200 and json.loads(body)["ok"] == -100
        assert json.loads(body)["url"].startswith("https://passport.weibo.cn/signin/welcome?entry=mweibo")
    elif mode == "visitor":
        assert status == 200 and content_type.startswith("text/html")
        assert b"<title>Sina Visitor System</title>" in body and b"<script" in body
    else:
        assert (status, content_type) == normal[:2] and body == normal[2][: len(normal[2]) // 2]
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)


# --------------------------------------------------------------------------------------------- the clock


def test_advance_reveals_newer_posts_only() -> None:
    scenario = build_scenario(400, now=NOW, hold_back=timedelta(hours=3))
    with SandboxServer([WeiboReplica(scenario, time_style="absolute")]) as server:
        _, before = crawl(server.base_url, BRAND)
        until = scenario.visible_until
        assert until == NOW - timedelta(hours=3)
        assert all(absolute_time(m["created_at"]) <= until for m in before)
        moved = get_json(f"{server.base_url}/__sandbox__/weibo/advance", data={"minutes": 90})
        assert moved["visible_until"] == (until + timedelta(minutes=90)).isoformat()
        _, after = crawl(server.base_url, BRAND)
        new = after[: len(after) - len(before)]
        assert new and [m["mid"] for m in after[len(new) :]] == [m["mid"] for m in before]
        assert all(until < absolute_time(m["created_at"]) <= scenario.visible_until for m in new)
        get_json(f"{server.base_url}/__sandbox__/weibo/advance", data={"minutes": 10_000})
        summary = get_json(f"{server.base_url}/__sandbox__/weibo/scenario")
        assert summary["visible_until"] == NOW.isoformat() and summary["visible_posts"] == summary["posts"]
        assert fetch(f"{server.base_url}/__sandbox__/weibo/advance", data={"minutes": -5})[0] == 400


# ------------------------------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("ago", "printed"),
    [
        (timedelta(seconds=20), "刚刚"),
        (timedelta(minutes=7, seconds=5), "7分钟前"),
        (timedelta(hours=5, minutes=59), "5小时前"),
        (timedelta(hours=21), "昨天 23:00"),
        (timedelta(days=9), "11-14"),
        (timedelta(days=400), "2025-10-19"),
    ],
)
def test_relative_times(ago: timedelta, printed: str) -> None:
    assert render_created_at(NOW - ago, "relative", NOW) == printed


def test_absolute_time_and_mixed_style() -> None:
    assert render_created_at(datetime(2025, 11, 22, 10, 0, tzinfo=BEIJING), "absolute", NOW) == (
        "Sat Nov 22 10:00:00 +0800 2025"
    )
    scenario = build_scenario(300, now=NOW)
    replica = WeiboReplica(scenario, time_style="mixed")
    printed = [replica.mblog(post, NOW)["created_at"] for post in scenario.posts]
    relative = [text for text in printed if not text.endswith(" 2026")]
    assert 0.15 < len(relative) / len(printed) < 0.45
    assert all(re.fullmatch(r"刚刚|\d+分钟前|\d+小时前|昨天 \d\d:\d\d|\d\d-\d\d", text) for text in relative)


def test_same_seed_gives_the_same_bytes() -> None:
    def answers() -> list[bytes]:
        scenario = build_scenario(300, now=NOW)
        post = max(scenario.posts, key=lambda p: p.comments)
        with SandboxServer([WeiboReplica(scenario, time_style="absolute")]) as server:
            return [fetch(search_url(server.base_url, BRAND, page))[2] for page in (1, 2)] + [
                fetch(f"{server.base_url}/comments/hotflow?id={post.mid}&mid={post.mid}&max_id_type=0")[2]
            ]

    assert answers() == answers()
