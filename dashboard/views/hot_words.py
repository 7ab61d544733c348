"""热词: the window's most frequent keywords as a word cloud and a table, and the words rising
against the stretch before (nlp/keywords.py explains the test)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import cached
from dashboard.context import context, refreshing
from dashboard.word_cloud import FontMissingError, find_cjk_font, render_wordcloud

ctx = context()
CLOUD_WORDS = 100
TABLE_WORDS = 30


@st.cache_data(ttl=3600, max_entries=32, show_spinner=False)
def cloud(words: tuple[tuple[str, int], ...], font: str) -> bytes:
    return render_wordcloud(dict(words), font=Path(font))


@refreshing(ctx.config)
def body() -> None:
    selection = ctx.selection
    st.header(f"热词 · {selection.brand or '全部监测词'}")
    words = cached.hot_words(ctx.store, ctx.store_key, selection)
    if not words.top:
        st.info("这个时间范围内还没有关键词。")
        return
    left, right = st.columns([3, 2])
    with left:
        st.subheader("词云")
        try:
            font = find_cjk_font(ctx.config.dashboard.font)
        except FontMissingError as problem:
            st.warning(str(problem))
        else:
            st.image(cloud(tuple(words.top[:CLOUD_WORDS]), str(font)), width="stretch")
        st.subheader("高频词")
        st.dataframe(pd.DataFrame(words.top[:TABLE_WORDS], columns=["词", "提及"]), hide_index=True, width="stretch")
    with right:
        st.subheader("上升词")
        if not words.rising:
            st.caption("与之前相比没有明显上升的词。")
        else:
            st.caption("与之前同样长（至少 7 天）的时段相比，提及占比上升最显著的词。")
            st.dataframe(
                pd.DataFrame(
                    {
                        "词": [word.word for word in words.rising],
                        "本期": [word.count for word in words.rising],
                        "之前": [word.baseline_count for word in words.rising],
                        "倍数": [round(word.ratio, 1) for word in words.rising],
                    }
                ),
                hide_index=True,
                width="stretch",
            )


body()
