"""FED-*: the suite as a peer axis passes against our axis, cleans up, and catches faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from edoc_axis.config import AxisConfig, load_config
from edoc_axis.conformance import Outcome, Result, RunContext, run_cases, select, set_up
from edoc_axis.conformance.runner import axis_catalogue
from edoc_axis.conformance.setup import remove_test_agencies
from edoc_axis.core import delivery_auth
from edoc_axis.runtime import AxisRuntime
from edoc_axis.server import relay as relay_server
from edoc_axis.store.factory import open_store
from tests.conformance import explain, failed_ids, small_limit_home
from tests.pg_server import create_database, drop_database, run_sync

FED_IDS = {f"FED-00{n}" for n in range(1, 7)}


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (SQLite), or the DSN of a new empty PostgreSQL database of this test's own."""
    if request.param == "sqlite":
        yield None
        return
    admin: str = request.getfixturevalue("postgres_dsn")
    dsn = run_sync(lambda: create_database(admin))
    yield dsn
    run_sync(lambda: drop_database(admin, dsn))


@asynccontextmanager
async def _axis(
    root: Path, max_hops: int = 4, dsn: str | None = None
) -> AsyncIterator[tuple[str, AxisConfig]]:
    """Our axis in-process; over PostgreSQL with ``dsn`` (setup writes into that store too)."""
    path = small_limit_home(root)
    text = path.read_text(encoding="utf-8")
    assert "max_hops = 4 " in text
    text = text.replace("max_hops = 4 ", f"max_hops = {max_hops} ")
    if dsn is not None:
        text = text.replace('backend = "sqlite"', f'backend = "postgresql"\ndsn = "{dsn}"', 1)
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    store = await open_store(config, migrate=dsn is not None)
    runtime = AxisRuntime(config, store)
    try:
        yield await runtime.start(port=0), config
    finally:
        await runtime.stop()
        await store.close()


async def _admin(url: str, config: AxisConfig, path: str) -> Any:
    headers = {"Authorization": f"Bearer {config.operator_token()}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url + path, headers=headers) as response,
    ):
        assert response.status == 200
        return await response.json()


async def _run_fed(url: str, config: AxisConfig) -> tuple[list[Result], tuple[str, ...], str]:
    target = await set_up(url, config)
    assert target.peer is not None and target.test_peers == (target.peer.name,)
    async with RunContext(target) as ctx:
        results = await run_cases(select(axis_catalogue(), ["FED-*"]), ctx, timeout_s=30)
    return results, target.test_agencies, target.peer.name


async def test_fed_cases_pass_and_the_run_leaves_nothing_behind(
    tmp_path: Path, backend: str | None
) -> None:
    # A hop limit other than the default: FED-005 takes it from the configuration.
    async with _axis(tmp_path / "home", max_hops=3, dsn=backend) as (url, config):
        results, codes, peer = await _run_fed(url, config)
        assert {r.case.id for r in results} == FED_IDS
        assert all(r.outcome is Outcome.PASS for r in results), explain(results)
        # The peer's agencies are test agencies, so the relayed documents (FED-003,
        # FED-005) go with the recipient and nothing blocks the removal.
        registry = await _admin(url, config, "/admin/v1/agencies")
        remote = [a for a in registry["agencies"] if a["code"].endswith((".R.1", ".R.2"))]
        assert len(remote) == 2 and all(a["test"] for a in remote), remote
        removed = await remove_test_agencies(url, config.operator_token(), codes, peers=(peer,))
        assert {r["code"] for r in removed} == set(codes)
        assert sum(int(r["removed"]["documents"]) for r in removed) >= 3
        assert (await _admin(url, config, "/admin/v1/agencies"))["agencies"] == []
        peers = (await _admin(url, config, "/admin/v1/peers"))["items"]
        assert [(p["name"], p["state"]) for p in peers] == [(peer, "disabled")]


async def test_an_axis_that_checks_neither_path_nor_peer_signature_fails_those_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def any_path(path: tuple[str, ...], own_name: str, max_hops: int) -> None:
        return None

    def unsigned(headers: dict[str, str], body: bytes, *args: object) -> object:
        return delivery_auth.DeliveryFacts(
            kind=headers[delivery_auth.H_KIND],
            axis_id=headers[delivery_auth.H_ID],
            sender=headers[delivery_auth.H_SENDER],
            recipient=headers[delivery_auth.H_RECIPIENT],
            attempt=1,
            timestamp=0,
        )

    monkeypatch.setattr("edoc_axis.core.federation.check_path", any_path)
    monkeypatch.setattr(relay_server, "verify_delivery", unsigned)
    async with _axis(tmp_path / "home") as (url, config):
        results, _, _ = await _run_fed(url, config)
    assert failed_ids(results) == {"FED-001", "FED-002", "FED-005"}, explain(results)
