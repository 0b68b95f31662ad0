"""Status messages and notices for push-mode agencies travel like documents.

For an addressee that receives by push, a status (or a notice) is stored, in
the same transaction, as a document of kind "status" with one delivery, so
the push workers deliver it to the agency's endpoint (`Edoc-Kind: status`).
"""

from __future__ import annotations

from edoc_axis.store import NewDocument, NewStatus, Store, StoredDocument


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
