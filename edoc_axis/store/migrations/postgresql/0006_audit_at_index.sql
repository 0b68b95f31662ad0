-- 0006 (PostgreSQL): the twin of the SQLite 0006. The operator statistics
-- (GET /admin/v1/stats, /metrics, the console) read the audit log by time
-- range (at >= since AND at < until); without an index every request walked
-- the whole log. Built in the migration's transaction: on a large log it takes
-- a while, and audit appends wait for it (run `edoc-axis migrate` in a quiet hour).

CREATE INDEX audit_log_at ON audit_log (at);
