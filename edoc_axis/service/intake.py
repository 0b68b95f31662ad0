"""Accepting a document or a status, and acknowledging a pulled document.

The steps after a package has been examined (parsed, schema-checked,
signature verified): the sender check, routing, the business references, the
signed receipt, the store, and the wake-up of push delivery.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import structlog

from edoc_axis.clock import from_vietnam_local
from edoc_axis.core.ids import new_axis_id
from edoc_axis.core.intake import Examined
from edoc_axis.core.receipt import Receipt, sign_receipt
from edoc_axis.core.routing import idempotency_key, referenced_documents, routing_targets
from edoc_axis.core.statuses import (
    check_progress,
    check_sender_role,
    check_signed_by_policy,
    round_for,
)
from edoc_axis.edxml import DocumentPackage, StatusCode, StatusPackage
from edoc_axis.errors import (
    AuthSenderMismatch,
    BusinessReferenceUnknown,
    CertificateNotAgency,
    DocumentConflict,
    EdocError,
    NotFound,
    RecipientDisabled,
    RecipientUnknown,
    StatusTransition,
)
from edoc_axis.service.context import AxisContext, wake
from edoc_axis.service.conversation import recipient_message, rounds_with
from edoc_axis.service.peers import remote_agency
from edoc_axis.service.statuses import record_status
from edoc_axis.store import (
    AcceptResult,
    Agency,
    Delivery,
    NewDocument,
    NewStatus,
    StoredDocument,
    StoredStatus,
)

log = structlog.get_logger("edoc_axis.intake")


# -- documents -----------------------------------------------------------------


async def accept_document(ctx: AxisContext, caller: Agency, examined: Examined) -> AcceptResult:
    """Store an examined document from ``caller`` with its signed receipt.

    The same bytes again answer the stored document (created=False); the same
    DocumentId with other bytes raises ``DocumentConflict``. The store's unique
    key answers both in the write itself, so a new document costs no read for
    it; only a document refused by a check looks for a stored one, which a
    re-submission answers even if the check would refuse it now.
    """
    now = ctx.clock.now()
    package = examined.package
    assert isinstance(package, DocumentPackage)
    structlog.contextvars.bind_contextvars(document_id=package.document_id)
    key = idempotency_key(package, examined.sha256)
    try:
        await _check_sender(
            ctx,
            caller,
            package.sender.organ_id,
            examined.signer_fingerprint,
            what="envelope",
            document_id=package.document_id,
            signed=True,
        )
        recipients = await _route(ctx, package)
        await _check_references(ctx, caller, package)
    except EdocError:
        existing = await _resubmitted(ctx, caller, key, examined, package.document_id)
        if existing is None:
            raise
        return AcceptResult(created=False, document=existing)
    result = await store_document(ctx, caller, package, examined, key, recipients, now)
    if not result.created:
        log.info("document.resubmitted", axis_id=result.document.axis_id)
    return result


async def _resubmitted(
    ctx: AxisContext, caller: Agency, key: str, examined: Examined, document_id: str
) -> StoredDocument | None:
    """The stored document this one re-submits; ``DocumentConflict`` if its bytes differ."""
    existing = await ctx.store.find_document(caller.code, key)
    if existing is None:
        return None
    if existing.sha256 != examined.sha256:
        raise DocumentConflict(
            "this DocumentId was already accepted from this sender with other content",
            document_id=document_id,
        )
    log.info("document.resubmitted", axis_id=existing.axis_id)
    return existing


async def _check_sender(
    ctx: AxisContext,
    caller: Agency,
    declared_code: str,
    fingerprint: str | None,
    *,
    what: str,
    document_id: str | None = None,
    signed: bool = False,
) -> None:
    """The one sender check of documents and statuses, whatever the dialect.

    The caller must be the agency the package's From names (by code or alias),
    and a signature on it must be made with a certificate registered to the
    caller; with ``signed`` (documents) there must be one. ``what`` names the
    From in the refusal ("envelope", "status").
    """
    declared = await ctx.store.get_agency(declared_code)
    if declared is None or declared.code != caller.code:
        raise AuthSenderMismatch(
            f"the caller is {caller.code}, the {what}'s From is {declared_code}",
            document_id=document_id,
        )
    if (signed or fingerprint is not None) and fingerprint not in caller.certificate_fingerprints:
        raise CertificateNotAgency(
            f"the signing certificate is not registered to {caller.code}",
            document_id=document_id,
        )


async def _route(ctx: AxisContext, package: DocumentPackage) -> tuple[str, ...]:
    """Each recipient's agency: local, or remote (served by a peer axis, "Connecting axes")."""
    codes: dict[str, None] = {}  # ordered, and a set: linear in the recipients
    for organ_id in routing_targets(package):
        agency = await ctx.store.get_agency(organ_id) or await remote_agency(ctx, organ_id)
        if agency is None:
            raise RecipientUnknown(
                f"recipient {organ_id} is not registered", document_id=package.document_id
            )
        if agency.state != "active":
            raise RecipientDisabled(
                f"recipient {organ_id} is disabled", document_id=package.document_id
            )
        codes.setdefault(agency.code)
    return tuple(codes)


async def _check_references(ctx: AxisContext, caller: Agency, package: DocumentPackage) -> None:
    for reference in referenced_documents(package):
        if await ctx.store.find_document(caller.code, reference) is None:
            raise BusinessReferenceUnknown(
                f"business type {int(package.business_type)} names document {reference}, "
                f"which {caller.code} never sent",
                document_id=package.document_id,
            )


async def store_document(
    ctx: AxisContext,
    caller: Agency,
    package: DocumentPackage,
    examined: Examined,
    key: str,
    recipients: tuple[str, ...],
    now: datetime,
    *,
    relay_path: tuple[str, ...] = (),
) -> AcceptResult:
    """Sign this axis's receipt and store the document with one delivery per recipient.

    ``relay_path``: the axes a relayed document crossed before this one.
    """
    axis_id = new_axis_id(now)
    legacy = examined.signature is not None and examined.signature.legacy
    receipt = Receipt(
        axis_name=ctx.config.axis_name,
        axis_id=axis_id,
        sender=caller.code,
        document_id=package.document_id,
        sha256=examined.sha256,
        accepted_at=now,
        recipients=recipients,
        legacy_policy=legacy,
    )
    signed = sign_receipt(receipt, ctx.axis_key, ctx.axis_cert)
    references = referenced_documents(package)
    result = await ctx.store.accept_document(
        NewDocument(
            axis_id=axis_id,
            sender_code=caller.code,
            document_id=package.document_id,
            idempotency_key=key,
            kind="document",
            business_type=int(package.business_type),
            references_document_id=references[0] if references else None,
            subject=package.subject,
            sha256=examined.sha256,
            raw=package.raw,
            received_at=now,
            receipt=signed,
            recipients=recipients,
            legacy_policy=legacy,
            relay_path=relay_path,
        )
    )
    if result.created:
        wake(ctx)
        log.info("document.accepted", axis_id=axis_id, recipients=list(recipients))
    return result


# -- statuses ------------------------------------------------------------------


async def accept_status(
    ctx: AxisContext, caller: Agency, examined: Examined, *, relayed: bool = False
) -> tuple[StoredStatus, bool]:
    """Record an examined status from ``caller``; (the stored status, whether it is new).

    The one status intake of every dialect: the native ``POST /api/v1/statuses``
    and VDXP's ``sendEdoc`` (messagetype=status) both come here after admission.
    The id comes from the bytes, so the same status again answers the stored one.
    ``relayed``: a peer axis relayed it for ``caller``, a remote agency it serves
    (``service.relay``): the signer is checked against the certificates this axis
    knows of the caller, if any (the caller's own axis checked it at intake).
    """
    status = examined.package
    assert isinstance(status, StatusPackage)
    await _check_status(ctx, caller, status, examined, relayed=relayed)
    status_id = "st" + examined.sha256[:40]
    existing = await ctx.store.get_status(status_id)
    if existing is not None:
        return existing, False
    stored = await _apply_judged(ctx, caller, status, status_id, relayed=relayed)
    log.info("status.accepted", axis_id=stored.axis_id, status_code=stored.status_code)
    return stored, True


async def _check_status(
    ctx: AxisContext,
    caller: Agency,
    status: StatusPackage,
    examined: Examined,
    *,
    relayed: bool = False,
) -> None:
    """Who may send this status, and how: the caller must be its From, and its signer if signed.

    The single place a status message's sender and signature are judged for
    both dialects, with the rule on which codes must be signed
    (``[security] require_signed_statuses``).
    """
    fingerprint = examined.signer_fingerprint
    # An axis writes the 01 of an acknowledged delivery itself, unsigned: relayed
    # from the recipient's axis, it is that axis's word, as it would be here.
    if not (relayed and status.status_code == StatusCode.ARRIVED):
        check_signed_by_policy(
            status.status_code,
            signed=fingerprint is not None,
            required=ctx.config.require_signed_statuses,
            allow_legacy=ctx.config.allow_legacy,
        )
    if relayed and not caller.certificate_fingerprints:
        fingerprint = None  # no certificate of the caller known here: the peer vouches
    await _check_sender(ctx, caller, status.sender.organ_id, fingerprint, what="status")


async def store_status(
    ctx: AxisContext,
    raw: bytes,
    package: StatusPackage,
    document: StoredDocument,
    *,
    from_code: str,
    to_code: str,
    expected: str | None,
    updates_progress: bool,
    status_id: str,
    recall_round: int | None = None,
) -> StoredStatus:
    status = NewStatus(
        status_id=status_id,
        axis_id=document.axis_id,
        from_code=from_code,
        to_code=to_code,
        status_code=package.status_code.value,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        timestamp=from_vietnam_local(package.timestamp),
        received_at=ctx.clock.now(),
        recall_round=recall_round,
    )
    return await record_status(ctx, status, document, expected, updates_progress=updates_progress)


async def _target(
    ctx: AxisContext, caller: Agency, status: StatusPackage
) -> tuple[StoredDocument, Delivery, bool]:
    """The message and delivery a status is about, and whether the caller is its sender.

    A status names a document by (sender, DocumentId) whatever its business
    type; it applies to the newest message of that document the recipient has
    got (``recipient_message``). The caller's role comes from the document, not
    from the code, so that a code sent by the wrong party is refused as such
    (``status.not-allowed``). The counterparty's document to the caller is
    looked up first, then the caller's document to the counterparty.
    """
    store = ctx.store
    counterparty = await store.get_agency(status.response_for.organ_id)
    document_id = status.response_for.document_id
    if counterparty is None:
        raise NotFound(f"unknown counterparty {status.response_for.organ_id}")
    for sender, recipient, by_sender in (
        (counterparty.code, caller.code, False),
        (caller.code, counterparty.code, True),
    ):
        found = await recipient_message(store, sender, document_id, recipient)
        if found is not None:
            return found[0], found[1], by_sender
    raise NotFound(f"no document {document_id} between {caller.code} and {counterparty.code}")


_JUDGEMENTS = 3
"""How often a status is judged again when another status of the same delivery got
there between the read and the write (two statuses of one recipient at once)."""


async def _apply_judged(
    ctx: AxisContext, caller: Agency, status: StatusPackage, status_id: str, *, relayed: bool
) -> StoredStatus:
    """``_apply``, judged again on the fresh delivery if another status won the race.

    The store refuses a write whose delivery moved since it was read (no lost
    update); the status is then judged against what is there now, so 01 and 03
    arriving at once are both kept in order, and a real step back is refused.
    """
    for judgement in range(_JUDGEMENTS):
        try:
            return await _apply(ctx, caller, status, status.raw, status_id, relayed=relayed)
        except StatusTransition:
            if judgement == _JUDGEMENTS - 1:
                raise
            existing = await ctx.store.get_status(status_id)
            if existing is not None:  # the same status, stored by a concurrent request
                return existing
    raise AssertionError("unreachable")


async def _apply(
    ctx: AxisContext,
    caller: Agency,
    status: StatusPackage,
    raw: bytes,
    status_id: str,
    *,
    relayed: bool = False,
) -> StoredStatus:
    document, delivery, by_sender = await _target(ctx, caller, status)
    code = status.status_code
    check_sender_role(code, is_sender=by_sender, is_recipient=not by_sender)
    progress = code.info.progress_rank is not None
    moves = progress
    if progress:
        current = StatusCode(delivery.status_code) if delivery.status_code else None
        try:
            check_progress(current, code)
        except StatusTransition:
            if not relayed:
                raise
            # Statuses relayed by several axes may overtake each other (an 03 before
            # the 01): the later-ranked one is the delivery's status already, so an
            # overtaken one is kept in the sender's feed without moving it back.
            moves = False
    recall_round = None
    if not progress:
        recipient = delivery.recipient_code
        rounds = await rounds_with(ctx.store, document.sender_code, document.document_id, recipient)
        recall_round = round_for(code, rounds)
    return await store_status(
        ctx,
        raw,
        status,
        document,
        from_code=caller.code,
        to_code=delivery.recipient_code if by_sender else document.sender_code,
        expected=delivery.status_code,
        updates_progress=moves,
        status_id=status_id,
        recall_round=recall_round,
    )
