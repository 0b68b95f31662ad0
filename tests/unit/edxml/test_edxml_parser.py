"""Reading packages: order, unknown elements, and every refusal with its code and element."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from lxml import etree

from edoc_axis.edxml import (
    DSIG_NS,
    EDXML_NS,
    Attachment,
    BusinessDocType,
    DocumentPackage,
    StatusPackage,
    build_document,
    build_status,
    package_from_tree,
    read_package,
    safe_parse,
)
from edoc_axis.errors import SchemaInvalid, XmlForbidden, XmlMalformed

from .conftest import make_document, make_status

NS = {"e": EDXML_NS}
Mutation = Callable[[etree._Element], None]


def _mutated(raw: bytes, mutate: Mutation) -> bytes:
    root = etree.fromstring(raw)
    mutate(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list) and len(found) >= 1, path
    el = found[0]
    assert isinstance(el, etree._Element)
    return el


def _remove(path: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        el = _one(root, path)
        parent = el.getparent()
        assert parent is not None
        parent.remove(el)

    return mutate


def _set_text(path: str, text: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        _one(root, path).text = text

    return mutate


def _refusal(raw: bytes, *, validate_schema: bool = True) -> SchemaInvalid:
    with pytest.raises(SchemaInvalid) as caught:
        read_package(raw, validate_schema=validate_schema)
    return caught.value


DOC = build_document(make_document(BusinessDocType.NEW))
STATUS = build_status(make_status())
MH = "//e:MessageHeader"


def _line(needle: bytes, raw: bytes = DOC) -> int:
    return raw[: raw.index(needle)].count(b"\n") + 1


def test_message_header_order_does_not_matter() -> None:
    def shuffle(root: etree._Element) -> None:
        for path in (MH, f"{MH}/e:From", "//e:Attachment", "//e:Bussiness", "//e:OtherInfo"):
            el = _one(root, path)
            # Different names swap places; repeated ones (To, Place) keep their order.
            el[:] = sorted(el, key=lambda c: etree.QName(c).localname, reverse=True)

    shuffled = _mutated(DOC, shuffle)
    assert shuffled != DOC
    assert read_package(shuffled) == read_package(DOC)


def test_status_header_order_does_not_matter() -> None:
    def reverse(root: etree._Element) -> None:
        el = _one(root, MH)
        el[:] = list(reversed(el))

    assert read_package(_mutated(STATUS, reverse)) == make_status()


VENDOR = b'<v:Ticket xmlns:v="urn:vendor" v:id="7"><v:no>12</v:no>  <v:by>X</v:by></v:Ticket>'


def test_unknown_elements_are_kept_and_written_back() -> None:
    def add(root: etree._Element) -> None:
        note = etree.SubElement(_one(root, MH), f"{{{EDXML_NS}}}VendorNote")
        note.text = "ghi chú"
        _one(root, f"{MH}/e:From").append(etree.fromstring(VENDOR))
        etree.SubElement(_one(root, "//e:Attachment"), f"{{{EDXML_NS}}}Checksum").text = "abc"

    pkg = read_package(_mutated(DOC, add))
    assert isinstance(pkg, DocumentPackage)
    assert pkg.extra == (
        f'<edXML:VendorNote xmlns:edXML="{EDXML_NS}">ghi chú</edXML:VendorNote>'.encode(),
    )
    assert pkg.sender.extra == (
        b'<v:Ticket xmlns:v="urn:vendor" v:id="7"><v:no>12</v:no><v:by>X</v:by></v:Ticket>',
    )
    assert pkg.attachments[0].extra == (
        f'<edXML:Checksum xmlns:edXML="{EDXML_NS}">abc</edXML:Checksum>'.encode(),
    )
    rebuilt = build_document(pkg)
    assert b"<edXML:VendorNote>" in rebuilt
    assert b"<Checksum>abc</Checksum>" in rebuilt  # unprefixed, like its Attachment siblings
    assert read_package(rebuilt) == pkg


def test_unknown_status_elements_are_kept() -> None:
    def add(root: etree._Element) -> None:
        _one(root, MH).append(etree.fromstring(VENDOR))

    pkg = read_package(_mutated(STATUS, add))
    assert isinstance(pkg, StatusPackage)
    assert len(pkg.extra) == 1
    assert read_package(build_status(pkg)) == pkg


def test_signature_in_either_namespace_is_not_model_content() -> None:
    def sign(ns: str) -> Mutation:
        def mutate(root: etree._Element) -> None:
            signature = etree.SubElement(_one(root, "//e:edXMLHeader"), f"{{{ns}}}Signature")
            etree.SubElement(signature, f"{{{ns}}}SignedInfo")
            etree.SubElement(signature, f"{{{ns}}}SignatureValue").text = "AAAA"

        return mutate

    plain = read_package(DOC)
    assert read_package(_mutated(DOC, sign(DSIG_NS))) == plain
    assert read_package(_mutated(DOC, sign(EDXML_NS))) == plain


MISSING = [
    (f"{MH}/e:DocumentId", "MessageHeader at line 5: required element DocumentId is missing"),
    (f"{MH}/e:From", "MessageHeader at line 5: required element From is missing"),
    (f"{MH}/e:Subject", "MessageHeader at line 5: required element Subject is missing"),
    (f"{MH}/e:Code", "MessageHeader at line 5: required element Code is missing"),
    (f"{MH}/e:From/e:OrganId", "From at line 6: required element OrganId is missing"),
    ("//e:CodeNumber", f"Code at line {_line(b'<edXML:Code>')}: required element CodeNumber"),
    ("//e:TraceHeaderList", "edXMLHeader at line 4: required element TraceHeaderList is missing"),
    ("//e:BussinessDocType", "required element BussinessDocType is missing"),
]


@pytest.mark.parametrize(("path", "message"), MISSING, ids=[m[0] for m in MISSING])
def test_missing_required_element_is_named(path: str, message: str) -> None:
    err = _refusal(_mutated(DOC, _remove(path)))
    assert message in err.detail


def test_missing_recipients_are_named() -> None:
    def drop_to(root: etree._Element) -> None:
        header = _one(root, MH)
        for el in header.findall(f"{{{EDXML_NS}}}To"):
            header.remove(el)

    assert "required element To is missing" in _refusal(_mutated(DOC, drop_to)).detail


@pytest.mark.parametrize("missing", ["StatusCode", "ResponseFor", "Timestamp", "From"])
def test_status_missing_required_element(missing: str) -> None:
    raw = _mutated(STATUS, _remove(f"{MH}/e:{missing}"))
    if missing == "StatusCode":
        # Without a StatusCode it is read as a document, which lacks its own parts.
        assert "required element" in _refusal(raw).detail
    else:
        assert f"MessageHeader at line 5: required element {missing} is missing" in (
            _refusal(raw).detail
        )


def test_repeated_single_element_is_refused() -> None:
    def twice(root: etree._Element) -> None:
        subject = _one(root, f"{MH}/e:Subject")
        subject.addnext(etree.fromstring(etree.tostring(subject)))

    err = _refusal(_mutated(DOC, twice))
    assert "Subject may appear only once in MessageHeader at line 5" in err.detail


@pytest.mark.parametrize("validate_schema", [True, False], ids=["schema", "parser"])
@pytest.mark.parametrize(
    ("path", "value", "element"),
    [
        ("//e:PromulgationDate", "06/05/2024", "PromulgationDate at line"),
        ("//e:TraceHeader/e:Timestamp", "2024-05-06T09:30:00", "Timestamp at line"),
        ("//e:DocumentType/e:Type", "một", "Type at line"),
        ("//e:OtherInfo/e:Priority", "9", "Priority at line"),
        ("//e:BussinessDocType", "4", "BussinessDocType at line"),
        (f"{MH}/e:To/e:OrganId", "h41 nghệ an", "OrganId at line"),
        ("//e:ContentTransferEncoded", "not*base64", "ContentTransferEncoded at line"),
    ],
)
def test_bad_values_name_the_element(
    path: str, value: str, element: str, validate_schema: bool
) -> None:
    err = _refusal(_mutated(DOC, _set_text(path, value)), validate_schema=validate_schema)
    assert element in err.detail


def test_impossible_calendar_date_passes_the_pattern_but_not_the_parser() -> None:
    err = _refusal(_mutated(DOC, _set_text("//e:PromulgationDate", "2024/02/30")))
    line = _line(b"<edXML:PromulgationDate>")
    assert err.detail.startswith(f"PromulgationDate at line {line}: '2024/02/30' is not a date")


@pytest.mark.parametrize("validate_schema", [True, False], ids=["schema", "parser"])
def test_unknown_status_code(validate_schema: bool) -> None:
    raw = _mutated(STATUS, _set_text(f"{MH}/e:StatusCode", "07"))
    assert "StatusCode at line" in _refusal(raw, validate_schema=validate_schema).detail


def test_update_needs_the_updated_document_id() -> None:
    raw = build_document(make_document(BusinessDocType.UPDATE))
    err = _refusal(_mutated(raw, _remove("//e:Bussiness/e:DocumentId")))
    assert "BussinessDocType 2 (update) needs DocumentId" in err.detail
    assert err.detail.startswith("Bussiness at line")


def test_replace_needs_a_replacement_info_list() -> None:
    raw = build_document(make_document(BusinessDocType.REPLACE))
    err = _refusal(_mutated(raw, _remove("//e:ReplacementInfoList")))
    assert "BussinessDocType 3 (replace) needs ReplacementInfoList" in err.detail


def test_manifest_reference_without_attachment() -> None:
    err = _refusal(_mutated(DOC, _remove("//e:AttachmentEncoded")))
    assert "Reference '1' has no Attachment" in err.detail


def test_attachment_without_manifest_reference() -> None:
    err = _refusal(_mutated(DOC, _remove("//e:edXMLBody")))
    assert "Attachment '1': not listed in the edXMLManifest" in err.detail


def test_content_ids_match_with_or_without_cid_prefix() -> None:
    pkg = read_package(_mutated(DOC, _set_text("//e:Attachment/e:ContentId", "1")))
    assert isinstance(pkg, DocumentPackage)
    assert pkg.attachments[0].content_id == "1"
    assert pkg.manifest[0].content_id == "cid:1"


def test_two_attachments_for_one_reference_are_refused() -> None:
    def duplicate(root: etree._Element) -> None:
        att = _one(root, "//e:Attachment")
        att.addnext(etree.fromstring(etree.tostring(att)))

    err = _refusal(_mutated(DOC, duplicate))
    assert "ContentId '1' used by more than one Attachment" in err.detail


def test_wrong_root_element_is_schema_invalid() -> None:
    for validate_schema in (True, False):
        err = _refusal(
            b'<edXML:From xmlns:edXML="' + EDXML_NS.encode() + b'"/>',
            validate_schema=validate_schema,
        )
        assert err.detail.startswith("From at line 1: the root element must be edXML")


def test_root_in_no_namespace_is_schema_invalid() -> None:
    assert "root element must be edXML" in _refusal(b"<edXML/>").detail


def test_intake_refusals_keep_their_own_codes() -> None:
    with pytest.raises(XmlMalformed):
        read_package(b"1212" + DOC)
    with pytest.raises(XmlForbidden):
        read_package(DOC.replace(b"<edXML xmlns", b"<!DOCTYPE edXML>\n<edXML xmlns", 1))


def test_package_from_tree_reads_without_reparsing() -> None:
    root = safe_parse(DOC)
    pkg = package_from_tree(root, DOC)
    assert pkg == make_document()
    assert pkg.raw is DOC


def test_raw_is_excluded_from_equality_and_repr() -> None:
    pkg = read_package(DOC)
    assert pkg == dataclasses.replace(pkg, raw=b"")
    assert "raw" not in repr(pkg)


# --- attachments whose text is not kept (the intake path) ------------------------------


def _with_attachments(count: int) -> DocumentPackage:
    pkg = make_document()
    attachments = tuple(
        Attachment.from_bytes(f"cid:{i}", f"file-{i}.bin", bytes([i]) * (1000 + i), zip=i == 1)
        for i in range(count)
    )
    return dataclasses.replace(
        pkg, attachments=attachments, manifest=tuple(a.manifest_reference() for a in attachments)
    )


def test_attachment_text_not_kept_is_read_again_from_the_bytes() -> None:
    raw = build_document(_with_attachments(3))
    kept = read_package(raw)
    assert isinstance(kept, DocumentPackage)
    root = safe_parse(raw)
    lazy = package_from_tree(root, raw, keep_attachment_text=False)
    assert isinstance(lazy, DocumentPackage)
    del root  # the text is read from the bytes, not from the tree
    for eager, not_kept in zip(kept.attachments, lazy.attachments, strict=True):
        assert isinstance(eager.encoded, str)
        assert not isinstance(not_kept.encoded, str)
        assert not_kept.encoded_text() == eager.encoded_text() == eager.encoded
        assert not_kept.data() == eager.data()
        assert not_kept.content_id == eager.content_id
    assert [a.data() for a in lazy.attachments] == [bytes([i]) * (1000 + i) for i in range(3)]
    # Everything but the attachments' text is the same model.
    assert dataclasses.replace(lazy, attachments=kept.attachments) == kept
    # And the writer reads it through encoded_text().
    assert read_package(build_document(lazy)) == kept


def test_attachment_text_not_kept_is_still_checked() -> None:
    raw = build_document(_with_attachments(1)).replace(
        b"</edXML:ContentTransferEncoded>", b"*</edXML:ContentTransferEncoded>"
    )
    with pytest.raises(SchemaInvalid, match=r"ContentTransferEncoded at line .*: not valid base64"):
        package_from_tree(safe_parse(raw), raw, keep_attachment_text=False)


def test_attachment_text_not_kept_needs_the_bytes() -> None:
    raw = build_document(_with_attachments(1))
    with pytest.raises(ValueError, match="raw bytes"):
        package_from_tree(safe_parse(raw), keep_attachment_text=False)
