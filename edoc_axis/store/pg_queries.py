"""Named SQL for the PostgreSQL backend (asyncpg: positional ``$n`` parameters).

The statements mirror queries.py; where they differ it is for several nodes:
claims skip rows another node has locked, conflicts are resolved by ON CONFLICT
rather than by one writer, and updates that decide a race say what they changed
(RETURNING) so only the winner writes an audit event.
"""

from __future__ import annotations

from edoc_axis.store.records import ACTIVITY_EVENTS

WORK_CHANNEL = "edoc_axis_work"
"""NOTIFY channel: push work became due (a document accepted, a dead letter requeued)."""

# -- registry -----------------------------------------------------------------
INSERT_AGENCY = """
INSERT INTO agencies (code, name, state, delivery_mode, endpoint_url, created_at, test, peer)
VALUES ($1, $2, 'active', $3, $4, $5, $6, $7)"""
INSERT_AGENCY_CODE = (
    "INSERT INTO agency_codes (code, agency_code, is_canonical) VALUES ($1, $2, $3)"
)
RESOLVE_CODE = "SELECT agency_code FROM agency_codes WHERE code = $1"
SELECT_AGENCY = "SELECT * FROM agencies WHERE code = $1"
SELECT_ALL_AGENCY_CODES = "SELECT code FROM agencies ORDER BY code"
SELECT_ALIASES = """
SELECT code FROM agency_codes WHERE agency_code = $1 AND NOT is_canonical ORDER BY code"""
SELECT_FINGERPRINTS = (
    "SELECT fingerprint FROM certificates WHERE agency_code = $1 ORDER BY fingerprint"
)
UPDATE_AGENCY_STATE = "UPDATE agencies SET state = $2 WHERE code = $1"
UPDATE_AGENCY_ENDPOINT = "UPDATE agencies SET delivery_mode = $2, endpoint_url = $3 WHERE code = $1"
UPDATE_PENDING_MODE = """
WITH moved AS (
    UPDATE deliveries SET mode = $2
    WHERE recipient_code = $1 AND state IN ('pending', 'dead') RETURNING 1)
SELECT count(*) FROM moved"""
INSERT_CERTIFICATE = """
INSERT INTO certificates (fingerprint, agency_code, pem, added_at) VALUES ($1, $2, $3, $4)"""
DELETE_CERTIFICATE = """
DELETE FROM certificates WHERE fingerprint = $1 AND agency_code = $2 RETURNING fingerprint"""
AGENCY_OF_CERTIFICATE = "SELECT agency_code FROM certificates WHERE fingerprint = $1"
CERTIFICATE_PEM = "SELECT pem FROM certificates WHERE fingerprint = $1"
INSERT_BEARER_HASH = """
INSERT INTO tokens (token_hash, agency_code, issued_at) VALUES ($1, $2, $3)
ON CONFLICT (token_hash) DO NOTHING RETURNING token_hash"""
REVOKE_BEARER_HASHES = """
WITH revoked AS (
    UPDATE tokens SET revoked_at = $2 WHERE agency_code = $1 AND revoked_at IS NULL
    RETURNING 1)
SELECT count(*) FROM revoked"""
AGENCY_OF_BEARER_HASH = (
    "SELECT agency_code FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL"
)
# The whole registry for the in-memory snapshot (registry_cache), version first.
REGISTRY_VERSION = "SELECT version FROM registry_version WHERE id = 1"
SELECT_ALL_AGENCIES = "SELECT * FROM agencies ORDER BY code"
ALL_ALIASES = (
    "SELECT code, agency_code FROM agency_codes WHERE NOT is_canonical ORDER BY agency_code, code"
)
ALL_FINGERPRINTS = (
    "SELECT fingerprint, agency_code FROM certificates ORDER BY agency_code, fingerprint"
)
LIVE_TOKENS = "SELECT token_hash, agency_code FROM tokens WHERE revoked_at IS NULL"
LIVE_TOKENS_OF = "SELECT token_hash FROM tokens WHERE agency_code = $1 AND revoked_at IS NULL"

# -- documents ----------------------------------------------------------------
INSERT_BLOB = """
INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING"""
BLOB_EXISTS = "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1)"
BLOB_PIECE = "SELECT substring(data FROM $2 FOR $3) FROM blobs WHERE sha256 = $1"
# Two nodes inserting the same (sender, key): the second waits for the first to
# commit, then inserts nothing and reads the original.
INSERT_DOCUMENT = """
INSERT INTO documents (axis_id, sender_code, document_id, idempotency_key, kind, business_type,
    references_document_id, subject, sha256, received_at, receipt, legacy_policy, relay_path)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (sender_code, idempotency_key) DO NOTHING
RETURNING seq"""
_DOCUMENT_COLUMNS = """
SELECT d.seq, d.axis_id, d.sender_code, d.document_id, d.kind, d.business_type,
    d.references_document_id, d.subject, d.sha256, b.size, d.received_at, d.receipt,
    d.legacy_policy, d.relay_path,
    ARRAY(SELECT v.recipient_code FROM deliveries v WHERE v.document_seq = d.seq
          ORDER BY v.id) AS recipients
FROM documents d JOIN blobs b ON b.sha256 = d.sha256"""
DOCUMENT_BY_AXIS_ID = _DOCUMENT_COLUMNS + " WHERE d.axis_id = $1"
DOCUMENT_BY_KEY = _DOCUMENT_COLUMNS + " WHERE d.sender_code = $1 AND d.idempotency_key = $2"
# Newest first, through documents_sent (migration 0011): reads only what it answers.
LATEST_SENT = (
    _DOCUMENT_COLUMNS + " WHERE d.sender_code = $1 AND d.kind = $2 ORDER BY d.seq DESC LIMIT $3"
)
DOCUMENTS_SENT_BY = (
    _DOCUMENT_COLUMNS + " WHERE d.sender_code = $1 AND d.seq > $2 ORDER BY d.seq LIMIT $3"
)
BUSINESS_FOLLOWUPS = (
    _DOCUMENT_COLUMNS
    + " WHERE d.sender_code = $1 AND d.references_document_id = $2"
    + " AND d.business_type > 0 ORDER BY d.seq"
)
DOCUMENT_BYTES = """
SELECT b.data FROM documents d JOIN blobs b ON b.sha256 = d.sha256 WHERE d.axis_id = $1"""
AGENCY_MODES = "SELECT code, delivery_mode FROM agencies WHERE code = ANY($1::text[])"

# -- deliveries ---------------------------------------------------------------
INSERT_DELIVERIES = """
INSERT INTO deliveries (document_seq, recipient_code, mode, state, attempts,
    next_attempt_at, created_at)
SELECT $1, r.code, r.mode, 'pending', 0, $4, $4
FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS r (code, mode, n)
ORDER BY r.n"""
_DELIVERY_COLUMNS = """
SELECT v.*, d.axis_id FROM deliveries v JOIN documents d ON d.seq = v.document_seq"""
DELIVERY_BY_ID = _DELIVERY_COLUMNS + " WHERE v.id = $1"
# The document's seq first, then the deliveries by their own key: with a filter
# on d.axis_id through the join, a plan cached while the tables were small
# scanned every delivery of the recipient on each call
# (tests/integration/store/test_store_pg_plans.py).
_DOCUMENT_SEQ = "(SELECT seq FROM documents WHERE axis_id = $1)"
DELIVERY_FOR = (
    _DELIVERY_COLUMNS + f" WHERE v.document_seq = {_DOCUMENT_SEQ} AND v.recipient_code = $2"
)
DELIVERIES_OF = _DELIVERY_COLUMNS + f" WHERE v.document_seq = {_DOCUMENT_SEQ} ORDER BY v.id"
INBOX = """
SELECT v.id, v.state, v.attempts, d.axis_id, d.sender_code, d.document_id, d.kind,
    d.business_type, d.subject, d.sha256, b.size, d.received_at
FROM deliveries v
JOIN documents d ON d.seq = v.document_seq
JOIN blobs b ON b.sha256 = d.sha256
WHERE v.recipient_code = $1 AND v.state IN ('pending', 'dead') AND v.id > $2
ORDER BY v.id LIMIT $3"""
ACKNOWLEDGE = """
UPDATE deliveries SET state = 'acknowledged', acked_at = $2, lease_until = NULL,
    lease_owner = NULL
WHERE id = $1 AND state != 'acknowledged'
RETURNING state"""
# Select, lock and lease in one statement; rows another node is leasing right
# now are skipped instead of waited for, so claimers never queue behind each other.
CLAIM_DUE = """
WITH due AS (
    SELECT id FROM deliveries
    WHERE state = 'pending' AND mode = 'push' AND next_attempt_at <= $1
        AND (lease_until IS NULL OR lease_until <= $1)
    ORDER BY next_attempt_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), leased AS (
    UPDATE deliveries v SET attempts = v.attempts + 1, lease_until = $3, lease_owner = $4
    FROM due WHERE v.id = due.id
    RETURNING v.id, v.attempts, v.recipient_code, v.lease_until, v.document_seq,
        v.next_attempt_at
)
SELECT l.id, l.attempts, l.recipient_code, l.lease_until, d.axis_id, d.sender_code,
    d.document_id, d.sha256, a.endpoint_url
FROM leased l
JOIN documents d ON d.seq = l.document_seq
JOIN agencies a ON a.code = l.recipient_code
ORDER BY l.next_attempt_at, l.id"""
LEASE_OWNERS = """
SELECT DISTINCT lease_owner FROM deliveries
WHERE state = 'pending' AND lease_owner IS NOT NULL AND lease_until > $1"""
EXPIRE_LEASES = """
WITH ended AS (
    UPDATE deliveries SET lease_until = $2
    WHERE lease_owner = $1 AND state = 'pending' AND lease_until > $2 RETURNING 1)
SELECT count(*) FROM ended"""
# Fencing: only the attempt that holds the lease may write its outcome.
_FENCE = "WHERE id = $1 AND attempts = $2 AND state = 'pending' AND lease_owner IS NOT NULL"
OUTCOME_DELIVERED = (
    """
UPDATE deliveries SET state = 'delivered', delivered_at = $3, last_error = NULL,
    lease_until = NULL, lease_owner = NULL """
    + _FENCE
    + " RETURNING recipient_code, document_seq"
)
OUTCOME_RETRY = (
    """
UPDATE deliveries SET next_attempt_at = $3, last_error = $4,
    lease_until = NULL, lease_owner = NULL """
    + _FENCE
    + " RETURNING recipient_code, document_seq"
)
OUTCOME_DEAD = (
    """
UPDATE deliveries SET state = 'dead', last_error = $3, lease_until = NULL,
    lease_owner = NULL """
    + _FENCE
    + " RETURNING recipient_code, document_seq"
)
AXIS_ID_OF_SEQ = "SELECT axis_id FROM documents WHERE seq = $1"
DEAD_LETTERS = _DELIVERY_COLUMNS + " WHERE v.state = 'dead' AND v.id > $1 ORDER BY v.id LIMIT $2"
RETRY_DEAD = """
UPDATE deliveries SET state = 'pending', next_attempt_at = $2, lease_until = NULL,
    lease_owner = NULL
WHERE id = $1 AND state = 'dead' RETURNING id"""
DISCARD_DEAD = """
UPDATE deliveries SET state = 'discarded' WHERE id = $1 AND state = 'dead' RETURNING id"""
# The counts kept by the triggers (migration 0010) and the changes not folded
# into them yet, not a COUNT over every delivery.
COUNT_BY_AGENCY_STATE = """
SELECT c.recipient_code, c.state, a.test, c.n
FROM (
    SELECT recipient_code, state, SUM(n)::bigint AS n FROM (
        SELECT recipient_code, state, n FROM delivery_counts
        UNION ALL
        SELECT recipient_code, state, delta FROM delivery_count_changes
    ) AS parts
    GROUP BY recipient_code, state
) AS c
JOIN agencies a ON a.code = c.recipient_code
WHERE c.n <> 0"""
# A write transaction's own count changes, folded into the counts just before
# it commits: in key order, so two transactions folding at once take the rows'
# locks in the same order and never deadlock.
FOLD_DELIVERY_COUNTS = """
WITH mine AS (
    DELETE FROM delivery_count_changes WHERE txid = txid_current_if_assigned()
    RETURNING recipient_code, state, delta
)
INSERT INTO delivery_counts (recipient_code, state, n)
SELECT recipient_code, state, SUM(delta) FROM mine
GROUP BY recipient_code, state ORDER BY recipient_code, state
ON CONFLICT (recipient_code, state) DO UPDATE SET n = delivery_counts.n + EXCLUDED.n"""
# The redundant IN in the two reads of pending deliveries below states the
# partial index deliveries_inbox's own condition, as in queries.py.
# Test agencies' deliveries (the conformance suite's) never raise the alarm.
OLDEST_PENDING = """
SELECT MIN(v.created_at) FROM deliveries v
WHERE v.state IN ('pending', 'dead') AND v.state = 'pending'
    AND v.recipient_code NOT IN (SELECT code FROM agencies WHERE test)"""

# -- removing a test agency ---------------------------------------------------
# The agency's row, locked: a document accepted for it on another node meanwhile
# waits (its foreign key shares this row) and fails once the agency is gone.
LOCK_AGENCY = "SELECT test FROM agencies WHERE code = $1 FOR UPDATE"
# Every document it sent or was sent (status copies to push agencies included).
TEST_AGENCY_DOCUMENTS = """
SELECT seq, axis_id, sha256 FROM documents WHERE sender_code = $1
UNION
SELECT d.seq, d.axis_id, d.sha256 FROM documents d
JOIN deliveries v ON v.document_seq = d.seq WHERE v.recipient_code = $1
ORDER BY seq"""
# The same when every document sent to it came from a test agency (see queries.py).
TEST_AGENCY_DOCUMENTS_FROM_TESTS = """
SELECT seq, axis_id, sha256 FROM documents WHERE sender_code = $1
UNION
SELECT d.seq, d.axis_id, d.sha256 FROM agencies a
JOIN documents d ON d.sender_code = a.code
JOIN deliveries v ON v.document_seq = d.seq AND v.recipient_code = $1
WHERE a.test
ORDER BY seq"""
DELIVERIES_FROM_TEST_AGENCIES = """
SELECT COUNT(*) FROM agencies a
JOIN documents d ON d.sender_code = a.code
JOIN deliveries v ON v.document_seq = d.seq AND v.recipient_code = $1
WHERE a.test"""
DELIVERIES_TO = """
SELECT COALESCE(SUM(n), 0)::bigint FROM (
    SELECT n FROM delivery_counts WHERE recipient_code = $1
    UNION ALL
    SELECT delta FROM delivery_count_changes WHERE recipient_code = $1
) AS parts"""
# The agencies other than test agencies that one of those documents involves.
REAL_PARTIES_OF_DOCUMENT = """
SELECT a.code FROM documents d JOIN agencies a ON a.code = d.sender_code
WHERE d.seq = $1 AND NOT a.test
UNION
SELECT a.code FROM deliveries v JOIN agencies a ON a.code = v.recipient_code
WHERE v.document_seq = $1 AND NOT a.test"""
DELETE_STATUSES_OF_DOCUMENT = "DELETE FROM statuses WHERE axis_id = $1 RETURNING sha256"
DELETE_DELIVERIES_OF_DOCUMENT = "DELETE FROM deliveries WHERE document_seq = $1"
DELETE_DOCUMENT = "DELETE FROM documents WHERE seq = $1"
DELETE_UNUSED_BLOB = """
DELETE FROM blobs WHERE sha256 = $1
    AND NOT EXISTS (SELECT 1 FROM documents WHERE sha256 = $1)
    AND NOT EXISTS (SELECT 1 FROM statuses WHERE sha256 = $1)"""
# A test agency's VDXP traces: its reports, its bindings, and the systems it
# alone was bound to (the conformance suite's --vdxp --setup systems).
DELETE_AGENCY_VDXP_REPORTS = "DELETE FROM vdxp_reports WHERE recipient_code = $1"
DELETE_AGENCY_VDXP_BINDINGS = "DELETE FROM vdxp_system_agencies WHERE agency_code = $1"
DELETE_UNBOUND_VDXP_SYSTEMS = """
DELETE FROM vdxp_systems WHERE NOT EXISTS (
    SELECT 1 FROM vdxp_system_agencies b WHERE b.system_id = vdxp_systems.system_id)"""
DELETE_AGENCY_TOKENS = "DELETE FROM tokens WHERE agency_code = $1"
DELETE_AGENCY_CERTIFICATES = "DELETE FROM certificates WHERE agency_code = $1"
DELETE_AGENCY_CODES = "DELETE FROM agency_codes WHERE agency_code = $1"
DELETE_AGENCY = "DELETE FROM agencies WHERE code = $1 AND test"

# -- statuses -----------------------------------------------------------------
# IS NOT DISTINCT FROM: "no status yet" compares equal to NULL.
CAS_STATUS = """
UPDATE deliveries SET status_code = $2, status_at = $3
WHERE id = $1 AND status_code IS NOT DISTINCT FROM $4::text RETURNING id"""
INSERT_STATUS = """
INSERT INTO statuses (status_id, axis_id, from_code, to_code, kind, status_code, sha256,
    timestamp, received_at, recall_round)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (status_id) DO NOTHING RETURNING seq"""
_STATUS_COLUMNS = """
SELECT s.*, d.document_id FROM statuses s JOIN documents d ON d.axis_id = s.axis_id"""
STATUS_BY_ID = _STATUS_COLUMNS + " WHERE s.status_id = $1"
STATUSES_FOR = _STATUS_COLUMNS + " WHERE s.to_code = $1 AND s.seq > $2 ORDER BY s.seq LIMIT $3"
STATUSES_OF = _STATUS_COLUMNS + " WHERE s.axis_id = $1 ORDER BY s.seq"
STATUS_BYTES = """
SELECT b.data FROM statuses s JOIN blobs b ON b.sha256 = s.sha256 WHERE s.status_id = $1"""

# -- audit --------------------------------------------------------------------
# The row lock on the head serialises appends from every node: the chain stays
# one chain, its seq gap-free. Taken last in a transaction, held until commit.
LOCK_AUDIT_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
SELECT_AUDIT_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"
APPEND_AUDIT = """
WITH appended AS (
    INSERT INTO audit_log (seq, at, event, axis_id, agency, detail, prev_hash, hash)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
        $6::text[], $7::text[], $8::text[]))
UPDATE audit_head SET seq = $9, hash = $10 WHERE id = 1"""
AUDIT_BATCH = """
SELECT seq, at, event, axis_id, agency, detail, prev_hash, hash FROM audit_log
WHERE seq > $1 ORDER BY seq LIMIT $2"""
AUDIT_ALL = """
SELECT seq, at, event, axis_id, agency, detail, prev_hash, hash FROM audit_log ORDER BY seq"""
NOTIFY_WORK = "SELECT pg_notify($1, '')"

# -- operator statistics -------------------------------------------------------
# Audit times are fixed-width UTC text, so the first 13 characters name the hour.
ACTIVITY = (
    """
SELECT substr(at, 1, 13) AS hour, agency, event,
    CASE WHEN event = 'document.refused' THEN (detail::jsonb)->>'code' END AS code,
    COUNT(*) AS n
FROM audit_log
WHERE at >= $1 AND at < $2 AND event IN ("""
    + ", ".join(f"'{e}'" for e in ACTIVITY_EVENTS)
    + """)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4"""
)
PENDING_BY_RECIPIENT = """
SELECT recipient_code, COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries
WHERE state IN ('pending', 'dead') AND state = 'pending'
GROUP BY recipient_code ORDER BY recipient_code"""
