"""verify_package: results, no mutation of the caller's tree, and each refusal's error class."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree

from edoc_axis.errors import SignatureAlgorithm, SignatureInvalid, SignatureMissing
from edoc_axis.pki import Issued
from edoc_axis.signature import (
    VerificationPolicy,
    certificate_fingerprint,
    sign_package,
    verify_package,
)
from tests.conftest import build_package
from tests.unit.signature import (
    C14N,
    DSIG,
    ECDSA_SHA256,
    RSA_SHA1,
    SDK_EXC_C14N,
    SHA1,
    SHA256,
    custom_sign,
)

LEGACY = VerificationPolicy(allow_legacy=True)
DEFAULT = VerificationPolicy()
NS = {"ds": DSIG}


def _tree(raw: bytes) -> etree._Element:
    return etree.fromstring(raw)


def test_valid_rsa_signature_reports_what_it_covers(agency_g22: Issued) -> None:
    signed = sign_package(build_package(), agency_g22.key, agency_g22.cert)
    result = verify_package(_tree(signed))
    assert result.certificate == agency_g22.cert
    assert result.chain == ()
    assert result.signature_algorithm.endswith("rsa-sha256")
    assert result.digest_algorithm == SHA256
    assert result.legacy is False
    assert b"<ds:Signature" not in result.signed_bytes
    assert b"000.00.00.G22,2026/01/02,7816/VPCP-TT" in result.signed_bytes


def test_valid_ecdsa_signature(agency_g22_ec: Issued) -> None:
    signed = sign_package(build_package(), agency_g22_ec.key, agency_g22_ec.cert)
    result = verify_package(_tree(signed), LEGACY)
    assert result.signature_algorithm == ECDSA_SHA256
    assert result.legacy is False  # the legacy policy allows, it does not taint


def test_independently_made_signature_verifies(agency_g22: Issued) -> None:
    result = verify_package(_tree(custom_sign(build_package(), agency_g22.key, agency_g22.cert)))
    assert certificate_fingerprint(result.certificate) == certificate_fingerprint(agency_g22.cert)


# --- the caller's tree is left as it was ---------------------------------------------


def _unchanged_after(root: etree._Element, policy: VerificationPolicy = DEFAULT) -> None:
    before = etree.tostring(root.getroottree())
    try:
        verify_package(root, policy)
    finally:
        assert etree.tostring(root.getroottree()) == before


def test_tree_unchanged_after_success(signed_package: bytes) -> None:
    _unchanged_after(_tree(signed_package))


def test_tree_unchanged_after_digest_failure(signed_package: bytes) -> None:
    root = _tree(signed_package.replace(b"VPCP-TT", b"VPCP-XX", 1))
    with pytest.raises(SignatureInvalid, match="digest"):
        _unchanged_after(root)


def test_tree_unchanged_when_signature_uses_namespaces_declared_outside(
    agency_g22: Issued,
) -> None:
    # xmlns:ds on the root: detaching the Signature would leave a re-declaration
    # behind, so the verifier must work on a copy here.
    signed = sign_package(build_package(), agency_g22.key, agency_g22.cert)
    moved = signed.replace(b' xmlns:ds="http://www.w3.org/2000/09/xmldsig#"', b"", 1).replace(
        b"<edXML xmlns=", b'<edXML xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns=', 1
    )
    root = _tree(moved)
    assert root.nsmap["ds"] == DSIG
    _unchanged_after(root)
    assert verify_package(root).signed_bytes == verify_package(_tree(signed)).signed_bytes


def test_tail_text_after_signature_is_kept_in_signed_bytes(agency_g22: Issued) -> None:
    signed = sign_package(build_package(), agency_g22.key, agency_g22.cert)
    # The enveloped transform removes the element, not the text after it.
    assert b"</edXML:TraceHeaderList>\n      \n    </edXML:edXMLHeader>" in (
        verify_package(_tree(signed)).signed_bytes
    )


# --- missing and placeholder signatures ---------------------------------------------


def test_unsigned_package_is_missing(unsigned_package: bytes) -> None:
    with pytest.raises(SignatureMissing):
        verify_package(_tree(unsigned_package))


def test_empty_certificate_placeholder_is_missing(signed_package: bytes) -> None:
    root = _tree(signed_package)
    root.xpath("//ds:X509Certificate", namespaces=NS)[0].text = ""
    with pytest.raises(SignatureMissing, match="placeholder"):
        verify_package(root)


def test_empty_signature_value_placeholder_is_missing(signed_package: bytes) -> None:
    root = _tree(signed_package)
    root.xpath("//ds:SignatureValue", namespaces=NS)[0].text = None
    with pytest.raises(SignatureMissing, match="placeholder"):
        verify_package(root)


# --- any change to signed content ---------------------------------------------------

TAMPERING = {
    "text": (b"<edXML:CodeNumber>7816<", b"<edXML:CodeNumber>7817<"),
    "attribute": (b'edXMLManifest version="1.0"', b'edXMLManifest version="1.1"'),
    "element-added": (
        b"<edXML:DocumentId>",
        b"<edXML:To><edXML:OrganId>000.00.00.A01</edXML:OrganId></edXML:To><edXML:DocumentId>",
    ),
    "element-removed": (b"<edXML:Content>", b"<edXML:Contnt>"),
    "attachment-byte": (b">JVBERi0x", b">JVBERi0y"),
    "whitespace-in-text": (b"<edXML:Place>H", b"<edXML:Place> H"),
    "trace-header": (b"08:00:00", b"09:00:00"),
}


@pytest.mark.parametrize("change", TAMPERING.values(), ids=TAMPERING.keys())
def test_any_change_to_signed_content_is_invalid(
    change: tuple[bytes, bytes], signed_package: bytes
) -> None:
    old, new = change
    assert old in signed_package
    tampered = signed_package.replace(old, new, 1)
    if old == b"<edXML:Content>":
        tampered = tampered.replace(b"</edXML:Content>", b"</edXML:Contnt>", 1)
    with pytest.raises(SignatureInvalid, match="digest"):
        verify_package(_tree(tampered))


def test_element_removed_entirely_is_invalid(signed_package: bytes) -> None:
    root = _tree(signed_package)
    content = root.xpath("//*[local-name()='Content']")[0]
    content.getparent().remove(content)
    with pytest.raises(SignatureInvalid):
        verify_package(root)


def test_changed_signature_value_is_invalid(signed_package: bytes) -> None:
    root = _tree(signed_package)
    node = root.xpath("//ds:SignatureValue", namespaces=NS)[0]
    value = bytearray(base64.b64decode(node.text))
    value[10] ^= 1
    node.text = base64.b64encode(bytes(value)).decode()
    with pytest.raises(SignatureInvalid, match="signature value"):
        verify_package(root)


def test_changed_signed_info_is_invalid(signed_package: bytes) -> None:
    root = _tree(signed_package)
    root.xpath("//ds:Reference", namespaces=NS)[0].set("Type", "urn:changed")
    with pytest.raises(SignatureInvalid, match="signature value"):
        verify_package(root)


def test_other_agency_certificate_in_key_info_is_invalid(
    signed_package: bytes, agency_h49: Issued
) -> None:
    root = _tree(signed_package)
    node = root.xpath("//ds:X509Certificate", namespaces=NS)[0]
    node.text = base64.b64encode(agency_h49.cert.public_bytes(Encoding.DER)).decode()
    with pytest.raises(SignatureInvalid):
        verify_package(root)


def test_ecdsa_der_encoded_value_is_invalid(agency_g22_ec: Issued) -> None:
    signed = sign_package(build_package(), agency_g22_ec.key, agency_g22_ec.cert)
    root = _tree(signed)
    node = root.xpath("//ds:SignatureValue", namespaces=NS)[0]
    node.text = base64.b64encode(b"\x30\x44" + base64.b64decode(node.text)).decode()
    with pytest.raises(SignatureInvalid, match="ECDSA"):
        verify_package(root)


def test_garbage_certificate_is_invalid(signed_package: bytes) -> None:
    root = _tree(signed_package)
    root.xpath("//ds:X509Certificate", namespaces=NS)[0].text = "MIIFqTCCBJG"
    with pytest.raises(SignatureInvalid, match="base64"):
        verify_package(root)
    root.xpath("//ds:X509Certificate", namespaces=NS)[0].text = "AAAA"
    with pytest.raises(SignatureInvalid, match="DER"):
        verify_package(root)


def test_missing_key_info_is_invalid(signed_package: bytes) -> None:
    root = _tree(signed_package)
    key_info = root.xpath("//ds:KeyInfo", namespaces=NS)[0]
    key_info.getparent().remove(key_info)
    with pytest.raises(SignatureInvalid, match="KeyInfo"):
        verify_package(root)


def test_informational_key_info_content_is_tolerated(agency_g22: Issued) -> None:
    signed = custom_sign(
        build_package(),
        agency_g22.key,
        agency_g22.cert,
        subject_name=True,
        key_info_extra="<ds:KeyName>vpcp</ds:KeyName>",
    )
    assert verify_package(_tree(signed)).certificate == agency_g22.cert


# --- algorithms ---------------------------------------------------------------------

MORE = "http://www.w3.org/2001/04/xmldsig-more#"
REFUSED_METHODS = {
    "rsa-md5": MORE + "rsa-md5",
    "hmac-sha256": MORE + "hmac-sha256",
    "hmac-sha1": DSIG + "hmac-sha1",
    "dsa-sha1": DSIG + "dsa-sha1",
    "dsa-sha256": "http://www.w3.org/2009/xmldsig11#dsa-sha256",
    "rsa-pss": "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
    "unknown": "urn:example:rsa-sha256",
    "empty": "",
}


@pytest.mark.parametrize("policy", [VerificationPolicy(), LEGACY], ids=["default", "legacy"])
@pytest.mark.parametrize("uri", REFUSED_METHODS.values(), ids=REFUSED_METHODS.keys())
def test_refused_signature_methods(
    uri: str, policy: VerificationPolicy, agency_g22: Issued
) -> None:
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, method=uri)
    with pytest.raises(SignatureAlgorithm, match="signature method"):
        verify_package(_tree(signed), policy)


REFUSED_DIGESTS = {
    "md5": MORE + "md5",
    "ripemd160": "http://www.w3.org/2001/04/xmlenc#ripemd160",
    "sha224": MORE + "sha224",
    "unknown": "urn:example:sha256",
}


@pytest.mark.parametrize("policy", [VerificationPolicy(), LEGACY], ids=["default", "legacy"])
@pytest.mark.parametrize("uri", REFUSED_DIGESTS.values(), ids=REFUSED_DIGESTS.keys())
def test_refused_digest_methods(uri: str, policy: VerificationPolicy, agency_g22: Issued) -> None:
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, digest=uri)
    with pytest.raises(SignatureAlgorithm, match="digest method"):
        verify_package(_tree(signed), policy)


def test_rsa_sha1_needs_the_legacy_policy(agency_g22: Issued) -> None:
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, method=RSA_SHA1)
    with pytest.raises(SignatureAlgorithm, match="legacy policy"):
        verify_package(_tree(signed))
    result = verify_package(_tree(signed), LEGACY)
    assert result.legacy is True
    assert result.signature_algorithm == RSA_SHA1


def test_sha1_digest_needs_the_legacy_policy(agency_g22: Issued) -> None:
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, digest=SHA1)
    with pytest.raises(SignatureAlgorithm, match="legacy policy"):
        verify_package(_tree(signed))
    result = verify_package(_tree(signed), LEGACY)
    assert result.legacy is True
    assert result.digest_algorithm == SHA1


@pytest.mark.parametrize(
    "uri",
    [
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        "http://www.w3.org/2006/12/xml-c14n11#WithComments",
        "http://www.w3.org/2006/12/xml-c14n2",
    ],
)
def test_refused_signed_info_canonicalizations(uri: str, agency_g22: Issued) -> None:
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, c14n=uri)
    with pytest.raises(SignatureAlgorithm, match="canonicalization"):
        verify_package(_tree(signed), LEGACY)


def test_c14n_11_signed_info_is_accepted(agency_g22: Issued) -> None:
    c14n11 = "http://www.w3.org/2006/12/xml-c14n11"
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, c14n=c14n11)
    assert verify_package(_tree(signed)).legacy is False


def test_sdk_exclusive_c14n_uri_in_signed_info_needs_the_legacy_policy(
    agency_g22: Issued,
) -> None:
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, c14n=SDK_EXC_C14N)
    with pytest.raises(SignatureAlgorithm, match="canonicalization"):
        verify_package(_tree(signed))
    assert verify_package(_tree(signed), LEGACY).legacy is True


def test_algorithm_parameters_are_refused(signed_package: bytes) -> None:
    root = _tree(signed_package)
    method = root.xpath("//ds:SignatureMethod", namespaces=NS)[0]
    etree.SubElement(method, f"{{{DSIG}}}HMACOutputLength").text = "80"
    with pytest.raises(SignatureAlgorithm, match="parameters"):
        verify_package(root)


def test_method_must_match_the_key_type(agency_g22: Issued) -> None:
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, method=ECDSA_SHA256)
    with pytest.raises(SignatureAlgorithm, match="EC key"):
        verify_package(_tree(signed))


def _self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weak")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_rsa_key_below_2048_bits_is_refused() -> None:
    key = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the point of the test
    signed = custom_sign(build_package(), key, _self_signed(key))
    with pytest.raises(SignatureAlgorithm, match="1024 bits"):
        verify_package(_tree(signed), LEGACY)


def test_unaccepted_curve_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    signed = custom_sign(build_package(), key, _self_signed(key))
    with pytest.raises(SignatureAlgorithm, match="secp256k1"):
        verify_package(_tree(signed))


def test_xml_base_above_signed_info_is_refused_with_c14n_11(agency_g22: Issued) -> None:
    raw = build_package().replace(
        b"<edXML xmlns=", b'<edXML xml:base="http://a.example/" xmlns=', 1
    )
    c14n11 = "http://www.w3.org/2006/12/xml-c14n11"
    signed = custom_sign(raw, agency_g22.key, agency_g22.cert, c14n=c14n11)
    with pytest.raises(SignatureAlgorithm, match="xml:base"):
        verify_package(_tree(signed))


def test_inherited_xml_attributes_leave_the_tree_unchanged(agency_g22: Issued) -> None:
    # Inclusive C14N puts xml:lang on SignedInfo while it runs, then takes it away.
    raw = build_package().replace(b"<edXML xmlns=", b'<edXML xml:lang="vi" xmlns=', 1)
    signed = custom_sign(raw, agency_g22.key, agency_g22.cert, c14n=C14N)
    root = _tree(signed)
    before = etree.tostring(root)
    with pytest.raises(SignatureInvalid):  # custom_sign (lxml) does not inherit xml:lang
        verify_package(root)
    assert etree.tostring(root) == before
