-- Manual sentiment corrections (the dashboard's "this label is wrong"): one row per corrected mention.
-- Keyed by the mention id, not its pk: an upsert batch knows its ids before it knows any pk, so it
-- finds the batch's corrections in one lookup, and the id is what people and exports name.
-- The mention's stored label (mentions.sentiment, doc and every rollup) is the corrected one; a
-- re-analysis updates only model_label here.

CREATE TABLE sentiment_corrections (
    mention_id    TEXT PRIMARY KEY,              -- mentions.id
    label         TEXT NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
    model_label   TEXT CHECK (model_label IN ('negative', 'neutral', 'positive')),  -- NULL: not analysed
    corrected_by  TEXT NOT NULL,
    corrected_at  INTEGER NOT NULL
);

-- The newest corrections first (the dashboard's review list, `fengxiang export --corrected --since`).
CREATE INDEX sentiment_corrections_recent ON sentiment_corrections (corrected_at);
