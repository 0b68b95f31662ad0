"""VDXP systems and pull reports on SQLite: reads and write jobs with their SQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from edoc_axis.errors import NotFound
from edoc_axis.store.base import AgencyExists
from edoc_axis.store.codec import SQLITE, from_db, status_record, to_db
from edoc_axis.store.records import StoredStatus, SystemState, VdxpReport, VdxpSystem
from edoc_axis.store.sqlite_reads import require_code
from edoc_axis.store.sqlite_writer import WriteContext

_SELECT_SYSTEM = "SELECT * FROM vdxp_systems WHERE system_id = :system_id"
_SELECT_SYSTEMS = "SELECT * FROM vdxp_systems ORDER BY system_id"
_SELECT_BINDINGS = """
SELECT agency_code FROM vdxp_system_agencies WHERE system_id = :system_id ORDER BY position"""
_INSERT_SYSTEM = """
INSERT INTO vdxp_systems (system_id, state, sealed_secret, created_at, secret_set_at)
VALUES (:system_id, 'active', :sealed, :at, :at)"""
_INSERT_BINDING = """
INSERT OR IGNORE INTO vdxp_system_agencies (system_id, agency_code, position)
VALUES (:system_id, :code, :position)"""
_UPDATE_SEALED = """
UPDATE vdxp_systems SET sealed_secret = :sealed, secret_set_at = :at WHERE system_id = :system_id"""
_UPDATE_STATE = "UPDATE vdxp_systems SET state = :state WHERE system_id = :system_id"
_INSERT_REPORT = """
INSERT OR IGNORE INTO vdxp_reports (message_id, recipient_code, report, at)
VALUES (:message_id, :recipient, :report, :at)"""
_FAIL_DELIVERY = """
UPDATE deliveries SET state = 'dead', last_error = :reason, lease_until = NULL, lease_owner = NULL
WHERE recipient_code = :recipient AND state IN ('pending', 'delivered')
  AND document_seq = (SELECT seq FROM documents WHERE axis_id = :message_id)"""
_REPORTS_OF = """
SELECT report FROM vdxp_reports WHERE message_id = :message_id AND recipient_code = :recipient"""
# Statuses addressed to the agency that it has not reported ``done`` for, oldest
# first, through the partial index of those (migration 0011: its trigger marks a
# status when the addressee's ``done`` report is stored).
_UNREPORTED_STATUSES = """
SELECT s.*, d.document_id FROM statuses s JOIN documents d ON d.axis_id = s.axis_id
WHERE s.to_code = :code AND s.reported_done = 0
ORDER BY s.seq LIMIT :limit"""

# The latest statuses the agency sent, returned oldest first.
_STATUSES_FROM = """
SELECT * FROM (
    SELECT s.*, d.document_id FROM statuses s JOIN documents d ON d.axis_id = s.axis_id
    WHERE s.from_code = :code AND s.kind = 'status' ORDER BY s.seq DESC LIMIT :limit
) ORDER BY seq"""


def _system(conn: sqlite3.Connection, row: sqlite3.Row) -> VdxpSystem:
    bound = conn.execute(_SELECT_BINDINGS, {"system_id": row["system_id"]}).fetchall()
    return VdxpSystem(
        system_id=row["system_id"],
        state=row["state"],
        agencies=tuple(r[0] for r in bound),
        sealed_secret=bytes(row["sealed_secret"]),
        created_at=from_db(row["created_at"]),
        secret_set_at=from_db(row["secret_set_at"]),
    )


def get_system(conn: sqlite3.Connection, system_id: str) -> VdxpSystem | None:
    row = conn.execute(_SELECT_SYSTEM, {"system_id": system_id}).fetchone()
    return None if row is None else _system(conn, row)


def list_systems(conn: sqlite3.Connection) -> list[VdxpSystem]:
    return [_system(conn, row) for row in conn.execute(_SELECT_SYSTEMS).fetchall()]


def _require_system(conn: sqlite3.Connection, system_id: str) -> VdxpSystem:
    system = get_system(conn, system_id)
    if system is None:
        raise NotFound(f"no VDXP system {system_id!r}")
    return system


def create_system(
    ctx: WriteContext, system_id: str, agencies: Sequence[str], sealed: bytes, at: datetime
) -> VdxpSystem:
    if not agencies:
        raise ValueError("a VDXP system must be bound to at least one agency")
    codes = [require_code(ctx.conn, code) for code in agencies]
    params = {"system_id": system_id, "sealed": sealed, "at": to_db(at)}
    try:
        ctx.conn.execute(_INSERT_SYSTEM, params)
    except sqlite3.IntegrityError as exc:
        raise AgencyExists(f"VDXP system {system_id!r} is already registered") from exc
    for position, code in enumerate(codes):
        binding = {"system_id": system_id, "code": code, "position": position}
        ctx.conn.execute(_INSERT_BINDING, binding)
    detail = {"system_id": system_id, "agencies": codes}
    ctx.audit("vdxp.system_created", at, agency=codes[0], detail=detail)
    return _require_system(ctx.conn, system_id)


def set_system_secret(ctx: WriteContext, system_id: str, sealed: bytes, at: datetime) -> VdxpSystem:
    _require_system(ctx.conn, system_id)
    ctx.conn.execute(_UPDATE_SEALED, {"system_id": system_id, "sealed": sealed, "at": to_db(at)})
    ctx.audit("vdxp.secret_rotated", at, detail={"system_id": system_id})
    return _require_system(ctx.conn, system_id)


def set_system_state(
    ctx: WriteContext, system_id: str, state: SystemState, at: datetime
) -> VdxpSystem:
    if state not in ("active", "disabled"):
        raise ValueError(f"system state must be active or disabled, not {state!r}")
    _require_system(ctx.conn, system_id)
    ctx.conn.execute(_UPDATE_STATE, {"system_id": system_id, "state": state})
    ctx.audit("vdxp.system_state_changed", at, detail={"system_id": system_id, "state": state})
    return _require_system(ctx.conn, system_id)


def record_report(
    ctx: WriteContext,
    message_id: str,
    recipient_code: str,
    report: VdxpReport,
    reason: str | None,
    at: datetime,
) -> bool:
    params = {"message_id": message_id, "recipient": recipient_code, "report": report}
    inserted = ctx.conn.execute(_INSERT_REPORT, {**params, "at": to_db(at)}).rowcount == 1
    if not inserted:
        return False  # replayed: the first report already counted
    if report == "fail":
        failed = {"message_id": message_id, "recipient": recipient_code, "reason": reason}
        ctx.conn.execute(_FAIL_DELIVERY, failed)
    detail = {"report": report, "reason": reason} if reason else {"report": report}
    ctx.audit("vdxp.reported", at, axis_id=message_id, agency=recipient_code, detail=detail)
    return True


def reports_of(conn: sqlite3.Connection, message_id: str, recipient_code: str) -> set[str]:
    params = {"message_id": message_id, "recipient": recipient_code}
    return {str(r[0]) for r in conn.execute(_REPORTS_OF, params).fetchall()}


def unreported_statuses(
    conn: sqlite3.Connection, agency_code: str, limit: int
) -> list[StoredStatus]:
    rows = conn.execute(_UNREPORTED_STATUSES, {"code": agency_code, "limit": limit}).fetchall()
    return [status_record(r, SQLITE) for r in rows]


def statuses_from(conn: sqlite3.Connection, agency_code: str, limit: int) -> list[StoredStatus]:
    rows = conn.execute(_STATUSES_FROM, {"code": agency_code, "limit": limit}).fetchall()
    return [status_record(r, SQLITE) for r in rows]
