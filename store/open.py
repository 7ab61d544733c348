"""Open the store a config names."""

from __future__ import annotations

from fengxiang.config import Config, ElasticsearchLocation, SqliteLocation
from store.base import Store, StoreError
from store.sqlite import SQLiteStore


def open_store(config: Config) -> Store:
    location = config.store_location()
    if isinstance(location, SqliteLocation):
        return SQLiteStore(location.path, timezone_name=config.timezone)
    assert isinstance(location, ElasticsearchLocation)
    raise StoreError("the Elasticsearch store is not available in this version — set `store:` to a sqlite:/// path")
