"""Numbered migrations for PostgreSQL: the same files and bookkeeping as SQLite's.

Each migration runs in its own transaction holding an advisory lock, so two
nodes (or `edoc-axis migrate` run twice at once) never apply one twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from edoc_axis.store.migrate import Migration

# Any constant shared by every process that migrates this database.
_MIGRATION_LOCK = 0x65646F63  # "edoc"

_CREATE_BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
)


async def applied_versions(conn: asyncpg.Connection) -> set[int]:
    """Versions recorded in this database (empty when it was never migrated)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {int(row[0]) for row in await conn.fetch("SELECT version FROM schema_migrations")}


async def pending_migrations(
    conn: asyncpg.Connection, migrations: list[Migration]
) -> list[Migration]:
    done = await applied_versions(conn)
    return [m for m in migrations if m.version not in done]


async def apply_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[int]:
    """Apply what is missing, each in its own transaction; returns the versions applied now."""
    applied_now: list[int] = []
    for migration in migrations:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(_CREATE_BOOKKEEPING)
            done = await conn.fetchval(
                "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
            )
            if done is None:
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    datetime.now(UTC),
                )
                applied_now.append(migration.version)
    return applied_now
