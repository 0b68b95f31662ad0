-- 0001: registry, documents and their bytes, deliveries, statuses, audit chain.
-- Timestamps are TEXT in one fixed-width UTC form (2026-01-01T00:00:00.000000+00:00),
-- so text order is time order; the PostgreSQL twin uses timestamptz.

CREATE TABLE agencies (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('active', 'disabled')),
    delivery_mode TEXT NOT NULL CHECK (delivery_mode IN ('push', 'pull')),
    endpoint_url  TEXT,
    created_at    TEXT NOT NULL,
    CHECK (delivery_mode = 'pull' OR endpoint_url IS NOT NULL)
);

-- Every code an agency is known by (canonical, QCVN 102, QĐ 20, legacy) is
-- unique across all agencies: this is what makes routing unambiguous.
CREATE TABLE agency_codes (
    code         TEXT PRIMARY KEY,
    agency_code  TEXT NOT NULL REFERENCES agencies (code),
    is_canonical INTEGER NOT NULL CHECK (is_canonical IN (0, 1))
);
CREATE INDEX agency_codes_by_agency ON agency_codes (agency_code);

CREATE TABLE certificates (
    fingerprint TEXT PRIMARY KEY,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    pem         BLOB NOT NULL,
    added_at    TEXT NOT NULL
);
CREATE INDEX certificates_by_agency ON certificates (agency_code);

-- Only hashes of tokens are stored; the caller hashes.
CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    issued_at   TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX tokens_live_by_agency ON tokens (agency_code) WHERE revoked_at IS NULL;

-- Exact bytes as received, keyed by their SHA-256 (documents and statuses).
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size   INTEGER NOT NULL,
    data   BLOB NOT NULL
);

CREATE TABLE documents (
    seq                    INTEGER PRIMARY KEY,
    axis_id                TEXT NOT NULL UNIQUE,
    sender_code            TEXT NOT NULL REFERENCES agencies (code),
    document_id            TEXT NOT NULL,
    idempotency_key        TEXT NOT NULL,
    kind                   TEXT NOT NULL CHECK (kind IN ('document', 'status')),
    business_type          INTEGER NOT NULL,
    references_document_id TEXT,
    subject                TEXT NOT NULL,
    sha256                 TEXT NOT NULL REFERENCES blobs (sha256),
    received_at            TEXT NOT NULL,
    receipt                BLOB NOT NULL,
    legacy_policy          INTEGER NOT NULL CHECK (legacy_policy IN (0, 1)),
    -- idempotency is the database's job: one row per (sender, key); the key is
    -- the DocumentId for a new document (see NewDocument.idempotency_key)
    UNIQUE (sender_code, idempotency_key)
);

-- revoke/update/replace documents of a sender about one of its documents
CREATE INDEX documents_followups ON documents (sender_code, references_document_id)
    WHERE business_type > 0;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    document_seq    INTEGER NOT NULL REFERENCES documents (seq),
    recipient_code  TEXT NOT NULL REFERENCES agencies (code),
    mode            TEXT NOT NULL CHECK (mode IN ('push', 'pull')),
    state           TEXT NOT NULL
        CHECK (state IN ('pending', 'delivered', 'acknowledged', 'dead', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    lease_owner     TEXT,
    last_error      TEXT,
    delivered_at    TEXT,
    acked_at        TEXT,
    status_code     TEXT,
    status_at       TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (document_seq, recipient_code)
);
-- The push due-queue: only pending push rows, in due order.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE state = 'pending' AND mode = 'push';
-- Inboxes list what the recipient has not got yet.
CREATE INDEX deliveries_inbox ON deliveries (recipient_code, id)
    WHERE state IN ('pending', 'dead');
CREATE INDEX deliveries_dead ON deliveries (id) WHERE state = 'dead';

CREATE TABLE statuses (
    seq         INTEGER PRIMARY KEY,
    status_id   TEXT NOT NULL UNIQUE,
    axis_id     TEXT NOT NULL REFERENCES documents (axis_id),
    from_code   TEXT NOT NULL REFERENCES agencies (code),
    to_code     TEXT NOT NULL REFERENCES agencies (code),
    -- 'status': an edXML status message; 'notice': the axis telling the sender
    -- that a delivery failed for good (no edXML code exists for that)
    kind        TEXT NOT NULL DEFAULT 'status' CHECK (kind IN ('status', 'notice')),
    status_code TEXT CHECK ((kind = 'status' AND status_code GLOB '[0-1][0-9]')
                            OR (kind = 'notice' AND status_code IS NULL)),
    sha256      TEXT NOT NULL REFERENCES blobs (sha256),
    timestamp   TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX statuses_by_recipient ON statuses (to_code, seq);
CREATE INDEX statuses_by_document ON statuses (axis_id, seq);

-- Hash-chained audit log; seq is assigned by the single writer, gap-free.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    event     TEXT NOT NULL,
    axis_id   TEXT,
    agency    TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

-- The last committed seq and hash, updated in the same transaction as the
-- rows, so that cutting rows off the end of the log is detected.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
