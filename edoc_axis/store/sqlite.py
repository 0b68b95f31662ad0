"""SqliteStore: the Store verbs over one SQLite file (WAL, synchronous=FULL).

Writes go through the group-commit writer (sqlite_writer), reads through
aiosqlite connections (sqlite_readers); the SQL itself lives in queries.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from edoc_axis.errors import Unavailable
from edoc_axis.files import create_private_file
from edoc_axis.store import sqlite_jobs as jobs
from edoc_axis.store import sqlite_operators as operators
from edoc_axis.store import sqlite_peers as peers
from edoc_axis.store import sqlite_reads as reads
from edoc_axis.store import sqlite_registry as registry
from edoc_axis.store import sqlite_statuses as statuses
from edoc_axis.store import sqlite_vdxp as vdxp
from edoc_axis.store.migrate import apply_migrations, bundled_migrations
from edoc_axis.store.records import (
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
from edoc_axis.store.registry_cache import RegistryCache
from edoc_axis.store.sqlite_readers import (
    ReaderPool,
    audit_batch,
    select_one,
    verify_audit_file,
)
from edoc_axis.store.sqlite_writer import GroupCommitWriter, WriteContext

T = TypeVar("T")


def _now(at: datetime | None) -> datetime:
    return datetime.now(UTC) if at is None else at


class SqliteStore:
    """The Store protocol on SQLite. See ``edoc_axis.store.base.Store`` for each verb."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_s: float = 5.0,
        max_batch: int = 256,
        max_queue: int = 10_000,
        reader_threads: int = 2,
        migrate: bool = True,
    ) -> None:
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._writer = GroupCommitWriter(
            self.path,
            busy_timeout_s=busy_timeout_s,
            max_batch=max_batch,
            max_queue=max_queue,
            migrate=migrate,
        )
        self._readers = ReaderPool(self.path, busy_timeout_s=busy_timeout_s, threads=reader_threads)
        self._registry = RegistryCache(
            lambda: self._readers.run(reads.registry_version),
            lambda: self._readers.run(reads.registry_snapshot),
            lambda code: self._readers.run(reads.registry_entry, code),
        )

    # -- lifecycle ---------------------------------------------------------------
    async def open(self) -> None:
        # SQLite gives the -wal and -shm files the mode of the database file:
        # created 0600 here, none of them is ever readable by others.
        create_private_file(self.path)
        await self._writer.start()  # applies migrations first
        await self._readers.start()

    async def close(self) -> None:
        await self._writer.stop()
        await self._readers.stop()

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def ping(self) -> None:
        if not self._writer.running:
            raise Unavailable("the store's writer is not running", retry_after_s=1)
        await self._readers.run(select_one)

    @property
    def where(self) -> str:
        return str(self.path)

    async def migrate(self) -> list[int]:
        """Apply pending migrations now (``edoc-axis migrate``); the versions applied."""

        def run() -> list[int]:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=self._busy_timeout_s)
            try:
                return apply_migrations(conn, bundled_migrations("sqlite"))
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    def on_work(self, callback: Callable[[], None]) -> None:
        """Nothing to listen to: one process's intake wakes its own dispatcher."""

    @property
    def commit_count(self) -> int:
        """Write transactions committed so far (group commit shares them between jobs)."""
        return self._writer.commits

    # -- registry ----------------------------------------------------------------
    # Reads by code, token and certificate come from the in-memory snapshot
    # (registry_cache); every write here has the agency it names read again and
    # patched in before the next answer, committed or not.
    async def _registry_write(self, code: str, job: Callable[[WriteContext], T]) -> T:
        try:
            return await self._writer.submit(job)
        finally:
            self._registry.invalidate(code)

    async def create_agency(
        self,
        agency: NewAgency,
        token_hash: str,
        certificates: Sequence[tuple[str, bytes]],
        at: datetime,
    ) -> Agency:
        certs = tuple(certificates)
        return await self._registry_write(
            agency.code, lambda ctx: registry.create_agency(ctx, agency, token_hash, certs, at)
        )

    async def get_agency(self, code_or_alias: str) -> Agency | None:
        return await self._registry.get_agency(code_or_alias)

    async def list_agencies(self) -> list[Agency]:
        return await self._readers.run(reads.list_agencies)

    async def set_agency_state(
        self, code: str, state: AgencyState, *, at: datetime | None = None
    ) -> Agency:
        when = _now(at)
        return await self._registry_write(
            code, lambda ctx: registry.set_agency_state(ctx, code, state, when)
        )

    async def update_endpoint(
        self, code: str, mode: DeliveryMode, url: str | None, *, at: datetime | None = None
    ) -> Agency:
        when = _now(at)
        return await self._registry_write(
            code, lambda ctx: registry.update_endpoint(ctx, code, mode, url, when)
        )

    async def add_certificate(
        self, code: str, fingerprint: str, pem: bytes, *, at: datetime | None = None
    ) -> None:
        when = _now(at)
        await self._registry_write(
            code, lambda ctx: registry.add_certificate(ctx, code, fingerprint, pem, when)
        )

    async def remove_certificate(
        self, code: str, fingerprint: str, *, at: datetime | None = None
    ) -> None:
        when = _now(at)
        await self._registry_write(
            code, lambda ctx: registry.remove_certificate(ctx, code, fingerprint, when)
        )

    async def agency_for_certificate(self, fingerprint: str) -> Agency | None:
        return await self._registry.agency_for_certificate(fingerprint)

    async def certificate_pem(self, fingerprint: str) -> bytes | None:
        return await self._readers.run(reads.certificate_pem, fingerprint)

    async def rotate_token(self, code: str, new_token_hash: str, at: datetime) -> None:
        await self._registry_write(
            code, lambda ctx: registry.rotate_token(ctx, code, new_token_hash, at)
        )

    async def revoke_tokens(self, code: str, at: datetime) -> None:
        await self._registry_write(code, lambda ctx: registry.revoke_tokens(ctx, code, at))

    async def agency_for_token(self, token_hash: str) -> Agency | None:
        return await self._registry.agency_for_token(token_hash)

    async def remove_test_agency(self, code: str, *, at: datetime | None = None) -> dict[str, int]:
        when = _now(at)
        return await self._registry_write(
            code, lambda ctx: registry.remove_test_agency(ctx, code, when)
        )

    # -- documents ---------------------------------------------------------------
    async def accept_document(self, document: NewDocument) -> AcceptResult:
        return await self._writer.submit(lambda ctx: jobs.accept_document(ctx, document))

    async def get_document(self, axis_id: str) -> StoredDocument | None:
        return await self._readers.run(reads.get_document, axis_id)

    async def find_document(self, sender_code: str, key: str) -> StoredDocument | None:
        return await self._readers.run(reads.find_document, sender_code, key)

    async def document_bytes(self, axis_id: str) -> bytes:
        return await self._readers.run(reads.document_bytes, axis_id)

    async def document_piece(self, sha256: str, offset: int, length: int) -> bytes:
        return await self._readers.run(reads.document_piece, sha256, offset, length)

    async def documents_sent_by(
        self, sender_code: str, limit: int, cursor: str | None = None
    ) -> Page[StoredDocument]:
        return await self._readers.run(reads.documents_sent_by, sender_code, limit, cursor)

    async def latest_sent(self, sender_code: str, kind: str, limit: int) -> list[StoredDocument]:
        return await self._readers.run(reads.latest_sent, sender_code, kind, limit)

    # -- deliveries --------------------------------------------------------------
    async def inbox(
        self, recipient_code: str, limit: int, cursor: str | None = None
    ) -> Page[InboxItem]:
        return await self._readers.run(reads.inbox, recipient_code, limit, cursor)

    async def delivery_for(self, axis_id: str, recipient_code: str) -> Delivery | None:
        return await self._readers.run(reads.delivery_for, axis_id, recipient_code)

    async def addressed(
        self, axis_id: str, recipient_code: str, *, with_bytes: bool = False
    ) -> Addressed | None:
        return await self._readers.run(reads.addressed, axis_id, recipient_code, with_bytes)

    async def addressed_many(
        self, axis_ids: Sequence[str], recipient_code: str, *, max_bytes: int
    ) -> list[Addressed | None]:
        return await self._readers.run(reads.addressed_many, axis_ids, recipient_code, max_bytes)

    async def deliveries_of(self, axis_id: str) -> list[Delivery]:
        return await self._readers.run(reads.deliveries_of, axis_id)

    async def acknowledge(
        self,
        axis_id: str,
        recipient_code: str,
        at: datetime,
        *,
        arrival: NewStatus | None = None,
        forward: NewDocument | None = None,
    ) -> Delivery:
        def job(ctx: WriteContext) -> Delivery:
            delivery = jobs.acknowledge(ctx, axis_id, recipient_code, at)
            if arrival is None or delivery.status_code is not None:
                return delivery
            if not statuses.record_arrival(ctx, arrival, forward):
                return delivery
            return reads.delivery_for(ctx.conn, axis_id, recipient_code) or delivery

        return await self._writer.submit(job)

    async def claim_due_deliveries(
        self, now: datetime, limit: int, lease_s: float, worker_id: str
    ) -> list[Claim]:
        return await self._writer.submit(
            lambda ctx: jobs.claim_due(ctx, now, limit, lease_s, worker_id)
        )

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
        def job(ctx: WriteContext) -> bool:
            if not jobs.record_outcome(ctx, delivery_id, attempt, outcome, at):
                return False
            if arrival is not None:
                statuses.record_arrival(ctx, arrival, forward)
            return True

        return await self._writer.submit(job)

    async def lease_owners(self, now: datetime) -> list[str]:
        return await self._readers.run(reads.lease_owners, now)

    async def expire_leases(self, owner: str, at: datetime) -> int:
        return await self._writer.submit(lambda ctx: jobs.expire_leases(ctx, owner, at))

    async def dead_letters(self, limit: int, cursor: str | None = None) -> Page[Delivery]:
        return await self._readers.run(reads.dead_letters, limit, cursor)

    async def retry_dead_letter(self, delivery_id: int, at: datetime) -> Delivery:
        return await self._writer.submit(lambda ctx: jobs.retry_dead_letter(ctx, delivery_id, at))

    async def discard_dead_letter(self, delivery_id: int, at: datetime) -> Delivery:
        return await self._writer.submit(lambda ctx: jobs.discard_dead_letter(ctx, delivery_id, at))

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        return await self._readers.run(reads.delivery_by_id, delivery_id)

    async def activity(self, since: datetime, until: datetime) -> Activity:
        return await self._readers.run(reads.activity, since, until)

    async def stats(self, now: datetime) -> Stats:
        return await self._readers.run(reads.stats, now)

    # -- peer axes (federation) --------------------------------------------------
    async def create_peer(self, peer: NewPeer, token_hash: str, at: datetime) -> Peer:
        return await self._writer.submit(lambda ctx: peers.create_peer(ctx, peer, token_hash, at))

    async def update_peer(self, peer: NewPeer, at: datetime) -> Peer:
        try:
            return await self._writer.submit(lambda ctx: peers.update_peer(ctx, peer, at))
        finally:
            self._registry.invalidate()  # its agencies' endpoint moved

    async def set_peer_token(self, name: str, token_hash: str, at: datetime) -> None:
        await self._writer.submit(lambda ctx: peers.set_peer_token(ctx, name, token_hash, at))

    async def set_peer_state(self, name: str, state: PeerState, at: datetime) -> Peer:
        try:
            return await self._writer.submit(lambda ctx: peers.set_peer_state(ctx, name, state, at))
        finally:
            self._registry.invalidate()  # its agencies' state changed with it

    async def registry_version(self) -> int:
        return await self._readers.run(reads.registry_version)

    async def set_directory_version(self, name: str, version: int) -> None:
        await self._writer.submit(lambda ctx: peers.set_directory_version(ctx, name, version))

    async def get_peer(self, name: str) -> Peer | None:
        return await self._readers.run(peers.get_peer, name)

    async def list_peers(self) -> list[Peer]:
        return await self._readers.run(peers.list_peers)

    async def peer_for_token(self, token_hash: str) -> Peer | None:
        return await self._readers.run(peers.peer_for_token, token_hash)

    async def add_recipients(
        self, axis_id: str, codes: Sequence[str], at: datetime
    ) -> tuple[str, ...]:
        wanted = tuple(codes)
        return await self._writer.submit(lambda ctx: peers.add_recipients(ctx, axis_id, wanted, at))

    async def record_relay_receipt(self, delivery_id: int, receipt: bytes) -> None:
        await self._writer.submit(lambda ctx: peers.record_relay_receipt(ctx, delivery_id, receipt))

    # -- statuses ----------------------------------------------------------------
    async def record_status(
        self,
        status: NewStatus,
        expected_current: str | None,
        *,
        updates_progress: bool = True,
        forward: NewDocument | None = None,
    ) -> StoredStatus:
        def job(ctx: WriteContext) -> StoredStatus:
            stored = statuses.record_status(ctx, status, expected_current, updates_progress)
            if forward is not None:
                jobs.accept_document(ctx, forward)
            return stored

        return await self._writer.submit(job)

    async def business_followups(self, sender_code: str, document_id: str) -> list[StoredDocument]:
        return await self._readers.run(reads.business_followups, sender_code, document_id)

    async def statuses_for(
        self, agency_code: str, cursor: str | None = None, limit: int = 100
    ) -> Page[StoredStatus]:
        return await self._readers.run(reads.statuses_for, agency_code, cursor, limit)

    async def statuses_of(self, axis_id: str) -> list[StoredStatus]:
        return await self._readers.run(reads.statuses_of, axis_id)

    async def get_status(self, status_id: str) -> StoredStatus | None:
        return await self._readers.run(reads.status_by_id, status_id)

    async def status_bytes(self, status_id: str) -> bytes:
        return await self._readers.run(reads.status_bytes, status_id)

    # -- VDXP systems ------------------------------------------------------------
    async def create_system(
        self, system_id: str, agencies: Sequence[str], sealed_secret: bytes, at: datetime
    ) -> VdxpSystem:
        codes = tuple(agencies)
        return await self._writer.submit(
            lambda ctx: vdxp.create_system(ctx, system_id, codes, sealed_secret, at)
        )

    async def get_system(self, system_id: str) -> VdxpSystem | None:
        return await self._readers.run(vdxp.get_system, system_id)

    async def list_systems(self) -> list[VdxpSystem]:
        return await self._readers.run(vdxp.list_systems)

    async def set_system_secret(
        self, system_id: str, sealed_secret: bytes, at: datetime
    ) -> VdxpSystem:
        return await self._writer.submit(
            lambda ctx: vdxp.set_system_secret(ctx, system_id, sealed_secret, at)
        )

    async def set_system_state(
        self, system_id: str, state: SystemState, at: datetime
    ) -> VdxpSystem:
        return await self._writer.submit(
            lambda ctx: vdxp.set_system_state(ctx, system_id, state, at)
        )

    async def record_vdxp_report(
        self,
        message_id: str,
        recipient_code: str,
        report: VdxpReport,
        reason: str | None,
        at: datetime,
    ) -> bool:
        return await self._writer.submit(
            lambda ctx: vdxp.record_report(ctx, message_id, recipient_code, report, reason, at)
        )

    async def vdxp_reports(self, message_id: str, recipient_code: str) -> set[str]:
        return await self._readers.run(vdxp.reports_of, message_id, recipient_code)

    async def unreported_statuses(self, agency_code: str, limit: int) -> list[StoredStatus]:
        return await self._readers.run(vdxp.unreported_statuses, agency_code, limit)

    async def statuses_from(self, agency_code: str, limit: int) -> list[StoredStatus]:
        return await self._readers.run(vdxp.statuses_from, agency_code, limit)

    # -- named operators -----------------------------------------------------------
    async def create_operator(self, name: str, token_hash: str, at: datetime) -> Operator:
        return await self._writer.submit(
            lambda ctx: operators.create_operator(ctx, name, token_hash, at)
        )

    async def list_operators(self) -> list[Operator]:
        return await self._readers.run(operators.list_operators)

    async def remove_operator(self, name: str, at: datetime) -> None:
        await self._writer.submit(lambda ctx: operators.remove_operator(ctx, name, at))

    async def operator_for_token(self, token_hash: str) -> Operator | None:
        return await self._readers.run(operators.operator_for_token, token_hash)

    # -- console sessions ----------------------------------------------------------
    async def create_console_session(
        self, row: ConsoleSessionRow, created_before: datetime, seen_before: datetime
    ) -> None:
        await self._writer.submit(
            lambda ctx: operators.create_console_session(ctx, row, created_before, seen_before)
        )

    async def console_session(self, id_hash: str) -> ConsoleSessionRow | None:
        return await self._readers.run(operators.console_session, id_hash)

    async def update_console_session(self, id_hash: str, seen_at: datetime, notes: str) -> None:
        await self._writer.submit(
            lambda ctx: operators.update_console_session(ctx, id_hash, seen_at, notes)
        )

    async def delete_console_session(self, id_hash: str) -> None:
        await self._writer.submit(lambda ctx: operators.delete_console_session(ctx, id_hash))

    # -- audit -------------------------------------------------------------------
    async def append_audit(
        self,
        event: str,
        at: datetime,
        axis_id: str | None = None,
        agency: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        frozen = dict(detail) if detail is not None else None
        await self._writer.submit(
            lambda ctx: jobs.append_audit(ctx, event, at, axis_id, agency, frozen)
        )

    async def iter_audit(self, batch: int = 10_000, after: int = 0) -> AsyncIterator[AuditEntry]:
        while entries := await self._readers.run(audit_batch, after, batch):
            for entry in entries:
                yield entry
            after = entries[-1].seq

    async def audit_head(self) -> AuditHead:
        return await self._readers.run(reads.audit_head)

    async def verify_audit(self) -> AuditReport:
        # A thread of its own: the walk holds one snapshot open for its length.
        try:
            return await asyncio.to_thread(verify_audit_file, self.path, self._busy_timeout_s)
        except sqlite3.Error as exc:
            raise Unavailable(f"the store could not read: {exc}", retry_after_s=1) from exc
