"""Who a document goes to, and what a business message acts on (pure)."""

from __future__ import annotations

from edoc_axis.edxml import BusinessDocType, DocumentPackage


def routing_targets(package: DocumentPackage) -> tuple[str, ...]:
    """The OrganIds to deliver to, in envelope order, each once.

    An update also goes to every agency its ReceiverList names, added or
    removed: the added ones get the updated document, the removed ones are
    told that they are removed.
    """
    targets = dict.fromkeys(package.recipient_ids)  # ordered, and a set: linear
    business = package.business
    if business is not None and package.business_type == BusinessDocType.UPDATE:
        for info in business.document_infos:
            for receiver in info.receivers:
                targets.setdefault(receiver.organ_id)
    return tuple(targets)


def referenced_documents(package: DocumentPackage) -> tuple[str, ...]:
    """The earlier DocumentIds a revoke, update or replace acts on.

    The reference SDK sends a revoke under the DocumentId of the document it
    revokes, so without ``Bussiness/DocumentId`` the package's own is meant.
    """
    business = package.business
    if business is None or package.business_type == BusinessDocType.NEW:
        return ()
    if package.business_type == BusinessDocType.REPLACE:
        return tuple(info.document_id for info in business.replacement_infos)
    return (business.document_id or package.document_id,)


def acts_under_its_target_id(package: DocumentPackage) -> bool:
    """A revoke or update sent under the DocumentId of the document it acts on.

    The reference SDK sends a revoke that way (and often an update): such a
    package is a message about that document, not a document of its own.
    """
    if package.business_type not in (BusinessDocType.REVOKE, BusinessDocType.UPDATE):
        return False
    return package.document_id in referenced_documents(package)


def idempotency_key(package: DocumentPackage, sha256: str) -> str:
    """The key a re-submission is recognised by (docs/identity.md).

    Every document, whatever its business type, is keyed by its DocumentId, so
    re-using a DocumentId with other content is a conflict. A revoke or update
    sent under the DocumentId it acts on is a message about that document: it is
    keyed by DocumentId, business type and content, so that several of them can
    follow one document and an identical re-submission is still recognised.
    """
    if acts_under_its_target_id(package):
        return f"{package.document_id}#{int(package.business_type)}:{sha256}"
    return package.document_id
