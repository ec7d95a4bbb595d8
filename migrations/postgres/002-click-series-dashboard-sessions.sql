-- Human clicks of a message per time bucket since its creation (src/click-series.ts):
-- minutes of the first hour, then hours to the end of the seventh day, then one bucket
-- for everything later; at most 228 rows per message. Moved in the click write's
-- transaction; the dashboard's clicks-over-time chart reads only this.
CREATE TABLE message_click_series (
  message_id BIGINT NOT NULL,
  bucket     INTEGER NOT NULL,
  clicks     BIGINT NOT NULL,
  PRIMARY KEY (message_id, bucket)
);

-- Dashboard sessions are signed cookies (docs/adr/0075); this table holds only the
-- ones ended before they expired (signed out), until they would have expired anyway.
CREATE TABLE dashboard_session_ends (
  session_id TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX dashboard_session_ends_expiry ON dashboard_session_ends (expires_at);
