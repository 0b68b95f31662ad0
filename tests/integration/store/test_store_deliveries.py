"""Contract: inbox, acknowledgement, push claims and outcomes, dead letters, stats."""

from __future__ import annotations

import asyncio

import pytest

from edoc_axis.errors import NotFound
from edoc_axis.store import DeadLetter, Delivered, InvalidCursor, RetryAt, Store
from tests.integration.store.conftest import (
    PULL,
    PUSH,
    SENDER,
    T0,
    DocFactory,
    at,
    make_status,
)


async def _accept(store: Store, make_doc: DocFactory, n: int, **kw: object) -> list[str]:
    ids = []
    for i in range(n):
        doc = make_doc(received_at=at(i), **kw)
        ids.append((await store.accept_document(doc)).document.axis_id)
    return ids


async def test_inbox_lists_oldest_first_with_a_stable_cursor(
    agencies: Store, make_doc: DocFactory
) -> None:
    ids = await _accept(agencies, make_doc, 5)
    first = await agencies.inbox(PULL, limit=2)
    assert [i.axis_id for i in first.items] == ids[:2]
    assert first.items[0].sender_code == SENDER
    assert first.items[0].state == "pending"
    # Acking what was already listed must not shift the next page.
    await agencies.acknowledge(ids[0], PULL, at(10))
    second = await agencies.inbox(PULL, limit=2, cursor=first.next_cursor)
    assert [i.axis_id for i in second.items] == ids[2:4]
    third = await agencies.inbox(PULL, limit=2, cursor=second.next_cursor)
    assert [i.axis_id for i in third.items] == ids[4:]
    assert third.next_cursor is None
    assert [i.axis_id for i in (await agencies.inbox(PULL, limit=10)).items] == ids[1:]
    assert (await agencies.inbox(SENDER, limit=10)).items == ()


async def test_cursor_of_another_listing_is_refused(agencies: Store, make_doc: DocFactory) -> None:
    await _accept(agencies, make_doc, 3)
    page = await agencies.documents_sent_by(SENDER, limit=1)
    with pytest.raises(InvalidCursor):
        await agencies.inbox(PULL, limit=1, cursor=page.next_cursor)


async def test_acknowledge_is_idempotent(agencies: Store, make_doc: DocFactory) -> None:
    (axis_id,) = await _accept(agencies, make_doc, 1)
    first = await agencies.acknowledge(axis_id, PULL, at(5))
    assert (first.state, first.acked_at) == ("acknowledged", at(5))
    second = await agencies.acknowledge(axis_id, PULL, at(9))
    assert second == first
    assert await agencies.delivery_for(axis_id, PULL) == first
    events = [e.event async for e in agencies.iter_audit()]
    assert events.count("delivery.acknowledged") == 1
    with pytest.raises(NotFound):
        await agencies.acknowledge(axis_id, SENDER, at(9))


async def test_claim_leases_due_push_deliveries_once(agencies: Store, make_doc: DocFactory) -> None:
    ids = await _accept(agencies, make_doc, 3)
    assert await agencies.claim_due_deliveries(at(-1), 10, 30, "w1") == []  # not due yet
    claims = await agencies.claim_due_deliveries(at(5), 10, 30, "w1")
    assert [c.axis_id for c in claims] == ids  # push only, due order
    assert {c.recipient_code for c in claims} == {PUSH}
    assert all(c.attempt == 1 and c.lease_until == at(35) for c in claims)
    assert claims[0].endpoint_url is not None
    assert claims[0].sender_code == SENDER
    assert await agencies.claim_due_deliveries(at(6), 10, 30, "w2") == []  # leased
    delivery = await agencies.delivery_for(ids[0], PUSH)
    assert delivery is not None
    assert (delivery.attempts, delivery.lease_owner) == (1, "w1")


async def test_concurrent_claimers_never_share_a_delivery(
    agencies: Store, make_doc: DocFactory
) -> None:
    await _accept(agencies, make_doc, 30)
    batches = await asyncio.gather(
        *(agencies.claim_due_deliveries(at(60), 4, 30, f"w{i}") for i in range(10))
    )
    claimed = [c.delivery_id for batch in batches for c in batch]
    assert len(claimed) == len(set(claimed)) == 30


async def test_expired_lease_is_reclaimed_and_the_stale_outcome_ignored(
    agencies: Store, make_doc: DocFactory
) -> None:
    await _accept(agencies, make_doc, 1)
    (old,) = await agencies.claim_due_deliveries(at(1), 10, 30, "w1")
    (new,) = await agencies.claim_due_deliveries(at(31), 10, 30, "w2")  # lease ran out
    assert (new.delivery_id, new.attempt) == (old.delivery_id, 2)
    assert not await agencies.record_outcome(old.delivery_id, old.attempt, Delivered(), at(32))
    delivery = await agencies.delivery_for(new.axis_id, PUSH)
    assert delivery is not None
    assert (delivery.state, delivery.lease_owner) == ("pending", "w2")
    assert await agencies.record_outcome(new.delivery_id, new.attempt, Delivered(), at(33))
    delivery = await agencies.delivery_for(new.axis_id, PUSH)
    assert delivery is not None
    assert (delivery.state, delivery.delivered_at, delivery.lease_until) == (
        "delivered",
        at(33),
        None,
    )
    # Once delivered, the same outcome again changes nothing.
    assert not await agencies.record_outcome(new.delivery_id, new.attempt, Delivered(), at(34))
    assert (await agencies.inbox(PUSH, 10)).items == ()


async def test_retry_reschedules(agencies: Store, make_doc: DocFactory) -> None:
    await _accept(agencies, make_doc, 1)
    (claim,) = await agencies.claim_due_deliveries(at(1), 10, 30, "w1")
    retry = RetryAt(at(100), "503 Service Unavailable")
    assert await agencies.record_outcome(claim.delivery_id, claim.attempt, retry, at(2))
    delivery = await agencies.delivery_for(claim.axis_id, PUSH)
    assert delivery is not None
    assert (delivery.state, delivery.next_attempt_at) == ("pending", at(100))
    assert (delivery.last_error, delivery.lease_owner) == ("503 Service Unavailable", None)
    assert await agencies.claim_due_deliveries(at(99), 10, 30, "w1") == []
    (again,) = await agencies.claim_due_deliveries(at(100), 10, 30, "w1")
    assert again.attempt == 2


async def test_dead_letter_retry_and_discard(agencies: Store, make_doc: DocFactory) -> None:
    ids = await _accept(agencies, make_doc, 2)
    claims = await agencies.claim_due_deliveries(at(5), 10, 30, "w1")
    for claim in claims:
        outcome = DeadLetter("410 Gone")
        assert await agencies.record_outcome(claim.delivery_id, claim.attempt, outcome, at(6))
    dead = await agencies.dead_letters(limit=1)
    assert [d.axis_id for d in dead.items] == ids[:1]
    rest = await agencies.dead_letters(limit=1, cursor=dead.next_cursor)
    assert [d.axis_id for d in rest.items] == ids[1:]
    assert rest.items[0].last_error == "410 Gone"
    # A push agency can still pull what could not be pushed.
    assert [i.axis_id for i in (await agencies.inbox(PUSH, 10)).items] == ids

    retried = await agencies.retry_dead_letter(claims[0].delivery_id, at(50))
    assert (retried.state, retried.next_attempt_at) == ("pending", at(50))
    (reclaim,) = await agencies.claim_due_deliveries(at(50), 10, 30, "w1")
    assert reclaim.delivery_id == claims[0].delivery_id
    discarded = await agencies.discard_dead_letter(claims[1].delivery_id, at(51))
    assert discarded.state == "discarded"
    assert (await agencies.dead_letters(limit=10)).items == ()
    with pytest.raises(NotFound):
        await agencies.discard_dead_letter(claims[1].delivery_id, at(52))
    with pytest.raises(NotFound):
        await agencies.retry_dead_letter(claims[0].delivery_id, at(52))  # pending, not dead


async def test_mode_change_moves_pending_deliveries(agencies: Store, make_doc: DocFactory) -> None:
    (axis_id,) = await _accept(agencies, make_doc, 1)
    await agencies.update_endpoint(PUSH, "pull", None, at=at(1))
    assert await agencies.claim_due_deliveries(at(2), 10, 30, "w1") == []
    delivery = await agencies.delivery_for(axis_id, PUSH)
    assert delivery is not None
    assert delivery.mode == "pull"


async def test_stats(agencies: Store, make_doc: DocFactory) -> None:
    ids = await _accept(agencies, make_doc, 3)
    await agencies.acknowledge(ids[0], PULL, at(10))
    (claim, *_) = await agencies.claim_due_deliveries(at(10), 1, 30, "w1")
    await agencies.record_outcome(claim.delivery_id, claim.attempt, DeadLetter("x"), at(11))
    stats = await agencies.stats(at(100))
    assert stats.by_state == {"pending": 4, "acknowledged": 1, "dead": 1}
    assert stats.by_agency_state == {
        (PULL, "pending"): 2,
        (PULL, "acknowledged"): 1,
        (PUSH, "pending"): 2,
        (PUSH, "dead"): 1,
    }
    assert stats.oldest_pending_age_s == pytest.approx(99.0)


async def test_ack_while_a_push_is_in_flight_wins_over_its_outcome(
    agencies: Store, make_doc: DocFactory
) -> None:
    (axis_id,) = await _accept(agencies, make_doc, 1)
    (claim,) = await agencies.claim_due_deliveries(at(1), 10, 30, "w1")
    acked = await agencies.acknowledge(axis_id, PUSH, at(2))  # pulled meanwhile
    assert (acked.state, acked.lease_owner) == ("acknowledged", None)
    assert not await agencies.record_outcome(claim.delivery_id, claim.attempt, Delivered(), at(3))
    assert await agencies.delivery_for(axis_id, PUSH) == acked


async def test_leases_of_a_dead_worker_can_be_ended_at_once(
    agencies: Store, make_doc: DocFactory
) -> None:
    await agencies.accept_document(make_doc(recipients=(PUSH,)))
    [claim] = await agencies.claim_due_deliveries(T0, 10, 600, "host:123:abc")
    assert await agencies.lease_owners(T0) == ["host:123:abc"]
    assert await agencies.claim_due_deliveries(T0, 10, 600, "other") == []
    assert await agencies.expire_leases("host:123:abc", T0) == 1
    assert await agencies.lease_owners(T0) == []
    [again] = await agencies.claim_due_deliveries(T0, 10, 600, "other")
    assert (again.delivery_id, again.attempt) == (claim.delivery_id, claim.attempt + 1)


async def test_addressed_answers_a_recipients_document_with_its_delivery_in_one_read(
    agencies: Store, make_doc: DocFactory
) -> None:
    doc = make_doc(recipients=(PULL,))
    await agencies.accept_document(doc)
    found = await agencies.addressed(doc.axis_id, PULL, with_bytes=True)
    assert found is not None
    assert (found.document.axis_id, found.delivery.recipient_code) == (doc.axis_id, PULL)
    assert found.delivery.state == "pending" and found.raw == doc.raw
    await agencies.acknowledge(doc.axis_id, PULL, at(1))
    lean = await agencies.addressed(doc.axis_id, PULL)
    assert lean is not None and lean.raw is None and lean.delivery.state == "acknowledged"
    assert await agencies.addressed(doc.axis_id, PUSH) is None  # not addressed to it
    assert await agencies.addressed(doc.axis_id, SENDER) is None
    assert await agencies.addressed("ax-unknown", PULL) is None


async def test_addressed_many_reads_bytes_in_order_up_to_a_limit(
    agencies: Store, make_doc: DocFactory
) -> None:
    docs = [make_doc(recipients=(PULL,)) for _ in range(3)]
    elsewhere = make_doc(recipients=(PUSH,))
    for doc in (*docs, elsewhere):
        await agencies.accept_document(doc)
    ids = [docs[0].axis_id, elsewhere.axis_id, "ax-unknown", docs[1].axis_id, docs[2].axis_id]
    found = await agencies.addressed_many(ids, PULL, max_bytes=10**9)
    assert [None if f is None else f.raw for f in found] == [
        docs[0].raw,
        None,
        None,
        docs[1].raw,
        docs[2].raw,
    ]
    assert all(f is None or f.delivery.recipient_code == PULL for f in found)
    two = len(docs[0].raw) + len(docs[1].raw)
    capped = await agencies.addressed_many(ids, PULL, max_bytes=two)
    assert [None if f is None else f.raw for f in capped] == [docs[0].raw, None, None, docs[1].raw]
    first_only = await agencies.addressed_many(ids, PULL, max_bytes=1)
    assert [None if f is None else f.raw for f in first_only] == [docs[0].raw, None, None]


async def test_a_delivered_push_and_its_01_are_one_write(
    agencies: Store, make_doc: DocFactory
) -> None:
    doc = make_doc(recipients=(PUSH,))
    await agencies.accept_document(doc)
    [claim] = await agencies.claim_due_deliveries(at(1), 10, 60, "w1")
    arrival = make_status(doc.axis_id, "01", status_id="st-a", from_code=PUSH)
    stale = make_status(doc.axis_id, "01", status_id="st-stale", from_code=PUSH)
    # another attempt's outcome: nothing is written, neither outcome nor 01
    assert not await agencies.record_outcome(
        claim.delivery_id, claim.attempt + 1, Delivered(), at(2), arrival=stale
    )
    assert await agencies.statuses_of(doc.axis_id) == []
    assert await agencies.record_outcome(
        claim.delivery_id, claim.attempt, Delivered(), at(2), arrival=arrival
    )
    delivery = await agencies.delivery_for(doc.axis_id, PUSH)
    assert delivery is not None
    assert (delivery.state, delivery.status_code) == ("delivered", "01")
    assert [s.status_id for s in await agencies.statuses_of(doc.axis_id)] == ["st-a"]


async def test_an_outcome_keeps_a_status_that_came_first(
    agencies: Store, make_doc: DocFactory
) -> None:
    doc = make_doc(recipients=(PUSH,))
    await agencies.accept_document(doc)
    [claim] = await agencies.claim_due_deliveries(at(1), 10, 60, "w1")
    own = make_status(doc.axis_id, "03", status_id="st-own", from_code=PUSH)
    await agencies.record_status(own, expected_current=None)  # the agency answered already
    arrival = make_status(doc.axis_id, "01", status_id="st-a", from_code=PUSH)
    assert await agencies.record_outcome(
        claim.delivery_id, claim.attempt, Delivered(), at(2), arrival=arrival
    )
    delivery = await agencies.delivery_for(doc.axis_id, PUSH)
    assert delivery is not None
    assert (delivery.state, delivery.status_code) == ("delivered", "03")
    assert [s.status_id for s in await agencies.statuses_of(doc.axis_id)] == ["st-own"]
