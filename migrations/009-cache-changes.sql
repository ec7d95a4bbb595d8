-- Changes that every running instance must apply to what it holds in memory (a new
-- domain, a fallback URL, an allow-list, a created link, an erased recipient, webhook
-- subscriptions): written in the transaction of the change itself, read by id, which
-- on SQLite's single writer is commit order (docs/adr/0081). AUTOINCREMENT: an id is
-- never handed out twice, even after old rows are pruned.
CREATE TABLE cache_changes (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  key  TEXT NOT NULL,
  at   INTEGER NOT NULL
) STRICT;
CREATE INDEX cache_changes_at ON cache_changes(at);
