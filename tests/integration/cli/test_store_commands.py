"""`edoc-axis migrate`, `serve` on a store that is behind, and `edoc-axis store copy`,
run in-process against a real home and a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import structlog

from edoc_axis.cli.axis import main
from edoc_axis.config import load_config
from edoc_axis.home import init_home
from edoc_axis.store import Delivered, NewAgency, NewDocument, NewStatus, Store
from edoc_axis.store.factory import open_store
from edoc_axis.store.migrate import bundled_migrations
from edoc_axis.store.postgresql import PostgresStore
from tests.pg_server import create_database, drop_database, run_sync

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
G22, H49, G14 = "000.00.00.G22", "000.00.00.H49", "000.00.00.G14"


@pytest.fixture
def database(postgres_dsn: str) -> Iterator[str]:
    """A new empty database of this test's own."""
    dsn = run_sync(lambda: create_database(postgres_dsn))
    yield dsn
    run_sync(lambda: drop_database(postgres_dsn, dsn))


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """`serve` run in-process points structlog at this test's captured stderr,
    which is closed afterwards: later tests' log lines would fail on it."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def pg_home(tmp_path: Path, dsn: str) -> Path:
    created = init_home(tmp_path / "home")
    text = created.config.read_text(encoding="utf-8")
    text = text.replace('backend = "sqlite"', f'backend = "postgresql"\ndsn = "{dsn}"', 1)
    created.config.write_text(text, encoding="utf-8")
    return created.config


def test_migrate_then_serve_on_postgresql(
    tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = pg_home(tmp_path, database)
    # serve as its own process: it configures logging for the whole process
    serve = subprocess.run(
        [str(Path(sys.executable).parent / "edoc-axis"), "serve", "--config", str(config),
         "--port", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    code, err = serve.returncode, serve.stderr
    assert code == 1
    assert err.startswith("store.schema-behind: ")
    assert "0001_initial" in err and "edoc-axis migrate" in err
    code, out, _ = run(capsys, "migrate", "--config", str(config))
    bundled = bundled_migrations("postgresql")
    assert (code, out.splitlines()[: len(bundled)]) == (
        0,
        [f"applied {m.version:04d}_{m.name}" for m in bundled],
    )
    assert f"schema version {bundled[-1].version}" in out
    code, out, _ = run(capsys, "migrate", "--config", str(config), "--json")
    assert json.loads(out)["applied"] == []
    code, out, _ = run(capsys, "audit", "verify", "--config", str(config))
    assert (code, out.split(":")[0]) == (0, "audit chain intact")


def test_the_dsn_may_come_from_the_environment(
    tmp_path: Path,
    database: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = pg_home(tmp_path, "postgresql://nobody@127.0.0.1:1/wrong")
    monkeypatch.setenv("EDOC_AXIS_DSN", database)
    code, out, _ = run(capsys, "migrate", "--config", str(config))
    assert code == 0 and "applied 0001_initial" in out


def test_migrate_on_sqlite_says_it_is_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = init_home(tmp_path / "home").config
    code, out, _ = run(capsys, "migrate", "--config", str(config))
    assert code == 0
    assert "applied 0001_initial" in out  # init leaves the store to be created
    code, out, _ = run(capsys, "migrate", "--config", str(config))
    latest = bundled_migrations("sqlite")[-1].version
    assert f"up to date (schema version {latest}); nothing applied" in out


async def _fill(store: Store) -> list[str]:
    """Agencies, documents (one large), deliveries in every state, statuses, notices."""
    for code, mode, url in ((G22, "pull", None), (H49, "push", "http://x/e"), (G14, "pull", None)):
        await store.create_agency(
            NewAgency(code, f"Agency {code}", (f"{code}.alias",), mode, url),  # type: ignore[arg-type]
            hashlib.sha256(code.encode()).hexdigest(),
            [(f"fp-{code}", b"PEM")],
            NOW,
        )
    # A test agency (agencies.test) is copied as one.
    await store.create_agency(
        NewAgency("CFTEST.1", "Conformance", (), "pull", None, test=True),
        hashlib.sha256(b"CFTEST.1").hexdigest(),
        [],
        NOW,
    )
    axis_ids = []
    for n in range(12):
        raw = b"\xef\xbb\xbf<edXML n='%d'/>\r\n" % n + (b"x" * 3_000_000 if n == 5 else b"")
        doc = NewDocument(
            axis_id=f"ax{n}",
            sender_code=G22,
            document_id=f"{n}/VPCP",
            kind="document",
            business_type=0,
            references_document_id=None,
            subject=f"Văn bản {n}",
            sha256=hashlib.sha256(raw).hexdigest(),
            raw=raw,
            received_at=NOW + timedelta(seconds=n),
            receipt=b"<receipt/>",
            recipients=(H49, G14),
        )
        await store.accept_document(doc)
        axis_ids.append(doc.axis_id)
    for claim in await store.claim_due_deliveries(NOW + timedelta(minutes=1), 6, 60, "w"):
        await store.record_outcome(claim.delivery_id, claim.attempt, Delivered(), NOW)
    for axis_id in axis_ids[:4]:
        await store.acknowledge(axis_id, G14, NOW + timedelta(minutes=2))
        raw = f"<status of='{axis_id}'/>".encode()
        await store.record_status(
            NewStatus(
                status_id=f"st-{axis_id}",
                axis_id=axis_id,
                from_code=G14,
                to_code=G22,
                status_code="01",
                raw=raw,
                sha256=hashlib.sha256(raw).hexdigest(),
                timestamp=NOW,
                received_at=NOW + timedelta(minutes=3),
            ),
            None,
        )
    # A recall and its answer carry their round (statuses.recall_round).
    for status_id, code, sender, to in (("rc-13", "13", G22, G14), ("rc-15", "15", G14, G22)):
        raw = f"<status id='{status_id}'/>".encode()
        await store.record_status(
            NewStatus(
                status_id=status_id,
                axis_id=axis_ids[0],
                from_code=sender,
                to_code=to,
                status_code=code,
                raw=raw,
                sha256=hashlib.sha256(raw).hexdigest(),
                timestamp=NOW,
                received_at=NOW + timedelta(minutes=4),
                recall_round=1,
            ),
            None,
            updates_progress=False,
        )
    # A VDXP system bound to two agencies (in that order) and a pull report.
    await store.create_system("vxp.saas.03", [G14, G22], b"sealed", NOW)
    await store.record_vdxp_report(axis_ids[5], G14, "processing", None, NOW)
    await store.append_audit("document.refused", NOW, agency=G22, detail={"code": "x"})
    return axis_ids


async def _snapshot(store: Store, axis_ids: list[str]) -> dict[str, object]:
    return {
        "agencies": await store.list_agencies(),
        "by_alias": await store.get_agency(f"{H49}.alias"),
        "by_token": await store.agency_for_token(hashlib.sha256(G14.encode()).hexdigest()),
        "pem": await store.certificate_pem(f"fp-{G22}"),
        "documents": [await store.get_document(a) for a in axis_ids],
        "bytes": [hashlib.sha256(await store.document_bytes(a)).hexdigest() for a in axis_ids],
        "deliveries": [await store.deliveries_of(a) for a in axis_ids],
        "statuses": [await store.statuses_of(a) for a in axis_ids],
        "status_bytes": await store.status_bytes(f"st-{axis_ids[0]}"),
        "inbox": await store.inbox(G14, 100),
        "feed": await store.statuses_for(G22),
        "audit": [e async for e in store.iter_audit()],
        "test_agencies": [a.code for a in await store.list_agencies() if a.test],
        "rounds": [(s.status_id, s.recall_round) for s in await store.statuses_of(axis_ids[0])],
        "systems": await store.list_systems(),
        "reports": await store.vdxp_reports(axis_ids[5], G14),
        # kept by the target's triggers, not copied (migration 0010)
        "delivery_figures": (await store.stats(NOW)).by_agency_state,
    }


def test_store_copy_moves_everything_and_the_chain_verifies(
    tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = init_home(tmp_path / "home").config
    config = load_config(config_path)

    async def fill_and_snapshot() -> tuple[list[str], dict[str, object]]:
        store = await open_store(config)
        try:
            axis_ids = await _fill(store)
            return axis_ids, await _snapshot(store, axis_ids)
        finally:
            await store.close()

    axis_ids, before = asyncio.run(fill_and_snapshot())
    assert before["test_agencies"] == ["CFTEST.1"]
    assert before["rounds"] == [(f"st-{axis_ids[0]}", None), ("rc-13", 1), ("rc-15", 1)]
    code, out, err = run(capsys, "store", "copy", "--config", str(config_path), "--to", database)
    assert code == 0, err
    assert "audit chain intact on the target" in out
    assert "blobs" in err  # progress per table

    async def after_copy() -> dict[str, object]:
        async with PostgresStore(database) as store:  # migrated by the copy
            snapshot = await _snapshot(store, axis_ids)
            conn = await asyncpg.connect(database)
            try:  # the copy folded the count changes its rows made
                assert await conn.fetchval("SELECT COUNT(*) FROM delivery_count_changes") == 0
            finally:
                await conn.close()
            # New rows continue after the copied ids and the chain goes on.
            raw = b"<after-copy/>"
            result = await store.accept_document(
                NewDocument(
                    axis_id="ax-new",
                    sender_code=G22,
                    document_id="new/1",
                    kind="document",
                    business_type=0,
                    references_document_id=None,
                    subject="s",
                    sha256=hashlib.sha256(raw).hexdigest(),
                    raw=raw,
                    received_at=NOW,
                    receipt=b"<r/>",
                    recipients=(G14,),
                )
            )
            assert result.created
            page = await store.documents_sent_by(G22, 100)
            assert [d.axis_id for d in page.items][-1] == "ax-new"
            assert (await store.verify_audit()).ok
            return snapshot

    assert asyncio.run(after_copy()) == before

    # A second copy into the same (now not empty) store is refused, changing nothing.
    code, _, err = run(capsys, "store", "copy", "--config", str(config_path), "--to", database)
    assert code == 1
    assert err.splitlines()[-1].startswith("store.copy-refused: the target store is not empty")


def test_store_copy_of_a_tampered_chain_fails_verification(
    tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = init_home(tmp_path / "home").config
    config = load_config(config_path)

    async def fill() -> None:
        store = await open_store(config)
        try:
            await _fill(store)
        finally:
            await store.close()

    asyncio.run(fill())
    with sqlite3.connect(config.store_path) as db:
        db.execute("UPDATE audit_log SET agency = 'someone else' WHERE seq = 5")
    code, out, _ = run(
        capsys, "store", "copy", "--config", str(config_path), "--to", database, "--json"
    )
    report = json.loads(out)
    assert code == 1
    assert (report["audit_ok"], report["audit_first_broken_seq"]) == (False, 5)
