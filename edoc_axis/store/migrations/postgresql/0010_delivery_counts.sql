-- 0010: deliveries counted per recipient and state as they change. Every
-- /metrics scrape, `edoc-axis stats`, the console and the operator API read
-- these counts; a COUNT over the deliveries grows with every document ever
-- delivered, so a year of national traffic would have made each scrape a
-- long scan.
--
-- Several nodes change deliveries at once. A trigger updating a shared count
-- would hold its row from the change to COMMIT and make every transaction
-- wait for the one before it, so the trigger only appends the change
-- (delivery_count_changes, no row shared). Each write transaction folds its
-- own changes into delivery_counts just before it commits (PgWrite.finish:
-- after the audit head's lock, in key order, so folds never deadlock), and a
-- reader adds whatever changes are still unfolded, so the figures are exact
-- either way. Rows whose count fell to 0 stay and are skipped.
LOCK TABLE deliveries IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE delivery_counts (
    recipient_code TEXT NOT NULL,
    state          TEXT NOT NULL,
    n              BIGINT NOT NULL,
    PRIMARY KEY (recipient_code, state)
);
CREATE TABLE delivery_count_changes (
    id             BIGSERIAL PRIMARY KEY,
    txid           BIGINT NOT NULL DEFAULT txid_current(),
    recipient_code TEXT NOT NULL,
    state          TEXT NOT NULL,
    delta          INTEGER NOT NULL
);
CREATE INDEX delivery_count_changes_by_txid ON delivery_count_changes (txid);
INSERT INTO delivery_counts (recipient_code, state, n)
    SELECT recipient_code, state, COUNT(*) FROM deliveries GROUP BY recipient_code, state;
CREATE FUNCTION deliveries_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO delivery_count_changes (recipient_code, state, delta)
            VALUES (OLD.recipient_code, OLD.state, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO delivery_count_changes (recipient_code, state, delta)
            VALUES (NEW.recipient_code, NEW.state, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_counted AFTER INSERT OR DELETE ON deliveries
    FOR EACH ROW EXECUTE FUNCTION deliveries_counted();
CREATE TRIGGER deliveries_counted_on_update AFTER UPDATE OF recipient_code, state ON deliveries
    FOR EACH ROW
    WHEN (OLD.recipient_code IS DISTINCT FROM NEW.recipient_code
          OR OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION deliveries_counted();
