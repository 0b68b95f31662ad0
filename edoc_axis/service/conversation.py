"""What a status names: the messages of one document identity, and recall rounds.

A document of any business type is identified by (sender, DocumentId). Its
messages are the package that carries the DocumentId as a document (new,
replace, or a revoke/update with a DocumentId of its own) and the revokes and
updates sent later under the same DocumentId (the reference SDK's habit). A
status from a recipient names (sender, DocumentId) and applies to the newest
of those messages the recipient has got (see docs/identity.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from edoc_axis.core.statuses import RecallEvent, RecallRound, recall_rounds
from edoc_axis.edxml import BusinessDocType, StatusCode
from edoc_axis.store import Delivery, Store, StoredDocument

_ASKING = {int(BusinessDocType.REVOKE): "revoke", int(BusinessDocType.UPDATE): "update"}
_RECALL_CODES = {
    StatusCode.RECALL_REQUEST.value,
    StatusCode.RECALL_AGREED.value,
    StatusCode.RECALL_REFUSED.value,
}
_GOT = ("delivered", "acknowledged")


async def document_messages(store: Store, sender: str, document_id: str) -> list[StoredDocument]:
    """Every message carrying the identity (sender, DocumentId), oldest first."""
    first = await store.find_document(sender, document_id)
    if first is None:
        return []
    followups = await store.business_followups(sender, document_id)
    later = [f for f in followups if f.document_id == document_id and f.axis_id != first.axis_id]
    return [first, *later]


async def recipient_message(
    store: Store, sender: str, document_id: str, recipient: str
) -> tuple[StoredDocument, Delivery] | None:
    """The message of (sender, DocumentId) a status of ``recipient`` applies to.

    The newest one the recipient has got (delivered or acknowledged); if it has
    got none yet, the newest one addressed to it.
    """
    found: list[tuple[StoredDocument, Delivery]] = []
    for message in await document_messages(store, sender, document_id):
        delivery = await store.delivery_for(message.axis_id, recipient)
        if delivery is not None:
            found.append((message, delivery))
    if not found:
        return None
    got = [pair for pair in found if pair[1].state in _GOT]
    return (got or found)[-1]


async def conversation_id(store: Store, sender: str, document_id: str) -> str:
    """The DocumentId whose recall conversation (13, 15, 16) this DocumentId belongs to.

    A revoke or update asks about the document it acts on, so a revoke or update
    sent under a DocumentId of its own belongs to that document's conversation:
    an answer naming either DocumentId answers the same question.
    """
    first = await store.find_document(sender, document_id)
    if first is not None and first.business_type in _ASKING:
        target = first.references_document_id
        if target is not None and target != document_id:
            return target
    return document_id


async def rounds_with(
    store: Store, sender: str, document_id: str, recipient: str
) -> list[RecallRound]:
    """The recall rounds between the sender of (sender, DocumentId) and one recipient."""
    return (await rounds_by_recipient(store, sender, document_id, [recipient]))[recipient]


async def rounds_by_recipient(
    store: Store, sender: str, document_id: str, recipients: Sequence[str]
) -> dict[str, list[RecallRound]]:
    """The recall rounds of each recipient with the sender of (sender, DocumentId).

    Questions are the 13s and every revoke or update acting on the document
    that reached the recipient; answers are the recipient's 15s and 16s. One
    pass over the messages and their statuses serves every recipient (a trace
    of a document sent to many agencies asks for all of them).
    """
    conversation = await conversation_id(store, sender, document_id)
    messages = {m.axis_id: m for m in await document_messages(store, sender, conversation)}
    for followup in await store.business_followups(sender, conversation):
        if followup.business_type in _ASKING:
            messages.setdefault(followup.axis_id, followup)
    wanted = set(recipients)
    events: dict[str, list[RecallEvent]] = {code: [] for code in recipients}
    for message in messages.values():
        reached = {d.recipient_code for d in await store.deliveries_of(message.axis_id)} & wanted
        if not reached:
            continue
        asking = _ASKING.get(message.business_type)
        if asking is not None:
            for code in reached:
                events[code].append(RecallEvent(message.received_at, asking, message.axis_id))
        for status in await store.statuses_of(message.axis_id):
            if status.status_code not in _RECALL_CODES:
                continue
            party = status.to_code if status.from_code == sender else status.from_code
            if party in reached:
                events[party].append(
                    RecallEvent(
                        status.received_at,
                        str(status.status_code),
                        status.status_id,
                        status.recall_round,
                    )
                )
    return {code: recall_rounds(found) for code, found in events.items()}
