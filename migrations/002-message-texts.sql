-- smslinks schema v2: message texts (SMS bodies whose URLs become short links),
-- tracking parameters added at redirect time, and click ids for conversions.

-- The SMS body as the sender wrote it, and where its URLs and placeholders sit:
-- a JSON array of [start, end, link position] in UTF-16 offsets, the position -1
-- standing for {unsubscribe}. Kept rather than re-detected on every read, so a
-- newer URL-detection library can never remap a stored text onto other links.
ALTER TABLE messages ADD COLUMN text TEXT;
ALTER TABLE messages ADD COLUMN text_spans TEXT;
-- 1: short links inside rewritten texts are written without https://.
ALTER TABLE messages ADD COLUMN strip_scheme INTEGER NOT NULL DEFAULT 0 CHECK (strip_scheme IN (0, 1));
-- JSON object of utm_* values ({"source": "sms", ...}) added to every destination at redirect time.
ALTER TABLE messages ADD COLUMN utm TEXT;
-- Query parameter that carries the click id to the landing page, e.g. sl_cid.
ALTER TABLE messages ADD COLUMN click_id_param TEXT;

-- The id a landing page gets in click_id_param; NULL when the message asks for none.
-- Not UNIQUE: ids are unique by construction (process prefix + counter), and a
-- constraint failure would fail a whole batch of clicks over one.
ALTER TABLE clicks ADD COLUMN click_id TEXT;
CREATE INDEX clicks_click_id ON clicks(click_id) WHERE click_id IS NOT NULL;
