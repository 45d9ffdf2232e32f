-- Accounting: sessions as the NAS last reported them, and traffic per
-- subscription per UTC day. No foreign keys to the registry: accounting must
-- never be refused because a line was deleted meanwhile.
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    nas             TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    login           TEXT NOT NULL,
    subscription_id INTEGER,
    member_id       INTEGER,
    ipv4            TEXT NOT NULL DEFAULT '',
    ipv6_prefix     TEXT NOT NULL DEFAULT '',
    delegated       TEXT NOT NULL DEFAULT '',
    calling_station TEXT NOT NULL DEFAULT '',
    nas_port_id     TEXT NOT NULL DEFAULT '',
    circuit         TEXT NOT NULL DEFAULT '',
    started_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    stopped_at      TEXT,
    session_time    INTEGER NOT NULL DEFAULT 0,
    input_octets    INTEGER NOT NULL DEFAULT 0,
    output_octets   INTEGER NOT NULL DEFAULT 0,
    stop_reason     TEXT NOT NULL DEFAULT '',
    interim         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_nas_session_idx ON sessions (nas, session_id);
CREATE INDEX sessions_subscription_idx ON sessions (subscription_id, started_at);
CREATE INDEX sessions_open_idx ON sessions (nas) WHERE stopped_at IS NULL;

CREATE TABLE usage_daily (
    subscription_id INTEGER NOT NULL,
    day             TEXT NOT NULL,
    member_id       INTEGER NOT NULL,
    input_octets    INTEGER NOT NULL DEFAULT 0,
    output_octets   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subscription_id, day)
);
CREATE INDEX usage_daily_member_idx ON usage_daily (member_id, day);
