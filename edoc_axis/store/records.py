"""Frozen records the store takes and returns. All times are aware UTC datetimes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, TypeVar

from edoc_axis.core.audit import AuditEntry, AuditHead, AuditReport

__all__ = [
    "AcceptResult",
    "Agency",
    "AgencyState",
    "AuditEntry",
    "AuditHead",
    "AuditReport",
    "Claim",
    "DeadLetter",
    "Delivered",
    "Delivery",
    "DeliveryMode",
    "DeliveryState",
    "DocumentKind",
    "InboxItem",
    "NewAgency",
    "NewDocument",
    "NewStatus",
    "Outcome",
    "Page",
    "RetryAt",
    "Stats",
    "StatusKind",
    "StoredDocument",
    "StoredStatus",
    "SystemState",
    "VdxpReport",
    "VdxpSystem",
]

T = TypeVar("T")

DeliveryMode = Literal["push", "pull"]
AgencyState = Literal["active", "disabled"]
SystemState = Literal["active", "disabled"]
# what a VDXP system reports with updateStatus about a message it received
VdxpReport = Literal["processing", "done", "fail"]
DocumentKind = Literal["document", "status"]
# status: an edXML status message; notice: the axis tells the sender a delivery failed
StatusKind = Literal["status", "notice"]
# pending: waiting to be pushed or pulled; delivered: a push endpoint answered 2xx;
# acknowledged: the recipient acked it; dead: retries exhausted or refused;
# discarded: an operator gave up on a dead letter.
DeliveryState = Literal["pending", "delivered", "acknowledged", "dead", "discarded"]


@dataclass(frozen=True, slots=True)
class NewAgency:
    code: str
    name: str
    alias_codes: tuple[str, ...] = ()
    delivery_mode: DeliveryMode = "pull"
    endpoint_url: str | None = None


@dataclass(frozen=True, slots=True)
class Agency:
    code: str
    name: str
    alias_codes: tuple[str, ...]
    state: AgencyState
    delivery_mode: DeliveryMode
    endpoint_url: str | None
    created_at: datetime
    certificate_fingerprints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewDocument:
    axis_id: str
    sender_code: str
    document_id: str
    kind: DocumentKind
    business_type: int
    references_document_id: str | None
    subject: str
    sha256: str
    raw: bytes = field(repr=False)
    received_at: datetime
    receipt: bytes = field(repr=False)
    recipients: tuple[str, ...]
    legacy_policy: bool = False
    # What a re-submission is recognised by; empty means the DocumentId. The
    # reference SDK sends revoke/update/replace under the DocumentId they act on,
    # so those carry a key of their own.
    idempotency_key: str = ""

    @property
    def key(self) -> str:
        return self.idempotency_key or self.document_id


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A stored document without its bytes (see ``Store.document_bytes``)."""

    axis_id: str
    sender_code: str
    document_id: str
    kind: DocumentKind
    business_type: int
    references_document_id: str | None
    subject: str
    sha256: str
    size: int
    received_at: datetime
    receipt: bytes = field(repr=False)
    recipients: tuple[str, ...]
    legacy_policy: bool


@dataclass(frozen=True, slots=True)
class AcceptResult:
    """created=False: an exact re-submission; ``document`` is the original."""

    created: bool
    document: StoredDocument


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    axis_id: str
    recipient_code: str
    mode: DeliveryMode
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    lease_owner: str | None
    last_error: str | None
    delivered_at: datetime | None
    acked_at: datetime | None
    status_code: str | None
    status_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InboxItem:
    axis_id: str
    sender_code: str
    document_id: str
    kind: DocumentKind
    business_type: int
    subject: str
    sha256: str
    size: int
    received_at: datetime
    state: DeliveryState
    attempts: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; pass ``next_cursor`` back for the next (None: the end)."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    """A push delivery leased to one worker; ``attempt`` fences its outcome."""

    delivery_id: int
    attempt: int
    axis_id: str
    recipient_code: str
    endpoint_url: str | None
    sender_code: str
    document_id: str
    sha256: str
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class Delivered:
    pass


@dataclass(frozen=True, slots=True)
class RetryAt:
    next_attempt_at: datetime
    error: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    error: str


Outcome = Delivered | RetryAt | DeadLetter


@dataclass(frozen=True, slots=True)
class Stats:
    by_state: Mapping[str, int]
    by_agency_state: Mapping[tuple[str, str], int]
    oldest_pending_age_s: float | None


@dataclass(frozen=True, slots=True)
class NewStatus:
    status_id: str
    axis_id: str
    from_code: str
    to_code: str
    status_code: str | None  # None for a notice
    raw: bytes = field(repr=False)
    sha256: str
    timestamp: datetime
    received_at: datetime
    kind: StatusKind = "status"


@dataclass(frozen=True, slots=True)
class StoredStatus:
    status_id: str
    axis_id: str
    document_id: str
    from_code: str
    to_code: str
    status_code: str | None  # None for a notice
    sha256: str
    timestamp: datetime
    received_at: datetime
    kind: StatusKind = "status"


@dataclass(frozen=True, slots=True)
class VdxpSystem:
    """A document system that speaks VDXP, bound to the agencies it may speak for.

    ``sealed_secret`` is the HMAC shared secret sealed with the axis's VDXP key;
    only ``system_secrets.open_secret`` turns it back into the secret.
    """

    system_id: str
    state: SystemState
    agencies: tuple[str, ...]
    sealed_secret: bytes = field(repr=False)
    created_at: datetime
    secret_set_at: datetime
