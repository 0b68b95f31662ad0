"""The registry held in memory (store/registry_cache.py), on both backends.

Two store objects on one database stand for two processes (``serve
--processes``) or two nodes: a change made through one is seen by the other
within the cache's bound (polled with ``eventually``, never timed), a change
made through the same object at once, and an addition elsewhere at once
(a miss is confirmed against the registry version before it is answered).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edoc_axis.store import SqliteStore, Store
from edoc_axis.store.registry_cache import RegistryCache
from tests.integration.store.conftest import BACKENDS, PULL, SENDER, T0, register
from tests.waiting import eventually

NEW = "000.00.00.G09"


@pytest.fixture(params=BACKENDS)
async def pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Store, Store]]:
    """Two store objects on one database: ``here`` serves, ``there`` is another process."""
    stores: list[Store]
    if request.param == "sqlite":
        stores = [SqliteStore(tmp_path / "axis.sqlite"), SqliteStore(tmp_path / "axis.sqlite")]
    else:
        from edoc_axis.store.postgresql import PostgresStore

        dsn = request.getfixturevalue("postgres_dsn")
        schema = f"t_{secrets.token_hex(6)}"
        stores = [
            PostgresStore(dsn, migrate=True, schema=schema, min_size=1, max_size=4)
            for _ in range(2)
        ]
    for store in stores:
        await store.open()
    here, there = stores
    await register(here, SENDER, aliases=("G01.00.00",))
    await register(here, PULL)
    yield here, there
    for store in stores:
        await store.close()


def _cache(store: Store) -> RegistryCache:
    cache = getattr(store, "_registry", None)
    assert isinstance(cache, RegistryCache)
    return cache


async def test_a_token_revoked_elsewhere_stops_working(pair: tuple[Store, Store]) -> None:
    here, there = pair
    assert (await here.agency_for_token(f"token-hash-{SENDER}")) is not None
    await there.revoke_tokens(SENDER, T0)

    async def refused() -> bool:
        return await here.agency_for_token(f"token-hash-{SENDER}") is None

    await eventually(refused, what="the revoked token to be refused")


async def test_an_agency_disabled_elsewhere_is_seen_disabled(pair: tuple[Store, Store]) -> None:
    here, there = pair
    assert (await here.get_agency("g01.00.00")) is not None
    await there.set_agency_state(PULL, "disabled", at=T0)

    async def disabled() -> bool:
        found = await here.get_agency(PULL)
        return found is not None and found.state == "disabled"

    await eventually(disabled, what="the agency to be seen disabled")
    token_owner = await here.agency_for_token(f"token-hash-{PULL}")
    assert token_owner is not None and token_owner.state == "disabled"


async def test_a_certificate_removed_elsewhere_stops_working(pair: tuple[Store, Store]) -> None:
    here, there = pair
    assert (await here.agency_for_certificate(f"fp-{SENDER}")) is not None
    await there.remove_certificate(SENDER, f"fp-{SENDER}", at=T0)

    async def gone() -> bool:
        if await here.agency_for_certificate(f"fp-{SENDER}") is not None:
            return False
        sender = await here.get_agency(SENDER)
        return sender is not None and f"fp-{SENDER}" not in sender.certificate_fingerprints

    await eventually(gone, what="the removed certificate to be forgotten")


async def test_an_agency_registered_elsewhere_is_known_at_once(pair: tuple[Store, Store]) -> None:
    here, there = pair
    assert await here.get_agency(NEW) is None  # the snapshot now holds no NEW
    await register(there, NEW, aliases=("G09.00.00",))
    # a miss is checked against the registry version before it is answered
    found = await here.get_agency("g09.00.00")
    assert found is not None and found.code == NEW
    by_token = await here.agency_for_token(f"token-hash-{NEW}")
    assert by_token is not None and by_token.code == NEW
    by_certificate = await here.agency_for_certificate(f"fp-{NEW}")
    assert by_certificate is not None and by_certificate.code == NEW


async def test_changes_made_here_are_seen_here_at_once(pair: tuple[Store, Store]) -> None:
    here, _ = pair
    await here.get_agency(SENDER)
    await here.revoke_tokens(SENDER, T0)
    assert await here.agency_for_token(f"token-hash-{SENDER}") is None
    await here.rotate_token(SENDER, "token-hash-new", T0)
    rotated = await here.agency_for_token("token-hash-new")
    assert rotated is not None and rotated.code == SENDER
    await here.set_agency_state(SENDER, "disabled", at=T0)
    disabled = await here.get_agency(SENDER)
    assert disabled is not None and disabled.state == "disabled"
    await here.update_endpoint(PULL, "push", "https://g02.example.test/", at=T0)
    moved = await here.get_agency(PULL)
    assert moved is not None and moved.delivery_mode == "push"
    await here.add_certificate(PULL, "fp-second", b"PEM 2", at=T0)
    owner = await here.agency_for_certificate("fp-second")
    assert owner is not None and owner.code == PULL


async def test_reads_without_changes_do_not_reload_the_registry(
    pair: tuple[Store, Store],
) -> None:
    here, _ = pair
    await here.get_agency(SENDER)
    cache = _cache(here)
    loads = cache.loads
    for _ in range(50):
        assert await here.get_agency(SENDER) is not None
        assert await here.agency_for_token(f"token-hash-{SENDER}") is not None
        assert await here.agency_for_certificate(f"fp-{PULL}") is not None
    assert cache.loads == loads


async def test_changes_made_here_patch_the_snapshot_instead_of_reloading_it(
    pair: tuple[Store, Store],
) -> None:
    """A burst of changes (an import) costs one whole reload per check, not one per change."""
    here, _ = pair
    await here.get_agency(SENDER)
    cache = _cache(here)
    cache._max_age_s = 3600.0  # no version check falls due during the burst
    loads = cache.loads
    for n in range(10):
        code = f"000.00.00.H{n:02d}"
        await register(here, code, aliases=(f"H{n:02d}.00.00",))
        found = await here.get_agency(f"h{n:02d}.00.00")
        assert found is not None and found.code == code
        assert (await here.agency_for_token(f"token-hash-{code}")) == found
        assert (await here.agency_for_certificate(f"fp-{code}")) == found
    await here.set_agency_state(PULL, "disabled", at=T0)
    pull = await here.get_agency(PULL)
    assert pull is not None and pull.state == "disabled"
    assert cache.loads == loads  # eleven changes, each patched in, no whole reload
    # a miss is still confirmed against the version (which moved: one reload)
    await here.revoke_tokens(SENDER, T0)
    assert await here.agency_for_token(f"token-hash-{SENDER}") is None
    await here.remove_certificate(PULL, f"fp-{PULL}", at=T0)
    assert await here.agency_for_certificate(f"fp-{PULL}") is None
    pull = await here.get_agency(PULL)
    assert pull is not None and pull.certificate_fingerprints == ()


async def test_a_change_by_plain_sql_moves_the_registry_version(tmp_path: Path) -> None:
    """The triggers, not the store's verbs, bump the version: any writer is seen."""
    path = tmp_path / "axis.sqlite"
    async with SqliteStore(path) as store:
        await register(store, SENDER)
        assert await store.agency_for_token(f"token-hash-{SENDER}") is not None
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE tokens SET revoked_at = '2026-01-01T00:00:00.000000+00:00'")

        async def refused() -> bool:
            return await store.agency_for_token(f"token-hash-{SENDER}") is None

        await eventually(refused, what="the token revoked by plain SQL to be refused")
