"""预警: the incident history with severity and status; pick one for its timeline and the posts
behind it, and acknowledge or resolve it."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboard import cached
from dashboard.context import context, refreshing
from dashboard.data import IncidentDetail
from dashboard.widgets import STATUS_NAMES, number, post, severity_name, when
from store.base import Incident

ctx = context()
STATUS_CHOICES = {"进行中": "open", "已解除": "resolved", "全部": None}
EVENT_NAMES = {
    "opened": "开始",
    "escalated": "升级",
    "reopened": "再次出现",
    "resolved": "解除",
    "acknowledged": "已确认",
}


def label(incident: Incident) -> str:
    brand = incident.brand or "全局"
    return (
        f"#{incident.pk} 【{severity_name(incident.severity)}】{brand} · {incident.title} · {when(incident.opened_at)}"
    )


def table(found: list[Incident]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "编号": [incident.pk for incident in found],
            "级别": [severity_name(incident.severity) for incident in found],
            "品牌": [incident.brand or "全局" for incident in found],
            "事件": [incident.title for incident in found],
            "状态": [STATUS_NAMES[incident.status] for incident in found],
            "确认": ["已确认" if incident.acknowledged_at else "未确认" for incident in found],
            "开始": [when(incident.opened_at) for incident in found],
            "最近": [when(incident.seen_at) for incident in found],
            "峰值": [number(incident.peak_volume) for incident in found],
        }
    )


def detail(found: IncidentDetail) -> None:
    incident = found.incident
    assert incident.pk is not None  # stored incidents have one
    st.subheader(label(incident))
    status = STATUS_NAMES[incident.status]
    acknowledged = (
        f"，{incident.acknowledged_by} 于 {when(incident.acknowledged_at)} 确认" if incident.acknowledged_at else ""
    )
    st.caption(f"状态：{status}{acknowledged}")
    facts = incident.message.facts
    if facts:
        st.dataframe(
            pd.DataFrame({"指标": [name for name, _ in facts], "数值": [value for _, value in facts]}),
            hide_index=True,
        )
    buttons = st.columns(2)
    now = datetime.now(UTC)
    if incident.acknowledged_at is None and buttons[0].button("确认（我来跟进）", key=f"ack-{incident.pk}"):
        ctx.store.acknowledge_incident(incident.pk, by=ctx.user, at=now)
        changed(f"#{incident.pk} 已确认")
    if incident.status == "open" and buttons[1].button("解除", key=f"resolve-{incident.pk}"):
        ctx.store.resolve_incident(incident.pk, by=ctx.user, at=now)
        changed(f"#{incident.pk} 已解除")
    st.markdown("**时间线**")
    st.dataframe(
        pd.DataFrame(
            {
                "时间": [when(event.at) for event in found.events],
                "事件": [EVENT_NAMES.get(event.kind, event.kind) for event in found.events],
                "级别": [severity_name(event.severity) if event.severity else "" for event in found.events],
                "规模": [number(event.volume) if event.volume else "" for event in found.events],
                "备注": [event.note for event in found.events],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.markdown(f"**相关帖子**（{len(found.posts)} 条）")
    for mention in found.posts:
        with st.container(border=True):
            post(mention)


def changed(message: str) -> None:
    cached.forget()
    st.session_state["alerts_changed"] = message
    st.rerun()


@refreshing(ctx.config)
def body() -> None:
    selection = ctx.selection
    st.header(f"预警 · {selection.brand or '全部监测词'}")
    status = st.segmented_control("状态", list(STATUS_CHOICES), default="全部", key="alerts_status") or "全部"
    found = cached.incidents(ctx.store, ctx.store_key, selection, STATUS_CHOICES[status])
    note = st.session_state.pop("alerts_changed", None)
    if note:
        st.success(note)
    if not found:
        st.info("这个时间范围内没有预警。")
        return
    open_count = sum(incident.status == "open" for incident in found)
    st.caption(f"共 {len(found)} 个事件，{open_count} 个进行中。")
    st.dataframe(table(found), hide_index=True, width="stretch")
    chosen = st.selectbox("查看事件", found, format_func=label, key="alerts_incident")
    if chosen is not None and chosen.pk is not None:
        found_detail = cached.incident_detail(ctx.store, ctx.store_key, chosen.pk, selection.until)
        if found_detail is not None:
            detail(found_detail)


body()
