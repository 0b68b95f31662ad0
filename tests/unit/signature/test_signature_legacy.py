"""The reference SDK's signature: edXML namespace, C14N 1.0, RSA-SHA1, behind the legacy policy."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from edoc_axis.errors import (
    SignatureAlgorithm,
    SignatureInvalid,
    SignatureMissing,
    SignatureWrapping,
)
from edoc_axis.pki import Issued
from edoc_axis.signature import VerificationPolicy, verify_package
from tests.conftest import build_package
from tests.reference import SDK_SAMPLES
from tests.unit.signature import (
    EDXML,
    ENVELOPED,
    RSA_SHA1,
    RSA_SHA256,
    SDK_EXC_C14N,
    SHA1,
    SHA256,
    custom_sign,
    legacy_sign,
)

LEGACY = VerificationPolicy(allow_legacy=True)
SAMPLES = SDK_SAMPLES  # copied into tests/data (see its README)

# The SDK's placeholder block, verbatim from its sample packages.
SDK_PLACEHOLDER = b"""  <Signature>
        <SignedInfo>
          <CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315" />
          <SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1" />
          <Reference URI="">
            <Transforms>
              <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature" />
              <Transform Algorithm="http://www.w3.org/TR/xml-exc-c14n#" />
            </Transforms>
            <DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1" />
            <DigestValue>FwgIqsSYJshUS2+wlOM61L+q7Aw=</DigestValue>
          </Reference>
        </SignedInfo>
        <SignatureValue>GbVb8n9+qFxz466Ag0sbpVdLPs2R0+9JBekp12UyarAZjoG0W/kPZZJ1auRZDcNc</SignatureValue>
        <KeyInfo>
          <X509Data>
            <X509SubjectName>CN=user05</X509SubjectName>
            <X509Certificate>MIIFqTCCBJG</X509Certificate>
          </X509Data>
        </KeyInfo>
      </Signature>
    </edXML:edXMLHeader>"""


def _with_placeholder(certificate: bytes = b"MIIFqTCCBJG") -> etree._Element:
    block = SDK_PLACEHOLDER.replace(b"MIIFqTCCBJG", certificate)
    raw = build_package().replace(b"</edXML:edXMLHeader>", block, 1)
    return etree.fromstring(raw)


def test_sdk_shaped_signature_verifies_under_the_legacy_policy(agency_g22: Issued) -> None:
    signed = legacy_sign(build_package(), agency_g22.key, agency_g22.cert)
    assert b"\n      <Signature>\n        <SignedInfo>" in signed  # unprefixed: edXML namespace
    root = etree.fromstring(signed)
    before = etree.tostring(root)
    result = verify_package(root, LEGACY)
    assert etree.tostring(root) == before  # the copy path leaves the tree as it was
    assert result.legacy is True
    assert result.signature_algorithm == RSA_SHA1
    assert result.digest_algorithm == SHA1
    assert result.certificate == agency_g22.cert


def test_sdk_shaped_signature_is_refused_by_default(agency_g22: Issued) -> None:
    signed = legacy_sign(build_package(), agency_g22.key, agency_g22.cert)
    with pytest.raises(SignatureAlgorithm, match="needs the legacy policy"):
        verify_package(etree.fromstring(signed))


def test_edxml_namespace_with_strong_algorithms_is_still_legacy(agency_g22: Issued) -> None:
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, prefix=None)
    with pytest.raises(SignatureAlgorithm, match="edXML-namespace"):
        verify_package(etree.fromstring(signed))
    result = verify_package(etree.fromstring(signed), LEGACY)
    assert result.legacy is True
    assert (result.signature_algorithm, result.digest_algorithm) == (RSA_SHA256, SHA256)


def test_tampered_legacy_signature_is_invalid(agency_g22: Issued) -> None:
    signed = legacy_sign(build_package(), agency_g22.key, agency_g22.cert)
    tampered = signed.replace(b"<edXML:CodeNumber>7816", b"<edXML:CodeNumber>7815", 1)
    with pytest.raises(SignatureInvalid, match="digest"):
        verify_package(etree.fromstring(tampered), LEGACY)


def test_sdk_exclusive_c14n_alias_is_legacy_only(agency_g22: Issued) -> None:
    # The SDK writes a non-standard URI for exclusive C14N; only the legacy policy reads it.
    native = custom_sign(
        build_package(), agency_g22.key, agency_g22.cert, transforms=(ENVELOPED, SDK_EXC_C14N)
    )
    with pytest.raises(SignatureWrapping, match="transforms"):
        verify_package(etree.fromstring(native))
    assert verify_package(etree.fromstring(native), LEGACY).legacy is True


def test_sdk_placeholder_with_stub_certificate_is_invalid() -> None:
    with pytest.raises(SignatureInvalid):
        verify_package(_with_placeholder(), LEGACY)


def test_sdk_placeholder_with_empty_certificate_is_missing() -> None:
    with pytest.raises(SignatureMissing):
        verify_package(_with_placeholder(b""), LEGACY)


def test_sdk_placeholder_fake_digest_is_invalid(agency_g22: Issued) -> None:
    der = base64.b64encode(agency_g22.cert.public_bytes(Encoding.DER))
    with pytest.raises(SignatureInvalid, match="digest"):
        verify_package(_with_placeholder(der), LEGACY)


def test_sdk_placeholder_is_refused_without_the_legacy_policy() -> None:
    with pytest.raises(SignatureAlgorithm):
        verify_package(_with_placeholder())


def _sample(name: str) -> etree._Element:
    raw = (SAMPLES / name).read_bytes()
    return etree.fromstring(raw[raw.index(b"<?xml") :])  # edoc_new.edxml: 4 junk bytes first


@pytest.mark.parametrize("name", ["edoc_new.edxml", "edoc_update.edxml", "edoc_revocation.edxml"])
def test_real_sdk_samples_are_reported_not_crashed(name: str) -> None:
    root = _sample(name)
    assert root.find(f".//{{{EDXML}}}Signature") is not None
    with pytest.raises(SignatureInvalid):
        verify_package(root, LEGACY)
    with pytest.raises(SignatureAlgorithm):
        verify_package(root)


@pytest.mark.parametrize("name", ["edoc_new.edxml", "edoc_update.edxml"])
def test_real_sdk_samples_with_empty_certificate_are_missing(name: str) -> None:
    root = _sample(name)
    root.find(f".//{{{EDXML}}}X509Certificate").text = ""  # type: ignore[union-attr]
    with pytest.raises(SignatureMissing):
        verify_package(root, LEGACY)


@pytest.mark.parametrize("name", ["status.edxml", "status_acceptance_03.edxml"])
def test_real_sdk_status_samples_have_no_signature(name: str) -> None:
    with pytest.raises(SignatureMissing):
        verify_package(_sample(name), LEGACY)
