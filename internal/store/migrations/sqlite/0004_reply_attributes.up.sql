-- Extra RADIUS reply attributes per NAS and per subscription (rate limits,
-- VRFs...), one "Name = value" per line.
ALTER TABLE nas ADD COLUMN reply_attributes TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN reply_attributes TEXT NOT NULL DEFAULT '';
