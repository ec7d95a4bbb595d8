-- smslinks schema v9: the language of recipients' pages, a tenant's own wording of the
-- unsubscribe page, and opt-outs from every channel with re-subscribes.
-- Times are milliseconds since the Unix epoch (INTEGER).

-- The language of a message's pages and a tenant's default, as canonical tags
-- (da, de, en, nb, sv, zh-Hans); NULL: not set.
ALTER TABLE messages ADD COLUMN language TEXT;
ALTER TABLE tenants ADD COLUMN language TEXT;

-- A tenant's own title and text of the unsubscribe page, per language.
CREATE TABLE tenant_page_texts (
  tenant_id INTEGER NOT NULL REFERENCES tenants(id),
  language  TEXT NOT NULL,
  title     TEXT NOT NULL,
  text      TEXT NOT NULL,
  PRIMARY KEY (tenant_id, language)
) STRICT, WITHOUT ROWID;

-- Recipients who opted out of a message by another channel than its page, counted
-- once per recipient like `unsubscribes` (which keeps counting the page's confirmations).
ALTER TABLE message_counters ADD COLUMN unsubscribes_reply INTEGER NOT NULL DEFAULT 0;
ALTER TABLE message_counters ADD COLUMN unsubscribes_import INTEGER NOT NULL DEFAULT 0;
ALTER TABLE message_counters ADD COLUMN unsubscribes_support INTEGER NOT NULL DEFAULT 0;

-- Every change of a tenant's opt-out list, in the order it was made: the feed of
-- GET /v1/optouts, whose cursor is the id. Rows are never updated or reordered (an
-- erasure re-keys recipient_id in place). The opt-outs so far keep their ids, so
-- cursors given out before stay valid.
CREATE TABLE optout_changes (
  id           INTEGER PRIMARY KEY,
  tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
  recipient_id TEXT NOT NULL,
  change       TEXT NOT NULL CHECK (change IN ('optout', 'resubscribe')),
  source       TEXT CHECK (source IN ('link', 'reply', 'import', 'support')), -- NULL for a re-subscribe
  message_id   INTEGER REFERENCES messages(id),                              -- NULL: no message it answers
  at           INTEGER NOT NULL
) STRICT;
INSERT INTO optout_changes (id, tenant_id, recipient_id, change, source, message_id, at)
  SELECT id, tenant_id, recipient_id, 'optout', 'link', message_id, at FROM optouts;
CREATE INDEX optout_changes_tenant ON optout_changes(tenant_id, id);
CREATE INDEX optout_changes_recipient ON optout_changes(tenant_id, recipient_id);

-- The list as it stands: who is opted out now, what suppression reads. A re-subscribe
-- deletes the row; the change is kept in optout_changes. A message is optional now
-- (an imported opt-out may answer none), so the table is rebuilt.
CREATE TABLE optouts_now (
  tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
  recipient_id TEXT NOT NULL,
  source       TEXT NOT NULL CHECK (source IN ('link', 'reply', 'import', 'support')),
  message_id   INTEGER REFERENCES messages(id),
  at           INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, recipient_id)
) STRICT, WITHOUT ROWID;
INSERT INTO optouts_now (tenant_id, recipient_id, source, message_id, at)
  SELECT tenant_id, recipient_id, 'link', message_id, at FROM optouts;
DROP TABLE optouts;
ALTER TABLE optouts_now RENAME TO optouts;

-- The latest message of a tenant that went to a recipient (the message an opt-out
-- replied to the sender answers, unless it names one), found without scanning.
CREATE INDEX recipients_external_id ON recipients(external_id, message_id);
