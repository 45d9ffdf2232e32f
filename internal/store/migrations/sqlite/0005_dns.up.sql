-- Forward zones and their hand-managed records; reverse DNS naming per
-- IPAM prefix (the member-chosen names live on allocations already).
CREATE TABLE zones (
    id          INTEGER PRIMARY KEY,
    origin      TEXT NOT NULL,
    ttl         INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX zones_origin_key ON zones (origin);

CREATE TABLE records (
    id         INTEGER PRIMARY KEY,
    zone_id    INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    ttl        INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX records_zone_idx ON records (zone_id, name);

ALTER TABLE prefixes ADD COLUMN ptr_template TEXT NOT NULL DEFAULT '';
ALTER TABLE prefixes ADD COLUMN dns_forward INTEGER NOT NULL DEFAULT 0;
