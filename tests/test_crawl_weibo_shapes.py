"""m.weibo.cn answers → post dicts, on a hand-written page with the shapes the real site sends."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.spiders.weibo_shapes import (
    ShapeError,
    author_from_user,
    comment_url,
    comments_in,
    is_end_of_results,
    mblogs_in,
    post_from_comment,
    post_from_mblog,
    refusal_in,
    search_url,
)
from crawlers.times import TimeFormatError, parse_post_time
from store.model import Mention

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=BEIJING)
PAGE = json.loads((Path(__file__).parent / "fixtures" / "weibo" / "search_page.json").read_text())


def test_search_url_encodes_the_container_query_as_one_parameter() -> None:
    url = search_url("http://127.0.0.1:1", "启航 Q7", "61", 3)
    query = parse_qs(urlsplit(url).query)
    assert query["containerid"] == ["100103type=61&q=启航 Q7&t="]
    assert query["page_type"] == ["searchall"] and query["page"] == ["3"]
    assert "page=" not in search_url("http://x", "a", "61", 1)


def test_posts_are_found_in_plain_nested_and_string_typed_cards_only() -> None:
    ids = [mblog["id"] for mblog in mblogs_in(PAGE)]
    assert ids == ["5230754395068367", "5230754395068368", "5230754395068369"]


def test_an_answer_without_cards_is_a_shape_error() -> None:
    with pytest.raises(ShapeError):
        list(mblogs_in({"ok": 1, "data": {}}))


def test_end_of_results_is_recognised() -> None:
    assert is_end_of_results({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}})
    assert is_end_of_results({"ok": 0, "errno": "100011", "msg": "暂无数据"})
    assert not is_end_of_results(PAGE)
    assert not is_end_of_results({"ok": 0, "msg": "请求过于频繁，歇歇吧"})


def test_a_refusal_in_json_is_not_taken_for_the_end() -> None:
    assert refusal_in(PAGE) is None
    assert refusal_in({"ok": 0, "msg": "请求过于频繁，歇歇吧"}) == "Weibo answered ok=0: 请求过于频繁，歇歇吧"


def test_a_post_becomes_a_valid_mention_with_every_field() -> None:
    post = post_from_mblog(next(mblogs_in(PAGE)), now=NOW)
    mention = Mention.model_validate(post)
    assert mention.id == "weibo:5230754395068367"
    assert mention.url == "https://m.weibo.cn/detail/5230754395068367"
    assert mention.created_at == datetime(2026, 11, 21, 10, 0, tzinfo=BEIJING)
    assert (mention.metrics.reposts, mention.metrics.comments, mention.metrics.likes) == (12, 45, 230)
    assert mention.author is not None
    assert (mention.author.id, mention.author.name, mention.author.followers) == (
        "weibo:1642909335",
        "云江车主小周",
        12000,
    )
    assert mention.author.verified is False and mention.author.verified_type == -1
    assert post["region"] == "浙江" and post["pics"] == 2 and post["kind"] == "post"
    assert "<span" in mention.text  # cleaning is nlp's job; the crawler hands over what Weibo sent


def test_a_repost_of_a_deleted_post_keeps_its_parent_but_not_the_deleted_text() -> None:
    repost = post_from_mblog(list(mblogs_in(PAGE))[1], now=NOW)
    assert repost["parent_id"] == "weibo:5230754395060000" and repost["kind"] == "repost"
    assert repost["text"] == "转发微博"
    assert repost["metrics"]["reposts"] == 1_000_000  # "100万+"
    assert repost["pics"] == 1  # pics as a dict
    assert repost["created_at"] == "2026-11-22T11:55:00+08:00"  # 5分钟前
    assert repost["author"]["verified"] is True and repost["author"]["verified_reason"] == "潮汐财经官方微博"
    assert "parent_author" not in repost  # the deleted root's user is null


def test_a_repost_quotes_its_root_with_the_full_text_when_given() -> None:
    mblog = list(mblogs_in(PAGE))[2]
    short = post_from_mblog(mblog, now=NOW)
    assert short["text"].endswith("//@车评研究所:" + mblog["retweeted_status"]["text"])
    full = post_from_mblog(mblog, now=NOW, root_long_text="启航Q7的刹车问题，官方终于回应了：全部召回检查。")
    assert full["text"].endswith("//@车评研究所:启航Q7的刹车问题，官方终于回应了：全部召回检查。")
    assert full["created_at"] == "2026-11-21T21:15:00+08:00"  # 昨天 21:15


def test_a_repost_names_its_roots_author_as_parent_author() -> None:
    mention = Mention.model_validate(post_from_mblog(list(mblogs_in(PAGE))[2], now=NOW))
    assert mention.parent_id == "weibo:5230754395061111"
    assert mention.parent_author is not None
    assert (mention.parent_author.id, mention.parent_author.name, mention.parent_author.followers) == (
        "weibo:5566778899",
        "车评研究所",
        1_800_000,
    )
    assert mention.parent_author.verified is True and mention.parent_author.verified_type == 3
    assert Mention.model_validate_json(mention.model_dump_json()).parent_author == mention.parent_author
    assert mention.to_json_dict()["parent_author"]["id"] == "weibo:5566778899"


def test_a_post_without_id_or_with_an_unknown_time_is_a_shape_error() -> None:
    with pytest.raises(ShapeError):
        post_from_mblog({"text": "x", "created_at": "刚刚"}, now=NOW)
    with pytest.raises(ShapeError, match="unknown post time"):
        post_from_mblog({"id": "1", "text": "x", "created_at": "上周"}, now=NOW)


def test_comments_page_and_comment_mentions() -> None:
    answer = {
        "ok": 1,
        "data": {
            "data": [
                {
                    "created_at": "Sat Nov 22 09:30:00 +0800 2026",
                    "id": 5230800000000001,
                    "text": '同问<span class="url-icon"><img alt=[汗] src="x.png" /></span>',
                    "like_count": 17,
                    "source": "来自广东",
                    "user": {"id": 1, "screen_name": "甲", "followers_count": 5},
                },
                "not a comment",
            ],
            "total_number": 40,
            "max_id": 141000000000,
            "max_id_type": 0,
        },
    }
    comments, next_max_id = comments_in(answer)
    assert len(comments) == 1 and next_max_id == 141000000000
    record = post_from_comment(comments[0], post_id="weibo:5230754395068367", now=NOW)
    mention = Mention.model_validate(record)
    assert mention.id == "weibo:c5230800000000001" and mention.parent_id == "weibo:5230754395068367"
    assert mention.metrics.likes == 17 and record["region"] == "广东" and record["kind"] == "comment"
    assert "max_id=141" in comment_url("http://x", "5", 141, 0)


def test_author_without_id_is_none() -> None:
    assert author_from_user(None) is None and author_from_user({"screen_name": "x"}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sat Nov 22 10:00:00 +0800 2025", datetime(2025, 11, 22, 10, 0, tzinfo=BEIJING)),
        ("刚刚", NOW),
        ("5分钟前", NOW - timedelta(minutes=5)),
        ("3小时前", NOW - timedelta(hours=3)),
        ("今天 08:05", NOW.replace(hour=8, minute=5)),
        ("昨天 23:59", datetime(2026, 11, 21, 23, 59, tzinfo=BEIJING)),
        ("11-20", datetime(2026, 11, 20, tzinfo=BEIJING)),
        ("12-30", datetime(2025, 12, 30, tzinfo=BEIJING)),  # a date ahead of today is last year's
        ("2024-02-29", datetime(2024, 2, 29, tzinfo=BEIJING)),
        (1763776800, datetime(2025, 11, 22, 10, 0, tzinfo=BEIJING)),
        (1763776800000, datetime(2025, 11, 22, 10, 0, tzinfo=BEIJING)),
    ],
)
def test_every_time_format(text: object, expected: datetime) -> None:
    assert parse_post_time(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["", None, "上周", "2025-02-30", "25:99"])
def test_unreadable_times_are_reported(text: object) -> None:
    with pytest.raises(TimeFormatError):
        parse_post_time(text, now=NOW)
