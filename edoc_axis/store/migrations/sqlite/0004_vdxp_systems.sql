-- 0004: document systems that speak VDXP (HMAC shared secrets), the agencies each
-- may speak for, and what a pulling system reported about a message it received.

CREATE TABLE vdxp_systems (
    system_id     TEXT PRIMARY KEY,
    state         TEXT NOT NULL CHECK (state IN ('active', 'disabled')),
    -- AES-GCM sealed under the axis's [vdxp] secret_key_file (see system_secrets.py)
    sealed_secret BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    secret_set_at TEXT NOT NULL
);

-- position: the order the agencies were named in (the first is the system's own).
CREATE TABLE vdxp_system_agencies (
    system_id   TEXT NOT NULL REFERENCES vdxp_systems (system_id),
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    position    INTEGER NOT NULL,
    PRIMARY KEY (system_id, agency_code)
);

-- One row per (message, recipient, report): a replayed updateStatus adds nothing.
-- message_id is a document's axis_id or a status's status_id.
CREATE TABLE vdxp_reports (
    message_id     TEXT NOT NULL,
    recipient_code TEXT NOT NULL REFERENCES agencies (code),
    report         TEXT NOT NULL CHECK (report IN ('processing', 'done', 'fail')),
    at             TEXT NOT NULL,
    PRIMARY KEY (message_id, recipient_code, report)
);
