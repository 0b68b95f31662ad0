"""Reading request bodies with the size limit enforced while they stream in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import BodyPartReader, web

from edoc_axis.errors import MediaUnsupported, PayloadTooLarge, SchemaInvalid

XML_TYPES = ("application/xml", "text/xml")
MULTIPART = "multipart/form-data"
REFERENCE_PART = "file_doc"  # the reference SDK's transport puts the package here
_CHUNK = 256 * 1024


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"body exceeds the limit of {limit} bytes")


async def _read_stream(read_chunk: Callable[[int], Awaitable[bytes]], limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await read_chunk(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)


async def read_package_body(request: web.Request, limit: int) -> bytes:
    """The package bytes from an XML body or the reference multipart form.

    A declared Content-Length over the limit is refused before reading; the
    streamed total is checked as it grows, so a lying client gets no further.
    """
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    content_type = request.content_type
    if content_type in XML_TYPES:
        return await _read_stream(request.content.read, limit)
    if content_type == MULTIPART:
        return await _read_multipart(request, limit)
    raise MediaUnsupported(
        f"content type {content_type or '(none)'} not accepted; "
        "use application/xml or multipart/form-data with a file_doc part"
    )


async def _read_multipart(request: web.Request, limit: int) -> bytes:
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            raise SchemaInvalid(f"multipart body has no {REFERENCE_PART} part")
        if isinstance(part, BodyPartReader) and part.name == REFERENCE_PART:
            return await _read_stream(part.read_chunk, limit)
        if isinstance(part, BodyPartReader):
            await part.release()
