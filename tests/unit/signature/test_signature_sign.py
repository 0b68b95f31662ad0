"""sign_package / sign_enveloped: the native profile, placed and formatted as specified."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from lxml import etree

from edoc_axis.errors import (
    SchemaInvalid,
    SignatureAlgorithm,
    SignatureWrapping,
    XmlForbidden,
    XmlMalformed,
)
from edoc_axis.pki import Issued
from edoc_axis.signature import sign_enveloped, sign_package, verify_enveloped, verify_package
from tests.conftest import build_package
from tests.unit.signature import DSIG, ECDSA_SHA256, EDXML, EXC_C14N, RSA_SHA256, SHA256

NS = {"ds": DSIG, "e": EDXML}


def _signature(signed: bytes) -> etree._Element:
    root = etree.fromstring(signed)
    found = root.xpath("//ds:Signature", namespaces=NS)
    assert len(found) == 1
    return found[0]


def test_signed_package_has_the_profile_shape(agency_g22: Issued) -> None:
    signature = _signature(sign_package(build_package(), agency_g22.key, agency_g22.cert))
    parent = signature.getparent()
    assert parent is not None and parent.tag == f"{{{EDXML}}}edXMLHeader"
    assert signature.getnext() is None
    assert [etree.QName(c).localname for c in signature] == [
        "SignedInfo",
        "SignatureValue",
        "KeyInfo",
    ]
    get = signature.xpath
    assert get("string(ds:SignedInfo/ds:CanonicalizationMethod/@Algorithm)", namespaces=NS) == (
        EXC_C14N
    )
    assert get("string(ds:SignedInfo/ds:SignatureMethod/@Algorithm)", namespaces=NS) == RSA_SHA256
    assert get("ds:SignedInfo/ds:Reference/@URI", namespaces=NS) == [""]
    transforms = get(
        "ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform/@Algorithm", namespaces=NS
    )
    assert transforms == [DSIG + "enveloped-signature", EXC_C14N]
    assert get("string(.//ds:DigestMethod/@Algorithm)", namespaces=NS) == SHA256
    assert len(get("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)) == 1


def test_ecdsa_key_gives_raw_r_s_signature_value(agency_g22_ec: Issued) -> None:
    signature = _signature(sign_package(build_package(), agency_g22_ec.key, agency_g22_ec.cert))
    method = signature.xpath("string(.//ds:SignatureMethod/@Algorithm)", namespaces=NS)
    assert method == ECDSA_SHA256
    value = signature.xpath("string(ds:SignatureValue)", namespaces=NS)
    assert len(base64.b64decode(value)) == 64  # P-256: 32-byte r || 32-byte s, not DER


def test_document_bytes_outside_the_signature_are_kept(agency_g22: Issued) -> None:
    raw = build_package()
    signed = sign_package(raw, agency_g22.key, agency_g22.cert)
    assert signed.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML ')
    start = signed.index(b"\n      <ds:Signature")
    end = signed.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    # Only the newline after the root element is lost: it is not part of the document.
    assert signed[:start] + signed[end:] == raw.rstrip(b"\n")
    assert b"\n      <ds:Signature" in signed
    assert b"\n        <ds:SignedInfo>" in signed
    assert b"</ds:Signature>\n    </edXML:edXMLHeader>" in signed


def test_compact_document_gets_a_compact_signature(agency_g22: Issued) -> None:
    raw = etree.tostring(etree.fromstring(build_package(), etree.XMLParser(remove_blank_text=True)))
    signed = sign_package(raw, agency_g22.key, agency_g22.cert)
    assert b"\n" not in signed.split(b"\n", 1)[1]
    verify_package(etree.fromstring(signed))


def test_already_signed_package_is_refused(signed_package: bytes, agency_h49: Issued) -> None:
    with pytest.raises(SignatureWrapping, match="already signed"):
        sign_package(signed_package, agency_h49.key, agency_h49.cert)


def test_tree_input_is_not_modified(agency_g22: Issued) -> None:
    root = etree.fromstring(build_package())
    before = etree.tostring(root)
    signed = sign_package(root, agency_g22.key, agency_g22.cert)
    assert etree.tostring(root) == before
    verify_package(etree.fromstring(signed))


def test_key_must_belong_to_certificate(agency_g22: Issued, agency_h49: Issued) -> None:
    with pytest.raises(ValueError, match="does not belong"):
        sign_package(build_package(), agency_g22.key, agency_h49.cert)


@pytest.mark.parametrize(
    "make_key",
    [
        lambda: rsa.generate_private_key(65537, 1024),  # noqa: S505 - the point of the test
        lambda: ec.generate_private_key(ec.SECP256K1()),
        lambda: ed25519.Ed25519PrivateKey.generate(),
    ],
    ids=["rsa-1024", "secp256k1", "ed25519"],
)
def test_unsupported_or_weak_keys_are_refused(
    make_key: Callable[[], Any], agency_g22: Issued
) -> None:
    with pytest.raises(SignatureAlgorithm):
        sign_package(build_package(), make_key(), agency_g22.cert)


def test_malformed_input_is_refused(agency_g22: Issued) -> None:
    with pytest.raises(XmlMalformed):
        sign_package(b"1212" + build_package(), agency_g22.key, agency_g22.cert)


def test_doctype_is_refused(agency_g22: Issued) -> None:
    raw = build_package().replace(b"<edXML ", b'<!DOCTYPE edXML [<!ENTITY x "y">]>\n<edXML ', 1)
    with pytest.raises(XmlForbidden):
        sign_package(raw, agency_g22.key, agency_g22.cert)


def test_non_edxml_document_is_refused_by_sign_package(agency_g22: Issued) -> None:
    with pytest.raises(SchemaInvalid):
        sign_package(b"<Receipt xmlns='urn:x'/>", agency_g22.key, agency_g22.cert)


def test_sign_enveloped_defaults_to_the_root_and_verifies(axis_signer: Issued) -> None:
    root = etree.fromstring(
        b"<r:Receipt xmlns:r='urn:edoc-axis:receipt:1'><r:A>1</r:A></r:Receipt>"
    )
    assert sign_enveloped(root, axis_signer.key, axis_signer.cert) is root
    assert root[-1].tag == f"{{{DSIG}}}Signature"
    reparsed = etree.fromstring(etree.tostring(root))
    result = verify_enveloped(reparsed, expected_parent=reparsed)
    assert result.certificate == axis_signer.cert
    assert not result.legacy


def test_sign_enveloped_into_a_chosen_parent(axis_signer: Issued) -> None:
    root = etree.fromstring(b"<a xmlns='urn:x'>\n  <b>\n    <c>1</c>\n  </b>\n</a>")
    parent = root[0]
    sign_enveloped(root, axis_signer.key, axis_signer.cert, parent=parent)
    reparsed = etree.fromstring(etree.tostring(root))
    verify_enveloped(reparsed, expected_parent=reparsed[0])
    with pytest.raises(SignatureWrapping):
        verify_enveloped(reparsed, expected_parent=reparsed)
