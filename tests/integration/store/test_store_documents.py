"""Contract: accepting documents (idempotency, conflicts, exact bytes) and reading them back."""

from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest

from edoc_axis.errors import DocumentConflict, NotFound, RecipientUnknown
from edoc_axis.store import InvalidCursor, Store
from edoc_axis.store.base import document_pieces
from edoc_axis.store.records import PIECE_BYTES, PIECEWISE_BYTES
from tests.integration.store.conftest import PULL, PUSH, SENDER, T0, DocFactory, at, sha


async def test_accept_stores_document_bytes_and_deliveries(
    agencies: Store, make_doc: DocFactory
) -> None:
    doc = make_doc("12/QĐ-UBND,2026")
    result = await agencies.accept_document(doc)
    assert result.created
    stored = result.document
    assert stored.axis_id == doc.axis_id
    assert (stored.sender_code, stored.document_id) == (SENDER, "12/QĐ-UBND,2026")
    assert stored.recipients == (PULL, PUSH)
    assert stored.receipt == doc.receipt
    assert (stored.sha256, stored.size) == (doc.sha256, len(doc.raw))
    assert stored.received_at == T0
    assert stored.received_at.tzinfo is not None
    assert await agencies.document_bytes(doc.axis_id) == doc.raw
    assert await agencies.get_document(doc.axis_id) == stored
    assert await agencies.find_document(SENDER, "12/QĐ-UBND,2026") == stored
    deliveries = await agencies.deliveries_of(doc.axis_id)
    assert [(d.recipient_code, d.mode, d.state, d.attempts) for d in deliveries] == [
        (PULL, "pull", "pending", 0),
        (PUSH, "push", "pending", 0),
    ]
    assert all(d.next_attempt_at == T0 for d in deliveries)


async def test_exact_resubmission_returns_the_original(
    agencies: Store, make_doc: DocFactory
) -> None:
    first = make_doc("7/CV")
    original = (await agencies.accept_document(first)).document
    again = dataclasses.replace(
        first, axis_id="ax-other", receipt=b"<another receipt/>", received_at=at(60)
    )
    result = await agencies.accept_document(again)
    assert not result.created
    assert result.document == original
    assert result.document.receipt == first.receipt
    assert await agencies.get_document("ax-other") is None
    assert len(await agencies.deliveries_of(first.axis_id)) == 2


async def test_same_key_other_bytes_is_a_conflict(agencies: Store, make_doc: DocFactory) -> None:
    first = make_doc("7/CV", body="one")
    await agencies.accept_document(first)
    other = make_doc("7/CV", body="two")
    with pytest.raises(DocumentConflict) as caught:
        await agencies.accept_document(other)
    assert caught.value.document_id == "7/CV"
    assert await agencies.get_document(other.axis_id) is None
    assert await agencies.document_bytes(first.axis_id) == first.raw
    with pytest.raises(NotFound):
        await agencies.document_bytes(other.axis_id)


async def test_same_document_id_from_another_sender_is_another_document(
    agencies: Store, make_doc: DocFactory
) -> None:
    await agencies.accept_document(make_doc("1/CV"))
    result = await agencies.accept_document(make_doc("1/CV", sender=PULL, recipients=(PUSH,)))
    assert result.created


async def test_twenty_concurrent_identical_submissions_make_one_row(
    agencies: Store, make_doc: DocFactory
) -> None:
    doc = make_doc("99/TB")
    copies = [dataclasses.replace(doc, axis_id=f"ax-copy-{i}") for i in range(20)]
    results = await asyncio.gather(*(agencies.accept_document(c) for c in copies))
    assert sum(r.created for r in results) == 1
    winner = next(r.document for r in results if r.created)
    assert {r.document.axis_id for r in results} == {winner.axis_id}
    page = await agencies.documents_sent_by(SENDER, limit=100)
    assert [d.axis_id for d in page.items] == [winner.axis_id]
    assert len(await agencies.deliveries_of(winner.axis_id)) == 2


async def test_unknown_recipient_stores_nothing(agencies: Store, make_doc: DocFactory) -> None:
    doc = make_doc("5/CV", recipients=(PULL, "000.00.00.X99"))
    with pytest.raises(RecipientUnknown):
        await agencies.accept_document(doc)
    assert await agencies.find_document(SENDER, "5/CV") is None
    assert (await agencies.inbox(PULL, 10)).items == ()


async def test_wrong_digest_is_refused(agencies: Store, make_doc: DocFactory) -> None:
    doc = make_doc("6/CV")
    with pytest.raises(ValueError, match="sha256"):
        await agencies.accept_document(dataclasses.replace(doc, sha256=sha(b"something else")))
    assert await agencies.get_document(doc.axis_id) is None


async def test_large_binary_bytes_round_trip(agencies: Store, make_doc: DocFactory) -> None:
    raw = bytes(range(256)) * 40_000  # 10 MB, every byte value
    doc = dataclasses.replace(make_doc("big/1"), raw=raw, sha256=sha(raw))
    await agencies.accept_document(doc)
    assert await agencies.document_bytes(doc.axis_id) == raw


async def test_documents_sent_by_pages_oldest_first(agencies: Store, make_doc: DocFactory) -> None:
    docs = [make_doc(f"{i}/CV", received_at=at(i)) for i in range(5)]
    for doc in docs:
        await agencies.accept_document(doc)
    await agencies.accept_document(make_doc("x/CV", sender=PULL, recipients=(PUSH,)))
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        page = await agencies.documents_sent_by(SENDER, limit=2, cursor=cursor)
        seen += [d.document_id for d in page.items]
        cursor = page.next_cursor
    assert seen == [d.document_id for d in docs]
    assert cursor is None
    with pytest.raises(InvalidCursor):
        await agencies.documents_sent_by(SENDER, limit=2, cursor="not-a-cursor")


async def test_a_large_body_is_stored_exactly_and_once(
    agencies: Store, make_doc: DocFactory
) -> None:
    # Over 1 MiB: SQLite writes it into the row a piece at a time.
    body = os.urandom(1_600_000).hex()
    first = make_doc("1/CV", body=body)
    second = make_doc("2/CV", body=body)  # the same bytes under another DocumentId
    assert len(first.raw) > 3 * 1024 * 1024 and first.raw == second.raw
    for doc in (first, second):
        assert (await agencies.accept_document(doc)).created
    for doc in (first, second):
        assert await agencies.document_bytes(doc.axis_id) == first.raw
        assert (await agencies.get_document(doc.axis_id)).size == len(first.raw)  # type: ignore[union-attr]


async def test_a_large_document_is_read_a_piece_at_a_time(
    agencies: Store, make_doc: DocFactory
) -> None:
    large = make_doc("1/CV", body=os.urandom(1_600_000).hex(), recipients=(PULL,))
    small = make_doc("2/CV", recipients=(PULL,))
    for doc in (large, small):
        await agencies.accept_document(doc)
    size = len(large.raw)
    assert size >= PIECEWISE_BYTES
    for offset, length in ((0, 10), (size // 2, 1000), (size - 5, 5), (size - 5, 100), (size, 10)):
        piece = await agencies.document_piece(large.sha256, offset, length)
        assert piece == large.raw[offset : offset + length]
    stored = await agencies.get_document(large.axis_id)
    assert stored is not None
    pieces = [piece async for piece in document_pieces(agencies, stored)]
    assert b"".join(pieces) == large.raw and len(pieces) == -(-size // PIECE_BYTES)
    with pytest.raises(NotFound):
        await agencies.document_piece(sha(b"never stored"), 0, 10)
    # Asked with its bytes, a large document comes without them; a small one with them.
    found = await agencies.addressed(large.axis_id, PULL, with_bytes=True)
    assert found is not None and found.raw is None
    found = await agencies.addressed(small.axis_id, PULL, with_bytes=True)
    assert found is not None and found.raw == small.raw
    many = await agencies.addressed_many([large.axis_id, small.axis_id], PULL, max_bytes=1 << 30)
    assert [one.raw if one else "missing" for one in many] == [None, small.raw]
