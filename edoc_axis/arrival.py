"""Status 01 (arrived) recorded by the axis when a document reaches its recipient.

Used by the pull side (acknowledgement) and the push side (a 2xx from the
endpoint), which is why it lives outside both the server and the delivery
packages.
"""

from __future__ import annotations

import contextlib
import hashlib

from edoc_axis.clock import Clock, to_vietnam_local
from edoc_axis.core.compose import new_status
from edoc_axis.core.ids import new_axis_id
from edoc_axis.edxml import StatusCode, build_status
from edoc_axis.errors import StatusTransition
from edoc_axis.forwarding import push_copy
from edoc_axis.store import NewStatus, Store


async def record_arrival(
    store: Store, clock: Clock, axis_id: str, recipient: str, how: str
) -> None:
    """Record 01 on the recipient's behalf unless the delivery already has a status.

    The status is composed by the axis and so unsigned; ``how`` says why it was
    recorded. If the recipient's own status got there first, nothing is added.
    """
    document = await store.get_document(axis_id)
    delivery = await store.delivery_for(axis_id, recipient)
    if document is None or delivery is None or delivery.status_code is not None:
        return
    now = clock.now()
    local = to_vietnam_local(now)
    package = new_status(
        sender=recipient,
        about_document_id=document.document_id,
        counterparty=document.sender_code,
        code=StatusCode.ARRIVED,
        at=local,
        description=f"Đã đến: {how}",
    )
    raw = build_status(package)
    status = NewStatus(
        status_id=new_axis_id(now),
        axis_id=axis_id,
        from_code=recipient,
        to_code=document.sender_code,
        status_code=StatusCode.ARRIVED.value,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        timestamp=now,
        received_at=now,
    )
    forward = await push_copy(store, status, document)
    with contextlib.suppress(StatusTransition):
        await store.record_status(status, None, forward=forward)
