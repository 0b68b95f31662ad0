"""Registry operations shared by the operator API and the `edoc-axis` CLI."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlparse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from edoc_axis.edxml import classify_agency_code
from edoc_axis.errors import CertificateUntrusted, SchemaInvalid
from edoc_axis.signature import TrustStore, certificate_fingerprint
from edoc_axis.store import Agency, DeliveryMode, NewAgency, Store

TOKEN_PREFIX = "edoc_"  # noqa: S105  (a prefix that makes leaked tokens greppable)


def new_token() -> str:
    """A fresh API token; only its hash is ever stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_certificates(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle; refuses an empty or broken one."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is no ValueError
        raise SchemaInvalid(f"certificate PEM could not be read: {exc}") from exc
    if not certs:
        raise SchemaInvalid("no certificate in the PEM data")
    return certs


def check_delivery_mode(mode: str, endpoint_url: str | None) -> DeliveryMode:
    if mode not in ("push", "pull"):
        raise SchemaInvalid(f"delivery mode must be push or pull, not {mode!r}")
    if mode == "push":
        parsed = urlparse(endpoint_url or "")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SchemaInvalid("a push agency needs an http(s) endpoint URL")
        return "push"
    if endpoint_url:
        raise SchemaInvalid("a pull agency has no endpoint URL")
    return "pull"


async def register_agency(
    store: Store,
    *,
    code: str,
    name: str,
    aliases: Sequence[str] = (),
    delivery_mode: str,
    endpoint_url: str | None,
    certificate_pems: Sequence[bytes],
    at: datetime,
    test: bool = False,
) -> tuple[Agency, str]:
    """Validate and register an agency; returns it with its one-time API token.

    Codes are case-insensitive and registered upper case (``vxp.saas.03`` is
    ``VXP.SAAS.03``), so a tenant-style code real systems write in lower case
    is one the registry knows.
    """
    for each in (code, *aliases):
        classify_agency_code(each, case_insensitive=True)
    if not name.strip():
        raise SchemaInvalid("an agency needs a name")
    mode = check_delivery_mode(delivery_mode, endpoint_url)
    certificates = [
        (certificate_fingerprint(cert), pem_of(cert))
        for pem in certificate_pems
        for cert in parse_certificates(pem)
    ]
    token = new_token()
    agency = await store.create_agency(
        NewAgency(
            code=code,
            name=name.strip(),
            alias_codes=tuple(aliases),
            delivery_mode=mode,
            endpoint_url=endpoint_url if mode == "push" else None,
            test=test,
        ),
        hash_token(token),
        certificates,
        at,
    )
    return agency, token


def pem_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.PEM)


async def add_certificates(store: Store, code: str, pem: bytes) -> None:
    """Register every certificate of a PEM bundle to the agency ``code``."""
    for cert in parse_certificates(pem):
        await store.add_certificate(code, certificate_fingerprint(cert), pem_of(cert))


_MAX_CHAIN = 8  # links from an agency certificate to its anchor


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _chains_to_anchor(
    cert: x509.Certificate, pool: list[x509.Certificate], trust: TrustStore
) -> bool:
    current = cert
    for _ in range(_MAX_CHAIN):
        if any(_issued_by(current, anchor) for anchor in trust.anchors):
            return True
        parent = next((c for c in pool if c is not current and _issued_by(current, c)), None)
        if parent is None:
            return False
        current = parent
    return False


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _can_sign(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return bool(usage.digital_signature or usage.content_commitment)


def require_trusted(trust: TrustStore, pems: Sequence[bytes]) -> None:
    """Refuse what intake would refuse whatever the day, with its code ``certificate.untrusted``.

    That is a certificate whose signatures do not lead to a trust anchor (the
    other certificates of its PEM bundle and the configured intermediates may
    be links), or an agency certificate without a document-signing key usage.
    Validity and revocation change with time: intake judges them per document
    (with the full RFC 5280 path check), so registering a certificate ahead of
    its start date is allowed.
    """
    for pem in pems:
        bundle = parse_certificates(pem)
        pool = bundle + list(trust.intermediates)
        for cert in bundle:
            subject = cert.subject.rfc4514_string()
            if not _chains_to_anchor(cert, pool, trust):
                raise CertificateUntrusted(
                    f"certificate {subject} does not chain to a trust anchor"
                )
            if not _is_ca(cert) and not _can_sign(cert):
                raise CertificateUntrusted(
                    f"certificate {subject} allows neither digitalSignature nor nonRepudiation"
                )


async def rotate_token(store: Store, code: str, at: datetime) -> str:
    """Revoke every token of the agency and issue a new one."""
    token = new_token()
    await store.rotate_token(code, hash_token(token), at)
    return token
