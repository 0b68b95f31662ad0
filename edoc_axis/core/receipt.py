"""The axis's signed acceptance receipt: build, sign, read and verify (pure).

A receipt names the axis, the sender, the DocumentId, the SHA-256 of the exact
bytes received, the acceptance time and the recipients. It is an enveloped
XML-DSig document signed by the axis key, so anyone holding the axis
certificate can check it offline, years later.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from lxml import etree

from edoc_axis.edxml.safexml import XmlLimits, safe_parse
from edoc_axis.errors import SchemaInvalid, SignatureInvalid
from edoc_axis.signature import (
    VerificationPolicy,
    certificate_fingerprint,
    sign_enveloped,
    verify_enveloped,
)

RECEIPT_NS = "urn:edoc-axis:receipt:1"
_RECEIPT_LIMITS = XmlLimits(max_bytes=4 * 1024 * 1024, max_depth=16, max_elements=100_000)


@dataclass(frozen=True)
class Receipt:
    axis_name: str
    axis_id: str
    sender: str
    document_id: str
    sha256: str
    accepted_at: datetime
    recipients: tuple[str, ...]
    legacy_policy: bool
    kind: str = "document"


def _q(name: str) -> str:
    return f"{{{RECEIPT_NS}}}{name}"


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    child = etree.SubElement(parent, _q(name))
    child.text = value
    return child


def _skeleton() -> etree._Element:
    root = etree.Element(_q("Receipt"), nsmap={None: RECEIPT_NS})  # type: ignore[dict-item]
    root.set("version", "1")
    for name in _FIELDS:
        _text(root, name, "")
    root[_FIELDS.index("Digest")].set("Algorithm", "sha256")
    etree.SubElement(root, _q("Recipients"))
    _text(root, "LegacyPolicy", "")
    return root


_FIELDS = ("Kind", "Axis", "AxisId", "Sender", "DocumentId", "Digest", "AcceptedAt")
# Copied for every receipt: a copy costs a fraction of building the elements one by one.
_SKELETON = _skeleton()
_RECIPIENTS = len(_FIELDS)
_RECIPIENT = _q("Recipient")


def _receipt_tree(receipt: Receipt) -> etree._Element:
    root = copy.deepcopy(_SKELETON)
    values = (
        receipt.kind,
        receipt.axis_name,
        receipt.axis_id,
        receipt.sender,
        receipt.document_id,
        receipt.sha256,
        receipt.accepted_at.astimezone(UTC).isoformat(),
    )
    for index, value in enumerate(values):  # the skeleton's first len(_FIELDS) children
        root[index].text = value
    recipients = root[_RECIPIENTS]
    for code in receipt.recipients:
        etree.SubElement(recipients, _RECIPIENT).text = code
    root[_RECIPIENTS + 1].text = "true" if receipt.legacy_policy else "false"
    return root


def sign_receipt(
    receipt: Receipt, key: CertificateIssuerPrivateKeyTypes, cert: x509.Certificate
) -> bytes:
    """Serialise and sign a receipt with the axis key."""
    root = sign_enveloped(_receipt_tree(receipt), key, cert)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _field(root: etree._Element, name: str) -> str:
    node = root.find(_q(name))
    if node is None or node.text is None:
        raise SchemaInvalid(f"receipt: element {name} missing")
    return node.text


def read_receipt(root: etree._Element) -> Receipt:
    """The receipt's content, without checking its signature."""
    if root.tag != _q("Receipt"):
        raise SchemaInvalid(f"not an edoc-axis receipt (root is {root.tag})")
    recipients = root.find(_q("Recipients"))
    return Receipt(
        axis_name=_field(root, "Axis"),
        axis_id=_field(root, "AxisId"),
        sender=_field(root, "Sender"),
        document_id=_field(root, "DocumentId"),
        sha256=_field(root, "Digest"),
        accepted_at=datetime.fromisoformat(_field(root, "AcceptedAt")),
        recipients=tuple(node.text or "" for node in ([] if recipients is None else recipients)),
        legacy_policy=_field(root, "LegacyPolicy") == "true",
        kind=_field(root, "Kind"),
    )


def verify_receipt(raw: bytes, axis_certs: Sequence[x509.Certificate]) -> Receipt:
    """Check a receipt offline against the axis certificate(s); return its content.

    Several certificates may be given so that receipts stay verifiable across
    a rotation of the axis key.
    """
    root = safe_parse(raw, _RECEIPT_LIMITS)
    verified = verify_enveloped(root, VerificationPolicy(), expected_parent=root)
    signer = certificate_fingerprint(verified.certificate)
    if signer not in {certificate_fingerprint(cert) for cert in axis_certs}:
        raise SignatureInvalid("receipt is not signed by the given axis certificate")
    return read_receipt(root)
