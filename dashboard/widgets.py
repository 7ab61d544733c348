"""Small pieces the pages share: Chinese labels, number formats, and posts shown as plain text.

Post text and author names come from the internet: they go through ``st.text`` (no Markdown, no
HTML) or into table cells, never into ``st.markdown``. Only http(s) links are ever made clickable.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from alerts.message import SEVERITY_LABELS
from dashboard.data import Metric
from store.model import Mention

SENTIMENT_NAMES = {"negative": "负面", "neutral": "中性", "positive": "正面", "unlabeled": "未分析"}
SENTIMENT_COLORS = {"negative": "#d62728", "neutral": "#9aa0a6", "positive": "#2ca02c", "unlabeled": "#dadce0"}
PLATFORM_NAMES = {"weibo": "微博", "bilibili": "B站", "news": "新闻", "xiaohongshu": "小红书", "zhihu": "知乎"}
STATUS_NAMES = {"open": "进行中", "resolved": "已解除"}
HEALTH_NAMES = {"ok": "正常", "degraded": "部分失败", "failed": "失败"}


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


def severity_name(severity: str) -> str:
    return SEVERITY_LABELS.get(severity, severity)


def number(value: float | None) -> str:
    """Counts the way Chinese dashboards print them: 9,876 · 12.3万 · 1.2亿."""
    if value is None:
        return "—"
    if abs(value) >= 100_000_000:
        return f"{value / 100_000_000:.1f}亿"
    if abs(value) >= 100_000:
        return f"{value / 10_000:.1f}万"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def when(moment: datetime | None) -> str:
    return moment.strftime("%m-%d %H:%M") if moment else "—"


def safe_link(url: str | None) -> str | None:
    """A post's link, only when it is plainly http(s): a ``javascript:`` URL must never be clickable."""
    return url if url and url.startswith(("https://", "http://")) else None


def metric(label: str, value: Metric, *, share: bool = False, inverse: bool = False) -> None:
    """A number with its change against the previous period (shares change in points)."""
    shown = "—" if value.current is None else (f"{value.current:.1%}" if share else number(value.current))
    if value.change is None:
        delta = None
    elif value.points:
        delta = f"{value.change * 100:+.1f} 个百分点"
    else:
        delta = f"{value.change:+.1%}"
    st.metric(label, shown, delta=delta, delta_color="inverse" if inverse else "normal", help="与上一周期相比")


def post(mention: Mention) -> None:
    """One post as plain text: who, when, where, how it did, and the link to the original."""
    author = mention.author.name if mention.author and mention.author.name else "（未知作者）"
    label = mention.sentiment_label or "unlabeled"
    corrected = " · 已人工更正" if mention.sentiment and mention.sentiment.corrected_by else ""
    st.text(
        f"{author} · {platform_name(mention.platform)} · {when(mention.created_at)} · "
        f"{SENTIMENT_NAMES[label]}{corrected} · 互动 {number(mention.engagement)}"
    )
    st.text(mention.text)
    link = safe_link(mention.url)
    if link:
        st.link_button("查看原帖", link)
