-- Word document frequencies of the stored corpus, learned by `fengxiang reanalyze`: the IDF that
-- ranks each post's keywords once the team has enough mentions of its own.
CREATE TABLE document_frequencies (
    word TEXT PRIMARY KEY,
    df   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE corpus_facts (
    name  TEXT PRIMARY KEY,                       -- 'documents': how many posts the frequencies count
    value INTEGER NOT NULL
) WITHOUT ROWID;
