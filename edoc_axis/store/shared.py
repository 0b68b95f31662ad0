"""What both backends' write verbs do alike, apart from the SQL: checks and audit details."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from edoc_axis.store.codec import to_db
from edoc_axis.store.records import (
    AgencyState,
    DeadLetter,
    Delivered,
    DeliveryMode,
    NewAgency,
    NewDocument,
    NewStatus,
    Outcome,
    RetryAt,
    StoredDocument,
)


class AuditSink(Protocol):
    """A write transaction's audit chain: SQLite's ``WriteContext``, PostgreSQL's ``PgWrite``."""

    def audit(
        self,
        event: str,
        at: datetime,
        *,
        axis_id: str | None = None,
        agency: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None: ...


def check_digest(raw: bytes, sha256: str) -> None:
    # Bytes are stored under their digest and shared by it, so a wrong digest
    # would hand someone else's document out; never trust it unchecked.
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise ValueError("sha256 is not the lowercase hex SHA-256 of raw")


def audit_accepted(sink: AuditSink, doc: NewDocument) -> None:
    """The ``document.accepted`` audit event of a newly stored document."""
    detail = {
        "document_id": doc.document_id,
        "kind": doc.kind,
        "sha256": doc.sha256,
        "recipients": list(doc.recipients),
    }
    sink.audit(
        "document.accepted",
        doc.received_at,
        axis_id=doc.axis_id,
        agency=doc.sender_code,
        detail=detail,
    )


def stored_as_written(doc: NewDocument) -> StoredDocument:
    """The record just written, from what was written: no read back inside the write."""
    return StoredDocument(
        axis_id=doc.axis_id,
        sender_code=doc.sender_code,
        document_id=doc.document_id,
        kind=doc.kind,
        business_type=doc.business_type,
        references_document_id=doc.references_document_id,
        subject=doc.subject,
        sha256=doc.sha256,
        size=len(doc.raw),
        received_at=doc.received_at.astimezone(UTC),  # as a read gives it back
        receipt=doc.receipt,
        recipients=doc.recipients,
        legacy_policy=doc.legacy_policy,
        relay_path=doc.relay_path,
    )


def status_recipient(status: NewStatus, document: StoredDocument) -> str:
    """The recipient whose delivery a status is about, whichever way it travels.

    Recipients write to the document's sender; the sender (recall, 13) writes
    to one recipient.
    """
    if status.from_code == document.sender_code:
        return status.to_code
    if status.to_code == document.sender_code:
        return status.from_code
    raise ValueError("a status message travels between the sender and a recipient")


def outcome_event(outcome: Outcome) -> tuple[str, dict[str, Any]]:
    """The audit event of a recorded push outcome, and what it adds to the detail."""
    if isinstance(outcome, Delivered):
        return "delivery.delivered", {}
    if isinstance(outcome, RetryAt):
        extra = {"next_at": to_db(outcome.next_attempt_at), "error": outcome.error}
        return "delivery.retry_scheduled", extra
    if isinstance(outcome, DeadLetter):
        return "delivery.dead_lettered", {"error": outcome.error}
    raise TypeError(f"not an outcome: {outcome!r}")


def audit_status(sink: AuditSink, status: NewStatus, previous: str | None) -> None:
    """The ``status.recorded`` audit event; ``previous`` is the delivery's status before."""
    detail: dict[str, object] = {
        "status_id": status.status_id,
        "status_code": status.status_code,
        "previous": previous,
        "to": status.to_code,
    }
    if status.recall_round is not None:
        detail["recall_round"] = status.recall_round
    sink.audit(
        "status.recorded",
        status.received_at,
        axis_id=status.axis_id,
        agency=status.from_code,
        detail=detail,
    )


def check_endpoint(mode: DeliveryMode, url: str | None) -> None:
    if mode not in ("push", "pull"):
        raise ValueError(f"delivery mode must be push or pull, not {mode!r}")
    if mode == "push" and not url:
        raise ValueError("a push agency needs an endpoint URL")


def check_agency_state(state: AgencyState) -> None:
    if state not in ("active", "disabled"):
        raise ValueError(f"agency state must be active or disabled, not {state!r}")


def new_agency_codes(agency: NewAgency) -> tuple[NewAgency, tuple[str, ...]]:
    """The agency as stored (codes upper case) and all its codes, canonical first."""
    check_endpoint(agency.delivery_mode, agency.endpoint_url)
    # Agency codes are case-insensitive: the registry holds them upper case.
    agency = replace(
        agency,
        code=agency.code.upper(),
        alias_codes=tuple(alias.upper() for alias in agency.alias_codes),
    )
    codes = (agency.code, *agency.alias_codes)
    if len(set(codes)) != len(codes):
        raise ValueError(f"codes repeat: {codes}")
    return agency, codes


def audit_agency_created(
    sink: AuditSink, agency: NewAgency, certificates: Sequence[tuple[str, bytes]], at: datetime
) -> None:
    detail: dict[str, object] = {
        "aliases": list(agency.alias_codes),
        "delivery_mode": agency.delivery_mode,
        "certificates": [fingerprint for fingerprint, _ in certificates],
    }
    if agency.test:
        detail["test"] = True
    if agency.peer is not None:
        detail["peer"] = agency.peer
    sink.audit("agency.created", at, agency=agency.code, detail=detail)
