-- smslinks schema v6: a tenant's allow-list of destination hosts.
-- A tenant with no rows may link anywhere; with rows, every destination host of a
-- new message must match one of them, so a stolen API key cannot turn the tenant's
-- domain into a redirector to somebody else's site.
CREATE TABLE destination_hosts (
  tenant_id INTEGER NOT NULL REFERENCES tenants(id),
  pattern   TEXT NOT NULL,            -- `shop.dk` (that host) or `*.shop.dk` (any host below it), punycode, lower case
  PRIMARY KEY (tenant_id, pattern)
) WITHOUT ROWID;
