"""Bilibili's WBI signing and answer shapes, read into post dicts (no network, no Scrapy)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.spiders.bilibili_shapes import (
    STALE_SIGNATURE,
    ShapeError,
    mixin_key,
    post_from_reply,
    post_from_video,
    refusal_in,
    replies_in,
    reply_url,
    search_url,
    sign,
    strip_markup,
    videos_in,
    wbi_keys_in,
)

# The worked example published with the WBI algorithm (bilibili-API-collect, docs/misc/sign/wbi.md).
IMG_KEY = "7cd084941338484aae1ad9425b84077c"
SUB_KEY = "4932caff0ff746eab6f01bf08b70ac45"
MIXIN = "ea1db124af3c7062474693fa704f4ff8"

NAV = {
    "code": -101,
    "message": "账号未登录",
    "ttl": 1,
    "data": {
        "isLogin": False,
        "wbi_img": {
            "img_url": f"https://i0.hdslb.com/bfs/wbi/{IMG_KEY}.png",
            "sub_url": f"https://i0.hdslb.com/bfs/wbi/{SUB_KEY}.png",
        },
    },
}

RESULT = {
    "type": "video",
    "id": 113500000012345,
    "author": "测评大刘",
    "mid": 4983469323,
    "aid": 113500000012345,
    "bvid": "BV1xx411c7mD",
    "title": '<em class="keyword">星河手机</em>影像实测：R&amp;D 团队的&#39;夜景&#39;',
    "description": "-",
    "play": "--",
    "video_review": 12,
    "favorites": 30,
    "review": 7,
    "like": 88,
    "pubdate": 1764241403,  # 2025-11-27 19:03:23 +08:00
    "duration": "5:21",
    "tag": "数码,测评",
}
VIEW = {
    "aid": 113500000012345,
    "bvid": "BV1xx411c7mD",
    "title": "星河手机影像实测：R&D 团队的'夜景'",
    "desc": "第二段：暗光对焦。",
    "owner": {"mid": 4983469323, "name": "测评大刘", "face": "https://i0.hdslb.com/bfs/face/x.jpg"},
    "stat": {"view": 5021, "danmaku": 12, "reply": 9, "favorite": 31, "coin": 40, "share": 6, "like": 90},
}
CARD = {"mid": "4983469323", "name": "测评大刘", "fans": 1_600_000, "Official": {"type": 0, "title": "知名数码UP主"}}


def test_the_mixin_key_of_the_published_example() -> None:
    assert mixin_key(IMG_KEY, SUB_KEY) == MIXIN


def test_signing_the_published_example_gives_its_w_rid() -> None:
    signed = sign({"foo": "114", "bar": "514", "zab": 1919810}, MIXIN, 1702204169)
    assert list(signed) == ["bar", "foo", "wts", "zab", "w_rid"]
    assert signed["w_rid"] == "8f6f2b5b3d485fe1886cec6a0be8c5d4"


def test_signing_strips_the_characters_the_site_strips_before_hashing() -> None:
    assert sign({"q": "a!b'c(d)e*f"}, MIXIN, 1)["q"] == "abcdef"
    assert sign({"q": "a!b'c(d)e*f"}, MIXIN, 1) == sign({"q": "abcdef"}, MIXIN, 1)


def test_keys_come_from_the_nav_file_stems_even_for_a_visitor() -> None:
    assert wbi_keys_in(NAV) == (IMG_KEY, SUB_KEY)
    with pytest.raises(ShapeError, match="wbi_img"):
        wbi_keys_in({"code": -101, "message": "账号未登录", "ttl": 1})
    with pytest.raises(ShapeError, match="32 characters"):
        mixin_key("short", SUB_KEY)


def test_search_and_reply_urls_are_signed() -> None:
    query = parse_qs(urlsplit(search_url("http://x", "星河 手机", 2, MIXIN, 1700000000)).query)
    assert query["keyword"] == ["星河 手机"] and query["order"] == ["pubdate"] and query["page"] == ["2"]
    params = {name: values[0] for name, values in query.items() if name not in ("w_rid", "wts")}
    assert sign(params, MIXIN, 1700000000)["w_rid"] == query["w_rid"][0]
    reply = parse_qs(urlsplit(reply_url("http://x", 42, '{"cursor":20}', MIXIN, 1)).query)
    assert reply["oid"] == ["42"] and reply["mode"] == ["3"]
    assert reply["pagination_str"] == ['{"offset":"{\\"cursor\\":20}"}']


def test_markup_and_entities_are_stripped() -> None:
    assert strip_markup(RESULT["title"]) == "星河手机影像实测：R&D 团队的'夜景'"
    assert strip_markup(None) == ""


def test_refusals_and_the_voucher_form_of_a_bad_signature() -> None:
    assert refusal_in({"code": 0, "data": {"result": []}}) is None
    assert refusal_in({"code": -412, "message": "请求被拦截"}) == (-412, "请求被拦截")
    assert refusal_in({"code": 0, "message": "0", "data": {"v_voucher": "voucher_1"}})[0] == STALE_SIGNATURE  # type: ignore[index]


def test_search_results_past_the_end_are_empty() -> None:
    assert videos_in({"code": 0, "data": {"numPages": 0}}) == []
    assert videos_in({"code": 0, "data": {"result": [RESULT, {"type": "bili_user"}]}}) == [RESULT]
    with pytest.raises(ShapeError):
        videos_in({"code": 0})


def test_a_video_with_its_stats_and_owner_card() -> None:
    post = post_from_video(RESULT, view=VIEW, card=CARD)
    assert post["id"] == "bilibili:BV1xx411c7mD" and post["platform"] == "bilibili" and post["kind"] == "video"
    assert post["url"] == "https://www.bilibili.com/video/BV1xx411c7mD"
    assert post["text"] == "星河手机影像实测：R&D 团队的'夜景'\n第二段：暗光对焦。"
    assert post["created_at"] == "2025-11-27T19:03:23+08:00"
    assert post["metrics"] == {"reposts": 6, "comments": 9, "likes": 90}
    assert (post["views"], post["danmaku"], post["favorites"], post["coins"]) == (5021, 12, 31, 40)
    assert post["author"] == {
        "id": "bilibili:4983469323",
        "name": "测评大刘",
        "followers": 1_600_000,
        "verified": True,
        "verified_type": 0,
        "verified_reason": "知名数码UP主",
    }


def test_a_video_from_the_search_result_alone() -> None:
    post = post_from_video(RESULT)
    assert post["text"] == "星河手机影像实测：R&D 团队的'夜景'"  # "-" is no description
    assert post["metrics"] == {"reposts": 0, "comments": 7, "likes": 88}
    assert post["views"] == 0  # "--"
    assert post["author"] == {"id": "bilibili:4983469323", "name": "测评大刘"}
    with pytest.raises(ShapeError, match="pubdate"):
        post_from_video({**RESULT, "pubdate": "昨天"})
    with pytest.raises(ShapeError, match="BV"):
        post_from_video({**RESULT, "bvid": None})


def _reply(rpid: int, like: int = 1) -> dict[str, object]:
    member = {"mid": "3000001", "uname": "路过的小透明", "official_verify": {"type": -1, "desc": ""}}
    return {"rpid": rpid, "ctime": 1764241500, "like": like, "member": member, "content": {"message": f"评论{rpid}"}}


def test_comments_put_pinned_first_once_and_follow_the_cursor() -> None:
    answer = {
        "code": 0,
        "data": {
            "cursor": {"is_end": False, "pagination_reply": {"next_offset": '{"cursor":20}'}},
            "top_replies": [_reply(3)],
            "replies": [_reply(1), _reply(3), _reply(2)],
        },
    }
    replies, offset = replies_in(answer)
    assert [reply["rpid"] for reply in replies] == [3, 1, 2] and offset == '{"cursor":20}'
    last = {
        "code": 0,
        "data": {"cursor": {"is_end": True, "pagination_reply": {}}, "replies": None, "top_replies": None},
    }
    assert replies_in(last) == ([], None)


def test_a_comment_becomes_a_mention_of_its_video() -> None:
    record = post_from_reply(_reply(245000000001, like=17), post_id="bilibili:BV1xx411c7mD")
    assert record["id"] == "bilibili:c245000000001" and record["parent_id"] == "bilibili:BV1xx411c7mD"
    assert record["kind"] == "comment" and record["text"] == "评论245000000001" and record["metrics"] == {"likes": 17}
    assert record["created_at"].endswith("+08:00")
    assert record["author"] == {
        "id": "bilibili:3000001",
        "name": "路过的小透明",
        "verified": False,
        "verified_type": -1,
    }
    assert record["url"] == "https://www.bilibili.com/video/BV1xx411c7mD#reply245000000001"
    with pytest.raises(ShapeError):
        post_from_reply({"rpid": 1}, post_id="bilibili:BV1")


def test_pubdate_is_read_in_beijing_time() -> None:
    from datetime import datetime

    created = datetime.fromisoformat(post_from_video(RESULT)["created_at"])
    assert created.utcoffset() == timedelta(hours=8)
