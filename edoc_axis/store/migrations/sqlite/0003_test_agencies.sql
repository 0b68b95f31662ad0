-- 0003: test agencies (issue 13). The conformance suite registers its agencies
-- as test agencies: their deliveries never count in the alarm figures (stats by
-- state, oldest undelivered), and the operator can remove them with everything
-- they sent and received (Store.remove_test_agency), which no other agency allows.
ALTER TABLE agencies ADD COLUMN test INTEGER NOT NULL DEFAULT 0 CHECK (test IN (0, 1));
