-- The click export pages by (xid, id): the id of the transaction that wrote a click,
-- then its id, reading only clicks whose transaction is older than every one still
-- running (docs/adr/0073). Clicks stored before this column existed, and clicks
-- copied from SQLite, have xid 0 and sort first, in id order as before.
ALTER TABLE clicks ADD COLUMN xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE clicks ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX clicks_message_xid ON clicks (message_id, xid, id);
-- The export was this index's only reader.
DROP INDEX clicks_message;
