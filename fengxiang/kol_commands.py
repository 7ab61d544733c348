"""``fengxiang kol``: KOL candidates per brand, with every score component and the reasons."""

from __future__ import annotations

import sys
from datetime import datetime

import orjson

from fengxiang.config import Config
from kol.report import AuthorScore, KolReport, build_report, report_json
from kol.segments import ADVOCATE, CRITIC
from store.base import Store


def reports(store: Store, config: Config, brands: list[str], since: datetime, until: datetime) -> list[KolReport]:
    reports = []
    for brand in brands:
        entry = config.entry_named(brand)
        official = entry.official_accounts if entry else []
        reports.append(build_report(store, brand, since, until, config.kol, official))
    return reports


def chosen(report: KolReport, *, segment: str | None, everyone: bool, limit: int) -> list[AuthorScore]:
    """Candidates by default; every author of a segment, or every author, when asked."""
    if everyone:
        authors = report.authors
    elif segment is not None:
        authors = [author for author in report.authors if author.segment == segment]
    else:
        authors = report.candidates
    return authors[:limit]


def show(
    store: Store,
    config: Config,
    brands: list[str],
    *,
    since: datetime,
    until: datetime,
    segment: str | None,
    everyone: bool,
    limit: int,
    as_json: bool,
) -> int:
    found = [
        (report, chosen(report, segment=segment, everyone=everyone, limit=limit))
        for report in reports(store, config, brands, since, until)
    ]
    if as_json:
        document = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "min_score": config.kol.min_score,
            "min_posts": config.kol.min_posts,
            "brands": [report_json(report, authors) for report, authors in found],
        }
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    for report, authors in found:
        _print_report(report, authors, config)
    return 0


def _print_report(report: KolReport, authors: list[AuthorScore], config: Config) -> None:
    counts = "  ".join(f"{segment} {n:,}" for segment, n in report.segment_counts().items())
    candidates = report.candidates
    advocates = sum(1 for author in candidates if author.stance == ADVOCATE)
    critics = sum(1 for author in candidates if author.stance == CRITIC)
    print(f"{report.brand}  {report.since:%Y-%m-%d %H:%M} → {report.until:%Y-%m-%d %H:%M}")
    print(f"  作者 {len(report.authors):,}：{counts}")
    rule = config.kol
    print(
        f"  KOL 候选 {len(candidates)}（分数 ≥ {rule.min_score:g}，至少 {rule.min_posts} 条提及，"
        f"粉丝 ≥ {rule.min_followers:,} 或被 ≥ {rule.min_reposters} 个账号转发）：支持者 {advocates}，批评者 {critics}"
    )
    if not authors:
        print("  （没有符合条件的作者）")
        return
    for rank, author in enumerate(authors, start=1):
        c = author.components
        print(
            f"  {rank:>2}. {author.score:5.1f} 分  {author.name} · {_followers(c.followers)} · {author.segment}"
            f" · {author.stance}"
        )
        print(
            f"        触达 {c.reach:.2f} · 互动 {c.engagement:.2f} · 影响 {c.influence:.2f} · 稳定 {c.consistency:.2f}"
            f"  |  提及 {author.mentions} · h 指数 {c.h_index} · 转发者 {author.reposted_by}"
            f" · 估算触达 {author.estimated_reach:,}"
        )
        for reason in author.reasons:
            print(f"        · {reason}")
    print()


def _followers(count: int) -> str:
    return f"{count / 10_000:.1f}万粉丝" if count >= 10_000 else f"{count:,}粉丝"
