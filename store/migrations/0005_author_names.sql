-- Repost chains ("//@name:") name accounts by screen name only: resolving them to authors looks names up.
CREATE INDEX authors_by_name ON authors (platform, name);
