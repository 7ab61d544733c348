"""Zhihu's API paths and answer shapes, read into post dicts (no network, no Scrapy)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.spiders.zhihu_shapes import (
    STALE_SIGNATURE,
    ShapeError,
    author_from,
    author_token,
    comment_path,
    comments_in,
    error_in,
    html_to_text,
    member_path,
    post_from_comment,
    post_from_content,
    result_object,
    search_path,
    search_results_in,
    strip_highlight,
)

AUTHOR = {
    "id": "84b4beefb596397cf5cf24132cc6cb2c",
    "url_token": "ce-ping-da-liu",
    "name": "测评大刘",
    "headline": "数码博主",
    "type": "people",
    "user_type": "people",
    "badge": [{"type": "identity", "description": "数码博主"}],
    "badge_v2": {
        "title": "数码博主",
        "merged_badges": [{"type": "identity", "title": "认证", "description": "数码博主"}],
        "detail_badges": [],
    },
}
ANONYMOUS = {"id": "0", "url_token": "", "name": "匿名用户", "type": "people", "badge": [], "badge_v2": {}}
ANSWER = {
    "id": "1900000000000102059",
    "type": "answer",
    "excerpt": "用了半年，<em>星河手机</em>的续航……",
    "content": (
        '<p data-pid="a1">用了半年，<em>星河手机</em>的续航还行。<br/>拍照 R&amp;D 下了功夫。</p>'
        '<figure data-size="normal"><noscript><img src="https://picx.zhimg.com/v2-a.jpg"/></noscript>'
        '<img src="https://picx.zhimg.com/v2-a.jpg"/><figcaption>夜景样张</figcaption></figure>'
        '<p>详见<a href="https://link.zhihu.com/?target=https%3A//example.com">测评原文</a>。</p><p></p>'
    ),
    "voteup_count": 321,
    "comment_count": 17,
    "created_time": 1764241403,  # 2025-11-27 19:03:23 +08:00
    "updated_time": 1764245003,
    "question": {"id": "620000000012", "type": "question", "name": "如何评价「<em>星河手机</em>」？"},
    "author": AUTHOR,
}
ARTICLE = {
    "id": 1899000000000000001,  # a number here: ids come either way
    "type": "article",
    "title": "聊聊<em>澜颜</em>的售后 &amp; 退款",
    "excerpt": "……",
    "content": "<p>第一段。</p><p>第二段。</p>",
    "voteup_count": "12",
    "comment_count": 0,
    "created_time": 1764241500,
    "author": {**AUTHOR, "user_type": "organization", "badge_v2": {}, "badge": []},
}
MEMBER = {**AUTHOR, "follower_count": 160_000, "is_org": False}


def _result(found: Any) -> dict[str, Any]:
    return {"type": "search_result", "highlight": {"title": "", "description": ""}, "object": found}


def _search_answer(*items: Any, is_end: bool = False) -> dict[str, Any]:
    paging = {"is_end": is_end, "next": "https://www.zhihu.com/api/v4/search_v3?q=x&offset=20&lc_idx=20&limit=20"}
    return {"paging": paging, "data": list(items)}


def test_search_path_asks_for_the_newest_first_and_pages_by_offset() -> None:
    path = search_path("星河 手机", 40)
    assert path.startswith("/api/v4/search_v3?")
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    assert query["q"] == ["星河 手机"] and query["offset"] == ["40"] and query["lc_idx"] == ["40"]
    assert query["sort"] == ["created_time"] and query["search_source"] == ["Filter"] and query["t"] == ["general"]
    assert query["filter_fields"] == [""]


def test_member_and_comment_paths() -> None:
    member = urlsplit(member_path("ce-ping-da-liu"))
    assert member.path == "/api/v4/members/ce-ping-da-liu" and "follower_count" in parse_qs(member.query)["include"][0]
    comments = urlsplit(comment_path("article", "1899", "123_456_0"))
    assert comments.path == "/api/v4/comment_v5/articles/1899/root_comment"
    assert parse_qs(comments.query) == {"order_by": ["score"], "limit": ["20"], "offset": ["123_456_0"]}
    assert parse_qs(urlsplit(comment_path("answer", "1", "")).query, keep_blank_values=True)["offset"] == [""]


def test_refusals_are_read_from_the_error_object() -> None:
    assert error_in({"paging": {}, "data": []}) is None
    stale = {"error": {"message": "请求参数异常，请升级客户端后重试。", "code": STALE_SIGNATURE}}
    assert error_in(stale) == (10003, "请求参数异常，请升级客户端后重试。")
    assert error_in({"error": {"code": "40362"}}) == (40362, "no message")
    assert error_in({"error": "oops"}) == (-1, "oops")


def test_search_keeps_answers_and_articles_and_skips_other_cards() -> None:
    zvideo = _result({"type": "zvideo", "id": "5"})
    broken = _result(None)
    answer = _search_answer(
        {"type": "relevant_query", "query_list": []},
        _result(ANSWER),
        {"type": "knowledge_ad", "object": {"header": {}}},
        zvideo,
        {"type": "koc_box"},
        _result(ARTICLE),
        broken,
    )
    results, offset = search_results_in(answer)
    assert results == [_result(ANSWER), _result(ARTICLE), broken]  # the broken one is counted, not lost
    assert offset == 20
    with pytest.raises(ShapeError, match="without its object"):
        result_object(broken)
    assert result_object(_result(ARTICLE)) is ARTICLE
    assert search_results_in(_search_answer(is_end=True)) == ([], None)
    with pytest.raises(ShapeError):
        search_results_in({"paging": {"is_end": True}})
    with pytest.raises(ShapeError, match="next"):
        search_results_in({"paging": {"is_end": False}, "data": []})


def test_highlights_and_entities_are_stripped() -> None:
    assert strip_highlight("聊聊<em>澜颜</em>的售后 &amp; 退款") == "聊聊澜颜的售后 & 退款"
    assert strip_highlight(None) == ""


def test_html_becomes_lines_of_plain_text() -> None:
    assert (
        html_to_text(ANSWER["content"])
        == "用了半年，星河手机的续航还行。\n拍照 R&D 下了功夫。\n夜景样张\n详见测评原文。"
    )
    assert html_to_text("<p>a<script>alert(1)</script></p><style>p{}</style><p>b</p>") == "a\nb"
    assert html_to_text(None) == ""


def test_an_answer_with_its_authors_profile() -> None:
    post = post_from_content(ANSWER, member=MEMBER)
    assert post["id"] == "zhihu:answer-1900000000000102059" and post["platform"] == "zhihu" and post["kind"] == "answer"
    assert post["url"] == "https://www.zhihu.com/question/620000000012/answer/1900000000000102059"
    assert (
        post["text"]
        == "如何评价「星河手机」？\n用了半年，星河手机的续航还行。\n拍照 R&D 下了功夫。\n夜景样张\n详见测评原文。"
    )
    assert post["created_at"] == "2025-11-27T19:03:23+08:00"
    assert post["metrics"] == {"reposts": 0, "comments": 17, "likes": 321}
    assert post["question_id"] == "620000000012"
    assert post["author"] == {
        "id": "zhihu:84b4beefb596397cf5cf24132cc6cb2c",
        "name": "测评大刘",
        "followers": 160_000,
        "verified": True,
        "verified_type": 0,
        "verified_reason": "数码博主",
    }


def test_an_article_by_an_organisation_without_its_profile() -> None:
    post = post_from_content(ARTICLE)
    assert post["id"] == "zhihu:article-1899000000000000001" and post["kind"] == "article"
    assert post["url"] == "https://zhuanlan.zhihu.com/p/1899000000000000001"
    assert post["text"] == "聊聊澜颜的售后 & 退款\n第一段。\n第二段。"
    assert post["metrics"] == {"reposts": 0, "comments": 0, "likes": 12}
    assert post["author"] == {"id": f"zhihu:{AUTHOR['id']}", "name": "测评大刘", "verified": True, "verified_type": 1}


def test_an_anonymous_answer_has_no_author_to_look_up() -> None:
    assert author_token(ANONYMOUS) is None and author_from(ANONYMOUS) is None
    assert "author" not in post_from_content({**ANSWER, "author": ANONYMOUS})
    assert author_token(AUTHOR) == "ce-ping-da-liu"
    plain = author_from({"id": "abc", "name": "路人", "badge_v2": {"merged_badges": [{"type": "best_answerer"}]}})
    assert plain == {"id": "zhihu:abc", "name": "路人", "verified": False, "verified_type": -1}


def test_the_excerpt_serves_when_the_content_is_missing() -> None:
    post = post_from_content({**ANSWER, "content": None, "excerpt": "用了半年，<em>星河手机</em>……"})
    assert post["text"] == "如何评价「星河手机」？\n用了半年，星河手机……"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"created_time": "昨天"}, "created_time"),
        ({"created_time": None}, "created_time"),
        ({"id": None}, "without an id"),
        ({"type": "zvideo"}, "not an answer or article"),
        ({"question": None}, "question"),
    ],
)
def test_bad_posts_raise_a_shape_error(change: dict[str, Any], words: str) -> None:
    with pytest.raises(ShapeError, match=words):
        post_from_content({**ANSWER, **change})


def _comment(comment_id: str, *children: dict[str, Any], root: str = "0") -> dict[str, Any]:
    return {
        "id": comment_id,
        "type": "comment",
        "content": f"<p>评论 {comment_id} &amp; 回复</p>",
        "created_time": 1764241600,
        "like_count": 7,
        "reply_comment_id": root,
        "reply_root_comment_id": root,
        "author": {"id": "c0ffee", "url_token": "lu-ren", "name": "路人甲"},
        "child_comment_count": len(children),
        "child_comments": list(children),
    }


def test_comments_list_each_root_before_its_children_and_follow_the_opaque_offset() -> None:
    child = _comment("11", root="10")
    answer = {
        "data": [_comment("10", child), _comment("12"), "junk"],
        "paging": {
            "is_end": False,
            "next": "https://www.zhihu.com/api/v4/comment_v5/answers/1/root_comment?order_by=score&limit=20&offset=99_12_0",
        },
    }
    comments, offset = comments_in(answer)
    assert [comment["id"] for comment in comments] == ["10", "11", "12"] and offset == "99_12_0"
    assert comments_in({"data": [], "paging": {"is_end": True, "next": "x"}}) == ([], None)
    with pytest.raises(ShapeError):
        comments_in({"error": {"code": 404}})


def test_a_comment_becomes_a_mention_of_its_post() -> None:
    url = "https://www.zhihu.com/question/1/answer/2"
    record = post_from_comment(_comment("11", root="10"), post_id="zhihu:answer-2", post_url=url)
    assert record["id"] == "zhihu:comment-11" and record["parent_id"] == "zhihu:answer-2"
    assert record["reply_to"] == "zhihu:comment-10" and record["kind"] == "comment"
    assert record["text"] == "评论 11 & 回复" and record["metrics"] == {"likes": 7}
    assert record["url"] == f"{url}#comment-11" and record["created_at"].endswith("+08:00")
    assert record["author"] == {"id": "zhihu:c0ffee", "name": "路人甲", "verified": False, "verified_type": -1}
    root = post_from_comment(_comment("10"), post_id="zhihu:answer-2", post_url=url)
    assert "reply_to" not in root
    with pytest.raises(ShapeError, match="content"):
        post_from_comment({**_comment("13"), "content": ""}, post_id="zhihu:answer-2", post_url=url)
    with pytest.raises(ShapeError, match="created_time"):
        post_from_comment({**_comment("13"), "created_time": "刚刚"}, post_id="zhihu:answer-2", post_url=url)


def test_created_time_is_read_in_beijing_time() -> None:
    from datetime import datetime

    created = datetime.fromisoformat(post_from_content(ANSWER)["created_at"])
    assert created.utcoffset() == timedelta(hours=8)
