"""监测词: the watchlist as the config file has it; edit an entry with the query checked as it is
typed (the error shown at its position) and a preview of what it matches among stored mentions,
then write the file back safely (fengxiang/watchlist_edit.py: comments kept, the whole config
validated first, refused if someone else saved meanwhile, a .bak of the old file)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import cached
from dashboard.context import config_path, context, now
from dashboard.widgets import post
from fengxiang.watchlist_edit import (
    ConfigEditError,
    WatchlistDocument,
    check_query,
    preview_query,
    read_watchlist,
    save_watchlist,
)

ctx = context()
NEW = "＋ 新建监测词"
PREVIEW_WINDOW = timedelta(days=7)
PREVIEW_POSTS = 5
FINGERPRINT = "watchlist_fingerprint"  # the file's fingerprint when the current edit began


def as_list(text: str) -> list[str]:
    """ "a, b，c" → ["a", "b", "c"]: commas of either width, blanks dropped."""
    return [item.strip() for item in text.replace("，", ",").split(",") if item.strip()]


def listing(document: WatchlistDocument) -> None:
    st.dataframe(
        pd.DataFrame(
            {
                "名称": [str(entry.get("name", "")) for entry in document.entries],
                "检索式": [str(entry.get("query", "")) for entry in document.entries],
                "竞品": ["、".join(map(str, entry.get("competitors") or [])) for entry in document.entries],
                "官方账号": ["、".join(map(str, entry.get("official_accounts") or [])) for entry in document.entries],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def query_feedback(text: str) -> bool:
    """Check the query as typed and preview its matches; whether it is good to save."""
    check = check_query(text)
    if not check.ok:
        st.error(f"检索式有误：{check.message}")
        if check.pointer:
            st.code(check.pointer, language=None)
        return False
    until = now(ctx.config)
    preview = preview_query(ctx.store, text, since=until - PREVIEW_WINDOW, until=until, limit=PREVIEW_POSTS)
    st.success(f"语法正确。近 7 天已存储的提及中有 {preview.count_label} 条符合。")
    for mention in preview.newest:
        with st.container(border=True):
            post(mention)
    return True


def editor(document: WatchlistDocument, index: int | None) -> None:
    entry: dict[str, Any] = dict(document.entries[index]) if index is not None else {}
    key = f"watchlist-{index if index is not None else 'new'}"
    name = st.text_input("名称（在看板和预警中显示）", value=str(entry.get("name", "")), key=f"{key}-name")
    query = st.text_area(
        '检索式（AND OR NOT ( ) "短语"）', value=str(entry.get("query", "")), key=f"{key}-query", height=80
    )
    good = query_feedback(query)
    competitors = st.text_input(
        "竞品（监测词名称，逗号分隔）", value="，".join(map(str, entry.get("competitors") or [])), key=f"{key}-rivals"
    )
    official = st.text_input(
        "官方账号（昵称或账号 id，逗号分隔）",
        value="，".join(map(str, entry.get("official_accounts") or [])),
        key=f"{key}-official",
    )
    edited = {**entry, "name": name.strip(), "query": query.strip()}
    for field, value in (("competitors", as_list(competitors)), ("official_accounts", as_list(official))):
        if value:
            edited[field] = value
        else:
            edited.pop(field, None)
    entries = list(document.entries)
    if index is None:
        entries.append(edited)
    else:
        entries[index] = edited
    left, right = st.columns(2)
    if left.button("保存到配置文件", type="primary", disabled=not good, key=f"{key}-save"):
        save(document, entries, f"已保存“{edited['name']}”")
    if index is not None:
        confirmed = right.checkbox("确认删除", key=f"{key}-confirm")
        if right.button("删除这个监测词", disabled=not confirmed, key=f"{key}-delete"):
            save(document, [e for i, e in enumerate(document.entries) if i != index], f"已删除“{entry.get('name')}”")


def save(document: WatchlistDocument, entries: list[dict[str, Any]], done: str) -> None:
    try:
        # The file as it was when the editing began: a save by someone else since then is refused.
        save_watchlist(document.path, entries, expected_fingerprint=st.session_state[FINGERPRINT])
    except ConfigEditError as problem:
        st.error(f"没有保存：{problem}")
        if st.button("重新载入配置文件"):
            st.session_state.pop(FINGERPRINT)
            st.rerun()
        return
    st.session_state.pop(FINGERPRINT)
    cached.forget()
    st.session_state["watchlist_saved"] = done
    st.rerun()


def body() -> None:
    st.header("监测词")
    try:
        document = read_watchlist(config_path())
    except ConfigEditError as problem:
        st.error(str(problem))
        return
    saved = st.session_state.pop("watchlist_saved", None)
    if saved:
        st.success(f"{saved}。新的检索式用于之后抓取的内容；已存储的提及请运行 `fengxiang reanalyze` 重新匹配。")
    listing(document)
    names = [str(entry.get("name", "")) for entry in document.entries]
    choice = st.selectbox(
        "编辑", [*names, NEW], key="watchlist_choice", on_change=st.session_state.pop, args=(FINGERPRINT, None)
    )
    st.session_state.setdefault(FINGERPRINT, document.fingerprint)
    editor(document, None if choice == NEW else names.index(choice))


body()  # no auto-refresh here: it would wipe an edit in progress
