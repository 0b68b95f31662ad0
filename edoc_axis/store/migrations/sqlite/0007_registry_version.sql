-- 0007: the registry version (issue 15). Every axis process holds the agency
-- registry in memory (store/registry_cache.py) and reloads it when this counter
-- moves. Triggers bump it in the same transaction as every change to agencies,
-- their codes, certificates and tokens, whoever makes it.

CREATE TABLE registry_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO registry_version (id, version) VALUES (1, 0);

CREATE TRIGGER agencies_insert_registry_version AFTER INSERT ON agencies
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER agencies_update_registry_version AFTER UPDATE ON agencies
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER agencies_delete_registry_version AFTER DELETE ON agencies
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER agency_codes_insert_registry_version AFTER INSERT ON agency_codes
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER agency_codes_update_registry_version AFTER UPDATE ON agency_codes
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER agency_codes_delete_registry_version AFTER DELETE ON agency_codes
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER certificates_insert_registry_version AFTER INSERT ON certificates
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER certificates_update_registry_version AFTER UPDATE ON certificates
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER certificates_delete_registry_version AFTER DELETE ON certificates
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER tokens_insert_registry_version AFTER INSERT ON tokens
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER tokens_update_registry_version AFTER UPDATE ON tokens
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER tokens_delete_registry_version AFTER DELETE ON tokens
BEGIN
    UPDATE registry_version SET version = version + 1 WHERE id = 1;
END;
