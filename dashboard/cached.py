"""Streamlit's cache in front of the data layer.

Every answer is keyed by the store and the selection; the selection's end is "now" floored to
``dashboard.cache_ttl`` (dashboard/context.py), so a new window — and a fresh answer — comes once
per lifetime. The ``ttl`` below only frees memory of windows nobody asks for any more. A change made
on a page (a relabel, an acknowledgement) clears the cache: its effect shows at once.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from dashboard import data
from dashboard.data import HotWords, IncidentDetail, MentionList, MentionQuery, Overview, Selection, SourceStatus
from fengxiang.config import Config
from kol.report import KolReport
from store.base import Incident, Store

_KEEP = 3600  # seconds
_ENTRIES = 64


@st.cache_data(ttl=_KEEP, max_entries=_ENTRIES, show_spinner=False)
def overview(
    _store: Store, store_key: str, selection: Selection, brands: tuple[str, ...], sources: tuple[str, ...]
) -> Overview:
    return data.overview(_store, selection, brands, sources)


@st.cache_data(ttl=_KEEP, max_entries=_ENTRIES, show_spinner=False)
def mentions(_store: Store, store_key: str, selection: Selection, query: MentionQuery) -> MentionList:
    return data.mentions(_store, selection, query)


@st.cache_data(ttl=_KEEP, max_entries=_ENTRIES, show_spinner=False)
def hot_words(_store: Store, store_key: str, selection: Selection) -> HotWords:
    return data.hot_words(_store, selection)


@st.cache_data(ttl=_KEEP, max_entries=16, show_spinner="正在计算影响力……")
def kol_report(_store: Store, store_key: str, _config: Config, config_key: float, selection: Selection) -> KolReport:
    return data.kol_report(_store, _config, selection)


@st.cache_data(ttl=_KEEP, max_entries=_ENTRIES, show_spinner=False)
def incidents(_store: Store, store_key: str, selection: Selection, status: str | None) -> list[Incident]:
    return data.incidents(_store, selection, status=status)


@st.cache_data(ttl=_KEEP, max_entries=_ENTRIES, show_spinner=False)
def incident_detail(_store: Store, store_key: str, incident_pk: int, as_of: datetime) -> IncidentDetail | None:
    return data.incident_detail(_store, incident_pk)


@st.cache_data(ttl=_KEEP, max_entries=_ENTRIES, show_spinner=False)
def sources(_store: Store, store_key: str, _config: Config, config_key: float, as_of: datetime) -> list[SourceStatus]:
    return data.sources(_store, _config)


def forget() -> None:
    """After a change made on a page: every cached answer may be stale."""
    st.cache_data.clear()
