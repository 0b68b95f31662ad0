"""Frozen records the store takes and returns. All times are aware UTC datetimes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, TypeVar

from edoc_axis.core.audit import AuditEntry, AuditHead, AuditReport

# A push outcome is the core's: the retry policy returns it and the store records it.
from edoc_axis.core.retry import DeadLetter, Delivered, Outcome, RetryAt

__all__ = [
    "ACTIVITY_EVENTS",
    "AcceptResult",
    "Activity",
    "ActivityCount",
    "Addressed",
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
    "NewPeer",
    "NewStatus",
    "Outcome",
    "Page",
    "Peer",
    "PeerState",
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
    # A test agency (the conformance suite's): kept out of the alarm figures and
    # removable with everything it sent and received (Store.remove_test_agency).
    test: bool = False
    # The peer axis that serves this agency (federation); None: a local agency.
    # A remote agency has no token: it never calls this axis itself.
    peer: str | None = None


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
    test: bool = False
    peer: str | None = None


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
    # What a re-submission is recognised by; empty means the DocumentId (every
    # document of any business type). A revoke or update sent under the DocumentId
    # of the document it acts on (the reference SDK's habit) is a message about
    # that document and carries a key of its own (see docs/identity.md).
    idempotency_key: str = ""
    # The axes a relayed document crossed before this one, origin first (federation).
    relay_path: tuple[str, ...] = ()

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
    relay_path: tuple[str, ...] = ()


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
    # The next axis's signed receipt, for a delivery relayed to a peer axis.
    relay_receipt: bytes | None = field(default=None, repr=False)


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
    """One page of a listing; pass ``next_cursor`` back for the next (None: the end).

    ``resume_cursor`` (inbox and status feed) is set on every page, the last one
    too: the position after this page's last item (the given cursor when the page
    is empty), so that a poller can continue from there later.
    """

    items: tuple[T, ...]
    next_cursor: str | None
    resume_cursor: str | None = None


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
class Stats:
    """Delivery figures; ``by_state`` and the oldest age leave test agencies out."""

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
    # The recall round a 13, 15 or 16 belongs to (1, 2, ...); None for the rest.
    # The store keeps one 13 and one answer per (document, recipient, round).
    recall_round: int | None = None


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
    recall_round: int | None = None


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


ACTIVITY_EVENTS = (
    "document.accepted",
    "document.refused",
    "delivery.delivered",
    "delivery.acknowledged",
    "delivery.retry_scheduled",
    "delivery.dead_lettered",
)
"""The audit events the operator statistics count (the store filters on them)."""


@dataclass(frozen=True, slots=True)
class ActivityCount:
    """How many audit events of one kind one agency caused in one UTC hour.

    ``code`` is the refusal code of ``document.refused`` events, None otherwise.
    """

    hour: datetime
    agency: str | None
    event: str
    code: str | None
    count: int


@dataclass(frozen=True, slots=True)
class Activity:
    """Traffic per agency and hour over a window, and what waits now per recipient."""

    counts: tuple[ActivityCount, ...]
    # recipient -> (pending deliveries, when the oldest of them was queued)
    pending: Mapping[str, tuple[int, datetime]]


@dataclass(frozen=True, slots=True)
class Operator:
    """A named operator: its own /admin token (stored only as a hash), named in the audit."""

    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConsoleSessionRow:
    """A logged-in console session as stored: keyed by its id's hash, never the id.

    ``notes`` is JSON the console owns (messages for the next page, the last
    audit-chain check); the store keeps it as text.
    """

    id_hash: str
    actor: str
    csrf: str
    created_at: datetime
    seen_at: datetime
    notes: str


PeerState = Literal["active", "disabled"]


@dataclass(frozen=True, slots=True)
class NewPeer:
    """A peer axis: where it listens, the certificate it signs with, whom it serves.

    ``name`` is the peer's own axis name (its receipts and relay paths carry it).
    ``serves`` holds patterns: an exact agency code, a glob ("*.H26") or "*"
    (every agency not local: an LGSP's uplink). ``sealed_token`` is the token this
    axis presents to the peer, sealed (system_secrets); None until it is known.
    """

    name: str
    url: str
    axis_cert_pem: bytes = field(repr=False)
    axis_cert_sha256: str
    serves: tuple[str, ...]
    sealed_token: bytes | None = field(default=None, repr=False)
    # A test peer (the conformance suite acting as one): its remote agencies are
    # test agencies, removable with what they exchanged.
    test: bool = False


@dataclass(frozen=True, slots=True)
class Peer:
    name: str
    url: str
    axis_cert_pem: bytes = field(repr=False)
    axis_cert_sha256: str
    serves: tuple[str, ...]
    sealed_token: bytes | None = field(repr=False)
    state: PeerState
    created_at: datetime
    # The peer's directory version last synced here (None: never).
    directory_version: int | None = None
    test: bool = False


PIECEWISE_BYTES = 1024 * 1024
"""Documents of this many bytes or more are written and read a piece at a time:
``Addressed.raw`` is None for them and ``Store.document_piece`` reads them."""
PIECE_BYTES = 1024 * 1024
"""The size of one such piece."""


@dataclass(frozen=True, slots=True)
class Addressed:
    """A document as one recipient gets it: its record, its delivery, its bytes if asked.

    ``raw`` stays None for a document of PIECEWISE_BYTES or more, bytes asked
    or not: it is read a piece at a time (``store.document_pieces``).
    """

    document: StoredDocument
    delivery: Delivery
    raw: bytes | None = field(default=None, repr=False)
