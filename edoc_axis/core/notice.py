"""The axis's signed notice to a sender that a delivery failed for good (pure).

edXML has no status code for "could not be delivered", so the axis tells the
sender with a notice of its own in the sender's status feed: an XML document
signed by the axis key, like a receipt, verifiable offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from lxml import etree

from edoc_axis.edxml import safe_parse
from edoc_axis.errors import EdocError
from edoc_axis.signature import sign_enveloped

NOTICE_NS = "urn:edoc-axis:notice:1"


@dataclass(frozen=True)
class DeliveryFailure:
    axis_name: str
    axis_id: str
    document_id: str
    sender: str
    recipient: str
    attempts: int
    reason: str
    at: datetime


def _q(name: str) -> str:
    return f"{{{NOTICE_NS}}}{name}"


def sign_delivery_failure(
    notice: DeliveryFailure, key: CertificateIssuerPrivateKeyTypes, cert: x509.Certificate
) -> bytes:
    """Serialise and sign the notice with the axis key."""
    root = etree.Element(_q("DeliveryFailure"), nsmap={None: NOTICE_NS})  # type: ignore[dict-item]
    for name, value in (
        ("Axis", notice.axis_name),
        ("AxisId", notice.axis_id),
        ("DocumentId", notice.document_id),
        ("Sender", notice.sender),
        ("Recipient", notice.recipient),
        ("Attempts", str(notice.attempts)),
        ("Reason", notice.reason),
        ("At", notice.at.astimezone(UTC).isoformat()),
    ):
        etree.SubElement(root, _q(name)).text = value
    return etree.tostring(sign_enveloped(root, key, cert), xml_declaration=True, encoding="UTF-8")


def notice_reason(raw: bytes) -> str | None:
    """The reason written in a notice (for traces); None if it is not one of ours."""
    try:
        root = safe_parse(raw)
    except EdocError:
        return None
    node = root.find(_q("Reason"))
    return None if node is None else node.text
