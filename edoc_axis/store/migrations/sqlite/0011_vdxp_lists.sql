-- 0011: VDXP's lists read what they answer, not an agency's whole history.
--
-- getSentEdocList: an agency's latest documents, and the latest statuses it
-- sent, found from its newest backwards (they were every document it ever
-- sent read oldest first, and a scan of every status). The kind leads: an
-- index led by the agency's code would tie, for a plan made on an empty
-- table, with unique indexes that start with it, and PostgreSQL chose it for
-- the lookup by key and filtered every document of the sender
-- (tests/integration/store/test_store_pg_plans.py).
CREATE INDEX documents_sent ON documents (kind, sender_code, seq);
CREATE INDEX statuses_sent ON statuses (kind, from_code, seq);
-- getReceivedEdocList for statuses: those addressed to an agency that it has
-- not reported `done` for. The query walked every status the agency ever
-- received, reported or not. reported_done is set by a trigger when the
-- addressee's `done` report is stored, and a partial index holds the others.
ALTER TABLE statuses ADD COLUMN reported_done INTEGER NOT NULL DEFAULT 0;
UPDATE statuses SET reported_done = 1 WHERE EXISTS (
    SELECT 1 FROM vdxp_reports r
    WHERE r.message_id = statuses.status_id AND r.recipient_code = statuses.to_code
        AND r.report = 'done');
CREATE INDEX statuses_unreported ON statuses (to_code, seq) WHERE reported_done = 0;
CREATE TRIGGER statuses_reported_done AFTER INSERT ON vdxp_reports
    WHEN NEW.report = 'done'
BEGIN
    UPDATE statuses SET reported_done = 1
        WHERE status_id = NEW.message_id AND to_code = NEW.recipient_code;
END;
