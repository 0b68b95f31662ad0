"""Store contract: VDXP systems, their agency bindings, pull reports."""

from __future__ import annotations

import pytest

from edoc_axis.errors import NotFound
from edoc_axis.store import AgencyExists, Store
from tests.integration.store.conftest import PULL, PUSH, SENDER, DocFactory, at, make_status


async def test_a_system_is_bound_to_the_agencies_it_names(agencies: Store) -> None:
    created = await agencies.create_system("vxp.saas.03", ["G01.00.00", PULL], b"sealed", at(0))
    assert created.agencies == (SENDER, PULL)  # aliases resolve to canonical codes
    assert created.state == "active" and created.sealed_secret == b"sealed"
    assert "sealed" not in repr(created)
    assert await agencies.get_system("vxp.saas.03") == created
    assert await agencies.get_system("vxp.saas.99") is None
    await agencies.create_system("another", [PUSH], b"s2", at(1))
    assert [s.system_id for s in await agencies.list_systems()] == ["another", "vxp.saas.03"]


async def test_duplicate_ids_unknown_agencies_and_empty_bindings_are_refused(
    agencies: Store,
) -> None:
    await agencies.create_system("sys", [PULL], b"x", at(0))
    with pytest.raises(AgencyExists):
        await agencies.create_system("sys", [PULL], b"y", at(1))
    with pytest.raises(NotFound):
        await agencies.create_system("sys2", ["000.00.00.Z99"], b"y", at(1))
    with pytest.raises(ValueError, match="at least one agency"):
        await agencies.create_system("sys3", [], b"y", at(1))
    assert [s.system_id for s in await agencies.list_systems()] == ["sys"]


async def test_secret_rotation_and_state_changes(agencies: Store) -> None:
    await agencies.create_system("sys", [PULL], b"old", at(0))
    rotated = await agencies.set_system_secret("sys", b"new", at(5))
    assert rotated.sealed_secret == b"new" and rotated.secret_set_at == at(5)
    assert (await agencies.set_system_state("sys", "disabled", at(6))).state == "disabled"
    assert (await agencies.set_system_state("sys", "active", at(7))).state == "active"
    with pytest.raises(NotFound):
        await agencies.set_system_secret("nobody", b"x", at(8))
    events = [e.event async for e in agencies.iter_audit() if e.event.startswith("vdxp.")]
    assert events == [
        "vdxp.system_created",
        "vdxp.secret_rotated",
        "vdxp.system_state_changed",
        "vdxp.system_state_changed",
    ]


async def test_a_report_counts_once_and_fail_makes_the_delivery_dead(
    agencies: Store, make_doc: DocFactory
) -> None:
    document = make_doc()
    await agencies.accept_document(document)
    assert await agencies.record_vdxp_report(document.axis_id, PULL, "processing", None, at(1))
    assert not await agencies.record_vdxp_report(document.axis_id, PULL, "processing", None, at(2))
    reason = f"{PULL} reported fail"
    assert await agencies.record_vdxp_report(document.axis_id, PULL, "fail", reason, at(3))
    delivery = await agencies.delivery_for(document.axis_id, PULL)
    assert delivery is not None and (delivery.state, delivery.last_error) == ("dead", reason)
    other = await agencies.delivery_for(document.axis_id, PUSH)
    assert other is not None and other.state == "pending"
    assert await agencies.vdxp_reports(document.axis_id, PULL) == {"processing", "fail"}
    reported = [e async for e in agencies.iter_audit() if e.event == "vdxp.reported"]
    assert len(reported) == 2


async def test_statuses_leave_the_unreported_list_when_reported_done(
    agencies: Store, make_doc: DocFactory
) -> None:
    document = make_doc(recipients=(PULL,))
    await agencies.accept_document(document)
    await agencies.record_status(make_status(document.axis_id, "01", status_id="s1"), None)
    await agencies.record_status(
        make_status(document.axis_id, "03", status_id="s2", received_at=at(1)), "01"
    )
    unreported = await agencies.unreported_statuses(SENDER, 10)
    assert [s.status_id for s in unreported] == ["s1", "s2"]
    await agencies.record_vdxp_report("s1", SENDER, "done", None, at(2))
    await agencies.record_vdxp_report("s2", SENDER, "processing", None, at(2))
    assert [s.status_id for s in await agencies.unreported_statuses(SENDER, 10)] == ["s2"]
    assert await agencies.unreported_statuses(PULL, 10) == []
    assert [s.status_id for s in await agencies.statuses_from(PULL, 1)] == ["s2"]
    assert [s.status_id for s in await agencies.statuses_from(PULL, 10)] == ["s1", "s2"]
