-- Registry tables. Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
-- (fixed width, so they sort and compare as text); dates are 'YYYY-MM-DD'.
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX sites_name_key ON sites (lower(name));

CREATE TABLE members (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    phone      TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '',
    site_id    INTEGER REFERENCES sites (id),
    room       TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL,
    notes      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX members_email_key ON members (lower(email));
CREATE INDEX members_name_idx ON members (lower(name));

CREATE TABLE membership_periods (
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    start_date TEXT NOT NULL,
    end_date   TEXT
);
CREATE INDEX membership_periods_member_idx ON membership_periods (member_id);

CREATE TABLE hosts (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL,
    site_id            INTEGER REFERENCES sites (id),
    role               TEXT NOT NULL,
    address            TEXT NOT NULL DEFAULT '',
    cpus               INTEGER NOT NULL DEFAULT 0,
    ram_mb             INTEGER NOT NULL DEFAULT 0,
    disk_gb            INTEGER NOT NULL DEFAULT 0,
    provider           TEXT NOT NULL DEFAULT '',
    monthly_cost_cents INTEGER NOT NULL DEFAULT 0,
    description        TEXT NOT NULL DEFAULT '',
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX hosts_name_key ON hosts (lower(name));

CREATE TABLE ports (
    id         INTEGER PRIMARY KEY,
    host_id    INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    room       TEXT NOT NULL DEFAULT '',
    vlan       INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ports_host_name_key ON ports (host_id, name);

CREATE TABLE cpes (
    id         INTEGER PRIMARY KEY,
    model      TEXT NOT NULL,
    serial     TEXT NOT NULL,
    mac        TEXT,
    state      TEXT NOT NULL,
    member_id  INTEGER REFERENCES members (id),
    notes      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX cpes_serial_key ON cpes (serial);
CREATE UNIQUE INDEX cpes_mac_key ON cpes (mac);

CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY,
    member_id    INTEGER NOT NULL REFERENCES members (id),
    kind         TEXT NOT NULL,
    login        TEXT NOT NULL,
    password     BLOB,
    state        TEXT NOT NULL,
    upstream_ref TEXT NOT NULL DEFAULT '',
    cpe_id       INTEGER REFERENCES cpes (id),
    site_id      INTEGER REFERENCES sites (id),
    port_id      INTEGER REFERENCES ports (id),
    mac          TEXT,
    vlan         INTEGER NOT NULL DEFAULT 0,
    notes        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX subscriptions_login_key ON subscriptions (login);
CREATE INDEX subscriptions_member_idx ON subscriptions (member_id);
CREATE INDEX subscriptions_mac_idx ON subscriptions (mac);

CREATE TABLE prefixes (
    id          INTEGER PRIMARY KEY,
    cidr        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    block_bits  INTEGER NOT NULL,
    kind        TEXT NOT NULL DEFAULT '',
    site_id     INTEGER REFERENCES sites (id),
    description TEXT NOT NULL DEFAULT '',
    next_index  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX prefixes_cidr_key ON prefixes (cidr);

-- One row per block ever handed out; a released block keeps its row, with
-- no subscription, until it is reused after its quarantine.
CREATE TABLE allocations (
    id              INTEGER PRIMARY KEY,
    prefix_id       INTEGER NOT NULL REFERENCES prefixes (id),
    block_index     INTEGER NOT NULL,
    block           TEXT NOT NULL,
    role            TEXT NOT NULL,
    subscription_id INTEGER REFERENCES subscriptions (id),
    reverse_name    TEXT NOT NULL DEFAULT '',
    allocated_at    TEXT NOT NULL,
    released_at     TEXT,
    reusable_at     TEXT
);
CREATE UNIQUE INDEX allocations_block_key ON allocations (prefix_id, block_index);
CREATE INDEX allocations_subscription_idx ON allocations (subscription_id);
CREATE INDEX allocations_reusable_idx ON allocations (prefix_id, reusable_at) WHERE subscription_id IS NULL;

CREATE TABLE nas (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    secret        BLOB NOT NULL,
    kind          TEXT NOT NULL,
    message_auth  TEXT NOT NULL,
    strip_realm   INTEGER NOT NULL DEFAULT 0,
    site_id       INTEGER REFERENCES sites (id),
    coa_port      INTEGER NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX nas_name_key ON nas (lower(name));

CREATE TABLE admins (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    roles      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX admins_name_key ON admins (lower(name));

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    admin_id     INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT
);
CREATE UNIQUE INDEX api_tokens_hash_key ON api_tokens (hash);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    before    TEXT,
    after     TEXT
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
