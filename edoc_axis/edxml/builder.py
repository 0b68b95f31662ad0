"""Package model -> edXML bytes, serialised the way the reference SDK writes them.

UTF-8 with a double-quoted declaration, root ``edXML`` in the default
namespace, ``edXML:`` prefix on the envelope's content, ``AttachmentEncoded``
as an unprefixed sibling of the envelope (only ``ContentTransferEncoded``
prefixed), 2-space indentation. The output is unsigned: the signature module
appends the ``Signature`` as the last child of ``edXMLHeader``.
"""

from __future__ import annotations

from datetime import date, datetime

from lxml import etree

from .model import (
    Attachment,
    Business,
    DocumentPackage,
    Extra,
    ManifestReference,
    Organization,
    OtherInfo,
    ResponseFor,
    StaffInfo,
    StatusPackage,
)
from .namespaces import EDXML_NS, EDXML_PREFIX, qname
from .safexml import safe_parse

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def build_document(pkg: DocumentPackage) -> bytes:
    """The unsigned reference serialisation of a document package."""
    root, envelope, header = _skeleton()
    mh = _sub(header, "MessageHeader")
    _document_header(mh, pkg)
    trace_list = _sub(header, "TraceHeaderList")
    for trace in pkg.trace_headers:
        th = _sub(trace_list, "TraceHeader")
        _sub(th, "OrganId", trace.organ_id)
        _sub(th, "Timestamp", _timestamp(trace.timestamp))
        _extras(th, trace.extra)
    if pkg.business is not None:
        _business(trace_list, pkg.business)
    if pkg.manifest:
        manifest = _sub(_sub(envelope, "edXMLBody"), "edXMLManifest")
        manifest.set("version", "1.0")
        for ref in pkg.manifest:
            _reference(manifest, ref)
    if pkg.attachments:
        encoded = _sub(root, "AttachmentEncoded")
        for att in pkg.attachments:
            _attachment(encoded, att)
    return _serialize(root)


def build_status(pkg: StatusPackage) -> bytes:
    """The unsigned reference serialisation of a status package."""
    root, _envelope, header = _skeleton()
    mh = _sub(header, "MessageHeader")
    _organization(mh, "From", pkg.sender)
    _response_for(mh, pkg.response_for)
    if pkg.staff_info is not None:
        _staff(mh, pkg.staff_info)
    _sub(mh, "StatusCode", pkg.status_code.value)
    _opt(mh, "Description", pkg.description)
    _sub(mh, "Timestamp", _timestamp(pkg.timestamp))
    _extras(mh, pkg.extra)
    return _serialize(root)


def _skeleton() -> tuple[etree._Element, etree._Element, etree._Element]:
    root = etree.Element(qname("edXML"), nsmap={None: EDXML_NS})  # type: ignore[dict-item]
    envelope = etree.SubElement(root, qname("edXMLEnvelope"), nsmap={EDXML_PREFIX: EDXML_NS})
    return root, envelope, _sub(envelope, "edXMLHeader")


def _serialize(root: etree._Element) -> bytes:
    etree.indent(root, space="  ")
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    return _DECLARATION + body + b"\n"


def _sub(parent: etree._Element, local: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, qname(local))
    if text is not None:
        el.text = text
    return el


def _opt(parent: etree._Element, local: str, value: str | int | None) -> None:
    if value is not None:
        _sub(parent, local, str(value))


def _extras(parent: etree._Element, extra: Extra) -> None:
    # Extras may come from a caller rather than from our parser: same intake rules.
    for item in extra:
        parent.append(safe_parse(item))


def _date(value: date) -> str:
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def _timestamp(value: datetime) -> str:
    return f"{_date(value)} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"


def _document_header(mh: etree._Element, pkg: DocumentPackage) -> None:
    _organization(mh, "From", pkg.sender)
    for recipient in pkg.recipients:
        _organization(mh, "To", recipient)
    _sub(mh, "DocumentId", pkg.document_id)
    code = _sub(mh, "Code")
    _sub(code, "CodeNumber", pkg.code.code_number)
    _sub(code, "CodeNotation", pkg.code.code_notation)
    _extras(code, pkg.code.extra)
    promulgation = _sub(mh, "PromulgationInfo")
    _sub(promulgation, "Place", pkg.promulgation.place)
    _sub(promulgation, "PromulgationDate", _date(pkg.promulgation.promulgation_date))
    _extras(promulgation, pkg.promulgation.extra)
    doc_type = _sub(mh, "DocumentType")
    _sub(doc_type, "Type", str(pkg.document_type.type))
    _opt(doc_type, "TypeDetail", pkg.document_type.type_detail)
    _sub(doc_type, "TypeName", pkg.document_type.type_name)
    _extras(doc_type, pkg.document_type.extra)
    _sub(mh, "Subject", pkg.subject)
    _opt(mh, "Content", pkg.content)
    if pkg.signer_info is not None:
        signer = _sub(mh, "SignerInfo")
        _opt(signer, "Competence", pkg.signer_info.competence)
        _opt(signer, "Position", pkg.signer_info.position)
        _opt(signer, "FullName", pkg.signer_info.full_name)
        _extras(signer, pkg.signer_info.extra)
    if pkg.due_date is not None:
        _sub(mh, "DueDate", _date(pkg.due_date))
    if pkg.other_info is not None:
        _other_info(mh, pkg.other_info)
    for answered in pkg.response_for:
        _response_for(mh, answered)
    _opt(mh, "SteeringType", pkg.steering_type)
    if pkg.to_places:
        places = _sub(mh, "ToPlaces")
        for place in pkg.to_places:
            _sub(places, "Place", place)
    _extras(mh, pkg.extra)


def _organization(parent: etree._Element, local: str, org: Organization) -> None:
    el = _sub(parent, local)
    _sub(el, "OrganId", org.organ_id)
    _opt(el, "OrganizationInCharge", org.organization_in_charge)
    _opt(el, "OrganName", org.organ_name)
    _opt(el, "OrganAdd", org.organ_add)
    _opt(el, "Email", org.email)
    _opt(el, "Telephone", org.telephone)
    _opt(el, "Fax", org.fax)
    _opt(el, "Website", org.website)
    _extras(el, org.extra)


def _other_info(parent: etree._Element, info: OtherInfo) -> None:
    el = _sub(parent, "OtherInfo")
    _opt(el, "Priority", info.priority)
    _opt(el, "SphereOfPromulgation", info.sphere_of_promulgation)
    _opt(el, "TyperNotation", info.typer_notation)
    _opt(el, "PromulgationAmount", info.promulgation_amount)
    _opt(el, "PageAmount", info.page_amount)
    if info.direction is not None:
        _sub(el, "Direction", "true" if info.direction else "false")
    if info.appendixes:
        appendixes = _sub(el, "Appendixes")
        for appendix in info.appendixes:
            _sub(appendixes, "Appendix", appendix)
    _extras(el, info.extra)


def _response_for(parent: etree._Element, answered: ResponseFor) -> None:
    el = _sub(parent, "ResponseFor")
    _sub(el, "OrganId", answered.organ_id)
    _sub(el, "Code", answered.code)
    _sub(el, "DocumentId", answered.document_id)
    if answered.promulgation_date is not None:
        _sub(el, "PromulgationDate", _date(answered.promulgation_date))
    _extras(el, answered.extra)


def _staff(parent: etree._Element, staff: StaffInfo) -> None:
    el = _sub(parent, "StaffInfo")
    _opt(el, "Department", staff.department)
    _opt(el, "Staff", staff.staff)
    _opt(el, "Email", staff.email)
    _opt(el, "Mobile", staff.mobile)
    _extras(el, staff.extra)


def _business(parent: etree._Element, business: Business) -> None:
    el = _sub(parent, "Bussiness")
    _opt(el, "DocumentId", business.document_id)
    _sub(el, "BussinessDocType", str(int(business.doc_type)))
    _opt(el, "BussinessDocReason", business.reason)
    _opt(el, "Paper", business.paper)
    for info in business.document_infos:
        info_el = _sub(el, "BussinessDocumentInfo")
        _opt(info_el, "DocumentInfo", info.document_info)
        _opt(info_el, "DocumentReceiver", info.document_receiver)
        if info.receivers:
            receivers = _sub(info_el, "ReceiverList")
            for receiver in info.receivers:
                rec = _sub(receivers, "Receiver")
                _sub(rec, "OrganId", receiver.organ_id)
                _sub(rec, "ReceiverType", str(receiver.receiver_type))
                _extras(rec, receiver.extra)
        _extras(info_el, info.extra)
    if business.replacement_infos:
        replacements = _sub(el, "ReplacementInfoList")
        for replacement in business.replacement_infos:
            rep = _sub(replacements, "ReplacementInfo")
            _sub(rep, "DocumentId", replacement.document_id)
            organs = _sub(rep, "OrganIdList")
            for organ in replacement.organ_ids:
                _sub(organs, "OrganId", organ)
            _extras(rep, replacement.extra)
    for staff in business.staff_infos:
        _staff(el, staff)
    _extras(el, business.extra)


def _reference(parent: etree._Element, ref: ManifestReference) -> None:
    el = _sub(parent, "Reference")
    _sub(el, "ContentId", ref.content_id)
    _sub(el, "ContentType", ref.content_type)
    _opt(el, "Description", ref.description)
    _sub(el, "AttachmentName", ref.attachment_name)
    _extras(el, ref.extra)


def _attachment(parent: etree._Element, att: Attachment) -> None:
    # The SDK writes these children unprefixed (default namespace) and only
    # ContentTransferEncoded with its own edXML: declaration; so do we.
    el = _sub(parent, "Attachment")
    _sub(el, "ContentId", att.content_id)
    _sub(el, "AttachmentName", att.attachment_name)
    _opt(el, "Description", att.description)
    _sub(el, "ContentType", att.content_type)
    content = etree.SubElement(el, qname("ContentTransferEncoded"), nsmap={EDXML_PREFIX: EDXML_NS})
    content.text = att.encoded_text()
    _extras(el, att.extra)
