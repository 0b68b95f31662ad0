"""INTAKE-*: valid submission, receipts, idempotency and the HTTP-level intake refusals."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import aiohttp

from edoc_axis.client import ApiResponse
from edoc_axis.conformance.context import RunContext
from edoc_axis.conformance.corpus import attachment
from edoc_axis.conformance.model import Case, CaseFailed, Probe, collector
from edoc_axis.core.receipt import verify_receipt
from edoc_axis.errors import EdocError

_cases: list[Case] = []
case = collector(_cases)
API = "API.md §Agency API"
ERR = "API.md §Error codes: "


@case(
    "INTAKE-001",
    "valid signed document is accepted",
    API + ": POST /api/v1/documents",
    sends="a signed document from 'sender' to 'recipient'",
    expects="202, a Location header naming the axis id, a receipt body",
)
async def accepted(ctx: RunContext, probe: Probe) -> None:
    raw = ctx.signed()
    response = probe.expect(await ctx.client("sender").submit(raw), 202)
    probe.check(bool(response.headers.get("Location")), "202 without a Location header")
    probe.check(bool(response.body), "202 without a receipt body")


@case(
    "INTAKE-002",
    "receipt is signed by the axis and names the document",
    "API.md §Receipts",
    sends="a signed document; the receipt checked with the axis certificate",
    expects="receipt verifies; names sender, DocumentId, SHA-256 of the bytes, recipients",
)
async def receipt(ctx: RunContext, probe: Probe) -> None:
    if not ctx.target.axis_certs:
        probe.skip("needs the axis certificate (--axis-cert or --config)")
    sent = await ctx.send(probe, to=("recipient", "second"))
    try:
        got = verify_receipt(sent.response.body, ctx.target.axis_certs)
    except EdocError as exc:
        raise CaseFailed(f"receipt does not verify: {exc.code}: {exc.detail}") from exc
    probe.check(got.document_id == sent.document_id, f"receipt DocumentId {got.document_id}")
    probe.check(got.sender == ctx.code("sender"), f"receipt sender {got.sender}")
    digest = hashlib.sha256(sent.raw).hexdigest()
    probe.check(got.sha256 == digest, "receipt digest is not the SHA-256 of the bytes sent")
    expected = {ctx.code("recipient"), ctx.code("second")}
    probe.check(
        set(got.recipients) == expected,
        f"receipt recipients {got.recipients}",
        expected="receipt verifies and names the document",
    )


@case(
    "INTAKE-003",
    "exact re-submission returns the original receipt",
    API + " rules: identical bytes answered with the original receipt",
    sends="the same signed bytes twice",
    expects="202 then 200 with byte-identical receipt",
)
async def resubmission(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    again = probe.expect(await ctx.client("sender").submit(sent.raw), 200)
    probe.check(again.body == sent.response.body, "the re-submission's receipt differs")


@case(
    "INTAKE-004",
    "same DocumentId with other bytes is a conflict",
    ERR + "document.conflict",
    sends="two different signed documents with one DocumentId",
    expects="202 then 409 document.conflict",
)
async def conflict(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    other = ctx.signed(document_id=sent.document_id, subject="Nội dung khác")
    probe.expect(await ctx.client("sender").submit(other), 409, "document.conflict")


@case(
    "INTAKE-005",
    "the same DocumentId from another sender is no conflict",
    API + " rules: idempotency is about (sender OrganId, DocumentId)",
    sends="'sender' and then 'recipient' each submit a document with one DocumentId",
    expects="202 for both",
)
async def other_sender_same_id(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.signed("recipient", ("sender",), document_id=sent.document_id)
    probe.expect(await ctx.client("recipient").submit(raw), 202)


async def _read_back(ctx: RunContext, probe: Probe, role: str) -> None:
    sent = await ctx.send(probe, attachments=[attachment()])
    response = probe.expect(await ctx.client(role).document(sent.axis_id), 200)
    probe.check(response.body == sent.raw, "the bytes read back differ from the bytes sent")


@case(
    "INTAKE-006",
    "sender reads back the exact original bytes",
    API + ": GET /api/v1/documents/{id}",
    sends="GET the accepted document as its sender",
    expects="200 with byte-identical content",
)
async def sender_reads(ctx: RunContext, probe: Probe) -> None:
    await _read_back(ctx, probe, "sender")


@case(
    "INTAKE-007",
    "recipient reads the exact original bytes",
    API + ": GET /api/v1/documents/{id}",
    sends="GET the accepted document as its recipient",
    expects="200 with byte-identical content",
)
async def recipient_reads(ctx: RunContext, probe: Probe) -> None:
    await _read_back(ctx, probe, "recipient")


@case(
    "INTAKE-008",
    "re-submission creates no second delivery",
    API + " rules: an exact re-submission creates nothing new",
    sends="one document to two recipients, submitted twice",
    expects="each recipient's inbox holds it exactly once",
)
async def no_second_delivery(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe, to=("recipient", "second"))
    probe.expect(await ctx.client("sender").submit(sent.raw), 200)
    for role in ("recipient", "second"):
        found = await ctx.find_in_inbox(role, sent.axis_id)
        probe.check(found is not None, f"not in the inbox of '{role}'")


@case(
    "INTAKE-009",
    "unsupported content type is refused",
    ERR + "media.unsupported",
    sends="a signed document with Content-Type text/plain",
    expects="415 media.unsupported",
)
async def media(ctx: RunContext, probe: Probe) -> None:
    response = await ctx.client("sender").request(
        "POST", "/api/v1/documents", data=ctx.signed(), content_type="text/plain"
    )
    probe.expect(response, 415, "media.unsupported")


@case(
    "INTAKE-010",
    "body over the size limit is refused",
    ERR + "payload.too-large",
    sends="a streamed body one byte over the axis's configured limit",
    expects="413 payload.too-large (or the connection closed before the rest is read)",
)
async def too_large(ctx: RunContext, probe: Probe) -> None:
    limit = ctx.target.max_body_bytes
    chunk = b" " * 65536

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        while sent <= limit:
            sent += len(chunk)
            yield chunk

    headers = {"Authorization": f"Bearer {ctx.creds('sender').token}",
               "Content-Type": "application/xml"}  # fmt: skip
    try:
        response = await ctx.raw("POST", "/api/v1/documents", data=body(), headers=headers)
    except Exception as exc:  # the axis may cut the connection instead of answering
        if not isinstance(exc, aiohttp.ClientError | ConnectionError | OSError):
            raise
        probe.expected, probe.observed = "413 payload.too-large", "connection closed"
        return
    probe.expect(response, 413, "payload.too-large")


@case(
    "INTAKE-011",
    "unknown recipient is refused",
    ERR + "recipient.unknown",
    sends="a signed document to an agency code nobody registered",
    expects="422 recipient.unknown",
)
async def unknown_recipient(ctx: RunContext, probe: Probe) -> None:
    raw = ctx.signed(to=(ctx.target.unknown_code,))
    probe.expect(await ctx.client("sender").submit(raw), 422, "recipient.unknown")


@case(
    "INTAKE-012",
    "disabled recipient is refused",
    ERR + "recipient.disabled",
    sends="a signed document to a registered but disabled agency",
    expects="422 recipient.disabled",
)
async def disabled_recipient(ctx: RunContext, probe: Probe) -> None:
    if ctx.target.disabled_code is None:
        probe.skip("needs a disabled agency (--setup, or --disabled-agency CODE)")
    raw = ctx.signed(to=("recipient", str(ctx.target.disabled_code)))
    probe.expect(await ctx.client("sender").submit(raw), 422, "recipient.disabled")


@case(
    "INTAKE-013",
    "empty body is refused",
    ERR + "xml.malformed",
    sends="POST with Content-Type application/xml and no body",
    expects="400 xml.malformed",
)
async def empty(ctx: RunContext, probe: Probe) -> None:
    probe.expect(await ctx.client("sender").submit(b""), 400, "xml.malformed")


@case(
    "INTAKE-014",
    "reference transport form (multipart file_doc) is accepted",
    "EDXML.md §The reference transport: multipart part file_doc",
    sends="multipart/form-data with the signed package in part file_doc",
    expects="202 with a receipt",
    required=False,
)
async def multipart(ctx: RunContext, probe: Probe) -> None:
    form = aiohttp.FormData()
    form.add_field("file_doc", ctx.signed(), filename="doc.edxml", content_type="application/xml")
    headers = {"Authorization": f"Bearer {ctx.creds('sender').token}"}
    probe.expect(await ctx.raw("POST", "/api/v1/documents", data=form, headers=headers), 202)


@case(
    "INTAKE-015",
    "over the rate limit is answered 429 with Retry-After",
    ERR + "rate.limited",
    sends="a burst of 400 cheap requests from one dedicated agency",
    expects="429 rate.limited with Retry-After",
    required=False,
    needs=("throttled",),
)
async def rate_limited(ctx: RunContext, probe: Probe) -> None:
    client = ctx.client("throttled")

    async def one() -> ApiResponse:
        return await client.request(
            "POST", "/api/v1/documents", data=b"x", content_type="text/plain"
        )

    for _ in range(20):
        answers = await asyncio.gather(*(one() for _ in range(20)))
        limited = [a for a in answers if a.status == 429]
        if limited:
            probe.expect(limited[0], 429, "rate.limited")
            probe.check("Retry-After" in limited[0].headers, "429 without Retry-After")
            return
    probe.expected, probe.observed = "429 rate.limited", "no 429 after 400 requests"
    raise CaseFailed("no 429 after a burst of 400 requests")


CASES: tuple[Case, ...] = tuple(_cases)
