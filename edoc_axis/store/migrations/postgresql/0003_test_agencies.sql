-- 0003 (PostgreSQL): the twin of the SQLite 0003. Test agencies (issue 13): the
-- conformance suite registers its agencies as test agencies; their deliveries
-- never count in the alarm figures (stats by state, oldest undelivered), and the
-- operator can remove them with everything they sent and received
-- (Store.remove_test_agency), which no other agency allows.
ALTER TABLE agencies ADD COLUMN test BOOLEAN NOT NULL DEFAULT false;
