"""Cross-check with signxml, an independent XML-DSig implementation, in both directions."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
    methods,
)

from edoc_axis.errors import SignatureAlgorithm
from edoc_axis.pki import Issued, cert_to_pem
from edoc_axis.signature import sign_package, verify_package
from tests.conftest import build_package

PLACEHOLDER = (
    b'\n      <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="placeholder"/>'
    b"\n    </edXML:edXMLHeader>"
)
EXC = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
INCL = CanonicalizationMethod.CANONICAL_XML_1_0


def signxml_sign(
    signer: Issued,
    method: SignatureMethod,
    digest: DigestAlgorithm,
    c14n: CanonicalizationMethod,
    chain: tuple[Issued, ...] = (),
) -> bytes:
    """signxml puts an enveloped signature where its placeholder is: last in edXMLHeader."""
    raw = build_package().replace(b"\n    </edXML:edXMLHeader>", PLACEHOLDER)
    xml_signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=method,
        digest_algorithm=digest,
        c14n_algorithm=c14n,
    )
    pems = [cert_to_pem(issued.cert).decode() for issued in (signer, *chain)]
    return etree.tostring(xml_signer.sign(etree.fromstring(raw), key=signer.key, cert=pems))


@pytest.mark.parametrize("signer_name", ["agency_g22", "agency_g22_ec"])
def test_our_signature_verifies_with_signxml_and_the_ca(
    signer_name: str, request: pytest.FixtureRequest, dev_ca_pem_file: Path
) -> None:
    signer: Issued = request.getfixturevalue(signer_name)
    signed = sign_package(build_package(), signer.key, signer.cert)
    by_cert = XMLVerifier().verify(signed, x509_cert=cert_to_pem(signer.cert).decode())
    by_ca = XMLVerifier().verify(signed, ca_pem_file=str(dev_ca_pem_file))
    ours = verify_package(etree.fromstring(signed))
    # Both agree on exactly which bytes the signature covers.
    assert by_cert.signed_data == by_ca.signed_data == ours.signed_bytes


def test_our_receipt_style_signature_verifies_with_signxml(axis_signer: Issued) -> None:
    from edoc_axis.signature import sign_enveloped

    root = etree.fromstring(
        b"<r:Receipt xmlns:r='urn:edoc-axis:receipt:1'><r:A>1</r:A></r:Receipt>"
    )
    signed = etree.tostring(sign_enveloped(root, axis_signer.key, axis_signer.cert))
    XMLVerifier().verify(signed, x509_cert=cert_to_pem(axis_signer.cert).decode())


@pytest.mark.parametrize(
    ("signer_name", "method", "digest", "c14n"),
    [
        ("agency_g22", SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256, EXC),
        ("agency_g22", SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256, INCL),
        ("agency_g22", SignatureMethod.RSA_SHA384, DigestAlgorithm.SHA384, EXC),
        ("agency_g22", SignatureMethod.RSA_SHA512, DigestAlgorithm.SHA512, EXC),
        ("agency_g22_ec", SignatureMethod.ECDSA_SHA256, DigestAlgorithm.SHA256, EXC),
        ("agency_g22_ec", SignatureMethod.ECDSA_SHA256, DigestAlgorithm.SHA256, INCL),
        ("agency_g22_ec", SignatureMethod.ECDSA_SHA384, DigestAlgorithm.SHA512, EXC),
    ],
)
def test_signxml_signature_in_our_profile_verifies_with_ours(
    signer_name: str,
    method: SignatureMethod,
    digest: DigestAlgorithm,
    c14n: CanonicalizationMethod,
    request: pytest.FixtureRequest,
) -> None:
    signer: Issued = request.getfixturevalue(signer_name)
    signed = signxml_sign(signer, method, digest, c14n)
    expected = XMLVerifier().verify(signed, x509_cert=cert_to_pem(signer.cert).decode())
    result = verify_package(etree.fromstring(signed))
    assert result.certificate == signer.cert
    assert result.signature_algorithm == method.value
    assert result.digest_algorithm == digest.value
    assert not result.legacy
    assert result.signed_bytes == expected.signed_data


def test_signxml_chain_certificates_are_returned_as_chain(
    agency_g22: Issued, dev_ca: Issued
) -> None:
    signed = signxml_sign(
        agency_g22, SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256, EXC, chain=(dev_ca,)
    )
    result = verify_package(etree.fromstring(signed))
    assert result.certificate == agency_g22.cert
    assert result.chain == (dev_ca.cert,)


def test_signxml_with_comments_canonicalization_is_refused(agency_g22: Issued) -> None:
    with_comments = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0_WITH_COMMENTS
    signed = signxml_sign(
        agency_g22, SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256, with_comments
    )
    XMLVerifier().verify(signed, x509_cert=cert_to_pem(agency_g22.cert).decode())
    with pytest.raises(SignatureAlgorithm, match="canonicalization"):
        verify_package(etree.fromstring(signed))
