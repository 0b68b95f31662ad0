"""Registry operations shared by the operator API and the `edoc-axis` CLI."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlparse

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from edoc_axis.edxml import classify_agency_code
from edoc_axis.errors import SchemaInvalid
from edoc_axis.signature import certificate_fingerprint
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
    except ValueError as exc:
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


async def rotate_token(store: Store, code: str, at: datetime) -> str:
    """Revoke every token of the agency and issue a new one."""
    token = new_token()
    await store.rotate_token(code, hash_token(token), at)
    return token
