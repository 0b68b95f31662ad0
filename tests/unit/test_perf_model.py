"""The fast paths of the model reader and the signer give what the slow ones gave."""

from __future__ import annotations

import base64
from datetime import date, datetime

import pytest
from lxml import etree

from edoc_axis.edxml import attachments
from edoc_axis.edxml._tree import Node, date_value, timestamp_value
from edoc_axis.edxml.attachments import check_base64, decode_base64
from edoc_axis.edxml.namespaces import EDXML_NS
from edoc_axis.errors import SchemaInvalid


def _accepts(check: object, text: str) -> bool:
    try:
        check(text)  # type: ignore[operator]
    except SchemaInvalid:
        return False
    return True


BLOCK = base64.b64encode(b"\x00\x01edoc" * 500).decode()  # 4,000 characters, no padding
CASES = [
    BLOCK,
    BLOCK + "QQ==",
    BLOCK + "QUI=",
    BLOCK + "QQ=",
    BLOCK + "Q",
    BLOCK + "QQ==" + " \n" * 300,
    BLOCK[:-4] + "QQ==" + "\n" * 5000,
    BLOCK[:100] + "=" + BLOCK[100:],
    BLOCK[:1000] + "*" + BLOCK[1000:],
    BLOCK[:1000] + "é" + BLOCK[1000:],
    "\n".join(BLOCK[i : i + 76] for i in range(0, len(BLOCK), 76)),
    BLOCK + "QQ===",
    BLOCK + "====",
    "",
]


@pytest.mark.parametrize("text", CASES)
def test_chunked_base64_check_accepts_what_decoding_accepts(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _accepts(decode_base64, text)
    assert _accepts(check_base64, text) == expected
    monkeypatch.setattr(attachments, "_CHECK_CHUNK", 7)  # every case goes through chunks
    assert _accepts(check_base64, text * 3) == _accepts(decode_base64, text * 3)
    assert _accepts(check_base64, text) == expected


def _el(text: str) -> etree._Element:
    el = etree.Element("x")
    el.text = text
    return el


@pytest.mark.parametrize(
    "text", ["2026/01/02", " 2026/12/31 ", "2026/1/2", "2026/02/30", "2026/13/01", "26/01/02", "x"]
)
def test_dates_read_as_strptime_reads_them(text: str) -> None:
    try:
        expected: date | None = datetime.strptime(text.strip(), "%Y/%m/%d").date()
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(SchemaInvalid):
            date_value(_el(text))
    else:
        assert date_value(_el(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026/01/02 03:04:05",
        "2026/1/2 3:4:5",
        "2026/01/02 24:00:00",
        "2026/01/02 23:59:60",
        "2026/01/02 23:60:00",
        "2026/01/02T03:04:05",
        "2026/01/02  03:04:05",
    ],
)
def test_timestamps_read_as_strptime_reads_them(text: str) -> None:
    try:
        expected: datetime | None = datetime.strptime(text, "%Y/%m/%d %H:%M:%S")
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(SchemaInvalid):
            timestamp_value(_el(text))
    else:
        assert timestamp_value(_el(text)) == expected


def test_node_matches_namespace_and_local_name_only() -> None:
    root = etree.fromstring(
        f'<r xmlns="{EDXML_NS}" xmlns:o="urn:other"><A>1</A><!-- c --><?pi x?>'
        f"<o:A>2</o:A><B>3</B><A>4</A><Ax>5</Ax><e:A xmlns:e='{EDXML_NS}'>6</e:A></r>"
    )
    node = Node(root, frozenset({"A", "C"}))
    assert [el.text for el in node.many("A")] == ["1", "4", "6"]
    assert node.many("C") == []
    assert node.opt("C") is None
    assert len(node.extra()) == 3  # o:A, B, Ax; the comment and the PI are dropped
    with pytest.raises(SchemaInvalid, match="A may appear only once"):
        node.opt("A")
    with pytest.raises(SchemaInvalid, match="required element C is missing"):
        node.one("C")
