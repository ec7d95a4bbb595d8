-- Dashboard sessions are signed cookies (docs/adr/0075); this table holds only the
-- ones ended before they expired (signed out), until they would have expired anyway.
CREATE TABLE dashboard_session_ends (
  session_id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX dashboard_session_ends_expiry ON dashboard_session_ends(expires_at);

