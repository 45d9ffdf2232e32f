-- Monitoring: checks attached to registry objects, their last known
-- state (written on change, so a restart neither forgets nor re-alerts),
-- the alerts people were told about, and silences.
CREATE TABLE checks (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    target_type   TEXT NOT NULL DEFAULT '',
    target_id     INTEGER,
    service       TEXT NOT NULL DEFAULT '',
    settings      TEXT NOT NULL,
    interval_s    INTEGER NOT NULL,
    timeout_s     INTEGER NOT NULL,
    retries       INTEGER NOT NULL,
    severity      TEXT NOT NULL,
    tags          TEXT NOT NULL DEFAULT '',
    parents       TEXT NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL DEFAULT 1,
    secret        BLOB,
    push_token    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX checks_name_key ON checks (lower(name));
CREATE UNIQUE INDEX checks_push_token_key ON checks (push_token);

CREATE TABLE check_states (
    check_id  INTEGER PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    state     TEXT NOT NULL,
    since     TEXT NOT NULL,
    failures  INTEGER NOT NULL,
    message   TEXT NOT NULL DEFAULT '',
    cause     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    fingerprint   TEXT NOT NULL,
    source        TEXT NOT NULL,
    check_id      INTEGER,
    name          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    labels        TEXT NOT NULL DEFAULT '{}',
    summary       TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
    started_at    TEXT NOT NULL,
    resolved_at   TEXT,
    acked_at      TEXT,
    acked_by      TEXT NOT NULL DEFAULT '',
    level         INTEGER NOT NULL DEFAULT 0,
    notified_at   TEXT,
    notifications INTEGER NOT NULL DEFAULT 0,
    muted         TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL
);
-- One firing alert per problem, even with several instances.
CREATE UNIQUE INDEX alerts_firing_fingerprint_key ON alerts (fingerprint) WHERE state = 'firing';
CREATE INDEX alerts_state_idx ON alerts (state);

CREATE TABLE silences (
    id          INTEGER PRIMARY KEY,
    matchers    TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
