-- 0009 (PostgreSQL): the twin of the SQLite 0009. The console's logged-in
-- sessions, in the store so that every node and every process knows them.
-- id_hash: SHA-256 of the cookie's random id (the id itself is never stored).
-- notes: JSON, the messages the next page shows once and the session's last
-- audit-chain check.
CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY,
    actor      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL,
    notes      TEXT NOT NULL
);
CREATE INDEX console_sessions_by_seen ON console_sessions (seen_at);
