-- Browser sessions of admins and members. The cookie is never stored,
-- only its SHA-256 (like API tokens); csrf is the token the session's
-- forms carry. Rows past expires_at are deleted at the next login.
CREATE TABLE web_sessions (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('admin', 'member')),
    subject_id   INTEGER NOT NULL,
    token_hash   TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    via          TEXT NOT NULL DEFAULT '',
    remote_addr  TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX web_sessions_token_key ON web_sessions (token_hash);
CREATE INDEX web_sessions_subject_idx ON web_sessions (kind, subject_id);
CREATE INDEX web_sessions_expires_idx ON web_sessions (expires_at);

-- Admins' local web passwords (argon2id PHC strings), apart from the
-- admins table so that listing admins never reads them.
CREATE TABLE admin_passwords (
    admin_id   INTEGER PRIMARY KEY REFERENCES admins (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX cpes_member_idx ON cpes (member_id);
