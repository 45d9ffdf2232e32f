-- Interventions journal: what admins did on each host, and the change
-- reports of the hosts' agents. Entries are never edited nor deleted; a
-- deleted host's entries stay, with its name. related_id points at a
-- status-page incident or maintenance without a foreign key, so that the
-- journal does not depend on the status page's tables.
CREATE TABLE journal_entries (
    id           INTEGER PRIMARY KEY,
    host_id      INTEGER REFERENCES hosts (id) ON DELETE SET NULL,
    host         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('intervention', 'change-report')),
    at           TEXT NOT NULL,
    author       TEXT NOT NULL,
    text         TEXT NOT NULL,
    related_kind TEXT NOT NULL DEFAULT '' CHECK (related_kind IN ('', 'incident', 'maintenance')),
    related_id   INTEGER,
    report_id    TEXT,
    report       TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX journal_entries_host_idx ON journal_entries (host_id, at);
CREATE INDEX journal_entries_at_idx ON journal_entries (at);
-- An agent resends a report whose answer it lost: recorded once.
CREATE UNIQUE INDEX journal_entries_report_key ON journal_entries (report_id);

-- Per-host tokens of the agents: they may only post their host's reports.
CREATE TABLE agent_tokens (
    id           INTEGER PRIMARY KEY,
    host_id      INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    last_used_at TEXT
);
CREATE UNIQUE INDEX agent_tokens_hash_key ON agent_tokens (hash);
CREATE INDEX agent_tokens_host_idx ON agent_tokens (host_id);
