-- Status page: components as members see them (linked to registry objects
-- by "kind:ref" lines, which is how affected members are computed),
-- incidents and their timeline, planned maintenance, members' email
-- language, public email subscriptions (double opt-in) and the ledger
-- of status emails: one row per notice and recipient, so that nobody is
-- told the same thing twice, even after a restart.
CREATE TABLE status_components (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    group_name  TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,
    targets     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX status_components_name_key ON status_components (lower(name));

CREATE TABLE status_incidents (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    impact      TEXT NOT NULL CHECK (impact IN ('degraded', 'partial', 'major')),
    state       TEXT NOT NULL CHECK (state IN ('investigating', 'identified', 'monitoring', 'resolved')),
    components  TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    resolved_at TEXT,
    created_by  TEXT NOT NULL
);
CREATE INDEX status_incidents_started_idx ON status_incidents (started_at);

CREATE TABLE status_incident_updates (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    message     TEXT NOT NULL,
    at          TEXT NOT NULL,
    author      TEXT NOT NULL
);
CREATE INDEX status_incident_updates_incident_idx ON status_incident_updates (incident_id);

CREATE TABLE status_maintenance (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    components   TEXT NOT NULL,
    starts_at    TEXT NOT NULL,
    ends_at      TEXT NOT NULL,
    cancelled_at TEXT,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE INDEX status_maintenance_ends_idx ON status_maintenance (ends_at);

-- The language of a member's emails, next to their notification choices.
ALTER TABLE member_prefs ADD COLUMN language TEXT NOT NULL DEFAULT '';

CREATE TABLE status_subscribers (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL,
    language     TEXT NOT NULL DEFAULT '',
    components   TEXT NOT NULL DEFAULT '',
    token_hash   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    confirmed_at TEXT
);
CREATE UNIQUE INDEX status_subscribers_email_key ON status_subscribers (email);
CREATE INDEX status_subscribers_token_idx ON status_subscribers (token_hash);

CREATE TABLE status_notices (
    key        TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    planned_at TEXT
);

CREATE TABLE status_deliveries (
    id         INTEGER PRIMARY KEY,
    notice     TEXT NOT NULL REFERENCES status_notices (key),
    recipient  TEXT NOT NULL,
    email      TEXT NOT NULL,
    language   TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    sent_at    TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX status_deliveries_recipient_key ON status_deliveries (notice, recipient);
CREATE INDEX status_deliveries_pending_idx ON status_deliveries (sent_at, id);
