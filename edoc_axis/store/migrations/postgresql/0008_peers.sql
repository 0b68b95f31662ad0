-- 0008 (PostgreSQL): the twin of the SQLite 0008 (federation, issue 17).

CREATE TABLE peers (
    name             TEXT PRIMARY KEY,
    url              TEXT NOT NULL,
    axis_cert_pem    BYTEA NOT NULL,
    axis_cert_sha256 TEXT NOT NULL,
    serves           TEXT NOT NULL,
    token_hash       TEXT UNIQUE,
    sealed_token     BYTEA,
    state            TEXT NOT NULL CHECK (state IN ('active', 'disabled')),
    created_at       TIMESTAMPTZ NOT NULL,
    directory_version BIGINT,
    test             BOOLEAN NOT NULL DEFAULT false
);

ALTER TABLE agencies ADD COLUMN peer TEXT REFERENCES peers (name);
CREATE INDEX agencies_by_peer ON agencies (peer) WHERE peer IS NOT NULL;

ALTER TABLE documents ADD COLUMN relay_path TEXT;

ALTER TABLE deliveries ADD COLUMN relay_receipt BYTEA;
