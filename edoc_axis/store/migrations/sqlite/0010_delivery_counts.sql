-- 0010: deliveries counted per recipient and state as they change. Every
-- /metrics scrape, `edoc-axis stats`, the console and the operator API read
-- these counts; a COUNT over the deliveries took 1.1 s per million of them,
-- so a year of national traffic would have made each scrape a long scan.
-- Triggers keep the counts in the transaction that changes a delivery,
-- whichever verb changes it; rows whose count fell to 0 stay and are skipped.
CREATE TABLE delivery_counts (
    recipient_code TEXT NOT NULL,
    state          TEXT NOT NULL,
    n              INTEGER NOT NULL,
    PRIMARY KEY (recipient_code, state)
);
INSERT INTO delivery_counts (recipient_code, state, n)
    SELECT recipient_code, state, COUNT(*) FROM deliveries GROUP BY recipient_code, state;
CREATE TRIGGER deliveries_counted_on_insert AFTER INSERT ON deliveries
BEGIN
    INSERT INTO delivery_counts (recipient_code, state, n)
        VALUES (NEW.recipient_code, NEW.state, 1)
        ON CONFLICT (recipient_code, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER deliveries_counted_on_update AFTER UPDATE OF recipient_code, state ON deliveries
    WHEN OLD.recipient_code IS NOT NEW.recipient_code OR OLD.state IS NOT NEW.state
BEGIN
    UPDATE delivery_counts SET n = n - 1
        WHERE recipient_code = OLD.recipient_code AND state = OLD.state;
    INSERT INTO delivery_counts (recipient_code, state, n)
        VALUES (NEW.recipient_code, NEW.state, 1)
        ON CONFLICT (recipient_code, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER deliveries_counted_on_delete AFTER DELETE ON deliveries
BEGIN
    UPDATE delivery_counts SET n = n - 1
        WHERE recipient_code = OLD.recipient_code AND state = OLD.state;
END;
