"""风向 dashboard: ``streamlit run dashboard/app.py`` (``fengxiang dashboard`` does it for you).

This script signs the user in, draws the shared brand + time selection, and hands over to the page
chosen in the navigation; every page is a module under dashboard/views/ (not pages/: that name turns on
Streamlit's older automatic multipage mode, which st.navigation replaces).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.auth import signed_in_user
from dashboard.context import Context, current_config, remember, selection_sidebar, store_for
from fengxiang.config import ConfigError
from store.base import StoreError

PAGES = Path(__file__).resolve().parent / "views"
# (file, title, url path, icon)
PAGE_LIST = [
    ("overview.py", "总览", "overview", ":material/monitoring:"),
    ("mentions.py", "提及", "mentions", ":material/forum:"),
    ("hot_words.py", "热词", "hot-words", ":material/local_fire_department:"),
    ("kol.py", "KOL", "kol", ":material/campaign:"),
    ("alerts.py", "预警", "alerts", ":material/notifications_active:"),
    ("sources.py", "数据源", "sources", ":material/cloud_sync:"),
    ("watchlist.py", "监测词", "watchlist", ":material/edit_note:"),
]

st.set_page_config(page_title="风向 · 舆情看板", page_icon="🧭", layout="wide")

try:
    config, config_version = current_config()
    store, store_key = store_for(config)
except (ConfigError, StoreError) as problem:
    st.error(f"看板无法启动：{problem}")
    st.stop()

user = signed_in_user(config.dashboard)
if user is None:
    st.stop()

remember(Context(config, store, store_key, config_version, user))
navigation = st.navigation(
    [
        st.Page(PAGES / file, title=title, url_path=url_path, icon=icon, default=index == 0)
        for index, (file, title, url_path, icon) in enumerate(PAGE_LIST)
    ]
)
st.sidebar.caption("风向 · 舆情看板")
selection_sidebar(config)
if user != "看板":
    st.sidebar.caption(f"已登录：{user}")
navigation.run()
