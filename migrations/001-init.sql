-- smslinks schema v1: tenants, domains, keys, messages, links, recipients,
-- raw clicks and the counters that stats read.
-- Times are milliseconds since the Unix epoch (INTEGER).

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE tenants (
  id         INTEGER PRIMARY KEY,
  public_id  TEXT NOT NULL UNIQUE,
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE domains (
  id         INTEGER PRIMARY KEY,
  tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
  host       TEXT NOT NULL UNIQUE,       -- lower case, with :port when not the default
  base_url   TEXT NOT NULL,              -- scheme://host that short links start with
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX domains_tenant ON domains(tenant_id);

CREATE TABLE api_keys (
  id         INTEGER PRIMARY KEY,
  public_id  TEXT NOT NULL UNIQUE,
  tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
  name       TEXT NOT NULL,
  key_hash   BLOB NOT NULL UNIQUE,       -- SHA-256 of the key; the key itself is never stored
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

CREATE TABLE messages (
  id              INTEGER PRIMARY KEY,
  public_id       TEXT NOT NULL UNIQUE,
  tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
  domain_id       INTEGER NOT NULL REFERENCES domains(id),
  external_id     TEXT,
  kind            TEXT NOT NULL CHECK (kind IN ('campaign', 'flow', 'transactional')),
  campaign        TEXT,
  variant         TEXT,
  recipient_count INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX messages_external_id ON messages(tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_tenant ON messages(tenant_id, id);

CREATE TABLE links (
  id         INTEGER PRIMARY KEY,
  public_id  TEXT NOT NULL UNIQUE,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  domain_id  INTEGER NOT NULL REFERENCES domains(id),
  position   INTEGER NOT NULL,           -- order within the message, from 0
  code       TEXT NOT NULL,
  url        TEXT NOT NULL,
  UNIQUE (domain_id, code)
) STRICT;
CREATE INDEX links_message ON links(message_id, position);

-- A recipient is known by the sender's own id and by its index within the
-- message; the index is what the recipient token carries.
CREATE TABLE recipients (
  message_id  INTEGER NOT NULL REFERENCES messages(id),
  idx         INTEGER NOT NULL,
  external_id TEXT NOT NULL,
  PRIMARY KEY (message_id, idx),
  UNIQUE (message_id, external_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE user_agents (
  id INTEGER PRIMARY KEY,
  ua TEXT NOT NULL UNIQUE
) STRICT;

-- Raw clicks: for breakdowns, export and retention, never for stats.
-- No foreign keys here: this is the hot insert, and its ids come from rows
-- the service itself resolved.
CREATE TABLE clicks (
  id            INTEGER PRIMARY KEY,
  at            INTEGER NOT NULL,
  message_id    INTEGER NOT NULL,
  link_id       INTEGER NOT NULL,
  recipient_idx INTEGER,                -- NULL: no token, or a token that failed the check
  class         TEXT NOT NULL CHECK (class IN ('human', 'bot', 'preview')),
  reason        TEXT,                   -- why a click is not human; NULL for human
  user_agent_id INTEGER,
  network       TEXT                    -- truncated client network (IPv4 /24, IPv6 /48), never the address
) STRICT;
CREATE INDEX clicks_message ON clicks(message_id, id);

-- "First click" decisions: INSERT OR IGNORE here says whether a human click is unique.
CREATE TABLE message_uniques (
  message_id    INTEGER NOT NULL,
  recipient_idx INTEGER NOT NULL,
  first_at      INTEGER NOT NULL,
  PRIMARY KEY (message_id, recipient_idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE link_uniques (
  link_id       INTEGER NOT NULL,
  recipient_idx INTEGER NOT NULL,
  first_at      INTEGER NOT NULL,
  PRIMARY KEY (link_id, recipient_idx)
) STRICT, WITHOUT ROWID;

-- Counters, updated in the click flush transaction; stats read only these.
CREATE TABLE message_counters (
  message_id    INTEGER PRIMARY KEY REFERENCES messages(id),
  clicks_total  INTEGER NOT NULL DEFAULT 0,  -- human clicks, repeats and anonymous included
  clicks_unique INTEGER NOT NULL DEFAULT 0,  -- recipients with a human click on any link
  clicks_bots   INTEGER NOT NULL DEFAULT 0   -- automated fetches (bots, previews, HEAD)
) STRICT;

CREATE TABLE link_counters (
  link_id       INTEGER PRIMARY KEY REFERENCES links(id),
  clicks_total  INTEGER NOT NULL DEFAULT 0,
  clicks_unique INTEGER NOT NULL DEFAULT 0,
  clicks_bots   INTEGER NOT NULL DEFAULT 0
) STRICT;
