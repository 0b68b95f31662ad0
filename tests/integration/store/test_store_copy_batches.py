"""``store copy`` reads the SQLite store in batches bounded by bytes, however large its rows."""

from __future__ import annotations

import os
import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from edoc_axis.store import copy as store_copy

MIB = 1024 * 1024


def test_the_batches_and_what_is_read_for_them_stay_within_the_byte_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite3.connect(tmp_path / "axis.sqlite")
    db.execute("CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size INTEGER, data BLOB)")
    rows = [(f"{n:064x}", MIB, os.urandom(MIB)) for n in range(24)]
    db.executemany("INSERT INTO blobs VALUES (?, ?, ?)", rows)
    db.commit()
    monkeypatch.setattr(store_copy, "_BATCH_BYTES", 3 * MIB)
    columns = ("sha256", "size", "data")

    tracemalloc.start()
    try:
        seen = []
        for batch in store_copy._batches(db, "blobs", columns, {}):
            seen.append([row[0] for row in batch])
            assert sum(len(row[2]) for row in batch) <= 3 * MIB
            del batch
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        db.close()
    assert [sha for batch in seen for sha in batch] == [row[0] for row in rows]  # all, in order
    assert len(seen) == 8
    # A batch and the row after it, not every row fetched at once (24 MiB).
    assert peak < 8 * MIB, f"{peak / MIB:.1f} MiB held"
