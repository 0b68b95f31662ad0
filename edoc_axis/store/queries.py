"""Named SQL for the SQLite backend. Nothing outside edoc_axis.store sees SQL.

Parameters are named (``:name``), so each statement reads on its own.
"""

from __future__ import annotations

from edoc_axis.store.records import ACTIVITY_EVENTS

# -- registry -----------------------------------------------------------------
INSERT_AGENCY = """
INSERT INTO agencies (code, name, state, delivery_mode, endpoint_url, created_at, test, peer)
VALUES (:code, :name, 'active', :mode, :url, :at, :test, :peer)"""
INSERT_AGENCY_CODE = """
INSERT INTO agency_codes (code, agency_code, is_canonical) VALUES (:code, :agency, :canonical)"""
RESOLVE_CODE = "SELECT agency_code FROM agency_codes WHERE code = :code"
SELECT_AGENCY = "SELECT * FROM agencies WHERE code = :code"
SELECT_ALL_AGENCIES = "SELECT * FROM agencies ORDER BY code"
SELECT_ALIASES = """
SELECT code FROM agency_codes WHERE agency_code = :code AND is_canonical = 0 ORDER BY code"""
SELECT_FINGERPRINTS = """
SELECT fingerprint FROM certificates WHERE agency_code = :code ORDER BY fingerprint"""
UPDATE_AGENCY_STATE = "UPDATE agencies SET state = :state WHERE code = :code"
UPDATE_AGENCY_ENDPOINT = """
UPDATE agencies SET delivery_mode = :mode, endpoint_url = :url WHERE code = :code"""
# Deliveries not yet handed over follow the agency's new mode, so push workers
# never pick up work for an agency that now pulls (and vice versa).
UPDATE_PENDING_MODE = """
UPDATE deliveries SET mode = :mode
WHERE recipient_code = :code AND state IN ('pending', 'dead')"""
INSERT_CERTIFICATE = """
INSERT INTO certificates (fingerprint, agency_code, pem, added_at)
VALUES (:fingerprint, :code, :pem, :at)"""
DELETE_CERTIFICATE = """
DELETE FROM certificates WHERE fingerprint = :fingerprint AND agency_code = :code"""
AGENCY_OF_CERTIFICATE = "SELECT agency_code FROM certificates WHERE fingerprint = :fingerprint"
CERTIFICATE_PEM = "SELECT pem FROM certificates WHERE fingerprint = :fingerprint"
INSERT_BEARER_HASH = (
    "INSERT INTO tokens (token_hash, agency_code, issued_at) VALUES (:token_hash, :code, :at)"
)
REVOKE_BEARER_HASHES = """
UPDATE tokens SET revoked_at = :at WHERE agency_code = :code AND revoked_at IS NULL"""
AGENCY_OF_BEARER_HASH = (
    "SELECT agency_code FROM tokens WHERE token_hash = :token_hash AND revoked_at IS NULL"
)
# The whole registry for the in-memory snapshot (registry_cache), version first.
REGISTRY_VERSION = "SELECT version FROM registry_version WHERE id = 1"
ALL_ALIASES = (
    "SELECT code, agency_code FROM agency_codes WHERE is_canonical = 0 ORDER BY agency_code, code"
)
ALL_FINGERPRINTS = (
    "SELECT fingerprint, agency_code FROM certificates ORDER BY agency_code, fingerprint"
)
LIVE_TOKENS = "SELECT token_hash, agency_code FROM tokens WHERE revoked_at IS NULL"
LIVE_TOKENS_OF = "SELECT token_hash FROM tokens WHERE agency_code = :code AND revoked_at IS NULL"

# -- documents ----------------------------------------------------------------
INSERT_BLOB = """
INSERT INTO blobs (sha256, size, data) VALUES (:sha256, :size, :data)
ON CONFLICT (sha256) DO NOTHING"""
BLOB_ROWID = "SELECT rowid FROM blobs WHERE sha256 = :sha256"
INSERT_EMPTY_BLOB = """
INSERT INTO blobs (sha256, size, data) VALUES (:sha256, :size, zeroblob(:size))
ON CONFLICT (sha256) DO NOTHING"""
INSERT_DOCUMENT = """
INSERT INTO documents (axis_id, sender_code, document_id, idempotency_key, kind, business_type,
    references_document_id, subject, sha256, received_at, receipt, legacy_policy, relay_path)
VALUES (:axis_id, :sender_code, :document_id, :idempotency_key, :kind, :business_type,
    :references_document_id, :subject, :sha256, :received_at, :receipt, :legacy_policy,
    :relay_path)"""
_DOCUMENT_COLUMNS = """
SELECT d.seq, d.axis_id, d.sender_code, d.document_id, d.kind, d.business_type,
    d.references_document_id, d.subject, d.sha256, b.size, d.received_at, d.receipt,
    d.legacy_policy, d.relay_path
FROM documents d JOIN blobs b ON b.sha256 = d.sha256"""
DOCUMENT_BY_AXIS_ID = _DOCUMENT_COLUMNS + " WHERE d.axis_id = :axis_id"
DOCUMENT_BY_KEY = (
    _DOCUMENT_COLUMNS + " WHERE d.sender_code = :sender_code AND d.idempotency_key = :document_id"
)
# Newest first, through documents_sent (migration 0011): reads only what it answers.
LATEST_SENT = (
    _DOCUMENT_COLUMNS
    + " WHERE d.sender_code = :sender_code AND d.kind = :kind ORDER BY d.seq DESC LIMIT :limit"
)
DOCUMENTS_SENT_BY = (
    _DOCUMENT_COLUMNS
    + " WHERE d.sender_code = :sender_code AND d.seq > :after ORDER BY d.seq LIMIT :limit"
)
RECIPIENTS_OF = """
SELECT recipient_code FROM deliveries WHERE document_seq = :seq ORDER BY id"""
DOCUMENT_BYTES = """
SELECT b.data FROM documents d JOIN blobs b ON b.sha256 = d.sha256 WHERE d.axis_id = :axis_id"""
AGENCY_MODE = "SELECT delivery_mode FROM agencies WHERE code = :code"

# -- deliveries ---------------------------------------------------------------
INSERT_DELIVERY = """
INSERT INTO deliveries (document_seq, recipient_code, mode, state, attempts,
    next_attempt_at, created_at)
VALUES (:seq, :recipient, :mode, 'pending', 0, :at, :at)"""
_DELIVERY_COLUMNS = """
SELECT v.*, d.axis_id FROM deliveries v JOIN documents d ON d.seq = v.document_seq"""
DELIVERY_BY_ID = _DELIVERY_COLUMNS + " WHERE v.id = :id"
DELIVERY_FOR = _DELIVERY_COLUMNS + " WHERE d.axis_id = :axis_id AND v.recipient_code = :recipient"
DELIVERIES_OF = _DELIVERY_COLUMNS + " WHERE d.axis_id = :axis_id ORDER BY v.id"
INBOX = """
SELECT v.id, v.state, v.attempts, d.axis_id, d.sender_code, d.document_id, d.kind,
    d.business_type, d.subject, d.sha256, b.size, d.received_at
FROM deliveries v
JOIN documents d ON d.seq = v.document_seq
JOIN blobs b ON b.sha256 = d.sha256
WHERE v.recipient_code = :recipient AND v.state IN ('pending', 'dead') AND v.id > :after
ORDER BY v.id LIMIT :limit"""
ACKNOWLEDGE = """
UPDATE deliveries SET state = 'acknowledged', acked_at = :at, lease_until = NULL,
    lease_owner = NULL
WHERE id = :id AND state != 'acknowledged'"""
# The literal state/mode terms let SQLite use the partial index deliveries_due.
DUE_DELIVERIES = """
SELECT v.id FROM deliveries v
WHERE v.state = 'pending' AND v.mode = 'push' AND v.next_attempt_at <= :now
    AND (v.lease_until IS NULL OR v.lease_until <= :now)
ORDER BY v.next_attempt_at, v.id LIMIT :limit"""
LEASE_DELIVERY = """
UPDATE deliveries SET attempts = attempts + 1, lease_until = :lease_until,
    lease_owner = :worker
WHERE id = :id"""
CLAIM_DETAILS = """
SELECT v.id, v.attempts, v.recipient_code, v.lease_until, d.axis_id, d.sender_code,
    d.document_id, d.sha256, a.endpoint_url
FROM deliveries v
JOIN documents d ON d.seq = v.document_seq
JOIN agencies a ON a.code = v.recipient_code
WHERE v.id = :id"""
LEASE_OWNERS = """
SELECT DISTINCT lease_owner FROM deliveries
WHERE state = 'pending' AND lease_owner IS NOT NULL AND lease_until > :now"""
EXPIRE_LEASES = """
UPDATE deliveries SET lease_until = :now
WHERE lease_owner = :owner AND state = 'pending' AND lease_until > :now"""
# Fencing: only the attempt that holds the lease may write its outcome.
OUTCOME_DELIVERED = """
UPDATE deliveries SET state = 'delivered', delivered_at = :at, last_error = NULL,
    lease_until = NULL, lease_owner = NULL
WHERE id = :id AND attempts = :attempt AND state = 'pending' AND lease_owner IS NOT NULL"""
OUTCOME_RETRY = """
UPDATE deliveries SET next_attempt_at = :next_at, last_error = :error,
    lease_until = NULL, lease_owner = NULL
WHERE id = :id AND attempts = :attempt AND state = 'pending' AND lease_owner IS NOT NULL"""
OUTCOME_DEAD = """
UPDATE deliveries SET state = 'dead', last_error = :error, lease_until = NULL,
    lease_owner = NULL
WHERE id = :id AND attempts = :attempt AND state = 'pending' AND lease_owner IS NOT NULL"""
DEAD_LETTERS = (
    _DELIVERY_COLUMNS + " WHERE v.state = 'dead' AND v.id > :after ORDER BY v.id LIMIT :limit"
)
RETRY_DEAD = """
UPDATE deliveries SET state = 'pending', next_attempt_at = :at, lease_until = NULL,
    lease_owner = NULL
WHERE id = :id AND state = 'dead'"""
DISCARD_DEAD = "UPDATE deliveries SET state = 'discarded' WHERE id = :id AND state = 'dead'"
# The counts the triggers keep (migration 0010), not a COUNT over every delivery.
COUNT_BY_AGENCY_STATE = """
SELECT c.recipient_code, c.state, a.test, c.n
FROM delivery_counts c JOIN agencies a ON a.code = c.recipient_code
WHERE c.n <> 0"""
# The redundant IN in the two reads of pending deliveries below states the
# partial index deliveries_inbox's own condition: SQLite uses a partial index
# only for a query that states it, and without it these read every delivery
# ever made instead of the pending ones.
# Test agencies' deliveries (the conformance suite's) never raise the alarm.
OLDEST_PENDING = """
SELECT MIN(v.created_at) FROM deliveries v
WHERE v.state IN ('pending', 'dead') AND v.state = 'pending'
    AND v.recipient_code NOT IN (SELECT code FROM agencies WHERE test = 1)"""

# -- removing a test agency ---------------------------------------------------
# Every document it sent or was sent (status copies to push agencies included).
TEST_AGENCY_DOCUMENTS = """
SELECT seq, axis_id, sha256 FROM documents WHERE sender_code = :code
UNION
SELECT d.seq, d.axis_id, d.sha256 FROM documents d
JOIN deliveries v ON v.document_seq = d.seq WHERE v.recipient_code = :code"""
# The same when every document sent to it came from a test agency, which is the
# only case a removal goes ahead: found from the test agencies' own documents by
# key, not among every delivery ever made (CROSS JOIN keeps SQLite to that
# order). The counts kept for the figures (migration 0010) say whether all its
# deliveries are among them.
TEST_AGENCY_DOCUMENTS_FROM_TESTS = """
SELECT seq, axis_id, sha256 FROM documents WHERE sender_code = :code
UNION
SELECT d.seq, d.axis_id, d.sha256 FROM agencies a
CROSS JOIN documents d ON d.sender_code = a.code
CROSS JOIN deliveries v ON v.document_seq = d.seq AND v.recipient_code = :code
WHERE a.test = 1"""
DELIVERIES_FROM_TEST_AGENCIES = """
SELECT COUNT(*) FROM agencies a
CROSS JOIN documents d ON d.sender_code = a.code
CROSS JOIN deliveries v ON v.document_seq = d.seq AND v.recipient_code = :code
WHERE a.test = 1"""
DELIVERIES_TO = "SELECT COALESCE(SUM(n), 0) FROM delivery_counts WHERE recipient_code = :code"
# The agencies other than test agencies that one of those documents involves.
REAL_PARTIES_OF_DOCUMENT = """
SELECT a.code FROM documents d JOIN agencies a ON a.code = d.sender_code
WHERE d.seq = :seq AND a.test = 0
UNION
SELECT a.code FROM deliveries v JOIN agencies a ON a.code = v.recipient_code
WHERE v.document_seq = :seq AND a.test = 0"""
STATUS_SHAS_OF_DOCUMENT = "SELECT sha256 FROM statuses WHERE axis_id = :axis_id"
DELETE_STATUSES_OF_DOCUMENT = "DELETE FROM statuses WHERE axis_id = :axis_id"
DELETE_DELIVERIES_OF_DOCUMENT = "DELETE FROM deliveries WHERE document_seq = :seq"
DELETE_DOCUMENT = "DELETE FROM documents WHERE seq = :seq"
DELETE_UNUSED_BLOB = """
DELETE FROM blobs WHERE sha256 = :sha256
    AND NOT EXISTS (SELECT 1 FROM documents WHERE sha256 = :sha256)
    AND NOT EXISTS (SELECT 1 FROM statuses WHERE sha256 = :sha256)"""
# A test agency's VDXP traces: its reports, its bindings, and the systems it
# alone was bound to (the conformance suite's --vdxp --setup systems).
DELETE_AGENCY_VDXP_REPORTS = "DELETE FROM vdxp_reports WHERE recipient_code = :code"
DELETE_AGENCY_VDXP_BINDINGS = "DELETE FROM vdxp_system_agencies WHERE agency_code = :code"
DELETE_UNBOUND_VDXP_SYSTEMS = """
DELETE FROM vdxp_systems WHERE NOT EXISTS (
    SELECT 1 FROM vdxp_system_agencies b WHERE b.system_id = vdxp_systems.system_id)"""
DELETE_AGENCY_TOKENS = "DELETE FROM tokens WHERE agency_code = :code"
DELETE_AGENCY_CERTIFICATES = "DELETE FROM certificates WHERE agency_code = :code"
DELETE_AGENCY_CODES = "DELETE FROM agency_codes WHERE agency_code = :code"
DELETE_AGENCY = "DELETE FROM agencies WHERE code = :code AND test = 1"

BUSINESS_FOLLOWUPS = (
    _DOCUMENT_COLUMNS
    + " WHERE d.sender_code = :sender_code AND d.references_document_id = :document_id"
    + " AND d.business_type > 0 ORDER BY d.seq"
)

# -- statuses -----------------------------------------------------------------
# IS (not =) so that "no status yet" compares equal to NULL.
CAS_STATUS = """
UPDATE deliveries SET status_code = :new, status_at = :at
WHERE id = :id AND status_code IS :expected"""
INSERT_STATUS = """
INSERT INTO statuses (status_id, axis_id, from_code, to_code, kind, status_code, sha256,
    timestamp, received_at, recall_round)
VALUES (:status_id, :axis_id, :from_code, :to_code, :kind, :status_code, :sha256,
    :timestamp, :received_at, :recall_round)"""
_STATUS_COLUMNS = """
SELECT s.*, d.document_id FROM statuses s JOIN documents d ON d.axis_id = s.axis_id"""
STATUS_BY_ID = _STATUS_COLUMNS + " WHERE s.status_id = :status_id"
STATUSES_FOR = (
    _STATUS_COLUMNS + " WHERE s.to_code = :code AND s.seq > :after ORDER BY s.seq LIMIT :limit"
)
STATUSES_OF = _STATUS_COLUMNS + " WHERE s.axis_id = :axis_id ORDER BY s.seq"
STATUS_SEQ = "SELECT seq FROM statuses WHERE status_id = :status_id"
STATUS_BYTES = """
SELECT b.data FROM statuses s JOIN blobs b ON b.sha256 = s.sha256
WHERE s.status_id = :status_id"""

# -- audit --------------------------------------------------------------------
INSERT_AUDIT = """
INSERT INTO audit_log (seq, at, event, axis_id, agency, detail, prev_hash, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
SELECT_AUDIT_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"
UPDATE_AUDIT_HEAD = "UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1"
AUDIT_BATCH = """
SELECT seq, at, event, axis_id, agency, detail, prev_hash, hash FROM audit_log
WHERE seq > ? ORDER BY seq LIMIT ?"""
AUDIT_ALL = """
SELECT seq, at, event, axis_id, agency, detail, prev_hash, hash FROM audit_log ORDER BY seq"""

# -- operator statistics -------------------------------------------------------
# Audit times are fixed-width UTC text, so the first 13 characters name the hour.
ACTIVITY = (
    """
SELECT substr(at, 1, 13) AS hour, agency, event,
    CASE WHEN event = 'document.refused' THEN json_extract(detail, '$.code') END AS code,
    COUNT(*) AS n
FROM audit_log
WHERE at >= :since AND at < :until AND event IN ("""
    + ", ".join(f"'{e}'" for e in ACTIVITY_EVENTS)
    + """)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4"""
)
PENDING_BY_RECIPIENT = """
SELECT recipient_code, COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries
WHERE state IN ('pending', 'dead') AND state = 'pending'
GROUP BY recipient_code ORDER BY recipient_code"""
