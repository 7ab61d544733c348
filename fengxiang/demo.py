"""`make demo`: what exists today, end to end, offline, through the real command line.

Writes a config and a file of synthetic posts (with a few broken lines, as real exports have) into a
demo folder, then runs analyze (a few Weibo-shaped posts) → check → ingest (which analyses every
post) → ingest again → stats → kol → export, printing each command and its output. Every run starts from
an empty store.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from fengxiang.synthetic import BRANDS, demo_watchlist, generate_mentions, official_accounts, write_jsonl
from sandbox.config import crawl_config
from sandbox.news import NewsReplica
from sandbox.scenario import build_scenario
from sandbox.server import SandboxServer
from sandbox.weibo import WeiboReplica

DEMO_POSTS = 20_000
SANDBOX_POSTS = 600  # a day of the sandbox's world: enough for a real crawl, quick to run
BROKEN_LINES = [
    b'{"id": "weibo:1", "text": "\xe5\x90\xaf\xe8\x88\xaa", "metrics": {"likes": -3}}',  # negative count
    b'{"id": "weibo:2", "text": "cut off in the middle',  # a truncated line
]


# Weibo-shaped posts written for this demo: HTML with emoticons and a topic, a repost chain, a
# traditional-character post and a pure repost.
WEIBO_SAMPLES = [
    {
        "id": "weibo:5001",
        "text": '<a href="https://m.weibo.cn/search?containerid=231522type%3D1%26q%3D%23启航Q7刹车%23">'
        '<span class="surl-text">#启航Q7刹车#</span></a> 提车第三天刹车就异响，4S店说正常？'
        '<span class="url-icon"><img alt="[怒]" src="https://h5.sinaimg.cn/m/emoticon/icon/default/d_nu.png" />'
        "</span><br />客服电话一直打不通，准备投诉维权",
    },
    {"id": "weibo:5002", "text": "同款问题，蹲一个说法//@车评人老周:启航Q7刹车异响已经不是个例了"},
    {"id": "weibo:5003", "text": "啟航汽車新車發佈會很精彩，續航和做工都超出預期，點贊[赞]"},
    {"id": "weibo:5004", "text": "转发微博//@茶小满官方:新品桂花乌龙今天上市，第二杯半价"},
]


def _watchlist() -> list[dict]:
    official = official_accounts()
    return [{**entry, "official_accounts": [official[entry["name"]]]} for entry in demo_watchlist()]


def write_demo_files(folder: Path, end: datetime) -> tuple[Path, Path]:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    config = folder / "fengxiang.yaml"
    config.write_text(
        "# written by `make demo`\n"
        + yaml.safe_dump(
            {"store": "sqlite:///data/demo.db", "timezone": "Asia/Shanghai", "watchlist": _watchlist()},
            allow_unicode=True,
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    posts = folder / "mentions.jsonl"
    # Unanalysed, as an export from another tool would be: the import analyses every post.
    write_jsonl(posts, generate_mentions(DEMO_POSTS, seed=7, end=end, days=60, analysed=False))
    write_jsonl(folder / "weibo-samples.jsonl", WEIBO_SAMPLES)
    with posts.open("ab") as out:
        out.write(b"\n".join(BROKEN_LINES) + b"\n")
    return config, posts


def add_sandbox_sources(config: Path, server: SandboxServer, news: NewsReplica) -> None:
    """Point the demo's sources at the sandbox: its Weibo and news sites, and a Bilibili address where
    nothing answers, so the 数据源 page shows a healthy and a failing source."""
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    sources = crawl_config(server.base_url, [], news_feeds=news.feed_urls())["sources"]
    sources["bilibili"] = {"base_url": "http://127.0.0.1:9", "politeness": {"enabled": False}}
    settings["sources"] = sources
    config.write_text("# written by `make demo`\n" + yaml.safe_dump(settings, allow_unicode=True, sort_keys=False))


def run(folder: Path, *args: str) -> None:
    print(f"\n$ fengxiang {shlex.join(args)}", flush=True)
    completed = subprocess.run([sys.executable, "-m", "fengxiang.cli", *args], cwd=folder, check=False)
    if completed.returncode not in (0, 1):  # 1 = partial import: expected, the file has broken lines
        raise SystemExit(f"demo step failed with exit code {completed.returncode}")


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".demo").resolve()
    end = datetime.now(ZoneInfo("Asia/Shanghai"))
    config, posts = write_demo_files(folder, end)
    brand = BRANDS[0].name
    print(f"demo folder: {folder}\nconfig: {config.name} — {len(demo_watchlist())} watchlist entries")
    run(folder, "analyze", "weibo-samples.jsonl", "-o", "weibo-samples.analysed.jsonl")
    for line in (folder / "weibo-samples.analysed.jsonl").read_text(encoding="utf-8").splitlines():
        post = json.loads(line)
        sentiment = post["sentiment"]
        print(
            f"  {post['id']}: {sentiment['label']} ({sentiment['probs'][sentiment['label']]:.2f})"
            f" brands={post['brands']} keywords={post['keywords']} topics={post.get('topics', [])}"
        )
    run(folder, "check")
    run(folder, "ingest", posts.name)
    print("\n# the same file again: every post is updated in place, none doubled")
    run(folder, "ingest", posts.name)
    run(folder, "stats", "--brand", brand, "--since", "7d")
    print("\n# who moves opinion about it: KOL candidates with every score component and why")
    run(folder, "kol", "--brand", brand, "--limit", "5")
    run(
        folder,
        "export",
        "--brand",
        brand,
        "--sentiment",
        "negative",
        "--since",
        "3d",
        "--format",
        "csv",
        "-o",
        "negative.csv",
    )
    print(f"\nfirst lines of {folder / 'negative.csv'}:")
    with (folder / "negative.csv").open(encoding="utf-8-sig") as exported:
        for _, line in zip(range(4), exported, strict=False):
            print("  " + line.rstrip()[:160])
    run(
        folder,
        "export",
        "--query",
        f"{brand} AND (刹车 OR 自燃 OR 维权)",
        "--since",
        "7d",
        "-o",
        "risk.jsonl",
    )
    print("\n# a crawl of the offline sandbox: Weibo and three news sites answer, Bilibili does not")
    scenario = build_scenario(SANDBOX_POSTS, days=1)
    news = NewsReplica(SANDBOX_POSTS, days=1, end=scenario.now)
    with SandboxServer([WeiboReplica(scenario), news]) as server:
        add_sandbox_sources(config, server, news)
        run(folder, "crawl")
    print("\n# the alert rules, evaluated as the incident unfolded (no channel configured: recorded only)")
    incident = (end - timedelta(days=4)).replace(minute=0, second=0, microsecond=0)  # where the generator puts it
    for hours in (2, 8, 30):
        run(folder, "alerts", "run", "--at", (incident + timedelta(hours=hours)).isoformat())
    print(f"\ndone. Try: cd {folder} && ../.venv/bin/fengxiang stats --brand {brand} --since 30d --json")
    print(f"The dashboard on this data: cd {folder} && ../.venv/bin/fengxiang dashboard")


if __name__ == "__main__":
    main()
