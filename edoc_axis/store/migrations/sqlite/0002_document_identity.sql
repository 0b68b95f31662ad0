-- 0002: one identity rule for every business type, and recall rounds (issue 13).
--
-- A document of any business type is (sender, DocumentId). Replacements (type 3)
-- and revokes/updates sent under a DocumentId of their own were keyed by
-- "DocumentId#type:sha256" before; they take their DocumentId as key now, like a
-- new document, so that statuses find them and a re-use conflicts. Revokes and
-- updates sent under the DocumentId they act on (the reference SDK's habit) keep
-- their key: they are messages about that document, not documents.
-- A row an earlier version accepted in conflict (a second replacement under the
-- same DocumentId, or one reusing a new document's DocumentId) keeps its old key,
-- so the first holder of the DocumentId stays the document.
UPDATE documents SET idempotency_key = document_id
WHERE kind = 'document' AND business_type > 0
    AND (references_document_id IS NULL OR references_document_id != document_id)
    AND seq = (
        SELECT MIN(o.seq) FROM documents o
        WHERE o.sender_code = documents.sender_code AND o.document_id = documents.document_id
            AND o.kind = 'document'
            AND (o.business_type = 0 OR o.references_document_id IS NULL
                 OR o.references_document_id != o.document_id))
    AND NOT EXISTS (
        SELECT 1 FROM documents o
        WHERE o.sender_code = documents.sender_code AND o.idempotency_key = documents.document_id);

-- Every message that carries a document identity (the document and the revokes
-- and updates sent under its DocumentId), for status lookups.
CREATE INDEX documents_by_document_id ON documents (sender_code, document_id)
    WHERE kind = 'document';

-- A recall (13) and its answer (15/16) belong to a numbered round per document
-- and recipient; one 13 and one answer per round is the database's job, so two
-- answers racing each other cannot both be stored. Rows from before this
-- migration have no round (NULL) and are numbered by their order when read.
ALTER TABLE statuses ADD COLUMN recall_round INTEGER;
CREATE UNIQUE INDEX statuses_one_recall_per_round ON statuses (axis_id, to_code, recall_round)
    WHERE status_code = '13' AND recall_round IS NOT NULL;
CREATE UNIQUE INDEX statuses_one_answer_per_round ON statuses (axis_id, from_code, recall_round)
    WHERE status_code IN ('15', '16') AND recall_round IS NOT NULL;
