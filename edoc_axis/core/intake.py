"""The CPU-bound half of intake: everything that needs only the bytes (pure).

Safe parse, schema, model, signature and certificate checks run here on one
parsed tree; the registry checks that need the store run in the HTTP adapter.
The function is synchronous and thread-safe so the server can run it in a
worker pool, off the event loop.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from edoc_axis.edxml import (
    STRICT,
    DocumentPackage,
    StatusPackage,
    Tolerances,
    XmlLimits,
    package_from_tree,
    safe_parse,
    validate,
)
from edoc_axis.errors import SchemaInvalid, SignatureMissing
from edoc_axis.signature import (
    TrustStore,
    VerificationPolicy,
    VerifiedSignature,
    certificate_fingerprint,
    verify_package,
)


@dataclass(frozen=True)
class Examined:
    """A package that passed every check that needs no registry."""

    package: DocumentPackage | StatusPackage
    signature: VerifiedSignature | None
    signer_fingerprint: str | None
    sha256: str


def examine(
    raw: bytes,
    *,
    limits: XmlLimits,
    policy: VerificationPolicy,
    trust: TrustStore,
    at: datetime,
    expect_kind: str,
    signature_required: bool = True,
    tolerances: Tolerances = STRICT,
) -> Examined:
    """Parse once, validate, verify the signature and its certificate.

    ``expect_kind`` is "document" or "status"; a package of the other kind is
    a schema error because it was posted to the wrong resource. ``tolerances``
    only widen what the reader accepts: the signature is checked over the
    exact bytes received whatever they let through.
    """
    root = safe_parse(raw, limits)
    validate(root, tolerances)
    package = package_from_tree(root, raw, tolerances)
    if package.kind != expect_kind:
        raise SchemaInvalid(
            f"edXML {package.kind} package posted where a {expect_kind} package is expected"
        )
    verified = _verify(root, policy, trust, at, signature_required)
    fingerprint = None if verified is None else certificate_fingerprint(verified.certificate)
    return Examined(package, verified, fingerprint, hashlib.sha256(raw).hexdigest())


def _verify(
    root: etree._Element,
    policy: VerificationPolicy,
    trust: TrustStore,
    at: datetime,
    required: bool,
) -> VerifiedSignature | None:
    try:
        verified = verify_package(root, policy)
    except SignatureMissing:
        if required:
            raise
        return None
    trust.check(verified.certificate, at, verified.chain)
    return verified
