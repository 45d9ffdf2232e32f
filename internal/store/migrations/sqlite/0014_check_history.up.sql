-- Every change of a check's state, for the status page's daily uptime.
CREATE TABLE check_transitions (
    id        INTEGER PRIMARY KEY,
    check_id  INTEGER NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    state     TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX check_transitions_check_at_idx ON check_transitions (check_id, at);
