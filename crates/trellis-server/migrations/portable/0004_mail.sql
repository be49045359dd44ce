-- E-mail delivery from the outbox: attempts with back-off, the last error,
-- and a lease so that several instances never send the same message at once.
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
ALTER TABLE outbox ADD COLUMN failed_at TEXT;
CREATE INDEX outbox_pending ON outbox (at) WHERE channel = 'email' AND sent_at IS NULL AND failed_at IS NULL;
