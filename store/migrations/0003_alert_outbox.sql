-- The alert outbox: every message fengxiang means to deliver, one row per channel, written in the
-- same transaction as the event that causes it and drained by alerts/sender.py. A row is `pending`
-- until a sender claims it (`sending`), then `sent`, back to `pending` for a retry, or `failed`.
CREATE TABLE alert_outbox (
    pk              INTEGER PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,            -- one row per event and channel: enqueueing twice is a no-op
    channel         TEXT NOT NULL,                   -- the channel's label in the config
    incident_pk     INTEGER,                         -- the incident it reports, if any
    kind            TEXT NOT NULL,                   -- opened | escalated | resolved | test
    message         TEXT NOT NULL,                   -- the AlertMessage as JSON
    created_at      INTEGER NOT NULL,
    not_before      INTEGER NOT NULL,                -- quiet hours hold a message until then
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,      -- sends tried (rate-limit answers do not count)
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    claimed_at      INTEGER,                         -- when a sender took it (status 'sending')
    sent_at         INTEGER,
    failed_at       INTEGER,
    detail          TEXT,                            -- the channel's answer to the latest attempt
    last_error      TEXT                             -- the latest answer that was not a success
);

-- What the sender asks: which messages of a channel are due, and when the next one falls due.
CREATE INDEX alert_outbox_pending ON alert_outbox (channel, next_attempt_at) WHERE status = 'pending';
-- The rate limit: how many messages a channel sent in the last minute.
CREATE INDEX alert_outbox_sent ON alert_outbox (channel, sent_at) WHERE status = 'sent';
-- Backlog counts, claims left by a killed sender, and listings by status.
CREATE INDEX alert_outbox_status ON alert_outbox (status);
