"""A crawl's health verdict: blocked runs fail, lossy runs are degraded, clean runs are ok."""

from __future__ import annotations

from crawlers.middlewares import BLOCK_KIND_STAT, BLOCK_MESSAGE_STAT
from crawlers.outcome import judge


def test_a_clean_run_is_ok_even_with_nothing_new() -> None:
    assert judge("finished", {"fengxiang/pages": 3}, platform="weibo").status == "ok"
    assert judge("finished", {"fengxiang/pages": 3}, platform="weibo").error is None


def test_a_blocked_run_fails_with_the_platforms_reason() -> None:
    stats = {
        BLOCK_KIND_STAT: "login_required",
        BLOCK_MESSAGE_STAT: "Weibo requires a login (ok:-100)",
        "fengxiang/pages": 4,
    }
    verdict = judge("blocked", stats, platform="weibo")
    assert verdict.status == "failed" and verdict.error == "Weibo requires a login (ok:-100)"


def test_a_run_that_fetched_nothing_fails() -> None:
    verdict = judge("finished", {"fengxiang/failed_requests": 2}, platform="bilibili")
    assert verdict.status == "failed" and "is sources.bilibili.base_url reachable" in (verdict.error or "")


def test_losses_on_the_way_degrade_and_are_counted() -> None:
    stats = {"fengxiang/pages": 9, "fengxiang/lost_pages": 2, "fengxiang/bad_posts": 1}
    verdict = judge("finished", stats, platform="weibo")
    assert verdict.status == "degraded"
    assert "2 search pages" in (verdict.error or "") and "1 posts" in (verdict.error or "")


def test_an_interrupted_run_is_degraded() -> None:
    assert judge("shutdown", {"fengxiang/pages": 1}, platform="weibo").status == "degraded"
    assert "time limit" in (judge("closespider_timeout", {}, platform="weibo").error or "")


def test_posts_that_could_not_be_stored_fail_the_run() -> None:
    stats = {"fengxiang/pages": 9, "fengxiang/lost_batches": 1, "fengxiang/lost_batch_error": "StoreError: disk full"}
    verdict = judge("finished", stats, platform="weibo")
    assert verdict.status == "failed" and "disk full" in (verdict.error or "")
