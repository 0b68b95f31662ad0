"""Contract: status messages with compare-and-set on the delivery's current status."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from edoc_axis.errors import DocumentConflict, NotFound, StatusTransition
from edoc_axis.store import Store
from tests.integration.store.conftest import PULL, PUSH, SENDER, DocFactory, at, make_status


async def _document(store: Store, make_doc: DocFactory, **kwargs: Any) -> str:
    return (await store.accept_document(make_doc(**kwargs))).document.axis_id


async def test_status_is_stored_and_listed_for_the_sender(
    agencies: Store, make_doc: DocFactory
) -> None:
    axis_id = await _document(agencies, make_doc)
    arrived = make_status(axis_id, "01", status_id="st-1", received_at=at(1))
    stored = await agencies.record_status(arrived, expected_current=None)
    assert (stored.status_code, stored.from_code, stored.to_code) == ("01", PULL, SENDER)
    assert stored.received_at == at(1)
    accepted = make_status(axis_id, "03", status_id="st-2", received_at=at(2))
    await agencies.record_status(accepted, expected_current="01")
    delivery = await agencies.delivery_for(axis_id, PULL)
    assert delivery is not None
    assert (delivery.status_code, delivery.status_at) == ("03", at(2))
    page = await agencies.statuses_for(SENDER, limit=1)
    assert [s.status_id for s in page.items] == ["st-1"]
    page = await agencies.statuses_for(SENDER, cursor=page.next_cursor, limit=1)
    assert [s.status_id for s in page.items] == ["st-2"]
    assert page.items[0].document_id == (await agencies.get_document(axis_id)).document_id  # type: ignore[union-attr]
    assert (await agencies.statuses_for(PULL)).items == ()
    assert [s.status_id for s in await agencies.statuses_of(axis_id)] == ["st-1", "st-2"]
    assert await agencies.status_bytes("st-2") == accepted.raw


async def test_unexpected_current_status_is_refused(agencies: Store, make_doc: DocFactory) -> None:
    axis_id = await _document(agencies, make_doc)
    await agencies.record_status(make_status(axis_id, "01", status_id="st-1"), None)
    with pytest.raises(StatusTransition):
        await agencies.record_status(make_status(axis_id, "03", status_id="st-2"), None)
    assert [s.status_id for s in await agencies.statuses_of(axis_id)] == ["st-1"]
    with pytest.raises(NotFound):
        await agencies.status_bytes("st-2")


async def test_concurrent_updates_from_one_state_do_not_both_win(
    agencies: Store, make_doc: DocFactory
) -> None:
    axis_id = await _document(agencies, make_doc)
    racers = [make_status(axis_id, "01", status_id=f"st-{i}") for i in range(5)]
    results = await asyncio.gather(
        *(agencies.record_status(s, None) for s in racers), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert sum(isinstance(r, StatusTransition) for r in results) == 4
    assert len(await agencies.statuses_of(axis_id)) == 1


async def test_resubmitted_status_is_idempotent_and_a_changed_one_conflicts(
    agencies: Store, make_doc: DocFactory
) -> None:
    axis_id = await _document(agencies, make_doc)
    status = make_status(axis_id, "01", status_id="st-1")
    first = await agencies.record_status(status, None)
    assert await agencies.record_status(status, None) == first  # expected no longer matters
    changed = make_status(axis_id, "02", status_id="st-1")
    with pytest.raises(DocumentConflict):
        await agencies.record_status(changed, "01")


async def test_statuses_travel_only_between_sender_and_a_recipient(
    agencies: Store, make_doc: DocFactory
) -> None:
    axis_id = await _document(agencies, make_doc, recipients=(PULL,))
    with pytest.raises(NotFound):  # PUSH did not receive this document
        await agencies.record_status(
            make_status(axis_id, "13", status_id="s1", from_code=SENDER, to_code=PUSH), None
        )
    with pytest.raises(NotFound):
        await agencies.record_status(make_status("ax-unknown", "01", status_id="s2"), None)
    with pytest.raises(ValueError):  # neither side is the document's sender
        await agencies.record_status(
            make_status(axis_id, "01", status_id="s3", from_code=PUSH, to_code=PULL), None
        )
    bad_digest = dataclasses.replace(make_status(axis_id, "01", status_id="s4"), sha256="0" * 64)
    with pytest.raises(ValueError):
        await agencies.record_status(bad_digest, None)
    assert await agencies.statuses_of(axis_id) == []


async def test_recall_request_goes_from_the_sender_without_touching_progress(
    agencies: Store, make_doc: DocFactory
) -> None:
    axis_id = await _document(agencies, make_doc)
    await agencies.record_status(make_status(axis_id, "03", status_id="p1"), None)
    recall = make_status(axis_id, "13", status_id="r1", from_code=SENDER, to_code=PULL)
    stored = await agencies.record_status(recall, None, updates_progress=False)
    assert (stored.from_code, stored.to_code, stored.status_code) == (SENDER, PULL, "13")
    answer = make_status(axis_id, "16", status_id="r2")
    await agencies.record_status(answer, None, updates_progress=False)
    delivery = await agencies.delivery_for(axis_id, PULL)
    assert delivery is not None and delivery.status_code == "03"
    assert [s.status_code for s in (await agencies.statuses_for(PULL)).items] == ["13"]
    assert [s.status_code for s in (await agencies.statuses_for(SENDER)).items] == ["03", "16"]
