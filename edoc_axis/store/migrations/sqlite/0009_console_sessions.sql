-- 0009: the console's logged-in sessions, in the store so that every process of
-- `serve --processes N` and every node on one PostgreSQL knows them (in process
-- memory, a session held only on the connection it logged in on).
-- id_hash: SHA-256 of the cookie's random id; the id itself is never stored, so
-- reading this table gives no session away. notes: JSON, the messages the next
-- page shows once and the session's last audit-chain check. Only a logged-in
-- operator makes a row: the login form keeps its CSRF token in a cookie.
CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY,
    actor      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL,
    notes      TEXT NOT NULL
);
CREATE INDEX console_sessions_by_seen ON console_sessions (seen_at);
