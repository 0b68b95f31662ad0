"""``ContentTransferEncoded``: base64 of a file, or of a one-entry ZIP of it.

The reference SDK zips every file into a one-entry ZIP before base64; our
native form sends the file itself. Reading unwraps the SDK form, bounded so a
ZIP bomb cannot exhaust memory.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Final, Protocol

from edoc_axis.errors import SchemaInvalid

ZIP_MAGIC: Final = b"PK\x03\x04"
MAX_UNZIPPED_BYTES: Final = 256 * 1024 * 1024
# Office documents compress 2-20x; far beyond that is a bomb, not a document.
MAX_ZIP_RATIO: Final = 200
_READ_CHUNK = 1024 * 1024
_CHECK_CHUNK = 1024 * 1024  # characters of base64 text checked at a time
_BASE64_QUADS = re.compile(r"[A-Za-z0-9+/]*")
_BASE64_QUAD_BYTES = re.compile(rb"[A-Za-z0-9+/]*")
_PADDED_END = re.compile(r"([A-Za-z0-9+/]*)(={0,2})")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class Writable(Protocol):
    """Where decoded or unzipped bytes go: a file, or anything that takes bytes."""

    def write(self, data: bytes, /) -> object: ...


def decode_base64(encoded: str) -> bytes:
    """Decode base64, tolerating whitespace and line breaks; refuse anything else."""
    compact = "".join(encoded.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SchemaInvalid(f"ContentTransferEncoded: not valid base64 ({exc})") from None


def check_base64(encoded: str) -> None:
    """Raise exactly when ``decode_base64(encoded)`` would, without decoding all at once.

    A large attachment is checked a chunk at a time, so neither its compacted
    text, nor its ASCII bytes, nor its decoded bytes exist in full. Every part
    but the last is whole quads of the base64 alphabet, held back until more
    than two characters follow it (only the last two may be ``=``); the rest
    goes through ``decode_base64`` itself, so the two accept the same texts.
    """
    if len(encoded) <= _CHECK_CHUNK:
        decode_base64(encoded)
        return
    _check_chunks(
        encoded[start : start + _CHECK_CHUNK] for start in range(0, len(encoded), _CHECK_CHUNK)
    )


def check_base64_binary(encoded: memoryview) -> None:
    """Raise unless ``encoded`` (ASCII) is both ``xs:base64Binary`` and ``decode_base64``'s.

    For a large attachment text the schema saw only as a marker
    (``safexml.safe_parse_setting_aside``): libxml2's ``base64Binary`` also
    refuses padding that is not the end of the last quad (``AAAA=``) and
    padding after a character whose unused bits are not zero (``QR==``),
    which ``decode_base64`` lets through. Checked a chunk at a time.
    """
    tail = _check_chunks(
        bytes(encoded[start : start + _CHECK_CHUNK]).decode("ascii")
        for start in range(0, len(encoded), _CHECK_CHUNK)
    )
    padded = _PADDED_END.fullmatch(tail)
    if padded is None:  # never: decode_base64 accepted it
        raise SchemaInvalid("ContentTransferEncoded: not valid base64")
    # decode_base64 has refused a last quad that is short without padding.
    pad = len(padded.group(2))
    unused_bits = 0b1111 if pad == 2 else 0b11
    if pad and ((len(tail) - pad) % 4 != 4 - pad or _ALPHABET.index(tail[-pad - 1]) & unused_bits):
        raise SchemaInvalid("ContentTransferEncoded: not valid base64 (bad padding)")


def _check_chunks(chunks: Iterable[str]) -> str:
    """check_base64's walk over ``chunks``; the compacted last part, already decoded once."""
    pending = ""
    for chunk in chunks:
        pending += "".join(chunk.split())
        cut = (len(pending) - 8) // 4 * 4
        if cut <= 0:
            continue
        if _BASE64_QUADS.fullmatch(pending, 0, cut) is None:
            raise SchemaInvalid("ContentTransferEncoded: not valid base64 (Non-base64 digit found)")
        pending = pending[cut:]
    decode_base64(pending)
    return pending


def decoded_pieces(encoded: str | memoryview) -> Iterator[bytes]:
    """``decode_base64(encoded)`` a piece of at most 768 KiB at a time.

    The pieces joined are the decoded bytes, and the same texts are refused,
    but neither the compacted text nor the decoded file exists in full. As in
    ``check_base64``, every piece but the last is whole quads of the alphabet,
    held back until more than two characters follow it; the rest goes through
    ``decode_base64`` itself.
    """
    pending = b""
    for start in range(0, len(encoded), _CHECK_CHUNK):
        piece = encoded[start : start + _CHECK_CHUNK]
        raw = piece.encode("ascii", "replace") if isinstance(piece, str) else bytes(piece)
        pending += b"".join(raw.split())
        cut = (len(pending) - 8) // 4 * 4
        if cut <= 0:
            continue
        if _BASE64_QUAD_BYTES.fullmatch(pending, 0, cut) is None:
            raise SchemaInvalid("ContentTransferEncoded: not valid base64 (Non-base64 digit found)")
        yield binascii.a2b_base64(memoryview(pending)[:cut])
        pending = pending[cut:]
    yield decode_base64(pending.decode("ascii", "replace"))


def _is_one_entry_zip(source: BinaryIO) -> zipfile.ZipInfo | None:
    source.seek(0)
    if source.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
        return None
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        return None  # starts like a ZIP but is not one: the file itself
    if len(entries) != 1 or entries[0].is_dir():
        return None
    return entries[0]


def _check_entry(entry: zipfile.ZipInfo, max_bytes: int, max_ratio: int) -> None:
    name = entry.filename
    if entry.flag_bits & 0x1:
        raise SchemaInvalid(f"ContentTransferEncoded: ZIP entry {name!r} is encrypted")
    if entry.file_size > max_bytes:
        raise SchemaInvalid(
            f"ContentTransferEncoded: ZIP entry {name!r} declares {entry.file_size} bytes, "
            f"over the limit of {max_bytes}"
        )
    if entry.file_size > max_ratio * max(entry.compress_size, 1):
        raise SchemaInvalid(
            f"ContentTransferEncoded: ZIP entry {name!r} expands more than {max_ratio}x"
        )


def unwrap_zip(
    data: bytes,
    *,
    max_bytes: int = MAX_UNZIPPED_BYTES,
    max_ratio: int = MAX_ZIP_RATIO,
) -> bytes | None:
    """The content of a one-entry ZIP, or ``None`` when ``data`` is not one.

    Declared sizes are checked first, then the actual output is counted while
    inflating, since a ZIP header can lie. Raises ``SchemaInvalid`` on a bomb.
    """
    out = io.BytesIO()
    if not unwrap_zip_into(io.BytesIO(data), out, max_bytes=max_bytes, max_ratio=max_ratio):
        return None
    return out.getvalue()


def unwrap_zip_into(
    source: BinaryIO,
    target: Writable,
    *,
    max_bytes: int = MAX_UNZIPPED_BYTES,
    max_ratio: int = MAX_ZIP_RATIO,
) -> bool:
    """``unwrap_zip`` from a seekable file to another, 1 MiB at a time.

    False, with nothing written, when ``source`` is not a one-entry ZIP.
    """
    entry = _is_one_entry_zip(source)
    if entry is None:
        return False
    _check_entry(entry, max_bytes, max_ratio)
    limit = min(max_bytes, entry.file_size)
    written = 0
    try:
        with zipfile.ZipFile(source) as archive, archive.open(entry) as member:
            while chunk := member.read(_READ_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise SchemaInvalid(
                        f"ContentTransferEncoded: ZIP entry {entry.filename!r} inflates "
                        "beyond its declared size"
                    )
                target.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SchemaInvalid(f"ContentTransferEncoded: broken ZIP entry ({exc})") from None
    return True


def is_zip_name(attachment_name: str | None) -> bool:
    """A file the sender named ``*.zip`` is a real ZIP, sent as is, never unwrapped."""
    return attachment_name is not None and attachment_name.lower().endswith(".zip")


def decode_content(encoded: str, attachment_name: str | None = None) -> bytes:
    """The attachment's file bytes: base64 decoded, the SDK's one-entry ZIP unwrapped.

    A file whose own name ends in ``.zip`` is a real ZIP the sender meant to
    send, so it is returned as is.
    """
    data = decode_base64(encoded)
    if is_zip_name(attachment_name):
        return data
    inner = unwrap_zip(data)
    return data if inner is None else inner


def encode_content(data: bytes, *, zip: bool = False, entry_name: str = "content") -> str:
    """Base64 text for ``ContentTransferEncoded``.

    The native form is the file itself; ``zip=True`` writes the reference
    SDK's form, a one-entry deflated ZIP named ``entry_name``.
    """
    if zip:
        buffer = io.BytesIO()
        write_zip_form(io.BytesIO(data), entry_name, buffer)
        data = buffer.getvalue()
    return base64.b64encode(data).decode("ascii")


def write_zip_form(source: BinaryIO, entry_name: str, target: BinaryIO) -> None:
    """The reference SDK's form of the file ``source``: a one-entry deflated ZIP named
    ``entry_name``, written to the seekable ``target`` 1 MiB at a time."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # A fixed timestamp keeps the output reproducible byte for byte.
        info = zipfile.ZipInfo(entry_name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as entry:
            while chunk := source.read(_READ_CHUNK):
                entry.write(chunk)


_ENCODE_CHUNK = 3 * 256 * 1024  # whole 3-byte groups: the pieces' base64 joins up


def encoded_pieces(source: BinaryIO) -> Iterator[bytes]:
    """``base64.b64encode`` of the file ``source`` (ASCII), 1 MiB of text at a time."""
    while chunk := source.read(_ENCODE_CHUNK):
        yield base64.b64encode(chunk)
