-- smslinks schema v5: retention, link expiry, domain fallback URLs.
-- Times are milliseconds since the Unix epoch (INTEGER).

-- The retention job deletes raw clicks oldest first, a few thousand per transaction;
-- without this index every batch would scan the whole table.
CREATE INDEX clicks_at ON clicks(at);

-- Outbox housekeeping: finished events and attempts older than the retention window.
CREATE INDEX webhook_events_finished ON webhook_events(created_at) WHERE state <> 'pending';
CREATE INDEX webhook_attempts_at ON webhook_attempts(at);

-- When a message's links stop redirecting to their destinations; NULL: never.
ALTER TABLE messages ADD COLUMN expires_at INTEGER;

-- Where an expired link of a domain sends people instead (an absolute http(s) URL);
-- NULL: expired links answer 410 with a small page.
ALTER TABLE domains ADD COLUMN fallback_url TEXT;
