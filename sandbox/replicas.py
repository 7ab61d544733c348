"""The search platforms' replicas besides Weibo, built over one synthetic world.

Weibo (the scenario with its planted incident and the QR login) and news (feeds of invented sites)
are built on their own; every other platform's replica is one entry here, so the sandbox command,
the demo and the benchmarks serve a new platform without being edited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.bilibili import BilibiliReplica, build_bilibili
from sandbox.server import Replica
from sandbox.xiaohongshu import XiaohongshuReplica, build_xiaohongshu
from sandbox.zhihu import ZhihuReplica, build_zhihu

__all__ = ["SEARCH_PLATFORMS", "search_replicas"]

SEARCH_PLATFORMS = ("bilibili", "xiaohongshu", "zhihu")


def search_replicas(
    posts: int, *, days: float, now: datetime, hold_back: timedelta = timedelta(0), seed: int = 7
) -> dict[str, Replica]:
    """Platform → its replica, each serving that platform's share of ``posts`` synthetic mentions
    (arguments as :func:`sandbox.scenario.build_scenario`)."""
    return {
        "bilibili": BilibiliReplica(build_bilibili(posts, seed=seed, days=days, now=now, hold_back=hold_back)),
        "xiaohongshu": XiaohongshuReplica(build_xiaohongshu(posts, seed=seed, days=days, now=now, hold_back=hold_back)),
        "zhihu": ZhihuReplica(build_zhihu(posts, seed=seed, days=days, now=now, hold_back=hold_back)),
    }
