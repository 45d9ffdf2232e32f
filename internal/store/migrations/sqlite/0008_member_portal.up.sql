-- Member self-service: notification choices (a member without a row gets
-- the defaults) and emailed single-use login links, of which only the
-- SHA-256 of the token is kept.
CREATE TABLE member_prefs (
    member_id   INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    maintenance INTEGER NOT NULL DEFAULT 1,
    incidents   INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL
);

CREATE TABLE member_login_links (
    id         INTEGER PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE UNIQUE INDEX member_login_links_hash_key ON member_login_links (hash);
CREATE INDEX member_login_links_expires_idx ON member_login_links (expires_at);
CREATE INDEX member_login_links_member_idx ON member_login_links (member_id);
