-- 0007 (PostgreSQL): the twin of the SQLite 0007. Every axis node holds the
-- agency registry in memory (store/registry_cache.py) and reloads it when this
-- counter moves. Statement triggers bump it in the same transaction as every
-- change to agencies, their codes, certificates and tokens, whoever makes it.

CREATE TABLE registry_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO registry_version (id, version) VALUES (1, 0);

CREATE FUNCTION bump_registry_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER agencies_registry_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agencies
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();

CREATE TRIGGER agency_codes_registry_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agency_codes
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();

CREATE TRIGGER certificates_registry_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON certificates
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();

CREATE TRIGGER tokens_registry_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tokens
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version();
