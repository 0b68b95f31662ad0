"""A large attachment through ``examine``: accepted, its text read from the bytes when asked.

The intake keeps no second copy of a large attachment: the model reads the
text again from the package's bytes, and the signature's digest is hashed in
pieces (``VerifiedSignature.signed_bytes`` is None). The memory target itself
is measured by ``edoc-axis bench --large-mb``, not here.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from edoc_axis.core.intake import Examined, examine
from edoc_axis.edxml import DEFAULT_LIMITS, DocumentPackage, read_package
from edoc_axis.errors import SignatureInvalid
from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore, VerificationPolicy, sign_package
from tests.conftest import build_package

DATA = os.urandom(1_200_000)  # 1.6 MB of base64: above the 1 MiB piecewise threshold


def _examine(raw: bytes, trust: TrustStore) -> Examined:
    return examine(
        raw,
        limits=DEFAULT_LIMITS,
        policy=VerificationPolicy(),
        trust=trust,
        at=datetime.now(UTC),
        expect_kind="document",
    )


def test_a_large_document_is_accepted_without_keeping_its_attachment(
    agency_g22: Issued, trust_store: TrustStore
) -> None:
    raw = sign_package(build_package(attachment=DATA), agency_g22.key, agency_g22.cert)
    examined = _examine(raw, trust_store)
    package = examined.package
    assert isinstance(package, DocumentPackage)
    assert package.raw is raw
    (attachment,) = package.attachments
    assert not isinstance(attachment.encoded, str)
    assert attachment.data() == DATA
    full = read_package(raw)
    assert isinstance(full, DocumentPackage)
    assert attachment.encoded_text() == full.attachments[0].encoded
    assert examined.signature is not None
    assert examined.signature.signed_bytes is None


def test_a_changed_large_document_is_refused(agency_g22: Issued, trust_store: TrustStore) -> None:
    raw = sign_package(build_package(attachment=DATA), agency_g22.key, agency_g22.cert)
    middle = raw.index(b"<edXML:ContentTransferEncoded") + 800_000
    swapped = b"B" if raw[middle : middle + 1] == b"A" else b"A"
    with pytest.raises(SignatureInvalid, match="digest mismatch"):
        _examine(raw[:middle] + swapped + raw[middle + 1 :], trust_store)


def test_a_small_document_still_reports_its_signed_bytes(
    agency_g22: Issued, trust_store: TrustStore
) -> None:
    raw = sign_package(build_package(), agency_g22.key, agency_g22.cert)
    examined = _examine(raw, trust_store)
    assert examined.signature is not None
    assert examined.signature.signed_bytes is not None
    assert b"000.00.00.G22,2026/01/02,7816/VPCP-TT" in examined.signature.signed_bytes
