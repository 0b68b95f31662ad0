"""Composing ordinary document and status packages from a few facts (pure).

`edoc new`, `edoc status`, the demo, the benchmark and the tests all build
packages the same way, through these two functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from edoc_axis.edxml import (
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    DocumentCode,
    DocumentPackage,
    DocumentType,
    Organization,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
)


def default_document_id(sender: str, day: date, number: str, notation: str) -> str:
    """The reference SDK's DocumentId shape: ``sender,yyyy/MM/dd,number/notation``."""
    return f"{sender},{day:%Y/%m/%d},{number}/{notation}"


def _receivers(added: Sequence[str], removed: Sequence[str]) -> tuple[BusinessDocumentInfo, ...]:
    if not added and not removed:
        return ()
    receivers = tuple(Receiver(code, 1) for code in added) + tuple(
        Receiver(code, 0) for code in removed
    )
    return (BusinessDocumentInfo(document_info=0, document_receiver=1, receivers=receivers),)


def _business(
    business_type: BusinessDocType,
    reference: str | None,
    reason: str | None,
    receivers: tuple[BusinessDocumentInfo, ...] = (),
) -> Business | None:
    if business_type == BusinessDocType.NEW:
        return None
    if reference is None and business_type != BusinessDocType.REVOKE:
        raise ValueError(f"a {business_type.name.lower()} must name the document it acts on")
    if business_type == BusinessDocType.REPLACE:
        return Business(
            doc_type=business_type,
            reason=reason,
            replacement_infos=(ReplacementInfo(document_id=str(reference)),),
        )
    if receivers and business_type != BusinessDocType.UPDATE:
        raise ValueError("only an update adds or removes recipients")
    return Business(
        doc_type=business_type, reason=reason, document_id=reference, document_infos=receivers
    )


def new_document(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    at: datetime,
    sender_name: str | None = None,
    recipient_names: dict[str, str] | None = None,
    code_number: str = "1",
    code_notation: str = "VB",
    document_type: int = 1,
    type_name: str = "Công văn",
    place: str = "Hà Nội",
    document_id: str | None = None,
    business_type: BusinessDocType = BusinessDocType.NEW,
    business_reference: str | None = None,
    business_reason: str | None = None,
    attachments: Sequence[Attachment] = (),
    added_recipients: Sequence[str] = (),
    removed_recipients: Sequence[str] = (),
) -> DocumentPackage:
    """A document package from the essentials; ``at`` is Vietnam local time."""
    names = recipient_names or {}
    day = at.date()
    return DocumentPackage(
        sender=Organization(sender, sender_name or sender),
        recipients=tuple(Organization(code, names.get(code, code)) for code in recipients),
        document_id=document_id or default_document_id(sender, day, code_number, code_notation),
        code=DocumentCode(code_number, code_notation),
        promulgation=PromulgationInfo(place, day),
        document_type=DocumentType(document_type, type_name),
        subject=subject,
        trace_headers=(TraceHeader(sender, at.replace(microsecond=0, tzinfo=None)),),
        business=_business(
            business_type,
            business_reference,
            business_reason,
            _receivers(added_recipients, removed_recipients),
        ),
        manifest=tuple(a.manifest_reference() for a in attachments),
        attachments=tuple(attachments),
    )


def new_status(
    *,
    sender: str,
    about_document_id: str,
    counterparty: str,
    code: StatusCode,
    at: datetime,
    document_code: str = "",
    sender_name: str | None = None,
    description: str | None = None,
    staff: str | None = None,
    department: str | None = None,
) -> StatusPackage:
    """A status package about one document; ``at`` is Vietnam local time."""
    staff_info = None
    if staff or department:
        staff_info = StaffInfo(department=department, staff=staff)
    return StatusPackage(
        sender=Organization(sender, sender_name or sender),
        response_for=ResponseFor(counterparty, document_code, about_document_id),
        status_code=code,
        timestamp=at.replace(microsecond=0, tzinfo=None),
        description=description,
        staff_info=staff_info,
    )
