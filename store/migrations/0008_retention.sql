-- The nightly purge finds old crawl runs by when they started (store/sqlite_retention.py).
CREATE INDEX source_health_started ON source_health (started_at);

-- Counters a process compares against what it cached: 'author_deletions' grows whenever a purge deletes
-- authors, and a writer that remembers author pks (store/sqlite.py) then forgets them.
CREATE TABLE store_counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
