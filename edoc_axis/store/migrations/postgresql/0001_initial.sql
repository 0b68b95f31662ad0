-- 0001 (PostgreSQL): the same tables as the SQLite 0001, for several axis nodes
-- on one database. Times are timestamptz, except the audit log's, which keeps
-- the exact UTC text that was hashed (so `audit verify` rehashes what is stored).

CREATE TABLE agencies (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('active', 'disabled')),
    delivery_mode TEXT NOT NULL CHECK (delivery_mode IN ('push', 'pull')),
    endpoint_url  TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    CHECK (delivery_mode = 'pull' OR endpoint_url IS NOT NULL)
);

-- Every code an agency is known by is unique across all agencies.
CREATE TABLE agency_codes (
    code         TEXT PRIMARY KEY,
    agency_code  TEXT NOT NULL REFERENCES agencies (code),
    is_canonical BOOLEAN NOT NULL
);
CREATE INDEX agency_codes_by_agency ON agency_codes (agency_code);

CREATE TABLE certificates (
    fingerprint TEXT PRIMARY KEY,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    pem         BYTEA NOT NULL,
    added_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX certificates_by_agency ON certificates (agency_code);

CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    issued_at   TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX tokens_live_by_agency ON tokens (agency_code) WHERE revoked_at IS NULL;

-- Exact bytes as received, keyed by their SHA-256. bytea: TOASTed out of line,
-- replicated and backed up with everything else, readable by every node.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size   BIGINT NOT NULL,
    data   BYTEA NOT NULL
);
-- The bytes are already compressed or base64 of compressed data; skip pglz.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE documents (
    seq                    BIGSERIAL PRIMARY KEY,
    axis_id                TEXT NOT NULL UNIQUE,
    sender_code            TEXT NOT NULL REFERENCES agencies (code),
    document_id            TEXT NOT NULL,
    idempotency_key        TEXT NOT NULL,
    kind                   TEXT NOT NULL CHECK (kind IN ('document', 'status')),
    business_type          INTEGER NOT NULL,
    references_document_id TEXT,
    subject                TEXT NOT NULL,
    sha256                 TEXT NOT NULL REFERENCES blobs (sha256),
    received_at            TIMESTAMPTZ NOT NULL,
    receipt                BYTEA NOT NULL,
    legacy_policy          BOOLEAN NOT NULL,
    -- idempotency across nodes is this key's job, not a lock in one process
    UNIQUE (sender_code, idempotency_key)
);
CREATE INDEX documents_followups ON documents (sender_code, references_document_id)
    WHERE business_type > 0;

CREATE TABLE deliveries (
    id              BIGSERIAL PRIMARY KEY,
    document_seq    BIGINT NOT NULL REFERENCES documents (seq),
    recipient_code  TEXT NOT NULL REFERENCES agencies (code),
    mode            TEXT NOT NULL CHECK (mode IN ('push', 'pull')),
    state           TEXT NOT NULL
        CHECK (state IN ('pending', 'delivered', 'acknowledged', 'dead', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    lease_owner     TEXT,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ,
    acked_at        TIMESTAMPTZ,
    status_code     TEXT,
    status_at       TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (document_seq, recipient_code)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id)
    WHERE state = 'pending' AND mode = 'push';
CREATE INDEX deliveries_inbox ON deliveries (recipient_code, id)
    WHERE state IN ('pending', 'dead');
CREATE INDEX deliveries_dead ON deliveries (id) WHERE state = 'dead';
CREATE INDEX deliveries_leased ON deliveries (lease_owner)
    WHERE state = 'pending' AND lease_owner IS NOT NULL;

CREATE TABLE statuses (
    seq         BIGSERIAL PRIMARY KEY,
    status_id   TEXT NOT NULL UNIQUE,
    axis_id     TEXT NOT NULL REFERENCES documents (axis_id),
    from_code   TEXT NOT NULL REFERENCES agencies (code),
    to_code     TEXT NOT NULL REFERENCES agencies (code),
    kind        TEXT NOT NULL DEFAULT 'status' CHECK (kind IN ('status', 'notice')),
    status_code TEXT CHECK ((kind = 'status' AND status_code ~ '^[0-1][0-9]$')
                            OR (kind = 'notice' AND status_code IS NULL)),
    sha256      TEXT NOT NULL REFERENCES blobs (sha256),
    timestamp   TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX statuses_by_recipient ON statuses (to_code, seq);
CREATE INDEX statuses_by_document ON statuses (axis_id, seq);

-- Hash-chained audit log. seq is assigned under the row lock on audit_head,
-- so writers on every node append to one gap-free chain.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TEXT NOT NULL,
    event     TEXT NOT NULL,
    axis_id   TEXT,
    agency    TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
