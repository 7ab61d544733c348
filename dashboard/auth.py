"""Optional login for the dashboard: a password checked against the config's scrypt hash
(dashboard/passwords.py), or OIDC through st.login."""

from __future__ import annotations

import streamlit as st

from dashboard.passwords import verify_password
from fengxiang.config import DashboardConfig

ANONYMOUS = "看板"  # who made a change when nobody logs in


def signed_in_user(settings: DashboardConfig) -> str | None:
    """The user's name once signed in (``ANONYMOUS`` when no login is configured); None while the
    login form is showing — the page must stop then."""
    if settings.oidc:
        if st.user.get("is_logged_in"):
            return str(st.user.get("name") or st.user.get("email") or "已登录用户")
        st.title("风向 · 舆情看板")
        if not _oidc_configured():
            st.error(
                "配置了 dashboard.oidc，但 .streamlit/secrets.toml 没有 [auth] 段 — 按 Streamlit 的 st.login "
                "说明补上，或把 dashboard.oidc 设为 false"
            )
            return None
        st.button("登录", on_click=st.login, type="primary")
        return None
    if settings.password_hash is None:
        return ANONYMOUS
    if st.session_state.get("signed_in"):
        return "团队成员"
    st.title("风向 · 舆情看板")
    with st.form("login"):
        password = st.text_input("密码", type="password")
        if st.form_submit_button("登录", type="primary"):
            if verify_password(password, settings.password_hash):
                st.session_state["signed_in"] = True
                st.rerun()
            st.error("密码不对，请重试")
    return None


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False
