"""Open the store a config (or a `fengxiang migrate` URL) names."""

from __future__ import annotations

from fengxiang.config import Config, SqliteLocation, StoreLocation
from store.base import Store


def open_store(config: Config) -> Store:
    return open_location(config.store_location(), config.timezone)


def open_location(location: StoreLocation, timezone_name: str) -> Store:
    """The store at ``location``. Each backend is imported only when asked for: a SQLite user's
    process never loads the Elasticsearch client, nor the other way round."""
    if isinstance(location, SqliteLocation):
        from store.sqlite import SQLiteStore

        return SQLiteStore(location.path, timezone_name=timezone_name)
    from store.elasticsearch import ElasticsearchStore

    return ElasticsearchStore(location.url, timezone_name=timezone_name)
