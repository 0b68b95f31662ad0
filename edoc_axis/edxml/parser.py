"""edXML tree -> package model.

Elements are matched by namespace and local name only, in any order; unknown
children are kept as ``extra``; the ``Signature`` (XML-DSig or edXML
namespace) is left to the signature module. Every refusal is ``SchemaInvalid``
naming the element and its line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from edoc_axis.errors import SchemaInvalid

from . import schema
from ._parts import (
    document_code,
    document_type,
    organization,
    other_info,
    promulgation_info,
    response_for,
    signer_info,
    staff_info,
)
from ._tree import Node, agency_code, int_value, timestamp_value
from .attachments import check_base64
from .codes import BusinessDocType, StatusCode
from .interop import STRICT, Reading, Tolerances
from .model import (
    Attachment,
    Business,
    BusinessDocumentInfo,
    DocumentPackage,
    ManifestReference,
    Package,
    Receiver,
    ReplacementInfo,
    StatusPackage,
    TraceHeader,
)
from .namespaces import EDXML_NS, qname
from .safexml import DEFAULT_LIMITS, XmlLimits, safe_parse

_DOC_HEADER = frozenset(
    {
        "From", "To", "DocumentId", "Code", "PromulgationInfo", "DocumentType", "Subject",
        "Content", "SignerInfo", "DueDate", "ToPlaces", "OtherInfo", "ResponseFor",
        "SteeringType",
    }
)  # fmt: skip
_STATUS_HEADER = frozenset(
    {"From", "ResponseFor", "StaffInfo", "StatusCode", "Description", "Timestamp"}
)
_BUSINESS = frozenset(
    {
        "BussinessDocType", "BussinessDocReason", "DocumentId", "Paper",
        "BussinessDocumentInfo", "ReplacementInfoList", "StaffInfo",
    }
)  # fmt: skip
_ATTACHMENT = frozenset(
    {"ContentId", "ContentType", "AttachmentName", "Description", "ContentTransferEncoded"}
)
_ROOT = frozenset({"edXMLEnvelope", "AttachmentEncoded"})
_ENVELOPE = frozenset({"edXMLHeader", "edXMLBody"})
_HEADER = frozenset({"MessageHeader", "TraceHeaderList"})
_TO_PLACES = frozenset({"Place"})
_TRACE_LIST = frozenset({"TraceHeader", "Bussiness"})
_TRACE_HEADER = frozenset({"OrganId", "Timestamp"})
_REPLACEMENT_LIST = frozenset({"ReplacementInfo"})
_DOCUMENT_INFO = frozenset({"DocumentInfo", "DocumentReceiver", "ReceiverList"})
_RECEIVER_LIST = frozenset({"Receiver"})
_RECEIVER = frozenset({"OrganId", "ReceiverType"})
_REPLACEMENT = frozenset({"DocumentId", "OrganIdList"})
_ORGAN_ID_LIST = frozenset({"OrganId"})
_BODY = frozenset({"edXMLManifest"})
_MANIFEST = frozenset({"Reference"})
_ATTACHMENT_ENCODED = frozenset({"Attachment"})
_REFERENCE = _ATTACHMENT - {"ContentTransferEncoded"}
_KIND_PATH = ("edXMLEnvelope", "edXMLHeader", "MessageHeader", "StatusCode")
# Compiled once: ``find`` with a path string costs ~15 µs a call.
_KIND_FIND = etree.ETXPath("/".join(qname(name) for name in _KIND_PATH))


def read_package(
    raw: bytes,
    limits: XmlLimits = DEFAULT_LIMITS,
    *,
    validate_schema: bool = True,
    tolerances: Tolerances = STRICT,
    keep_attachment_text: bool = True,
) -> Package:
    """Safely parse, schema-validate and read one edXML package; ``.raw`` is ``raw``.

    ``keep_attachment_text=False``: see ``package_from_tree``.
    """
    root = safe_parse(raw, limits)
    if validate_schema:
        schema.validate(root, tolerances)
    return package_from_tree(
        root, raw, tolerances, keep_attachment_text=keep_attachment_text, limits=limits
    )


def package_kind(root: etree._Element) -> str:
    """ "status" when the MessageHeader carries a StatusCode, else "document".

    As ``package_from_tree`` decides, without reading the rest of the tree.
    """
    return "status" if _KIND_FIND(root) else "document"


def package_from_tree(
    root: etree._Element,
    raw: bytes = b"",
    tolerances: Tolerances = STRICT,
    *,
    keep_attachment_text: bool = True,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> Package:
    """Read a package from an already parsed (and validated) tree, without re-parsing.

    What ``tolerances`` let through is listed in the package's ``warnings``.
    With ``keep_attachment_text=False`` each attachment's base64 text is
    checked but not kept: ``Attachment.encoded_text()`` reads it again from
    ``raw`` (parsed again within ``limits``, those ``root`` was parsed with),
    so a package carrying a 50 MiB attachment does not hold a second copy of
    it. ``raw`` must then be the bytes ``root`` was parsed from.
    """
    if not keep_attachment_text and not raw:
        raise ValueError("keep_attachment_text=False needs the package's raw bytes")
    if root.tag != qname("edXML"):
        raise SchemaInvalid(
            f"{etree.QName(root).localname} at line {root.sourceline}: "
            f"the root element must be edXML in namespace {EDXML_NS}"
        )
    envelope = Node(root, _ROOT)
    env = Node(envelope.one("edXMLEnvelope"), _ENVELOPE)
    header = Node(env.one("edXMLHeader"), _HEADER)
    message = header.one("MessageHeader")
    reading = Reading(tolerances)
    if message.find(qname("StatusCode")) is not None:
        return _status(Node(message, _STATUS_HEADER), raw, reading)
    source = None if keep_attachment_text else _Source(raw, limits)
    return _document(envelope, env, header, Node(message, _DOC_HEADER), source, raw, reading)


def _status(mh: Node, raw: bytes, reading: Reading) -> StatusPackage:
    code_el = mh.one("StatusCode")
    code_text = (code_el.text or "").strip()
    try:
        code = StatusCode(code_text)
    except ValueError:
        raise SchemaInvalid(
            f"StatusCode at line {code_el.sourceline}: unknown status code {code_text!r}"
        ) from None
    staff = mh.opt("StaffInfo")
    return StatusPackage(
        sender=organization(mh.one("From"), reading),
        # The counterparty is where the status is routed: it must be a usable code.
        response_for=response_for(mh.one("ResponseFor"), reading),
        status_code=code,
        timestamp=timestamp_value(mh.one("Timestamp")),
        description=mh.opt_text("Description"),
        staff_info=None if staff is None else staff_info(staff),
        extra=mh.extra(),
        raw=raw,
        warnings=tuple(reading.warnings),
    )


def _document(
    envelope: Node,
    env: Node,
    header: Node,
    mh: Node,
    source: _Source | None,
    raw: bytes,
    reading: Reading,
) -> DocumentPackage:
    to_list = mh.many("To")
    if not to_list:
        mh.one("To")  # raises: names the missing element
    traces, business = _trace_list(header.one("TraceHeaderList"), reading)
    manifest = _manifest(env.opt("edXMLBody"))
    attachments = _attachments(envelope.opt("AttachmentEncoded"), source)
    _cross_check(manifest, attachments, env.el)
    sender = organization(mh.one("From"), reading)
    recipients = tuple(organization(el, reading) for el in to_list)
    signer, other, places = mh.opt("SignerInfo"), mh.opt("OtherInfo"), mh.opt("ToPlaces")
    return DocumentPackage(
        sender=sender,
        recipients=recipients,
        document_id=mh.token("DocumentId"),
        code=document_code(mh.one("Code")),
        promulgation=promulgation_info(mh.one("PromulgationInfo")),
        document_type=document_type(mh.one("DocumentType")),
        subject=mh.text("Subject"),
        content=mh.opt_text("Content"),
        signer_info=None if signer is None else signer_info(signer),
        due_date=mh.opt_date("DueDate"),
        to_places=() if places is None else Node(places, _TO_PLACES).texts("Place"),
        other_info=None if other is None else other_info(other),
        response_for=tuple(response_for(el, reading) for el in mh.many("ResponseFor")),
        steering_type=mh.opt_int("SteeringType", range(4)),
        trace_headers=traces,
        business=business,
        manifest=manifest,
        attachments=attachments,
        extra=mh.extra(),
        raw=raw,
        warnings=tuple(reading.warnings),
    )


def _trace_list(
    el: etree._Element, reading: Reading
) -> tuple[tuple[TraceHeader, ...], Business | None]:
    node = Node(el, _TRACE_LIST)
    headers = node.many("TraceHeader")
    if not headers:
        node.one("TraceHeader")  # raises
    traces = []
    for header in headers:
        th = Node(header, _TRACE_HEADER)
        organ_id = agency_code(th.one("OrganId"), reading, trace=True)
        traces.append(TraceHeader(organ_id, timestamp_value(th.one("Timestamp")), th.extra()))
    business = node.opt("Bussiness")
    return tuple(traces), None if business is None else _business(business, reading)


def _business(el: etree._Element, reading: Reading) -> Business:
    node = Node(el, _BUSINESS)
    doc_type = BusinessDocType(int_value(node.one("BussinessDocType"), range(4)))
    replacements = tuple(
        _replacement(info, reading)
        for info_list in node.many("ReplacementInfoList")
        for info in Node(info_list, _REPLACEMENT_LIST).many("ReplacementInfo")
    )
    business = Business(
        doc_type=doc_type,
        reason=node.opt_text("BussinessDocReason"),
        document_id=node.opt_token("DocumentId"),
        paper=node.opt_int("Paper"),
        document_infos=tuple(
            _document_info(i, reading) for i in node.many("BussinessDocumentInfo")
        ),
        replacement_infos=replacements,
        staff_infos=tuple(staff_info(s) for s in node.many("StaffInfo")),
        extra=node.extra(),
    )
    where = f"Bussiness at line {el.sourceline}"
    if doc_type is BusinessDocType.UPDATE and not business.document_id:
        raise SchemaInvalid(f"{where}: BussinessDocType 2 (update) needs DocumentId")
    if doc_type is BusinessDocType.REPLACE and not replacements:
        raise SchemaInvalid(
            f"{where}: BussinessDocType 3 (replace) needs ReplacementInfoList/ReplacementInfo"
        )
    return business


def _document_info(el: etree._Element, reading: Reading) -> BusinessDocumentInfo:
    node = Node(el, _DOCUMENT_INFO)
    receivers = []
    for lst in node.many("ReceiverList"):
        for rec in Node(lst, _RECEIVER_LIST).many("Receiver"):
            rn = Node(rec, _RECEIVER)
            receivers.append(
                Receiver(
                    agency_code(rn.one("OrganId"), reading),
                    int_value(rn.one("ReceiverType"), range(2)),
                    rn.extra(),
                )
            )
    return BusinessDocumentInfo(
        document_info=node.opt_int("DocumentInfo"),
        document_receiver=node.opt_int("DocumentReceiver"),
        receivers=tuple(receivers),
        extra=node.extra(),
    )


def _replacement(el: etree._Element, reading: Reading) -> ReplacementInfo:
    node = Node(el, _REPLACEMENT)
    organs = tuple(
        agency_code(organ, reading)
        for lst in node.many("OrganIdList")
        for organ in Node(lst, _ORGAN_ID_LIST).many("OrganId")
    )
    return ReplacementInfo(node.token("DocumentId"), organs, node.extra())


def _manifest(body: etree._Element | None) -> tuple[ManifestReference, ...]:
    if body is None:
        return ()
    manifest = Node(body, _BODY).opt("edXMLManifest")
    if manifest is None:
        return ()
    refs = []
    for ref in Node(manifest, _MANIFEST).many("Reference"):
        node = Node(ref, _REFERENCE)
        refs.append(
            ManifestReference(
                content_id=node.token("ContentId"),
                content_type=node.token("ContentType"),
                attachment_name=node.text("AttachmentName"),
                description=node.opt_text("Description"),
                extra=node.extra(),
            )
        )
    return tuple(refs)


@dataclass(frozen=True)
class _Source:
    """Where the attachments' text is read again from: the package's bytes."""

    raw: bytes = field(repr=False)
    limits: XmlLimits


@dataclass(frozen=True)
class _AttachmentText:
    """The base64 text of the ``index``-th Attachment, read again from the package's bytes."""

    source: _Source
    index: int

    def read(self) -> str:
        root = safe_parse(self.source.raw, self.source.limits)
        texts = attachment_text_elements(root)
        if not texts:
            raise ValueError("the package's bytes carry no AttachmentEncoded")
        return texts[self.index].text or ""


def attachment_text_elements(root: etree._Element) -> list[etree._Element]:
    """Each Attachment's ``ContentTransferEncoded``, in the order of ``package.attachments``.

    For a tree the model has already been read from (which refuses a missing
    or repeated one).
    """
    encoded = Node(root, _ROOT).opt("AttachmentEncoded")
    if encoded is None:
        return []
    attachments = Node(encoded, _ATTACHMENT_ENCODED).many("Attachment")
    return [Node(att, _ATTACHMENT).one("ContentTransferEncoded") for att in attachments]


def _attachments(encoded: etree._Element | None, source: _Source | None) -> tuple[Attachment, ...]:
    if encoded is None:
        return ()
    found = []
    for index, att in enumerate(Node(encoded, _ATTACHMENT_ENCODED).many("Attachment")):
        node = Node(att, _ATTACHMENT)
        content = node.one("ContentTransferEncoded")
        text = content.text or ""  # read once: a large attachment is one big string
        try:
            check_base64(text)
        except SchemaInvalid:
            raise SchemaInvalid(
                f"ContentTransferEncoded at line {content.sourceline}: not valid base64"
            ) from None
        kept: str | _AttachmentText = text if source is None else _AttachmentText(source, index)
        del text  # not kept: freed before the next attachment's text is read
        found.append(
            Attachment(
                content_id=node.token("ContentId"),
                content_type=node.token("ContentType"),
                attachment_name=node.text("AttachmentName"),
                description=node.opt_text("Description"),
                encoded=kept,
                extra=node.extra(),
            )
        )
    return tuple(found)


def _cid(content_id: str) -> str:
    return content_id.removeprefix("cid:")


def _cross_check(
    manifest: tuple[ManifestReference, ...],
    attachments: tuple[Attachment, ...],
    env: etree._Element,
) -> None:
    """Every manifest Reference has exactly one Attachment and vice versa."""
    where = f"edXMLManifest (edXMLEnvelope at line {env.sourceline})"
    announced = [_cid(ref.content_id) for ref in manifest]
    carried = [_cid(att.content_id) for att in attachments]
    for label, ids in (("Reference", announced), ("Attachment", carried)):
        repeated = sorted(cid for cid, count in Counter(ids).items() if count > 1)
        if repeated:
            raise SchemaInvalid(f"{where}: ContentId {repeated[0]!r} used by more than one {label}")
    missing = sorted(set(announced) - set(carried))
    if missing:
        raise SchemaInvalid(f"{where}: Reference {missing[0]!r} has no Attachment")
    unannounced = sorted(set(carried) - set(announced))
    if unannounced:
        raise SchemaInvalid(f"Attachment {unannounced[0]!r}: not listed in the {where}")
