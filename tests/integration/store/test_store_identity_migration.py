"""Migration 0002 (issue 13): a store written by the previous schema migrates cleanly.

Replacements and revokes/updates with a DocumentId of their own were keyed by
"DocumentId#type:sha256"; they are re-keyed by their DocumentId, except where an
earlier version accepted a conflicting re-use (the first holder keeps the
DocumentId). Revokes sent under the DocumentId they act on keep their key.
Statuses gain a recall round (NULL for the old ones) and the audit chain holds.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from edoc_axis.errors import DocumentConflict, StatusTransition
from edoc_axis.store import SqliteStore, sqlite_writer
from edoc_axis.store.migrate import bundled_migrations
from tests.integration.store.conftest import PULL, SENDER, DocFactory, at, make_status


async def _old_store(
    path: Path, make_doc: DocFactory, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A store at schema version 1 with the keys the previous intake wrote."""
    monkeypatch.setattr(
        sqlite_writer, "bundled_migrations", lambda dialect: bundled_migrations(dialect)[:1]
    )
    rows: dict[str, tuple[str, int, str | None, str]] = {
        # name: (DocumentId, business type, references, old idempotency key form)
        "orig": ("G01-ORIG", 0, None, "plain"),
        "repl": ("G01-REPL", 3, "G01-ORIG", "typed"),
        "repl_again": ("G01-REPL", 3, "G01-ORIG", "typed"),  # accepted in conflict before
        "reuse": ("G01-ORIG", 3, "G01-OTHER", "typed"),  # replacement re-using a new doc's id
        "revoke": ("G01-ORIG", 1, "G01-ORIG", "typed"),  # the SDK's revoke: a message
        "update": ("G01-UPD", 2, "G01-ORIG", "typed"),  # an update with its own DocumentId
    }
    ids: dict[str, str] = {}
    async with SqliteStore(path):
        pass  # schema version 1, written as the previous version wrote it
    db = sqlite3.connect(path)
    try:
        for code in (SENDER, PULL):
            db.execute(
                "INSERT INTO agencies (code, name, state, delivery_mode, created_at)"
                " VALUES (?, ?, 'active', 'pull', ?)",
                (code, f"Agency {code}", at(0).isoformat()),
            )
            db.execute("INSERT INTO agency_codes VALUES (?, ?, 1)", (code, code))
        # Today's writer names relay_path (0008): lend the old schema the column
        # while it writes, and take it away before the migrations run.
        db.execute("ALTER TABLE documents ADD COLUMN relay_path TEXT")
        db.commit()
    finally:
        db.close()
    async with SqliteStore(path) as old:
        for n, (name, (document_id, business, references, form)) in enumerate(rows.items()):
            doc = make_doc(document_id, recipients=(PULL,), body=name, received_at=at(n))
            key = document_id if form == "plain" else f"{document_id}#{business}:{doc.sha256}"
            doc = dataclasses.replace(
                doc,
                business_type=business,
                references_document_id=references,
                idempotency_key=key,
            )
            ids[name] = (await old.accept_document(doc)).document.axis_id
    db = sqlite3.connect(path)
    try:  # a recall answered twice, as the previous version allowed
        for n, code in enumerate(("13", "16", "15")):
            status = make_status(
                ids["orig"],
                code,
                status_id=f"old-{code}",
                from_code=SENDER if code == "13" else PULL,
                to_code=PULL if code == "13" else SENDER,
                received_at=at(10 + n),
            )
            db.execute(
                "INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?)",
                (status.sha256, len(status.raw), status.raw),
            )
            db.execute(
                "INSERT INTO statuses (status_id, axis_id, from_code, to_code, kind, status_code,"
                " sha256, timestamp, received_at) VALUES (?, ?, ?, ?, 'status', ?, ?, ?, ?)",
                (
                    status.status_id,
                    status.axis_id,
                    status.from_code,
                    status.to_code,
                    code,
                    status.sha256,
                    status.timestamp.isoformat(),
                    status.received_at.isoformat(),
                ),
            )
        db.execute("ALTER TABLE documents DROP COLUMN relay_path")
        db.commit()
    finally:
        db.close()
    monkeypatch.undo()
    return ids


async def test_a_store_of_the_previous_schema_migrates(
    tmp_path: Path, make_doc: DocFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "axis.sqlite"
    ids = await _old_store(path, make_doc, monkeypatch)
    async with SqliteStore(path) as store:
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
    db = sqlite3.connect(path)
    try:
        versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
    finally:
        db.close()
    assert versions == [m.version for m in bundled_migrations("sqlite")]
