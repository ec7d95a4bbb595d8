-- Clicks the sweep rule judges (docs/adr/0084): one row per judged click, kept until its
-- neighbours have settled too. `identity` is a 64-bit hash of the stored network and the
-- user agent. Until `settled` the click counts only in message_counters.clicks_pending.
CREATE TABLE sweep_fetches (
  click_id      INTEGER PRIMARY KEY,
  message_id    INTEGER NOT NULL,
  link_id       INTEGER NOT NULL,
  recipient_idx INTEGER NOT NULL,
  identity      TEXT NOT NULL,
  at            INTEGER NOT NULL,
  settled       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX sweep_fetches_settled ON sweep_fetches(settled, at);
CREATE INDEX sweep_fetches_identity ON sweep_fetches(message_id, identity, at);
ALTER TABLE message_counters ADD COLUMN clicks_pending INTEGER NOT NULL DEFAULT 0;
-- 1: delivery_at is when a report without the carrier's time arrived, which says only
-- that delivery happened before it (too_fast ignores it for earlier clicks).
ALTER TABLE recipients ADD COLUMN delivery_at_arrival INTEGER NOT NULL DEFAULT 0;
