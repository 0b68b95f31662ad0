"""PostgresStore: the Store verbs over PostgreSQL, for several axis nodes on one database.

Every verb runs on a pooled asyncpg connection: writes in one transaction each
(pg_writer), reads as single statements (pg_reads). The SQL lives in
pg_queries.py; one module per concern mirrors the SQLite backend's.

Several nodes: claims lock with FOR UPDATE SKIP LOCKED and lease; audit
appends take the row lock on the chain's head; idempotency and status
transitions are unique keys and conditional UPDATEs. A dedicated connection
LISTENs for work other nodes made due, so whichever node is free pushes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

import asyncpg
import structlog

from edoc_axis.core.audit import AuditHead, AuditRow, verify_rows
from edoc_axis.errors import Unavailable
from edoc_axis.store import pg_jobs as jobs
from edoc_axis.store import pg_operators as operators
from edoc_axis.store import pg_peers as peers
from edoc_axis.store import pg_queries as q
from edoc_axis.store import pg_reads as reads
from edoc_axis.store import pg_registry as registry
from edoc_axis.store import pg_statuses as statuses
from edoc_axis.store import pg_vdxp as vdxp
from edoc_axis.store.migrate import SchemaBehind, bundled_migrations
from edoc_axis.store.pg_migrate import apply_migrations, pending_migrations
from edoc_axis.store.pg_writer import (
    CONNECTION_ERRORS,
    PgWrite,
    PgWriter,
    run_read,
    run_write,
    unavailable,
)
from edoc_axis.store.records import (
    AcceptResult,
    Activity,
    Addressed,
    Agency,
    AgencyState,
    AuditEntry,
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

T = TypeVar("T")
log = structlog.get_logger(__name__)


def _now(at: datetime | None) -> datetime:
    return datetime.now(UTC) if at is None else at


def redact_dsn(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    head, at, tail = dsn.rpartition("@")
    if not at:
        return dsn
    scheme, sep, userinfo = head.partition("://")
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}@{tail}" if sep else f"{user}@{tail}"


class PostgresStore:
    """The Store protocol on PostgreSQL. See ``edoc_axis.store.base.Store`` for each verb.

    ``migrate=True`` applies pending migrations on open (tests, `edoc-axis
    migrate`); otherwise open refuses a database whose schema is behind.
    ``schema`` puts every table in that schema (it is created if missing).
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        acquire_timeout_s: float = 5.0,
        migrate: bool = False,
        schema: str | None = None,
        listen: bool = True,
    ) -> None:
        self.dsn = dsn
        self._min_size, self._max_size = min_size, max_size
        self._timeout_s = acquire_timeout_s
        self._migrate = migrate
        self._schema = schema
        self._listen = listen
        self._pool: asyncpg.Pool | None = None
        self._writer: PgWriter | None = None
        self._listener: asyncpg.Connection | None = None
        self._work_callbacks: list[Callable[[], None]] = []
        self._relisten: asyncio.Task[None] | None = None
        self._closing = False
        self._registry = RegistryCache(
            lambda: self._read(reads.registry_version),
            lambda: self._read(reads.registry_snapshot),
            lambda code: self._read(lambda c: reads.registry_entry(c, code)),
        )

    @property
    def where(self) -> str:
        return redact_dsn(self.dsn) + (f" (schema {self._schema})" if self._schema else "")

    def _server_settings(self) -> dict[str, str]:
        settings = {"application_name": "edoc-axis"}
        if self._schema:
            settings["search_path"] = self._schema
        return settings

    # -- lifecycle ---------------------------------------------------------------
    async def open(self) -> None:
        self._closing = False
        try:
            await self._prepare_schema()
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                server_settings=self._server_settings(),
                timeout=self._timeout_s,
                reset=_end_transaction,
            )
            self._writer = PgWriter(self._pool, acquire_timeout_s=self._timeout_s)
            if self._listen:
                await self._start_listener()
        except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
            # unreachable, refused, wrong password, no such database: one clear line
            await self.close()
            raise unavailable(exc, f"open {self.where}") from exc
        except BaseException:
            await self.close()
            raise

    async def _prepare_schema(self) -> None:
        conn = await asyncpg.connect(
            self.dsn, server_settings=self._server_settings(), timeout=self._timeout_s
        )
        try:
            migrations = bundled_migrations("postgresql")
            if self._migrate:
                if self._schema:
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
                await apply_migrations(conn, migrations)
            else:
                pending = await pending_migrations(conn, migrations)
                if pending:
                    raise SchemaBehind(self.where, pending)
        finally:
            await conn.close()

    async def migrate(self) -> list[int]:
        """Apply pending migrations now (``edoc-axis migrate``); the versions applied."""
        try:
            conn = await asyncpg.connect(
                self.dsn, server_settings=self._server_settings(), timeout=self._timeout_s
            )
        except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
            raise unavailable(exc, f"open {self.where}") from exc
        try:
            if self._schema:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            return await apply_migrations(conn, bundled_migrations("postgresql"))
        finally:
            await conn.close()

    async def close(self) -> None:
        self._closing = True
        if self._relisten is not None:
            self._relisten.cancel()
            await asyncio.gather(self._relisten, return_exceptions=True)
            self._relisten = None
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.stop()
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            await listener.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> PostgresStore:
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
        if self._writer is None or not self._writer.running:
            raise Unavailable("the store's writer is not running", retry_after_s=1)
        await self._read(lambda conn: conn.fetchval("SELECT 1"))

    @property
    def commit_count(self) -> int:
        """Write transactions committed so far (group commit shares them between verbs)."""
        return 0 if self._writer is None else self._writer.groups

    # -- wake-ups across nodes ---------------------------------------------------
    def on_work(self, callback: Callable[[], None]) -> None:
        self._work_callbacks.append(callback)

    def _notified(self, *_: Any) -> None:
        for callback in self._work_callbacks:
            callback()

    async def _start_listener(self) -> None:
        conn = await asyncpg.connect(
            self.dsn, server_settings=self._server_settings(), timeout=self._timeout_s
        )
        await conn.add_listener(q.WORK_CHANNEL, self._notified)
        conn.add_termination_listener(self._listener_lost)
        self._listener = conn

    def _listener_lost(self, _: Any) -> None:
        if self._closing:
            return
        log.warning("store.listener_lost", store=self.where)
        self._relisten = asyncio.get_running_loop().create_task(self._reconnect_listener())

    async def _reconnect_listener(self) -> None:
        # Polling goes on meanwhile; this only restores prompt wake-ups.
        delay = 0.5
        while not self._closing:
            try:
                await self._start_listener()
            except CONNECTION_ERRORS:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            self._notified()  # work may have been announced while we were away
            return

    # -- plumbing ----------------------------------------------------------------
    def _require_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise Unavailable("the store is not open", retry_after_s=1)
        return self._pool

    async def _write(self, job: Callable[[PgWrite], Awaitable[T]]) -> T:
        if self._writer is None:
            raise Unavailable("the store is not open", retry_after_s=1)
        return await self._writer.submit(job)

    async def _read(self, read: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        return await run_read(self._require_pool(), read, self._timeout_s)

    # -- registry ----------------------------------------------------------------
    # Reads by code, token and certificate come from the in-memory snapshot
    # (registry_cache); every write here has the agency it names read again and
    # patched in before the next answer, committed or not.
    async def _registry_write(self, code: str, job: Callable[[PgWrite], Awaitable[T]]) -> T:
        try:
            return await self._write(job)
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
            agency.code, lambda w: registry.create_agency(w, agency, token_hash, certs, at)
        )

    async def get_agency(self, code_or_alias: str) -> Agency | None:
        return await self._registry.get_agency(code_or_alias)

    async def list_agencies(self) -> list[Agency]:
        return await self._read(reads.list_agencies)

    async def set_agency_state(
        self, code: str, state: AgencyState, *, at: datetime | None = None
    ) -> Agency:
        when = _now(at)
        return await self._registry_write(
            code, lambda w: registry.set_agency_state(w, code, state, when)
        )

    async def update_endpoint(
        self, code: str, mode: DeliveryMode, url: str | None, *, at: datetime | None = None
    ) -> Agency:
        when = _now(at)
        return await self._registry_write(
            code, lambda w: registry.update_endpoint(w, code, mode, url, when)
        )

    async def add_certificate(
        self, code: str, fingerprint: str, pem: bytes, *, at: datetime | None = None
    ) -> None:
        when = _now(at)
        await self._registry_write(
            code, lambda w: registry.add_certificate(w, code, fingerprint, pem, when)
        )

    async def remove_certificate(
        self, code: str, fingerprint: str, *, at: datetime | None = None
    ) -> None:
        when = _now(at)
        await self._registry_write(
            code, lambda w: registry.remove_certificate(w, code, fingerprint, when)
        )

    async def agency_for_certificate(self, fingerprint: str) -> Agency | None:
        return await self._registry.agency_for_certificate(fingerprint)

    async def certificate_pem(self, fingerprint: str) -> bytes | None:
        return await self._read(lambda c: reads.certificate_pem(c, fingerprint))

    async def rotate_token(self, code: str, new_token_hash: str, at: datetime) -> None:
        await self._registry_write(
            code, lambda w: registry.rotate_token(w, code, new_token_hash, at)
        )

    async def revoke_tokens(self, code: str, at: datetime) -> None:
        await self._registry_write(code, lambda w: registry.revoke_tokens(w, code, at))

    async def agency_for_token(self, token_hash: str) -> Agency | None:
        return await self._registry.agency_for_token(token_hash)

    async def remove_test_agency(self, code: str, *, at: datetime | None = None) -> dict[str, int]:
        when = _now(at)
        return await self._registry_write(
            code, lambda w: registry.remove_test_agency(w, code, when)
        )

    # -- documents ---------------------------------------------------------------
    async def accept_document(self, document: NewDocument) -> AcceptResult:
        return await self._write(lambda w: jobs.accept_document(w, document))

    async def get_document(self, axis_id: str) -> StoredDocument | None:
        return await self._read(lambda c: reads.get_document(c, axis_id))

    async def find_document(self, sender_code: str, key: str) -> StoredDocument | None:
        return await self._read(lambda c: reads.find_document(c, sender_code, key))

    async def business_followups(self, sender_code: str, document_id: str) -> list[StoredDocument]:
        return await self._read(lambda c: reads.business_followups(c, sender_code, document_id))

    async def document_bytes(self, axis_id: str) -> bytes:
        return await self._read(lambda c: reads.document_bytes(c, axis_id))

    async def document_piece(self, sha256: str, offset: int, length: int) -> bytes:
        return await self._read(lambda c: reads.document_piece(c, sha256, offset, length))

    async def documents_sent_by(
        self, sender_code: str, limit: int, cursor: str | None = None
    ) -> Page[StoredDocument]:
        return await self._read(lambda c: reads.documents_sent_by(c, sender_code, limit, cursor))

    async def latest_sent(self, sender_code: str, kind: str, limit: int) -> list[StoredDocument]:
        return await self._read(lambda c: reads.latest_sent(c, sender_code, kind, limit))

    # -- deliveries --------------------------------------------------------------
    async def inbox(
        self, recipient_code: str, limit: int, cursor: str | None = None
    ) -> Page[InboxItem]:
        return await self._read(lambda c: reads.inbox(c, recipient_code, limit, cursor))

    async def delivery_for(self, axis_id: str, recipient_code: str) -> Delivery | None:
        return await self._read(lambda c: reads.delivery_for(c, axis_id, recipient_code))

    async def addressed(
        self, axis_id: str, recipient_code: str, *, with_bytes: bool = False
    ) -> Addressed | None:
        return await self._read(lambda c: reads.addressed(c, axis_id, recipient_code, with_bytes))

    async def addressed_many(
        self, axis_ids: Sequence[str], recipient_code: str, *, max_bytes: int
    ) -> list[Addressed | None]:
        return await self._read(
            lambda c: reads.addressed_many(c, axis_ids, recipient_code, max_bytes)
        )

    async def deliveries_of(self, axis_id: str) -> list[Delivery]:
        return await self._read(lambda c: reads.deliveries_of(c, axis_id))

    async def acknowledge(
        self,
        axis_id: str,
        recipient_code: str,
        at: datetime,
        *,
        arrival: NewStatus | None = None,
        forward: NewDocument | None = None,
    ) -> Delivery:
        async def job(w: PgWrite) -> Delivery:
            delivery = await jobs.acknowledge(w, axis_id, recipient_code, at)
            if arrival is None or delivery.status_code is not None:
                return delivery
            if not await statuses.record_arrival(w, arrival, forward):
                return delivery
            return await reads.delivery_for(w.conn, axis_id, recipient_code) or delivery

        return await self._write(job)

    async def claim_due_deliveries(
        self, now: datetime, limit: int, lease_s: float, worker_id: str
    ) -> list[Claim]:
        # Not grouped: a claim writes no audit event and waits on no lock (SKIP LOCKED).
        job = partial(jobs.claim_due, now=now, limit=limit, lease_s=lease_s, worker_id=worker_id)
        return await run_write(self._require_pool(), job, self._timeout_s)

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
        async def job(w: PgWrite) -> bool:
            if not await jobs.record_outcome(w, delivery_id, attempt, outcome, at):
                return False
            if arrival is not None:
                await statuses.record_arrival(w, arrival, forward)
            return True

        return await self._write(job)

    async def lease_owners(self, now: datetime) -> list[str]:
        return await self._read(lambda c: reads.lease_owners(c, now))

    async def expire_leases(self, owner: str, at: datetime) -> int:
        return await self._write(lambda w: jobs.expire_leases(w, owner, at))

    async def dead_letters(self, limit: int, cursor: str | None = None) -> Page[Delivery]:
        return await self._read(lambda c: reads.dead_letters(c, limit, cursor))

    async def retry_dead_letter(self, delivery_id: int, at: datetime) -> Delivery:
        return await self._write(lambda w: jobs.retry_dead_letter(w, delivery_id, at))

    async def discard_dead_letter(self, delivery_id: int, at: datetime) -> Delivery:
        return await self._write(lambda w: jobs.discard_dead_letter(w, delivery_id, at))

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        return await self._read(lambda c: reads.delivery_by_id(c, delivery_id))

    async def activity(self, since: datetime, until: datetime) -> Activity:
        return await self._read(lambda c: reads.activity(c, since, until))

    async def stats(self, now: datetime) -> Stats:
        return await self._read(lambda c: reads.stats(c, now))

    # -- statuses ----------------------------------------------------------------
    async def record_status(
        self,
        status: NewStatus,
        expected_current: str | None,
        *,
        updates_progress: bool = True,
        forward: NewDocument | None = None,
    ) -> StoredStatus:
        async def job(w: PgWrite) -> StoredStatus:
            stored = await statuses.record_status(w, status, expected_current, updates_progress)
            if forward is not None:
                await jobs.accept_document(w, forward)
            return stored

        return await self._write(job)

    async def statuses_for(
        self, agency_code: str, cursor: str | None = None, limit: int = 100
    ) -> Page[StoredStatus]:
        return await self._read(lambda c: reads.statuses_for(c, agency_code, cursor, limit))

    async def statuses_of(self, axis_id: str) -> list[StoredStatus]:
        return await self._read(lambda c: reads.statuses_of(c, axis_id))

    async def get_status(self, status_id: str) -> StoredStatus | None:
        return await self._read(lambda c: reads.status_by_id(c, status_id))

    async def status_bytes(self, status_id: str) -> bytes:
        return await self._read(lambda c: reads.status_bytes(c, status_id))

    # -- VDXP systems ------------------------------------------------------------
    async def create_system(
        self, system_id: str, agencies: Sequence[str], sealed_secret: bytes, at: datetime
    ) -> VdxpSystem:
        codes = tuple(agencies)
        return await self._write(
            lambda w: vdxp.create_system(w, system_id, codes, sealed_secret, at)
        )

    async def get_system(self, system_id: str) -> VdxpSystem | None:
        return await self._read(lambda c: vdxp.get_system(c, system_id))

    async def list_systems(self) -> list[VdxpSystem]:
        return await self._read(vdxp.list_systems)

    async def set_system_secret(
        self, system_id: str, sealed_secret: bytes, at: datetime
    ) -> VdxpSystem:
        return await self._write(lambda w: vdxp.set_system_secret(w, system_id, sealed_secret, at))

    async def set_system_state(
        self, system_id: str, state: SystemState, at: datetime
    ) -> VdxpSystem:
        return await self._write(lambda w: vdxp.set_system_state(w, system_id, state, at))

    # -- peer axes (federation) --------------------------------------------------
    async def create_peer(self, peer: NewPeer, token_hash: str, at: datetime) -> Peer:
        return await self._write(lambda w: peers.create_peer(w, peer, token_hash, at))

    async def update_peer(self, peer: NewPeer, at: datetime) -> Peer:
        try:
            return await self._write(lambda w: peers.update_peer(w, peer, at))
        finally:
            self._registry.invalidate()  # its agencies' endpoint moved

    async def set_peer_token(self, name: str, token_hash: str, at: datetime) -> None:
        await self._write(lambda w: peers.set_peer_token(w, name, token_hash, at))

    async def set_peer_state(self, name: str, state: PeerState, at: datetime) -> Peer:
        try:
            return await self._write(lambda w: peers.set_peer_state(w, name, state, at))
        finally:
            self._registry.invalidate()  # its agencies' state changed with it

    async def registry_version(self) -> int:
        return await self._read(reads.registry_version)

    async def set_directory_version(self, name: str, version: int) -> None:
        await self._write(lambda w: peers.set_directory_version(w, name, version))

    async def get_peer(self, name: str) -> Peer | None:
        return await self._read(lambda c: peers.get_peer(c, name))

    async def list_peers(self) -> list[Peer]:
        return await self._read(peers.list_peers)

    async def peer_for_token(self, token_hash: str) -> Peer | None:
        return await self._read(lambda c: peers.peer_for_token(c, token_hash))

    async def add_recipients(
        self, axis_id: str, codes: Sequence[str], at: datetime
    ) -> tuple[str, ...]:
        wanted = tuple(codes)
        return await self._write(lambda w: peers.add_recipients(w, axis_id, wanted, at))

    async def record_relay_receipt(self, delivery_id: int, receipt: bytes) -> None:
        await self._write(lambda w: peers.record_relay_receipt(w, delivery_id, receipt))

    # -- named operators -----------------------------------------------------------
    async def create_operator(self, name: str, token_hash: str, at: datetime) -> Operator:
        return await self._write(lambda w: operators.create_operator(w, name, token_hash, at))

    async def list_operators(self) -> list[Operator]:
        return await self._read(operators.list_operators)

    async def remove_operator(self, name: str, at: datetime) -> None:
        await self._write(lambda w: operators.remove_operator(w, name, at))

    async def operator_for_token(self, token_hash: str) -> Operator | None:
        return await self._read(lambda c: operators.operator_for_token(c, token_hash))

    async def record_vdxp_report(
        self,
        message_id: str,
        recipient_code: str,
        report: VdxpReport,
        reason: str | None,
        at: datetime,
    ) -> bool:
        return await self._write(
            lambda w: vdxp.record_report(w, message_id, recipient_code, report, reason, at)
        )

    async def vdxp_reports(self, message_id: str, recipient_code: str) -> set[str]:
        return await self._read(lambda c: vdxp.reports_of(c, message_id, recipient_code))

    async def unreported_statuses(self, agency_code: str, limit: int) -> list[StoredStatus]:
        return await self._read(lambda c: vdxp.unreported_statuses(c, agency_code, limit))

    async def statuses_from(self, agency_code: str, limit: int) -> list[StoredStatus]:
        return await self._read(lambda c: vdxp.statuses_from(c, agency_code, limit))

    # -- console sessions ----------------------------------------------------------
    async def create_console_session(
        self, row: ConsoleSessionRow, created_before: datetime, seen_before: datetime
    ) -> None:
        await self._write(
            lambda w: operators.create_console_session(w, row, created_before, seen_before)
        )

    async def console_session(self, id_hash: str) -> ConsoleSessionRow | None:
        return await self._read(lambda c: operators.console_session(c, id_hash))

    async def update_console_session(self, id_hash: str, seen_at: datetime, notes: str) -> None:
        await self._write(lambda w: operators.update_console_session(w, id_hash, seen_at, notes))

    async def delete_console_session(self, id_hash: str) -> None:
        await self._write(lambda w: operators.delete_console_session(w, id_hash))

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
        await self._write(lambda w: jobs.append_audit(w, event, at, axis_id, agency, frozen))

    async def iter_audit(self, batch: int = 10_000, after: int = 0) -> AsyncIterator[AuditEntry]:
        while entries := await self._read(partial(reads.audit_batch, after_seq=after, limit=batch)):
            for entry in entries:
                yield entry
            after = entries[-1].seq

    async def audit_head(self) -> AuditHead:
        return await self._read(reads.audit_head)

    async def verify_audit(self) -> AuditReport:
        return await self._read(_verify_in_snapshot)


async def _end_transaction(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool.

    The verbs change no session state (no SET, LISTEN or session advisory
    lock), so asyncpg's default reset (RESET ALL, UNLISTEN *, ... : one more
    round trip per verb) is not needed; only a transaction left open is ended.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def _verify_in_snapshot(conn: asyncpg.Connection, batch: int = 10_000) -> AuditReport:
    """Walk the chain and its head in one REPEATABLE READ snapshot.

    The rows stream from a server-side cursor; the hashing runs on a thread
    (a million entries take seconds) and pulls each batch from the loop.
    """
    loop = asyncio.get_running_loop()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        seq, hash_ = await conn.fetchrow(q.SELECT_AUDIT_HEAD)
        cursor = await conn.cursor(q.AUDIT_ALL)

        def rows() -> Iterator[AuditRow]:
            while True:
                fetched = asyncio.run_coroutine_threadsafe(cursor.fetch(batch), loop).result()
                if not fetched:
                    return
                for row in fetched:
                    yield tuple(row)

        return await asyncio.to_thread(verify_rows, rows(), AuditHead(seq, hash_))
