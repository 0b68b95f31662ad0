"""ContentTransferEncoded: base64, the SDK's one-entry ZIP, and ZIP bombs."""

from __future__ import annotations

import base64
import io
import os
import random
import zipfile

import pytest

from edoc_axis.edxml import Attachment
from edoc_axis.edxml.attachments import (
    decode_base64,
    decode_content,
    decoded_pieces,
    encode_content,
    unwrap_zip,
    unwrap_zip_into,
)
from edoc_axis.errors import SchemaInvalid

DATA = b"Quyet dinh so 1896/QD-TTg\n" * 40


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_base64_with_whitespace_and_newlines_decodes() -> None:
    text = base64.b64encode(DATA).decode()
    wrapped = "\n  ".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert decode_base64(f"\n {wrapped}\r\n") == DATA


@pytest.mark.parametrize("bad", ["abc", "ab$d", "YWJj=ZA=="])
def test_invalid_base64_is_schema_invalid(bad: str) -> None:
    with pytest.raises(SchemaInvalid, match="ContentTransferEncoded"):
        decode_base64(bad)


def test_native_form_is_the_file_itself() -> None:
    assert base64.b64decode(encode_content(DATA)) == DATA
    assert decode_content(encode_content(DATA), "a.doc") == DATA


def test_sdk_form_is_a_one_entry_zip_and_unwraps() -> None:
    encoded = encode_content(DATA, zip=True, entry_name="qd.doc")
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded))) as archive:
        assert archive.namelist() == ["qd.doc"]
    assert decode_content(encoded, "qd.doc") == DATA
    assert encode_content(DATA, zip=True) == encode_content(DATA, zip=True)  # reproducible


def test_multi_entry_zip_is_returned_as_is() -> None:
    archive = _zip({"a.txt": b"a", "b.txt": b"b"})
    assert unwrap_zip(archive) is None
    assert decode_content(base64.b64encode(archive).decode(), "x.bin") == archive


def test_a_real_zip_file_is_not_unwrapped() -> None:
    archive = _zip({"inner.txt": DATA})
    assert decode_content(base64.b64encode(archive).decode(), "ho-so.ZIP") == archive


def test_bytes_that_only_start_like_a_zip_are_kept() -> None:
    fake = b"PK\x03\x04 not really a zip"
    assert decode_content(base64.b64encode(fake).decode(), "x.bin") == fake


def test_zip_bomb_by_ratio_is_refused() -> None:
    bomb = _zip({"zeros.doc": b"\0" * (4 * 1024 * 1024)})
    with pytest.raises(SchemaInvalid, match="expands more than 200x"):
        unwrap_zip(bomb)


def test_zip_entry_over_the_size_limit_is_refused() -> None:
    archive = _zip({"big.doc": DATA}, method=zipfile.ZIP_STORED)
    with pytest.raises(SchemaInvalid, match=f"declares {len(DATA)} bytes"):
        unwrap_zip(archive, max_bytes=len(DATA) - 1)
    assert unwrap_zip(archive, max_bytes=len(DATA)) == DATA


def test_zip_whose_header_understates_the_size_is_refused() -> None:
    archive = bytearray(_zip({"x.doc": DATA}, method=zipfile.ZIP_STORED))
    # Lie in the central directory: declare fewer bytes than the entry holds.
    central = archive.rfind(b"PK\x01\x02")
    archive[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(SchemaInvalid, match=r"broken ZIP entry|beyond its declared size"):
        unwrap_zip(bytes(archive))


def test_attachment_helpers() -> None:
    att = Attachment.from_bytes(
        "cid:7", "qd.doc", DATA, content_type="application/msword", zip=True
    )
    assert att.data() == DATA
    ref = att.manifest_reference()
    assert (ref.content_id, ref.content_type, ref.attachment_name) == (
        "cid:7",
        "application/msword",
        "qd.doc",
    )


def _wrapped(text: str, width: int, newline: str) -> str:
    return newline.join(text[i : i + width] for i in range(0, len(text), width))


@pytest.mark.parametrize("size", [0, 1, 2, 3, 767_999, 786_432, 3 * 1024 * 1024 + 7])
@pytest.mark.parametrize(("width", "newline"), [(0, ""), (76, "\n"), (64, "\r\n"), (77, "\n\t ")])
def test_decoded_pieces_join_to_the_whole_decoding(size: int, width: int, newline: str) -> None:
    data = random.Random(size).randbytes(size)
    text = base64.b64encode(data).decode()
    text = _wrapped(text, width, newline) if width else text
    pieces = list(decoded_pieces(text))
    assert b"".join(pieces) == decode_base64(text) == data
    assert b"".join(decoded_pieces(memoryview(text.encode()))) == data
    # Never the whole file at once: pieces of about 1 MiB of text (768 KiB decoded).
    assert max(map(len, pieces), default=0) <= 786_432


BIG = "A" * 2_000_000  # spans two pieces of text


@pytest.mark.parametrize(
    "text",
    [
        "abc", "ab$d", "YWJj=ZA==", "QQ=", "QQ==", "AAAA=", BIG + "A", BIG + "=", BIG + "QQ==",
        BIG + "QQ=", BIG + "$AAA", "AA==" + BIG, BIG[:1_048_574] + "==" + BIG, BIG + "QQ==AAAA",
        BIG + "\u00e9AAA", "\n".join([BIG] * 2),
    ],
)  # fmt: skip
def test_decoded_pieces_accept_and_refuse_exactly_as_decode_base64(text: str) -> None:
    try:
        whole: bytes | None = decode_base64(text)
    except SchemaInvalid:
        whole = None
    try:
        pieces: bytes | None = b"".join(decoded_pieces(text))
    except SchemaInvalid:
        pieces = None
    assert pieces == whole


def test_unwrap_zip_into_writes_what_unwrap_zip_answers() -> None:
    content = os.urandom(3 * 1024 * 1024)  # several 1 MiB pieces
    archive = _zip({"qd.pdf": content})
    out = io.BytesIO()
    assert unwrap_zip_into(io.BytesIO(archive), out)
    assert out.getvalue() == unwrap_zip(archive) == content


@pytest.mark.parametrize("data", [DATA, b"PK\x03\x04 but no archive", _zip({"a": DATA, "b": DATA})])
def test_unwrap_zip_into_leaves_anything_else_alone(data: bytes) -> None:
    out = io.BytesIO()
    assert not unwrap_zip_into(io.BytesIO(data), out)
    assert out.getvalue() == b""


def test_unwrap_zip_into_refuses_a_bomb() -> None:
    bomb = _zip({"x.doc": bytes(50 * 1024 * 1024)})
    with pytest.raises(SchemaInvalid, match="expands more than"):
        unwrap_zip_into(io.BytesIO(bomb), io.BytesIO())
