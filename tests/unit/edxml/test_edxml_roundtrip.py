"""Builder output: reference shape, golden examples, and build -> read round trips."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from lxml import etree

from edoc_axis.edxml import (
    BusinessDocType,
    DocumentPackage,
    StatusCode,
    StatusPackage,
    build_document,
    build_status,
    read_package,
)

from .conftest import EXAMPLES, FILE_BYTES, make_document, make_status

GOLDEN = {
    "document_new.xml": lambda: build_document(make_document(BusinessDocType.NEW)),
    "document_revoke.xml": lambda: build_document(
        make_document(BusinessDocType.REVOKE, attachment=False)
    ),
    "document_update.xml": lambda: build_document(make_document(BusinessDocType.UPDATE)),
    "document_replace.xml": lambda: build_document(make_document(BusinessDocType.REPLACE)),
    "status_accepted.xml": lambda: build_status(make_status(StatusCode.ACCEPTED)),
}


@pytest.mark.parametrize("doc_type", list(BusinessDocType), ids=lambda t: t.name)
def test_document_round_trip_for_every_business_type(doc_type: BusinessDocType) -> None:
    pkg = make_document(doc_type)
    raw = build_document(pkg)
    back = read_package(raw)
    assert back == pkg
    assert back.raw == raw
    assert isinstance(back, DocumentPackage)
    assert back.business_type is doc_type


@pytest.mark.parametrize("code", list(StatusCode), ids=lambda c: c.value)
def test_status_round_trip_for_every_code(code: StatusCode) -> None:
    pkg = make_status(code)
    raw = build_status(pkg)
    assert f"<edXML:StatusCode>{code.value}</edXML:StatusCode>".encode() in raw
    back = read_package(raw)
    assert back == pkg
    assert isinstance(back, StatusPackage)


def test_minimal_document_without_optional_parts_round_trips() -> None:
    pkg = dataclasses.replace(
        make_document(attachment=False),
        content=None,
        signer_info=None,
        due_date=None,
        to_places=(),
        other_info=None,
        steering_type=None,
        business=None,
    )
    raw = build_document(pkg)
    assert b"Bussiness" not in raw
    assert b"edXMLBody" not in raw
    back = read_package(raw)
    assert back == pkg
    assert back.kind == "document"
    assert isinstance(back, DocumentPackage)
    assert back.business_type is BusinessDocType.NEW


def test_minimal_status_round_trips() -> None:
    pkg = dataclasses.replace(make_status(), description=None, staff_info=None)
    assert read_package(build_status(pkg)) == pkg


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_builder_output_matches_the_committed_examples(name: str) -> None:
    assert GOLDEN[name]() == (EXAMPLES / name).read_bytes()


def test_reference_shape_of_the_output() -> None:
    raw = build_document(make_document())
    lines = raw.decode("utf-8").split("\n")
    assert lines[0] == '<?xml version="1.0" encoding="UTF-8"?>'
    assert lines[1] == '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
    assert lines[2] == (
        '  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
    )
    assert "  <AttachmentEncoded>" in lines
    assert "    <Attachment>" in lines
    assert any(
        line.startswith('      <edXML:ContentTransferEncoded xmlns:edXML="') for line in lines
    )
    assert lines[-2:] == ["</edXML>", ""]
    assert "<edXML:PromulgationDate>2024/05/06</edXML:PromulgationDate>" in raw.decode()
    assert "<edXML:Timestamp>2024/05/06 09:30:00</edXML:Timestamp>" in raw.decode()
    root = etree.fromstring(raw)
    assert [etree.QName(c).localname for c in root] == ["edXMLEnvelope", "AttachmentEncoded"]


def test_reference_sdk_zip_form_round_trips() -> None:
    pkg = make_document()
    zipped = dataclasses.replace(
        pkg.attachments[0],
        encoded=pkg.attachments[0]
        .__class__.from_bytes("cid:1", "to-trinh.pdf", FILE_BYTES, zip=True)
        .encoded,
    )
    pkg = dataclasses.replace(pkg, attachments=(zipped,))
    back = read_package(build_document(pkg))
    assert isinstance(back, DocumentPackage)
    assert back.attachments[0].data() == FILE_BYTES
    assert back == pkg


def test_rebuilding_a_sample_reproduces_it_except_the_signature(samples: Path) -> None:
    raw = (samples / "edoc_update.edxml").read_bytes()
    pkg = read_package(raw)
    assert isinstance(pkg, DocumentPackage)
    rebuilt = build_document(pkg)
    text = raw.replace(b"\r\n", b"\n")  # the SDK wrote CRLF line ends
    start, end = text.index(b"      <Signature>"), text.index(b"</Signature>\n") + 13
    assert rebuilt == text[:start] + text[end:]


def test_rebuilding_a_status_sample_is_byte_identical(samples: Path) -> None:
    raw = (samples / "status.edxml").read_bytes()
    pkg = read_package(raw)
    assert isinstance(pkg, StatusPackage)
    assert build_status(pkg) == raw.replace(b"\r\n", b"\n")  # the SDK wrote CRLF line ends
