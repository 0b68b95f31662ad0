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
    package_kind,
    validate,
)
from edoc_axis.edxml.aside import check_aside, parse_setting_aside
from edoc_axis.errors import SchemaInvalid, SignatureMissing
from edoc_axis.signature import (
    PreparedSignature,
    TrustStore,
    VerificationPolicy,
    VerifiedSignature,
    certificate_fingerprint,
    prepare_package,
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
    """Parse once, validate, verify the signature and its certificate, read the model.

    ``expect_kind`` is "document" or "status"; a package of the other kind is
    a schema error because it was posted to the wrong resource. ``tolerances``
    only widen what the reader accepts: the signature is checked over the
    exact bytes received whatever they let through.

    The order keeps a hostile body cheap. The safe parse enforces the size,
    depth and count limits; the schema is one pass in C; the signature's
    structure and the signer's certificate (chain, validity, revocation) come
    next, so an unsigned body or one signed by nobody trusted is refused
    before the model (the one walk in Python) and the canonicalisation.
    The model comes before the digest so that a signed package the profile
    refuses is ``schema.invalid`` whether or not it was changed after signing.
    Each step is linear in the input (tests/unit/core/test_intake_cost.py).
    """
    # A large attachment's text stays in ``raw``: the tree holds a marker.
    root, aside = parse_setting_aside(raw, limits)
    validate(root, tolerances)
    check_aside(root, aside)
    kind = package_kind(root)
    if kind != expect_kind:
        raise SchemaInvalid(
            f"edXML {kind} package posted where a {expect_kind} package is expected"
        )
    prepared = _prepare(root, policy, signature_required)
    if prepared is not None:
        trust.check(prepared.certificate, at, prepared.chain)
    # Routing reads the header only: the attachments' text is checked, not kept.
    package = package_from_tree(root, raw, tolerances, keep_attachment_text=False, limits=limits)
    verified = None if prepared is None else prepared.verify(document_size=len(raw), aside=aside)
    fingerprint = None if verified is None else certificate_fingerprint(verified.certificate)
    return Examined(package, verified, fingerprint, hashlib.sha256(raw).hexdigest())


def _prepare(
    root: etree._Element, policy: VerificationPolicy, required: bool
) -> PreparedSignature | None:
    try:
        return prepare_package(root, policy)
    except SignatureMissing:
        if required:
            raise
        return None
