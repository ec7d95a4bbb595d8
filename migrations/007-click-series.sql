-- Human clicks of a message per time bucket since its creation (src/click-series.ts):
-- minutes of the first hour, then hours to the end of the seventh day, then one bucket
-- for everything later; at most 228 rows per message. Moved in the click flush
-- transaction; the dashboard's clicks-over-time chart reads only this.
-- Clicks stored before this migration are not in it.
CREATE TABLE message_click_series (
  message_id INTEGER NOT NULL,
  bucket     INTEGER NOT NULL,
  clicks     INTEGER NOT NULL,
  PRIMARY KEY (message_id, bucket)
) STRICT, WITHOUT ROWID;
