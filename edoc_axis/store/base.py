"""The store interface: domain verbs only, no SQL, the same for every backend.

Write verbs are atomic: the state change and the audit event describing it
commit together or not at all. When the database cannot be reached or cannot
commit, a verb raises ``errors.Unavailable`` and nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from edoc_axis.errors import EdocError, NotFound
from edoc_axis.store.records import (
    PIECE_BYTES,
    AcceptResult,
    Activity,
    Addressed,
    Agency,
    AgencyState,
    AuditEntry,
    AuditHead,
    AuditReport,
    Claim,
    ConsoleSessionRow,
    Delivery,
    DeliveryMode,
    InboxItem,
    NewAgency,
    NewDocument,
    NewPeer,
    NewStatus,
    Operator,
    Outcome,
    Page,
    Peer,
    PeerState,
    Stats,
    StoredDocument,
    StoredStatus,
    SystemState,
    VdxpReport,
    VdxpSystem,
)


class AgencyExists(EdocError, ValueError):
    """An agency code, alias or certificate fingerprint is already registered."""

    code, http_status, title = "agency.exists", 409, "Agency already registered"


class AgencyNotRemovable(EdocError, ValueError):
    """Only a test agency whose documents involve only test agencies can be removed."""

    code, http_status, title = "agency.not-removable", 409, "Agency cannot be removed"


class PeerExists(EdocError, ValueError):
    code, http_status, title = "peer.exists", 409, "Peer axis exists"


class OperatorExists(EdocError, ValueError):
    """An operator name (or, by an unlucky draw, a token hash) is already registered."""

    code, http_status, title = "operator.exists", 409, "Operator already registered"


class InvalidCursor(ValueError):
    """A listing cursor that this store did not hand out (a bad request)."""


class Store(Protocol):
    """Every backend implements these verbs; the contract tests hold them to it.

    Operator verbs take ``at`` for their audit event; left out it is the
    current time (the document and delivery verbs always take the caller's clock).
    """

    # -- lifecycle -------------------------------------------------------
    async def open(self) -> None:
        """Connect, check (or, when asked to, apply) migrations and start the writer.

        A store whose schema is behind raises ``SchemaBehind`` unless it was made
        with ``migrate=True``; an empty SQLite file is always created whole.
        """

    async def close(self) -> None:
        """Finish queued writes, then release every connection."""

    async def ping(self) -> None:
        """Raise ``Unavailable`` unless the store can read and the writer runs."""

    @property
    def where(self) -> str:
        """Where the store is, for messages (a path, or a DSN without its password)."""

    async def migrate(self) -> list[int]:
        """Apply the pending migrations; the versions applied (``edoc-axis migrate``)."""

    def on_work(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the event loop) when another process made push work due.

        Several nodes on one database wake each other this way; a store that
        only one process writes to never calls it.
        """

    # -- registry ---------------------------------------------------------
    async def create_agency(
        self,
        agency: NewAgency,
        token_hash: str,
        certificates: Sequence[tuple[str, bytes]],
        at: datetime,
    ) -> Agency:
        """Register an agency with its first token and certificates.

        Raises ``AgencyExists`` if its code, an alias or a fingerprint is taken.
        """

    async def get_agency(self, code_or_alias: str) -> Agency | None:
        """The agency known by this code or alias, in any case (codes are stored upper case)."""

    async def list_agencies(self) -> list[Agency]:
        """Every agency, by canonical code."""

    async def set_agency_state(
        self, code: str, state: AgencyState, *, at: datetime | None = None
    ) -> Agency:
        """Enable or disable an agency (``NotFound`` if unknown)."""

    async def update_endpoint(
        self, code: str, mode: DeliveryMode, url: str | None, *, at: datetime | None = None
    ) -> Agency:
        """Change delivery mode and endpoint; pending deliveries follow the new mode."""

    async def add_certificate(
        self, code: str, fingerprint: str, pem: bytes, *, at: datetime | None = None
    ) -> None:
        """Register a signing certificate (``AgencyExists`` if the fingerprint is taken)."""

    async def remove_certificate(
        self, code: str, fingerprint: str, *, at: datetime | None = None
    ) -> None:
        """Unregister a certificate of that agency (``NotFound`` if it has no such one)."""

    async def agency_for_certificate(self, fingerprint: str) -> Agency | None:
        """The agency a certificate fingerprint (lowercase hex SHA-256) belongs to."""

    async def certificate_pem(self, fingerprint: str) -> bytes | None:
        """The registered PEM of a certificate."""

    async def rotate_token(self, code: str, new_token_hash: str, at: datetime) -> None:
        """Revoke every token of the agency and register a new one."""

    async def revoke_tokens(self, code: str, at: datetime) -> None:
        """Revoke every token of the agency."""

    async def agency_for_token(self, token_hash: str) -> Agency | None:
        """The agency of an unrevoked token, whatever the agency's state."""

    async def remove_test_agency(self, code: str, *, at: datetime | None = None) -> dict[str, int]:
        """Delete a test agency, the documents it sent or got, their deliveries and statuses.

        Returns counts ({"documents": n, "statuses": m}). Raises ``NotFound`` if
        unknown, ``AgencyNotRemovable`` unless it is a test agency whose documents
        involve test agencies only. One audit event ``agency.removed``.
        """

    # -- documents --------------------------------------------------------
    async def accept_document(self, document: NewDocument) -> AcceptResult:
        """Store a document, its bytes, one delivery per recipient and its audit event.

        The same (sender, document_id) with the same sha256 returns the original
        with created=False; with another sha256 raises ``DocumentConflict``.
        An unknown recipient raises ``RecipientUnknown``.
        """

    async def get_document(self, axis_id: str) -> StoredDocument | None:
        """A document by its axis id."""

    async def find_document(self, sender_code: str, key: str) -> StoredDocument | None:
        """A document by its idempotency key (the DocumentId of a new document)."""

    async def business_followups(self, sender_code: str, document_id: str) -> list[StoredDocument]:
        """Revoke/update/replace documents the sender sent about one of its documents."""

    async def document_bytes(self, axis_id: str) -> bytes:
        """The exact bytes received (``NotFound`` if unknown)."""

    async def document_piece(self, sha256: str, offset: int, length: int) -> bytes:
        """``length`` of the stored bytes with this digest from ``offset`` (fewer at the end).

        ``NotFound`` if no bytes have that digest. A large document is sent on
        a piece at a time (``document_pieces``) rather than read whole.
        """

    async def documents_sent_by(
        self, sender_code: str, limit: int, cursor: str | None = None
    ) -> Page[StoredDocument]:
        """Documents an agency sent, oldest first."""

    async def latest_sent(self, sender_code: str, kind: str, limit: int) -> list[StoredDocument]:
        """The ``limit`` latest of ``kind`` an agency sent, oldest first.

        Reads only those, however many the agency sent before them.
        """

    # -- deliveries -------------------------------------------------------
    async def inbox(
        self, recipient_code: str, limit: int, cursor: str | None = None
    ) -> Page[InboxItem]:
        """Documents addressed to the agency that it has not got yet, oldest first.

        Pending and dead-lettered deliveries are listed, so a push agency can
        also pull what could not be pushed.
        """

    async def delivery_for(self, axis_id: str, recipient_code: str) -> Delivery | None:
        """The delivery of a document to one recipient."""

    async def addressed(
        self, axis_id: str, recipient_code: str, *, with_bytes: bool = False
    ) -> Addressed | None:
        """A document with its delivery to one recipient (and its bytes), in one read.

        None unless the document is addressed to that recipient. What a
        recipient's fetch and acknowledgement need, without three reads.
        """

    async def addressed_many(
        self, axis_ids: Sequence[str], recipient_code: str, *, max_bytes: int
    ) -> list[Addressed | None]:
        """``addressed(..., with_bytes=True)`` for several ids, in one read, in their order.

        None for an id not addressed to the recipient. The bytes stop at
        ``max_bytes``: the list ends before the document that would pass it
        (the first found is always read), so it may be shorter than the ids.
        """

    async def deliveries_of(self, axis_id: str) -> list[Delivery]:
        """Every delivery of a document, in recipient order of the envelope."""

    async def acknowledge(
        self,
        axis_id: str,
        recipient_code: str,
        at: datetime,
        *,
        arrival: NewStatus | None = None,
        forward: NewDocument | None = None,
    ) -> Delivery:
        """The recipient has stored the document. Idempotent (``NotFound`` if not addressed).

        ``arrival`` (the 01 the axis writes for the recipient) is recorded in the
        same transaction if the delivery has no status yet, with ``forward``, its
        push copy (see ``record_status``); a status already there keeps it out.
        """

    async def claim_due_deliveries(
        self, now: datetime, limit: int, lease_s: float, worker_id: str
    ) -> list[Claim]:
        """Lease due push deliveries to one worker and count the attempt now."""

    async def record_outcome(
        self,
        delivery_id: int,
        attempt: int,
        outcome: Outcome,
        at: datetime,
        *,
        arrival: NewStatus | None = None,
        forward: NewDocument | None = None,
    ) -> bool:
        """Apply a push outcome; False (nothing written) if the attempt no longer owns it.

        ``arrival`` (the 01 a delivered push makes) and its ``forward`` push copy
        are written in the same transaction, unless the delivery has a status
        already: no delivered push without its 01, even across a crash.
        """

    async def lease_owners(self, now: datetime) -> list[str]:
        """Workers that hold unexpired leases on pending deliveries."""

    async def expire_leases(self, owner: str, at: datetime) -> int:
        """End every lease of a worker known to be dead, so its claims come back now."""

    async def dead_letters(self, limit: int, cursor: str | None = None) -> Page[Delivery]:
        """Dead-lettered deliveries, oldest first."""

    async def retry_dead_letter(self, delivery_id: int, at: datetime) -> Delivery:
        """Make a dead letter pending again, due at ``at``."""

    async def discard_dead_letter(self, delivery_id: int, at: datetime) -> Delivery:
        """Give up on a dead letter for good."""

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        """A delivery by its id (the operator's handle on a dead letter)."""

    async def activity(self, since: datetime, until: datetime) -> Activity:
        """Operator statistics: audit events per UTC hour, agency, event and refusal code.

        Counts the events in [since, until) among ``ACTIVITY_EVENTS``, and the
        pending deliveries per recipient with the oldest one's queue time.
        """

    async def stats(self, now: datetime) -> Stats:
        """Delivery counts per state and per (agency, state); age of the oldest pending.

        Deliveries to test agencies count per agency only: never in ``by_state``
        nor in the oldest pending age (the alarm figures).
        """

    # -- statuses ---------------------------------------------------------
    async def record_status(
        self,
        status: NewStatus,
        expected_current: str | None,
        *,
        updates_progress: bool = True,
        forward: NewDocument | None = None,
    ) -> StoredStatus:
        """Store a status message if the delivery's current status is ``expected_current``.

        A status travels from a recipient to the document's sender, or from the
        sender to one recipient (13). ``updates_progress=False`` (the recall
        conversation 13/15/16) stores it without touching the delivery's status.
        ``forward``, for a push-mode addressee, is stored in the same transaction
        as a document of kind "status" with one delivery, so the status is pushed.

        Raises ``StatusTransition`` otherwise (no lost update), ``NotFound`` if
        ``from_code`` did not receive the document. The same status_id and
        sha256 again returns the stored one; other bytes raise ``DocumentConflict``.
        """

    async def statuses_for(
        self, agency_code: str, cursor: str | None = None, limit: int = 100
    ) -> Page[StoredStatus]:
        """Status messages addressed to the agency, oldest first."""

    async def statuses_of(self, axis_id: str) -> list[StoredStatus]:
        """Every status message about a document, oldest first."""

    async def get_status(self, status_id: str) -> StoredStatus | None:
        """A status message's record by its id."""

    async def status_bytes(self, status_id: str) -> bytes:
        """The exact bytes of a status message (``NotFound`` if unknown)."""

    # -- peer axes (federation) ---------------------------------------------
    async def create_peer(self, peer: NewPeer, token_hash: str, at: datetime) -> Peer:
        """Register a peer axis with the hash of the token it presents here.

        Raises ``AgencyExists`` if the name is taken.
        """

    async def update_peer(self, peer: NewPeer, at: datetime) -> Peer:
        """Replace a peer's address, certificate, patterns and sealed token (``NotFound``)."""

    async def set_peer_token(self, name: str, token_hash: str, at: datetime) -> None:
        """Replace the hash of the token the peer presents here (``NotFound``)."""

    async def set_peer_state(self, name: str, state: PeerState, at: datetime) -> Peer:
        """Enable or disable a peer axis and every agency it serves (``NotFound``)."""

    async def registry_version(self) -> int:
        """The registry's version: it moves with every change to agencies, codes,
        certificates and tokens (a peer's directory version)."""

    async def set_directory_version(self, name: str, version: int) -> None:
        """Remember the peer's directory version last synced here."""

    async def get_peer(self, name: str) -> Peer | None: ...

    async def list_peers(self) -> list[Peer]: ...

    async def peer_for_token(self, token_hash: str) -> Peer | None:
        """The active peer whose token hashes to this, or None."""

    async def add_recipients(
        self, axis_id: str, codes: Sequence[str], at: datetime
    ) -> tuple[str, ...]:
        """Deliveries of a stored document for recipients it does not have yet.

        A relayed document that arrives again for another recipient (over another
        path, or because one peer relays it for two) is stored once; this adds the
        new recipients' deliveries and returns the codes added.
        """

    async def record_relay_receipt(self, delivery_id: int, receipt: bytes) -> None:
        """Keep the next axis's signed receipt for a delivery relayed to it."""

    # -- VDXP systems (the reference transport's HMAC clients) --------------
    async def create_system(
        self, system_id: str, agencies: Sequence[str], sealed_secret: bytes, at: datetime
    ) -> VdxpSystem:
        """Register a system bound to these agencies (codes or aliases, resolved).

        Raises ``AgencyExists`` if the id is taken, ``NotFound`` for an unknown agency.
        """

    async def get_system(self, system_id: str) -> VdxpSystem | None:
        """A system by its id, whatever its state."""

    async def list_systems(self) -> list[VdxpSystem]:
        """Every system, by id."""

    async def set_system_secret(
        self, system_id: str, sealed_secret: bytes, at: datetime
    ) -> VdxpSystem:
        """Replace the system's secret (``NotFound`` if unknown)."""

    async def set_system_state(
        self, system_id: str, state: SystemState, at: datetime
    ) -> VdxpSystem:
        """Enable or disable a system (``NotFound`` if unknown)."""

    async def record_vdxp_report(
        self,
        message_id: str,
        recipient_code: str,
        report: VdxpReport,
        reason: str | None,
        at: datetime,
    ) -> bool:
        """Record what a pulling system reported about a message; False if already recorded.

        ``fail`` about a document also makes its pending delivery to the
        recipient dead with ``reason`` as its last error, in the same transaction,
        so the sender sees it in the trace and the operator among dead letters.
        """

    async def vdxp_reports(self, message_id: str, recipient_code: str) -> set[str]:
        """The reports recorded for a message by one recipient."""

    async def unreported_statuses(self, agency_code: str, limit: int) -> list[StoredStatus]:
        """Statuses addressed to the agency without a ``done`` report, oldest first."""

    async def statuses_from(self, agency_code: str, limit: int) -> list[StoredStatus]:
        """The latest ``limit`` status messages the agency sent, oldest first."""

    # -- named operators ----------------------------------------------------
    async def create_operator(self, name: str, token_hash: str, at: datetime) -> Operator:
        """Register a named operator with its token's hash (``OperatorExists`` if taken).

        One audit event ``operator.added`` in the same transaction.
        """

    async def list_operators(self) -> list[Operator]:
        """Every named operator, by name."""

    async def remove_operator(self, name: str, at: datetime) -> None:
        """Remove a named operator; its token stops working (``NotFound`` if unknown).

        One audit event ``operator.removed`` in the same transaction.
        """

    async def operator_for_token(self, token_hash: str) -> Operator | None:
        """The named operator whose token hashes to ``token_hash``."""

    # -- console sessions -----------------------------------------------------
    async def create_console_session(
        self, row: ConsoleSessionRow, created_before: datetime, seen_before: datetime
    ) -> None:
        """Store a new session; in the same transaction drop every session made
        before ``created_before`` or last seen before ``seen_before`` (expired)."""

    async def console_session(self, id_hash: str) -> ConsoleSessionRow | None:
        """The session whose id hashes to ``id_hash``, expired or not."""

    async def update_console_session(self, id_hash: str, seen_at: datetime, notes: str) -> None:
        """Set a session's last-seen time and notes (nothing if it is gone)."""

    async def delete_console_session(self, id_hash: str) -> None:
        """End a session (nothing if it is gone)."""

    # -- audit ------------------------------------------------------------
    async def append_audit(
        self,
        event: str,
        at: datetime,
        axis_id: str | None = None,
        agency: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append a standalone audit event (e.g. ``document.refused`` with its code)."""

    def iter_audit(self, batch: int = 10_000, after: int = 0) -> AsyncIterator[AuditEntry]:
        """Every audit entry after seq ``after`` in seq order, read in batches."""

    async def audit_head(self) -> AuditHead:
        """The last seq and hash committed (seq 0 and the genesis hash when empty)."""

    async def verify_audit(self) -> AuditReport:
        """Check the whole chain and its head in one consistent snapshot."""


async def document_pieces(store: Store, document: StoredDocument) -> AsyncIterator[bytes]:
    """The document's exact bytes, PIECE_BYTES at a time, each read when the last is sent on.

    What a large document costs an answer or a push: one piece, not the body
    (SQLite's read of a 50 MiB blob cost 100 MiB for a moment).
    """
    for offset in range(0, document.size, PIECE_BYTES):
        length = min(PIECE_BYTES, document.size - offset)
        piece = await store.document_piece(document.sha256, offset, length)
        if len(piece) != length:
            raise NotFound(f"the stored bytes of {document.axis_id} end at {offset + len(piece)}")
        yield piece
