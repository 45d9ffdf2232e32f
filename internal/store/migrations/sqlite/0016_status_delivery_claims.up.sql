-- A status email is claimed before it is sent, so that of several
-- instances sharing the database one sends it; a claim older than its
-- lease (the sender died) lets another try.
ALTER TABLE status_deliveries ADD COLUMN claimed_at TEXT;
