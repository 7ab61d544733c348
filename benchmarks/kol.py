"""`make bench`: the KOL ranking's quality on sandbox worlds with planted truth, and its speed.

Prints one JSON document (also written to bench-results/kol.json), the targets and whether they
are met first.

Quality. For each seed, the sandbox world of 3,000 generated mentions (sandbox/scenario.py) plants
per brand one influencer (below the 大V follower line, reposted by many small accounts), one
account with two million bought followers whose promotions nobody touches, and a copy-paste 水军
wave. Every visible Weibo post becomes the post dict the crawler would store (as
crawlers/spiders/weibo_shapes.post_from_mblog writes it: full text with the root's ``//@`` hop,
author profile, metrics, ``parent_id`` = the root, ``parent_author`` unless the root was deleted);
the posts a watchlist query matches (the crawler's own filter) are analysed by the project's
Analyzer (real sentiment, brands, SimHash) and stored in a fresh SQLite store. The crawler's HTTP
is skipped on purpose, and so are the hot comments a crawl also stores: crawl fidelity is
benchmarked in benchmarks/crawl.py and tested end to end, comments included, in
tests/test_kol_sandbox.py. Each brand's report covers the whole world (the default 30-day window,
default KolConfig) with the brand's enterprise account as its official account.

The ranked list is what ``fengxiang kol --all`` shows minus 官方 and 疑似水军. Beside ours, on the
same stored posts and the same authors, three baselines order that list by followers (a "大V
list"), by total engagement in the window, and by number of mentions; ties fall to the author id,
as in the report. The 水军 baseline flags accounts with at most 1,000 followers in any near-duplicate
cluster (SimHash within 3 bits) of at least 5 accounts: no burst timing, reposts included. Both
flag per brand; the flagged accounts of all brands are scored against the wave's accounts, pooled
over the seeds (each seed's accounts apart) and per seed. Where ours misses a target, "misses"
names the seed and brand with the head of our list, or the accounts wrongly flagged or left out.

Speed. 100,000 synthetic mentions over 30 days in a SQLite store; the report for the biggest brand
and for every mention, best of 3, split into the store query (``author_posts``) and the rest
(profile and name look-ups, graph, PageRank, scores, bursts, reasons). The generator's reposts
carry no ``parent_author``, so the graph's edges come from ``//@`` hops alone. Baseline, time only:
reading the same window as full Mention objects through ``iter_mentions``, as a naive
implementation would before doing any work.

FENGXIANG_BENCH_KOL_SEEDS sets the number of sandbox worlds (default 5).
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from crawlers.spiders.weibo_shapes import PUBLIC_ORIGIN
from fengxiang.brands import BrandTagger
from fengxiang.config import KolConfig
from fengxiang.synthetic import BEIJING, BRANDS, generate_mentions, official_accounts
from fengxiang.textmatch import fold
from kol.report import KolReport, build_report
from kol.segments import OFFICIAL, SPAM
from nlp.analyzer import Analyzer, AnalyzerSettings
from nlp.clean import clean_post
from nlp.simhash import NearDuplicateIndex
from sandbox.scenario import Scenario, WeiboPost, WeiboUser, build_scenario
from store.base import AuthorPost, MentionFilter, Window
from store.model import Mention
from store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=BEIJING)  # fixed: the same worlds every run
WORLD_MENTIONS = 3000
SPEED_MENTIONS, SPEED_DAYS, SPEED_SEED, SPEED_RUNS = 100_000, 30, 7, 3
UPSERT_BATCH = 5_000
TOP = 10
# Each brand's enterprise account in the generator (fengxiang/synthetic.py _BIG_ACCOUNTS).
OFFICIAL_ACCOUNTS = official_accounts()
TARGETS = {
    "influencer_hit_at_3": 1.0,  # in the top 3 of its brand, every brand and seed
    "bought_account_top_10_cases_max": 0,  # (brand, seed) cases
    "spam_recall_min": 0.9,
    "spam_precision_min": 0.9,
}
METHODS = ("ours", "by_followers", "by_engagement", "by_mentions")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------- the crawl, without HTTP


def author_record(user: WeiboUser) -> dict[str, Any]:
    """A user as weibo_shapes.author_from_user reads it (empty strings left out, as there)."""
    record: dict[str, Any] = {
        "id": f"weibo:{user.id}",
        "name": user.screen_name,
        "followers": user.followers,
        "verified": user.verified,
        "verified_type": user.verified_type,
        "posts": user.statuses_count,
        "following": user.follow_count,
    }
    for field, value in (
        ("verified_reason", user.verified_reason),
        ("description", user.description),
        ("gender", user.gender),
        ("location", user.location),
    ):
        if value:
            record[field] = value
    return record


def post_record(post: WeiboPost) -> dict[str, Any]:
    """The post dict weibo_shapes.post_from_mblog makes of the post (fields kol/ never reads left out)."""
    record: dict[str, Any] = {
        "id": f"weibo:{post.mid}",
        "platform": "weibo",
        "url": f"{PUBLIC_ORIGIN}/detail/{post.mid}",
        "text": post.full_text,
        "created_at": post.created_at.isoformat(),
        "metrics": {"reposts": post.reposts, "comments": post.comments, "likes": post.likes},
        "kind": "post",
        "author": author_record(post.user),
    }
    if post.retweeted is not None:
        record["kind"] = "repost"
        record["parent_id"] = post.expected_parent_id
        if not post.retweeted_deleted:  # a deleted root is served with user null: no parent_author
            record["parent_author"] = author_record(post.retweeted.user)
    return record


def on_watchlist(scenario: Scenario) -> list[WeiboPost]:
    """The visible posts a watchlist query matches: the crawler drops the rest of fuzzy search's answers."""
    tagger = BrandTagger([(entry["name"], entry["query"]) for entry in scenario.watchlist])
    return [post for post in scenario.visible_posts() if tagger(fold(clean_post(post.full_text).text))]


def stored_world(scenario: Scenario, analyzer: Analyzer, db: Path) -> tuple[SQLiteStore, int]:
    """The store a complete crawl of the world would leave, and how many posts it holds."""
    mentions = [Mention.model_validate(post_record(post)) for post in on_watchlist(scenario)]
    analyzer.analyze_mentions(mentions)
    store = SQLiteStore(db)
    store.upsert(mentions)
    return store, len(mentions)


# ------------------------------------------------------------------------------------------------ rankings


def ranked(authors: Iterable[str], value: Mapping[str, float]) -> list[str]:
    """Best first; ties by author id, as the report breaks them, so only the criterion differs."""
    return sorted(authors, key=lambda author_id: (-value.get(author_id, 0), author_id))


def rankings(store: SQLiteStore, report: KolReport, window: Window) -> dict[str, list[str]]:
    """Ours and the baselines, over the same authors: the report's, minus 官方 and 疑似水军."""
    listed = [author.author_id for author in report.authors if author.segment not in (OFFICIAL, SPAM)]
    posts = store.author_posts(window)
    mentions: Counter[str] = Counter()
    engagement: Counter[str] = Counter()
    for post in posts:
        if post.author_id is not None:
            mentions[post.author_id] += 1
            engagement[post.author_id] += post.reposts + post.comments + post.likes
    followers = {key: profile.followers or 0 for key, profile in store.author_profiles(listed).items()}
    return {
        "ours": listed,
        "by_followers": ranked(listed, followers),
        "by_engagement": ranked(listed, engagement),
        "by_mentions": ranked(listed, mentions),
    }


def rank_of(ranking: list[str], author_id: str) -> int | None:
    return ranking.index(author_id) + 1 if author_id in ranking else None


def top_authors(report: KolReport, count: int) -> list[dict[str, Any]]:
    """The head of our ranked list, with what put each author there (for reading a miss)."""
    listed = [author for author in report.authors if author.segment not in (OFFICIAL, SPAM)]
    return [
        {
            "name": author.name,
            "score": author.score,
            "segment": author.segment,
            "followers": author.components.followers,
            "mentions": author.mentions,
            "reposted_by": author.reposted_by,
            "h_index": author.components.h_index,
            "percentiles": {
                "reach": round(author.components.reach, 3),
                "engagement": round(author.components.engagement, 3),
                "influence": round(author.components.influence, 3),
                "consistency": round(author.components.consistency, 3),
            },
        }
        for author in listed[:count]
    ]


# ----------------------------------------------------------------------------------------------------- 水军


def spam_baseline(store: SQLiteStore, posts: list[AuthorPost], settings: KolConfig) -> set[str]:
    """Few-follower accounts in any near-duplicate cluster of enough accounts: no timing, reposts too."""
    index = NearDuplicateIndex()
    clusters: dict[str, set[str]] = {}
    for post in posts:
        if post.author_id is not None and post.simhash:
            clusters.setdefault(index.add(post.mention_id, int(post.simhash, 16)), set()).add(post.author_id)
    crowded = {
        author for authors in clusters.values() if len(authors) >= settings.spam_min_copies for author in authors
    }
    followers = {key: profile.followers or 0 for key, profile in store.author_profiles(crowded).items()}
    return {author for author in crowded if followers.get(author, 0) <= settings.spam_max_followers}


def wave_accounts(scenario: Scenario) -> set[str]:
    return {f"weibo:{post.user.id}" for post in scenario.posts if post.mid in scenario.wave_mids}


def precision_recall(flagged: set[Any], truth: set[Any]) -> dict[str, Any]:
    hits = len(flagged & truth)
    return {
        "flagged": len(flagged),
        "true_positives": hits,
        "precision": round(hits / len(flagged), 3) if flagged else None,
        "recall": round(hits / len(truth), 3) if truth else None,
    }


# -------------------------------------------------------------------------------------------------- a world


def evaluate_brand(
    store: SQLiteStore, scenario: Scenario, brand: str, settings: KolConfig
) -> tuple[dict[str, Any], KolReport, set[str]]:
    """The brand's report, where the planted accounts rank in ours and the baselines, and the 水军 baseline."""
    since, bought = NOW - settings.window, f"weibo:{scenario.bought_follower_uid}"
    window = Window(since=since, until=NOW, brand=brand)
    report = build_report(store, brand, since, NOW, settings, [OFFICIAL_ACCOUNTS[brand]])
    orders = rankings(store, report, window)
    influencer = f"weibo:{scenario.kol_uids[brand]}"
    result = {
        "authors_ranked": len(orders["ours"]),
        "influencer_rank": {method: rank_of(order, influencer) for method, order in orders.items()},
        "bought_account_rank": (
            {method: rank_of(order, bought) for method, order in orders.items()} if bought in orders["ours"] else None
        ),
        "top_3": top_authors(report, 3),
    }
    return result, report, spam_baseline(store, store.author_posts(window), settings)


def spam_mistakes(reports: Iterable[KolReport], flagged: set[str], truth: set[str]) -> list[dict[str, Any]]:
    """Wave accounts not flagged and flagged accounts outside the wave, as the report saw them."""
    found = []
    for author_id in sorted((truth - flagged) | (flagged - truth)):
        author = next((a for report in reports if (a := report.find(author_id)) is not None), None)
        found.append(
            {
                "id": author_id,
                "in_wave": author_id in truth,
                "segment": author.segment if author else None,
                "followers": author.components.followers if author else None,
                "copy_paste_burst": author.copy_paste_burst if author else None,
            }
        )
    return found


def evaluate_world(seed: int, analyzer: Analyzer, folder: Path, settings: KolConfig) -> dict[str, Any]:
    scenario = build_scenario(WORLD_MENTIONS, seed=seed, now=NOW)
    store, stored = stored_world(scenario, analyzer, folder / f"world-{seed}.db")
    brands: dict[str, Any] = {}
    reports: list[KolReport] = []
    baseline_flagged: set[str] = set()
    for brand in (entry.name for entry in BRANDS):
        brands[brand], report, flagged_by_baseline = evaluate_brand(store, scenario, brand, settings)
        reports.append(report)
        baseline_flagged |= flagged_by_baseline
    store.close()
    flagged = {author.author_id for report in reports for author in report.authors if author.segment == SPAM}
    truth = wave_accounts(scenario)
    return {
        "seed": seed,
        "stored_posts": stored,
        "wave_accounts": len(truth),
        "brands": brands,
        "spam": {"ours": (flagged, truth), "baseline": (baseline_flagged, truth)},
        "spam_mistakes": spam_mistakes(reports, flagged, truth),
    }


# ------------------------------------------------------------------------------------------------- summary


def influencer_summary(worlds: list[dict[str, Any]], method: str) -> dict[str, Any]:
    ranks = [brand["influencer_rank"][method] for world in worlds for brand in world["brands"].values()]
    found = [rank for rank in ranks if rank is not None]
    return {
        "cases": len(ranks),
        "hit_at_1": round(sum(rank == 1 for rank in found) / len(ranks), 3),
        "hit_at_3": round(sum(rank <= 3 for rank in found) / len(ranks), 3),
        "mean_rank": round(statistics.mean(found), 2) if found else None,
        "worst_rank": max(found, default=None),
        "not_listed": len(ranks) - len(found),
    }


def bought_summary(worlds: list[dict[str, Any]], method: str) -> dict[str, Any]:
    ranks = [
        brand["bought_account_rank"][method]
        for world in worlds
        for brand in world["brands"].values()
        if brand["bought_account_rank"] is not None
    ]
    return {
        "cases": len(ranks),
        "in_top_10": sum(rank <= TOP for rank in ranks),
        "best_rank": min(ranks, default=None),
        "median_rank": statistics.median(ranks) if ranks else None,
    }


def spam_summary(worlds: list[dict[str, Any]], method: str) -> dict[str, Any]:
    flagged = {(world["seed"], author) for world in worlds for author in world["spam"][method][0]}
    truth = {(world["seed"], author) for world in worlds for author in world["spam"][method][1]}
    per_seed = {f"seed {world['seed']}": precision_recall(*world["spam"][method]) for world in worlds}
    return {"pooled": precision_recall(flagged, truth), "per_seed": per_seed}


def ranking_misses(worlds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every (seed, brand) where ours misses a ranking target, with the head of the list."""
    found = []
    for world in worlds:
        for brand, result in world["brands"].items():
            influencer = result["influencer_rank"]["ours"]
            bought = (result["bought_account_rank"] or {}).get("ours")
            if influencer is None or influencer > 3 or (bought is not None and bought <= TOP):
                found.append(
                    {
                        "seed": world["seed"],
                        "brand": brand,
                        "influencer_rank": influencer,
                        "bought_account_rank": bought,
                        "top_3": result["top_3"],
                    }
                )
    return found


def quality(seeds: list[int], settings: KolConfig) -> dict[str, Any]:
    analyzer = Analyzer(AnalyzerSettings(brands=tuple((brand.name, brand.query) for brand in BRANDS)))
    worlds = []
    with tempfile.TemporaryDirectory(prefix="fengxiang-bench-kol-") as folder:
        for seed in seeds:
            progress(f"quality: world seed {seed}")
            worlds.append(evaluate_world(seed, analyzer, Path(folder), settings))
    return {
        "worlds": [
            {key: world[key] for key in ("seed", "stored_posts", "wave_accounts")}
            | {"authors_ranked": {brand: r["authors_ranked"] for brand, r in world["brands"].items()}}
            for world in worlds
        ],
        "influencer": {method: influencer_summary(worlds, method) for method in METHODS},
        "influencer_ranks_ours": {
            f"seed {world['seed']}": {brand: r["influencer_rank"]["ours"] for brand, r in world["brands"].items()}
            for world in worlds
        },
        "bought_account": {method: bought_summary(worlds, method) for method in METHODS},
        "spam": {
            "ours_copy_paste_burst": spam_summary(worlds, "ours"),
            "baseline_near_duplicate_cluster": spam_summary(worlds, "baseline"),
        },
        "misses": {
            "ranking": ranking_misses(worlds),
            "spam": {f"seed {world['seed']}": world["spam_mistakes"] for world in worlds if world["spam_mistakes"]},
        },
    }


def targets_met(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    influencer = result["influencer"]["ours"]["hit_at_3"]
    bought = result["bought_account"]["ours"]["in_top_10"]
    spam = result["spam"]["ours_copy_paste_burst"]["pooled"]
    return {
        "influencer_hit_at_3": {
            "target": TARGETS["influencer_hit_at_3"],
            "value": influencer,
            "met": influencer >= TARGETS["influencer_hit_at_3"],
        },
        "bought_account_never_in_top_10": {
            "target": TARGETS["bought_account_top_10_cases_max"],
            "value": bought,
            "met": bought <= TARGETS["bought_account_top_10_cases_max"],
        },
        "spam_recall": {
            "target": TARGETS["spam_recall_min"],
            "value": spam["recall"],
            "met": spam["recall"] is not None and spam["recall"] >= TARGETS["spam_recall_min"],
        },
        "spam_precision": {
            "target": TARGETS["spam_precision_min"],
            "value": spam["precision"],
            "met": spam["precision"] is not None and spam["precision"] >= TARGETS["spam_precision_min"],
        },
    }


# --------------------------------------------------------------------------------------------------- speed


def load_speed_store(db: Path) -> tuple[SQLiteStore, float]:
    started = time.perf_counter()
    store = SQLiteStore(db)
    batch: list[Mention] = []
    for mention in generate_mentions(SPEED_MENTIONS, seed=SPEED_SEED, end=NOW, days=SPEED_DAYS):
        batch.append(Mention.model_validate(mention))
        if len(batch) == UPSERT_BATCH:
            store.upsert(batch)
            batch.clear()
    store.upsert(batch)
    return store, time.perf_counter() - started


def best_of(runs: int, action: Callable[[], Any]) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return min(seconds)


def timed_report(store: SQLiteStore, brand: str | None, settings: KolConfig) -> dict[str, Any]:
    """Our report and its store query alone, best of SPEED_RUNS each; and the naive read."""
    since = NOW - settings.window
    window = Window(since=since, until=NOW, brand=brand)
    report = build_report(store, brand, since, NOW, settings)
    total = best_of(SPEED_RUNS, lambda: build_report(store, brand, since, NOW, settings))
    query = best_of(SPEED_RUNS, lambda: store.author_posts(window))
    naive = best_of(SPEED_RUNS, lambda: list(store.iter_mentions(MentionFilter(brand=brand, since=since, until=NOW))))
    return {
        "brand": brand or "(all mentions)",
        "mentions": len(store.author_posts(window)),
        "authors_scored": len(report.authors),
        "graph_edges": report.repost_edges,
        "ours_ms": {
            "total": round(total * 1000, 1),
            "store_query_author_posts": round(query * 1000, 1),
            "rest_lookups_graph_pagerank_scoring": round((total - query) * 1000, 1),
        },
        "baseline_iter_mentions_read_only_ms": round(naive * 1000, 1),
    }


def speed(settings: KolConfig) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fengxiang-bench-kol-") as folder:
        progress(f"speed: storing {SPEED_MENTIONS:,} synthetic mentions")
        store, load_seconds = load_speed_store(Path(folder) / "speed.db")
        results = []
        for brand in (BRANDS[0].name, None):
            progress(f"speed: report for {brand or 'all mentions'}")
            results.append(timed_report(store, brand, settings))
        store.close()
    return {
        "mentions": SPEED_MENTIONS,
        "days": SPEED_DAYS,
        "runs": f"best of {SPEED_RUNS}",
        "store_load_seconds": round(load_seconds, 1),
        "reports": results,
    }


def main() -> None:
    started = time.perf_counter()
    seeds = list(range(int(os.environ.get("FENGXIANG_BENCH_KOL_SEEDS", "5"))))
    settings = KolConfig()
    found = quality(seeds, settings)
    targets = targets_met(found)
    result = {
        "benchmark": "kol",
        "targets": targets,
        "all_targets_met": all(target["met"] for target in targets.values()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "sqlite": sqlite3.sqlite_version},
        "scenario": {
            "seeds": seeds,
            "generated_mentions_per_world": WORLD_MENTIONS,
            "now": NOW.isoformat(),
            "window_days": settings.window.days,
            "official_accounts": OFFICIAL_ACCOUNTS,
        },
        "quality": found,
        "speed": speed(settings),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "kol.json").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
