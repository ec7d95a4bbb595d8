-- Creating a message inserts its recipients, up to 100,000 a call: the hot insert of
-- creation, where checking each row's message was a large part of its cost. A recipient
-- is only ever inserted while its message's row is locked, in the transaction that
-- created the message or after it, and messages are never deleted (docs/adr/0091).
ALTER TABLE recipients DROP CONSTRAINT IF EXISTS recipients_message_id_fkey;
