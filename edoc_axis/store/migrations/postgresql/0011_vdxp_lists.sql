-- 0011: VDXP's lists read what they answer, not an agency's whole history
-- (see the SQLite twin for each part).
CREATE INDEX documents_sent ON documents (kind, sender_code, seq);
CREATE INDEX statuses_sent ON statuses (kind, from_code, seq);
LOCK TABLE vdxp_reports IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE statuses ADD COLUMN reported_done BOOLEAN NOT NULL DEFAULT false;
UPDATE statuses SET reported_done = true WHERE EXISTS (
    SELECT 1 FROM vdxp_reports r
    WHERE r.message_id = statuses.status_id AND r.recipient_code = statuses.to_code
        AND r.report = 'done');
CREATE INDEX statuses_unreported ON statuses (to_code, seq) WHERE NOT reported_done;
CREATE FUNCTION statuses_reported_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE statuses SET reported_done = true
        WHERE status_id = NEW.message_id AND to_code = NEW.recipient_code;
    RETURN NULL;
END
$$;
CREATE TRIGGER statuses_reported_done AFTER INSERT ON vdxp_reports
    FOR EACH ROW WHEN (NEW.report = 'done') EXECUTE FUNCTION statuses_reported_done();
