"""The daily report rendered: Markdown, a self-contained HTML page, and the group robots' summary.

Post text, author names, keywords and URLs come from the internet. In Markdown they pass through
:func:`alerts.markdown.plain` (markup characters become full-width lookalikes, so a post cannot open
a link, a heading or a table cell); in HTML, Jinja2 escapes every value. In both, only an http(s)
URL that :func:`alerts.markdown.safe_link` accepts becomes a link. The HTML loads nothing: its CSS
is inline and the trend charts are inline SVG drawn from the store's numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from jinja2 import Environment
from markupsafe import Markup

from alerts.markdown import plain, safe_link, short_count
from alerts.message import SEVERITY_LABELS, AlertMessage, PostLine
from fengxiang.report import Account, DailyReport, IncidentSummary, Metric, Post, TrendPoint

SENTIMENT_NAMES = {"negative": "负面", "neutral": "中性", "positive": "正面", "unlabeled": "未分析"}
SENTIMENT_COLOURS = {"negative": "#d9534f", "neutral": "#9aa5b1", "positive": "#4caf7d", "unlabeled": "#e0e0e0"}
STATUS_NAMES = {"open": "处理中", "resolved": "已恢复"}
POST_CHARS = 140  # a post in the report: enough to judge it, the link has the rest
SUMMARY_POSTS = 3  # negative posts in the robots' summary
SUMMARY_WORDS = 5

Clean = Callable[[str | None, int], str]  # untrusted text made safe for one format, cut to a length


# -- numbers in words, shared by every format ---------------------------------------------------


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def relative(metric: Metric, *, points: bool = False) -> str:
    """ "+12.3%", or "+3.1 个百分点" for a share; "—" when the day before had nothing to compare with."""
    if metric.change is None:
        return "—"
    return f"{metric.change * 100:+.1f} 个百分点" if points else f"{metric.change:+.1%}"


def key_numbers(report: DailyReport) -> list[tuple[str, str, str, str]]:
    """(label, the day, the day before, change) for the headline table."""
    h = report.headline
    return [
        ("声量", number(h.volume.current), number(h.volume.previous), relative(h.volume)),
        ("负面提及", number(h.negatives.current), number(h.negatives.previous), relative(h.negatives)),
        (
            "负面占比",
            percent(h.negative_share.current),
            percent(h.negative_share.previous),
            relative(h.negative_share, points=True),
        ),
        ("互动量", number(h.engagement.current), number(h.engagement.previous), relative(h.engagement)),
        ("新增预警", number(h.incidents.current), number(h.incidents.previous), relative(h.incidents)),
    ]


def sentiment_line(counts: dict[str, int]) -> str:
    return " · ".join(f"{SENTIMENT_NAMES[label]} {n:,}" for label, n in counts.items() if n or label != "unlabeled")


def _when(moment: datetime) -> str:
    return f"{moment:%m-%d %H:%M}"


def _period(report: DailyReport) -> str:
    return f"{report.since:%Y-%m-%d %H:%M} 至 {report.until:%Y-%m-%d %H:%M}（{report.since:%z}）"


# -- Markdown -----------------------------------------------------------------------------------


def to_markdown(report: DailyReport) -> str:
    lines = [f"# 舆情日报 · {report.day.isoformat()}", "", f"统计时段：{_period(report)}", ""]
    if report.empty:
        lines += ["> 当日没有监测到任何提及（no mentions）。", ""]
    lines += ["## 核心数据", "", "| 指标 | 当日 | 前日 | 变化 |", "|---|---:|---:|---:|"]
    lines += [f"| {label} | {day} | {before} | {delta} |" for label, day, before, delta in key_numbers(report)]
    platforms = " · ".join(f"{plain(name, 20)} {n:,}" for name, n in report.headline.platforms.items())
    lines += ["", f"情感：{sentiment_line(report.headline.sentiment)}", "", f"平台：{platforms or '—'}", ""]
    lines += _md_trend(report.daily)
    lines += _md_incidents(report.incidents)
    lines += ["## 待处理负面", ""]
    lines += [f"{n}. {_md_post(post)}" for n, post in enumerate(report.negatives, 1)] or ["（无）"]
    lines += ["", "## KOL 与媒体", ""]
    lines += _md_accounts("KOL", report.kols) + _md_accounts("媒体", report.media)
    lines += [
        "## 热词",
        "",
        f"热词：{_md_words(report, rising=False)}",
        "",
        f"新热词：{_md_words(report, rising=True)}",
    ]
    lines += ["", *_md_share_of_voice(report)]
    return "\n".join(lines).rstrip() + "\n"


def _md_trend(daily: Sequence[TrendPoint]) -> list[str]:
    lines = ["## 声量趋势（近 7 天）", "", "| 日期 | 声量 | 负面 | 中性 | 正面 |", "|---|---:|---:|---:|---:|"]
    for point in daily:
        c = point.counts
        lines.append(
            f"| {point.start:%m-%d} | {point.total:,} | {c['negative']:,} | {c['neutral']:,} | {c['positive']:,} |"
        )
    return [*lines, "", "逐小时趋势图见同名 HTML 文件。", ""]


def _md_incidents(incidents: Sequence[IncidentSummary]) -> list[str]:
    lines = ["## 重点事件", ""]
    if not incidents:
        return [*lines, "（无）", ""]
    for n, incident in enumerate(incidents, 1):
        lines += [f"### {n}. {_incident_title(incident)}", "", f"- 状态：{_incident_state(incident)}"]
        lines += [f"- {plain(label, 20)}：{plain(value, 160)}" for label, value in incident.facts]
        first = incident.first_source
        lines.append(f"- 首发：{_md_post(first)}" if first else "- 首发：证据帖文已不在库中")
        lines.append(f"- 扩散：{_spread(incident)}")
        lines.append(f"- 证据情感：{sentiment_line(incident.sentiment) or '—'}")
        lines += ["- 代表帖文："] + [f"  {k}. {_md_post(post)}" for k, post in enumerate(incident.posts, 1)]
        lines.append("")
    return lines


def _incident_title(incident: IncidentSummary) -> str:
    subject = " · ".join(part for part in (plain(incident.brand, 40), plain(incident.title, 60)) if part)
    return f"【{SEVERITY_LABELS[incident.severity]}】{subject}"


def _incident_state(incident: IncidentSummary) -> str:
    state = f"{STATUS_NAMES.get(incident.status, incident.status)}，{_when(incident.opened_at)} 开始"
    if incident.resolved_at:
        state += f"，{_when(incident.resolved_at)} 恢复"
    return f"{state}，峰值 {incident.peak_volume:g}"


def _spread(incident: IncidentSummary, clean: Clean = plain) -> str:
    platforms = "、".join(f"{clean(name, 20)} {n:,}" for name, n in incident.platforms.items()) or "—"
    return (
        f"{platforms}；{incident.authors:,} 个账号，转发 {incident.reposts:,}"
        f"（按 {incident.evidence_read:,} 条证据帖文统计）"
    )


def _post_meta(post: Post, clean: Clean = plain) -> str:
    """ "weibo · 数码老王 · 粉丝 12.3万 · 互动 1234 · 负面 · 11-23 19:42"."""
    parts = [clean(post.platform, 20), clean(post.author, 30) or "匿名用户"]
    if post.followers is not None:
        parts.append(f"粉丝 {short_count(post.followers)}")
    parts.append(f"互动 {short_count(post.engagement)}")
    if post.copies > 1:
        parts.append(f"同文 ×{post.copies}")
    parts.append(SENTIMENT_NAMES.get(post.sentiment or "unlabeled", ""))
    return " · ".join(part for part in [*parts, _when(post.created_at)] if part)


def _md_post(post: Post) -> str:
    link = safe_link(post.url)
    source = f" [原文]({link})" if link else ""
    return f"{plain(post.text, POST_CHARS)}（{_post_meta(post)}）{source}"


def _md_accounts(segment: str, accounts: Sequence[Account]) -> list[str]:
    lines = [f"**{segment}**", ""]
    if not accounts:
        return [*lines, "（无）", ""]
    lines += ["| 账号 | 平台 | 粉丝 | 影响力分 | 提及 | 倾向 |", "|---|---|---:|---:|---:|---|"]
    for account in accounts:
        followers = "—" if account.followers is None else short_count(account.followers)
        lines.append(
            f"| {plain(account.name, 30)} | {plain(account.platform, 20)} | {followers} | {account.score:.1f}"
            f" | {account.mentions:,} | {account.stance} |"
        )
    return [*lines, ""]


def _md_words(report: DailyReport, *, rising: bool) -> str:
    words = report.rising_words if rising else report.hot_words
    shown = [f"{plain(w.word, 20)}（×{w.ratio:g}）" if rising else f"{plain(w.word, 20)}（{w.count:,}）" for w in words]
    return "、".join(shown) or "—"


def _md_share_of_voice(report: DailyReport) -> list[str]:
    lines = ["## 声量份额（对比竞品）", ""]
    if not report.share_of_voice:
        return [*lines, "（监测词未配置 competitors）"]
    for entry in report.share_of_voice:
        counts = " · ".join(
            f"{plain(name, 40)} {n:,}（{percent(entry.share(name))}）" for name, n in entry.counts.items()
        )
        lines.append(f"- {plain(entry.brand, 40)}：{counts}")
    return lines


# -- HTML ---------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;
max-width:960px;color:#1f2933;line-height:1.5;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #e4e7eb;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border-bottom:1px solid #e4e7eb;padding:.35em .5em;
text-align:left;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#7b8794;font-size:.9em}.note{background:#fff8e1;padding:.6em 1em;border-left:4px solid #f0b429}
.incident{border:1px solid #e4e7eb;border-radius:6px;padding:.6em 1em;margin:.8em 0}
.sev-critical{color:#c62828}.sev-high{color:#ef6c00}.sev-medium{color:#b7950b}.sev-low{color:#1565c0}
.post{margin:.4em 0}.post .text{white-space:pre-wrap;word-break:break-word}svg{max-width:100%;height:auto}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:.8em;height:.8em;
margin-right:.3em}
@media print{body{margin:0;max-width:none}.incident{break-inside:avoid}}
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>舆情日报 · {{ r.day.isoformat() }}</title><style>{{ css }}</style></head><body>
<h1>舆情日报 · {{ r.day.isoformat() }}</h1>
<p class="muted">统计时段：{{ period }} · 生成于 {{ r.generated_at.strftime("%Y-%m-%d %H:%M") }}</p>
{% if r.empty %}<p class="note">当日没有监测到任何提及（no mentions）。</p>{% endif %}
<h2>核心数据</h2>
<table><tr><th>指标</th><th class="n">当日</th><th class="n">前日</th><th class="n">变化</th></tr>
{% for label, day, before, delta in numbers %}<tr><td>{{ label }}</td><td class="n">{{ day }}</td>
<td class="n">{{ before }}</td><td class="n">{{ delta }}</td></tr>{% endfor %}</table>
<p>情感：{{ sentiment }}<br>平台：{% for name, n in r.headline.platforms.items() %}{{ name }} {{ "{:,}".format(n) }}
{%- if not loop.last %} · {% endif %}{% else %}—{% endfor %}</p>
<h2>声量趋势</h2>
<p class="legend">{% for label, colour in colours.items() %}<span><i style="background:{{ colour }}"></i>
{{ names[label] }}</span>{% endfor %}</p>
<h3>当日逐小时</h3>{{ hourly_svg }}
<h3>近 7 天</h3>{{ daily_svg }}
<h2>重点事件</h2>
{% for i in r.incidents %}<div class="incident">
<h3 class="sev-{{ i.severity }}">【{{ severities[i.severity] }}】
{%- if i.brand %}{{ i.brand }} · {% endif %}{{ i.title }}</h3>
<p class="muted">{{ state(i) }}</p>
<ul>{% for label, value in i.facts %}<li>{{ label }}：{{ value }}</li>{% endfor %}</ul>
<p><b>首发</b>：{% if i.first_source %}{{ post(i.first_source) }}{% else %}证据帖文已不在库中{% endif %}</p>
<p><b>扩散</b>：{{ spread(i) }}<br><b>证据情感</b>：{{ sentiment_of(i.sentiment) or "—" }}</p>
<p><b>代表帖文</b></p><ol>{% for p in i.posts %}<li>{{ post(p) }}</li>{% endfor %}</ol>
</div>{% else %}<p>（无）</p>{% endfor %}
<h2>待处理负面</h2>
{% if r.negatives %}<ol>{% for p in r.negatives %}<li>{{ post(p) }}</li>{% endfor %}</ol>
{%- else %}<p>（无）</p>{% endif %}
<h2>KOL 与媒体</h2>
{% for segment, accounts in (("KOL", r.kols), ("媒体", r.media)) %}<h3>{{ segment }}</h3>
{% if accounts %}<table><tr><th>账号</th><th>平台</th><th class="n">粉丝</th><th class="n">影响力分</th>
<th class="n">提及</th><th>倾向</th><th>认证</th></tr>
{% for a in accounts %}<tr><td>{{ a.name }}</td><td>{{ a.platform }}</td>
<td class="n">{{ "—" if a.followers is none else short_count(a.followers) }}</td>
<td class="n">{{ "%.1f"|format(a.score) }}</td><td class="n">{{ a.mentions }}</td><td>{{ a.stance }}</td>
<td>{{ a.verified_reason or "" }}</td></tr>{% endfor %}</table>{% else %}<p>（无）</p>{% endif %}{% endfor %}
<h2>热词</h2>
<p>热词：{% for w in r.hot_words %}{{ w.word }}（{{ "{:,}".format(w.count) }}）{% if not loop.last %}、{% endif %}
{%- else %}—{% endfor %}</p>
<p>新热词：{% for w in r.rising_words %}{{ w.word }}（×{{ "%g"|format(w.ratio) }}）{% if not loop.last %}、{% endif %}
{%- else %}—{% endfor %}</p>
<h2>声量份额（对比竞品）</h2>
{% for s in r.share_of_voice %}<h3>{{ s.brand }}</h3><table>
{% for name, n in s.counts.items() %}<tr><td>{{ name }}</td><td class="n">{{ "{:,}".format(n) }}</td>
<td class="n">{{ percent(s.share(name)) }}</td></tr>{% endfor %}</table>
{% else %}<p>（监测词未配置 competitors）</p>{% endfor %}
</body></html>
"""

_environment = Environment(autoescape=True, keep_trailing_newline=True)


def to_html(report: DailyReport) -> str:
    template = _environment.from_string(_TEMPLATE)
    return template.render(
        r=report,
        css=Markup(_CSS),  # our own constant: not untrusted
        period=_period(report),
        numbers=key_numbers(report),
        sentiment=sentiment_line(report.headline.sentiment),
        colours=SENTIMENT_COLOURS,
        names=SENTIMENT_NAMES,
        severities=SEVERITY_LABELS,
        hourly_svg=stacked_bars(report.hourly, lambda point: f"{point.start:%H}"),
        daily_svg=stacked_bars(report.daily, lambda point: f"{point.start:%m-%d}"),
        state=_incident_state,
        spread=lambda incident: _spread(incident, _as_is),
        sentiment_of=sentiment_line,
        post=_html_post,
        percent=percent,
        short_count=short_count,
    )


def _html_post(post: Post) -> Markup:
    """A post as HTML: its text escaped, its link only when it is a plain http(s) URL."""
    text, meta = _as_is(post.text, POST_CHARS), _post_meta(post, _as_is)
    link = safe_link(post.url)
    source = Markup(' <a href="{}" rel="noopener noreferrer nofollow">原文</a>').format(link) if link else ""
    return Markup('<span class="post"><span class="text">{}</span> <span class="muted">（{}）</span>{}</span>').format(
        text, meta, source
    )


def _as_is(text: str | None, max_chars: int) -> str:
    """Untrusted text for HTML, where Jinja2 escapes it: only cut to length."""
    text = text or ""
    return text if len(text) <= max_chars else text[:max_chars] + "…"


def stacked_bars(points: Sequence[TrendPoint], label: Callable[[TrendPoint], str]) -> Markup:
    """Bars stacked by sentiment, as inline SVG; every value in it is a number or our own label."""
    width, height, top, bottom, left = 720, 200, 10, 24, 40
    plot = height - top - bottom
    peak = max((point.total for point in points), default=0) or 1
    slot = (width - left) / max(len(points), 1)
    shapes = [
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="10">{peak:,}</text>',
        f'<line x1="{left}" y1="{top + plot}" x2="{width}" y2="{top + plot}" stroke="#cbd2d9"/>',
    ]
    for index, point in enumerate(points):
        x, y = left + index * slot + slot * 0.15, float(top + plot)
        for bucket, colour in SENTIMENT_COLOURS.items():
            size = point.counts.get(bucket, 0) / peak * plot
            if size > 0:
                y -= size
                shapes.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{size:.1f}" fill="{colour}">'
                    f"<title>{SENTIMENT_NAMES[bucket]} {point.counts[bucket]:,}</title></rect>"
                )
        shapes.append(
            Markup('<text x="{:.1f}" y="{}" text-anchor="middle" font-size="10">{}</text>').format(
                x + slot * 0.35, height - 8, label(point)
            )
        )
    body = "".join(shapes)
    return Markup(f'<svg viewBox="0 0 {width} {height}" role="img">{body}</svg>')


# -- the group robots' summary ------------------------------------------------------------------


def summary_message(report: DailyReport, dashboard_url: str | None) -> AlertMessage:
    """The report in a few lines for WeCom, DingTalk and Feishu: key numbers as facts, the negatives
    needing action as posts, and the dashboard's link. Channels trim it to their limits."""
    h = report.headline
    facts = [(label, f"{day}（前日 {before}，{delta}）") for label, day, before, delta in key_numbers(report)]
    facts.append(("情感", sentiment_line(h.sentiment)))
    facts += [(f"事件 {n}", _fact_of(incident)) for n, incident in enumerate(report.incidents[:SUMMARY_POSTS], 1)]
    words = "、".join(word.word for word in report.hot_words[:SUMMARY_WORDS])
    rising = "、".join(word.word for word in report.rising_words[:SUMMARY_WORDS])
    facts += [(label, value) for label, value in (("热词", words), ("新热词", rising)) if value]
    facts += [
        (f"声量份额·{entry.brand}", _share_fact(entry.counts, entry.share)) for entry in report.share_of_voice[:2]
    ]
    if report.empty:
        facts.insert(0, ("说明", "当日没有监测到任何提及"))
    return AlertMessage(
        kind="report",
        title=f"{report.day.isoformat()} · 声量 {number(h.volume.current)} · 新增预警 {number(h.incidents.current)} 起",
        severity=report.worst_severity,  # type: ignore[arg-type]  # one of SEVERITIES, from the store
        brand=None,
        rule="daily_report",
        facts=facts,
        posts=[_post_line(post) for post in report.negatives[:SUMMARY_POSTS]],
        link=dashboard_url,
        at=report.generated_at.isoformat(),
    )


def _fact_of(incident: IncidentSummary) -> str:
    state = STATUS_NAMES.get(incident.status, incident.status)
    subject = " · ".join(part for part in (incident.brand, incident.title) if part)
    return f"【{SEVERITY_LABELS[incident.severity]}】{subject}（{state}）"


def _share_fact(counts: dict[str, int], share: Callable[[str], float | None]) -> str:
    return " · ".join(f"{name} {percent(share(name))}" for name in counts)


def _post_line(post: Post) -> PostLine:
    return PostLine(
        text=post.text,
        url=post.url,
        author=post.author,
        followers=post.followers,
        engagement=post.engagement,
        sentiment=post.sentiment,
        created_at=post.created_at.isoformat(),
        copies=post.copies,
    )
