"""Contract: test agencies stay out of the alarms and can be removed with their traffic."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edoc_axis.errors import NotFound
from edoc_axis.store import AgencyNotRemovable, NewAgency, Store, pg_queries, queries
from edoc_axis.store.migrate import apply_migrations, bundled_migrations
from tests.integration.store.conftest import (
    PULL,
    SENDER,
    DocFactory,
    at,
    make_status,
    postgresql_plans,
)

CF_S, CF_R = "CFTEST.1", "CFTEST.2"


async def _test_agency(store: Store, code: str) -> None:
    agency = NewAgency(code, f"Test {code}", (f"{code}.ALIAS",), "pull", None, test=True)
    await store.create_agency(agency, f"hash-{code}", [(f"fp-{code}", b"PEM")], at(0))


async def test_test_agencies_never_count_in_the_alarm_figures(
    agencies: Store, make_doc: DocFactory
) -> None:
    await _test_agency(agencies, CF_S)
    await _test_agency(agencies, CF_R)
    assert (await agencies.get_agency(CF_S)).test  # type: ignore[union-attr]
    assert not (await agencies.get_agency(PULL)).test  # type: ignore[union-attr]
    await agencies.accept_document(make_doc(sender=CF_S, recipients=(CF_R,), received_at=at(0)))
    before = await agencies.stats(at(3600))
    assert before.by_state == {} and before.oldest_pending_age_s is None
    assert before.by_agency_state == {(CF_R, "pending"): 1}
    await agencies.accept_document(make_doc(recipients=(PULL,), received_at=at(1800)))
    after = await agencies.stats(at(3600))
    assert after.by_state == {"pending": 1} and after.oldest_pending_age_s == 1800


async def test_removing_a_test_agency_takes_its_traffic_and_nothing_else(
    agencies: Store, make_doc: DocFactory
) -> None:
    await _test_agency(agencies, CF_S)
    await _test_agency(agencies, CF_R)
    kept = (await agencies.accept_document(make_doc(recipients=(PULL,), body="kept"))).document
    test_doc = make_doc(sender=CF_S, recipients=(CF_R,), body="kept")  # same body: shared blob
    test_doc_2 = make_doc(sender=CF_S, recipients=(CF_R,), body="only the test's")
    sent = (await agencies.accept_document(test_doc)).document
    await agencies.accept_document(test_doc_2)
    await agencies.acknowledge(sent.axis_id, CF_R, at(1))
    status = make_status(sent.axis_id, "01", status_id="cf-st", from_code=CF_R, to_code=CF_S)
    await agencies.record_status(status, None)

    assert await agencies.remove_test_agency(CF_S, at=at(2)) == {"documents": 2, "statuses": 1}
    assert await agencies.get_agency(CF_S) is None
    assert await agencies.get_agency(f"{CF_S}.ALIAS") is None
    assert await agencies.agency_for_token(f"hash-{CF_S}") is None
    assert await agencies.get_document(sent.axis_id) is None
    assert await agencies.get_status("cf-st") is None
    assert (await agencies.inbox(CF_R, 10)).items == ()
    # The real document (whose bytes the test shared) is whole.
    assert await agencies.document_bytes(kept.axis_id) == make_doc(body="kept").raw
    assert await agencies.remove_test_agency(CF_R) == {"documents": 0, "statuses": 0}
    assert (await agencies.verify_audit()).ok
    events = [e.event async for e in agencies.iter_audit()]
    assert events.count("agency.removed") == 2
    with pytest.raises(NotFound):
        await agencies.remove_test_agency(CF_R)


async def test_only_test_agencies_without_real_traffic_are_removed(
    agencies: Store, make_doc: DocFactory
) -> None:
    with pytest.raises(AgencyNotRemovable, match="not a test agency"):
        await agencies.remove_test_agency(PULL)
    await _test_agency(agencies, CF_S)
    await agencies.accept_document(make_doc(sender=CF_S, recipients=(PULL,)))
    with pytest.raises(AgencyNotRemovable, match=f"with {PULL}"):
        await agencies.remove_test_agency(CF_S)
    assert await agencies.get_agency(CF_S) is not None
    assert (await agencies.inbox(PULL, 10)).items != ()
    assert SENDER  # the fixture's real sender is untouched


async def test_a_test_agency_a_real_agency_sent_to_is_not_removed(
    agencies: Store, make_doc: DocFactory
) -> None:
    """Found among every delivery: its count says the test agencies' documents
    are not all it received."""
    await _test_agency(agencies, CF_S)
    await _test_agency(agencies, CF_R)
    from_test = await agencies.accept_document(make_doc(sender=CF_S, recipients=(CF_R,)))
    from_real = await agencies.accept_document(make_doc(recipients=(CF_R,)))
    with pytest.raises(AgencyNotRemovable, match=f"{from_real.document.axis_id} with {SENDER}"):
        await agencies.remove_test_agency(CF_R)
    assert await agencies.get_document(from_real.document.axis_id) is not None
    assert await agencies.get_document(from_test.document.axis_id) is not None
    assert await agencies.get_agency(CF_R) is not None


async def test_a_test_agency_goes_with_its_vdxp_bindings_and_the_systems_only_it_had(
    agencies: Store, make_doc: DocFactory
) -> None:
    await _test_agency(agencies, CF_S)
    await _test_agency(agencies, CF_R)
    await agencies.create_system("cf-sender", [CF_S], b"sealed", at(0))
    await agencies.create_system("cf-recipient", [CF_R], b"sealed", at(0))
    await agencies.create_system("shared", [PULL, CF_R], b"sealed", at(0))
    sent = (await agencies.accept_document(make_doc(sender=CF_S, recipients=(CF_R,)))).document
    assert await agencies.record_vdxp_report(sent.axis_id, CF_R, "done", None, at(1))

    await agencies.remove_test_agency(CF_S, at=at(2))
    assert await agencies.get_system("cf-sender") is None
    await agencies.remove_test_agency(CF_R, at=at(3))
    assert await agencies.vdxp_reports(sent.axis_id, CF_R) == set()
    assert [s.system_id for s in await agencies.list_systems()] == ["shared"]
    assert (await agencies.get_system("shared")).agencies == (PULL,)  # type: ignore[union-attr]
    removed = [e.detail async for e in agencies.iter_audit() if e.event == "agency.removed"]
    assert [d.get("vdxp_systems") for d in removed] == [1, 1]


def test_sqlite_removal_reads_by_key(tmp_path: Path) -> None:
    """Whether a removed document's body is still used, and the agency's VDXP
    reports, are found through indexes (migration 0012), not by reading every
    document, status and report inside the write transaction."""
    with sqlite3.connect(tmp_path / "axis.sqlite", isolation_level=None) as db:
        apply_migrations(db, bundled_migrations("sqlite"))
        plans = {
            name: " / ".join(
                r[-1] for r in db.execute("EXPLAIN QUERY PLAN " + sql, {"sha256": "x", "code": "x"})
            )
            for name, sql in (
                ("unused blob", queries.DELETE_UNUSED_BLOB),
                ("vdxp reports", queries.DELETE_AGENCY_VDXP_REPORTS),
                ("documents", queries.TEST_AGENCY_DOCUMENTS_FROM_TESTS),
                ("deliveries", queries.DELIVERIES_FROM_TEST_AGENCIES),
            )
        }
    assert "SCAN" not in plans["unused blob"], plans
    assert "documents_by_sha256" in plans["unused blob"], plans
    assert "statuses_by_sha256" in plans["unused blob"], plans
    assert "vdxp_reports_by_recipient" in plans["vdxp reports"], plans
    # the documents delivered to it, from the test agencies' own, by key
    for name in ("documents", "deliveries"):
        assert "SCAN d" not in plans[name] and "SCAN v" not in plans[name], plans[name]
        assert "SEARCH v USING" in plans[name], plans[name]


async def test_postgresql_removal_reads_by_key(postgres_dsn: str) -> None:
    plans = await postgresql_plans(
        postgres_dsn,
        {
            "unused blob": (pg_queries.DELETE_UNUSED_BLOB, ("x",)),
            "vdxp reports": (pg_queries.DELETE_AGENCY_VDXP_REPORTS, ("x",)),
        },
    )
    blob, reports = plans["unused blob"], plans["vdxp reports"]
    # The same indexes serve the foreign keys' own check when a blob row goes.
    assert "documents_by_sha256" in blob and "statuses_by_sha256" in blob, blob
    assert "vdxp_reports_by_recipient" in reports, reports
