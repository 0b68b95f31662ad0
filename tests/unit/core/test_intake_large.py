"""A large attachment through ``examine``: accepted, its text read from the bytes when asked.

The intake keeps no copy of a large attachment: the parsed tree holds a
marker in its place (``edxml.aside``), the schema's base64 check and the
signature's digest read the text from the package's bytes, and so does the
model when asked (``VerifiedSignature.signed_bytes`` is None). The memory
target itself is measured by ``edoc-axis bench --large-mb``, not here.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

import pytest

from edoc_axis.edxml import DEFAULT_LIMITS, DocumentPackage, read_package, safexml
from edoc_axis.edxml.aside import parse_setting_aside
from edoc_axis.errors import SchemaInvalid, SignatureInvalid
from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore, VerificationPolicy, sign_package
from tests.conftest import build_package
from tests.examining import examine_document
from tests.unit.signature import C14N, ENVELOPED, EXC_C14N, custom_sign, legacy_sign

DATA = os.urandom(1_200_000)  # 1.6 MB of base64: above the 1 MiB piecewise threshold


def test_a_large_document_is_accepted_without_keeping_its_attachment(
    agency_g22: Issued, trust_store: TrustStore
) -> None:
    raw = sign_package(build_package(attachment=DATA), agency_g22.key, agency_g22.cert)
    examined = examine_document(raw, trust_store)
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
        examine_document(raw[:middle] + swapped + raw[middle + 1 :], trust_store)


def test_a_small_document_still_reports_its_signed_bytes(
    agency_g22: Issued, trust_store: TrustStore
) -> None:
    raw = sign_package(build_package(), agency_g22.key, agency_g22.cert)
    examined = examine_document(raw, trust_store)
    assert examined.signature is not None
    assert examined.signature.signed_bytes is not None
    assert b"000.00.00.G22,2026/01/02,7816/VPCP-TT" in examined.signature.signed_bytes


def _wrapped(raw: bytes) -> bytes:
    """The package with its attachment's base64 in 76-character lines, as MIME writes it."""
    start = raw.index(b">", raw.index(b"<edXML:ContentTransferEncoded")) + 1
    end = raw.index(b"</edXML:ContentTransferEncoded>")
    return raw[:start] + base64.encodebytes(base64.b64decode(raw[start:end])) + raw[end:]


@pytest.mark.parametrize(
    "sign",
    [
        lambda raw, who: sign_package(raw, who.key, who.cert),
        lambda raw, who: custom_sign(raw, who.key, who.cert, transforms=(ENVELOPED,)),
        lambda raw, who: custom_sign(raw, who.key, who.cert, transforms=(ENVELOPED, C14N)),
        lambda raw, who: custom_sign(raw, who.key, who.cert, transforms=(ENVELOPED, EXC_C14N)),
        lambda raw, who: custom_sign(raw, who.key, who.cert, inclusive_prefixes="edXML"),
        lambda raw, who: legacy_sign(raw, who.key, who.cert),
    ],
    ids=["ours", "implicit c14n", "c14n 1.0", "exclusive", "inclusive prefixes", "reference SDK"],
)
@pytest.mark.parametrize("lines", [False, True], ids=["one line", "76-character lines"])
def test_every_signature_form_over_a_large_attachment(
    sign: Callable[[bytes, Issued], bytes],
    lines: bool,
    agency_g22: Issued,
    trust_store: TrustStore,
) -> None:
    unsigned = build_package(attachment=DATA)
    raw = sign(_wrapped(unsigned) if lines else unsigned, agency_g22)
    examined = examine_document(raw, trust_store, VerificationPolicy(allow_legacy=True))
    (attachment,) = examined.package.attachments  # type: ignore[union-attr]
    assert attachment.data() == DATA
    assert examined.signature is not None and examined.signature.signed_bytes is None
    middle = raw.index(b"<edXML:ContentTransferEncoded") + 900_000
    changed = (
        raw[:middle] + (b"B" if raw[middle : middle + 1] != b"B" else b"C") + raw[middle + 1 :]
    )
    with pytest.raises(SignatureInvalid, match="digest mismatch"):
        examine_document(changed, trust_store, VerificationPolicy(allow_legacy=True))


def test_a_large_attachment_that_is_not_base64_is_refused_before_the_signature(
    agency_g22: Issued, trust_store: TrustStore
) -> None:
    raw = sign_package(build_package(attachment=DATA), agency_g22.key, agency_g22.cert)
    end = raw.index(b"</edXML:ContentTransferEncoded>")
    # "QR==" leaves bits over: the schema's base64Binary refuses it, Python's decoder would not.
    broken = raw[: end - 4] + b"QR==" + raw[end:]
    line = broken[:end].count(b"\n") + 1
    with pytest.raises(SchemaInvalid, match=f"ContentTransferEncoded at line {line}: not valid"):
        examine_document(broken, trust_store)


def test_a_marker_found_elsewhere_in_the_document_is_refused_not_misread(
    agency_g22: Issued, trust_store: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The marker standing for a set-aside text is random; were it in the document
    # already, the digest could not tell the two apart: the package is refused.
    monkeypatch.setattr(safexml.secrets, "token_hex", lambda _n: "f" * 32)
    marker = b"EdocAxisSetAside" + b"f" * 32
    unsigned = build_package(attachment=DATA, subject="V/v " + marker.decode())
    raw = sign_package(unsigned, agency_g22.key, agency_g22.cert)
    with pytest.raises(SignatureInvalid, match="set aside while parsing occurs more than once"):
        examine_document(raw, trust_store)


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"], ids=["CR LF", "lone CR"])
def test_a_large_attachment_in_lines_ending_with_cr_is_set_aside_and_verified(
    line_end: bytes, agency_g22: Issued, trust_store: TrustStore
) -> None:
    # As .NET and MIME encoders write base64. The parser reads every such line end as a
    # line feed, and so does the digest of the text set aside.
    signed = sign_package(_wrapped(build_package(attachment=DATA)), agency_g22.key, agency_g22.cert)
    start = signed.index(b">", signed.index(b"<edXML:ContentTransferEncoded")) + 1
    end = signed.index(b"</edXML:ContentTransferEncoded>")
    raw = signed[:start] + signed[start:end].replace(b"\n", line_end) + signed[end:]
    assert len(parse_setting_aside(raw, DEFAULT_LIMITS)[1]) == 1  # the text stays in raw
    examined = examine_document(raw, trust_store)
    (attachment,) = examined.package.attachments  # type: ignore[union-attr]
    assert attachment.data() == DATA
    assert examined.signature is not None and examined.signature.signed_bytes is None
    middle = start + 900_000
    changed = (
        raw[:middle] + (b"B" if raw[middle : middle + 1] != b"B" else b"C") + raw[middle + 1 :]
    )
    with pytest.raises(SignatureInvalid, match="digest mismatch"):
        examine_document(changed, trust_store)
