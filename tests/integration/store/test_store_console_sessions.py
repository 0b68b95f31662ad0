"""Console sessions in the store, on both backends: hashed ids, expiry, notes, logout."""

from __future__ import annotations

from datetime import timedelta

from edoc_axis.service.console_sessions import (
    IDLE,
    MAX_AGE,
    SEEN_EVERY,
    close_session,
    find_session,
    id_hash,
    open_session,
    save_session,
)
from edoc_axis.store import Store
from tests.integration.store.conftest import T0, at


async def test_a_session_is_found_by_its_id_and_only_its_hash_is_stored(store: Store) -> None:
    session = await open_session(store, "lan", T0)
    assert len(session.id) >= 43 and len(session.csrf) >= 43 and session.id != session.csrf
    row = await store.console_session(id_hash(session.id))
    assert row is not None and row.actor == "lan" and row.created_at == T0
    assert row.id_hash != session.id and session.id not in row.notes
    assert await store.console_session(session.id) is None  # the clear id is no key

    found = await find_session(store, session.id, at(5))
    assert found is not None and found.actor == "lan" and found.csrf == session.csrf
    assert found.csrf_ok(session.csrf) and not found.csrf_ok(session.csrf[:-1])
    assert not found.csrf_ok("")
    for other in (None, "", session.id[:-1], session.id + "x", "x" * 5000):
        assert await find_session(store, other, at(5)) is None


async def test_a_session_ends_when_idle_and_after_eight_hours_whatever_happens(
    store: Store,
) -> None:
    idle = await open_session(store, "lan", T0)
    assert await find_session(store, idle.id, T0 + IDLE - timedelta(seconds=1)) is not None
    # seen just now: the idle time starts again from there
    later = T0 + 2 * IDLE - timedelta(seconds=2)
    assert await find_session(store, idle.id, later) is not None
    assert await find_session(store, idle.id, later + IDLE + timedelta(seconds=1)) is None
    assert await store.console_session(id_hash(idle.id)) is None  # gone, not just refused

    busy = await open_session(store, "an", T0)
    now = T0
    while now + IDLE / 2 <= T0 + MAX_AGE:
        now += IDLE / 2
        assert await find_session(store, busy.id, now) is not None
    assert await find_session(store, busy.id, T0 + MAX_AGE + timedelta(seconds=1)) is None


async def test_last_seen_is_written_at_most_once_a_minute(store: Store) -> None:
    session = await open_session(store, "lan", T0)
    await find_session(store, session.id, T0 + SEEN_EVERY / 2)
    row = await store.console_session(id_hash(session.id))
    assert row is not None and row.seen_at == T0
    await find_session(store, session.id, T0 + SEEN_EVERY)
    row = await store.console_session(id_hash(session.id))
    assert row is not None and row.seen_at == T0 + SEEN_EVERY


async def test_messages_and_the_last_check_outlive_the_request_that_made_them(
    store: Store,
) -> None:
    session = await open_session(store, "lan", T0)
    session.flash.append(("error", "delivery.not-dead: <script>x</script> ü"))
    session.verification = {"ok": True, "entries": 12, "reason": None, "at": T0.isoformat()}
    await save_session(store, session)
    found = await find_session(store, session.id, at(1))
    assert found is not None
    assert found.flash == [("error", "delivery.not-dead: <script>x</script> ü")]
    assert found.verification == session.verification


async def test_logging_out_ends_the_session_and_a_login_sweeps_expired_ones(
    store: Store,
) -> None:
    old = await open_session(store, "old", T0)
    kept = await open_session(store, "kept", T0 + IDLE)
    gone = await open_session(store, "gone", T0 + IDLE)
    await close_session(store, gone)
    assert await find_session(store, gone.id, T0 + IDLE) is None

    await open_session(store, "new", T0 + IDLE + timedelta(seconds=1))
    assert await store.console_session(id_hash(old.id)) is None  # idle too long: swept
    assert await store.console_session(id_hash(kept.id)) is not None
