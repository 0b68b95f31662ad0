"""Signing a large package in pieces: the bytes of the whole path, without a whole copy."""

from __future__ import annotations

import base64
import os

import pytest
from lxml import etree

from edoc_axis.edxml import XmlLimits, safe_parse
from edoc_axis.edxml.aside import parse_setting_aside
from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore, sign_enveloped, sign_parsed
from edoc_axis.signature.pieces import pieces_of, with_texts_back
from edoc_axis.signature.signer import XML_DECLARATION
from tests.conftest import build_package
from tests.examining import examine_document

DATA = os.urandom(1_200_000)  # 1.6 MB of base64: set aside while parsing
HEADER = ".//{http://www.mic.gov.vn/TBT/QCVN_102_2016}edXMLHeader"


def _wrapped(raw: bytes, line_end: bytes = b"\n") -> bytes:
    """The package with its attachment's base64 in 76-character lines, as MIME writes it."""
    start = raw.index(b">", raw.index(b"<edXML:ContentTransferEncoded")) + 1
    end = raw.index(b"</edXML:ContentTransferEncoded>")
    lines = base64.encodebytes(base64.b64decode(raw[start:end])).replace(b"\n", line_end)
    return raw[:start] + lines + raw[end:]


def _signed_whole(unsigned: bytes, who: Issued) -> bytes:
    """The whole path: the tree holds the text, canonicalised in one piece."""
    root = safe_parse(unsigned)
    sign_enveloped(root, who.key, who.cert, root.find(HEADER))
    return XML_DECLARATION + etree.tostring(root.getroottree(), encoding="UTF-8")


@pytest.mark.parametrize(
    "line_end", [None, b"\n", b"\r\n"], ids=["one line", "LF lines", "CR LF lines"]
)
def test_signing_in_pieces_writes_the_bytes_of_the_whole_path(
    line_end: bytes | None, agency_g22: Issued, trust_store: TrustStore
) -> None:
    unsigned = build_package(attachment=DATA)
    unsigned = _wrapped(unsigned, line_end) if line_end else unsigned
    root, aside = parse_setting_aside(unsigned, XmlLimits())
    assert len(aside) == 1
    pieces = list(pieces_of(sign_parsed(root, agency_g22.key, agency_g22.cert, aside)))
    if line_end != b"\r\n":  # the text is a view of the unsigned bytes, never copied
        assert any(isinstance(p, memoryview) and p.obj is unsigned for p in pieces)
    signed = b"".join(pieces)
    # The whole path's bytes (with an RSA key, the same every time): CR LF become LF
    # there, as the parser reads them.
    assert signed == _signed_whole(unsigned, agency_g22)
    assert examine_document(signed, trust_store).package.document_id


def test_a_text_set_aside_must_stand_exactly_once() -> None:
    text = memoryview(b"QU\r\nJD")
    put_back = pieces_of(with_texts_back(b"<a>M1</a>", {"M1": text}))
    assert b"".join(put_back) == b"<a>QU\nJD</a>"  # as the tree would have held it
    with pytest.raises(ValueError, match="exactly once"):
        with_texts_back(b"<a>M2</a>", {"M1": text})
    with pytest.raises(ValueError, match="exactly once"):
        with_texts_back(b"<a>M1</a><b>M1</b>", {"M1": text})
