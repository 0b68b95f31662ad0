"""The reference multipart form: every part counts, only file_doc is accepted, junk is a 400."""

from __future__ import annotations

import aiohttp
import pytest

from edoc_axis.errors import RequestInvalid
from edoc_axis.server.bodies import MULTIPART_SLACK, multipart_package
from tests.integration.server.conftest import ConfigTweak, RunningAxis, with_limits

G22, H49 = "000.00.00.G22", "000.00.00.H49"
LIMIT = 200_000


@pytest.fixture
def config_tweak() -> ConfigTweak:
    return with_limits(max_body_bytes=LIMIT, rate_per_s=0)


def form(*parts: tuple[str, bytes], boundary: str = "b0undary") -> tuple[bytes, str]:
    body = b"".join(
        b"--" + boundary.encode() + b"\r\n"
        b'Content-Disposition: form-data; name="' + name.encode() + b'"; filename="x"\r\n'
        b"Content-Type: application/xml\r\n\r\n" + content + b"\r\n"
        for name, content in parts
    )
    return body + b"--" + boundary.encode() + b"--\r\n", f"multipart/form-data; boundary={boundary}"


async def post(axis: RunningAxis, token: str, body: bytes, content_type: str) -> tuple[int, str]:
    response = await axis.call(
        "POST", "/api/v1/documents", token=token, data=body, content_type=content_type
    )
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.status, str(response.code)


async def test_a_junk_part_beside_file_doc_is_refused(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    body, content_type = form(("junk", b"x" * 1000), ("file_doc", axis.signed(sender, [H49])))
    assert await post(axis, sender.token, body, content_type) == (400, "request.invalid")


async def test_a_large_junk_part_counts_against_the_body_limit(axis: RunningAxis) -> None:
    """Before: parts not named file_doc were drained uncounted (80 MiB passed)."""
    sender = await axis.register(G22)
    await axis.register(H49)
    junk = b"x" * (LIMIT + MULTIPART_SLACK)
    body, content_type = form(("junk", junk), ("file_doc", axis.signed(sender, [H49])))

    async def chunked() -> object:  # no Content-Length: the limit is met while streaming
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = await axis.call(
        "POST", "/api/v1/documents", token=sender.token, data=chunked(), content_type=content_type
    )  # type: ignore[arg-type]
    assert (response.status, response.code) == (413, "payload.too-large")
    assert axis.services.inflight.used == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "multipart/form-data; boundary=b0undary"),
        (b"--b0undary\r\n\r\nabc\r\n--b0undary--", "multipart/form-data"),
        (b"no boundary here at all", "multipart/form-data; boundary=b0undary"),
        (b"--b0undary\r\nContent-Disposition: form-data; name=file_doc\r\n\r\n<a/>", None),
        (b"--b0undary--\r\n", None),
        (b"--b0undaryjunk\r\n\r\n\r\n--b0undary--", None),
    ],
    ids=["empty", "no-boundary-param", "boundary-absent", "unterminated", "no-parts", "bad-line"],
)
async def test_malformed_multipart_is_a_400_problem(
    axis: RunningAxis, body: bytes, content_type: str | None
) -> None:
    sender = await axis.register(G22)
    content_type = content_type or "multipart/form-data; boundary=b0undary"
    assert await post(axis, sender.token, body, content_type) == (400, "request.invalid")


async def test_two_file_doc_parts_are_refused(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    raw = axis.signed(sender, [H49])
    body, content_type = form(("file_doc", raw), ("file_doc", raw))
    assert await post(axis, sender.token, body, content_type) == (400, "request.invalid")


async def test_aiohttp_form_with_file_doc_is_accepted_byte_for_byte(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    raw = axis.signed(sender, [H49])
    data = aiohttp.FormData()
    data.add_field("file_doc", raw, filename="doc.edxml", content_type="application/xml")
    response = await axis.call("POST", "/api/v1/documents", token=sender.token, data=data)
    assert response.status == 202, response.body
    assert await axis.store.document_bytes(response.headers["Edoc-Axis-Id"]) == raw


def test_the_parser_keeps_the_part_bytes_exactly() -> None:
    content = b"\r\n--b0undar\r\n\xff\x00 edge bytes \r\n"
    body, content_type = form(("file_doc", content))
    assert multipart_package(b"preamble\r\n" + body + b"epilogue", content_type) == content
    with pytest.raises(RequestInvalid):
        multipart_package(body, "multipart/form-data; boundary=" + "x" * 71)
