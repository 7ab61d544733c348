-- fengxiang SQLite schema, version 1.
-- Times are integer Unix seconds (UTC); `utc_offset` keeps the offset a post was written with.

CREATE TABLE authors (
    pk            INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,          -- "weibo:1234567890"
    platform      TEXT NOT NULL,
    name          TEXT,
    followers     INTEGER,
    verified      INTEGER,
    verified_type INTEGER,
    profile       TEXT NOT NULL,                 -- the newest profile seen, as JSON
    updated_at    INTEGER NOT NULL
);

CREATE TABLE mentions (
    pk          INTEGER PRIMARY KEY,             -- also the rowid of mention_fts
    id          TEXT NOT NULL UNIQUE,            -- "weibo:5230754395068367"
    platform    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    utc_offset  INTEGER NOT NULL,                -- minutes
    author_pk   INTEGER REFERENCES authors(pk),
    sentiment   TEXT,                            -- negative | neutral | positive | NULL (not analysed)
    engagement  INTEGER NOT NULL,                -- reposts + comments + likes
    match_text  TEXT NOT NULL,                   -- fengxiang.textmatch.fold(text): what queries match
    doc         TEXT NOT NULL                    -- the whole mention as canonical JSON
);

-- Candidate filter for text queries: every non-ASCII character and every ASCII word of match_text
-- is a token (fengxiang.textmatch.index_document_folded); a query term is a phrase of its tokens.
-- Contentless: the text is already in `mentions`.
CREATE VIRTUAL TABLE mention_fts USING fts5(
    tokens, content='', detail='full', columnsize=0, tokenize='ascii'
);

-- Every mention once under scope '' and once per matched brand, clustered by (scope, time):
-- a brand's newest mentions and the edges of every window are range scans.
CREATE TABLE timeline (
    scope       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    mention_pk  INTEGER NOT NULL,
    platform    TEXT NOT NULL,
    sentiment   TEXT,
    author_pk   INTEGER,
    engagement  INTEGER NOT NULL,
    keywords    TEXT NOT NULL,                   -- tab-separated
    PRIMARY KEY (scope, created_at, mention_pk)
) WITHOUT ROWID;

-- The rollups below are maintained on upsert (store/sqlite_derived.py) so that a brand's overview
-- over weeks reads hundreds of rows, not every mention; the partial hour or day at each end of a
-- window is read from the timeline, so the answers stay exact.

-- Mentions and engagement per scope, local hour, platform and sentiment ('' = not analysed).
CREATE TABLE volume_hours (
    scope       TEXT NOT NULL,
    hour        INTEGER NOT NULL,                -- hours since 1970-01-01 in the store's time zone
    platform    TEXT NOT NULL,
    sentiment   TEXT NOT NULL,
    n           INTEGER NOT NULL,
    engagement  INTEGER NOT NULL,
    PRIMARY KEY (scope, hour, platform, sentiment)
) WITHOUT ROWID;

-- Mentions and engagement per author, scope and local day: an author's count in a window. Written
-- where the batch's days are, so imports in time order touch few pages (an index by author would
-- touch a random page for every mention).
CREATE TABLE author_days (
    scope       TEXT NOT NULL,
    day         INTEGER NOT NULL,
    author_pk   INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    engagement  INTEGER NOT NULL,
    PRIMARY KEY (scope, day, author_pk)
) WITHOUT ROWID;

-- All-time mentions per author and scope: an upper bound on any window's count, which lets the
-- top-authors ranking stop after the few most active authors instead of grouping every mention.
CREATE TABLE author_totals (
    scope      TEXT NOT NULL,
    author_pk  INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (scope, author_pk)
) WITHOUT ROWID;

CREATE INDEX author_totals_ranked ON author_totals (scope, n);

-- Keyword counts per scope and local day.
CREATE TABLE keyword_days (
    scope    TEXT NOT NULL,
    day      INTEGER NOT NULL,                   -- days since 1970-01-01 in the store's time zone
    keyword  TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (scope, day, keyword)
) WITHOUT ROWID;

CREATE TABLE crawl_cursors (
    source      TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;

CREATE TABLE source_health (
    pk           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('ok', 'degraded', 'failed')),
    items        INTEGER NOT NULL,
    error        TEXT,
    detail       TEXT NOT NULL
);

CREATE INDEX source_health_latest ON source_health (source, finished_at);
