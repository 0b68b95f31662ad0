-- 0005: named operators. Each has its own bearer token for /admin (only its
-- SHA-256 is stored, like agency tokens) and is named in the audit chain.
-- The token of [security] operator_token_file stays the unnamed "operator".

CREATE TABLE operators (
    name       TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
