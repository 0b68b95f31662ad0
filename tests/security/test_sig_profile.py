"""Anything outside the one signature profile is refused before any cryptography runs."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from edoc_axis.errors import SignatureAlgorithm, SignatureInvalid, SignatureWrapping
from edoc_axis.pki import Issued
from edoc_axis.signature import (
    VerificationPolicy,
    sign_enveloped,
    sign_package,
    verify_enveloped,
    verify_package,
)
from tests.conftest import build_package
from tests.unit.signature import C14N, DSIG, ENVELOPED, EXC_C14N, custom_sign

LEGACY = VerificationPolicy(allow_legacy=True)
NS = {"ds": DSIG}
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
XPATH2 = "http://www.w3.org/2002/06/xmldsig-filter2"
BASE64 = DSIG + "base64"


def _wrapping(raw: bytes | etree._Element, match: str | None = None) -> None:
    root = etree.fromstring(raw) if isinstance(raw, bytes) else raw
    with pytest.raises(SignatureWrapping, match=match):
        verify_package(root, LEGACY)


@pytest.mark.parametrize(
    "uri", ["#mh", "#xpointer(/)", "#xpointer(id('mh'))", "http://example.org/x", "doc.xml"]
)
def test_reference_uri_other_than_whole_document(uri: str, agency_g22: Issued) -> None:
    _wrapping(
        custom_sign(build_package(), agency_g22.key, agency_g22.cert, reference_uri=uri),
        "Reference URI",
    )


def test_reference_without_uri_attribute(signed_package: bytes) -> None:
    root = etree.fromstring(signed_package)
    del root.xpath("//ds:Reference", namespaces=NS)[0].attrib["URI"]
    _wrapping(root, "Reference URI None")


def test_two_references(signed_package: bytes) -> None:
    root = etree.fromstring(signed_package)
    reference = root.xpath("//ds:Reference", namespaces=NS)[0]
    reference.addnext(copy.deepcopy(reference))
    _wrapping(root, "2 References")


C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"

TRANSFORMS = {
    "only-c14n": (EXC_C14N,),
    "none": (),
    "reversed": (EXC_C14N, ENVELOPED),
    "xpath-added": (ENVELOPED, XPATH, EXC_C14N),
    "xpath": (XPATH, EXC_C14N),
    "xslt": (ENVELOPED, XSLT),
    "xpath-filter2": (ENVELOPED, XPATH2),
    "base64": (ENVELOPED, BASE64),
    "c14n-with-comments": (ENVELOPED, C14N + "#WithComments"),
    "exc-with-comments": (ENVELOPED, EXC_C14N + "WithComments"),
    "c14n11-with-comments": (ENVELOPED, C14N_11 + "#WithComments"),
    "c14n2": (ENVELOPED, "http://www.w3.org/2006/12/xml-c14n2"),
    "enveloped-twice": (ENVELOPED, ENVELOPED, EXC_C14N),
    "enveloped-then-two-c14n": (ENVELOPED, C14N, EXC_C14N),
}


@pytest.mark.parametrize("transforms", TRANSFORMS.values(), ids=TRANSFORMS.keys())
def test_transforms_other_than_enveloped_then_c14n(
    transforms: tuple[str, ...], agency_g22: Issued
) -> None:
    signed = custom_sign(
        build_package(), agency_g22.key, agency_g22.cert, transforms=transforms or (ENVELOPED,)
    )
    if not transforms:
        root = etree.fromstring(signed)
        holder = root.xpath("//ds:Transforms", namespaces=NS)[0]
        for child in list(holder):
            holder.remove(child)
        _wrapping(root)
        return
    _wrapping(signed, "ransforms")


# The equivalent forms of "one enveloped signature over the whole package" (the
# Reference transforms, and the SignedInfo canonicalization), as the common
# implementations write them. Each is accepted with the default policy.
ACCEPTED_FORMS = {
    "enveloped-only": ((ENVELOPED,), C14N),
    "enveloped-c14n": ((ENVELOPED, C14N), C14N),
    "enveloped-c14n11": ((ENVELOPED, C14N_11), C14N_11),
    "enveloped-exc": ((ENVELOPED, EXC_C14N), EXC_C14N),
    "enveloped-only-exc-signed-info": ((ENVELOPED,), EXC_C14N),
    "enveloped-c14n11-exc-signed-info": ((ENVELOPED, C14N_11), EXC_C14N),
}


@pytest.mark.parametrize(("transforms", "c14n"), ACCEPTED_FORMS.values(), ids=ACCEPTED_FORMS)
@pytest.mark.parametrize("signer_name", ["agency_g22", "agency_g22_ec"])
def test_equivalent_forms_are_accepted(
    transforms: tuple[str, ...], c14n: str, signer_name: str, request: pytest.FixtureRequest
) -> None:
    signer: Issued = request.getfixturevalue(signer_name)
    signed = custom_sign(build_package(), signer.key, signer.cert, c14n=c14n, transforms=transforms)
    result = verify_package(etree.fromstring(signed))
    assert result.certificate == signer.cert
    assert result.legacy is False
    # ...and each still covers every byte of the package: one changed letter is refused.
    tampered = signed.replace("Hà Nội".encode(), "Hà Nam".encode())
    with pytest.raises(SignatureInvalid, match="digest"):
        verify_package(etree.fromstring(tampered))


@pytest.mark.parametrize("prefixes", ["edXML", "edXML ds", ""])
def test_exclusive_c14n_with_inclusive_namespaces_is_accepted(
    prefixes: str, agency_g22: Issued
) -> None:
    signed = custom_sign(
        build_package(), agency_g22.key, agency_g22.cert, inclusive_prefixes=prefixes
    )
    assert b"InclusiveNamespaces" in signed
    assert verify_package(etree.fromstring(signed)).certificate == agency_g22.cert


def test_inclusive_namespaces_change_the_signed_bytes(agency_g22: Issued) -> None:
    # The prefix list is honoured, not ignored: a signature computed with it does
    # not verify once the list is removed (the canonical bytes differ).
    signed = custom_sign(
        build_package(), agency_g22.key, agency_g22.cert, inclusive_prefixes="edXML"
    )
    root = etree.fromstring(signed)
    for parameter in root.iter("{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces"):
        parameter.set("PrefixList", "")
    with pytest.raises(SignatureInvalid):
        verify_package(root)


def test_sdk_exclusive_c14n_transform_needs_the_legacy_policy(agency_g22: Issued) -> None:
    sdk = "http://www.w3.org/TR/xml-exc-c14n#"
    signed = custom_sign(
        build_package(), agency_g22.key, agency_g22.cert, transforms=(ENVELOPED, sdk)
    )
    with pytest.raises(SignatureWrapping, match="ransforms"):
        verify_package(etree.fromstring(signed))
    assert verify_package(etree.fromstring(signed), LEGACY).legacy is True


EXC_NS = "{http://www.w3.org/2001/10/xml-exc-c14n#}"
BAD_PARAMETERS = {
    "xpath-element": (f"{{{DSIG}}}XPath", {}),
    "inclusive-namespaces-other-attribute": (
        f"{EXC_NS}InclusiveNamespaces",
        {"PrefixList": "edXML", "Other": "x"},
    ),
    "inclusive-namespaces-no-prefix-list": (f"{EXC_NS}InclusiveNamespaces", {}),
    "inclusive-namespaces-wrong-namespace": (
        "{urn:evil}InclusiveNamespaces",
        {"PrefixList": "edXML"},
    ),
    "not-a-prefix-list": (f"{EXC_NS}InclusiveNamespaces", {"PrefixList": "a:b <x>"}),
}


@pytest.mark.parametrize(("tag", "attributes"), BAD_PARAMETERS.values(), ids=BAD_PARAMETERS)
def test_transform_parameters_outside_the_profile(
    tag: str, attributes: dict[str, str], signed_package: bytes
) -> None:
    root = etree.fromstring(signed_package)
    transform = root.xpath("//ds:Transform", namespaces=NS)[1]
    etree.SubElement(transform, tag, attributes)
    _wrapping(root, "parameter|PrefixList")


def test_parameters_on_enveloped_or_inclusive_transforms(agency_g22: Issued) -> None:
    inclusive = custom_sign(
        build_package(), agency_g22.key, agency_g22.cert, c14n=C14N, transforms=(ENVELOPED, C14N)
    )
    for index in (0, 1):  # enveloped-signature, then C14N 1.0: neither takes parameters
        root = etree.fromstring(inclusive)
        transform = root.xpath("//ds:Transform", namespaces=NS)[index]
        etree.SubElement(transform, f"{EXC_NS}InclusiveNamespaces", PrefixList="edXML")
        _wrapping(root, "parameters")


def test_default_namespace_token_is_refused_not_dropped(signed_package: bytes) -> None:
    # lxml would drop '#default' silently; a precise refusal instead of a false "invalid".
    root = etree.fromstring(signed_package)
    transform = root.xpath("//ds:Transform", namespaces=NS)[1]
    etree.SubElement(transform, f"{EXC_NS}InclusiveNamespaces", PrefixList="#default edXML")
    with pytest.raises(SignatureAlgorithm, match="#default"):
        verify_package(root)


def test_two_inclusive_namespaces_parameters(signed_package: bytes) -> None:
    root = etree.fromstring(signed_package)
    transform = root.xpath("//ds:Transform", namespaces=NS)[1]
    for _ in range(2):
        etree.SubElement(transform, f"{EXC_NS}InclusiveNamespaces", PrefixList="edXML")
    _wrapping(root, "parameters")


def test_object_in_signature(agency_g22: Issued) -> None:
    signed = custom_sign(
        build_package(),
        agency_g22.key,
        agency_g22.cert,
        signature_extra="<ds:Object><ds:Manifest/></ds:Object>",
    )
    _wrapping(signed, "Object")


@pytest.mark.parametrize(
    "extra",
    [
        '<ds:RetrievalMethod URI="http://example.org/cert" />',
        '<ds:RetrievalMethod URI="#other" />',
        "<ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data>",
        "<ds:PGPData />",
        '<evil xmlns="urn:evil" />',
    ],
)
def test_key_info_outside_the_profile(extra: str, agency_g22: Issued) -> None:
    signed = custom_sign(build_package(), agency_g22.key, agency_g22.cert, key_info_extra=extra)
    _wrapping(signed)


def test_second_end_entity_certificate(agency_g22: Issued, agency_h49: Issued) -> None:
    signed = custom_sign(
        build_package(), agency_g22.key, agency_g22.cert, extra_certs=[agency_h49.cert]
    )
    _wrapping(signed, "more than one end-entity")


def test_ca_certificate_is_accepted_as_chain(agency_g22: Issued, dev_ca: Issued) -> None:
    signed = custom_sign(
        build_package(), agency_g22.key, agency_g22.cert, extra_certs=[dev_ca.cert]
    )
    assert verify_package(etree.fromstring(signed)).chain == (dev_ca.cert,)


def test_unknown_x509_data_content(signed_package: bytes) -> None:
    root = etree.fromstring(signed_package)
    data = root.xpath("//ds:X509Data", namespaces=NS)[0]
    etree.SubElement(data, f"{{{DSIG}}}X509CRL").text = "AAAA"
    _wrapping(root, "X509Data")


@pytest.mark.parametrize("node", [etree.Comment("c"), etree.ProcessingInstruction("p", "x")])
def test_comment_or_pi_inside_signature(signed_package: bytes, node: etree._Element) -> None:
    root = etree.fromstring(signed_package)
    root.xpath("//ds:SignedInfo", namespaces=NS)[0].insert(0, node)
    _wrapping(root, "comments or processing instructions")


@pytest.mark.parametrize("where", ["Signature", "SignedInfo", "Reference"])
def test_unknown_element_inside_signature_parts(signed_package: bytes, where: str) -> None:
    root = etree.fromstring(signed_package)
    etree.SubElement(root.xpath(f"//ds:{where}", namespaces=NS)[0], f"{{{DSIG}}}Extra")
    _wrapping(root)


def test_signature_parts_out_of_order(signed_package: bytes) -> None:
    root = etree.fromstring(signed_package)
    signature = root.xpath("//ds:Signature", namespaces=NS)[0]
    signature.insert(0, signature[1])  # SignatureValue before SignedInfo
    _wrapping(root)


def test_comment_between_elements_is_harmless(agency_g22: Issued) -> None:
    # Outside text values a comment changes nothing anyone reads; it is allowed.
    raw = build_package().replace(b"<edXML:Code>", b"<!-- reviewed --><edXML:Code>")
    verify_package(etree.fromstring(sign_package(raw, agency_g22.key, agency_g22.cert)))


def test_unexpanded_entity_is_refused(signed_package: bytes) -> None:
    raw = signed_package.replace(
        b"<edXML ", b'<!DOCTYPE edXML [<!ENTITY org "VPCP">]>\n<edXML ', 1
    ).replace(b"<edXML:Content>", b"<edXML:Content>&org;", 1)
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    root = etree.fromstring(raw, parser)
    _wrapping(root, "entity")


def test_verify_enveloped_checks_the_expected_parent(axis_signer: Issued) -> None:
    root = etree.fromstring(b"<r xmlns='urn:x'><a/><b/></r>")
    sign_enveloped(root, axis_signer.key, axis_signer.cert, parent=root[0])
    with pytest.raises(SignatureWrapping, match="not a child"):
        verify_enveloped(root, expected_parent=root)
    root[0].append(etree.Element("{urn:x}c"))
    with pytest.raises(SignatureWrapping, match="not the last child"):
        verify_enveloped(root, expected_parent=root[0])


def test_signature_as_document_root_is_refused(axis_signer: Issued) -> None:
    root = etree.fromstring(b"<r xmlns='urn:x'><a/></r>")
    sign_enveloped(root, axis_signer.key, axis_signer.cert)
    signature = copy.deepcopy(root[-1])
    tree = etree.ElementTree(signature)
    with pytest.raises((SignatureWrapping, SignatureInvalid)):
        verify_enveloped(tree.getroot(), expected_parent=root)
