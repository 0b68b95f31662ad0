"""Large text nodes hashed in pieces: the same digest as canonicalising whole, the tree kept.

``digest_in_pieces`` must give, for every document and canonicalization, the
digest of the plain canonical bytes, and leave the tree as it found it. The
signed packages are signed by the independent test signer (which
canonicalises whole, with lxml), so a verification that passes is a digest
that matched the plain path.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable

import pytest
from lxml import etree

from edoc_axis.errors import SignatureInvalid
from edoc_axis.pki import Issued
from edoc_axis.signature import VerificationPolicy, pieces, sign_package, verify_package
from edoc_axis.signature import algorithms as alg
from edoc_axis.signature.pieces import LARGE_TEXT, digest_in_pieces
from tests.conftest import build_package
from tests.unit.signature import C14N, ENVELOPED, EXC_C14N, custom_sign, legacy_sign

LEGACY = VerificationPolicy(allow_legacy=True)
DEFAULT = VerificationPolicy()
BIG = 1_000_000  # bytes of attachment: 1,333,336 base64 characters, above LARGE_TEXT
SMALL_THRESHOLD = 64


def _text(length: int, alphabet: str) -> str:
    return (alphabet * (length // len(alphabet) + 1))[:length]


# Documents with text nodes above SMALL_THRESHOLD in every place a text node can be.
ASCII = _text(300, "QUJDRA+/=\n")
SPECIAL = _text(300, "a&b<c>d\re\"f'g\t")  # every character C14N escapes in text, and others
VIETNAMESE = _text(300, "Văn bản điện tử ")
DOCUMENTS = {
    "element text": f"<r xmlns='urn:a'><c>{ASCII}</c></r>",
    "text before children": f"<r><c>{ASCII}<d/>x</c></r>",
    "tail": f"<r><c/>{ASCII}<d/></r>",
    "root text": f"<r>{ASCII}</r>",
    "escaped characters": "<r><c>"
    + SPECIAL.replace("&", "&amp;").replace("<", "&lt;").replace("\r", "&#xD;")
    + "</c></r>",
    "non-ASCII": f"<r><c>{VIETNAMESE}</c><d>{VIETNAMESE}</d></r>",
    "namespaces": (
        f"<a:r xmlns:a='urn:a' xmlns:b='urn:b' xmlns='urn:d'><b:c a:x='1'>{ASCII}</b:c>"
        f"<c xmlns:e='urn:e'>{ASCII}<e:f/>{VIETNAMESE}</c></a:r>"
    ),
    "comments": f"<r><!--{ASCII}--><c>{ASCII}</c><!-- note -->{ASCII}<?pi {ASCII}?></r>",
    "several": "<r>" + "".join(f"<c n='{i}'>{ASCII}{i}</c>{ASCII}" for i in range(20)) + "</r>",
    "small and large": f"<r><c>short</c><c>{ASCII}</c><c>{ASCII[: SMALL_THRESHOLD - 1]}</c></r>",
    "cdata": f"<r><c><![CDATA[{SPECIAL.replace(chr(13), '')}]]>{ASCII}</c></r>",
}
CANONICALIZATIONS: dict[str, Callable[[etree._ElementTree], bytes]] = {
    "c14n 1.0": lambda doc: alg.canonicalize_document(doc, exclusive=False),
    "exclusive": lambda doc: alg.canonicalize_document(doc, exclusive=True),
    "exclusive with prefixes": lambda doc: alg.canonicalize_document(
        doc, exclusive=True, inclusive_prefixes=("b", "e")
    ),
}


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pieces, "LARGE_TEXT", SMALL_THRESHOLD)


def _serialised(root: etree._Element) -> bytes:
    return etree.tostring(root.getroottree(), method="c14n", with_comments=True)


@pytest.mark.usefixtures("small_threshold")
@pytest.mark.parametrize("c14n", sorted(CANONICALIZATIONS))
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_same_digest_as_the_plain_path_and_the_tree_is_kept(
    name: str, c14n: str, digest: str
) -> None:
    root = etree.fromstring(DOCUMENTS[name].encode())
    doc = root.getroottree()
    plain = CANONICALIZATIONS[c14n](doc)
    before = _serialised(root)

    value, signed_bytes = digest_in_pieces(root, digest, lambda: CANONICALIZATIONS[c14n](doc))

    assert value == hashlib.new(digest, plain).digest()
    assert signed_bytes is None  # hashed in pieces, never held whole
    assert _serialised(root) == before
    assert CANONICALIZATIONS[c14n](doc) == plain


def test_a_document_without_large_text_is_canonicalised_whole() -> None:
    root = etree.fromstring(b"<r><c>small</c></r>")
    plain = alg.canonicalize_document(root.getroottree(), exclusive=True)
    value, signed_bytes = digest_in_pieces(
        root, "sha256", lambda: alg.canonicalize_document(root.getroottree(), exclusive=True)
    )
    assert (value, signed_bytes) == (hashlib.sha256(plain).digest(), plain)


@pytest.mark.parametrize("length", [LARGE_TEXT - 1, LARGE_TEXT])
def test_threshold(length: int) -> None:
    root = etree.fromstring(f"<r><c>{'A' * length}</c></r>".encode())
    plain = alg.canonicalize_document(root.getroottree(), exclusive=False)
    value, signed_bytes = digest_in_pieces(
        root, "sha256", lambda: alg.canonicalize_document(root.getroottree(), exclusive=False)
    )
    assert value == hashlib.sha256(plain).digest()
    assert (signed_bytes is None) == (length >= LARGE_TEXT)


@pytest.mark.usefixtures("small_threshold")
def test_a_marker_found_elsewhere_falls_back_to_the_plain_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pieces.secrets, "token_hex", lambda _n: "fixed")
    marker = "edoc-axis-c14n-fixed-0-"
    root = etree.fromstring(f"<r note='{marker}'><c>{ASCII}</c></r>".encode())
    plain = alg.canonicalize_document(root.getroottree(), exclusive=True)
    value, signed_bytes = digest_in_pieces(
        root, "sha256", lambda: alg.canonicalize_document(root.getroottree(), exclusive=True)
    )
    assert (value, signed_bytes) == (hashlib.sha256(plain).digest(), plain)


@pytest.mark.usefixtures("small_threshold")
def test_the_tree_is_restored_when_canonicalisation_fails() -> None:
    root = etree.fromstring(f"<r><c>{ASCII}</c>{VIETNAMESE}<d/></r>".encode())
    before = _serialised(root)

    def failing() -> bytes:
        raise SignatureInvalid("cannot canonicalise")

    with pytest.raises(SignatureInvalid):
        digest_in_pieces(root, "sha256", failing)
    assert _serialised(root) == before


# --- signed packages with a real large attachment --------------------------------------


@pytest.fixture(scope="module")
def big_package() -> bytes:
    return build_package(attachment=os.urandom(BIG), attachment_name="big.bin")


def _verify(raw: bytes, policy: VerificationPolicy = DEFAULT) -> bytes | None:
    root = etree.fromstring(raw, etree.XMLParser(huge_tree=True))
    before = etree.tostring(root)
    result = verify_package(root, policy, document_size=len(raw))
    assert etree.tostring(root) == before
    # The plain path over the same tree agrees and returns the bytes it hashed.
    assert verify_package(root, policy, document_size=0).signed_bytes is not None
    return result.signed_bytes


def test_our_signature_over_a_large_attachment(agency_g22: Issued, big_package: bytes) -> None:
    assert _verify(sign_package(big_package, agency_g22.key, agency_g22.cert)) is None


@pytest.mark.parametrize(
    "transforms",
    [(ENVELOPED,), (ENVELOPED, C14N), (ENVELOPED, EXC_C14N)],
    ids=["implicit c14n", "c14n 1.0", "exclusive"],
)
def test_independent_signer_over_a_large_attachment(
    agency_g22: Issued, big_package: bytes, transforms: tuple[str, ...]
) -> None:
    signed = custom_sign(big_package, agency_g22.key, agency_g22.cert, transforms=transforms)
    assert _verify(signed) is None


def test_inclusive_prefixes_over_a_large_attachment(agency_g22: Issued, big_package: bytes) -> None:
    signed = custom_sign(big_package, agency_g22.key, agency_g22.cert, inclusive_prefixes="edXML")
    assert _verify(signed) is None


def test_reference_sdk_form_over_a_large_attachment(agency_g22: Issued, big_package: bytes) -> None:
    # edXML-namespace Signature: canonicalised from a copy of the (now small) tree.
    signed = legacy_sign(big_package, agency_g22.key, agency_g22.cert)
    assert _verify(signed, LEGACY) is None


def test_comments_added_after_signing_a_large_package(
    agency_g22: Issued, big_package: bytes
) -> None:
    signed = sign_package(big_package, agency_g22.key, agency_g22.cert)
    commented = signed.replace(b"<AttachmentEncoded>", b"<!-- a note --><AttachmentEncoded>")
    assert commented != signed
    assert _verify(commented) is None


def test_large_and_small_attachments_together(agency_g22: Issued) -> None:
    raw = build_package(attachment=os.urandom(BIG))
    small = base64.b64encode(b"small").decode()
    second = (
        "<Attachment><ContentId>cid:2</ContentId><AttachmentName>b.txt</AttachmentName>"
        f"<ContentType>text/plain</ContentType><ContentTransferEncoded>{small}"
        "</ContentTransferEncoded></Attachment>"
    )
    raw = raw.replace(b"</AttachmentEncoded>", second.encode() + b"</AttachmentEncoded>")
    assert _verify(sign_package(raw, agency_g22.key, agency_g22.cert)) is None


def test_a_small_package_still_reports_its_signed_bytes(agency_g22: Issued) -> None:
    signed = sign_package(build_package(), agency_g22.key, agency_g22.cert)
    root = etree.fromstring(signed)
    assert (
        verify_package(root).signed_bytes
        == verify_package(root, document_size=len(signed)).signed_bytes
    )
    assert verify_package(root).signed_bytes is not None


@pytest.mark.parametrize("where", ["attachment", "header"])
def test_a_changed_large_package_fails(agency_g22: Issued, big_package: bytes, where: str) -> None:
    signed = sign_package(big_package, agency_g22.key, agency_g22.cert)
    if where == "attachment":
        start = signed.index(b"<edXML:ContentTransferEncoded") + 500_000
        flipped = b"B" if signed[start : start + 1] == b"A" else b"A"
        tampered = signed[:start] + flipped + signed[start + 1 :]
    else:
        tampered = signed.replace(b"7816</edXML:CodeNumber>", b"7817</edXML:CodeNumber>")
    assert tampered != signed and len(tampered) == len(signed)
    root = etree.fromstring(tampered, etree.XMLParser(huge_tree=True))
    with pytest.raises(SignatureInvalid, match="digest mismatch"):
        verify_package(root, document_size=len(tampered))
