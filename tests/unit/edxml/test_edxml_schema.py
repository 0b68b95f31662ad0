"""schemas/edxml.xsd: accepts what we write and what the SDK writes, names what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from edoc_axis.edxml import DSIG_NS, EDXML_NS, safe_parse, validate
from edoc_axis.edxml import schema as schema_module
from edoc_axis.errors import SchemaInvalid

from .conftest import EXAMPLES

E = f"{{{EDXML_NS}}}"
EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.xml"))


def _example() -> etree._Element:
    return safe_parse((EXAMPLES / "document_new.xml").read_bytes())


def _header(root: etree._Element) -> etree._Element:
    header = root.find(f"{E}edXMLEnvelope/{E}edXMLHeader")
    assert header is not None
    return header


def _schema_error(root: etree._Element) -> str:
    with pytest.raises(SchemaInvalid) as caught:
        validate(root)
    return caught.value.detail


def test_there_are_examples_for_every_business_type_and_a_status() -> None:
    assert EXAMPLE_FILES == [
        "document_new.xml",
        "document_replace.xml",
        "document_revoke.xml",
        "document_update.xml",
        "status_accepted.xml",
    ]


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_examples_are_valid(name: str) -> None:
    validate(safe_parse((EXAMPLES / name).read_bytes()))


def test_every_parseable_sample_is_valid(samples: Path) -> None:
    for path in sorted(samples.iterdir()):
        raw = path.read_bytes()
        validate(safe_parse(raw[4:] if raw.startswith(b"1212") else raw))


def test_xmldsig_signature_as_last_header_child_is_valid() -> None:
    root = _example()
    signature = etree.SubElement(_header(root), f"{{{DSIG_NS}}}Signature", nsmap={"ds": DSIG_NS})
    signed_info = etree.SubElement(signature, f"{{{DSIG_NS}}}SignedInfo")
    etree.SubElement(signed_info, f"{{{DSIG_NS}}}Reference", URI="")
    etree.SubElement(signature, f"{{{DSIG_NS}}}SignatureValue").text = "AAAA"
    validate(root)


def test_unknown_edxml_element_is_tolerated_inside_the_message_header() -> None:
    root = _example()
    header = root.find(f".//{E}MessageHeader")
    assert header is not None
    etree.SubElement(header, f"{E}VendorExtension").text = "x"
    validate(root)


def test_unknown_edxml_element_in_the_skeleton_is_named() -> None:
    raw = (EXAMPLES / "document_new.xml").read_bytes()
    raw = raw.replace(b"    </edXML:edXMLHeader>", b"<edXML:Bogus/>\n    </edXML:edXMLHeader>")
    line = raw[: raw.index(b"<edXML:Bogus/>")].count(b"\n") + 1
    detail = _schema_error(safe_parse(raw))
    assert detail.startswith(f"Bogus at line {line}: This element is not expected.")
    assert "{" not in detail  # namespaces are stripped for readability


def test_schema_error_carries_the_source_line() -> None:
    raw = (EXAMPLES / "status_accepted.xml").read_bytes()
    root = safe_parse(raw.replace(b">03<", b">99<"))
    line = raw[: raw.index(b"<edXML:StatusCode>")].count(b"\n") + 1
    assert _schema_error(root).startswith(f"StatusCode at line {line}: ")


def test_text_inside_an_organization_is_refused() -> None:
    root = _example()
    sender = root.find(f".//{E}From")
    assert sender is not None
    sender[0].tail = "stray text"
    assert _schema_error(root).startswith("From at line 6: ")


def test_missing_envelope_is_named() -> None:
    root = safe_parse(f'<edXML xmlns="{EDXML_NS}"><AttachmentEncoded/></edXML>'.encode())
    assert _schema_error(root).startswith("AttachmentEncoded at line 1: ")


def test_schema_is_packaged_and_compiled_once() -> None:
    assert schema_module.schema_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert schema_module._schema() is schema_module._schema()
