"""Xiaohongshu's request shapes and answers, read into post dicts (no network, no browser, no Scrapy)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.spiders.xiaohongshu_shapes import (
    STALE_SIGNATURE_CODE,
    ShapeError,
    author_from_user,
    comments_in,
    comments_uri,
    feed_body,
    json_body,
    note_card_in,
    note_id,
    note_id_time,
    notes_in,
    post_from_comment,
    post_from_note,
    readable_text,
    refusal_in,
    search_body,
    search_id,
    user_in,
    user_uri,
)

NOTE_ID = "6928f3a0000000001e03b7c2"  # an ObjectId: 0x6928f3a0 is 2025-11-28 08:58:08 +08:00
USER = {"user_id": "5f1a2b3c000000000101d8e4", "nickname": "爱喝奶茶的小鹿", "avatar": "https://sns-avatar/x.jpg"}
SEARCH = {
    "code": 0,
    "success": True,
    "msg": "成功",
    "data": {
        "has_more": True,
        "items": [
            {
                "id": NOTE_ID,
                "model_type": "note",
                "xsec_token": "ABxyz=",
                "note_card": {
                    "type": "normal",
                    "display_title": "星河手机夜景实测",
                    "user": {**USER, "nick_name": USER["nickname"]},
                    "interact_info": {"liked": False, "liked_count": "1.2万"},
                },
            },
            {"id": "rec_query_1", "model_type": "rec_query", "rec_query": {"queries": ["星河手机测评"]}},
            {"id": "hot_query_1", "model_type": "hot_query"},
        ],
    },
}
CARD = {
    "note_id": NOTE_ID,
    "type": "video",
    "title": "星河手机夜景实测",
    "desc": "暗光下对焦很快[赞R][笑哭R] #星河手机[话题]# #数码测评[话题]#",
    "time": 1764291488000,  # 2025-11-28 08:58:08 +08:00
    "last_update_time": 1764295000000,
    "ip_location": "广东",
    "user": USER,
    "interact_info": {
        "liked_count": "1.2万",
        "collected_count": "3562",
        "comment_count": "10+",
        "share_count": "",
    },
    "tag_list": [{"id": "1", "name": "星河手机", "type": "topic"}, {"id": "2", "name": "数码测评", "type": "topic"}],
}
FEED = {"code": 0, "success": True, "msg": "成功", "data": {"items": [{"id": NOTE_ID, "note_card": CARD}]}}
PROFILE = {
    "basic_info": {"nickname": "爱喝奶茶的小鹿", "red_id": "123456789", "ip_location": "广东"},
    "interactions": [
        {"type": "follows", "name": "关注", "count": "12"},
        {"type": "fans", "name": "粉丝", "count": "3.4万"},
        {"type": "interaction", "name": "获赞与收藏", "count": "20万"},
    ],
    "verify_info": {"red_official_verify_type": 1},
}


def _comment(comment_id: str, **extra: object) -> dict[str, object]:
    return {
        "id": comment_id,
        "note_id": NOTE_ID,
        "content": "求链接[哭惹R]",
        "create_time": 1764292000000,
        "ip_location": "上海",
        "like_count": "1.1万",
        "user_info": {"user_id": "60aa00000000000001000001", "nickname": "阿橘", "image": "https://x"},
        **extra,
    }


def test_the_search_body_asks_for_the_newest_notes_first() -> None:
    body = search_body("星河 手机", 2, "2f1k3")
    assert body == {
        "keyword": "星河 手机",
        "page": 2,
        "page_size": 20,
        "search_id": "2f1k3",
        "sort": "time_descending",
        "note_type": 0,
    }
    # The bytes sent are the bytes the page's JSON.stringify signed: compact, Chinese kept.
    assert json_body(body) == json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert "星河 手机" in json_body(body) and ", " not in json_body(body)


def test_a_search_id_is_base36_of_the_time_shifted_past_a_random_part() -> None:
    made = search_id(1_700_000_000_000, 12345)
    assert int(made, 36) == (1_700_000_000_000 << 64) + 12345
    assert search_id(1_700_000_000_000, 1) != search_id(1_700_000_000_001, 1)


def test_detail_comment_and_user_requests_carry_the_note_token() -> None:
    assert feed_body(NOTE_ID, "ABxyz=") == {
        "source_note_id": NOTE_ID,
        "image_formats": ["jpg", "webp", "avif"],
        "extra": {"need_body_topic": "1"},
        "xsec_source": "pc_search",
        "xsec_token": "ABxyz=",
    }
    uri = comments_uri(NOTE_ID, "", "ABxyz=")
    assert uri.startswith("/api/sns/web/v2/comment/page?")
    query = parse_qs(urlsplit(uri).query, keep_blank_values=True)
    assert query["note_id"] == [NOTE_ID] and query["cursor"] == [""] and query["xsec_token"] == ["ABxyz="]
    assert query["image_formats"] == ["jpg,webp,avif"]
    assert user_uri("5f1a") == "/api/sns/web/v1/user/otherinfo?target_user_id=5f1a"


def test_refusals_are_codes_in_the_answer() -> None:
    assert refusal_in(SEARCH) is None
    assert refusal_in({"code": -100, "success": False, "msg": "登录已过期"}) == (-100, "登录已过期")
    assert refusal_in({"code": STALE_SIGNATURE_CODE, "success": False})[0] == STALE_SIGNATURE_CODE  # type: ignore[index]
    assert refusal_in({"code": 0, "success": False, "msg": "x"}) == (0, "x")


def test_search_pages_keep_only_notes() -> None:
    items, has_more = notes_in(SEARCH)
    assert [item["id"] for item in items] == [NOTE_ID] and has_more
    assert notes_in({"code": 0, "success": True, "data": {"has_more": False}}) == ([], False)
    with pytest.raises(ShapeError):
        notes_in({"code": 0, "success": True})
    with pytest.raises(ShapeError):
        notes_in({"code": 0, "data": {"items": "none"}})


def test_a_note_id_is_an_object_id_whose_head_is_its_creation_time() -> None:
    assert note_id(SEARCH["data"]["items"][0]) == NOTE_ID  # type: ignore[index]
    assert note_id(CARD) == NOTE_ID
    assert note_id_time(NOTE_ID) == 0x6928F3A0
    for bad in ("12345", "6928F3A0000000001E03B7C2", None):
        with pytest.raises(ShapeError, match="24-hex"):
            note_id({"id": bad})


def test_the_sites_markup_is_read_the_way_a_reader_sees_it() -> None:
    assert readable_text(CARD["desc"]) == "暗光下对焦很快[赞][笑哭] #星河手机# #数码测评#"
    assert readable_text("[doge]不是贴纸R] #话题") == "[doge]不是贴纸R] #话题"
    assert readable_text(None) == ""


def test_a_note_with_its_authors_profile() -> None:
    post = post_from_note(note_card_in(FEED), profile=user_in({"code": 0, "success": True, "data": PROFILE}))
    assert post["id"] == f"xiaohongshu:{NOTE_ID}" and post["platform"] == "xiaohongshu"
    assert post["url"] == f"https://www.xiaohongshu.com/explore/{NOTE_ID}"
    assert post["text"] == "星河手机夜景实测\n暗光下对焦很快[赞][笑哭] #星河手机# #数码测评#"
    assert post["created_at"] == "2025-11-28T08:58:08+08:00"
    assert post["metrics"] == {"reposts": 0, "comments": 10, "likes": 12_000}
    assert post["favorites"] == 3562 and post["kind"] == "video"
    assert post["region"] == "广东" and post["tags"] == ["星河手机", "数码测评"]
    assert post["author"] == {
        "id": "xiaohongshu:5f1a2b3c000000000101d8e4",
        "name": "爱喝奶茶的小鹿",
        "followers": 34_000,
        "verified": True,
        "verified_type": 1,
    }


def test_a_note_without_title_or_profile() -> None:
    post = post_from_note({**CARD, "title": "", "type": "normal", "user": {"user_id": "5f1a", "nick_name": "鹿"}})
    assert post["text"] == "暗光下对焦很快[赞][笑哭] #星河手机# #数码测评#" and post["kind"] == "note"
    assert post["author"] == {"id": "xiaohongshu:5f1a", "name": "鹿"}
    unverified = author_from_user(USER, {**PROFILE, "verify_info": {"red_official_verify_type": 0}})
    assert unverified is not None and (unverified["verified"], unverified["verified_type"]) == (False, 0)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"time": 1764291488}, "milliseconds"),
        ({"time": "昨天"}, "milliseconds"),
        ({"title": "", "desc": ""}, "neither title nor desc"),
        ({"note_id": "x"}, "24-hex"),
    ],
)
def test_a_note_in_an_unknown_shape_is_refused(change: dict[str, object], words: str) -> None:
    with pytest.raises(ShapeError, match=words):
        post_from_note({**CARD, **change})


def test_a_feed_answer_without_the_note_is_refused() -> None:
    with pytest.raises(ShapeError, match="note_card"):
        note_card_in({"code": 0, "success": True, "data": {"items": []}})


def test_comments_come_with_their_replies_and_a_cursor() -> None:
    reply = _comment("6928f4000000000000000003", target_comment={"id": "6928f4000000000000000001"})
    answer = {
        "code": 0,
        "success": True,
        "data": {
            "comments": [
                _comment("6928f4000000000000000001", sub_comments=[reply], sub_comment_has_more=False),
                _comment("6928f4000000000000000002", sub_comments=[]),
            ],
            "cursor": "6928f4000000000000000002",
            "has_more": True,
        },
    }
    comments, cursor = comments_in(answer)
    assert [c["id"][-1] for c in comments] == ["1", "3", "2"] and cursor == "6928f4000000000000000002"
    last = {"code": 0, "success": True, "data": {"comments": [], "cursor": "", "has_more": False}}
    assert comments_in(last) == ([], None)
    with pytest.raises(ShapeError):
        comments_in({"code": 0, "success": True})


def test_a_comment_and_a_reply_become_mentions_of_the_note() -> None:
    post_id = f"xiaohongshu:{NOTE_ID}"
    record = post_from_comment(_comment("6928f4000000000000000001"), post_id=post_id)
    assert record["id"] == "xiaohongshu:c6928f4000000000000000001" and record["parent_id"] == post_id
    assert record["text"] == "求链接[哭惹]" and record["metrics"] == {"likes": 11_000} and record["kind"] == "comment"
    assert record["url"] == f"https://www.xiaohongshu.com/explore/{NOTE_ID}#comment-6928f4000000000000000001"
    assert datetime.fromisoformat(record["created_at"]).utcoffset() == timedelta(hours=8)
    assert record["author"] == {"id": "xiaohongshu:60aa00000000000001000001", "name": "阿橘"}
    assert "reply_to" not in record and record["region"] == "上海"
    reply = post_from_comment(
        _comment("6928f4000000000000000003", target_comment={"id": "6928f4000000000000000001"}), post_id=post_id
    )
    assert reply["parent_id"] == post_id and reply["reply_to"] == "xiaohongshu:c6928f4000000000000000001"
    with pytest.raises(ShapeError):
        post_from_comment({"id": "1"}, post_id=post_id)
    with pytest.raises(ShapeError, match="milliseconds"):
        post_from_comment(_comment("1", create_time=None), post_id=post_id)


def test_a_profile_answer_without_basic_info_is_refused() -> None:
    with pytest.raises(ShapeError, match="basic_info"):
        user_in({"code": 0, "success": True, "data": {"interactions": []}})
