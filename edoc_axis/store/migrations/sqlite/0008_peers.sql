-- 0008: federation (issue 17). Peer axes, the agencies each serves, the path a
-- relayed document came by, and the next axis's receipt for a relayed delivery.

-- name: the peer axis's own axis_name (what it signs receipts with and puts in
-- relay paths). serves: a JSON list of patterns (an exact code, a glob such as
-- "*.H26", or "*" for every agency not local). The token the peer presents here
-- is kept as a hash; the token this axis presents to the peer is sealed with
-- AES-GCM under [vdxp] secret_key_file (system_secrets.py), never stored clear.
CREATE TABLE peers (
    name             TEXT PRIMARY KEY,
    url              TEXT NOT NULL,
    axis_cert_pem    BLOB NOT NULL,
    axis_cert_sha256 TEXT NOT NULL,
    serves           TEXT NOT NULL,
    token_hash       TEXT UNIQUE,
    sealed_token     BLOB,
    state            TEXT NOT NULL CHECK (state IN ('active', 'disabled')),
    created_at       TEXT NOT NULL,
    directory_version INTEGER,
    -- a test peer's remote agencies are test agencies (the conformance suite's)
    test             INTEGER NOT NULL DEFAULT 0 CHECK (test IN (0, 1))
);

-- An agency served by a peer axis (NULL: a local agency). Its deliveries are
-- pushes to the peer's relay resource.
ALTER TABLE agencies ADD COLUMN peer TEXT REFERENCES peers (name);
CREATE INDEX agencies_by_peer ON agencies (peer) WHERE peer IS NOT NULL;

-- The axes a relayed document crossed before this one, origin first, comma
-- separated (NULL: sent here by its sender).
ALTER TABLE documents ADD COLUMN relay_path TEXT;

-- The next axis's signed receipt for a delivery relayed to it.
ALTER TABLE deliveries ADD COLUMN relay_receipt BLOB;
