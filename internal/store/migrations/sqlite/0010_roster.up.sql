-- Roster renewal: a campaign asks each admin holding a title (the
-- technical-officer role, by default) whether they keep it; a request per
-- admin holds their answer. Both are durable so that a restart neither
-- mails everyone again nor forgets a deadline. Only one campaign is open
-- at a time, even with several instances on one database.
CREATE TABLE roster_campaigns (
    id         INTEGER PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    roles      TEXT NOT NULL,
    started_at TEXT NOT NULL,
    started_by TEXT NOT NULL,
    deadline   TEXT NOT NULL,
    closed_at  TEXT
);
CREATE UNIQUE INDEX roster_campaigns_one_open ON roster_campaigns (state) WHERE state = 'open';

-- token_hash is the SHA-256 of the link's token (the token itself is only
-- in the mail); it is cleared once the link is used.
CREATE TABLE roster_requests (
    id                INTEGER PRIMARY KEY,
    campaign_id       INTEGER NOT NULL REFERENCES roster_campaigns (id) ON DELETE CASCADE,
    admin_id          INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    admin_name        TEXT NOT NULL,
    email             TEXT NOT NULL,
    roles             TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'kept', 'stepped-down', 'removed')),
    token_hash        TEXT,
    expires_at        TEXT,
    mail_claimed_at   TEXT,
    mail_sent_at      TEXT,
    mail_error        TEXT NOT NULL DEFAULT '',
    answered_at       TEXT,
    answered_by       TEXT NOT NULL DEFAULT '',
    revoked           TEXT NOT NULL DEFAULT '',
    notice_claimed_at TEXT,
    notice_sent_at    TEXT
);
CREATE UNIQUE INDEX roster_requests_admin_key ON roster_requests (campaign_id, admin_id);
CREATE UNIQUE INDEX roster_requests_token_key ON roster_requests (token_hash);
CREATE INDEX roster_requests_admin_idx ON roster_requests (admin_id);

-- Certificate expiry reminders, one per certificate: claimed before the
-- mail goes out (so two instances do not both send it), sent once.
CREATE TABLE ssh_certificate_reminders (
    serial     INTEGER PRIMARY KEY REFERENCES ssh_certificates (serial),
    claimed_at TEXT NOT NULL,
    sent_at    TEXT,
    sent_to    TEXT NOT NULL DEFAULT ''
);
