-- Alert incidents: one row per (rule, brand, cluster or window) fingerprint episode, with its timeline.

CREATE TABLE incidents (
    pk                 INTEGER PRIMARY KEY,
    fingerprint        TEXT NOT NULL,             -- "negative_spike|启航汽车|": rule, brand, cluster/word/source
    rule               TEXT NOT NULL,
    brand              TEXT,
    severity           TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    status             TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    title              TEXT NOT NULL,
    opened_at          INTEGER NOT NULL,
    seen_at            INTEGER NOT NULL,          -- the last evaluation the rule still fired
    resolved_at        INTEGER,
    volume             REAL NOT NULL,             -- the rule's headline number now (voices, engagement, …)
    peak_volume        REAL NOT NULL,
    notified_severity  TEXT NOT NULL,             -- what the last message said: escalation compares to it
    notified_volume    REAL NOT NULL,
    notified_at        INTEGER NOT NULL,
    acknowledged_at    INTEGER,
    acknowledged_by    TEXT,
    message            TEXT NOT NULL,             -- the newest AlertMessage (facts and posts) as JSON
    evidence           TEXT NOT NULL              -- mention ids behind it, as a JSON list
);

-- At most one open incident per fingerprint: two evaluations racing cannot open it twice.
CREATE UNIQUE INDEX incidents_open_fingerprint ON incidents (fingerprint) WHERE status = 'open';
CREATE INDEX incidents_recent ON incidents (opened_at);
CREATE INDEX incidents_fingerprint ON incidents (fingerprint, resolved_at);

CREATE TABLE incident_events (
    incident_pk  INTEGER NOT NULL REFERENCES incidents(pk),
    seq          INTEGER NOT NULL,                -- 1 = opened; the outbox dedupes on (incident, seq, channel)
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL,                   -- opened | escalated | reopened | resolved | acknowledged
    severity     TEXT NOT NULL,
    volume       REAL NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (incident_pk, seq)
) WITHOUT ROWID;
