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

from edoc_axis.edxml import XmlLimits, safe_parse
from edoc_axis.errors import EdocError, SchemaInvalid
from edoc_axis.signature import VerificationPolicy, sign_enveloped, verify_enveloped

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


_NOTICE_LIMITS = XmlLimits(max_bytes=64 * 1024, max_depth=16, max_elements=200)


def read_notice(raw: bytes) -> DeliveryFailure:
    """A notice relayed by a peer axis: its signature intact, its fields read.

    The signature proves the notice is as the failing axis wrote it; which axes
    are believed is the relay's business (the peer that relays it vouches).
    """
    root = safe_parse(raw, _NOTICE_LIMITS)
    if root.tag != _q("DeliveryFailure"):
        raise SchemaInvalid("not an edoc-axis delivery-failure notice")
    verify_enveloped(root, VerificationPolicy(), expected_parent=root)

    def text(name: str) -> str:
        node = root.find(_q(name))
        if node is None or not node.text:
            raise SchemaInvalid(f"notice: element {name} missing")
        return node.text

    try:
        attempts, at = int(text("Attempts")), datetime.fromisoformat(text("At"))
    except ValueError as exc:
        raise SchemaInvalid(f"notice: {exc}") from exc
    return DeliveryFailure(
        axis_name=text("Axis"),
        axis_id=text("AxisId"),
        document_id=text("DocumentId"),
        sender=text("Sender"),
        recipient=text("Recipient"),
        attempts=attempts,
        reason=text("Reason"),
        at=at,
    )
