"""新KOL提及: an account that moves opinion in the watched space mentions a brand for the first time.

"KOL" here is a candidate of the whole watched space (every brand's mentions over ``kol.window``),
not of the brand: an account new to the brand has no history with it by definition, but may well
be the voice a competitor's customers listen to.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.detectors import TOP_POSTS, BrandView
from alerts.message import Severity
from alerts.signals import Signal, post_line
from fengxiang.config import AlertRules, Config
from kol.report import AuthorScore, KolReport, build_report
from store.base import Store
from store.model import Mention, author_key

_HOUR = timedelta(hours=1)


def space_report(store: Store, config: Config, now: datetime) -> KolReport:
    """Every watched mention's authors over ``kol.window``; every brand's own accounts are 官方."""
    return build_report(store, None, now - config.kol.window, now, config.kol, _official(config))


def _official(config: Config) -> tuple[str, ...]:
    return tuple(account for entry in config.watchlist for account in entry.official_accounts)


class SpaceScores:
    """The space's report, reused between evaluations for up to ``max_age`` (the 24×7 service keeps one).

    Scoring every author of a month costs seconds per 100,000 mentions, too much for every few
    minutes, and a month's ranking barely moves in half an hour. Only *who counts as a KOL* may be
    that old: the rule still reads every fresh mention, and the rule's window (24h) is far longer.
    """

    def __init__(self, max_age: timedelta = timedelta(minutes=30)) -> None:
        self.max_age = max_age
        self._report: KolReport | None = None
        self._made_at: datetime | None = None
        self._made_for: object = None

    def report(self, store: Store, config: Config, now: datetime) -> KolReport:
        made_for = (config.kol, _official(config))
        fresh = self._made_at is not None and timedelta(0) <= now - self._made_at < self.max_age
        if self._report is None or not fresh or made_for != self._made_for:
            self._report, self._made_at, self._made_for = space_report(store, config, now), now, made_for
        return self._report


def new_kols(store: Store, view: BrandView, rules: AlertRules, space: KolReport) -> list[Signal]:
    rule = rules.new_kol
    start = view.now - rule.window
    if not view.hourly or view.hourly[0].start > start - rule.min_history:
        return []  # a store that has just met the brand would call every author new
    recent: dict[str, list[Mention]] = {}
    for mention in view.since(start):
        key = author_key(mention)
        if key is not None:
            recent.setdefault(key, []).append(mention)
    kols = [
        author
        for key in recent
        if (author := space.find(key)) is not None and author.candidate and not _big_account(author, rules)
    ]
    if not kols:
        return []
    earlier = store.earlier_mention_counts(view.brand, [author.author_id for author in kols], before=start)
    return [
        _signal(view, author, recent[author.author_id], rule.window)
        for author in kols
        if earlier.get(author.author_id, 0) == 0
    ]


def _big_account(author: AuthorScore, rules: AlertRules) -> bool:
    """Already announced by the 大V rule: one account, one message."""
    rule = rules.big_account
    if not rule.enabled or author.profile is None:
        return False
    verified = bool(author.profile.verified) or not rule.verified_only
    return verified and (author.profile.followers or 0) >= rule.min_followers


def _signal(view: BrandView, author: AuthorScore, mentions: list[Mention], window: timedelta) -> Signal:
    c = author.components
    negative = any(mention.sentiment_label == "negative" for mention in mentions)
    severity: Severity = "high" if negative else "medium"
    facts = [
        ("账号", f"{author.name}（粉丝 {c.followers:,}，{author.segment}，整体立场{author.stance}）"),
        (
            "KOL 分",
            f"{author.score:.0f}/100：触达 {c.reach:.2f} · 互动 {c.engagement:.2f} · "
            f"影响 {c.influence:.2f} · 稳定 {c.consistency:.2f}",
        ),
        ("首次提及", f"近 {window / _HOUR:g} 小时 {len(mentions)} 条，此前从未提及{view.brand}"),
    ]
    if author.reasons:
        facts.append(("依据", "；".join(author.reasons[:2])))
    ranked = sorted(mentions, key=lambda mention: mention.engagement, reverse=True)
    return Signal(
        "new_kol",
        view.brand,
        author.author_id,
        severity,
        len(mentions),
        facts,
        [post_line(mention) for mention in ranked[:TOP_POSTS]],
        tuple(mention.id for mention in mentions),
    )
