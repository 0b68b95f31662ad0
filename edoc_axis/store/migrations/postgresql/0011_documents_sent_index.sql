-- 0011: an agency's latest documents found from its newest backwards
-- (getSentEdocList), instead of every document it ever sent read oldest first
-- to keep the last few hundred. The kind leads: an index led by sender_code
-- would tie, for a plan made on an empty table, with the unique
-- (sender_code, idempotency_key) of the lookup by key, and PostgreSQL chose
-- this one and filtered every document of the sender
-- (tests/integration/store/test_store_pg_plans.py).
CREATE INDEX documents_sent ON documents (kind, sender_code, seq);
