"""Several nodes on one PostgreSQL database: three stores (three pools, as three
`edoc-axis serve` processes would have) share one schema, and the guarantees
hold between them because the database enforces them, not a lock in a process."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from edoc_axis.errors import StatusTransition
from edoc_axis.store import Delivered
from edoc_axis.store.migrate import SchemaBehind, bundled_migrations
from edoc_axis.store.postgresql import PostgresStore, redact_dsn
from tests.integration.store.conftest import (
    PULL,
    PUSH,
    SENDER,
    DocFactory,
    at,
    make_status,
    register,
)

NODES = 3


@pytest.fixture
async def nodes(postgres_dsn: str) -> AsyncIterator[list[PostgresStore]]:
    """Three stores on one fresh schema; the first migrated it."""
    schema = f"n_{secrets.token_hex(6)}"
    stores = [
        PostgresStore(postgres_dsn, schema=schema, migrate=i == 0, min_size=1, max_size=4)
        for i in range(NODES)
    ]
    for store in stores:  # in order: the first creates the schema
        await store.open()
    await register(stores[0], SENDER)
    await register(stores[0], PULL)
    await register(stores[0], PUSH, mode="push")
    yield stores
    for store in stores:
        await store.close()


async def test_claims_from_several_nodes_never_share_a_delivery(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    for _ in range(40):
        await nodes[0].accept_document(make_doc())
    batches = await asyncio.gather(
        *(
            nodes[i % NODES].claim_due_deliveries(at(60), 3, 30, f"node{i % NODES}-w{i}")
            for i in range(24)
        )
    )
    claimed = [c.delivery_id for batch in batches for c in batch]
    assert len(claimed) == len(set(claimed)) == 40


async def test_a_dead_nodes_claims_are_taken_over_when_the_lease_ends(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    doc = make_doc()
    await nodes[0].accept_document(doc)
    (lost,) = await nodes[0].claim_due_deliveries(at(1), 10, 30, "host:1:dead")
    await nodes[0].close()  # node 0 dies holding the lease
    assert await nodes[1].claim_due_deliveries(at(20), 10, 30, "host:2:b") == []
    (taken,) = await nodes[1].claim_due_deliveries(at(31), 10, 30, "host:2:b")
    assert (taken.delivery_id, taken.attempt) == (lost.delivery_id, 2)
    assert not await nodes[2].record_outcome(lost.delivery_id, lost.attempt, Delivered(), at(32))
    assert await nodes[1].record_outcome(taken.delivery_id, taken.attempt, Delivered(), at(33))
    # ... and at once where the node is known to be dead
    other = make_doc()
    await nodes[1].accept_document(other)
    (held,) = await nodes[1].claim_due_deliveries(at(40), 10, 300, "host:3:dead")
    assert await nodes[2].lease_owners(at(41)) == ["host:3:dead"]
    assert await nodes[2].expire_leases("host:3:dead", at(41)) == 1
    (again,) = await nodes[2].claim_due_deliveries(at(41), 10, 30, "host:4:c")
    assert (again.delivery_id, again.attempt) == (held.delivery_id, 2)


async def test_the_audit_chain_stays_one_chain_under_writers_on_every_node(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    before = (await nodes[0].verify_audit()).entries
    docs = [make_doc() for _ in range(30)]
    await asyncio.gather(
        *(nodes[i % NODES].accept_document(doc) for i, doc in enumerate(docs)),
        *(nodes[i % NODES].append_audit("test.event", at(i), detail={"i": i}) for i in range(30)),
    )
    await asyncio.gather(
        *(nodes[i % NODES].acknowledge(doc.axis_id, PULL, at(99)) for i, doc in enumerate(docs))
    )
    for store in nodes:
        report = await store.verify_audit()
        assert (report.ok, report.entries) == (True, before + 90)
    entries = [e async for e in nodes[1].iter_audit(batch=7)]
    assert [e.seq for e in entries] == list(range(1, before + 91))


async def test_identical_submissions_on_every_node_make_one_document(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    doc = make_doc("7/TB-across")
    copies = [dataclasses.replace(doc, axis_id=f"ax-node-{i}") for i in range(12)]
    results = await asyncio.gather(
        *(nodes[i % NODES].accept_document(c) for i, c in enumerate(copies))
    )
    assert sum(r.created for r in results) == 1
    assert len({r.document.axis_id for r in results}) == 1
    assert len((await nodes[2].documents_sent_by(SENDER, 100)).items) == 1


async def test_status_transitions_hold_across_nodes(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    doc = make_doc()
    await nodes[0].accept_document(doc)
    racers = [make_status(doc.axis_id, "01", status_id=f"st-n{i}") for i in range(6)]
    results = await asyncio.gather(
        *(nodes[i % NODES].record_status(s, None) for i, s in enumerate(racers)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, StatusTransition) for r in results) == 5
    assert len(await nodes[1].statuses_of(doc.axis_id)) == 1


async def test_answers_racing_on_every_node_leave_one_per_recall_round(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    doc = make_doc(recipients=(PULL,))
    await nodes[0].accept_document(doc)
    recall = make_status(doc.axis_id, "13", status_id="rc", from_code=SENDER, to_code=PULL)
    await nodes[0].record_status(
        dataclasses.replace(recall, recall_round=1), None, updates_progress=False
    )
    answers = [
        dataclasses.replace(
            make_status(doc.axis_id, "15" if i % 2 else "16", status_id=f"ans-{i}"),
            recall_round=1,
        )
        for i in range(6)
    ]
    results = await asyncio.gather(
        *(
            nodes[i % NODES].record_status(a, None, updates_progress=False)
            for i, a in enumerate(answers)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, StatusTransition) for r in results) == 5
    stored = await nodes[2].statuses_of(doc.axis_id)
    assert len(stored) == 2
    assert (stored[0].status_code, stored[0].recall_round) == ("13", 1)
    assert (stored[1].status_code, stored[1].recall_round) in (("15", 1), ("16", 1))
    assert (await nodes[1].verify_audit()).ok


async def test_one_recall_sent_to_every_node_at_once_is_stored_once(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    doc = make_doc(recipients=(PULL,))
    await nodes[0].accept_document(doc)
    recall = dataclasses.replace(
        make_status(doc.axis_id, "13", status_id="rc-same", from_code=SENDER, to_code=PULL),
        recall_round=1,
    )
    results = await asyncio.gather(
        *(nodes[i % NODES].record_status(recall, None, updates_progress=False) for i in range(9))
    )
    assert {(r.status_id, r.recall_round) for r in results} == {("rc-same", 1)}
    assert len(await nodes[1].statuses_of(doc.axis_id)) == 1
    events = [e async for e in nodes[2].iter_audit() if e.event == "status.recorded"]
    assert len(events) == 1


async def test_removing_a_test_agency_waits_for_documents_in_flight_on_other_nodes(
    nodes: list[PostgresStore], make_doc: DocFactory, postgres_dsn: str
) -> None:
    from edoc_axis.errors import RecipientUnknown
    from edoc_axis.store import AgencyNotRemovable, NewAgency

    for code in ("CFNODE.1", "CFNODE.2"):
        agency = NewAgency(code, code, (), "pull", None, test=True)
        await nodes[0].create_agency(agency, f"hash-{code}", [], at(0))
    schema = nodes[0]._schema
    other = await asyncpg.connect(postgres_dsn, server_settings={"search_path": str(schema)})
    try:
        # Another node is accepting a real agency's document for CFNODE.1 and
        # has not committed yet: the removal waits for it, then refuses.
        doc = make_doc(recipients=(PULL,))
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3)",
            doc.sha256,
            len(doc.raw),
            doc.raw,
        )
        seq = await other.fetchval(
            "INSERT INTO documents (axis_id, sender_code, document_id, idempotency_key, kind,"
            " business_type, subject, sha256, received_at, receipt, legacy_policy)"
            " VALUES ($1, $2, $3, $3, 'document', 0, 's', $4, $5, $6, false) RETURNING seq",
            doc.axis_id,
            SENDER,
            doc.document_id,
            doc.sha256,
            at(1),
            doc.receipt,
        )
        await other.execute(
            "INSERT INTO deliveries (document_seq, recipient_code, mode, state,"
            " next_attempt_at, created_at) VALUES ($1, 'CFNODE.1', 'pull', 'pending', $2, $2)",
            seq,
            at(1),
        )
        removal = asyncio.create_task(nodes[1].remove_test_agency("CFNODE.1"))
        await asyncio.sleep(0.5)
        assert not removal.done()  # it waits on the agency's row
        await tx.commit()
        with pytest.raises(AgencyNotRemovable, match=f"with {SENDER}"):
            await removal
        # The other way round: a removal in flight makes a document for the agency
        # accepted meanwhile a clean "unknown recipient", not a database error.
        tx = other.transaction()
        await tx.start()
        await other.execute("SELECT 1 FROM agencies WHERE code = 'CFNODE.2' FOR UPDATE")
        for table in ("tokens", "agency_codes"):
            await other.execute(f"DELETE FROM {table} WHERE agency_code = 'CFNODE.2'")  # noqa: S608
        await other.execute("DELETE FROM agencies WHERE code = 'CFNODE.2'")
        late = make_doc(recipients=("CFNODE.2",))
        accept = asyncio.create_task(nodes[2].accept_document(late))
        await asyncio.sleep(0.5)
        await tx.commit()
        with pytest.raises(RecipientUnknown):
            await accept
        assert await nodes[0].get_document(late.axis_id) is None
    finally:
        await other.close()
    assert (await nodes[0].verify_audit()).ok


async def test_work_accepted_on_one_node_wakes_the_others(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    woken = [asyncio.Event() for _ in nodes]
    for store, event in zip(nodes, woken, strict=True):
        store.on_work(event.set)
    await nodes[0].accept_document(make_doc(recipients=(PULL,)))  # nothing to push
    await asyncio.sleep(0.3)
    assert not any(e.is_set() for e in woken)
    await nodes[0].accept_document(make_doc(recipients=(PULL, PUSH)))
    async with asyncio.timeout(10):
        await asyncio.gather(woken[1].wait(), woken[2].wait())


async def test_a_listener_that_loses_its_connection_comes_back(
    nodes: list[PostgresStore], make_doc: DocFactory, postgres_dsn: str
) -> None:
    woken = asyncio.Event()
    nodes[1].on_work(woken.set)
    admin = await asyncpg.connect(postgres_dsn)
    try:  # the database ends the listening session, as a failover would
        pid = nodes[1]._listener.get_server_pid()  # type: ignore[union-attr]
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    async with asyncio.timeout(10):
        await woken.wait()  # the reconnect wakes it (work may have been missed)
        woken.clear()
        await nodes[0].accept_document(make_doc())
        await woken.wait()


async def test_a_database_behind_the_code_is_refused_with_the_command_to_run(
    postgres_dsn: str,
) -> None:
    store = PostgresStore(postgres_dsn, schema=f"b_{secrets.token_hex(6)}")
    with pytest.raises(SchemaBehind) as caught:
        await store.open()
    assert "edoc-axis migrate" in caught.value.detail
    assert caught.value.pending == bundled_migrations("postgresql")
    assert await store.migrate() == [m.version for m in bundled_migrations("postgresql")]
    assert await store.migrate() == []
    async with store:
        await store.ping()


async def test_an_unreachable_database_is_unavailable_without_its_password() -> None:
    from edoc_axis.errors import Unavailable

    store = PostgresStore("postgresql://edoc:s3cret@127.0.0.1:1/none", acquire_timeout_s=2)
    with pytest.raises((Unavailable, OSError)) as caught:
        await store.open()
    assert "s3cret" not in str(caught.value)
    assert redact_dsn("postgresql://edoc:s3cret@db:5432/x") == "postgresql://edoc@db:5432/x"


async def test_a_twenty_megabyte_document_is_readable_from_every_node(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    import hashlib

    raw = secrets.token_bytes(20 * 1024 * 1024)
    doc = dataclasses.replace(make_doc(), raw=raw, sha256=hashlib.sha256(raw).hexdigest())
    await nodes[0].accept_document(doc)
    for store in nodes[1:]:
        assert await store.document_bytes(doc.axis_id) == raw


async def test_the_same_large_bytes_sent_on_every_node_at_once_are_stored_once(
    nodes: list[PostgresStore], make_doc: DocFactory, postgres_dsn: str
) -> None:
    # Large bodies go by COPY: a twin another node commits meanwhile undoes only that COPY.
    raw = secrets.token_bytes(3 * 1024 * 1024)
    digest = hashlib.sha256(raw).hexdigest()
    docs = [dataclasses.replace(make_doc(f"{i}/CV-twin"), raw=raw, sha256=digest) for i in range(6)]
    results = await asyncio.gather(
        *(nodes[i % NODES].accept_document(doc) for i, doc in enumerate(docs))
    )
    assert all(result.created for result in results)
    for i, doc in enumerate(docs):
        assert await nodes[(i + 1) % NODES].document_bytes(doc.axis_id) == raw
    schema = nodes[0]._schema
    conn = await asyncpg.connect(postgres_dsn, server_settings={"search_path": schema})
    try:
        assert await conn.fetchval("SELECT count(*) FROM blobs WHERE sha256 = $1", digest) == 1
    finally:
        await conn.close()


async def test_both_backends_have_the_same_tables_and_store_copy_covers_them(
    postgres_dsn: str, tmp_path: Path
) -> None:
    """A migration added to one backend needs its twin in the other (columns and
    named indexes) and a line in ``store copy``'s table list; this names what is missing."""
    from edoc_axis.store import SqliteStore
    from edoc_axis.store.copy import copied_columns

    async with SqliteStore(tmp_path / "axis.sqlite"):
        pass
    db = sqlite3.connect(tmp_path / "axis.sqlite")
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        in_sqlite = {
            table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for table in tables
            if table != "schema_migrations"
        }
        # Named indexes (not the ones SQLite makes for its keys) carry query plans
        # and, when unique, rules such as one answer per recall round.
        sqlite_indexes = {
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
    finally:
        db.close()
    schema = f"c_{secrets.token_hex(6)}"
    async with PostgresStore(postgres_dsn, schema=schema, migrate=True, listen=False):
        conn = await asyncpg.connect(postgres_dsn)
        try:
            rows = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = $1",
                schema,
            )
            pg_indexes = {
                r[0]
                for r in await conn.fetch(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = $1", schema
                )
            }
        finally:
            await conn.close()
    assert sqlite_indexes - pg_indexes == set()
    in_postgresql: dict[str, set[str]] = {}
    # PostgreSQL's only table of its own: the delivery count changes each write
    # transaction folds into delivery_counts as it commits (several nodes write
    # at once; SQLite has one writer and counts in place).
    postgresql_only = ("schema_migrations", "delivery_count_changes")
    for row in rows:
        if row["table_name"] not in postgresql_only:
            in_postgresql.setdefault(row["table_name"], set()).add(row["column_name"])
    assert in_postgresql == in_sqlite
    copied = copied_columns()
    # the audit head is set from the source's; the registry version and the delivery
    # counts are the target's own (its triggers count the copied rows); console sessions
    # stay behind (operators log in again on the new store)
    not_copied = ("audit_head", "registry_version", "delivery_counts", "console_sessions")
    assert {t: c for t, c in in_sqlite.items() if t not in not_copied} == copied


async def test_verbs_queued_together_share_a_commit_and_a_refusal_undoes_only_itself(
    nodes: list[PostgresStore], make_doc: DocFactory
) -> None:
    from edoc_axis.errors import RecipientUnknown

    store = nodes[1]
    before_commits = store.commit_count
    before_entries = (await store.verify_audit()).entries
    good = [make_doc() for _ in range(30)]
    bad = [make_doc(recipients=(PULL, "000.00.00.X99")) for _ in range(10)]
    results = await asyncio.gather(
        *(store.accept_document(doc) for pair in zip(good, bad * 3, strict=True) for doc in pair),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 30 and all(isinstance(r, RecipientUnknown) for r in refused)
    assert None not in [await store.get_document(doc.axis_id) for doc in good]
    assert [await store.get_document(doc.axis_id) for doc in bad] == [None] * len(bad)
    report = await store.verify_audit()
    assert (report.ok, report.entries) == (True, before_entries + 30)
    assert store.commit_count - before_commits < 60  # grouped: fewer commits than verbs
