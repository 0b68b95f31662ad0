"""Recording a status (or a delivery-failure notice), forwarding it, and waking delivery.

Every status the axis stores goes through ``record_status``: one an agency
sent (``intake.accept_status``), the 01 the axis records on a recipient's
behalf (``arrival_writes``: written with the acknowledgement or the 2xx push
outcome that makes it) and the signed
notice that tells a sender its document could not be delivered
(``tell_sender``). For an addressee that receives by push, the status travels
like a document: in the same transaction it is stored as a document of kind
"status" with one delivery, which wakes the push dispatcher.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

import structlog

from edoc_axis.clock import to_vietnam_local
from edoc_axis.core.compose import new_status
from edoc_axis.core.ids import new_axis_id
from edoc_axis.core.notice import DeliveryFailure, sign_delivery_failure
from edoc_axis.edxml import StatusCode, build_status
from edoc_axis.errors import EdocError, NotFound
from edoc_axis.service.context import AxisContext, wake
from edoc_axis.store import (
    Claim,
    Delivery,
    NewDocument,
    NewStatus,
    Store,
    StoredDocument,
    StoredStatus,
)

log = structlog.get_logger("edoc_axis.statuses")


async def push_copy(store: Store, status: NewStatus, about: StoredDocument) -> NewDocument | None:
    """The document to push for ``status``, or None if its addressee pulls."""
    addressee = await store.get_agency(status.to_code)
    if addressee is None or addressee.delivery_mode != "push":
        return None
    what = status.status_code or "delivery failure notice"
    return NewDocument(
        axis_id=status.status_id,
        sender_code=status.from_code,
        document_id=about.document_id,
        idempotency_key=f"status:{status.status_id}",
        kind="status",
        business_type=0,
        references_document_id=None,
        subject=f"status {what} about {about.document_id}",
        sha256=status.sha256,
        raw=status.raw,
        received_at=status.received_at,
        receipt=b"",
        recipients=(status.to_code,),
    )


async def record_status(
    ctx: AxisContext,
    status: NewStatus,
    about: StoredDocument,
    expected: str | None,
    *,
    updates_progress: bool = True,
) -> StoredStatus:
    """Store ``status`` about ``about`` with its push copy, then wake push delivery.

    ``expected`` is the delivery's status code the caller judged the status
    against; the store refuses (``StatusTransition``) if another got there first.
    """
    forward = await push_copy(ctx.store, status, about)
    stored = await ctx.store.record_status(
        status, expected, updates_progress=updates_progress, forward=forward
    )
    if forward is not None:
        wake(ctx)
    return stored


def arrival_status(
    ctx: AxisContext, document: StoredDocument, recipient: str, how: str
) -> NewStatus:
    """The 01 the axis writes on ``recipient``'s behalf (unsigned); ``how`` says why."""
    now = ctx.clock.now()
    package = new_status(
        sender=recipient,
        about_document_id=document.document_id,
        counterparty=document.sender_code,
        code=StatusCode.ARRIVED,
        at=to_vietnam_local(now),
        description=f"Đã đến: {how}",
    )
    raw = build_status(package)
    return NewStatus(
        status_id=new_axis_id(now),
        axis_id=document.axis_id,
        from_code=recipient,
        to_code=document.sender_code,
        status_code=StatusCode.ARRIVED.value,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        timestamp=now,
        received_at=now,
    )


async def arrival_writes(
    ctx: AxisContext, document: StoredDocument, recipient: str, how: str
) -> tuple[NewStatus, NewDocument | None]:
    """The 01 for ``recipient`` and its push copy to the sender (None if it pulls),
    for the store to write with the acknowledgement or push outcome that makes it."""
    arrival = arrival_status(ctx, document, recipient, how)
    return arrival, await push_copy(ctx.store, arrival, document)


async def acknowledge(
    ctx: AxisContext,
    axis_id: str,
    recipient: str,
    how: str,
    *,
    document: StoredDocument | None = None,
) -> Delivery:
    """The recipient has stored the document: acknowledge it and record status 01 once.

    The acknowledgement and the 01 (with its push copy to a sender that
    receives by push) are one transaction (issue 15): one commit, and no
    acknowledged delivery without its 01. ``document``, when the caller has
    read it, is not read again.
    """
    if document is None:
        document = await ctx.store.get_document(axis_id)
    arrival = forward = None
    if document is not None:
        arrival, forward = await arrival_writes(ctx, document, recipient, how)
    delivery = await ctx.store.acknowledge(
        axis_id, recipient, ctx.clock.now(), arrival=arrival, forward=forward
    )
    if forward is not None:
        wake(ctx)
    return delivery


ACK_CONCURRENCY = 32
"""Acknowledgements of one batch in flight at once: enough for the store's group commit
to write them in a few transactions, few enough not to take every pooled connection."""


async def acknowledge_many(
    ctx: AxisContext, axis_ids: Sequence[str], recipient: str, how: str
) -> list[Delivery | EdocError]:
    """Acknowledge several documents for ``recipient``, each as ``acknowledge`` would.

    They run concurrently (bounded), so the store's group-commit writer takes many
    acknowledgements and their 01 statuses into one transaction instead of one each.
    Each id has its own outcome, in the order given: an id that is not in the
    recipient's inbox is a ``NotFound`` for that id and does not stop the others.
    """
    gate = asyncio.Semaphore(ACK_CONCURRENCY)

    async def one(axis_id: str) -> Delivery | EdocError:
        async with gate:
            try:
                if await ctx.store.delivery_for(axis_id, recipient) is None:
                    raise NotFound(f"no document {axis_id} in your inbox")
                return await acknowledge(ctx, axis_id, recipient, how)
            except EdocError as error:
                return error

    return list(await asyncio.gather(*(one(axis_id) for axis_id in axis_ids)))


async def tell_sender(ctx: AxisContext, claim: Claim, reason: str) -> None:
    """Put a signed delivery-failure notice in the sender's status feed."""
    document = await ctx.store.get_document(claim.axis_id)
    if document is None or document.kind != "document":
        return  # a status that could not be pushed stays in the addressee's feed
    now = ctx.clock.now()
    raw = sign_delivery_failure(
        DeliveryFailure(
            axis_name=ctx.config.axis_name,
            axis_id=claim.axis_id,
            document_id=document.document_id,
            sender=document.sender_code,
            recipient=claim.recipient_code,
            attempts=claim.attempt,
            reason=reason,
            at=now,
        ),
        ctx.axis_key,
        ctx.axis_cert,
    )
    notice = NewStatus(
        status_id=f"nt{claim.delivery_id}a{claim.attempt}",
        axis_id=claim.axis_id,
        from_code=claim.recipient_code,
        to_code=document.sender_code,
        status_code=None,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        timestamp=now,
        received_at=now,
        kind="notice",
    )
    await record_status(ctx, notice, document, None, updates_progress=False)
    log.warning("delivery.sender_told", axis_id=claim.axis_id, recipient=claim.recipient_code)
