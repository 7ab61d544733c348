"""数据源: each source's health — status of the last run, last success, last error, and mentions
per run — so a blocked crawler is seen before the numbers quietly drop."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cached
from dashboard.context import context, refreshing
from dashboard.data import SourceStatus
from dashboard.widgets import HEALTH_NAMES, platform_name, when

ctx = context()


def overview_table(statuses: list[SourceStatus]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "数据源": [f"{platform_name(status.source)}（{status.source}）" for status in statuses],
            "启用": ["是" if status.enabled else "否" for status in statuses],
            "最近一次": [HEALTH_NAMES[status.latest.status] if status.latest else "从未运行" for status in statuses],
            "最近运行": [when(status.latest.finished_at) if status.latest else "—" for status in statuses],
            "最近成功": [when(status.last_success) for status in statuses],
            "本次条数": [status.latest.items if status.latest else None for status in statuses],
            "最近错误": [status.last_error.error if status.last_error else "" for status in statuses],
        }
    )


def history(status: SourceStatus) -> None:
    runs = list(reversed(status.runs))  # oldest first, for the chart
    if not runs:
        st.caption("还没有运行记录。")
        return
    frame = pd.DataFrame({"时间": [run.finished_at for run in runs], "条数": [run.items for run in runs]})
    st.bar_chart(frame, x="时间", y="条数", height=180)
    failures = [run for run in status.runs if run.status != "ok"]
    if failures:
        st.dataframe(
            pd.DataFrame(
                {
                    "时间": [when(run.finished_at) for run in failures],
                    "状态": [HEALTH_NAMES[run.status] for run in failures],
                    "错误": [run.error or "" for run in failures],
                }
            ),
            hide_index=True,
            width="stretch",
        )


@refreshing(ctx.config)
def body() -> None:
    st.header("数据源")
    statuses = cached.sources(ctx.store, ctx.store_key, ctx.config, ctx.config_version, ctx.selection.until)
    if not statuses:
        st.info("还没有配置数据源：在配置文件的 sources: 下添加，例如 weibo。")
        return
    failing = [status.source for status in statuses if status.latest and status.latest.status == "failed"]
    if failing:
        st.error("最近一次运行失败：" + "、".join(platform_name(name) for name in failing))
    st.dataframe(overview_table(statuses), hide_index=True, width="stretch")
    st.subheader("每次运行的条数")
    for status in statuses:
        st.markdown(f"**{platform_name(status.source)}**")
        history(status)


body()
