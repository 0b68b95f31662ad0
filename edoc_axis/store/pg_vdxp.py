"""VDXP systems and pull reports on PostgreSQL: reads and write verbs with their SQL.

The twin of sqlite_vdxp.py. Races between nodes are settled by the keys:
a system id is taken once (ON CONFLICT DO NOTHING), and a report counts once
per (message, recipient, report), so a replayed ``updateStatus`` on any node
adds nothing and fails a delivery at most once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from edoc_axis.errors import NotFound
from edoc_axis.store.base import AgencyExists
from edoc_axis.store.pg_reads import require_code, status_from_row
from edoc_axis.store.pg_writer import PgWrite
from edoc_axis.store.records import StoredStatus, SystemState, VdxpReport, VdxpSystem

_SELECT_SYSTEM = "SELECT * FROM vdxp_systems WHERE system_id = $1"
_SELECT_SYSTEMS = "SELECT * FROM vdxp_systems ORDER BY system_id"
_SELECT_BINDINGS = """
SELECT agency_code FROM vdxp_system_agencies WHERE system_id = $1 ORDER BY position"""
_INSERT_SYSTEM = """
INSERT INTO vdxp_systems (system_id, state, sealed_secret, created_at, secret_set_at)
VALUES ($1, 'active', $2, $3, $3) ON CONFLICT (system_id) DO NOTHING RETURNING system_id"""
_INSERT_BINDING = """
INSERT INTO vdxp_system_agencies (system_id, agency_code, position) VALUES ($1, $2, $3)
ON CONFLICT (system_id, agency_code) DO NOTHING"""
_UPDATE_SEALED = """
UPDATE vdxp_systems SET sealed_secret = $2, secret_set_at = $3 WHERE system_id = $1
RETURNING system_id"""
_UPDATE_STATE = "UPDATE vdxp_systems SET state = $2 WHERE system_id = $1 RETURNING system_id"
_INSERT_REPORT = """
INSERT INTO vdxp_reports (message_id, recipient_code, report, at) VALUES ($1, $2, $3, $4)
ON CONFLICT (message_id, recipient_code, report) DO NOTHING RETURNING message_id"""
_FAIL_DELIVERY = """
UPDATE deliveries SET state = 'dead', last_error = $3, lease_until = NULL, lease_owner = NULL
WHERE recipient_code = $2 AND state IN ('pending', 'delivered')
  AND document_seq = (SELECT seq FROM documents WHERE axis_id = $1)"""
_REPORTS_OF = "SELECT report FROM vdxp_reports WHERE message_id = $1 AND recipient_code = $2"
# Statuses addressed to the agency that it has not reported ``done`` for, oldest
# first, through the partial index of those (migration 0011).
_UNREPORTED_STATUSES = """
SELECT s.*, d.document_id FROM statuses s JOIN documents d ON d.axis_id = s.axis_id
WHERE s.to_code = $1 AND NOT s.reported_done
ORDER BY s.seq LIMIT $2"""
# The latest statuses the agency sent, returned oldest first.
_STATUSES_FROM = """
SELECT * FROM (
    SELECT s.*, d.document_id FROM statuses s JOIN documents d ON d.axis_id = s.axis_id
    WHERE s.from_code = $1 AND s.kind = 'status' ORDER BY s.seq DESC LIMIT $2
) latest ORDER BY seq"""


async def _system(conn: asyncpg.Connection, row: asyncpg.Record) -> VdxpSystem:
    bound = await conn.fetch(_SELECT_BINDINGS, row["system_id"])
    return VdxpSystem(
        system_id=row["system_id"],
        state=row["state"],
        agencies=tuple(str(r[0]) for r in bound),
        sealed_secret=bytes(row["sealed_secret"]),
        created_at=row["created_at"],
        secret_set_at=row["secret_set_at"],
    )


async def get_system(conn: asyncpg.Connection, system_id: str) -> VdxpSystem | None:
    row = await conn.fetchrow(_SELECT_SYSTEM, system_id)
    return None if row is None else await _system(conn, row)


async def list_systems(conn: asyncpg.Connection) -> list[VdxpSystem]:
    return [await _system(conn, row) for row in await conn.fetch(_SELECT_SYSTEMS)]


async def _require_system(conn: asyncpg.Connection, system_id: str) -> VdxpSystem:
    system = await get_system(conn, system_id)
    if system is None:
        raise NotFound(f"no VDXP system {system_id!r}")
    return system


async def create_system(
    w: PgWrite, system_id: str, agencies: Sequence[str], sealed: bytes, at: datetime
) -> VdxpSystem:
    if not agencies:
        raise ValueError("a VDXP system must be bound to at least one agency")
    codes = [await require_code(w.conn, code) for code in agencies]
    if await w.conn.fetchval(_INSERT_SYSTEM, system_id, sealed, at) is None:
        raise AgencyExists(f"VDXP system {system_id!r} is already registered")
    for position, code in enumerate(codes):
        await w.conn.execute(_INSERT_BINDING, system_id, code, position)
    detail = {"system_id": system_id, "agencies": codes}
    w.audit("vdxp.system_created", at, agency=codes[0], detail=detail)
    return await _require_system(w.conn, system_id)


async def set_system_secret(w: PgWrite, system_id: str, sealed: bytes, at: datetime) -> VdxpSystem:
    if await w.conn.fetchval(_UPDATE_SEALED, system_id, sealed, at) is None:
        raise NotFound(f"no VDXP system {system_id!r}")
    w.audit("vdxp.secret_rotated", at, detail={"system_id": system_id})
    return await _require_system(w.conn, system_id)


async def set_system_state(
    w: PgWrite, system_id: str, state: SystemState, at: datetime
) -> VdxpSystem:
    if state not in ("active", "disabled"):
        raise ValueError(f"system state must be active or disabled, not {state!r}")
    if await w.conn.fetchval(_UPDATE_STATE, system_id, state) is None:
        raise NotFound(f"no VDXP system {system_id!r}")
    w.audit("vdxp.system_state_changed", at, detail={"system_id": system_id, "state": state})
    return await _require_system(w.conn, system_id)


async def record_report(
    w: PgWrite,
    message_id: str,
    recipient_code: str,
    report: VdxpReport,
    reason: str | None,
    at: datetime,
) -> bool:
    inserted = await w.conn.fetchval(_INSERT_REPORT, message_id, recipient_code, report, at)
    if inserted is None:
        return False  # replayed (on this node or another): the first report already counted
    if report == "fail":
        await w.conn.execute(_FAIL_DELIVERY, message_id, recipient_code, reason)
    detail = {"report": report, "reason": reason} if reason else {"report": report}
    w.audit("vdxp.reported", at, axis_id=message_id, agency=recipient_code, detail=detail)
    return True


async def reports_of(conn: asyncpg.Connection, message_id: str, recipient_code: str) -> set[str]:
    return {str(r[0]) for r in await conn.fetch(_REPORTS_OF, message_id, recipient_code)}


async def unreported_statuses(
    conn: asyncpg.Connection, agency_code: str, limit: int
) -> list[StoredStatus]:
    rows = await conn.fetch(_UNREPORTED_STATUSES, agency_code, limit)
    return [status_from_row(r) for r in rows]


async def statuses_from(
    conn: asyncpg.Connection, agency_code: str, limit: int
) -> list[StoredStatus]:
    rows = await conn.fetch(_STATUSES_FROM, agency_code, limit)
    return [status_from_row(r) for r in rows]
