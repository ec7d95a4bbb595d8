-- smslinks schema v4: click truth and analytics. Every click keeps the reason that
-- decided its class; previews are counted apart from bots; breakdowns of human
-- clicks are counted in the flush, so stats never scan raw clicks.
-- Times are milliseconds since the Unix epoch (INTEGER).

-- Link-preview fetches, counted apart: until now clicks_bots held bots and previews.
ALTER TABLE message_counters ADD COLUMN clicks_previews INTEGER NOT NULL DEFAULT 0;
ALTER TABLE link_counters ADD COLUMN clicks_previews INTEGER NOT NULL DEFAULT 0;
UPDATE message_counters SET clicks_previews = p.n
  FROM (SELECT message_id, count(*) AS n FROM clicks WHERE class = 'preview' GROUP BY message_id) AS p
  WHERE p.message_id = message_counters.message_id;
UPDATE message_counters SET clicks_bots = clicks_bots - clicks_previews;
UPDATE link_counters SET clicks_previews = p.n
  FROM (SELECT link_id, count(*) AS n FROM clicks WHERE class = 'preview' GROUP BY link_id) AS p
  WHERE p.link_id = link_counters.link_id;
UPDATE link_counters SET clicks_bots = clicks_bots - clicks_previews;

-- The latest delivery report time of any recipient of the message. The flush looks a
-- recipient's own report up only for clicks sooner than TOO_FAST_MS after this (or
-- after the message's creation); every later click is too late to be too fast.
ALTER TABLE message_counters ADD COLUMN last_delivery_at INTEGER;
UPDATE message_counters SET last_delivery_at =
  (SELECT max(delivery_at) FROM recipients r WHERE r.message_id = message_counters.message_id);

-- Clicks that are not human, per message and reason (head_request, too_fast, …).
CREATE TABLE message_reason_counters (
  message_id INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  clicks     INTEGER NOT NULL,
  PRIMARY KEY (message_id, reason)
) STRICT, WITHOUT ROWID;
INSERT INTO message_reason_counters (message_id, reason, clicks)
  SELECT message_id, reason, count(*) FROM clicks WHERE reason IS NOT NULL GROUP BY message_id, reason;

-- Human clicks of a message counted by one dimension's value:
--   device, os, browser: from the user agent (ua-parser-js);
--   hour: hour of day, UTC, '0'–'23'; day: whole days since the message was created;
--   first_click: recipients whose first human click came in log bucket N after creation.
-- Clicks stored before this migration are not in it (their user agents were never parsed).
CREATE TABLE message_breakdowns (
  message_id INTEGER NOT NULL,
  dimension  TEXT NOT NULL CHECK (dimension IN ('device', 'os', 'browser', 'hour', 'day', 'first_click')),
  value      TEXT NOT NULL,
  clicks     INTEGER NOT NULL,
  PRIMARY KEY (message_id, dimension, value)
) STRICT, WITHOUT ROWID;

-- Roll-ups and A/B tests read a tenant's messages by campaign, or by kind and time.
CREATE INDEX messages_campaign ON messages(tenant_id, campaign, variant) WHERE campaign IS NOT NULL;
CREATE INDEX messages_kind ON messages(tenant_id, kind, created_at);

-- A recipient's latest human click on the message (first_at is its first): what a
-- conversion given by message and recipient is attributed to. NULL: no repeat yet,
-- the latest is first_at. Written once per repeating recipient per flush.
ALTER TABLE message_uniques ADD COLUMN last_at INTEGER;

-- Conversions (orders) attributed to a message; `external_id` is the sender's own id,
-- which makes a repeated POST return the first result.
CREATE TABLE conversions (
  id            INTEGER PRIMARY KEY,
  tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
  external_id   TEXT NOT NULL,
  message_id    INTEGER NOT NULL REFERENCES messages(id),
  recipient_idx INTEGER,                -- NULL when attributed by a click id of an anonymous click
  click_id      TEXT,
  click_at      INTEGER NOT NULL,       -- the human click it is attributed to
  value         REAL NOT NULL,
  currency      TEXT NOT NULL,
  at            INTEGER NOT NULL,
  UNIQUE (tenant_id, external_id)
) STRICT;

ALTER TABLE message_counters ADD COLUMN conversions INTEGER NOT NULL DEFAULT 0;
CREATE TABLE message_revenue (
  message_id INTEGER NOT NULL,
  currency   TEXT NOT NULL,
  amount     REAL NOT NULL,
  PRIMARY KEY (message_id, currency)
) STRICT, WITHOUT ROWID;
