"""Audit chain: events are appended with the changes they describe, and tampering
with the SQLite file (edit, delete, reorder, truncate) is found at its first seq.

Run by hand to measure verification (not a timed test):
    .venv/bin/python -m tests.integration.store.test_store_audit 1000000
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edoc_axis.core.audit import GENESIS, canonical_detail, entry_hash, utc_iso
from edoc_axis.store import SqliteStore, Store
from tests.integration.store.conftest import PULL, SENDER, T0, DocFactory, at


async def test_changes_and_their_audit_events_share_a_chain(
    agencies: Store, make_doc: DocFactory
) -> None:
    doc = make_doc()
    await agencies.accept_document(doc)
    await agencies.acknowledge(doc.axis_id, PULL, at(5))
    await agencies.append_audit(
        "document.refused", at(6), agency=SENDER, detail={"code": "signature.invalid"}
    )
    entries = [e async for e in agencies.iter_audit(batch=2)]
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert [e.event for e in entries] == [
        "agency.created",
        "agency.created",
        "agency.created",
        "document.accepted",
        "delivery.acknowledged",
        "document.refused",
    ]
    accepted = entries[3]
    assert (accepted.axis_id, accepted.agency, accepted.at) == (doc.axis_id, SENDER, T0)
    assert accepted.detail["sha256"] == doc.sha256
    assert entries[-1].detail == {"code": "signature.invalid"}
    assert entries[0].prev_hash == GENESIS
    assert all(e.prev_hash == p.hash for p, e in itertools.pairwise(entries))
    report = await agencies.verify_audit()
    assert (report.ok, report.entries, report.first_broken_seq) == (True, 6, None)


async def test_refused_change_leaves_no_audit_entry(agencies: Store, make_doc: DocFactory) -> None:
    doc = make_doc("1/CV")
    await agencies.accept_document(doc)
    await agencies.accept_document(doc)  # idempotent: nothing new, no event
    with pytest.raises(TypeError):
        await agencies.append_audit("bad.detail", at(1), detail={"x": object()})
    events = [e.event async for e in agencies.iter_audit()]
    assert events.count("document.accepted") == 1
    assert "bad.detail" not in events
    assert (await agencies.verify_audit()).ok


async def test_empty_chain_verifies(store: Store) -> None:
    report = await store.verify_audit()
    assert (report.ok, report.entries) == (True, 0)


def _swap(db: sqlite3.Connection, a: int, b: int) -> None:
    db.execute("UPDATE audit_log SET seq = -1 WHERE seq = ?", (a,))
    db.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", (a, b))
    db.execute("UPDATE audit_log SET seq = ? WHERE seq = -1", (b,))


def _append_forged(db: sqlite3.Connection) -> None:
    seq, prev = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    at_iso, detail = utc_iso(at(500)), canonical_detail({})
    digest = entry_hash(prev, seq + 1, at_iso, "forged", None, None, detail)
    row = (seq + 1, at_iso, "forged", None, None, detail, prev, digest)
    db.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)


TAMPERING: dict[str, tuple[Callable[[sqlite3.Connection], object], int, str]] = {
    "edited detail": (
        lambda db: db.execute("UPDATE audit_log SET detail = '{\"n\":99}' WHERE seq = 4"),
        4,
        "edited",
    ),
    "edited time": (
        lambda db: db.execute("UPDATE audit_log SET at = ? WHERE seq = 5", (utc_iso(at(999)),)),
        5,
        "edited",
    ),
    "deleted row": (lambda db: db.execute("DELETE FROM audit_log WHERE seq = 3"), 3, "missing"),
    "reordered rows": (lambda db: _swap(db, 4, 5), 4, ""),
    "truncated tail": (lambda db: db.execute("DELETE FROM audit_log WHERE seq >= 6"), 6, "head"),
    "well-chained row appended behind the writer's back": (_append_forged, 8, "beyond"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
async def test_tampering_is_found_at_its_first_seq(tmp_path: Path, case: str) -> None:
    tamper, first_broken, reason = TAMPERING[case]
    path = tmp_path / "axis.sqlite"
    async with SqliteStore(path) as store:
        for n in range(7):
            await store.append_audit("test.event", at(n), axis_id=f"ax-{n}", detail={"n": n})
        assert (await store.verify_audit()).ok
    db = sqlite3.connect(path, isolation_level=None)
    try:
        with db:
            tamper(db)
    finally:
        db.close()
    async with SqliteStore(path) as store:
        report = await store.verify_audit()
    assert not report.ok
    assert report.first_broken_seq == first_broken
    assert reason in (report.reason or "")


async def test_writer_continues_from_the_head_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "axis.sqlite"
    for round_ in range(3):
        async with SqliteStore(path) as store:
            await store.append_audit("test.event", at(round_))
    async with SqliteStore(path) as store:
        report = await store.verify_audit()
    assert (report.ok, report.entries) == (True, 3)


# -- measurement helper (run by hand, see the module docstring) ----------------


def build_chain(path: Path, count: int) -> None:
    """Write ``count`` chained entries straight into a migrated file, fast."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN")
    prev, rows = GENESIS, []
    for seq in range(1, count + 1):
        at_iso = utc_iso(at(seq / 1000))
        detail = canonical_detail({"document_id": f"{seq}/QD-UBND", "sha256": "ab" * 32})
        digest = entry_hash(prev, seq, at_iso, "document.accepted", f"ax-{seq}", SENDER, detail)
        rows.append((seq, at_iso, "document.accepted", f"ax-{seq}", SENDER, detail, prev, digest))
        prev = digest
    db.executemany("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (count, prev))
    db.execute("COMMIT")
    db.close()


async def measure(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "axis.sqlite"
        async with SqliteStore(path):
            pass  # create and migrate
        build_chain(path, count)
        async with SqliteStore(path) as store:
            started = time.perf_counter()
            report = await store.verify_audit()
            elapsed = time.perf_counter() - started
    rate = count / elapsed
    print(f"verify_audit: {report} in {elapsed:.2f} s ({rate:,.0f} entries/s)")


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
