"""Write jobs for the agency registry (run by the writer inside its transaction)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from edoc_axis.errors import NotFound
from edoc_axis.store import queries as q
from edoc_axis.store.base import AgencyExists, AgencyNotRemovable
from edoc_axis.store.codec import to_db
from edoc_axis.store.records import Agency, AgencyState, DeliveryMode, NewAgency
from edoc_axis.store.shared import (
    audit_agency_created,
    check_agency_state,
    check_endpoint,
    new_agency_codes,
)
from edoc_axis.store.sqlite_reads import agency_by_canonical, require_code, resolve_code
from edoc_axis.store.sqlite_writer import WriteContext


def _reread(ctx: WriteContext, code: str) -> Agency:
    agency = agency_by_canonical(ctx.conn, code)
    if agency is None:  # we are inside the transaction that just wrote it
        raise RuntimeError(f"agency {code!r} vanished inside its own transaction")
    return agency


def create_agency(
    ctx: WriteContext,
    agency: NewAgency,
    token_hash: str,
    certificates: Sequence[tuple[str, bytes]],
    at: datetime,
) -> Agency:
    agency, codes = new_agency_codes(agency)
    # The pre-check only makes the message precise; the UNIQUE keys decide.
    for code in codes:
        owner = resolve_code(ctx.conn, code)
        if owner is not None:
            raise AgencyExists(f"code {code!r} is already registered to {owner!r}")
    try:
        _insert_agency(ctx.conn, agency, codes, at)
        for fingerprint, pem in certificates:
            _insert_certificate(ctx.conn, agency.code, fingerprint, pem, at)
    except sqlite3.IntegrityError as exc:
        raise AgencyExists(f"agency {agency.code!r} is already registered") from exc
    if agency.peer is None:  # a remote agency (served by a peer axis) has no token
        ctx.conn.execute(
            q.INSERT_BEARER_HASH, {"token_hash": token_hash, "code": agency.code, "at": to_db(at)}
        )
    audit_agency_created(ctx, agency, certificates, at)
    return _reread(ctx, agency.code)


def _insert_agency(
    conn: sqlite3.Connection, agency: NewAgency, codes: tuple[str, ...], at: datetime
) -> None:
    conn.execute(
        q.INSERT_AGENCY,
        {
            "code": agency.code,
            "name": agency.name,
            "mode": agency.delivery_mode,
            "url": agency.endpoint_url,
            "at": to_db(at),
            "test": int(agency.test),
            "peer": agency.peer,
        },
    )
    for code in codes:
        params = {"code": code, "agency": agency.code, "canonical": int(code == agency.code)}
        conn.execute(q.INSERT_AGENCY_CODE, params)


def _insert_certificate(
    conn: sqlite3.Connection, code: str, fingerprint: str, pem: bytes, at: datetime
) -> None:
    params = {"fingerprint": fingerprint, "code": code, "pem": pem, "at": to_db(at)}
    try:
        conn.execute(q.INSERT_CERTIFICATE, params)
    except sqlite3.IntegrityError as exc:
        raise AgencyExists(f"certificate {fingerprint} is already registered") from exc


def set_agency_state(ctx: WriteContext, code: str, state: AgencyState, at: datetime) -> Agency:
    check_agency_state(state)
    canonical = require_code(ctx.conn, code)
    ctx.conn.execute(q.UPDATE_AGENCY_STATE, {"code": canonical, "state": state})
    ctx.audit("agency.state_changed", at, agency=canonical, detail={"state": state})
    return _reread(ctx, canonical)


def update_endpoint(
    ctx: WriteContext, code: str, mode: DeliveryMode, url: str | None, at: datetime
) -> Agency:
    check_endpoint(mode, url)
    canonical = require_code(ctx.conn, code)
    ctx.conn.execute(q.UPDATE_AGENCY_ENDPOINT, {"code": canonical, "mode": mode, "url": url})
    moved = ctx.conn.execute(q.UPDATE_PENDING_MODE, {"code": canonical, "mode": mode}).rowcount
    detail = {"delivery_mode": mode, "endpoint_url": url, "pending_moved": moved}
    ctx.audit("agency.endpoint_updated", at, agency=canonical, detail=detail)
    return _reread(ctx, canonical)


def add_certificate(
    ctx: WriteContext, code: str, fingerprint: str, pem: bytes, at: datetime
) -> None:
    canonical = require_code(ctx.conn, code)
    _insert_certificate(ctx.conn, canonical, fingerprint, pem, at)
    detail = {"fingerprint": fingerprint}
    ctx.audit("agency.certificate_added", at, agency=canonical, detail=detail)


def remove_certificate(ctx: WriteContext, code: str, fingerprint: str, at: datetime) -> None:
    canonical = require_code(ctx.conn, code)
    params = {"fingerprint": fingerprint, "code": canonical}
    if ctx.conn.execute(q.DELETE_CERTIFICATE, params).rowcount == 0:
        raise NotFound(f"agency {canonical!r} has no certificate {fingerprint}")
    detail = {"fingerprint": fingerprint}
    ctx.audit("agency.certificate_removed", at, agency=canonical, detail=detail)


def rotate_token(ctx: WriteContext, code: str, new_token_hash: str, at: datetime) -> None:
    canonical = require_code(ctx.conn, code)
    revoked = ctx.conn.execute(
        q.REVOKE_BEARER_HASHES, {"code": canonical, "at": to_db(at)}
    ).rowcount
    params = {"token_hash": new_token_hash, "code": canonical, "at": to_db(at)}
    try:
        ctx.conn.execute(q.INSERT_BEARER_HASH, params)
    except sqlite3.IntegrityError as exc:
        raise ValueError("this token hash was used before; issue a fresh token") from exc
    ctx.audit("agency.token_rotated", at, agency=canonical, detail={"revoked": revoked})


def revoke_tokens(ctx: WriteContext, code: str, at: datetime) -> None:
    canonical = require_code(ctx.conn, code)
    revoked = ctx.conn.execute(
        q.REVOKE_BEARER_HASHES, {"code": canonical, "at": to_db(at)}
    ).rowcount
    ctx.audit("agency.tokens_revoked", at, agency=canonical, detail={"revoked": revoked})


def _documents_of_test_agency(conn: sqlite3.Connection, code: str) -> list[sqlite3.Row]:
    """Every document the agency sent or was sent, found by key when it can be.

    When some document was sent to it by an agency that is not a test agency,
    they are looked for among every delivery, and the removal is then refused.
    """
    params = {"code": code}
    from_tests = conn.execute(q.DELIVERIES_FROM_TEST_AGENCIES, params).fetchone()[0]
    if from_tests == conn.execute(q.DELIVERIES_TO, params).fetchone()[0]:
        return conn.execute(q.TEST_AGENCY_DOCUMENTS_FROM_TESTS, params).fetchall()
    return conn.execute(q.TEST_AGENCY_DOCUMENTS, params).fetchall()


def remove_test_agency(ctx: WriteContext, code: str, at: datetime) -> dict[str, int]:
    """Delete a test agency with every document it sent or was sent, and their statuses.

    Only a test agency, and only if none of those documents involves an agency
    that is not a test agency (nothing a real agency sent or got is ever lost).
    The audit log keeps every event about them; this one says what went.
    """
    canonical = require_code(ctx.conn, code)
    agency = _reread(ctx, canonical)
    if not agency.test:
        raise AgencyNotRemovable(
            f"{canonical} is not a test agency; only test agencies are removed"
        )
    documents = _documents_of_test_agency(ctx.conn, canonical)
    for row in documents:
        real = ctx.conn.execute(q.REAL_PARTIES_OF_DOCUMENT, {"seq": row["seq"]}).fetchall()
        if real:
            raise AgencyNotRemovable(
                f"{canonical} exchanged document {row['axis_id']} with {real[0][0]}, "
                "which is not a test agency"
            )
    shas: set[str] = set()
    statuses = 0
    for row in documents:
        status_shas = ctx.conn.execute(q.STATUS_SHAS_OF_DOCUMENT, {"axis_id": row["axis_id"]})
        shas.update(r[0] for r in status_shas.fetchall())
        shas.add(row["sha256"])
        statuses += ctx.conn.execute(
            q.DELETE_STATUSES_OF_DOCUMENT, {"axis_id": row["axis_id"]}
        ).rowcount
        ctx.conn.execute(q.DELETE_DELIVERIES_OF_DOCUMENT, {"seq": row["seq"]})
        ctx.conn.execute(q.DELETE_DOCUMENT, {"seq": row["seq"]})
    for sha256 in sorted(shas):
        ctx.conn.execute(q.DELETE_UNUSED_BLOB, {"sha256": sha256})
    ctx.conn.execute(q.DELETE_AGENCY_VDXP_REPORTS, {"code": canonical})
    ctx.conn.execute(q.DELETE_AGENCY_VDXP_BINDINGS, {"code": canonical})
    systems = ctx.conn.execute(q.DELETE_UNBOUND_VDXP_SYSTEMS).rowcount
    for statement in (
        q.DELETE_AGENCY_TOKENS,
        q.DELETE_AGENCY_CERTIFICATES,
        q.DELETE_AGENCY_CODES,
        q.DELETE_AGENCY,
    ):
        ctx.conn.execute(statement, {"code": canonical})
    removed = {"documents": len(documents), "statuses": statuses}
    detail: dict[str, object] = {"test": True, **removed}
    if systems:
        detail["vdxp_systems"] = systems
    ctx.audit("agency.removed", at, agency=canonical, detail=detail)
    return removed
