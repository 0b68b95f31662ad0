"""Contract of the operator's read verbs: activity per hour, audit head and
range reads, a delivery by id; the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from edoc_axis.core.audit import GENESIS
from edoc_axis.store import DeadLetter, Delivered, RetryAt, Store
from tests.integration.store.conftest import PULL, PUSH, SENDER, T0, DocFactory, at


async def test_activity_counts_events_per_hour_agency_and_refusal_code(
    agencies: Store, make_doc: DocFactory
) -> None:
    first = make_doc(received_at=at(10))
    await agencies.accept_document(first)
    await agencies.accept_document(make_doc(received_at=at(3700)))  # the next hour
    for code in ("signature.invalid", "signature.invalid", "schema.invalid"):
        await agencies.append_audit(
            "document.refused", at(20), agency=SENDER, detail={"code": code}
        )
    (claim,) = await agencies.claim_due_deliveries(at(30), 10, 30, "w1")
    await agencies.record_outcome(claim.delivery_id, claim.attempt, RetryAt(at(40), "503"), at(31))
    (claim,) = await agencies.claim_due_deliveries(at(41), 10, 30, "w1")
    await agencies.record_outcome(claim.delivery_id, claim.attempt, Delivered(), at(42))
    await agencies.acknowledge(first.axis_id, PULL, at(50))

    activity = await agencies.activity(T0, T0 + timedelta(hours=2))
    counts = {(c.hour, c.agency, c.event, c.code): c.count for c in activity.counts}
    hour0, hour1 = T0, T0 + timedelta(hours=1)
    assert counts == {
        (hour0, SENDER, "document.accepted", None): 1,
        (hour0, SENDER, "document.refused", "schema.invalid"): 1,
        (hour0, SENDER, "document.refused", "signature.invalid"): 2,
        (hour0, PUSH, "delivery.retry_scheduled", None): 1,
        (hour0, PUSH, "delivery.delivered", None): 1,
        (hour0, PULL, "delivery.acknowledged", None): 1,
        (hour1, SENDER, "document.accepted", None): 1,
    }
    # the second document waits at both recipients, the first at none
    assert {code: n for code, (n, _) in activity.pending.items()} == {PULL: 1, PUSH: 1}
    assert activity.pending[PUSH][1] == at(3700)

    # the window is half-open and agency.created (before T0... at T0) is not counted
    later = await agencies.activity(hour1, hour1 + timedelta(hours=1))
    assert [(c.event, c.count) for c in later.counts] == [("document.accepted", 1)]


async def test_audit_head_and_reading_after_a_seq(agencies: Store, make_doc: DocFactory) -> None:
    await agencies.accept_document(make_doc())
    entries = [e async for e in agencies.iter_audit()]
    head = await agencies.audit_head()
    assert (head.seq, head.hash) == (entries[-1].seq, entries[-1].hash)
    tail = [e async for e in agencies.iter_audit(batch=1, after=2)]
    assert [e.seq for e in tail] == [e.seq for e in entries[2:]]


async def test_audit_head_of_an_empty_chain(store: Store) -> None:
    head = await store.audit_head()
    assert (head.seq, head.hash) == (0, GENESIS)


async def test_a_delivery_by_id(agencies: Store, make_doc: DocFactory) -> None:
    doc = make_doc(recipients=(PUSH,))
    await agencies.accept_document(doc)
    (claim,) = await agencies.claim_due_deliveries(at(1), 10, 30, "w1")
    await agencies.record_outcome(claim.delivery_id, claim.attempt, DeadLetter("410"), at(2))
    delivery = await agencies.get_delivery(claim.delivery_id)
    assert delivery is not None
    assert (delivery.axis_id, delivery.recipient_code, delivery.state) == (
        doc.axis_id,
        PUSH,
        "dead",
    )
    assert await agencies.get_delivery(claim.delivery_id + 1000) is None
