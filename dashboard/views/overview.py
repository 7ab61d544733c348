"""总览: the window's key numbers against the period before, the sentiment trend with incidents
marked on it, the platform split, and share of voice against the competitors."""

from __future__ import annotations

from datetime import datetime

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import cached
from dashboard.context import context, refreshing
from dashboard.data import Overview, share_of_voice_brands
from dashboard.widgets import SENTIMENT_COLORS, SENTIMENT_NAMES, metric, platform_name, severity_name, when

ctx = context()
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def bucket_label(moment: datetime, interval: str) -> str:
    """A bucket's name on the x axis, in the store's time zone (the browser's may differ)."""
    return moment.strftime("%m-%d %H时") if interval == "hour" else moment.strftime("%m-%d")


def trend_chart(overview: Overview) -> alt.LayerChart | alt.Chart:
    labels = [bucket_label(point.start, overview.interval) for point in overview.trend]
    rows = [
        {"时间": label, "情感": SENTIMENT_NAMES[sentiment], "提及": n}
        for label, point in zip(labels, overview.trend, strict=True)
        for sentiment, n in point.counts.items()
    ]
    colors = alt.Scale(
        domain=[SENTIMENT_NAMES[label] for label in SENTIMENT_COLORS], range=list(SENTIMENT_COLORS.values())
    )
    axis = alt.X("时间:O", title=None, sort=labels, axis=alt.Axis(labelAngle=0, labelOverlap=True))
    bars = (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            x=axis,
            y=alt.Y("提及:Q", stack=True),
            color=alt.Color("情感:N", scale=colors, legend=alt.Legend(orient="top", title=None)),
            tooltip=["时间:N", "情感:N", "提及:Q"],
        )
    )
    if not overview.incidents:
        return bars
    zone = overview.trend[0].start.tzinfo if overview.trend else None
    marks = pd.DataFrame(
        [
            {
                "时间": bucket_label(incident.opened_at.astimezone(zone), overview.interval),
                "事件": incident.title,
                "级别": severity_name(incident.severity),
            }
            for incident in overview.incidents
        ]
    )
    rules = (
        alt.Chart(marks)
        .mark_rule(color="#b00020", strokeDash=[4, 3], strokeWidth=2)
        .encode(x=axis, tooltip=["事件", "级别", "时间"])
    )
    return bars + rules


@refreshing(ctx.config)
def body() -> None:
    selection = ctx.selection
    brands = tuple(share_of_voice_brands(ctx.config, selection.brand))
    sources = tuple(name for name, source in ctx.config.sources.items() if source.enabled)
    overview = cached.overview(ctx.store, ctx.store_key, selection, brands, sources)
    st.header(f"总览 · {selection.brand or '全部监测词'}")
    columns = st.columns(4)
    with columns[0]:
        metric("声量", overview.volume)
    with columns[1]:
        metric("负面占比", overview.negative_share, share=True, inverse=True)
    with columns[2]:
        metric("发声账号", overview.voices)
    with columns[3]:
        metric("覆盖粉丝", overview.reach)

    st.subheader("声量趋势（按情感）")
    if overview.volume.current:
        st.altair_chart(trend_chart(overview), width="stretch")
    else:
        st.info("这个时间范围内还没有提及。")
    if overview.incidents:
        worst = sorted(overview.incidents, key=lambda incident: (SEVERITY_RANK[incident.severity], incident.opened_at))
        st.caption(
            "红色虚线：预警事件开始 — "
            + "；".join(f"{i.title}（{severity_name(i.severity)}，{when(i.opened_at)}）" for i in worst[:5])
        )

    left, right = st.columns(2)
    with left:
        st.subheader("平台分布")
        platforms = pd.DataFrame(
            {"平台": [platform_name(p) for p in overview.platforms], "提及": list(overview.platforms.values())}
        )
        st.dataframe(platforms, hide_index=True, width="stretch")
    with right:
        st.subheader("声量份额")
        total = sum(overview.share_of_voice.values())
        voice = pd.DataFrame(
            {
                "品牌": list(overview.share_of_voice),
                "提及": list(overview.share_of_voice.values()),
                "份额": [n / total if total else 0.0 for n in overview.share_of_voice.values()],
            }
        )
        st.dataframe(
            voice,
            hide_index=True,
            width="stretch",
            column_config={"份额": st.column_config.ProgressColumn("份额", format="percent", min_value=0, max_value=1)},
        )


body()
