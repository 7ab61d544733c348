"""The detectors: each reads one brand's recent mentions and hourly history and says what fires.

Every count of people is a count of *distinct voices*: mentions that are near-duplicates of each
other (same SimHash cluster in the window) count once, so a copy-paste wave shows up as one voice
repeated — and as its own "疑似水军刷屏" signal — never as a crowd.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alerts.message import Severity
from alerts.seasonal import Assessment, SpikeParams, assess
from alerts.signals import Signal, post_line
from fengxiang.config import (
    AlertRules,
    BigAccountRule,
    CopyPasteRule,
    NegativeRatioRule,
    NegativeSpikeRule,
    RiskWordsRule,
    SourceFailureRule,
    SpikeRule,
    ViralPostRule,
)
from fengxiang.query import parse
from fengxiang.textmatch import fold
from nlp.simhash import NearDuplicateIndex
from store.base import Bucket, MentionFilter, SourceHealth, Store, Window
from store.model import Mention, author_key

HISTORY_DAYS = 28  # the seasonal baseline looks at the same hours over the last four weeks
RECENT = timedelta(hours=24)  # the longest window a mention-level rule looks at
TOP_POSTS = 5
_HOUR = timedelta(hours=1)


@dataclass
class BrandView:
    """What the detectors of one brand look at, read from the store once per evaluation."""

    brand: str
    now: datetime
    hourly: list[Bucket]  # one per local hour, oldest first; the last is the current (partial) hour
    recent: list[Mention]  # every mention of the last day, oldest first
    cluster_of: dict[str, str]  # mention id -> its near-duplicate cluster among `recent`

    @property
    def now_fraction(self) -> float:
        elapsed = (self.now - self.hourly[-1].start) / _HOUR
        return min(max(elapsed, 1e-3), 1.0)

    def since(self, start: datetime) -> list[Mention]:
        return [mention for mention in self.recent if mention.created_at >= start]

    def voices(self, mentions: Iterable[Mention]) -> int:
        return len({self.cluster_of[mention.id] for mention in mentions})

    def representatives(self, mentions: Sequence[Mention], limit: int = TOP_POSTS) -> list[tuple[Mention, int]]:
        """The most engaged post of each cluster with the cluster's size, most engaged first."""
        sizes = Counter(self.cluster_of[mention.id] for mention in mentions)
        best: dict[str, Mention] = {}
        for mention in mentions:
            cluster = self.cluster_of[mention.id]
            if cluster not in best or mention.engagement > best[cluster].engagement:
                best[cluster] = mention
        ranked = sorted(best.items(), key=lambda item: (item[1].engagement, sizes[item[0]]), reverse=True)
        return [(mention, sizes[cluster]) for cluster, mention in ranked[:limit]]


def load_brand_view(store: Store, brand: str, now: datetime) -> BrandView:
    current_hour = now.replace(minute=0, second=0, microsecond=0)
    history = Window(since=current_hour - timedelta(days=HISTORY_DAYS), until=now, brand=brand)
    hourly = from_first_mention(store.histogram(history, interval="hour", split="sentiment"))
    recent = list(store.iter_mentions(MentionFilter(brand=brand, since=now - RECENT, until=now)))
    index = NearDuplicateIndex()
    cluster_of = {mention.id: index.add(mention.id, int(mention.simhash or "0", 16)) for mention in recent}
    return BrandView(brand, now, hourly, recent, cluster_of)


def from_first_mention(hourly: list[Bucket]) -> list[Bucket]:
    """Hours before the brand's first stored mention are not quiet hours but unknown ones: left out,
    they cannot drag the baseline down (a brand added last week has a week of history, not three
    empty weeks)."""
    first = next((index for index, bucket in enumerate(hourly) if bucket.total), len(hourly) - 1)
    return hourly[first:]


def detect_brand(store: Store, view: BrandView, rules: AlertRules) -> list[Signal]:
    signals: list[Signal] = []
    if rules.negative_spike.enabled:
        signals += negative_spike(view, rules.negative_spike)
    if rules.volume_spike.enabled:
        signals += volume_spike(view, rules.volume_spike)
    if rules.negative_ratio.enabled:
        signals += negative_ratio(view, rules.negative_ratio)
    if rules.viral_post.enabled:
        signals += viral_posts(store, view, rules.viral_post)
    if rules.big_account.enabled:
        signals += big_accounts(view, rules.big_account)
    if rules.risk_words.enabled:
        signals += risk_words(store, view, rules.risk_words)
    if rules.copy_paste.enabled:
        signals += copy_paste(view, rules.copy_paste)
    return signals


# -- spikes against the seasonal baseline ---------------------------------------------------------


def spike_params(rule: SpikeRule) -> SpikeParams:
    params = SpikeParams(min_count=rule.min_count, min_ratio=rule.min_ratio, history_days=HISTORY_DAYS)
    return params if rule.sensitivity is None else replace(params, sensitivity=rule.sensitivity)


def _assess(view: BrandView, counts: list[float], rule: SpikeRule) -> Assessment:
    return assess(counts, view.hourly[0].start, now_fraction=view.now_fraction, params=spike_params(rule))


def _spike_severity(ratio: float, voices: int, min_count: int) -> Severity:
    if ratio >= 5 and voices >= 3 * min_count:
        return "critical"
    return "high" if ratio >= 3 else "medium"


def _lower(severity: Severity) -> Severity:
    return {"critical": "high", "high": "medium", "medium": "low", "low": "low"}[severity]  # type: ignore[return-value]


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def negative_spike(view: BrandView, rule: NegativeSpikeRule) -> list[Signal]:
    negatives = [float(bucket.split.get("negative", 0)) for bucket in view.hourly]
    assessment = _assess(view, negatives, rule)
    if not assessment.fired:
        return []
    window = view.hourly[-assessment.window_hours :]
    in_window = [mention for mention in view.since(window[0].start) if mention.sentiment_label == "negative"]
    voices = view.voices(in_window)
    # A copy-paste wave lifts the raw count but not the number of people: the copy_paste rule reports it.
    if voices < rule.min_count or voices < rule.min_ratio * assessment.expected:
        return []
    history = view.hourly[: -assessment.window_hours]
    share_now = _share(sum(b.split.get("negative", 0) for b in window), sum(b.total for b in window))
    share_before = _share(sum(b.split.get("negative", 0) for b in history), sum(b.total for b in history))
    if share_now - share_before < rule.min_share_rise:
        return []
    facts = [
        ("负面提及", f"{assessment.observed:.0f} 条，{voices} 个独立声音（同文只计一次）"),
        ("基线", f"{assessment.expected:.1f} 条（近 4 周同时段）"),
        ("倍数", f"×{assessment.ratio:.1f}"),
        ("负面占比", f"{share_now:.0%}（此前 {share_before:.0%}）"),
        ("时间窗", f"近 {assessment.window_hours} 小时"),
    ]
    posts = [post_line(mention, copies) for mention, copies in view.representatives(in_window)]
    severity = _spike_severity(assessment.ratio, voices, rule.min_count)
    return [Signal("negative_spike", view.brand, "", severity, voices, facts, posts, _ids(in_window))]


def volume_spike(view: BrandView, rule: SpikeRule) -> list[Signal]:
    totals = [float(bucket.total) for bucket in view.hourly]
    assessment = _assess(view, totals, rule)
    if not assessment.fired:
        return []
    in_window = view.since(view.hourly[-assessment.window_hours].start)
    voices = view.voices(in_window)
    if voices < rule.min_count or voices < rule.min_ratio * assessment.expected:
        return []
    facts = [
        ("提及", f"{assessment.observed:.0f} 条，{voices} 个独立声音"),
        ("基线", f"{assessment.expected:.1f} 条（近 4 周同时段）"),
        ("倍数", f"×{assessment.ratio:.1f}"),
        ("时间窗", f"近 {assessment.window_hours} 小时"),
    ]
    posts = [post_line(mention, copies) for mention, copies in view.representatives(in_window)]
    severity = _lower(_spike_severity(assessment.ratio, voices, rule.min_count))
    return [Signal("volume_spike", view.brand, "", severity, voices, facts, posts, _ids(in_window))]


# -- rules over the window's mentions -------------------------------------------------------------


def negative_ratio(view: BrandView, rule: NegativeRatioRule) -> list[Signal]:
    in_window = view.since(view.now - rule.window)
    negatives = [mention for mention in in_window if mention.sentiment_label == "negative"]
    voices, negative_voices = view.voices(in_window), view.voices(negatives)
    share = _share(negative_voices, voices)
    if voices < rule.min_sample or share < rule.threshold:
        return []
    hours = rule.window / _HOUR
    facts = [
        ("负面占比", f"{share:.0%}（阈值 {rule.threshold:.0%}）"),
        ("样本", f"{voices} 个独立声音，其中负面 {negative_voices}"),
        ("时间窗", f"近 {hours:g} 小时"),
    ]
    posts = [post_line(mention, copies) for mention, copies in view.representatives(negatives)]
    severity: Severity = "high" if share >= min(rule.threshold + 0.2, 0.95) else "medium"
    return [Signal("negative_ratio", view.brand, "", severity, negative_voices, facts, posts, _ids(negatives))]


def _interactions(mention: Mention) -> int:
    return mention.metrics.reposts + mention.metrics.comments


def viral_posts(store: Store, view: BrandView, rule: ViralPostRule) -> list[Signal]:
    """The most engaged recent posts, grouped with their reposts under the post they spread from."""
    where = MentionFilter(brand=view.brand, since=view.now - rule.window, until=view.now)
    spreads: dict[str, list[Mention]] = {}
    for mention in store.search(where, sort="engagement", limit=50).items:
        spreads.setdefault(mention.parent_id or mention.id, []).append(mention)
    signals: list[Signal] = []
    for root_id, members in spreads.items():
        if len(signals) == rule.max_posts:
            break
        lead = members[0]  # the most engaged of the spread (search sorted by engagement)
        if rule.negative_only and lead.sentiment_label != "negative":
            continue
        metrics = lead.metrics
        age_hours = max((view.now - lead.created_at) / _HOUR, 0.5)
        growth = _interactions(lead) / age_hours  # the average since posting: early, and needs no history
        fast = growth >= rule.min_growth_per_hour and _interactions(lead) >= rule.min_growth_per_hour
        if metrics.reposts < rule.min_reposts and metrics.comments < rule.min_comments and not fast:
            continue
        total = sum(_interactions(member) for member in members)
        big = total >= 10 * min(rule.min_reposts, rule.min_comments)
        severity: Severity
        if lead.sentiment_label == "negative":
            severity = "critical" if big else "high"
        else:
            severity = "medium" if big else "low"
        facts = [
            ("互动", f"转发 {metrics.reposts:,}，评论 {metrics.comments:,}，点赞 {metrics.likes:,}"),
            ("增速", f"约 {growth:,.0f} 次转评/小时（发布 {age_hours:.1f} 小时）"),
            ("情感", _SENTIMENT_WORDS.get(lead.sentiment_label or "", "未标注")),
        ]
        if len(members) > 1:
            facts.append(("扩散", f"另有 {len(members) - 1} 条高互动转发，合计转评 {total:,}"))
        posts = [post_line(member) for member in members[:TOP_POSTS]]
        signals.append(Signal("viral_post", view.brand, root_id, severity, total, facts, posts, _ids(members)))
    return signals


_SENTIMENT_WORDS = {"negative": "负面", "neutral": "中性", "positive": "正面"}


def _big_account_severity(followers: int, negative: bool) -> Severity:
    if negative:
        return "critical" if followers >= 10_000_000 else "high" if followers >= 1_000_000 else "medium"
    return "medium" if followers >= 10_000_000 else "low"


def big_accounts(view: BrandView, rule: BigAccountRule) -> list[Signal]:
    by_author: dict[str, list[Mention]] = {}
    for mention in view.recent:
        author = mention.author
        if author is None or author.id is None or (author.followers or 0) < rule.min_followers:
            continue
        if rule.verified_only and not author.verified:
            continue
        by_author.setdefault(author_key(mention) or author.id, []).append(mention)
    signals = []
    for key, mentions in by_author.items():
        author = mentions[-1].author
        assert author is not None and author.followers is not None
        negative = any(mention.sentiment_label == "negative" for mention in mentions)
        facts = [
            ("账号", f"{author.name or author.id}（粉丝 {author.followers:,}{'，认证' if author.verified else ''}）"),
            ("提及", f"近 24 小时 {len(mentions)} 条"),
            ("情感", "含负面" if negative else "无负面"),
        ]
        posts = [post_line(mention) for mention in sorted(mentions, key=lambda m: m.engagement, reverse=True)]
        severity = _big_account_severity(author.followers, negative)
        signals.append(
            Signal("big_account", view.brand, key, severity, len(mentions), facts, posts[:TOP_POSTS], _ids(mentions))
        )
    return signals


def risk_words(store: Store, view: BrandView, rule: RiskWordsRule) -> list[Signal]:
    """One incident per brand for its risk words together; the facts say which words and how often.
    A big brand always has some complaints: the window must also reach ``min_ratio`` times the
    usual number of risk-word mentions (the average window of the week before)."""
    in_window = view.since(view.now - rule.window)
    folded = [(mention, fold(mention.text)) for mention in in_window]
    by_word = {}
    for word in dict.fromkeys(rule.words):
        needle = fold(word)
        using = [mention for mention, text in folded if needle in text]
        if view.voices(using) >= rule.min_count:
            by_word[word] = using
    if not by_word:
        return []
    flagged = list({mention.id: mention for using in by_word.values() for mention in using}.values())
    voices = view.voices(flagged)
    usual = _usual_risk_mentions(store, view, rule)
    if voices < rule.min_ratio * usual:
        return []
    ranked = sorted(by_word.items(), key=lambda item: view.voices(item[1]), reverse=True)
    facts = [
        ("风险词", "、".join(f"{word}（{view.voices(using)}）" for word, using in ranked)),
        ("提及", f"近 {rule.window / _HOUR:g} 小时 {len(flagged)} 条，{voices} 个独立声音"),
        ("平时", f"每 {rule.window / _HOUR:g} 小时约 {usual:.1f} 条（前 7 天平均）"),
    ]
    posts = [post_line(mention, copies) for mention, copies in view.representatives(flagged)]
    severity: Severity = "high" if voices >= 3 * max(rule.min_count, usual) else "medium"
    return [Signal("risk_words", view.brand, "", severity, voices, facts, posts, _ids(flagged))]


def _usual_risk_mentions(store: Store, view: BrandView, rule: RiskWordsRule) -> float:
    query = parse(" OR ".join(f'"{word}"' for word in rule.words if '"' not in word))
    until = view.now - rule.window
    since = until - timedelta(days=7)
    where = MentionFilter(brand=view.brand, since=since, until=until, text=query)
    found = sum(1 for _ in store.iter_mentions(where))
    return found * (rule.window / timedelta(days=7))


def copy_paste(view: BrandView, rule: CopyPasteRule) -> list[Signal]:
    in_window = view.since(view.now - rule.window)
    clusters: dict[str, list[Mention]] = {}
    for mention in in_window:
        clusters.setdefault(view.cluster_of[mention.id], []).append(mention)
    signals = []
    for cluster, members in clusters.items():
        if len(members) < rule.min_copies:
            continue
        authors = {mention.author.id for mention in members if mention.author and mention.author.id}
        followers = sorted(mention.author.followers or 0 for mention in members if mention.author)
        median_followers = followers[len(followers) // 2] if followers else 0
        negative = Counter(mention.sentiment_label for mention in members).most_common(1)[0][0] == "negative"
        facts = [
            ("同文", f"{len(members)} 条，{len(authors)} 个账号，按 1 个声音计"),
            ("首发", members[0].created_at.strftime("%m-%d %H:%M")),
            ("账号粉丝中位数", f"{median_followers:,}"),
        ]
        severity: Severity = "high" if negative else "medium"
        posts = [post_line(members[0], len(members))]
        signals.append(Signal("copy_paste", view.brand, cluster, severity, len(members), facts, posts, _ids(members)))
    return signals


# -- sources ---------------------------------------------------------------------------------------


def source_failures(history: dict[str, list[SourceHealth]], rule: SourceFailureRule) -> list[Signal]:
    """``history``: each source's newest health records, newest first."""
    signals = []
    for source, records in history.items():
        failing = records[: rule.after_failures]
        if len(failing) < rule.after_failures or any(record.status != "failed" for record in failing):
            continue
        streak = next((i for i, record in enumerate(records) if record.status != "failed"), len(records))
        facts = [
            ("数据源", source),
            ("连续失败", f"{streak} 次，最近一次 {records[0].finished_at.strftime('%m-%d %H:%M')}"),
            ("原因", records[0].error or "未知"),
        ]
        severity: Severity = "critical" if streak >= 3 * rule.after_failures else "high"
        signals.append(Signal("source_failure", None, source, severity, streak, facts))
    return signals


def _ids(mentions: Sequence[Mention]) -> tuple[str, ...]:
    return tuple(mention.id for mention in mentions)
