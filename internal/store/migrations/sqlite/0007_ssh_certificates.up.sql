-- SSH certificate authority: every certificate issued, the keys revoked
-- outright, and the serial counter. Certificates are never deleted: the
-- KRL is built from the revoked ones, and the audit trail refers to them.
CREATE TABLE ssh_certificates (
    serial             INTEGER PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('user', 'host')),
    admin_id           INTEGER REFERENCES admins (id) ON DELETE SET NULL,
    host_id            INTEGER REFERENCES hosts (id) ON DELETE SET NULL,
    subject            TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    public_key         TEXT NOT NULL,
    fingerprint        TEXT NOT NULL,
    principals         TEXT NOT NULL,
    valid_after        TEXT NOT NULL,
    valid_before       TEXT NOT NULL,
    signer_key         TEXT NOT NULL,
    signer_fingerprint TEXT NOT NULL,
    certificate        TEXT NOT NULL,
    issued_at          TEXT NOT NULL,
    issued_by          TEXT NOT NULL,
    revoked_at         TEXT,
    revoked_by         TEXT NOT NULL DEFAULT '',
    revocation_reason  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ssh_certificates_admin_idx ON ssh_certificates (admin_id);
CREATE INDEX ssh_certificates_host_idx ON ssh_certificates (host_id);
CREATE INDEX ssh_certificates_fingerprint_idx ON ssh_certificates (fingerprint);
CREATE INDEX ssh_certificates_valid_before_idx ON ssh_certificates (valid_before);

CREATE TABLE ssh_revoked_keys (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    revoked_at  TEXT NOT NULL,
    revoked_by  TEXT NOT NULL
);
CREATE UNIQUE INDEX ssh_revoked_keys_fingerprint_key ON ssh_revoked_keys (fingerprint);

-- One row: the last serial handed out. Serials are reserved before
-- signing (a hardware token may take seconds) and recorded after, so a
-- failed signature leaves a gap, never a repeat.
CREATE TABLE ssh_serials (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO ssh_serials (id, last) VALUES (1, 0);
