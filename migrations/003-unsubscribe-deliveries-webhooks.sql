-- smslinks schema v3: unsubscribe links and opt-outs, delivery reports, event webhooks.
-- Times are milliseconds since the Unix epoch (INTEGER).

-- A message with unsubscribe links has its own code for them (`/u/{code}-{token}`),
-- unique within its domain; NULL when the message has none.
ALTER TABLE messages ADD COLUMN unsubscribe_code TEXT;
CREATE UNIQUE INDEX messages_unsubscribe_code ON messages(domain_id, unsubscribe_code)
  WHERE unsubscribe_code IS NOT NULL;

-- Per recipient of a message: its latest delivery report, and when it confirmed
-- the unsubscribe page of this message (set once).
ALTER TABLE recipients ADD COLUMN delivery_status TEXT CHECK (delivery_status IN ('delivered', 'failed'));
ALTER TABLE recipients ADD COLUMN delivery_at INTEGER;
ALTER TABLE recipients ADD COLUMN unsubscribed_at INTEGER;

-- Counters kept beside the click counters, updated in the transaction that changes
-- what they count; stats read only these.
ALTER TABLE message_counters ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;          -- recipients whose latest report is delivered
ALTER TABLE message_counters ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;             -- recipients whose latest report is failed
ALTER TABLE message_counters ADD COLUMN unsubscribe_visits INTEGER NOT NULL DEFAULT 0; -- human GETs of the unsubscribe page
ALTER TABLE message_counters ADD COLUMN unsubscribes INTEGER NOT NULL DEFAULT 0;       -- recipients who confirmed on this message's page

-- A tenant's suppression list: one row per recipient id, ever. The id is the cursor
-- of GET /v1/optouts, so rows are never updated or reordered.
CREATE TABLE optouts (
  id           INTEGER PRIMARY KEY,
  tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
  recipient_id TEXT NOT NULL,          -- the sender's own id
  message_id   INTEGER NOT NULL REFERENCES messages(id),
  at           INTEGER NOT NULL,
  UNIQUE (tenant_id, recipient_id)
) STRICT;
CREATE INDEX optouts_tenant ON optouts(tenant_id, id);

CREATE TABLE webhooks (
  id         INTEGER PRIMARY KEY,
  public_id  TEXT NOT NULL UNIQUE,
  tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
  url        TEXT NOT NULL,
  events     TEXT NOT NULL,             -- comma-separated: click, unsubscribe
  secret     TEXT NOT NULL,             -- signing key; needed in clear to sign
  created_at INTEGER NOT NULL,
  deleted_at INTEGER
) STRICT;
CREATE INDEX webhooks_tenant ON webhooks(tenant_id, id);

-- The durable outbox: one row per event and webhook, written in the transaction that
-- stores the click or the opt-out, deleted never; `state` says where delivery stands.
CREATE TABLE webhook_events (
  id              INTEGER PRIMARY KEY,
  public_id       TEXT NOT NULL UNIQUE,  -- the event id receivers de-duplicate on
  webhook_id      INTEGER NOT NULL REFERENCES webhooks(id),
  type            TEXT NOT NULL CHECK (type IN ('click', 'unsubscribe')),
  body            TEXT NOT NULL,         -- the exact JSON posted, the same on every attempt
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled'))
) STRICT;
CREATE INDEX webhook_events_due ON webhook_events(next_attempt_at) WHERE state = 'pending';

CREATE TABLE webhook_attempts (
  id          INTEGER PRIMARY KEY,
  webhook_id  INTEGER NOT NULL,
  event_id    INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,          -- 1 for the first try
  at          INTEGER NOT NULL,
  status_code INTEGER,                   -- NULL when no response came (timeout, refused)
  error       TEXT,                      -- NULL on success
  outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed'))
) STRICT;
CREATE INDEX webhook_attempts_webhook ON webhook_attempts(webhook_id, id);
