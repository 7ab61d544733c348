"""提及: the window's mentions, filtered and searched, near-duplicates folded into one card each;
every card links to the original and lets the team correct its sentiment (kept through
re-analysis, exported with ``fengxiang export --corrected`` as training data)."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import cached
from dashboard.context import context, refreshing
from dashboard.data import FoldedMention, MentionQuery
from dashboard.widgets import PLATFORM_NAMES, SENTIMENT_NAMES, platform_name, post
from fengxiang.query import QuerySyntaxError, parse
from store.base import StoreError
from store.model import SENTIMENT_LABELS

ctx = context()
SORTS = {"最新": "time", "互动最多": "engagement"}
LABEL_CHOICES = {SENTIMENT_NAMES[label]: label for label in SENTIMENT_LABELS}


def filters() -> MentionQuery | None:
    """The filter row; None (with the error shown) while the text query does not parse."""
    columns = st.columns([2, 2, 3, 1])
    sentiments = columns[0].multiselect("情感", list(LABEL_CHOICES), key="mentions_sentiment", placeholder="全部")
    platforms = columns[1].multiselect(
        "平台",
        sorted(set(PLATFORM_NAMES) | set(ctx.config.sources)),
        format_func=platform_name,
        key="mentions_platform",
        placeholder="全部",
    )
    text = columns[2].text_input('搜索（支持 AND OR NOT 与 "短语"）', key="mentions_text")
    sort = columns[3].selectbox("排序", list(SORTS), key="mentions_sort")
    query = None
    if text.strip():
        try:
            query = parse(text)
        except QuerySyntaxError as problem:
            st.error("搜索条件有误，请按提示修改：")
            st.code(str(problem), language=None)
            return None
    return MentionQuery(
        sentiments=tuple(LABEL_CHOICES[name] for name in sentiments),
        platforms=tuple(platforms),
        text=query,
        sort=SORTS[sort],  # type: ignore[arg-type]
    )


PAGE_ROWS = 20


def card(row: FoldedMention) -> None:
    """One row: the post as plain text, its link, how many near-duplicates folded into it, and the
    sentiment correction (one click per label)."""
    mention = row.mention
    with st.container(border=True):
        post(mention)
        if row.copies:
            st.caption(f"另有 {len(row.copies)} 条相似内容折叠在这一行（共 {row.size} 条）")
        sentiment = mention.sentiment
        if sentiment and sentiment.corrected_by:
            model = SENTIMENT_NAMES[sentiment.model_label] if sentiment.model_label else "—"
            st.caption(f"{sentiment.corrected_by} 已更正；模型原判：{model}")
        with st.popover("更正情感"):
            for name, label in LABEL_CHOICES.items():
                if st.button(name, key=f"relabel-{label}-{mention.id}", disabled=label == mention.sentiment_label):
                    save(mention.id, label)
            if sentiment and sentiment.corrected_by and st.button("撤销更正", key=f"undo-{mention.id}"):
                ctx.store.undo_correction(mention.id)
                cached.forget()
                st.rerun()


def save(mention_id: str, label: str) -> None:
    try:
        ctx.store.correct_sentiment(mention_id, label, by=ctx.user, at=datetime.now(UTC))
    except StoreError as problem:
        st.error(str(problem))
        return
    cached.forget()
    st.session_state["mentions_saved"] = f"已更正为{SENTIMENT_NAMES[label]}（{ctx.user}）"
    st.rerun()


@refreshing(ctx.config)
def body() -> None:
    selection = ctx.selection
    st.header(f"提及 · {selection.brand or '全部监测词'}")
    query = filters()
    if query is None:
        return
    found = cached.mentions(ctx.store, ctx.store_key, selection, query)
    if not found.rows:
        st.info("没有符合条件的提及。")
        return
    more = "，还有更多（请缩小范围）" if found.more else ""
    st.caption(f"读取 {found.read} 条，相似内容折叠后 {len(found.rows)} 行{more}。")
    saved = st.session_state.pop("mentions_saved", None)
    if saved:
        st.success(saved)
    pages = max(1, -(-len(found.rows) // PAGE_ROWS))
    page = st.number_input("页码", min_value=1, max_value=pages, value=1, key="mentions_page") if pages > 1 else 1
    for row in found.rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]:
        card(row)


body()
