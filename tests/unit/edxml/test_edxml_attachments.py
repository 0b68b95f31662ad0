"""ContentTransferEncoded: base64, the SDK's one-entry ZIP, and ZIP bombs."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest

from edoc_axis.edxml import Attachment
from edoc_axis.edxml.attachments import (
    decode_base64,
    decode_content,
    encode_content,
    unwrap_zip,
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
