"""Contract (both backends): recall rounds, resumable feeds, case-insensitive agency codes."""

from __future__ import annotations

import dataclasses

import pytest

from edoc_axis.errors import StatusTransition
from edoc_axis.store import NewAgency, NewStatus, Store
from tests.integration.store.conftest import PULL, PUSH, SENDER, T0, DocFactory, make_status


async def test_agency_codes_are_case_insensitive_and_held_upper_case(store: Store) -> None:
    agency = NewAgency("vxp.saas.03", "SaaS 03", ("vxp.saas.03.old",), "pull", None)
    created = await store.create_agency(agency, "token-hash-saas", [("fp-saas", b"PEM")], T0)
    assert (created.code, created.alias_codes) == ("VXP.SAAS.03", ("VXP.SAAS.03.OLD",))
    for asked in ("VXP.saas.03", "vxp.saas.03", "VXP.SAAS.03", "Vxp.Saas.03.Old"):
        found = await store.get_agency(asked)
        assert found is not None and found.code == "VXP.SAAS.03", asked
    assert [a.code for a in await store.list_agencies()] == ["VXP.SAAS.03"]
    assert (await store.set_agency_state("vxp.SAAS.03", "disabled")).state == "disabled"


async def test_one_recall_and_one_answer_per_round(agencies: Store, make_doc: DocFactory) -> None:
    doc = make_doc(recipients=(PULL, PUSH))
    await agencies.accept_document(doc)

    def recall(status_id: str, to: str, round_: int) -> NewStatus:
        status = make_status(doc.axis_id, "13", status_id=status_id, from_code=SENDER, to_code=to)
        return dataclasses.replace(status, recall_round=round_)

    def answer(status_id: str, code: str, round_: int) -> NewStatus:
        return dataclasses.replace(
            make_status(doc.axis_id, code, status_id=status_id), recall_round=round_
        )

    await agencies.record_status(recall("r1", PULL, 1), None, updates_progress=False)
    await agencies.record_status(recall("r1-push", PUSH, 1), None, updates_progress=False)
    with pytest.raises(StatusTransition, match="round 1 already has its recall"):
        await agencies.record_status(recall("r1-again", PULL, 1), None, updates_progress=False)
    await agencies.record_status(answer("a1", "16", 1), None, updates_progress=False)
    with pytest.raises(StatusTransition, match="round 1 already has its answer"):
        await agencies.record_status(answer("a1-again", "15", 1), None, updates_progress=False)
    await agencies.record_status(recall("r2", PULL, 2), None, updates_progress=False)
    await agencies.record_status(answer("a2", "15", 2), None, updates_progress=False)
    stored = await agencies.statuses_of(doc.axis_id)
    assert [(s.status_id, s.status_code, s.recall_round) for s in stored] == [
        ("r1", "13", 1),
        ("r1-push", "13", 1),
        ("a1", "16", 1),
        ("r2", "13", 2),
        ("a2", "15", 2),
    ]
    assert (await agencies.get_status("a2")).recall_round == 2  # type: ignore[union-attr]
    # The refused ones left nothing behind, the audit chain included.
    assert await agencies.get_status("r1-again") is None
    assert await agencies.get_status("a1-again") is None
    report = await agencies.verify_audit()
    recorded = [e async for e in agencies.iter_audit() if e.event == "status.recorded"]
    assert report.ok and len(recorded) == 5


async def test_feeds_hand_out_a_resume_cursor_on_every_page(
    agencies: Store, make_doc: DocFactory
) -> None:
    empty = await agencies.inbox(PULL, 2)
    assert (empty.items, empty.next_cursor) == ((), None) and empty.resume_cursor
    docs = [make_doc(recipients=(PULL,)) for _ in range(3)]
    for doc in docs:
        await agencies.accept_document(doc)
    first = await agencies.inbox(PULL, 2, empty.resume_cursor)
    assert [i.axis_id for i in first.items] == [d.axis_id for d in docs[:2]]
    assert first.resume_cursor == first.next_cursor
    last = await agencies.inbox(PULL, 2, first.next_cursor)
    assert [i.axis_id for i in last.items] == [docs[2].axis_id] and last.next_cursor is None
    caught_up = await agencies.inbox(PULL, 2, last.resume_cursor)
    assert caught_up.items == () and caught_up.resume_cursor == last.resume_cursor
    later = make_doc(recipients=(PULL,))
    await agencies.accept_document(later)
    assert [i.axis_id for i in (await agencies.inbox(PULL, 2, last.resume_cursor)).items] == [
        later.axis_id
    ]

    feed = await agencies.statuses_for(SENDER)
    assert (feed.items, feed.next_cursor) == ((), None) and feed.resume_cursor
    for n, doc in enumerate(docs):
        await agencies.record_status(make_status(doc.axis_id, "01", status_id=f"f{n}"), None)
    page = await agencies.statuses_for(SENDER, feed.resume_cursor, limit=2)
    assert [s.status_id for s in page.items] == ["f0", "f1"] and page.next_cursor
    end = await agencies.statuses_for(SENDER, page.next_cursor, limit=2)
    assert [s.status_id for s in end.items] == ["f2"] and end.next_cursor is None
    after = await agencies.statuses_for(SENDER, end.resume_cursor, limit=2)
    assert after.items == () and after.resume_cursor == end.resume_cursor
