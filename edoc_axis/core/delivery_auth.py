"""The axis's signature over a push delivery, so an endpoint can tell it from an impostor.

A documented equivalent of HTTP Message Signatures (RFC 9421), kept to one
fixed set of covered fields so an endpoint in any language can check it with a
few lines: the signature base is the UTF-8 text

    edoc-delivery-v1
    <kind>             document | status
    <axis id>
    <recipient code>
    <attempt>
    <unix time>
    <sha-256 of the body, lowercase hex>

signed with the axis key (ECDSA P-256 / RSA PKCS#1 v1.5, SHA-256) and sent
base64 in ``Edoc-Signature``; the body digest also travels as RFC 9530
``Content-Digest``. The endpoint recomputes the digest from the body it got,
so a changed body or any changed covered header breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis.errors import SignatureInvalid, SignatureMissing
from edoc_axis.signature import certificate_fingerprint

VERSION = "edoc-delivery-v1"
MAX_SKEW_S = 300.0
H_ID, H_SENDER, H_RECIPIENT = "Edoc-Document-Id", "Edoc-Sender", "Edoc-Recipient"
H_ATTEMPT, H_KIND, H_TIME = "Edoc-Attempt", "Edoc-Kind", "Edoc-Timestamp"
H_SIGNATURE, H_KEY, H_DIGEST = "Edoc-Signature", "Edoc-Signature-Key", "Content-Digest"


@dataclass(frozen=True)
class DeliveryFacts:
    kind: str
    axis_id: str
    sender: str
    recipient: str
    attempt: int
    timestamp: int

    def signature_base(self, body_sha256: str) -> bytes:
        lines = (
            VERSION,
            self.kind,
            self.axis_id,
            self.recipient,
            str(self.attempt),
            str(self.timestamp),
            body_sha256,
        )
        return "\n".join(lines).encode("utf-8")


def _sign(key: CertificateIssuerPrivateKeyTypes, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise TypeError(f"unsupported axis key type {type(key).__name__}")


def delivery_headers(
    facts: DeliveryFacts, body: bytes, key: CertificateIssuerPrivateKeyTypes, cert: x509.Certificate
) -> dict[str, str]:
    """The headers of one signed push."""
    return delivery_headers_for_digest(facts, hashlib.sha256(body).digest(), key, cert)


def delivery_headers_for_digest(
    facts: DeliveryFacts,
    digest: bytes,
    key: CertificateIssuerPrivateKeyTypes,
    cert: x509.Certificate,
) -> dict[str, str]:
    """``delivery_headers`` for a body known by its SHA-256 (a large one, sent in pieces)."""
    signature = _sign(key, facts.signature_base(digest.hex()))
    return {
        H_ID: facts.axis_id,
        H_SENDER: facts.sender,
        H_RECIPIENT: facts.recipient,
        H_ATTEMPT: str(facts.attempt),
        H_KIND: facts.kind,
        H_TIME: str(facts.timestamp),
        H_DIGEST: "sha-256=:" + base64.b64encode(digest).decode() + ":",
        H_SIGNATURE: base64.b64encode(signature).decode(),
        H_KEY: certificate_fingerprint(cert),
    }


def _verify_with(cert: x509.Certificate, signature: bytes, data: bytes) -> bool:
    public = cert.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise SignatureMissing(f"push delivery without the {name} header")
    return value


def verify_delivery(
    headers: Mapping[str, str],
    body: bytes,
    axis_certs: Sequence[x509.Certificate],
    now: datetime,
    *,
    max_skew_s: float = MAX_SKEW_S,
) -> DeliveryFacts:
    """Check that a push came from the axis; return what it says. Raises on any doubt."""
    try:
        facts = DeliveryFacts(
            kind=_header(headers, H_KIND),
            axis_id=_header(headers, H_ID),
            sender=_header(headers, H_SENDER),
            recipient=_header(headers, H_RECIPIENT),
            attempt=int(_header(headers, H_ATTEMPT)),
            timestamp=int(_header(headers, H_TIME)),
        )
        signature = base64.b64decode(_header(headers, H_SIGNATURE), validate=True)
    except ValueError as exc:
        raise SignatureInvalid(f"malformed delivery signature headers: {exc}") from exc
    if abs(now.timestamp() - facts.timestamp) > max_skew_s:
        raise SignatureInvalid("delivery timestamp outside the allowed clock skew")
    digest = hashlib.sha256(body)
    expected_digest = "sha-256=:" + base64.b64encode(digest.digest()).decode() + ":"
    if headers.get(H_DIGEST) != expected_digest:
        raise SignatureInvalid("Content-Digest does not match the body")
    base = facts.signature_base(digest.hexdigest())
    if not any(_verify_with(cert, signature, base) for cert in axis_certs):
        raise SignatureInvalid("delivery signature is not the axis's")
    return facts
