"""The edXML packages as frozen values.

Dates are ``datetime.date``; timestamps are naive ``datetime`` in Vietnam local
time, because the wire carries no zone. Each object that can carry elements
the profile does not know keeps them in ``extra`` as canonical XML bytes
(exclusive C14N, whitespace-only text dropped, the edXML namespace bound to
the ``edXML`` prefix), so the builder can write them back. The exact input is
always kept in ``raw`` of the package; it is left out of equality and repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar, Literal, Protocol

from .attachments import decode_content, encode_content
from .codes import BusinessDocType, StatusCode

Extra = tuple[bytes, ...]


@dataclass(frozen=True)
class Organization:
    """``From`` / ``To``: an agency; routing uses ``organ_id``."""

    organ_id: str
    organ_name: str | None  # None: absent, which only an interop tolerance lets through
    organization_in_charge: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class DocumentCode:
    """``Code``: số (number) and ký hiệu (notation)."""

    code_number: str
    code_notation: str
    extra: Extra = ()


@dataclass(frozen=True)
class PromulgationInfo:
    """``PromulgationInfo``: where and when the document was issued."""

    place: str
    promulgation_date: date
    extra: Extra = ()


@dataclass(frozen=True)
class DocumentType:
    """``DocumentType``: the kind of document (công văn, quyết định ...)."""

    type: int
    type_name: str
    type_detail: int | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class SignerInfo:
    """``SignerInfo``: who signed the paper original."""

    competence: str | None = None
    position: str | None = None
    full_name: str | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class OtherInfo:
    """``OtherInfo``: priority (0 normal .. 4 timed flash) and printing details."""

    priority: int | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: tuple[str, ...] = ()
    extra: Extra = ()


@dataclass(frozen=True)
class ResponseFor:
    """``ResponseFor``: the document a document or status answers."""

    organ_id: str
    code: str
    document_id: str
    promulgation_date: date | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class TraceHeader:
    """``TraceHeader``: one hop; the sender writes the first."""

    organ_id: str
    timestamp: datetime
    extra: Extra = ()


@dataclass(frozen=True)
class StaffInfo:
    """``StaffInfo``: the clerk handling the document."""

    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None
    extra: Extra = ()


@dataclass(frozen=True)
class Receiver:
    """``ReceiverList/Receiver``: ``receiver_type`` 0 removed, 1 added."""

    organ_id: str
    receiver_type: int
    extra: Extra = ()


@dataclass(frozen=True)
class BusinessDocumentInfo:
    """``BussinessDocumentInfo``: what an update changes."""

    document_info: int | None = None
    document_receiver: int | None = None
    receivers: tuple[Receiver, ...] = ()
    extra: Extra = ()


@dataclass(frozen=True)
class ReplacementInfo:
    """``ReplacementInfoList/ReplacementInfo``: a replaced document and its recipients."""

    document_id: str
    organ_ids: tuple[str, ...] = ()
    extra: Extra = ()


@dataclass(frozen=True)
class Business:
    """``Bussiness`` (sic): new, revoke, update or replace."""

    doc_type: BusinessDocType
    reason: str | None = None
    document_id: str | None = None
    paper: int | None = None
    document_infos: tuple[BusinessDocumentInfo, ...] = ()
    replacement_infos: tuple[ReplacementInfo, ...] = ()
    staff_infos: tuple[StaffInfo, ...] = ()
    extra: Extra = ()


@dataclass(frozen=True)
class ManifestReference:
    """``edXMLManifest/Reference``: one announced attachment."""

    content_id: str
    content_type: str
    attachment_name: str
    description: str | None = None
    extra: Extra = ()


class TextSource(Protocol):
    """Text kept out of the model and read again when asked (a large attachment's base64)."""

    def read(self) -> str: ...


@dataclass(frozen=True)
class Attachment:
    """``AttachmentEncoded/Attachment``; ``encoded`` is the base64 text as received.

    ``encoded`` is the text itself, or, in a package read with
    ``keep_attachment_text=False`` (the axis's intake, which routes on the
    header and never reads an attachment), where to read it again from the
    package's bytes: ``encoded_text()`` answers the text in both cases. The
    two forms of one attachment do not compare equal.
    """

    content_id: str
    content_type: str
    attachment_name: str
    description: str | None
    encoded: str | TextSource = field(repr=False)
    extra: Extra = ()

    def encoded_text(self) -> str:
        """The base64 text as received."""
        return self.encoded if isinstance(self.encoded, str) else self.encoded.read()

    def data(self) -> bytes:
        """The file bytes: base64 decoded, the SDK's one-entry ZIP unwrapped."""
        return decode_content(self.encoded_text(), self.attachment_name)

    @classmethod
    def from_bytes(
        cls,
        content_id: str,
        attachment_name: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        description: str | None = None,
        zip: bool = False,
    ) -> Attachment:
        """An attachment for a file; ``zip=True`` writes the reference SDK's form."""
        encoded = encode_content(data, zip=zip, entry_name=attachment_name)
        return cls(content_id, content_type, attachment_name, description, encoded)

    def manifest_reference(self) -> ManifestReference:
        """The manifest ``Reference`` announcing this attachment."""
        return ManifestReference(
            self.content_id, self.content_type, self.attachment_name, self.description
        )


@dataclass(frozen=True)
class DocumentPackage:
    """A document package (no ``StatusCode`` in its ``MessageHeader``)."""

    kind: ClassVar[Literal["document"]] = "document"

    sender: Organization
    recipients: tuple[Organization, ...]
    document_id: str
    code: DocumentCode
    promulgation: PromulgationInfo
    document_type: DocumentType
    subject: str
    content: str | None = None
    signer_info: SignerInfo | None = None
    due_date: date | None = None
    to_places: tuple[str, ...] = ()
    other_info: OtherInfo | None = None
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = None
    trace_headers: tuple[TraceHeader, ...] = ()
    business: Business | None = None
    manifest: tuple[ManifestReference, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    extra: Extra = ()  # unknown MessageHeader children
    raw: bytes = field(default=b"", compare=False, repr=False)
    # What the reader's interop tolerances let through (see edxml.interop).
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def business_type(self) -> BusinessDocType:
        """NEW when the package has no ``Bussiness`` block."""
        return BusinessDocType.NEW if self.business is None else self.business.doc_type

    @property
    def recipient_ids(self) -> tuple[str, ...]:
        """The routing targets: every ``To/OrganId`` in order."""
        return tuple(org.organ_id for org in self.recipients)


@dataclass(frozen=True)
class StatusPackage:
    """A status package (its ``MessageHeader`` has a ``StatusCode``)."""

    kind: ClassVar[Literal["status"]] = "status"

    sender: Organization
    response_for: ResponseFor
    status_code: StatusCode
    timestamp: datetime
    description: str | None = None
    staff_info: StaffInfo | None = None
    extra: Extra = ()  # unknown MessageHeader children
    raw: bytes = field(default=b"", compare=False, repr=False)
    # What the reader's interop tolerances let through (see edxml.interop).
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)


Package = DocumentPackage | StatusPackage
