"""KOL: the accounts that move opinion about the brand, ranked by the KOL score (kol/score.py), with
every component, the segments, advocates against critics, and why each account is there."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import cached
from dashboard.context import context, refreshing
from dashboard.widgets import number, platform_name, when
from kol.report import AuthorScore, KolReport
from kol.segments import ADVOCATE, CRITIC, SEGMENTS

ctx = context()
SHOWN = 50
# The ranking takes seconds on a big store and moves slowly: it is recomputed every 10 minutes.
RANKING_STEP = timedelta(minutes=10)


def table(authors: list[AuthorScore]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "账号": [author.name for author in authors],
            "平台": [platform_name(author.platform) for author in authors],
            "分类": [author.segment for author in authors],
            "立场": [author.stance for author in authors],
            "KOL 分": [round(author.score, 1) for author in authors],
            "覆盖": [round(author.components.reach * 100) for author in authors],
            "互动": [round(author.components.engagement * 100) for author in authors],
            "影响力": [round(author.components.influence * 100) for author in authors],
            "持续性": [round(author.components.consistency * 100) for author in authors],
            "粉丝": [author.components.followers for author in authors],
            "提及": [author.mentions for author in authors],
            "转发者": [author.reposted_by for author in authors],
        }
    )


def summary(report: KolReport) -> None:
    candidates = report.candidates
    columns = st.columns(4)
    columns[0].metric("KOL 候选", len(candidates))
    columns[1].metric("支持者", sum(author.stance == ADVOCATE for author in candidates))
    columns[2].metric("批评者", sum(author.stance == CRITIC for author in candidates))
    columns[3].metric("发声账号", len(report.authors))
    counts = report.segment_counts()
    st.caption("账号分类：" + "　".join(f"{segment} {number(counts[segment])}" for segment in SEGMENTS))


def reasons(authors: list[AuthorScore]) -> None:
    st.subheader("为什么是他们")
    for author in authors[:10]:
        with st.expander(f"{author.name} · {author.segment} · {author.stance} · {author.score:.0f} 分"):
            st.text("\n".join(author.reasons) or "—")


@refreshing(ctx.config)
def body() -> None:
    selection = ctx.slow_selection(RANKING_STEP)
    st.header(f"KOL · {selection.brand or '全部监测词'}")
    if selection.brand is None:
        st.info("KOL 按品牌计算：请在左侧选择一个监测词。")
        return
    report = cached.kol_report(ctx.store, ctx.store_key, ctx.config, ctx.config_version, selection)
    if not report.authors:
        st.info("这个时间范围内还没有发声账号。")
        return
    summary(report)
    segment = st.segmented_control("显示", ["KOL 候选", *SEGMENTS, "全部"], default="KOL 候选", key="kol_segment")
    if segment == "KOL 候选" or segment is None:
        authors = report.candidates
    elif segment == "全部":
        authors = report.authors
    else:
        authors = [author for author in report.authors if author.segment == segment]
    if not authors:
        st.info("这一类暂时没有账号。")
        return
    st.caption(
        f"按 KOL 分排序，显示前 {min(len(authors), SHOWN)} 个。四项分数是在该品牌全部发声账号中的百分位"
        f"（覆盖 20%、互动 25%、影响力 30%、持续性 25%）。排名每 10 分钟更新，截至 {when(selection.until)}。"
    )
    st.dataframe(
        table(authors[:SHOWN]),
        hide_index=True,
        width="stretch",
        column_config={
            "KOL 分": st.column_config.ProgressColumn("KOL 分", format="%.0f", min_value=0, max_value=100),
        },
    )
    reasons(authors)


body()
