-- 0006: the operator statistics (GET /admin/v1/stats, /metrics, the console)
-- read the audit log by time range (at >= since AND at < until); without an
-- index every request walked the whole log.

CREATE INDEX audit_log_at ON audit_log (at);
