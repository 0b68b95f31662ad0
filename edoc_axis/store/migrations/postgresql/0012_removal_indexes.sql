-- 0012: removing a test agency (the conformance suite's cleanup) reads by key.
-- For each body of a removed document it asked whether any document or status
-- still uses it, and with no index on sha256 each question read every
-- document and every status, inside the write transaction (on PostgreSQL the
-- foreign keys' own check on the blob's removal did the same). The agency's
-- VDXP reports were a scan of all reports too.
CREATE INDEX documents_by_sha256 ON documents (sha256);
CREATE INDEX statuses_by_sha256 ON statuses (sha256);
CREATE INDEX vdxp_reports_by_recipient ON vdxp_reports (recipient_code);
