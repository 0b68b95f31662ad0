"""``--scale N``: fill the store with N documents, fast, through the store's own verbs.

The axis is stopped; this process opens the same SQLite file and calls
``Store.accept_document`` then ``Store.acknowledge`` in large concurrent
batches, so the group-commit writer packs hundreds of jobs into each
transaction. Every row, index entry and audit-chain link is what the axis
itself would have written for an accepted, delivered and acknowledged
document. The bodies are random bytes of the benchmark's size (the store
does not parse them) and the receipt a constant of a real receipt's size:
the store's size and shape are realistic, only the signing is skipped.
The documents come from the sender and go to a fourth, archive agency, so
the measured agencies' inboxes stay as they were.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from datetime import UTC, datetime

from edoc_axis.bench.rig import ARCHIVE, SENDER, Rig
from edoc_axis.config import load_config
from edoc_axis.core.ids import new_axis_id
from edoc_axis.store import NewDocument, Store
from edoc_axis.store.factory import open_store
from edoc_axis.terminal import Progress

BATCH = 2000
BODY_BYTES = 10 * 1024
RECEIPT = b"<receipt/>" + b" " * 2400  # a signed receipt is about 2.4 KB


def _document(number: int, at: datetime) -> NewDocument:
    raw = os.urandom(BODY_BYTES)
    return NewDocument(
        axis_id=new_axis_id(at),
        sender_code=SENDER[0],
        document_id=f"{SENDER[0]},preload,{number}/BENCH",
        kind="document",
        business_type=0,
        references_document_id=None,
        subject=f"Preloaded document {number}",
        sha256=hashlib.sha256(raw).hexdigest(),
        raw=raw,
        received_at=at,
        receipt=RECEIPT,
        recipients=(ARCHIVE[0],),
    )


async def _one(store: Store, document: NewDocument) -> None:
    await store.accept_document(document)
    await store.acknowledge(document.axis_id, ARCHIVE[0], document.received_at)


async def fill(store: Store, count: int, progress: Progress | None = None) -> None:
    """Accept and acknowledge ``count`` documents, BATCH at a time."""
    for start in range(0, count, BATCH):
        at = datetime.now(UTC)
        batch = [_document(n, at) for n in range(start, min(count, start + BATCH))]
        await asyncio.gather(*(_one(store, document) for document in batch))
        if progress is not None:
            progress.advance(len(batch))


async def preload(rig: Rig, count: int) -> float:
    """Fill the (stopped) axis's store; returns the seconds it took."""
    started = time.perf_counter()
    store = await open_store(load_config(rig.config))
    progress = Progress(count, f"preloading {count} documents")
    try:
        await fill(store, count, progress)
    finally:
        progress.close()
        await store.close()
    return time.perf_counter() - started
