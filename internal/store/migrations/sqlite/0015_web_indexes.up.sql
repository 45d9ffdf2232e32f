-- What the admin pages read often at 20,000 members: the used count of
-- each pool (the prefix list, and every lookup by address) from the index
-- alone, and a member's sessions without scanning them all.
CREATE INDEX allocations_prefix_used_idx ON allocations (prefix_id) WHERE subscription_id IS NOT NULL;
CREATE INDEX sessions_member_idx ON sessions (member_id, started_at);
