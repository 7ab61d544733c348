"""What every page shares: the config, the store, who is signed in, and the brand + time selection.

The config file comes from ``$FENGXIANG_CONFIG`` (``fengxiang dashboard`` sets it). The store is
opened once per dashboard process and shared by every session behind one lock: SQLite serves one
connection's statements one at a time anyway, and a relabel must not interleave with a read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import streamlit as st

from dashboard.data import Selection
from fengxiang.config import Config, load_config, resolve_config_path
from store.base import Store
from store.open import open_store

RANGES = {
    "24 小时": timedelta(days=1),
    "7 天": timedelta(days=7),
    "30 天": timedelta(days=30),
    "90 天": timedelta(days=90),
}
ALL_BRANDS = "全部监测词"
# Session-state keys. UNTIL pins the end of the window (tests and links); unset, it is "now".
BRAND, RANGE, UNTIL = "brand", "range", "until"


class LockedStore:
    """A store whose every call holds one lock (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return locked


@dataclass(frozen=True)
class Context:
    config: Config
    store: Store
    store_key: str  # names the store in cache keys
    config_version: float  # the config file's modification time: cache keys of config-shaped answers
    user: str

    @property
    def selection(self) -> Selection:
        """Read afresh on every run, fragment re-runs included: they must move the window on."""
        return current_selection(self.config)

    def slow_selection(self, step: timedelta) -> Selection:
        """The selection with its end moving on only every ``step`` (at least the cache's lifetime):
        for answers that take seconds on a big store and change slowly, like the KOL ranking."""
        return current_selection(self.config, step)


def config_path() -> Path:
    return resolve_config_path(None).absolute()


@st.cache_resource(show_spinner=False)
def _config(path: str, modified: float) -> Config:
    return load_config(Path(path))


def current_config() -> tuple[Config, float]:
    """The config as the file says now, and its version: an edit (the 监测词 page, or by hand) shows
    on the next run."""
    path = config_path()
    try:
        modified = path.stat().st_mtime
    except OSError:
        modified = 0.0  # load_config names the problem
    return _config(str(path), modified), modified


@st.cache_resource(show_spinner=False)
def _store(store_key: str, _config: Config) -> Store:
    return cast(Store, LockedStore(open_store(_config)))


def store_for(config: Config) -> tuple[Store, str]:
    key = str(config.store_location())
    return _store(key, config), key


def now(config: Config, step: timedelta | None = None) -> datetime:
    """The end of the window: the current time floored to the cache's lifetime (or a longer
    ``step``), so everyone asking within one lifetime asks the same question and gets the cached answer."""
    pinned = st.session_state.get(UNTIL)
    if isinstance(pinned, datetime):
        return pinned
    ttl = max(int(max(config.dashboard.cache_ttl, step or timedelta()).total_seconds()), 1)
    seconds = int(datetime.now(config.tzinfo).timestamp()) // ttl * ttl
    return datetime.fromtimestamp(seconds, config.tzinfo)


def selection_sidebar(config: Config) -> None:
    """The shared brand and time range; pages read them through :func:`current_selection`."""
    names = [entry.name for entry in config.watchlist]
    if st.session_state.get(BRAND) not in (ALL_BRANDS, *names):
        st.session_state[BRAND] = ALL_BRANDS  # a brand renamed or removed meanwhile
    st.sidebar.selectbox("监测词", [ALL_BRANDS, *names], key=BRAND)
    st.session_state.setdefault(RANGE, "7 天")
    st.sidebar.selectbox("时间范围", list(RANGES), key=RANGE)


def current_selection(config: Config, step: timedelta | None = None) -> Selection:
    brand = st.session_state.get(BRAND, ALL_BRANDS)
    span = RANGES.get(st.session_state.get(RANGE, ""), RANGES["7 天"])
    until = now(config, step)
    return Selection(None if brand == ALL_BRANDS else brand, until - span, until)


def context() -> Context:
    """The page's context; set up by app.py before the page runs."""
    return cast(Context, st.session_state["_context"])


def remember(ctx: Context) -> None:
    st.session_state["_context"] = ctx


def refreshing(config: Config) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Wrap a page body so it re-runs on its own every ``dashboard.refresh`` while the page is open."""
    return st.fragment(run_every=config.dashboard.refresh)
