"""``python -m sandbox``: serve every platform replica (Weibo, Bilibili, Xiaohongshu, Zhihu, news) and the alert
robots on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from sandbox.config import write_crawl_config
from sandbox.news import NewsReplica
from sandbox.replicas import SEARCH_PLATFORMS, search_replicas
from sandbox.robot import RobotReplica
from sandbox.scenario import build_scenario
from sandbox.server import FAULT_MODES, Replica, SandboxServer
from sandbox.weibo import TIME_STYLES, WeiboReplica
from sandbox.weibo_login import WeiboLoginReplica


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Offline replicas of the platforms' APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--posts", type=int, default=3000, help="synthetic mentions to generate (about 80%% Weibo)")
    parser.add_argument("--days", type=float, default=3, help="the scenario covers this many days up to now")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-style", choices=TIME_STYLES, default="mixed")
    parser.add_argument("--fault", choices=FAULT_MODES, default="none", help="answer every request with this fault")
    parser.add_argument("--config", help="also write a fengxiang config for the scenario's brands to this file")
    args = parser.parse_args(argv)

    scenario = build_scenario(args.posts, seed=args.seed, days=args.days)
    robot = RobotReplica()  # any key: whatever webhook the config names is a robot here
    searchable = search_replicas(args.posts, seed=args.seed, days=args.days, now=scenario.now)
    news = NewsReplica(args.posts, seed=args.seed, days=args.days, end=scenario.now)
    replicas: list[Replica] = [
        WeiboReplica(scenario, time_style=args.time_style),
        WeiboLoginReplica(),
        *searchable.values(),
        news,
        robot,
    ]
    try:
        server = SandboxServer(replicas, host=args.host, port=args.port)
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error.strerror} — try another --port", file=sys.stderr)
        return 1
    server.faults.set(args.fault)
    server.start()
    summary = scenario.summary()
    print(f"Weibo sandbox: {summary['posts']} posts by {summary['users']} users, fault {args.fault}")
    print(f"{', '.join(searchable)}: their replicas on the same address (sources.<platform>.base_url)")
    print(f"serving on {server.base_url}  (Ctrl-C stops)")
    print(f"News feeds ({len(news.articles)} articles):  sources: {{news: {{feeds: [{', '.join(news.feed_urls())}]}}}}")
    if args.config:
        feeds = news.feed_urls()
        write_crawl_config(
            Path(args.config), server.base_url, scenario.watchlist, platforms=SEARCH_PLATFORMS, news_feeds=feeds
        )
        print(f"wrote {args.config}: try  fengxiang crawl --config {args.config}")
    else:
        print(
            f"in fengxiang.yaml:  sources: {{weibo: {{base_url: {server.base_url}}}}}  (the others: the same base_url)"
        )
    print(f"WeCom robot:  alerts: {{channels: [{{type: wecom, webhook: {robot.wecom_url('sandbox')}}}]}}")
    print(f"  (DingTalk: {robot.dingtalk_url('sandbox')}  Feishu: {robot.feishu_url('sandbox')})")
    print(f"  messages received: {server.base_url}/__sandbox__/robot/messages")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
