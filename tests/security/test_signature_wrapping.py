"""XML Signature Wrapping (XSW) attacks adapted to the edXML profile.

After McIntyre/Somorovsky (XSW1..XSW8): the attacker holds a validly signed
package and rearranges it so that a lax verifier checks the original content
while the application processes an evil envelope. Each case starts from a
genuinely valid signature and must end in SignatureWrapping (or, where the
change reaches signed bytes, SignatureInvalid); none may verify.
"""

from __future__ import annotations

import copy

import pytest
from lxml import etree
from signxml import CanonicalizationMethod, XMLSigner, XMLVerifier, methods

from edoc_axis.errors import EdocError, SignatureInvalid, SignatureMissing, SignatureWrapping
from edoc_axis.pki import Issued, cert_to_pem
from edoc_axis.signature import VerificationPolicy, sign_package, verify_package
from tests.conftest import build_package
from tests.unit.signature import DSIG, EDXML, legacy_sign

E = f"{{{EDXML}}}"
NS = {"e": EDXML, "ds": DSIG}
LEGACY = VerificationPolicy(allow_legacy=True)
EVIL_ID = "000.00.00.G22,2026/01/02,9999/EVIL"


@pytest.fixture
def signed(agency_g22: Issued) -> etree._Element:
    root = etree.fromstring(sign_package(build_package(), agency_g22.key, agency_g22.cert))
    verify_package(root)  # the starting point really is valid
    return root


def _envelope(root: etree._Element) -> etree._Element:
    return root.find(f"{E}edXMLEnvelope")  # type: ignore[return-value]


def _evil_envelope(root: etree._Element) -> etree._Element:
    """A copy of the envelope without its Signature, pointing at another document."""
    evil = copy.deepcopy(_envelope(root))
    for signature in evil.iter(f"{{{DSIG}}}Signature"):
        signature.getparent().remove(signature)  # type: ignore[union-attr]
    evil.find(f".//{E}DocumentId").text = EVIL_ID  # type: ignore[union-attr]
    return evil


def _refused(root: etree._Element, *expected: type[EdocError]) -> EdocError:
    with pytest.raises(expected) as caught:
        verify_package(root, LEGACY)  # even the permissive policy refuses
    return caught.value


def test_xsw1_original_content_hidden_in_an_object(signed: etree._Element) -> None:
    # Evil envelope in place; the signed original travels inside ds:Object.
    original = _envelope(signed)
    signature = signed.find(".//ds:Signature", NS)
    assert signature is not None
    evil = _evil_envelope(signed)
    evil.find(f"{E}edXMLHeader").append(signature)  # type: ignore[union-attr]
    obj = etree.SubElement(signature, f"{{{DSIG}}}Object")
    signed.replace(original, evil)
    obj.append(original)
    _refused(signed, SignatureWrapping)


def test_xsw2_original_envelope_moved_into_an_unknown_element(signed: etree._Element) -> None:
    original = _envelope(signed)
    wrapper = etree.Element(f"{E}Extension")
    signed.replace(original, _evil_envelope(signed))
    wrapper.append(original)
    signed.append(wrapper)
    error = _refused(signed, SignatureWrapping)
    assert "not a child of" in error.detail


@pytest.mark.parametrize("position", ["before", "after"])
def test_xsw3_second_envelope(signed: etree._Element, position: str) -> None:
    evil = _evil_envelope(signed)
    index = 0 if position == "before" else 1
    signed.insert(index, evil)
    error = _refused(signed, SignatureWrapping)
    assert "exactly one edXMLEnvelope" in error.detail


def test_xsw4_duplicate_header(signed: etree._Element) -> None:
    evil_header = _evil_envelope(signed).find(f"{E}edXMLHeader")
    assert evil_header is not None
    _envelope(signed).insert(0, evil_header)
    error = _refused(signed, SignatureWrapping)
    assert "exactly one edXMLHeader" in error.detail


@pytest.mark.parametrize(
    "destination", ["edXMLBody", "MessageHeader", "root", "AttachmentEncoded", "not-last"]
)
def test_xsw5_signature_moved(signed: etree._Element, destination: str) -> None:
    signature = signed.find(".//ds:Signature", NS)
    assert signature is not None
    if destination == "root":
        signed.append(signature)
    elif destination == "not-last":
        header = signature.getparent()
        assert header is not None
        header.append(etree.Element(f"{E}TraceHeaderList"))
    else:
        parent = signed.find(f".//{destination}")
        parent = signed.find(f".//{E}{destination}") if parent is None else parent
        assert parent is not None
        parent.append(signature)
    _refused(signed, SignatureWrapping)


def test_xsw6_reference_to_an_id_subtree(agency_g22: Issued) -> None:
    # signxml makes a valid signature over MessageHeader only; the evil trace
    # header outside it would go unnoticed by a verifier that trusts the Reference.
    raw = build_package().replace(b"<edXML:MessageHeader>", b'<edXML:MessageHeader Id="mh">')
    raw = raw.replace(
        b"\n    </edXML:edXMLHeader>",
        b'\n      <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="placeholder"/>'
        b"\n    </edXML:edXMLHeader>",
    )
    signer = XMLSigner(
        method=methods.enveloped,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    pem = cert_to_pem(agency_g22.cert).decode()
    out = signer.sign(etree.fromstring(raw), key=agency_g22.key, cert=[pem], reference_uri="mh")
    evil = etree.tostring(out).replace(
        b"<edXML:TraceHeaderList>",
        b"<edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>EVIL</edXML:OrganId>"
        b"<edXML:Timestamp>2026/01/01 00:00:00</edXML:Timestamp></edXML:TraceHeader>",
    )
    XMLVerifier().verify(evil, x509_cert=pem)  # cryptographically fine for the subtree
    error = _refused(etree.fromstring(evil), SignatureWrapping)
    assert "Reference URI '#mh'" in error.detail


def test_xsw7_comment_splitting_document_id(signed: etree._Element) -> None:
    # C14N without comments ignores the comment: the digest still matches, but
    # .text would read only the part before it.
    node = signed.find(f".//{E}DocumentId")
    assert node is not None and node.text is not None
    full = node.text
    node.text = "000.00.00.G22"
    comment = etree.Comment("x")
    comment.tail = full[len("000.00.00.G22") :]
    node.append(comment)
    assert node.text == "000.00.00.G22"  # what a parser would read
    error = _refused(signed, SignatureWrapping)
    assert "splits the text" in error.detail


def test_xsw7_processing_instruction_splitting_text(signed: etree._Element) -> None:
    node = signed.find(f".//{E}CodeNumber")
    assert node is not None
    pi = etree.ProcessingInstruction("x")
    pi.tail = "6"
    node.text = "781"
    node.append(pi)
    _refused(signed, SignatureWrapping)


def test_cdata_in_document_id_changes_nothing_that_is_read(signed: etree._Element) -> None:
    # CDATA is text to C14N and to lxml's .text alike: not a way to split values.
    raw = etree.tostring(signed).replace(
        b"<edXML:DocumentId>000.00.00.G22,", b"<edXML:DocumentId>000.00.00.G22<![CDATA[,]]>"
    )
    root = etree.fromstring(raw, etree.XMLParser(strip_cdata=False))
    result = verify_package(root)
    node = root.find(f".//{E}DocumentId")
    assert node is not None and node.text is not None
    assert f"<edXML:DocumentId>{node.text}<".encode() in result.signed_bytes


def test_text_injected_next_to_document_id_is_invalid(signed: etree._Element) -> None:
    node = signed.find(f".//{E}DocumentId")
    assert node is not None
    node.tail = "9999/EVIL" + (node.tail or "")
    _refused(signed, SignatureInvalid)


def test_xsw8_namespace_redeclared_to_hide_the_envelope(signed: etree._Element) -> None:
    raw = etree.tostring(signed).replace(
        b'<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">',
        b'<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/tbt/QCVN_102_2016">',
    )
    error = _refused(etree.fromstring(raw), SignatureWrapping)
    assert "exactly one edXMLEnvelope, found 0" in error.detail


def test_xsw8_signature_parts_in_another_namespace(signed: etree._Element) -> None:
    raw = etree.tostring(signed).replace(
        b"<ds:SignedInfo>", b'<ds:SignedInfo xmlns:ds="urn:evil:dsig">'
    )
    _refused(etree.fromstring(raw), SignatureWrapping)


def test_xsw8_default_namespace_change_is_invalid(signed: etree._Element) -> None:
    raw = etree.tostring(signed).replace(
        b"<AttachmentEncoded>", b'<AttachmentEncoded xmlns="urn:evil">'
    )
    _refused(etree.fromstring(raw), SignatureInvalid)


def test_look_alike_signature_namespace_is_no_signature(signed: etree._Element) -> None:
    raw = etree.tostring(signed).replace(DSIG.encode(), b"http://www.w3.org/2000/09/xmldsig")
    _refused(etree.fromstring(raw), SignatureMissing)


def test_second_valid_signature_by_the_attacker(signed: etree._Element, agency_h49: Issued) -> None:
    # The attacker signs the evil package with its own valid certificate and
    # keeps the victim's signature alongside, hoping one of them is checked.
    evil_raw = etree.tostring(signed.getroottree()).replace(b"7816/VPCP-TT", b"9999/EVIL-TT", 1)
    evil = etree.fromstring(evil_raw)
    victim = evil.find(".//ds:Signature", NS)
    assert victim is not None
    victim.getparent().remove(victim)  # type: ignore[union-attr]
    attacker = etree.fromstring(sign_package(evil, agency_h49.key, agency_h49.cert))
    attacker.find(f".//{E}edXMLBody").append(copy.deepcopy(signed.find(".//ds:Signature", NS)))  # type: ignore[union-attr, arg-type]
    error = _refused(attacker, SignatureWrapping)
    assert "2 Signature elements" in error.detail


def test_native_and_legacy_signature_together(agency_g22: Issued) -> None:
    legacy = etree.fromstring(legacy_sign(build_package(), agency_g22.key, agency_g22.cert))
    native = etree.fromstring(sign_package(build_package(), agency_g22.key, agency_g22.cert))
    body = legacy.find(f".//{E}edXMLBody")
    assert body is not None
    body.append(native.find(".//ds:Signature", NS))  # type: ignore[arg-type]
    _refused(legacy, SignatureWrapping)
