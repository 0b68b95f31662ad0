"""Large attachment texts set aside while parsing: the tree holds a marker, the bytes the text.

``safe_parse_setting_aside`` may leave a text out of the tree only where it is
the whole content of an element of the given tags; anywhere else the document
is parsed whole. ``check_base64_binary`` must accept exactly what the schema's
``xs:base64Binary`` and the model's ``decode_base64`` accept together, since
the schema only sees the marker.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import os

import pytest
from lxml import etree

from edoc_axis.edxml import DEFAULT_LIMITS, safe_parse
from edoc_axis.edxml.aside import ATTACHMENT_TEXT, check_aside, parse_setting_aside
from edoc_axis.edxml.attachments import check_base64_binary
from edoc_axis.edxml.safexml import SET_ASIDE_MIN, safe_parse_setting_aside
from edoc_axis.errors import SchemaInvalid, XmlMalformed
from edoc_axis.signature.pieces import canonical_text_pieces
from tests.conftest import build_package

TAGS = frozenset({"c"})
RUN = base64.encodebytes(os.urandom(900_000))  # 1.2 MB in 76-character lines
assert len(RUN) >= SET_ASIDE_MIN


def _set_aside(raw: bytes) -> tuple[etree._Element, dict[str, memoryview]]:
    return safe_parse_setting_aside(raw, DEFAULT_LIMITS, TAGS)


def _lines(root: etree._Element) -> list[tuple[str, int | None]]:
    return [(str(node.tag), node.sourceline) for node in root.iter()]


def test_the_text_stays_in_the_bytes_and_the_tree_holds_a_marker() -> None:
    raw = b"<r>\n<c>" + RUN + b"</c>\n<d>after</d>\n<c>" + RUN + b"</c></r>"
    root, aside = _set_aside(raw)
    assert len(aside) == 2
    for element in root.iter("c"):
        marker = element.text or ""
        assert len(marker.strip()) < 100  # not the text
        assert aside[marker].obj is raw  # a view of the body, no copy
        assert bytes(aside[marker]) == RUN
    # Every element keeps the line it has in the bytes received.
    assert _lines(root) == _lines(safe_parse(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b"<r><!-->" + RUN + b"<--><c>x</c></r>",  # in a comment
        b"<r><c/>" + RUN + b"<d/></r>",  # a tail
        b"<r><e>" + RUN + b"</e></r>",  # an element not named
        b"<r><c>" + RUN + b"<!--x--></c></r>",  # followed by a comment in the element
        b"<r><c><![CDATA[x]]>" + RUN + b"</c></r>",  # after a CDATA section
        b"<r><c>x>" + RUN + b"</c></r>",  # after other text
        b"<r><c>" + RUN + b"<e/></c></r>",  # mixed content
    ],
    ids=["comment", "tail", "other element", "comment child", "cdata", "text", "child"],
)
def test_a_run_anywhere_else_is_parsed_whole(raw: bytes) -> None:
    root, aside = _set_aside(raw)
    assert aside == {}
    assert etree.tostring(root) == etree.tostring(safe_parse(raw))


@pytest.mark.parametrize(
    "line_end", [b"\r\n", b"\r", b"\r\r\n"], ids=["CR LF", "lone CR", "CR CR LF"]
)
def test_a_run_with_carriage_returns_is_set_aside_and_read_as_the_parser_reads_it(
    line_end: bytes,
) -> None:
    run = RUN.replace(b"\n", line_end)
    raw = b"<r>\r\n<c>" + run + b"</c>\r\n<d>after</d>\n<c>" + RUN + b"</c>\r<e/></r>"
    root, aside = _set_aside(raw)
    assert len(aside) == 2
    whole = safe_parse(raw)
    # Every element keeps the line it has in the bytes received, as the parser counts
    # lines (by their line feeds).
    assert _lines(root) == _lines(whole)
    marker = root.findtext("c") or ""
    assert bytes(aside[marker]) == run  # the bytes as they stand
    texts = [b"".join(canonical_text_pieces(aside[e.text or ""])) for e in root.iter("c")]
    assert texts == [e.text.encode() for e in whole.iter("c")]  # type: ignore[union-attr]


@pytest.mark.parametrize("cut", [1, 2, 3, 5])
def test_line_ends_are_read_alike_across_the_pieces_of_a_text(cut: int) -> None:
    # A CR LF split between two pieces of 1 MiB is still one line feed.
    text = b"A" * (1024 * 1024 - cut) + b"\r\n\r\r\nB\r" * 3
    expected = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    assert b"".join(canonical_text_pieces(memoryview(text))) == expected


def test_a_document_of_one_mebibyte_or_less_is_parsed_whole() -> None:
    raw = b"<r><c>" + RUN[: SET_ASIDE_MIN - 40] + b"</c></r>"
    assert len(raw) <= 1024 * 1024
    root, aside = _set_aside(raw)
    assert aside == {}
    assert root.findtext("c") == RUN[: SET_ASIDE_MIN - 40].decode()


def test_a_malformed_document_gives_the_same_error() -> None:
    raw = b"<r>\n<c>" + RUN + b"</c>\n<d></r>"
    with pytest.raises(XmlMalformed) as plain:
        safe_parse(raw)
    with pytest.raises(XmlMalformed) as aside:
        _set_aside(raw)
    assert aside.value.detail == plain.value.detail


def test_an_attachment_of_a_package_is_set_aside() -> None:
    data = os.urandom(1_000_000)
    raw = build_package(attachment=data)
    root, aside = parse_setting_aside(raw, DEFAULT_LIMITS)
    (element,) = root.iter(ATTACHMENT_TEXT)
    assert base64.b64decode(bytes(aside[element.text or ""])) == data
    check_aside(root, aside)


# --- the schema's base64Binary check, made on the bytes -------------------------------

_SCHEMA = etree.XMLSchema(
    etree.fromstring(
        b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        b'<xs:element name="a" type="xs:base64Binary"/></xs:schema>'
    )
)


def _schema_and_model_accept(text: str) -> bool:
    if not _SCHEMA.validate(etree.fromstring(f"<a>{text}</a>".encode())):
        return False
    try:
        base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _accepted(text: bytes) -> bool:
    try:
        check_base64_binary(memoryview(text))
    except SchemaInvalid:
        return False
    return True


def test_the_same_texts_as_the_schema_and_the_model() -> None:
    # R leaves bits over before padding; g leaves none before "=="; Q none before "=".
    for length in range(7):
        for chars in itertools.product("AQRg=+ \n", repeat=length):
            text = "".join(chars)
            assert _accepted(text.encode()) == _schema_and_model_accept(text), repr(text)


@pytest.mark.parametrize(
    ("end", "accepted"),
    [
        (b"", True),
        (b"QQ==", True),
        (b"QR==", False),  # bits over before the padding
        (b"AAA=", True),
        (b"AAB=", False),
        (b"AAAA=", False),  # padding after a whole quad
        (b"AA=A", False),
        (b"A===", False),
        (b"A!AA", False),
        (b"AAA", False),
    ],
)
def test_a_large_text_is_checked_a_piece_at_a_time(end: bytes, accepted: bool) -> None:
    text = base64.encodebytes(os.urandom(3 * 1024 * 1024)) + end
    assert _accepted(text) == accepted
    assert _schema_and_model_accept(text.decode()) == accepted


def test_an_invalid_text_set_aside_is_refused_with_its_line() -> None:
    raw = build_package(attachment=os.urandom(1_000_000))
    start = raw.index(b"</edXML:ContentTransferEncoded>")
    raw = raw[: start - 4] + b"QR==" + raw[start:]
    root, aside = parse_setting_aside(raw, DEFAULT_LIMITS)
    assert aside
    (element,) = root.iter(ATTACHMENT_TEXT)
    with pytest.raises(SchemaInvalid, match=f"at line {element.sourceline}: not valid base64"):
        check_aside(root, aside)
