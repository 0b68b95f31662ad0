"""PostgreSQL migrations 0002/0003 (issue 13): a database of the previous schema
migrates cleanly, as test_store_identity_migration.py shows for SQLite.

The re-keying UPDATE runs under PostgreSQL's row-by-row unique check here, so
this shows it never trips over the (sender, key) unique key either.
"""

from __future__ import annotations

import dataclasses
import secrets

import asyncpg
import pytest

from edoc_axis.errors import DocumentConflict, StatusTransition
from edoc_axis.store import postgresql
from edoc_axis.store.migrate import bundled_migrations
from edoc_axis.store.postgresql import PostgresStore
from tests.integration.store.conftest import PULL, SENDER, DocFactory, at, make_status

# name: (DocumentId, business type, references, old idempotency key form)
_ROWS: dict[str, tuple[str, int, str | None, str]] = {
    "orig": ("G01-ORIG", 0, None, "plain"),
    "repl": ("G01-REPL", 3, "G01-ORIG", "typed"),
    "repl_again": ("G01-REPL", 3, "G01-ORIG", "typed"),  # accepted in conflict before
    "reuse": ("G01-ORIG", 3, "G01-OTHER", "typed"),  # replacement re-using a new doc's id
    "revoke": ("G01-ORIG", 1, "G01-ORIG", "typed"),  # the SDK's revoke: a message
    "update": ("G01-UPD", 2, "G01-ORIG", "typed"),  # an update with its own DocumentId
}

_LENT_COUNT_TABLES = """
CREATE TABLE delivery_counts (recipient_code TEXT, state TEXT, n BIGINT,
    PRIMARY KEY (recipient_code, state));
CREATE TABLE delivery_count_changes (txid BIGINT, recipient_code TEXT, state TEXT, delta INT)"""


async def _old_database(
    dsn: str, schema: str, make_doc: DocFactory, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A schema at version 1 holding the keys and statuses the previous version wrote."""
    monkeypatch.setattr(
        postgresql, "bundled_migrations", lambda dialect: bundled_migrations(dialect)[:1]
    )
    ids: dict[str, str] = {}
    async with PostgresStore(dsn, schema=schema, migrate=True, listen=False) as old:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        try:
            for code in (SENDER, PULL):
                await conn.execute(
                    "INSERT INTO agencies (code, name, state, delivery_mode, created_at)"
                    " VALUES ($1, $2, 'active', 'pull', $3)",
                    code,
                    f"Agency {code}",
                    at(0),
                )
                await conn.execute("INSERT INTO agency_codes VALUES ($1, $1, true)", code)
            # Today's writer names relay_path (0008): lend the old schema the column
            # while it writes, and take it away before the migrations run.
            await conn.execute("ALTER TABLE documents ADD COLUMN relay_path TEXT")
            # ... and folds delivery count changes as it commits (0010): the tables,
            # without the triggers that would fill them.
            await conn.execute(_LENT_COUNT_TABLES)
            for n, (name, (document_id, business, references, form)) in enumerate(_ROWS.items()):
                doc = make_doc(document_id, recipients=(PULL,), body=name, received_at=at(n))
                key = document_id if form == "plain" else f"{document_id}#{business}:{doc.sha256}"
                doc = dataclasses.replace(
                    doc,
                    business_type=business,
                    references_document_id=references,
                    idempotency_key=key,
                )
                ids[name] = (await old.accept_document(doc)).document.axis_id
            # a recall answered twice, as the previous version allowed
            for n, code in enumerate(("13", "16", "15")):
                status = make_status(
                    ids["orig"],
                    code,
                    status_id=f"old-{code}",
                    from_code=SENDER if code == "13" else PULL,
                    to_code=PULL if code == "13" else SENDER,
                    received_at=at(10 + n),
                )
                await conn.execute(
                    "INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3)",
                    status.sha256,
                    len(status.raw),
                    status.raw,
                )
                await conn.execute(
                    "INSERT INTO statuses (status_id, axis_id, from_code, to_code, kind,"
                    " status_code, sha256, timestamp, received_at)"
                    " VALUES ($1, $2, $3, $4, 'status', $5, $6, $7, $8)",
                    status.status_id,
                    status.axis_id,
                    status.from_code,
                    status.to_code,
                    code,
                    status.sha256,
                    status.timestamp,
                    status.received_at,
                )
            await conn.execute("ALTER TABLE documents DROP COLUMN relay_path")
            await conn.execute("DROP TABLE delivery_counts, delivery_count_changes")
        finally:
            await conn.close()
    monkeypatch.undo()
    return ids


async def test_a_database_of_the_previous_schema_migrates(
    postgres_dsn: str, make_doc: DocFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = f"m_{secrets.token_hex(6)}"
    ids = await _old_database(postgres_dsn, schema, make_doc, monkeypatch)
    store = PostgresStore(postgres_dsn, schema=schema, listen=False)
    # what `edoc-axis migrate` applies and reports: every migration after the first
    assert await store.migrate() == [m.version for m in bundled_migrations("postgresql")][1:]
    async with store:
        assert (await store.get_agency(SENDER)).test is False  # type: ignore[union-attr]  # 0003
        found = {
            document_id: (await store.find_document(SENDER, document_id))
            for document_id in ("G01-ORIG", "G01-REPL", "G01-UPD")
        }
        assert {k: v.axis_id if v else None for k, v in found.items()} == {
            "G01-ORIG": ids["orig"],
            "G01-REPL": ids["repl"],  # the first holder of the DocumentId
            "G01-UPD": ids["update"],
        }
        # The revoke under the original's DocumentId is still a follow-up message of it.
        followups = await store.business_followups(SENDER, "G01-ORIG")
        assert [f.axis_id for f in followups] == [
            ids["repl"],
            ids["repl_again"],
            ids["revoke"],
            ids["update"],
        ]
        # Re-using the replacement's DocumentId now conflicts.
        with pytest.raises(DocumentConflict):
            await store.accept_document(make_doc("G01-REPL", recipients=(PULL,), body="new"))
        old = await store.statuses_of(ids["orig"])
        assert [(s.status_code, s.recall_round) for s in old] == [
            ("13", None),
            ("16", None),
            ("15", None),
        ]
        # New rounds are numbered and held to one 13 and one answer each.
        recall = dataclasses.replace(
            make_status(ids["orig"], "13", status_id="new-13", from_code=SENDER, to_code=PULL),
            recall_round=2,
        )
        await store.record_status(recall, None, updates_progress=False)
        answer = dataclasses.replace(
            make_status(ids["orig"], "15", status_id="new-15"), recall_round=2
        )
        await store.record_status(answer, None, updates_progress=False)
        again = dataclasses.replace(
            make_status(ids["orig"], "16", status_id="new-16"), recall_round=2
        )
        with pytest.raises(StatusTransition):
            await store.record_status(again, None, updates_progress=False)
        assert (await store.get_status("new-15")).recall_round == 2  # type: ignore[union-attr]
        assert (await store.verify_audit()).ok
    conn = await asyncpg.connect(postgres_dsn, server_settings={"search_path": schema})
    try:
        versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        indexes = {
            r[0]
            for r in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = $1", schema
            )
        }
    finally:
        await conn.close()
    assert sorted(versions) == [m.version for m in bundled_migrations("postgresql")]
    assert {
        "documents_by_document_id",
        "statuses_one_recall_per_round",
        "statuses_one_answer_per_round",
    } <= indexes
