"""SQLite backend specifics: group commit, savepoint isolation, failures of BEGIN and
COMMIT, durability across connections, two writers on one file, the due-queue index."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest

from edoc_axis.errors import DocumentConflict, Unavailable
from edoc_axis.store import SqliteStore
from edoc_axis.store import queries as q
from edoc_axis.store.sqlite_writer import WriteContext
from tests.integration.store.conftest import PUSH, SENDER, DocFactory, at, register


async def _with_agencies(store: SqliteStore) -> None:
    await register(store, SENDER)
    await register(store, PUSH, mode="push")


async def test_concurrent_accepts_share_commits(
    sqlite_store: SqliteStore, make_doc: DocFactory
) -> None:
    await _with_agencies(sqlite_store)
    before = sqlite_store.commit_count
    docs = [make_doc(recipients=(PUSH,)) for _ in range(200)]
    results = await asyncio.gather(*(sqlite_store.accept_document(d) for d in docs))
    assert all(r.created for r in results)
    commits = sqlite_store.commit_count - before
    assert 1 <= commits <= 20, commits
    assert (await sqlite_store.verify_audit()).entries == 2 + 200


async def test_a_failing_job_does_not_lose_its_batch_neighbours(
    sqlite_store: SqliteStore, make_doc: DocFactory
) -> None:
    await _with_agencies(sqlite_store)
    taken = make_doc("1/CV", recipients=(PUSH,))
    await sqlite_store.accept_document(taken)
    before = sqlite_store.commit_count
    left, right = make_doc(recipients=(PUSH,)), make_doc(recipients=(PUSH,))
    clash = make_doc("1/CV", body="other", recipients=(PUSH,))
    results = await asyncio.gather(
        sqlite_store.accept_document(left),
        sqlite_store.accept_document(clash),
        sqlite_store.accept_document(right),
        return_exceptions=True,
    )
    assert sqlite_store.commit_count - before == 1  # one batch
    assert isinstance(results[1], DocumentConflict)
    assert await sqlite_store.document_bytes(left.axis_id) == left.raw
    assert await sqlite_store.document_bytes(right.axis_id) == right.raw
    assert await sqlite_store.get_document(clash.axis_id) is None


async def test_a_job_that_fails_after_auditing_leaves_the_chain_whole(
    sqlite_store: SqliteStore,
) -> None:
    def audit_then_fail(ctx: WriteContext) -> None:
        ctx.audit("half.done", at(1))
        raise ZeroDivisionError("late failure")

    results = await asyncio.gather(
        sqlite_store.append_audit("before", at(0)),
        sqlite_store._writer.submit(audit_then_fail),
        sqlite_store.append_audit("after", at(2)),
        return_exceptions=True,
    )
    assert isinstance(results[1], ZeroDivisionError)
    events = [e.event async for e in sqlite_store.iter_audit()]
    assert events == ["before", "after"]
    assert (await sqlite_store.verify_audit()).ok


async def test_locked_database_makes_the_batch_unavailable(
    tmp_path: Path, make_doc: DocFactory
) -> None:
    path = tmp_path / "axis.sqlite"
    async with SqliteStore(path, busy_timeout_s=0.2) as store:
        await _with_agencies(store)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        docs = [make_doc(recipients=(PUSH,)) for _ in range(3)]
        try:
            results = await asyncio.gather(
                *(store.accept_document(d) for d in docs), return_exceptions=True
            )
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert all(isinstance(r, Unavailable) for r in results), results
        assert [await store.get_document(d.axis_id) for d in docs] == [None] * 3
        assert (await store.accept_document(docs[0])).created  # the store recovers


async def test_failed_commit_stores_nothing_of_the_batch(
    sqlite_store: SqliteStore, make_doc: DocFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _with_agencies(sqlite_store)

    def full_disk(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite_store._writer, "commit_transaction", full_disk)
    docs = [make_doc(recipients=(PUSH,)) for _ in range(5)]
    results = await asyncio.gather(
        *(sqlite_store.accept_document(d) for d in docs), return_exceptions=True
    )
    assert all(isinstance(r, Unavailable) and r.retry_after_s for r in results), results
    monkeypatch.undo()
    assert [await sqlite_store.get_document(d.axis_id) for d in docs] == [None] * 5
    assert (await sqlite_store.accept_document(docs[0])).created
    report = await sqlite_store.verify_audit()
    assert (report.ok, report.entries) == (True, 3)


async def test_accepted_bytes_are_readable_from_a_second_store(
    tmp_path: Path, make_doc: DocFactory
) -> None:
    path = tmp_path / "axis.sqlite"
    first = SqliteStore(path)
    await first.open()
    try:
        await _with_agencies(first)
        doc = make_doc("9/CV", recipients=(PUSH,))
        accepted = await first.accept_document(doc)
        # The first store is still open: what its accept returned must already
        # be committed in the file, not waiting in a cache.
        async with SqliteStore(path) as second:
            assert await second.document_bytes(doc.axis_id) == doc.raw
            assert await second.find_document(SENDER, "9/CV") == accepted.document
    finally:
        await first.close()


async def test_two_writers_on_one_file(tmp_path: Path, make_doc: DocFactory) -> None:
    path = tmp_path / "axis.sqlite"
    async with SqliteStore(path) as one, SqliteStore(path) as two:
        await _with_agencies(one)
        doc = make_doc("same/1", recipients=(PUSH,))
        copies = [dataclasses.replace(doc, axis_id=f"ax-w{i}") for i in range(20)]
        stores = [one, two] * 10
        results = await asyncio.gather(
            *(s.accept_document(c) for s, c in zip(stores, copies, strict=True))
        )
        assert sum(r.created for r in results) == 1
        for _ in range(9):
            await two.accept_document(make_doc(recipients=(PUSH,)))
        claims = await asyncio.gather(
            *(s.claim_due_deliveries(at(60), 3, 30, f"w{i}") for i, s in enumerate(stores))
        )
        ids = [c.delivery_id for batch in claims for c in batch]
        assert len(ids) == len(set(ids)) == 10
        report = await one.verify_audit()
    assert (report.ok, report.entries) == (True, 2 + 10)


async def test_due_queue_query_uses_its_index(sqlite_store: SqliteStore) -> None:
    db = sqlite3.connect(sqlite_store.path)
    try:
        plan = db.execute(
            "EXPLAIN QUERY PLAN " + q.DUE_DELIVERIES, {"now": "x", "limit": 1}
        ).fetchall()
    finally:
        db.close()
    assert any("deliveries_due" in row[-1] for row in plan), plan


async def test_closed_store_refuses_writes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "axis.sqlite")
    await store.open()
    await store.ping()
    await store.close()
    with pytest.raises(Unavailable):
        await store.append_audit("late", at(0))
    with pytest.raises(Unavailable):
        await store.ping()


async def test_a_large_body_written_in_pieces_is_rolled_back_with_its_job(
    sqlite_store: SqliteStore, make_doc: DocFactory
) -> None:
    await register(sqlite_store, SENDER)
    await register(sqlite_store, PUSH, mode="push")
    await sqlite_store.accept_document(make_doc("7/CV", recipients=(PUSH,)))
    large = make_doc("7/CV", recipients=(PUSH,), body="x" * (2 * 1024 * 1024))
    with pytest.raises(DocumentConflict):
        await sqlite_store.accept_document(large)
    db = sqlite3.connect(sqlite_store.path)
    try:
        left = db.execute("SELECT count(*) FROM blobs WHERE sha256 = ?", (large.sha256,))
        assert left.fetchone() == (0,)
    finally:
        db.close()
    accepted = await sqlite_store.accept_document(dataclasses.replace(large, document_id="8/CV"))
    assert accepted.created
    assert await sqlite_store.document_bytes(large.axis_id) == large.raw
