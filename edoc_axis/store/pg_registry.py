"""Write verbs for the agency registry on PostgreSQL (each inside its transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from edoc_axis.errors import NotFound
from edoc_axis.store import pg_queries as q
from edoc_axis.store.base import AgencyExists, AgencyNotRemovable
from edoc_axis.store.pg_reads import agency_by_canonical, require_code, resolve_code
from edoc_axis.store.pg_writer import PgWrite
from edoc_axis.store.records import Agency, AgencyState, DeliveryMode, NewAgency
from edoc_axis.store.shared import (
    audit_agency_created,
    check_agency_state,
    check_endpoint,
    new_agency_codes,
)


async def _reread(w: PgWrite, code: str) -> Agency:
    agency = await agency_by_canonical(w.conn, code)
    if agency is None:  # we are inside the transaction that just wrote it
        raise RuntimeError(f"agency {code!r} vanished inside its own transaction")
    return agency


async def create_agency(
    w: PgWrite,
    agency: NewAgency,
    token_hash: str,
    certificates: Sequence[tuple[str, bytes]],
    at: datetime,
) -> Agency:
    agency, codes = new_agency_codes(agency)
    # The pre-check only makes the message precise; the unique keys decide.
    for code in codes:
        owner = await resolve_code(w.conn, code)
        if owner is not None:
            raise AgencyExists(f"code {code!r} is already registered to {owner!r}")
    try:
        await w.conn.execute(
            q.INSERT_AGENCY,
            agency.code,
            agency.name,
            agency.delivery_mode,
            agency.endpoint_url,
            at,
            agency.test,
            agency.peer,
        )
        for code in codes:
            await w.conn.execute(q.INSERT_AGENCY_CODE, code, agency.code, code == agency.code)
    except asyncpg.UniqueViolationError as exc:
        raise AgencyExists(f"agency {agency.code!r} is already registered") from exc
    for fingerprint, pem in certificates:
        await _insert_certificate(w, agency.code, fingerprint, pem, at)
    # A remote agency (served by a peer axis) never calls this axis: no token.
    if agency.peer is None and (
        await w.conn.fetchval(q.INSERT_BEARER_HASH, token_hash, agency.code, at) is None
    ):
        raise ValueError("this token hash was used before; issue a fresh token")
    audit_agency_created(w, agency, certificates, at)
    return await _reread(w, agency.code)


async def _insert_certificate(
    w: PgWrite, code: str, fingerprint: str, pem: bytes, at: datetime
) -> None:
    try:
        await w.conn.execute(q.INSERT_CERTIFICATE, fingerprint, code, pem, at)
    except asyncpg.UniqueViolationError as exc:
        raise AgencyExists(f"certificate {fingerprint} is already registered") from exc


async def set_agency_state(w: PgWrite, code: str, state: AgencyState, at: datetime) -> Agency:
    check_agency_state(state)
    canonical = await require_code(w.conn, code)
    await w.conn.execute(q.UPDATE_AGENCY_STATE, canonical, state)
    w.audit("agency.state_changed", at, agency=canonical, detail={"state": state})
    return await _reread(w, canonical)


async def update_endpoint(
    w: PgWrite, code: str, mode: DeliveryMode, url: str | None, at: datetime
) -> Agency:
    check_endpoint(mode, url)
    canonical = await require_code(w.conn, code)
    await w.conn.execute(q.UPDATE_AGENCY_ENDPOINT, canonical, mode, url)
    moved = int(await w.conn.fetchval(q.UPDATE_PENDING_MODE, canonical, mode))
    if moved and mode == "push":
        w.work_became_due()
    detail = {"delivery_mode": mode, "endpoint_url": url, "pending_moved": moved}
    w.audit("agency.endpoint_updated", at, agency=canonical, detail=detail)
    return await _reread(w, canonical)


async def add_certificate(
    w: PgWrite, code: str, fingerprint: str, pem: bytes, at: datetime
) -> None:
    canonical = await require_code(w.conn, code)
    await _insert_certificate(w, canonical, fingerprint, pem, at)
    w.audit("agency.certificate_added", at, agency=canonical, detail={"fingerprint": fingerprint})


async def remove_certificate(w: PgWrite, code: str, fingerprint: str, at: datetime) -> None:
    canonical = await require_code(w.conn, code)
    if await w.conn.fetchval(q.DELETE_CERTIFICATE, fingerprint, canonical) is None:
        raise NotFound(f"agency {canonical!r} has no certificate {fingerprint}")
    w.audit("agency.certificate_removed", at, agency=canonical, detail={"fingerprint": fingerprint})


async def rotate_token(w: PgWrite, code: str, new_token_hash: str, at: datetime) -> None:
    canonical = await require_code(w.conn, code)
    revoked = int(await w.conn.fetchval(q.REVOKE_BEARER_HASHES, canonical, at))
    if await w.conn.fetchval(q.INSERT_BEARER_HASH, new_token_hash, canonical, at) is None:
        raise ValueError("this token hash was used before; issue a fresh token")
    w.audit("agency.token_rotated", at, agency=canonical, detail={"revoked": revoked})


async def revoke_tokens(w: PgWrite, code: str, at: datetime) -> None:
    canonical = await require_code(w.conn, code)
    revoked = int(await w.conn.fetchval(q.REVOKE_BEARER_HASHES, canonical, at))
    w.audit("agency.tokens_revoked", at, agency=canonical, detail={"revoked": revoked})


async def _documents_of_test_agency(conn: asyncpg.Connection, code: str) -> list[asyncpg.Record]:
    """Every document the agency sent or was sent, found by key when it can be.

    When some document was sent to it by an agency that is not a test agency,
    they are looked for among every delivery, and the removal is then refused.
    """
    from_tests = await conn.fetchval(q.DELIVERIES_FROM_TEST_AGENCIES, code)
    if from_tests == await conn.fetchval(q.DELIVERIES_TO, code):
        return list(await conn.fetch(q.TEST_AGENCY_DOCUMENTS_FROM_TESTS, code))
    return list(await conn.fetch(q.TEST_AGENCY_DOCUMENTS, code))


async def remove_test_agency(w: PgWrite, code: str, at: datetime) -> dict[str, int]:
    """Delete a test agency with every document it sent or was sent, and their statuses.

    Only a test agency, and only if none of those documents involves an agency
    that is not a test agency (nothing a real agency sent or got is ever lost).
    The audit log keeps every event about them; this one says what went. The
    agency's row is locked first, so no node adds a document for it meanwhile.
    """
    canonical = await require_code(w.conn, code)
    test = await w.conn.fetchval(q.LOCK_AGENCY, canonical)
    if not test:
        raise AgencyNotRemovable(
            f"{canonical} is not a test agency; only test agencies are removed"
        )
    documents = await _documents_of_test_agency(w.conn, canonical)
    for row in documents:
        real = await w.conn.fetch(q.REAL_PARTIES_OF_DOCUMENT, row["seq"])
        if real:
            raise AgencyNotRemovable(
                f"{canonical} exchanged document {row['axis_id']} with {real[0][0]}, "
                "which is not a test agency"
            )
    shas: set[str] = set()
    statuses = 0
    for row in documents:
        status_shas = await w.conn.fetch(q.DELETE_STATUSES_OF_DOCUMENT, row["axis_id"])
        statuses += len(status_shas)
        shas.update(r[0] for r in status_shas)
        shas.add(row["sha256"])
        await w.conn.execute(q.DELETE_DELIVERIES_OF_DOCUMENT, row["seq"])
        await w.conn.execute(q.DELETE_DOCUMENT, row["seq"])
    for sha256 in sorted(shas):
        await w.conn.execute(q.DELETE_UNUSED_BLOB, sha256)
    await w.conn.execute(q.DELETE_AGENCY_VDXP_REPORTS, canonical)
    await w.conn.execute(q.DELETE_AGENCY_VDXP_BINDINGS, canonical)
    deleted = await w.conn.execute(q.DELETE_UNBOUND_VDXP_SYSTEMS)
    systems = int(deleted.split()[-1])  # the command tag: "DELETE n"
    for statement in (
        q.DELETE_AGENCY_TOKENS,
        q.DELETE_AGENCY_CERTIFICATES,
        q.DELETE_AGENCY_CODES,
        q.DELETE_AGENCY,
    ):
        await w.conn.execute(statement, canonical)
    removed = {"documents": len(documents), "statuses": statuses}
    detail: dict[str, object] = {"test": True, **removed}
    if systems:
        detail["vdxp_systems"] = systems
    w.audit("agency.removed", at, agency=canonical, detail=detail)
    return removed
