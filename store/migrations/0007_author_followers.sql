-- The dashboard's "distinct voices and their followers" looks up the followers of every author of a
-- window (100,000 of them for a month of a big store). From this index each look-up reads a few
-- bytes; from the table it reads the author's whole row, profile JSON and all.
CREATE INDEX authors_followers ON authors (pk, followers);
