"""``fengxiang alerts backtest``: what each rule would have fired over stored history, to tune
thresholds before switching a rule on.

Spike and ratio rules are replayed hour by hour over the stored hourly counts, exactly as the live
evaluation judges them; the rules over single posts (viral posts, big accounts, risk words,
copy-paste waves) are replayed over the stored mentions. Two differences from a live run, both
stated in the output: spikes are replayed on raw counts (the live rule also folds near-duplicates
into one voice), and viral posts are judged on the engagement stored now, not as it grew.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alerts.detectors import HISTORY_DAYS, from_first_mention, spike_params
from alerts.seasonal import Episode, episodes, group_episodes
from alerts.signals import RULE_TITLES
from fengxiang.config import AlertRules, Config, NegativeRatioRule, NegativeSpikeRule, SpikeRule, WatchlistEntry
from fengxiang.textmatch import fold
from nlp.simhash import NearDuplicateIndex
from store.base import Bucket, MentionFilter, SourceHealth, Store, Window
from store.model import Mention

_HOUR = timedelta(hours=1)
_RESOLVE_HOURS = 3


@dataclass(frozen=True)
class FiredEpisode:
    start: datetime
    summary: str


@dataclass
class BacktestFinding:
    rule: str
    brand: str | None
    enabled: bool
    explanation: str  # the rule's thresholds in words
    episodes: list[FiredEpisode] = field(default_factory=list)

    @property
    def title(self) -> str:
        return RULE_TITLES[self.rule]

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["title"] = self.title
        data["episodes"] = [{"start": e.start.isoformat(), "summary": e.summary} for e in self.episodes]
        return data


def backtest(
    store: Store, config: Config, *, now: datetime, days: int, brand: str | None = None
) -> list[BacktestFinding]:
    findings: list[BacktestFinding] = []
    for entry in config.watchlist:
        if brand is None or entry.name == brand:
            findings += _brand_findings(store, entry, config.rules_for(entry), now, days)
    if brand is None:
        findings.append(_source_findings(store, config.alerts.rules, now, days))
    return findings


def _brand_findings(
    store: Store, entry: WatchlistEntry, rules: AlertRules, now: datetime, days: int
) -> list[BacktestFinding]:
    current_hour = now.replace(minute=0, second=0, microsecond=0)
    since = current_hour - timedelta(days=days + HISTORY_DAYS)
    hourly = store.histogram(Window(since=since, until=now, brand=entry.name), interval="hour", split="sentiment")
    replayed_hours = days * 24 + now.hour  # the window's hours, up to the current one
    hourly = from_first_mention(hourly)
    first_replayed = max(len(hourly) - replayed_hours, 0)
    mentions = list(store.iter_mentions(MentionFilter(brand=entry.name, since=now - timedelta(days=days), until=now)))
    index = NearDuplicateIndex()
    cluster_of = {m.id: index.add(m.id, int(m.simhash or "0", 16)) for m in mentions}
    name = entry.name
    return [
        _negative_spike(name, rules.negative_spike, hourly, first_replayed),
        _volume_spike(name, rules.volume_spike, hourly, first_replayed),
        _negative_ratio(name, rules.negative_ratio, hourly, first_replayed),
        _viral(name, rules, mentions),
        _big_accounts(name, rules, mentions),
        _risk_words(name, rules, mentions, cluster_of),
        _copy_paste(name, rules, mentions, cluster_of),
    ]


# -- hourly rules ------------------------------------------------------------------------------------


def _replay_spikes(rule: SpikeRule, counts: list[float], hourly: list[Bucket], first: int) -> list[Episode]:
    return episodes(
        counts, hourly[0].start, params=spike_params(rule), warmup_days=first // 24, resolve_after_hours=_RESOLVE_HOURS
    )


def _spike_explanation(rule: SpikeRule, what: str) -> str:
    sensitivity = f"significance {rule.sensitivity:g}" if rule.sensitivity else "the tuned significance"
    return (
        f"fires when {what} in the recent window reach ×{rule.min_ratio:g} of the same hours over the last "
        f"{HISTORY_DAYS // 7} weeks, at least {rule.min_count} of them, at {sensitivity} "
        "(replayed on raw counts; live runs count near-duplicates once)"
    )


def _spike_episode(episode: Episode, hourly: list[Bucket]) -> FiredEpisode:
    hours = episode.end - episode.start + 1
    return FiredEpisode(
        hourly[episode.start].start,
        f"peak ×{episode.peak_ratio:.1f} ({episode.peak_observed:.0f} in one window), firing {hours} h",
    )


def _negative_spike(brand: str, rule: NegativeSpikeRule, hourly: list[Bucket], first: int) -> BacktestFinding:
    explanation = _spike_explanation(rule, "negative mentions") + (
        f", and the negative share rises {rule.min_share_rise:.0%} points"
    )
    finding = BacktestFinding("negative_spike", brand, rule.enabled, explanation)
    negatives = [float(bucket.split.get("negative", 0)) for bucket in hourly]
    for episode in _replay_spikes(rule, negatives, hourly, first):
        if _share_rise(hourly, episode.start) >= rule.min_share_rise:
            finding.episodes.append(_spike_episode(episode, hourly))
    return finding


def _share_rise(hourly: list[Bucket], at: int, window: int = 3) -> float:
    def share(buckets: Sequence[Bucket]) -> float:
        total = sum(bucket.total for bucket in buckets)
        return sum(bucket.split.get("negative", 0) for bucket in buckets) / total if total else 0.0

    start = max(at - window + 1, 0)
    return share(hourly[start : at + 1]) - share(hourly[max(start - HISTORY_DAYS * 24, 0) : start])


def _volume_spike(brand: str, rule: SpikeRule, hourly: list[Bucket], first: int) -> BacktestFinding:
    finding = BacktestFinding("volume_spike", brand, rule.enabled, _spike_explanation(rule, "mentions"))
    totals = [float(bucket.total) for bucket in hourly]
    finding.episodes = [_spike_episode(e, hourly) for e in _replay_spikes(rule, totals, hourly, first)]
    return finding


def _negative_ratio(brand: str, rule: NegativeRatioRule, hourly: list[Bucket], first: int) -> BacktestFinding:
    width = max(int(rule.window / _HOUR), 1)
    explanation = (
        f"fires when at least {rule.threshold:.0%} of the mentions of the last {width} h are negative, "
        f"with at least {rule.min_sample} mentions"
    )
    finding = BacktestFinding("negative_ratio", brand, rule.enabled, explanation)
    fires = []
    for hour in range(first, len(hourly)):
        window = hourly[max(hour - width + 1, 0) : hour + 1]
        total = sum(bucket.total for bucket in window)
        negative = sum(bucket.split.get("negative", 0) for bucket in window)
        if total >= rule.min_sample and negative / total >= rule.threshold:
            fires.append((hour, negative / total, float(total)))
    for episode in group_episodes(fires, _RESOLVE_HOURS):
        summary = f"negative share up to {episode.peak_ratio:.0%} of {episode.peak_observed:.0f} mentions"
        finding.episodes.append(FiredEpisode(hourly[episode.start].start, summary))
    return finding


# -- rules over single posts ---------------------------------------------------------------------------


def _viral(brand: str, rules: AlertRules, mentions: list[Mention]) -> BacktestFinding:
    rule = rules.viral_post
    explanation = (
        f"fires for a post with {rule.min_reposts:,}+ reposts or {rule.min_comments:,}+ comments, or gaining "
        f"{rule.min_growth_per_hour:,}+ reposts and comments an hour (judged on engagement stored now)"
    )
    finding = BacktestFinding("viral_post", brand, rule.enabled, explanation)
    for mention in mentions:
        metrics = mention.metrics
        if metrics.reposts >= rule.min_reposts or metrics.comments >= rule.min_comments:
            summary = (
                f"{_who(mention)}: {metrics.reposts:,} reposts, {metrics.comments:,} comments — {_excerpt(mention)}"
            )
            finding.episodes.append(FiredEpisode(mention.created_at, summary))
    return finding


def _big_accounts(brand: str, rules: AlertRules, mentions: list[Mention]) -> BacktestFinding:
    rule = rules.big_account
    verified = "verified " if rule.verified_only else ""
    explanation = f"fires when a {verified}account with {rule.min_followers:,}+ followers mentions the brand"
    finding = BacktestFinding("big_account", brand, rule.enabled, explanation)
    last_seen: dict[str, datetime] = {}
    for mention in mentions:
        author = mention.author
        if author is None or author.id is None or (author.followers or 0) < rule.min_followers:
            continue
        if rule.verified_only and not author.verified:
            continue
        previous = last_seen.get(author.id)
        last_seen[author.id] = mention.created_at
        if previous is None or mention.created_at - previous > timedelta(hours=24):  # one incident a day
            summary = f"{_who(mention)} ({mention.sentiment_label or 'unlabelled'}) — {_excerpt(mention)}"
            finding.episodes.append(FiredEpisode(mention.created_at, summary))
    return finding


def _risk_words(brand: str, rules: AlertRules, mentions: list[Mention], cluster_of: dict[str, str]) -> BacktestFinding:
    rule = rules.risk_words
    hours = rule.window / _HOUR
    explanation = (
        f"fires when {rule.min_count}+ distinct voices use one of {len(rule.words)} risk words "
        f"({'、'.join(rule.words[:6])}…) within {hours:g} h"
    )
    finding = BacktestFinding("risk_words", brand, rule.enabled, explanation)
    folded = [(mention, fold(mention.text)) for mention in mentions]
    for word in dict.fromkeys(rule.words):
        needle = fold(word)
        using = [mention for mention, text in folded if needle in text]
        for start, voices in _bursts(using, cluster_of, rule.window, rule.min_count):
            finding.episodes.append(FiredEpisode(start, f"「{word}」: {voices} distinct voices within {hours:g} h"))
    finding.episodes.sort(key=lambda episode: episode.start)
    return finding


def _bursts(
    mentions: list[Mention], cluster_of: dict[str, str], window: timedelta, threshold: int
) -> list[tuple[datetime, int]]:
    """When the distinct voices within a trailing window first reached ``threshold``, once per burst."""
    found: list[tuple[datetime, int]] = []
    in_window: Counter[str] = Counter()  # cluster -> its mentions inside the trailing window
    oldest = 0
    quiet_until: datetime | None = None
    for mention in mentions:
        in_window[cluster_of[mention.id]] += 1
        while mentions[oldest].created_at <= mention.created_at - window:
            in_window -= Counter({cluster_of[mentions[oldest].id]: 1})  # drops clusters that reach 0
            oldest += 1
        if len(in_window) < threshold:
            continue
        if quiet_until is None or mention.created_at > quiet_until:
            found.append((mention.created_at, len(in_window)))
        quiet_until = mention.created_at + window  # still the same burst until the window has passed
    return found


def _copy_paste(brand: str, rules: AlertRules, mentions: list[Mention], cluster_of: dict[str, str]) -> BacktestFinding:
    rule = rules.copy_paste
    explanation = f"fires when {rule.min_copies}+ near-identical posts appear within {rule.window / _HOUR:g} h"
    finding = BacktestFinding("copy_paste", brand, rule.enabled, explanation)
    members: dict[str, list[Mention]] = defaultdict(list)
    for mention in mentions:
        members[cluster_of[mention.id]].append(mention)
    for cluster in members.values():
        if len(cluster) < rule.min_copies:
            continue
        for index in range(rule.min_copies - 1, len(cluster)):
            if cluster[index].created_at - cluster[index - rule.min_copies + 1].created_at <= rule.window:
                summary = f"{len(cluster)} copies in total — {_excerpt(cluster[0])}"
                finding.episodes.append(FiredEpisode(cluster[index].created_at, summary))
                break
    finding.episodes.sort(key=lambda episode: episode.start)
    return finding


def _source_findings(store: Store, rules: AlertRules, now: datetime, days: int) -> BacktestFinding:
    rule = rules.source_failure
    explanation = f"fires after {rule.after_failures} failed crawl runs in a row of one source"
    finding = BacktestFinding("source_failure", None, rule.enabled, explanation)
    for source in sorted({health.source for health in store.latest_health()}):
        runs = [
            h
            for h in reversed(store.health_history(source, limit=10_000))
            if h.finished_at >= now - timedelta(days=days)
        ]
        finding.episodes += _failure_streaks(source, runs, rule.after_failures)
    finding.episodes.sort(key=lambda episode: episode.start)
    return finding


def _failure_streaks(source: str, runs: list[SourceHealth], after: int) -> list[FiredEpisode]:
    """``runs`` oldest first; one episode per streak of ``after`` or more failed runs."""
    found, streak = [], 0
    for run in runs:
        streak = streak + 1 if run.status == "failed" else 0
        if streak == after:
            found.append(
                FiredEpisode(
                    run.finished_at, f"{source}: {after} failed runs in a row — {run.error or 'no error recorded'}"
                )
            )
    return found


def _who(mention: Mention) -> str:
    author = mention.author
    if author is None:
        return "unknown author"
    followers = f", {author.followers:,} followers" if author.followers is not None else ""
    return f"{author.name or author.id}{followers}"


def _excerpt(mention: Mention, length: int = 40) -> str:
    text = " ".join(mention.text.split())
    return text if len(text) <= length else text[:length] + "…"
