-- Changes that every running instance must apply to what it holds in memory (a new
-- domain, a fallback URL, an allow-list, a created link, an erased recipient, webhook
-- subscriptions), written in the transaction of the change itself (docs/adr/0081).
-- Each insert but a created link's is announced by NOTIFY, which PostgreSQL delivers
-- only when the transaction commits. Links are created with every message, and
-- notifying transactions commit one at a time; followers read them, and any
-- notification they missed, from the table in commit order: by (xid, id), only below
-- the oldest transaction still running.
CREATE TABLE cache_changes (
  id   BIGSERIAL PRIMARY KEY,
  xid  xid8 NOT NULL DEFAULT pg_current_xact_id(),
  kind TEXT NOT NULL,
  key  TEXT NOT NULL,
  at   BIGINT NOT NULL
);
CREATE INDEX cache_changes_order ON cache_changes (xid, id);
CREATE INDEX cache_changes_at ON cache_changes (at);

CREATE FUNCTION notify_cache_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('smslinks_cache_changes',
    json_build_object('id', NEW.id, 'xid', NEW.xid::text, 'kind', NEW.kind, 'key', NEW.key)::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER cache_changes_notify AFTER INSERT ON cache_changes
  FOR EACH ROW WHEN (NEW.kind <> 'link') EXECUTE FUNCTION notify_cache_change();
