"""Store fixtures. ``store`` is parametrized over backends so the contract tests
run unchanged against each one: SQLite in a temporary file, PostgreSQL in a
schema of its own in the session's database (see ``postgres_dsn``)."""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edoc_axis.store import NewAgency, NewDocument, NewStatus, SqliteStore, Store

BACKENDS = ["sqlite", "postgresql"]
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)

SENDER = "000.00.00.G01"
PULL = "000.00.00.G02"
PUSH = "000.00.00.G03"
ENDPOINT = "https://g03.example.test/edoc"


def at(seconds: float) -> datetime:
    """T0 plus some seconds: tests speak in offsets."""
    return T0 + timedelta(seconds=seconds)


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def make_backend(name: str, request: pytest.FixtureRequest, path: Path) -> Store:
    if name == "sqlite":
        return SqliteStore(path / "axis.sqlite")
    if name == "postgresql":
        from edoc_axis.store.postgresql import PostgresStore

        dsn = request.getfixturevalue("postgres_dsn")
        schema = f"t_{secrets.token_hex(6)}"
        return PostgresStore(dsn, migrate=True, schema=schema, min_size=1, max_size=10)
    raise ValueError(name)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend = make_backend(request.param, request, tmp_path)
    await backend.open()
    yield backend
    await backend.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    backend = SqliteStore(tmp_path / "axis.sqlite")
    await backend.open()
    yield backend
    await backend.close()


async def register(store: Store, code: str, *, mode: str = "pull", aliases=()) -> None:
    url = ENDPOINT if mode == "push" else None
    agency = NewAgency(code, f"Agency {code}", tuple(aliases), mode, url)  # type: ignore[arg-type]
    await store.create_agency(
        agency, f"token-hash-{code}", [(f"fp-{code}", b"PEM " + code.encode())], T0
    )


async def register_parties(store: Store) -> Store:
    """A sender, a pull recipient and a push recipient."""
    await register(store, SENDER, aliases=("G01.00.00", "28.22.H17"))
    await register(store, PULL)
    await register(store, PUSH, mode="push")
    return store


@pytest.fixture
async def agencies(store: Store) -> Store:
    """A sender, a pull recipient and a push recipient."""
    return await register_parties(store)


_ids = itertools.count(1)

DocFactory = Callable[..., NewDocument]


@pytest.fixture
def make_doc() -> DocFactory:
    """NewDocument builder; raw bytes carry a BOM and CRLF to prove byte-exact storage."""

    def build(
        document_id: str | None = None,
        *,
        sender: str = SENDER,
        recipients: tuple[str, ...] = (PULL, PUSH),
        body: str = "nội dung",
        received_at: datetime = T0,
        axis_id: str | None = None,
    ) -> NewDocument:
        n = next(_ids)
        document_id = document_id or f"{n}/QD-UBND,{n}"
        raw = b"\xef\xbb\xbf<?xml version='1.0'?>\r\n<doc>" + body.encode() + b"</doc>\r\n"
        return NewDocument(
            axis_id=axis_id or f"ax-{n:06d}",
            sender_code=sender,
            document_id=document_id,
            kind="document",
            business_type=0,
            references_document_id=None,
            subject=f"Subject {n}",
            sha256=sha(raw),
            raw=raw,
            received_at=received_at,
            receipt=b"<receipt n='" + str(n).encode() + b"'/>",
            recipients=recipients,
        )

    return build


def make_status(
    axis_id: str,
    code: str,
    *,
    status_id: str,
    from_code: str = PULL,
    to_code: str = SENDER,
    received_at: datetime = T0,
) -> NewStatus:
    raw = f"<status id='{status_id}' code='{code}'/>".encode()
    return NewStatus(
        status_id=status_id,
        axis_id=axis_id,
        from_code=from_code,
        to_code=to_code,
        status_code=code,
        raw=raw,
        sha256=sha(raw),
        timestamp=received_at,
        received_at=received_at,
    )


async def postgresql_plans(
    dsn: str, statements: dict[str, tuple[str, tuple[object, ...]]]
) -> dict[str, str]:
    """EXPLAIN of each (SQL, arguments) on a new store's empty tables, by name.

    Sequential scans are off: on empty tables the planner would rather scan,
    and the tests want to see which index a query can go through.
    """
    import asyncpg

    from edoc_axis.store.postgresql import PostgresStore

    schema = f"t_{secrets.token_hex(6)}"
    async with PostgresStore(dsn, schema=schema, migrate=True, listen=False):
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        try:
            await conn.execute("SET enable_seqscan = off")
            return {
                name: "\n".join(row[0] for row in await conn.fetch("EXPLAIN " + sql, *args))
                for name, (sql, args) in statements.items()
            }
        finally:
            await conn.close()
