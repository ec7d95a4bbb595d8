-- The ids of click batches written lately (docs/adr/0080): each batch's transaction
-- inserts its id first, and a retry whose first attempt did commit (its reply was
-- lost with the connection) finds the id and writes nothing twice. Kept a day, then
-- pruned by the writers themselves; SQLite has no such table (no reply to lose).
CREATE TABLE click_batches (
  id         UUID PRIMARY KEY,
  written_at BIGINT NOT NULL
);
CREATE INDEX click_batches_written_at ON click_batches (written_at);
